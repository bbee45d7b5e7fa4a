"""The real small model (Qwen2.5-Coder-0.5B through xllamacpp on 127.0.0.1) behind LLMReasoner.

Plumbing, not answer quality: every decision is a registered action allowed in its phase with validated
arguments, it came from the model (``llm``) or the counted fallback, tokens are counted, the transcript has
one record per call, and a slow or truncated answer falls back instead of hanging. One server serves the
whole module; answers are short (``max_tokens``) and the server uses one thread, which on two busy cores is
several times faster than two (see ``LocalLlamaServer``). Not marked slow: CI runs it (about a minute).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentk.agent.actions import ACTIONS, PHASES, ActionSpec
from agentk.agent.reasoners import LLMReasoner, TranscriptWriter, allowed_actions, open_chat_model, read_transcript

pytestmark = pytest.mark.timeout(300)

TIMEOUT_S = 60.0
TASK = {
    "task_type": "binary",
    "metric": "auc",
    "higher_is_better": True,
    "n_rows": 7043,
    "columns": {"numeric": 4, "categorical": 15},
    "target": "Churn",
}
CANDIDATES = ["lightgbm", "linear", "catboost", "xgboost"]
SETUP_DONE = [
    {"step": 1, "action": "profile", "args": {}, "ok": True, "observation": "7043 rows, 21 columns, no missing ids"},
    {"step": 2, "action": "infer_task", "args": {}, "ok": True, "observation": "binary task, target Churn; checks ok"},
]
BASELINES = [
    {
        "step": 3,
        "action": "train_model",
        "args": {"model": "lightgbm", "params": {}},
        "ok": True,
        "observation": "CV 0.842",
    },
    {
        "step": 4,
        "action": "train_model",
        "args": {"model": "linear", "params": {}},
        "ok": True,
        "observation": "CV 0.835",
    },
]
RESULTS = [
    {"model": "lightgbm", "cv_score": 0.842, "complete": True, "seconds": 3.1},
    {"model": "linear", "cv_score": 0.835, "complete": True, "seconds": 1.2},
]
# The three phases, as the loop shows them: in setup only setup actions (no task yet), later ones after.
STATES: list[dict[str, Any]] = [
    {"phase": "setup", "history": [], "results": [], "budget": {"seconds_left": 280.0, "steps_left": 20}},
    {
        "phase": "optimise",
        "task": TASK,
        "candidates": CANDIDATES,
        "history": SETUP_DONE + BASELINES,
        "results": RESULTS,
        "budget": {"seconds_left": 200.0, "steps_left": 16},
        "last_observation": "linear CV 0.835",
    },
    {
        "phase": "finalise",
        "task": TASK,
        "candidates": CANDIDATES,
        "history": [*SETUP_DONE, *BASELINES, {"step": 5, "action": "ensemble", "args": {}, "ok": True}],
        "results": RESULTS,
        "budget": {"seconds_left": 20.0, "steps_left": 2},
    },
]


def _offered(phase: str) -> dict[str, ActionSpec]:
    if phase == "setup":
        return {n: s for n, s in ACTIONS.items() if s.phase in ("setup", "any")}
    return allowed_actions(ACTIONS, phase)


@pytest.fixture(scope="module")
def served(local_gguf: Path) -> Iterator[tuple[Any, str]]:
    """``(chat model, method)`` on one xllamacpp server for the module."""
    start = time.monotonic()
    with open_chat_model(f"local:{local_gguf}", timeout_s=TIMEOUT_S, max_tokens=200, threads=1, n_ctx=4096) as (
        model,
        spec,
    ):
        assert spec.provider == "local" and spec.method == "json_schema"  # xllamacpp constrains by the schema
        print(f"xllamacpp up in {time.monotonic() - start:.1f}s")
        yield model, spec.method


def test_decisions_in_every_phase_are_valid_or_counted_fallbacks(served: tuple[Any, str], tmp_path: Path) -> None:
    model, method = served
    writer = TranscriptWriter(tmp_path / "transcript.jsonl")
    reasoner = LLMReasoner(model, method=method, retries=1, timeout_s=TIMEOUT_S, transcript=writer)
    decisions = []
    for state in STATES:
        offered = _offered(state["phase"])
        start = time.monotonic()
        decision = reasoner.decide(state, [], offered)
        seconds = time.monotonic() - start
        decisions.append(decision)
        print(
            f"{state['phase']}: {decision.source} {decision.action} {decision.args.model_dump()} "
            f"attempts={decision.attempts} tokens={decision.tokens_in}+{decision.tokens_out} {seconds:.1f}s "
            f"{decision.error or ''}"
        )
        # A registered action, allowed now, with arguments its own model accepts.
        assert decision.action in offered
        spec = offered[decision.action]
        assert spec.phase == "any" or PHASES.index(spec.phase) >= PHASES.index(state["phase"])
        assert isinstance(decision.args, spec.args_model)
        assert spec.args_model.model_validate(decision.args.model_dump()) == decision.args
        assert decision.source in ("llm", "fallback")
        if decision.source == "fallback":
            assert decision.error and decision.rationale.startswith("(LLM failed:")
        else:
            assert decision.error is None and decision.tokens_out > 0
        assert 1 <= decision.attempts <= 2 and decision.tokens_in > 0
        assert seconds < decision.attempts * TIMEOUT_S + 5  # nothing hangs past the per-call limit

    stats = reasoner.stats()
    assert stats["decisions"] == 3 and stats["llm_decisions"] + stats["fallbacks"] == 3
    assert stats["llm_decisions"] == sum(d.source == "llm" for d in decisions)
    assert stats["tokens_in"] == sum(d.tokens_in for d in decisions) and stats["tokens_out"] > 0
    assert stats["calls"] == sum(d.attempts for d in decisions)

    records = read_transcript(writer.path)
    calls = [r for r in records if r["kind"] == "decide"]
    assert len(calls) == stats["calls"]
    assert len([r for r in records if r["kind"] == "fallback"]) == stats["fallbacks"]
    used = [r["decision"] for r in calls if r["decision"] is not None]
    assert [(u["action"], u["args"]) for u in used] == [
        (d.action, d.args.model_dump(mode="json")) for d in decisions if d.source == "llm"
    ]
    assert all(r["raw"] for r in calls if r["error"] is None)  # the model's own text is kept
    assert sum(r["tokens_in"] for r in calls) == stats["tokens_in"]
    for r in calls:
        if r["error"] is not None:
            print(f"invalid answer in {r['phase']}: {r['error'][:160]} | raw: {(r['raw'] or '')[:300]!r}")
    print(
        f"valid {stats['llm_decisions']}/3, fallbacks {stats['fallbacks']}, invalid answers {stats['invalid_answers']}"
    )


def test_truncated_answers_are_retried_then_fall_back(served: tuple[Any, str]) -> None:
    """12 tokens cannot hold a whole decision: both attempts are invalid JSON, the policy decides."""
    model, method = served
    short = model.model_copy(update={"max_tokens": 12})
    reasoner = LLMReasoner(short, method=method, retries=1, timeout_s=TIMEOUT_S)
    decision = reasoner.decide(STATES[1], [], _offered("optimise"))
    assert decision.source == "fallback" and decision.attempts == 2
    assert reasoner.invalid_answers == 2 and reasoner.fallbacks == 1 and reasoner.llm_decisions == 0
    assert decision.error is not None and "no valid answer in 2 attempts" in decision.error
    assert "length limit after 12 tokens" in decision.error
    assert decision.action in _offered("optimise") and decision.tokens_out == 24 and decision.tokens_in > 0


def test_a_call_past_its_time_limit_falls_back_at_once(served: tuple[Any, str]) -> None:
    model, method = served
    short = model.model_copy(update={"max_tokens": 24})  # the abandoned answer ends soon on the server
    reasoner = LLMReasoner(short, method=method, retries=1, timeout_s=0.2)
    start = time.monotonic()
    decision = reasoner.decide(STATES[2], [], _offered("finalise"))
    assert time.monotonic() - start < 2.0
    assert decision.source == "fallback" and "did not answer within" in (decision.error or "")
    assert decision.attempts == 1 and reasoner.calls == 1  # a timeout is not retried


def test_intrinsic_text_comes_from_the_model(served: tuple[Any, str]) -> None:
    model, method = served
    reasoner = LLMReasoner(model.model_copy(update={"max_tokens": 40}), method=method, timeout_s=TIMEOUT_S)
    summary = reasoner.summarise_task({"task": TASK})
    assert summary.strip() and "(template:" not in summary
    assert reasoner.text_fallbacks == 0 and reasoner.calls == 1 and reasoner.tokens_out > 0
