"""A reasoner on a langchain chat model: structured decisions, retries, a token budget, a policy fallback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from agentk.agent.actions import ActionSpec, decision_schema, describe_actions, parse_action
from agentk.agent.reasoners._base import Decision, Reasoner
from agentk.agent.reasoners._models import Method
from agentk.agent.reasoners.policy import PolicyReasoner
from agentk.runs.events import EventJournal

_SYSTEM = """You are Agent K, an autonomous data scientist solving a tabular competition.
Each turn you choose exactly one action for the agent's loop. Actions:
{actions}

Rules: prefer fast baselines before tuning; tune the families that scored best; ensemble when two or more
models finished; finalise before the budget runs out. Never invent model names: use the ones listed in
the state's "candidates". Answer only with the decision object: rationale, action, args."""

_JSON_MODE = "\nAnswer with one JSON object that follows this JSON schema:\n{schema}"

_RETRY = "That answer was invalid: {error}\nAnswer again with one valid decision."


class _Failure(Exception):
    """A model call failed (transport, timeout, budget): no retry helps, the policy decides."""


class LLMReasoner(Reasoner):
    """Decides with a chat model, validating each answer against the action registry.

    An invalid answer (unparseable, unknown action, arguments that fail validation) is retried up to
    ``retries`` times with the error shown to the model; a failed call (dead endpoint, timeout) or a spent
    token budget goes straight to the fallback. The fallback is the offline policy; each one is counted
    in ``fallbacks`` and journalled when a journal is given.

    Args:
        model: a langchain chat model (anything with ``with_structured_output`` and ``invoke``).
        method: structured-output method for this backend (see :func:`parse_spec`).
        fallback: who decides when the model cannot (default: a :class:`PolicyReasoner`).
        retries: extra attempts after an invalid answer.
        timeout_s: wall-clock limit of one model call (the client's own timeout should be set too).
        token_budget: most tokens (prompt + completion) over the reasoner's life; ``None``: no limit.
        journal: where fallbacks are recorded.
        max_memories: memory records shown to the model per decision.
    """

    def __init__(
        self,
        model: Any,
        *,
        method: Method = "json_schema",
        fallback: Reasoner | None = None,
        retries: int = 2,
        timeout_s: float = 120.0,
        token_budget: int | None = None,
        journal: EventJournal | None = None,
        max_memories: int = 8,
    ) -> None:
        self.model = model
        self.method = method
        self.fallback = fallback or PolicyReasoner()
        self.retries = retries
        self.timeout_s = timeout_s
        self.token_budget = token_budget
        self.journal = journal
        self.max_memories = max_memories
        self.tokens_in = 0
        self.tokens_out = 0
        self.calls = 0
        self.fallbacks = 0
        self.invalid_answers = 0

    @property
    def tokens_used(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def budget_left(self) -> int | None:
        return None if self.token_budget is None else max(0, self.token_budget - self.tokens_used)

    # -- decide ----------------------------------------------------------------------------------------

    def decide(
        self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]], actions: Mapping[str, ActionSpec]
    ) -> Decision:
        start = time.monotonic()
        before_in, before_out = self.tokens_in, self.tokens_out
        schema = decision_schema(actions)
        system = _SYSTEM.format(actions=describe_actions(actions))
        if self.method == "json_mode":
            system += _JSON_MODE.format(schema=json.dumps(schema))
        messages: list[tuple[str, str]] = [
            ("system", system),
            ("human", _state_prompt(state, memories[: self.max_memories])),
        ]
        attempts, error = 0, "no answer"
        try:
            structured = self.model.with_structured_output(schema, method=self.method, include_raw=True)
            for _ in range(1 + self.retries):
                attempts += 1
                out = self._call(structured, messages)
                raw, parsed = out.get("raw"), out.get("parsed")
                try:
                    decision = _validate(parsed, out.get("parsing_error"), actions)
                except (ValueError, ValidationError) as exc:
                    self.invalid_answers += 1
                    error = _short(exc)
                    messages.append(
                        ("human", f"Your answer: {_short(_content(raw) or parsed, 400)}\n" + _RETRY.format(error=error))
                    )
                    continue
                name, args, rationale = decision
                return Decision(
                    name,
                    args,
                    rationale,
                    "llm",
                    self.tokens_in - before_in,
                    self.tokens_out - before_out,
                    time.monotonic() - start,
                    attempts,
                )
            error = f"no valid answer in {attempts} attempts; last: {error}"
        except _Failure as exc:
            error = str(exc)
        except Exception as exc:  # a backend that cannot do structured output at all
            error = f"{type(exc).__name__}: {_short(exc)}"
        return self._fall_back(state, memories, actions, error, attempts, start, before_in, before_out)

    def _fall_back(
        self,
        state: Mapping[str, Any],
        memories: Sequence[Mapping[str, Any]],
        actions: Mapping[str, ActionSpec],
        error: str,
        attempts: int,
        start: float,
        before_in: int,
        before_out: int,
    ) -> Decision:
        self.fallbacks += 1
        chosen = self.fallback.decide(state, memories, actions)
        decision = Decision(
            chosen.action,
            chosen.args,
            f"(LLM failed: {error}) {chosen.rationale}",
            "fallback",
            self.tokens_in - before_in,
            self.tokens_out - before_out,
            time.monotonic() - start,
            attempts,
            error,
        )
        if self.journal is not None:
            self.journal.append(
                "fallback",
                f"LLM decision failed, the policy chose {chosen.action}: {error}",
                phase=str(state.get("phase")) if state.get("phase") else None,
                fallbacks=self.fallbacks,
                **{k: v for k, v in decision.to_event().items() if k != "rationale"},
            )
        return decision

    def _call(self, runnable: Any, messages: list[tuple[str, str]]) -> dict[str, Any]:
        """Invoke with the wall-clock limit and the token budget; count the tokens the call used."""
        if self.budget_left is not None and self.budget_left <= 0:
            raise _Failure(f"token budget of {self.token_budget} spent")
        self.calls += 1
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["out"] = runnable.invoke(messages)
            except BaseException as exc:
                box["error"] = exc

        # A daemon thread: a hung call is abandoned (the client's own timeout ends it later), not waited for.
        thread = threading.Thread(target=target, name="agentk-llm-call", daemon=True)
        thread.start()
        thread.join(self.timeout_s)
        if thread.is_alive():
            self.tokens_in += _estimate(messages)
            raise _Failure(f"the model did not answer within {self.timeout_s:.0f}s")
        if "error" in box:
            self.tokens_in += _estimate(messages)
            exc = box["error"]
            raise _Failure(f"{type(exc).__name__}: {_short(exc)}")
        out = box["out"]
        if not isinstance(out, dict):  # without include_raw support: the parsed answer itself
            out = {"raw": None, "parsed": out, "parsing_error": None}
        self._count(out.get("raw"), messages, out.get("parsed"))
        return out

    def _count(self, raw: Any, messages: list[tuple[str, str]], parsed: Any) -> None:
        usage = getattr(raw, "usage_metadata", None) or {}
        tin, tout = usage.get("input_tokens"), usage.get("output_tokens")
        # Fake and some local backends report no usage: estimate (4 characters a token) so budgets still bind.
        self.tokens_in += int(tin) if tin is not None else _estimate(messages)
        self.tokens_out += (
            int(tout) if tout is not None else max(1, len(_content(raw) or json.dumps(parsed, default=str)) // 4)
        )

    # -- intrinsic functions ---------------------------------------------------------------------------

    def summarise_task(self, state: Mapping[str, Any]) -> str:
        prompt = "Summarise this competition task in three sentences: data, target, metric, what matters.\n"
        return self._text(prompt + _json(state.get("task", {})), lambda: self.fallback.summarise_task(state))

    def reflect(self, state: Mapping[str, Any], observation: str) -> str:
        prompt = (
            "In two sentences: what does this observation mean for the next step?\n"
            f"Observation: {observation[:2000]}\nState: {_json(_brief(state))}"
        )
        return self._text(prompt, lambda: self.fallback.reflect(state, observation))

    def plan(self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]]) -> str:
        prompt = (
            "List the next three to five actions, one line each, with why.\n"
            f"State: {_json(_brief(state))}\nMemories: {_json(list(memories[: self.max_memories]))}"
        )
        return self._text(prompt, lambda: self.fallback.plan(state, memories))

    def _text(self, prompt: str, fallback: Any) -> str:
        messages = [("system", "You are Agent K, a concise data scientist."), ("human", prompt)]
        try:
            out = self._call(self.model, messages)
        except _Failure as exc:
            self.fallbacks += 1
            text: str = fallback()
            return f"{text} (template: {exc})"
        raw = out.get("raw") if out.get("raw") is not None else out.get("parsed")
        return (_content(raw) or "").strip() or str(fallback())


def _validate(parsed: Any, parsing_error: Any, actions: Mapping[str, ActionSpec]) -> tuple[str, Any, str]:
    if parsing_error is not None:
        raise ValueError(f"the answer is not valid JSON for the schema ({_short(parsing_error)})")
    if hasattr(parsed, "model_dump"):
        parsed = parsed.model_dump()
    if not isinstance(parsed, dict):
        raise ValueError("no structured answer (expected an object with rationale, action, args)")
    name = parsed.get("action")
    if not isinstance(name, str):
        raise ValueError("the answer has no action name")
    args = parsed.get("args") or {}
    if not isinstance(args, dict):
        raise ValueError("args must be an object")
    return name, parse_action(name, args, actions), str(parsed.get("rationale") or "")


def _state_prompt(state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]]) -> str:
    parts = [f"State:\n{_json(_brief(state))}"]
    if memories:
        parts.append(f"Memories from earlier runs:\n{_json(list(memories))}")
    parts.append("Choose the next action.")
    return "\n\n".join(parts)


def _brief(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state without bulky fields: the last results and history entries only."""
    out = dict(state)
    for key, keep in (("results", 12), ("history", 12)):
        if isinstance(out.get(key), list):
            out[key] = out[key][-keep:]
    return out


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)[:6000]


def _content(message: Any) -> str:
    content = getattr(message, "content", None)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
    tool_calls = getattr(message, "tool_calls", None)
    return json.dumps(tool_calls, default=str) if tool_calls else ""


def _estimate(messages: list[tuple[str, str]]) -> int:
    return max(1, sum(len(text) for _, text in messages) // 4)


def _short(value: Any, limit: int = 300) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
