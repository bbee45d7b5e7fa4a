"""LLMReasoner through a scripted langchain model: valid answers, retries, fallbacks, budgets, timeouts."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agentk.agent.actions import ACTIONS, TrainModelArgs, TuneArgs, actions_for
from agentk.agent.reasoners import LLMReasoner, PolicyReasoner
from agentk.runs.events import EventJournal, read_events

STATE: dict[str, Any] = {
    "phase": "optimise",
    "task": {"task_type": "binary", "metric": "auc", "higher_is_better": True, "n_rows": 300},
    "candidates": ["lightgbm", "linear", "catboost"],
    "history": [{"action": "profile", "args": {}}, {"action": "infer_task", "args": {}}],
    "results": [],
}
TUNE = {"rationale": "search the strong families", "action": "tune", "args": {"models": ["lightgbm"], "trials": 5}}


def test_valid_answer_is_parsed_and_costed(scripted: Any) -> None:
    model = scripted(script=[TUNE])
    reasoner = LLMReasoner(model, method="function_calling")
    decision = reasoner.decide(STATE, [], ACTIONS)
    assert (decision.action, decision.source, decision.attempts) == ("tune", "llm", 1)
    assert decision.args == TuneArgs(models=["lightgbm"], trials=5)
    assert decision.rationale == "search the strong families"
    assert (decision.tokens_in, decision.tokens_out) == (100, 20)
    assert reasoner.fallbacks == 0 and reasoner.tokens_used == 120
    prompt = model.prompts[0]
    assert "tune(models: list[str], trials?: int)" in prompt[0].content
    assert 'candidates: ["lightgbm", "linear", "catboost"]' in prompt[1].content
    assert decision.to_event()["args"] == {"models": ["lightgbm"], "trials": 5}


def test_invalid_answer_is_retried_with_the_error(scripted: Any) -> None:
    bad = {"rationale": "x", "action": "train_model", "args": {"model": "gpt-forest"}}
    good = {"rationale": "baseline", "action": "train_model", "args": {"model": "linear", "params": {}}}
    model = scripted(script=[bad, good])
    reasoner = LLMReasoner(model, method="function_calling", retries=2)
    decision = reasoner.decide(STATE, [], ACTIONS)
    assert (decision.source, decision.attempts, decision.args) == ("llm", 2, TrainModelArgs(model="linear"))
    assert reasoner.invalid_answers == 1
    assert "unknown model 'gpt-forest'" in model.prompts[1][-1].content
    assert (decision.tokens_in, decision.tokens_out) == (200, 40)


def test_unknown_action_and_wrong_phase_are_invalid(scripted: Any) -> None:
    answers = [
        {"rationale": "x", "action": "launch_rocket", "args": {}},
        {"rationale": "x", "action": "profile", "args": {}},  # not allowed in finalise
        {"rationale": "x", "action": "finalise", "args": {"model": None}},
    ]
    reasoner = LLMReasoner(scripted(script=answers), method="function_calling", retries=2)
    decision = reasoner.decide({**STATE, "phase": "finalise"}, [], actions_for("finalise"))
    assert (decision.action, decision.source, decision.attempts) == ("finalise", "llm", 3)


def test_persistent_invalid_answers_fall_back_to_the_policy(scripted: Any, tmp_path: Path) -> None:
    junk = {"rationale": "x", "action": "tune", "args": {"models": []}}
    journal = EventJournal(tmp_path / "events.jsonl")
    reasoner = LLMReasoner(scripted(script=[junk, junk, junk]), method="function_calling", retries=2, journal=journal)
    decision = reasoner.decide(STATE, [], ACTIONS)
    expected = PolicyReasoner().decide(STATE, [], ACTIONS)
    assert decision.source == "fallback"
    assert (decision.action, decision.args) == (expected.action, expected.args)
    assert decision.attempts == 3 and reasoner.fallbacks == 1 and reasoner.invalid_answers == 3
    assert decision.error is not None and "no valid answer in 3 attempts" in decision.error
    events = [e for e in read_events(journal.path) if e.type == "fallback"]
    assert len(events) == 1 and events[0].data["fallbacks"] == 1 and events[0].data["action"] == expected.action


def test_dead_endpoint_falls_back_and_is_counted() -> None:
    from langchain_openai import ChatOpenAI

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = ChatOpenAI(
        model="m", base_url=f"http://127.0.0.1:{port}/v1", api_key=SecretStr("x"), max_retries=0, timeout=5
    )
    reasoner = LLMReasoner(model, method="json_schema", retries=2)
    start = time.monotonic()
    first = reasoner.decide(STATE, [], ACTIONS)
    second = reasoner.decide(STATE, [], ACTIONS)
    assert time.monotonic() - start < 10
    assert first.source == second.source == "fallback"
    assert first.attempts == 1  # a failed call is not retried: only invalid answers are
    assert first.error is not None and "Connection" in first.error
    assert reasoner.fallbacks == 2


def test_model_exception_falls_back(scripted: Any) -> None:
    reasoner = LLMReasoner(scripted(script=[TimeoutError("upstream timed out")]), method="function_calling")
    decision = reasoner.decide(STATE, [], ACTIONS)
    assert decision.source == "fallback" and "upstream timed out" in (decision.error or "")


def test_wall_clock_timeout_falls_back(scripted: Any) -> None:
    reasoner = LLMReasoner(scripted(script=[("sleep", 1.0)]), method="function_calling", timeout_s=0.1)
    start = time.monotonic()
    decision = reasoner.decide(STATE, [], ACTIONS)
    assert time.monotonic() - start < 0.9
    assert decision.source == "fallback" and "did not answer within" in (decision.error or "")


def test_token_budget_stops_calling_the_model(scripted: Any) -> None:
    model = scripted(script=[TUNE, TUNE])
    reasoner = LLMReasoner(model, method="function_calling", token_budget=100)
    assert reasoner.decide(STATE, [], ACTIONS).source == "llm"  # 120 tokens: the budget is now spent
    decision = reasoner.decide(STATE, [], ACTIONS)
    assert decision.source == "fallback" and "token budget" in (decision.error or "")
    assert len(model.prompts) == 1 and reasoner.budget_left == 0


def test_intrinsic_functions_use_the_model_then_templates(scripted: Any) -> None:
    model = scripted(script=["A binary task on 300 rows.", "Tune next.", "1. tune\n2. ensemble", RuntimeError("down")])
    reasoner = LLMReasoner(model, method="function_calling")
    assert reasoner.summarise_task(STATE) == "A binary task on 300 rows."
    assert reasoner.reflect(STATE, "linear CV 0.8") == "Tune next."
    assert reasoner.plan(STATE, []).startswith("1. tune")
    fallback = reasoner.reflect(STATE, "lightgbm CV 0.9")
    assert "No finished model yet" in fallback and "RuntimeError" in fallback


def test_hosted_providers_are_unreachable_in_tests() -> None:
    with pytest.raises(RuntimeError, match=r"only 127\.0\.0\.1"):
        socket.create_connection(("api.openai.com", 443), timeout=1)
    with socket.socket() as s, pytest.raises(RuntimeError, match=r"only 127\.0\.0\.1"):
        s.connect(("8.8.8.8", 443))
