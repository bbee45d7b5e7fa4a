"""A scripted langchain chat model drives a whole run: every phase, and a code action that fails once and is
repaired after the failure reached the model through the run state."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest

from agentk.agent import runner
from agentk.agent.reasoners import LLMReasoner
from agentk.config import Settings
from agentk.runs import RunState, read_events

BAD_CODE = (
    "import pandas as pd\nd = pd.read_csv('data.csv')\nd['x1_sq'] = d['x1'] ** 2\nfeatures.to_csv('features.csv')\n"
)
GOOD_CODE = (
    "import pandas as pd\nd = pd.read_csv('data.csv')\n"
    "pd.DataFrame({'x1_sq': d['x1'] ** 2, 'x1x2': d['x1'] * d['x2']}).to_csv('features.csv', index=False)\n"
)


def _decision(action: str, why: str, **args: Any) -> dict[str, Any]:
    return {"rationale": why, "action": action, "args": args}


SCRIPT: list[Any] = [
    _decision("profile", "look first"),
    _decision("infer_task", "then the task and its checks"),
    "A binary task on x1, x2 and colour, scored by accuracy.",  # summarise_task
    "Train a baseline, add features, tune, blend, submit.",  # plan
    _decision("train_model", "a fast baseline", model="lightgbm", params={}),
    _decision("engineer_features", "square x1", code=BAD_CODE),
    "The code used an undefined name: build the frame first.",  # reflect on the failure
    _decision("engineer_features", "fixed: build the frame", code=GOOD_CODE, operations=["missing_indicators"]),
    _decision("train_model", "linear on the new features", model="linear", params={}),
    _decision("tune", "search a little", models=["lightgbm", "linear"], trials=2),
    _decision("ensemble", "blend", method="auto"),
    _decision("finalise", "submit the best by CV"),
    _decision("stop", "done", reason="submission written"),
]


def test_scripted_model_drives_every_phase_and_repairs_its_code(
    scripted: Any, make_competition: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scripted(script=list(SCRIPT))
    holder: dict[str, LLMReasoner] = {}

    def open_scripted(settings: Settings, journal: Any, out_dir: Path, stack: ExitStack) -> Any:
        holder["r"] = LLMReasoner(model, method="function_calling", journal=journal, retries=0)
        return holder["r"], {"kind": "llm", "spec": "scripted"}

    monkeypatch.setattr(runner, "open_reasoner", open_scripted)
    folder = make_competition(task="binary")
    outcome = runner.run_competition(str(folder), budget=120, out=tmp_path / "run")
    assert outcome.state is RunState.SUCCEEDED, outcome.result.get("error")
    assert model.script == []  # every scripted answer was used, in order

    events = read_events(tmp_path / "run" / "events.jsonl")
    decisions = [e for e in events if e.type == "decision"]
    assert [d.data["action"] for d in decisions] == [
        "profile",
        "infer_task",
        "train_model",
        "engineer_features",
        "engineer_features",
        "train_model",
        "tune",
        "ensemble",
        "finalise",
        "stop",
    ]
    assert all(d.data["source"] == "llm" for d in decisions)
    assert all(d.data["rationale"] and d.data["tokens_in"] > 0 for d in decisions)
    assert [d.data["step"] for d in decisions] == list(range(1, 11))
    phases = [e.phase for e in events if e.type == "step"]
    assert {"setup", "optimise", "finalise"} <= set(phases)

    steps = {e.data["step"]: e for e in events if e.type == "step"}
    assert steps[4].data["ok"] is False and "NameError" in steps[4].message
    assert steps[5].data["ok"] is True and "x1_sq" in steps[5].message
    # The failure reached the model: the prompt of the repair decision carries the NameError.
    repair_prompt = "\n".join(str(m.content) for m in model.prompts[7])
    assert "NameError" in repair_prompt
    thoughts = [e.data["kind"] for e in events if e.type == "thought"]
    assert thoughts == ["summary", "plan", "reflection"]

    # The repaired features reached the models trained after them, and the submission is valid.
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["reasoner"]["llm_decisions"] == 10 and result["reasoner"]["fallbacks"] == 0
    assert result["reasoner"]["tokens_in"] == 100 * 10
    assert result["steps"] == 10
    assert "linear" in result["models"]
    submission = pd.read_csv(tmp_path / "run" / "submission.csv")
    assert len(submission) == 100 and list(submission.columns) == ["id", "target"]
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["code_columns"] == ["x1_sq", "x1x2"] and state["features"] == {"missing_indicators": True}
    pool = joblib.load(tmp_path / "run" / "checkpoint" / "pool.joblib")
    fitted = {r.name: r.predictor.members[0][1] for r in pool if r.predictor is not None and "#" not in r.name}
    assert "x1_sq" not in fitted["lightgbm"].columns  # trained before the features existed
    assert {"x1_sq", "x1x2"} <= set(fitted["linear"].columns)  # trained after: it reads them
    assert result["test_score"] is not None


def test_an_invalid_action_is_retried_then_the_policy_takes_over(
    scripted: Any, make_competition: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Garbage from the model never stops a run: the offline policy decides and the fallback is counted."""
    model = scripted(script=[_decision("fly", "no such action")] * 2 + ["not json"] * 200)

    def open_scripted(settings: Settings, journal: Any, out_dir: Path, stack: ExitStack) -> Any:
        return LLMReasoner(model, method="function_calling", journal=journal, retries=1), {"kind": "llm"}

    monkeypatch.setattr(runner, "open_reasoner", open_scripted)
    outcome = runner.run_competition(str(make_competition(task="regression", metric="rmse lower")), budget=60)
    assert outcome.state is RunState.SUCCEEDED, outcome.result.get("error")
    events = read_events(outcome.out_dir / "events.jsonl")
    decisions = [e for e in events if e.type == "decision"]
    assert decisions and all(d.data["source"] == "fallback" for d in decisions)
    assert outcome.result["reasoner"]["fallbacks"] == len(decisions)
    assert [e for e in events if e.type == "fallback"]
