"""Which reasoner drives a run: the offline policy by default, a chat model when ``AGENTK_LLM`` names one."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from agentk.agent.orchestrator import Solution
from agentk.agent.reasoners import LLMReasoner, PolicyReasoner, Reasoner, open_chat_model, parse_spec
from agentk.agent.reasoners.policy import DEFAULT_ORDER
from agentk.agent.reasoners.transcript import TranscriptWriter
from agentk.config import Settings
from agentk.runs.events import EventJournal

TRANSCRIPT_FILE = "transcript.jsonl"


def open_reasoner(
    settings: Settings, journal: EventJournal, out_dir: Path, stack: ExitStack
) -> tuple[Reasoner, dict[str, Any]]:
    """The run's reasoner and what ``result.json`` says about it; a local model's server closes with ``stack``.

    Raises:
        UserInputError: ``settings.llm`` is unreadable or its provider package is not installed.
    """
    if not settings.llm:
        return policy(), {"kind": "policy", "spec": None}
    spec = parse_spec(settings.llm)
    model, parsed = stack.enter_context(open_chat_model(spec, timeout_s=settings.llm_timeout))
    info: dict[str, Any] = {
        "kind": "llm",
        "spec": str(parsed),
        "method": parsed.method,
        "transcript": TRANSCRIPT_FILE,
    }
    transcript = stack.enter_context(TranscriptWriter(out_dir / TRANSCRIPT_FILE))
    reasoner = LLMReasoner(
        model,
        fallback=policy(),
        method=parsed.method,
        journal=journal,
        token_budget=settings.llm_token_budget,
        timeout_s=settings.llm_timeout,
        transcript=transcript,
    )
    journal.append("reasoner", f"decisions by {parsed} ({parsed.method}), the offline policy as fallback", **info)
    return reasoner, info


def policy() -> PolicyReasoner:
    """The offline policy: tunes every candidate family, the bandit ordering them (best first)."""
    return PolicyReasoner(tune_families=len(DEFAULT_ORDER))


def reasoner_counts(reasoner: Reasoner, solution: Solution) -> dict[str, Any]:
    """Decisions by source and tokens, over all the processes that ran the run."""
    out: dict[str, Any] = {
        "decisions": sum(solution.decisions.values()),
        "llm_decisions": solution.decisions.get("llm", 0),
        "policy_decisions": solution.decisions.get("policy", 0),
        "fallbacks": solution.decisions.get("fallback", 0),
        "tokens_in": solution.tokens.get("in", 0),
        "tokens_out": solution.tokens.get("out", 0),
    }
    if isinstance(reasoner, LLMReasoner):
        out["calls"] = reasoner.calls
        out["invalid_answers"] = reasoner.invalid_answers
    return out
