"""A reasoner on a langchain chat model: structured decisions, retries, a token budget, a policy fallback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import ValidationError

from agentk.agent.actions import PHASES, ActionSpec, decision_schema, describe_actions, parse_action
from agentk.agent.reasoners._base import Decision, Reasoner
from agentk.agent.reasoners._models import Method
from agentk.agent.reasoners.policy import PolicyReasoner
from agentk.agent.reasoners.transcript import TranscriptHook, redact, secrets_from_env
from agentk.runs.events import EventJournal

SchemaStyle = Literal["nested", "flat"]
RATIONALE_MAX_CHARS = 240

_SYSTEM = """You are Agent K, an autonomous data scientist solving a tabular competition.
Each turn you choose exactly one action for the agent's loop. Actions:
{actions}

The usual order: profile, infer_task, train_model for fast baselines, tune the families that scored best,
ensemble when two or more models finished, finalise before the budget runs out, stop. Do not repeat a step
that succeeded unless something changed. Never invent model names: use the ones listed in "candidates".
Choose only among the actions allowed now. Answer only with the decision object: a short rationale, then
the action's name and its args."""

_JSON_MODE = "\nAnswer with one JSON object that follows this JSON schema:\n{schema}"

_RETRY = "That answer was invalid: {error}\nAnswer again with one valid decision."

# State keys in prompt order: what rarely changes first, so a server's prompt cache (llama.cpp keeps the
# longest common prefix) reuses it from one decision to the next; what changes every step comes last.
_STABLE_KEYS = ("task", "candidates", "feature_operations", "code_contract")
_CHANGING_KEYS = ("features", "results", "history", "notes", "submission", "budget", "last_observation", "phase")
_HISTORY_KEEP = 10
_RESULTS_KEEP = 12
_FIELD_CHARS = 2400
_REPEATED_FAILURES = 2
_NOTES_KEEP = 2
_NOTE_CHARS = 300
# Shown only when an action that writes code is on offer (they describe what such code must do).
_CODE_KEYS = ("feature_operations", "code_contract")


class _Failure(Exception):
    """A model call failed (transport, timeout, budget): no retry helps, the policy decides."""


class LLMReasoner(Reasoner):
    """Decides with a chat model, validating each answer against the action registry.

    An invalid answer (unparseable, unknown action, an action not allowed in the state's phase, arguments
    that fail validation) is retried up to ``retries`` times with the error shown to the model; a failed
    call (dead endpoint, timeout) or a spent token budget goes straight to the fallback. The fallback is the
    offline policy; each one is counted in ``fallbacks`` and journalled when a journal is given.

    The answer's shape is ``{"rationale", "decision": {"action", "args"}}`` (``schema="nested"``, the
    default): the ``decision`` is a union of one member per action, each pairing the action's name with its
    own argument model, so a grammar-constrained decoder (xllamacpp, Ollama, OpenAI's ``json_schema``)
    cannot pair ``tune`` with ``train_model``'s arguments. ``schema="flat"`` asks for
    ``{"rationale", "action", "args"}`` (:func:`~agentk.agent.actions.decision_schema`); answers of either
    shape are accepted whatever was asked.

    Counters (per instance, read them at any time; :meth:`stats` returns them all): ``decisions`` (calls of
    :meth:`decide`), ``llm_decisions`` (the model's answer was used), ``fallbacks`` (the policy decided
    instead; ``decisions == llm_decisions + fallbacks``), ``calls`` (model calls, retries and intrinsic
    functions included), ``invalid_answers``, ``text_fallbacks`` (intrinsic functions answered by the
    policy's templates), ``tokens_in`` / ``tokens_out``, ``transcript_errors`` (records the hook failed to
    take; the decision goes on).

    Args:
        model: a langchain chat model (anything with ``with_structured_output`` and ``invoke``).
        method: structured-output method for this backend (see :func:`parse_spec`).
        fallback: who decides when the model cannot (default: a :class:`PolicyReasoner`).
        retries: extra attempts after an invalid answer.
        timeout_s: wall-clock limit of one model call (the client's own timeout should be set too).
        token_budget: most tokens (prompt + completion) over the reasoner's life; ``None``: no limit.
        journal: where fallbacks are recorded.
        max_memories: memory records shown to the model per decision.
        transcript: called with one JSON-able record per model call and per fallback (e.g. a
            :class:`~agentk.agent.reasoners.transcript.TranscriptWriter`); records are described in
            :meth:`_record`. Never sees the model's credentials.
        schema: the answer shape asked for (see above).
        advice: show the model what the fallback policy would do next (one line in the prompt). A strong
            model overrules it when the state says otherwise; a small one gets a sane default instead of
            looping (the 0.5B test model, unadvised, writes code in the setup phase again and again).
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
        transcript: TranscriptHook | None = None,
        schema: SchemaStyle = "nested",
        advice: bool = True,
    ) -> None:
        self.model = model
        self.method = method
        self.fallback = fallback or PolicyReasoner()
        self.retries = retries
        self.timeout_s = timeout_s
        self.token_budget = token_budget
        self.journal = journal
        self.max_memories = max_memories
        self.transcript = transcript
        self.schema = schema
        self.advice = advice
        self.tokens_in = 0
        self.tokens_out = 0
        self.calls = 0
        self.decisions = 0
        self.llm_decisions = 0
        self.fallbacks = 0
        self.invalid_answers = 0
        self.text_fallbacks = 0
        self.transcript_errors = 0

    @property
    def tokens_used(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def budget_left(self) -> int | None:
        return None if self.token_budget is None else max(0, self.token_budget - self.tokens_used)

    def stats(self) -> dict[str, int]:
        """The counters, e.g. for ``result.json``'s reasoner block."""
        return {
            "decisions": self.decisions,
            "llm_decisions": self.llm_decisions,
            "fallbacks": self.fallbacks,
            "calls": self.calls,
            "invalid_answers": self.invalid_answers,
            "text_fallbacks": self.text_fallbacks,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "transcript_errors": self.transcript_errors,
        }

    # -- decide ----------------------------------------------------------------------------------------

    def decide(
        self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]], actions: Mapping[str, ActionSpec]
    ) -> Decision:
        start = time.monotonic()
        self.decisions += 1
        before_in, before_out = self.tokens_in, self.tokens_out
        offered = allowed_actions(actions, state.get("phase"))
        schema = self.answer_schema(offered)
        # The system prompt lists every action (the same text from step to step, so a prompt cache keeps it);
        # the actions allowed now are named in the state message and enforced by the schema and validation.
        system = _SYSTEM.format(actions=describe_actions(actions))
        if self.method == "json_mode":
            system += _JSON_MODE.format(schema=json.dumps(schema))
        advice = self._advice(state, memories, offered) if self.advice else None
        messages: list[tuple[str, str]] = [
            ("system", system),
            ("human", _state_prompt(state, memories[: self.max_memories], offered, advice)),
        ]
        attempts, error = 0, "no answer"
        try:
            structured = self.model.with_structured_output(schema, method=self.method, include_raw=True)
            for _ in range(1 + self.retries):
                attempts += 1
                mark = self._mark()
                try:
                    out = self._call(structured, messages)
                except _Failure as exc:
                    self._record("decide", state, attempts, messages, mark, error=str(exc))
                    raise
                raw, parsed = out.get("raw"), out.get("parsed")
                try:
                    decision = _validate(parsed, out.get("parsing_error"), offered, state)
                except (ValueError, ValidationError) as exc:
                    self.invalid_answers += 1
                    error = _short(exc)
                    self._record("decide", state, attempts, messages, mark, raw=raw, parsed=parsed, error=error)
                    messages.append(
                        ("human", f"Your answer: {_short(_content(raw) or parsed, 400)}\n" + _RETRY.format(error=error))
                    )
                    continue
                name, args, rationale = decision
                self._record(
                    "decide",
                    state,
                    attempts,
                    messages,
                    mark,
                    raw=raw,
                    parsed=parsed,
                    decision={"action": name, "args": args.model_dump(mode="json"), "source": "llm"},
                )
                self.llm_decisions += 1
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

    def _advice(
        self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]], offered: Mapping[str, ActionSpec]
    ) -> str | None:
        try:
            hint = self.fallback.decide(state, memories, offered)
        except Exception:  # advice is optional: a fallback that cannot decide here just gives none
            return None
        return f"{hint.action} {json.dumps(hint.args.model_dump(mode='json'), sort_keys=True)} ({hint.rationale})"

    def answer_schema(self, actions: Mapping[str, ActionSpec]) -> dict[str, Any]:
        """The JSON schema of an answer choosing among ``actions`` (``self.schema``'s shape)."""
        if self.schema == "flat":
            schema = decision_schema(actions)
            schema["properties"]["rationale"]["maxLength"] = RATIONALE_MAX_CHARS
            return schema
        return nested_decision_schema(actions)

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
        self._emit(
            {
                "kind": "fallback",
                "phase": state.get("phase"),
                "attempts": attempts,
                "error": error,
                "decision": {
                    "action": chosen.action,
                    "args": chosen.args.model_dump(mode="json"),
                    "source": "fallback",
                },
                "fallbacks": self.fallbacks,
            }
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
            exc = box["error"]
            cut = _length_cut(exc)
            if cut is not None:  # an answer too long for max_tokens: an invalid answer (retried), not a failure
                message, tin, tout = cut
                self.tokens_in += tin if tin is not None else _estimate(messages)
                self.tokens_out += tout if tout is not None else max(1, len(str(message.content)) // 4)
                limit = f" after {tout} tokens" if tout is not None else ""
                return {
                    "raw": message,
                    "parsed": None,
                    "parsing_error": f"the answer was cut at the length limit{limit}; keep the rationale to one "
                    "sentence and the arguments short",
                }
            self.tokens_in += _estimate(messages)
            raise _Failure(f"{type(exc).__name__}: {_short(exc)}")
        out = box["out"]
        if not isinstance(out, dict):  # a plain model's message, or a parsed answer without include_raw support
            out = {"raw": out if hasattr(out, "content") else None, "parsed": out, "parsing_error": None}
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

    # -- transcript ------------------------------------------------------------------------------------

    def _mark(self) -> tuple[float, int, int]:
        return time.monotonic(), self.tokens_in, self.tokens_out

    def _record(
        self,
        kind: str,
        state: Mapping[str, Any],
        attempt: int,
        messages: list[tuple[str, str]],
        mark: tuple[float, int, int],
        *,
        raw: Any = None,
        parsed: Any = None,
        error: str | None = None,
        decision: dict[str, Any] | None = None,
    ) -> None:
        """One transcript record per model call.

        Keys: ``kind`` (``decide``, ``summarise_task``, ``reflect``, ``plan``), ``phase``, ``attempt`` (1 for
        the first call of a decision), ``messages`` (``[{"role", "content"}]``, the full prompt), ``raw``
        (the model's text or tool call, ``None`` when the call failed), ``parsed`` (the structured answer as
        the client parsed it), ``decision`` (``{"action", "args", "source": "llm"}`` when this answer was
        used), ``error`` (why not: an invalid answer or a failed call), ``tokens_in``, ``tokens_out``,
        ``seconds``. Fallbacks get their own record: ``kind`` ``fallback`` with ``attempts``, ``error``,
        the policy's ``decision`` (``source`` ``fallback``) and the running ``fallbacks`` count.
        """
        started, tin, tout = mark
        if hasattr(parsed, "model_dump"):
            parsed = parsed.model_dump(mode="json")
        self._emit(
            {
                "kind": kind,
                "phase": state.get("phase"),
                "attempt": attempt,
                "messages": [{"role": role, "content": text} for role, text in messages],
                "raw": (_content(raw) or None) if raw is not None else None,
                "parsed": parsed,
                "decision": decision,
                "error": error,
                "tokens_in": self.tokens_in - tin,
                "tokens_out": self.tokens_out - tout,
                "seconds": round(time.monotonic() - started, 3),
            }
        )

    def _emit(self, record: dict[str, Any]) -> None:
        if self.transcript is None:
            return
        try:
            self.transcript(record)
        except Exception:  # a full disk must not stop the run: the decision stands, the loss is counted
            self.transcript_errors += 1

    # -- intrinsic functions ---------------------------------------------------------------------------

    def summarise_task(self, state: Mapping[str, Any]) -> str:
        prompt = "Summarise this competition task in three sentences: data, target, metric, what matters.\n"
        return self._text(
            "summarise_task",
            state,
            prompt + _json(_scrub(state.get("task", {}))),
            lambda: self.fallback.summarise_task(state),
        )

    def reflect(self, state: Mapping[str, Any], observation: str) -> str:
        prompt = (
            "In two sentences: what does this observation mean for the next step?\n"
            f"Observation: {_scrub(observation[:2000])}\nState: {_json(_brief(state))}"
        )
        return self._text("reflect", state, prompt, lambda: self.fallback.reflect(state, observation))

    def plan(self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]]) -> str:
        prompt = (
            "List the next three to five actions, one short line each, with why.\n"
            f"State: {_json(_brief(state))}\nMemories: {_json(_scrub(list(memories[: self.max_memories])))}"
        )
        return self._text("plan", state, prompt, lambda: self.fallback.plan(state, memories))

    def _text(self, kind: str, state: Mapping[str, Any], prompt: str, fallback: Callable[[], str]) -> str:
        messages = [("system", "You are Agent K, a concise data scientist."), ("human", prompt)]
        mark = self._mark()
        try:
            out = self._call(self.model, messages)
        except _Failure as exc:
            self._record(kind, state, 1, messages, mark, error=str(exc))
            self.text_fallbacks += 1
            return f"{fallback()} (template: {exc})"
        raw = out.get("raw") if out.get("raw") is not None else out.get("parsed")
        self._record(kind, state, 1, messages, mark, raw=raw)
        return (_content(raw) or "").strip() or fallback()


def allowed_actions(actions: Mapping[str, ActionSpec], phase: object) -> dict[str, ActionSpec]:
    """The actions a decision in ``phase`` may take: those of this phase, a later one, or any phase.

    The same rule as the offline policy's (the loop advances the phase when it gets a later phase's action);
    an unknown or missing phase allows everything, and so does a phase that would allow nothing.
    """
    if phase not in PHASES:
        return dict(actions)
    now = PHASES.index(str(phase))
    offered = {n: s for n, s in actions.items() if s.phase == "any" or PHASES.index(s.phase) >= now}
    return offered or dict(actions)


def nested_decision_schema(actions: Mapping[str, ActionSpec]) -> dict[str, Any]:
    """``{"rationale": str, "decision": one of {"action": NAME, "args": NAME's arguments}}`` as a JSON schema.

    The top level stays an object (function calling and OpenAI's ``json_schema`` require one); the union
    sits under ``decision``, one member per action with its name as a one-value enum, so a constrained
    decoder keeps each action with its own arguments.
    """
    defs: dict[str, Any] = {}
    members = []
    for spec in actions.values():
        args = spec.args_model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(args.pop("$defs", {}))
        args.pop("title", None)
        args.setdefault("properties", {})
        args["additionalProperties"] = False
        members.append(
            {
                "title": spec.name,
                "description": spec.description,
                "type": "object",
                "properties": {"action": {"type": "string", "enum": [spec.name]}, "args": args},
                "required": ["action", "args"],
                "additionalProperties": False,
            }
        )
    schema: dict[str, Any] = {
        "title": "Decision",
        "description": "The next action of the agent, with the reason for it.",
        "type": "object",
        "properties": {
            "rationale": {
                "type": "string",
                "maxLength": RATIONALE_MAX_CHARS,
                "description": "why this action, in one sentence",
            },
            "decision": {"anyOf": members, "description": "the action and its arguments"},
        },
        "required": ["rationale", "decision"],
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _validate(
    parsed: Any, parsing_error: Any, actions: Mapping[str, ActionSpec], state: Mapping[str, Any]
) -> tuple[str, Any, str]:
    """``(action, validated args, rationale)`` of an answer, or ValueError/ValidationError saying what is wrong.

    Beyond the schema: the action must be allowed in the state's phase, and must not be one that failed on
    each of the last two steps (a model that repeats a failing step would loop until the budget is spent).
    """
    phase = state.get("phase")
    if parsing_error is not None:
        raise ValueError(f"the answer is not a complete JSON object of the schema ({_short(parsing_error)})")
    if hasattr(parsed, "model_dump"):
        parsed = parsed.model_dump()
    if not isinstance(parsed, dict):
        raise ValueError("no structured answer (expected an object with rationale and decision)")
    inner = parsed.get("decision")
    body: dict[str, Any] = inner if isinstance(inner, dict) else parsed
    name = body.get("action")
    if not isinstance(name, str):
        raise ValueError("the answer has no action name")
    if name not in actions and phase in PHASES:
        raise ValueError(f"action {name!r} is not allowed in the {phase} phase; choose one of: {', '.join(actions)}")
    history = state.get("history")
    recent = history[-_REPEATED_FAILURES:] if isinstance(history, list) else []
    if len(recent) == _REPEATED_FAILURES and all(
        isinstance(h, Mapping) and h.get("action") == name and h.get("ok") is False for h in recent
    ):
        raise ValueError(f"{name} failed on each of the last {_REPEATED_FAILURES} steps; choose another action")
    args = body.get("args") or {}
    if not isinstance(args, dict):
        raise ValueError("args must be an object")
    return name, parse_action(name, args, actions), str(parsed.get("rationale") or "")


def _state_prompt(
    state: Mapping[str, Any],
    memories: Sequence[Mapping[str, Any]],
    offered: Mapping[str, ActionSpec],
    advice: str | None = None,
) -> str:
    brief = _brief(state)
    if "engineer_features" not in offered:
        for key in _CODE_KEYS:
            brief.pop(key, None)
    order = [k for k in _STABLE_KEYS if k in brief]
    order += sorted(k for k in brief if k not in _STABLE_KEYS and k not in _CHANGING_KEYS)
    order += [k for k in _CHANGING_KEYS if k in brief]
    parts = ["State:\n" + "\n".join(f"{key}: {_json(brief[key], _FIELD_CHARS)}" for key in order)]
    if memories:
        parts.append(f"Memories from earlier runs:\n{_json(_scrub(list(memories)))}")
    if advice:
        parts.append(f"The offline policy would do next: {advice}")
    parts.append(f"Allowed now: {', '.join(offered)}.\nChoose the next action.")
    return "\n\n".join(parts)


def _scrub(value: Any) -> Any:
    """``value`` without secrets: one that leaked into the state (an observation quoting the environment) is
    sent neither to the model provider nor to the transcript."""
    return redact(value, secrets_from_env())


def _brief(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state without bulky fields (the last results and history entries, observations cut short) and
    without secrets."""
    out = dict(state)
    if isinstance(out.get("results"), list):
        out["results"] = out["results"][-_RESULTS_KEEP:]
    if isinstance(out.get("history"), list):
        out["history"] = [
            {**h, "observation": _short(h["observation"], 160)} if isinstance(h, dict) and "observation" in h else h
            for h in out["history"][-_HISTORY_KEEP:]
        ]
    if isinstance(out.get("notes"), list):
        out["notes"] = [_short(n, _NOTE_CHARS) for n in out["notes"][-_NOTES_KEEP:]]
    if isinstance(out.get("last_observation"), str):
        out["last_observation"] = out["last_observation"][:800]
    scrubbed: dict[str, Any] = _scrub(out)
    return scrubbed


def _json(value: Any, limit: int = 6000) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _content(message: Any) -> str:
    content = getattr(message, "content", None)
    if isinstance(content, str) and content:
        return content
    if isinstance(content, list) and content:
        return "".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
    tool_calls = getattr(message, "tool_calls", None)
    return json.dumps(tool_calls, default=str) if tool_calls else (content if isinstance(content, str) else "")


def _length_cut(exc: BaseException) -> tuple[Any, int | None, int | None] | None:
    """``(message, tokens in, tokens out)`` of an answer the client refused because it hit ``max_tokens``.

    langchain-openai raises the OpenAI SDK's ``LengthFinishReasonError`` for a structured answer whose
    ``finish_reason`` is ``length``; it carries the completion, so the text and the usage are not lost.
    """
    if type(exc).__name__ != "LengthFinishReasonError":
        return None
    from langchain_core.messages import AIMessage

    completion = getattr(exc, "completion", None)
    usage = getattr(completion, "usage", None)
    choices = getattr(completion, "choices", None) or []
    content = getattr(getattr(choices[0], "message", None), "content", None) if choices else None
    tin, tout = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
    return (
        AIMessage(content=str(content or "")),
        int(tin) if isinstance(tin, int) else None,
        int(tout) if isinstance(tout, int) else None,
    )


def _estimate(messages: list[tuple[str, str]]) -> int:
    return max(1, sum(len(text) for _, text in messages) // 4)


def _short(value: Any, limit: int = 300) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
