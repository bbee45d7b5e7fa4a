"""The reasoner's transcript: one record per model call and per fallback, fsynced lines, no secrets; counters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentk.agent.actions import ACTIONS, actions_for
from agentk.agent.reasoners import (
    LLMReasoner,
    TranscriptWriter,
    allowed_actions,
    nested_decision_schema,
    read_transcript,
    redact,
)
from agentk.agent.reasoners.transcript import REDACTED, secrets_from_env

STATE: dict[str, Any] = {
    "phase": "optimise",
    "task": {"task_type": "binary", "metric": "auc", "higher_is_better": True, "n_rows": 300},
    "candidates": ["lightgbm", "linear"],
    "history": [{"action": "profile", "args": {}}, {"action": "infer_task", "args": {}}],
    "results": [],
}
NESTED = {"rationale": "a baseline", "decision": {"action": "train_model", "args": {"model": "linear", "params": {}}}}
OPENAI_KEY = "sk-proj-abcdefghijklmnop0123456789"
KAGGLE_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def test_each_call_and_fallback_is_a_record(scripted: Any, tmp_path: Path) -> None:
    junk = {"rationale": "x", "action": "tune", "args": {"models": []}}
    writer = TranscriptWriter(tmp_path / "run" / "transcript.jsonl")
    model = scripted(script=[NESTED, junk, junk, "The task is binary."])
    reasoner = LLMReasoner(model, method="function_calling", retries=1, transcript=writer)
    first = reasoner.decide(STATE, [], ACTIONS)
    second = reasoner.decide(STATE, [], ACTIONS)
    reasoner.summarise_task(STATE)
    assert (first.source, first.action, second.source) == ("llm", "train_model", "fallback")

    records = read_transcript(writer.path)
    assert [r["kind"] for r in records] == ["decide", "decide", "decide", "fallback", "summarise_task"]
    assert writer.records == 5 and len(writer.path.read_text().splitlines()) == 5
    ok = records[0]
    assert ok["decision"] == {"action": "train_model", "args": {"model": "linear", "params": {}}, "source": "llm"}
    assert ok["error"] is None and ok["attempt"] == 1 and ok["phase"] == "optimise"
    assert [m["role"] for m in ok["messages"]] == ["system", "human"]
    assert "Allowed now:" in ok["messages"][1]["content"] and "train_model" in ok["raw"]
    assert (ok["tokens_in"], ok["tokens_out"]) == (100, 20) and ok["seconds"] >= 0 and ok["ts"]
    bad = records[1:3]
    assert [r["attempt"] for r in bad] == [1, 2] and all(r["decision"] is None for r in bad)
    assert "List should have at least 1 item" in bad[0]["error"]
    assert [m["role"] for m in bad[1]["messages"]] == ["system", "human", "human"]  # the retry shows the error
    fallback = records[3]
    assert fallback["decision"]["source"] == "fallback" and fallback["decision"]["action"] == second.action
    assert fallback["attempts"] == 2 and "no valid answer in 2 attempts" in fallback["error"]
    assert records[4]["raw"] == "The task is binary."

    assert reasoner.stats() == {
        "decisions": 2,
        "llm_decisions": 1,
        "fallbacks": 1,
        "calls": 4,
        "invalid_answers": 2,
        "text_fallbacks": 0,
        "tokens_in": 400,
        "tokens_out": 80,
        "transcript_errors": 0,
    }
    # The transcript's token counts add up to the reasoner's.
    assert sum(r.get("tokens_in", 0) for r in records) == reasoner.tokens_in


def test_secrets_never_reach_the_transcript(scripted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("KAGGLE_KEY", KAGGLE_KEY)
    monkeypatch.setenv("AGENTK_API_TOKEN", "agentk-token-value-42")
    writer = TranscriptWriter(tmp_path / "transcript.jsonl", secrets=["hunter2-extra-secret"])
    # The secrets reach the prompt through the state and the answer, as a careless tool might put them there.
    state = {
        **STATE,
        "last_observation": f"env: OPENAI_API_KEY={OPENAI_KEY} KAGGLE_KEY={KAGGLE_KEY} pw hunter2-extra-secret",
        "notes": ["Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"],
        "config": {"api_key": "plain-value-under-a-secret-name", "folds": 5},
    }
    answer = {
        "rationale": f"the key is {OPENAI_KEY}",
        "action": "run_code",
        "args": {"code": "print('agentk-token-value-42')"},
    }
    model = scripted(script=[answer, RuntimeError(f"401 for key {OPENAI_KEY}")])
    reasoner = LLMReasoner(model, method="function_calling", transcript=writer)
    assert reasoner.decide(state, [], ACTIONS).source == "llm"
    assert reasoner.reflect(state, "failed").endswith(")")  # the failed call's message names the key
    text = writer.path.read_text()
    for secret in (
        OPENAI_KEY,
        KAGGLE_KEY,
        "agentk-token-value-42",
        "hunter2-extra-secret",
        "abcdefghijklmnopqrstuvwxyz012345",
        "plain-value-under-a-secret-name",
    ):
        assert secret not in text
    assert REDACTED in text and '\\"folds\\": 5' in text  # only the secrets went
    # Nor were they sent to the model: the prompt was scrubbed before the call.
    sent = "\n".join(str(m.content) for prompt in model.prompts for m in prompt)
    assert OPENAI_KEY not in sent and "plain-value-under-a-secret-name" not in sent and "hunter2" in sent
    records = read_transcript(writer.path)
    assert [r["kind"] for r in records] == ["decide", "reflect"] and "401 for key" in records[1]["error"]


def test_redact_rules() -> None:
    value = {
        "Authorization": "Bearer xyz",
        "api_token": 0,  # a number under a secret-looking key stays (nothing to leak)
        "tokens_in": "12",  # not a secret name: "token" must end the key
        "nested": [{"text": "use sk-ant-0123456789abcdef here", "password": ""}],
        "note": "value abc123secret inline",
    }
    out = redact(value, ["abc123secret", "ab"])  # too-short values are ignored, not redacted everywhere
    assert out == {
        "Authorization": REDACTED,
        "api_token": 0,
        "tokens_in": "12",
        "nested": [{"text": f"use {REDACTED} here", "password": ""}],
        "note": f"value {REDACTED} inline",
    }
    assert value["Authorization"] == "Bearer xyz"  # the input is not changed
    env = {"OPENAI_API_KEY": "sk-1234567890", "HOME": "/root", "KAGGLE_KEY": "k" * 32, "SOME_TOKEN": "t"}
    assert secrets_from_env(env) == {"sk-1234567890", "k" * 32}


def test_torn_last_line_is_skipped_and_appends_go_on(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    with TranscriptWriter(path) as writer:
        writer({"kind": "decide", "n": 1})
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"kind": "deci')  # a crash mid-write
    assert [r["n"] for r in read_transcript(path)] == [1]
    assert read_transcript(tmp_path / "none.jsonl") == []
    path.write_text('{"n": 1}\nnot json\n{"n": 3}\n')
    with pytest.raises(json.JSONDecodeError):
        read_transcript(path)  # damage before the last line is not a torn write: it is reported


def test_a_failing_hook_does_not_stop_decisions(scripted: Any) -> None:
    def broken(record: dict[str, Any]) -> None:
        raise OSError("No space left on device")

    reasoner = LLMReasoner(scripted(script=[NESTED]), method="function_calling", transcript=broken)
    assert reasoner.decide(STATE, [], ACTIONS).source == "llm"
    assert reasoner.transcript_errors == 1


def test_nested_answers_and_phases(scripted: Any) -> None:
    schema = nested_decision_schema(actions_for("finalise"))
    members = schema["properties"]["decision"]["anyOf"]
    assert schema["required"] == ["rationale", "decision"] and schema["type"] == "object"
    assert [m["properties"]["action"]["enum"] for m in members] == [["run_code"], ["predict"], ["finalise"], ["stop"]]
    assert schema["properties"]["rationale"]["maxLength"] > 0
    # The offered actions follow the policy's rule: this phase, a later one, or any phase.
    assert list(allowed_actions(ACTIONS, "finalise")) == ["run_code", "predict", "finalise", "stop"]
    assert "profile" not in allowed_actions(ACTIONS, "optimise") and "finalise" in allowed_actions(ACTIONS, "optimise")
    assert allowed_actions(ACTIONS, None) == ACTIONS
    # An action of an earlier phase is invalid even when the caller offered every action.
    early = {"rationale": "x", "decision": {"action": "profile", "args": {}}}
    model = scripted(script=[early, NESTED])
    reasoner = LLMReasoner(model, method="function_calling", retries=1)
    decision = reasoner.decide(STATE, [], ACTIONS)
    assert (decision.source, decision.action, decision.attempts) == ("llm", "train_model", 2)
    assert "not allowed in the optimise phase" in model.prompts[1][-1].content


def test_the_policy_advises_and_a_step_failing_twice_is_refused(scripted: Any) -> None:
    failing = [
        {"action": "run_code", "args": {"code": "x"}, "ok": False, "observation": "SyntaxError"},
        {"action": "run_code", "args": {"code": "y"}, "ok": False, "observation": "SyntaxError"},
    ]
    state = {"phase": "setup", "history": failing, "results": []}
    again = {"rationale": "x", "decision": {"action": "run_code", "args": {"code": "z"}}}
    profile = {"rationale": "look first", "decision": {"action": "profile", "args": {}}}
    model = scripted(script=[again, profile])
    reasoner = LLMReasoner(model, method="function_calling", retries=1)
    setup = {n: s for n, s in ACTIONS.items() if s.phase in ("setup", "any")}
    decision = reasoner.decide(state, [], setup)
    assert (decision.source, decision.action, decision.attempts) == ("llm", "profile", 2)
    first = model.prompts[0][1].content
    assert "The offline policy would do next: profile {}" in first
    assert "code_contract" not in first  # no code-writing action on offer in setup: its contract is not shown
    assert "run_code failed on each of the last 2 steps" in model.prompts[1][-1].content
    # One failure is not a loop; and without advice the line is absent.
    once = {**state, "history": failing[:1]}
    reasoner = LLMReasoner(scripted(script=[again]), method="function_calling", advice=False)
    assert reasoner.decide(once, [], setup).action == "run_code"
    assert "offline policy" not in reasoner.model.prompts[0][1].content
