"""A real small LLM drives a whole run: ``Settings(llm="local:PATH.gguf")`` through ``run_competition``.

The model is Qwen2.5-Coder-0.5B served by xllamacpp on 127.0.0.1 for the run (the ``llm-test`` extra's
packages, assembled and sha256-checked by the ``local_gguf`` fixture). What is checked is the plumbing, not
the answers: every decision parsed into a registered action or was a counted fallback, the counts and
tokens in ``result.json`` agree with the journal and the transcript, the run ends with a submission, and no
secret reaches the transcript. Live as soon as the runner reads ``Settings.llm``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentk.agent.actions import ACTIONS
from agentk.agent.reasoners import read_transcript
from agentk.config import Settings
from agentk.runs import RunState, read_events

pytestmark = [
    pytest.mark.skipif("llm" not in Settings.model_fields, reason="the runner does not take an LLM yet"),
    pytest.mark.timeout(600),
]

SECRET = "sk-test-0123456789abcdefghijklmnop"


def test_small_real_llm_drives_a_run_end_to_end(
    local_gguf: Path, make_competition: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentk.agent.runner import run_competition

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # present in the environment: must not reach the transcript
    # A short run bounded by steps, not time: the 0.5B model needs 5 to 30 s a call on two cores (the slow
    # end when other work shares them), and a time budget spent on decisions would leave no model trained.
    fields: dict[str, Any] = {"llm": f"local:{local_gguf}", "llm_timeout": 90.0}
    if "max_steps" in Settings.model_fields:
        fields["max_steps"] = 6
    settings = Settings(**fields)
    folder = make_competition(task="binary")
    outcome = run_competition(str(folder), budget=420, out=tmp_path / "run", settings=settings)
    assert outcome.state is RunState.SUCCEEDED, outcome.result.get("error")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert Path(result["submission"]).is_file()

    block = result["reasoner"]
    print("reasoner:", json.dumps(block))
    assert block["kind"] == "llm" and block["spec"] == f"local:{local_gguf}"
    assert block["decisions"] >= 1
    assert block["llm_decisions"] + block["fallbacks"] == block["decisions"]  # no policy decision without a cause
    assert block["tokens_in"] > 0
    assert block["transcript"] == "transcript.jsonl"

    events = read_events(tmp_path / "run" / "events.jsonl")
    decisions = [e for e in events if e.type == "decision"]
    assert len(decisions) == block["decisions"]
    for event in decisions:
        data = event.data
        assert data["action"] in ACTIONS and data["source"] in ("llm", "fallback")
        ACTIONS[data["action"]].args_model.model_validate(data["args"])  # arguments valid for their action
        assert (data["error"] is None) == (data["source"] == "llm")
    assert sum(e.data["source"] == "llm" for e in decisions) == block["llm_decisions"]
    assert len([e for e in events if e.type == "fallback"]) == block["fallbacks"]

    path = tmp_path / "run" / block["transcript"]
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    records = read_transcript(path)
    calls = [r for r in records if r["kind"] != "fallback"]
    assert calls and all(r["messages"] and r["messages"][0]["role"] == "system" for r in calls)
    used = [r["decision"] for r in calls if r["kind"] == "decide" and r["decision"] is not None]
    assert [(u["action"], u["args"]) for u in used] == [
        (e.data["action"], e.data["args"]) for e in decisions if e.data["source"] == "llm"
    ]
    assert len([r for r in records if r["kind"] == "fallback"]) == block["fallbacks"]
    decide_tokens = sum(r["tokens_in"] for r in calls if r["kind"] == "decide")
    assert decide_tokens == block["tokens_in"]  # the run's decision tokens are the transcript's
    print(
        f"{block['llm_decisions']}/{block['decisions']} decisions from the model, {block['fallbacks']} fallbacks, "
        f"{len(calls)} model calls, tokens {block['tokens_in']}+{block['tokens_out']}"
    )
