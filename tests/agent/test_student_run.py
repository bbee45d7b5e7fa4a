"""A run with a latency budget distils its submitted model into a student that serves the same rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from agentk.agent import run_competition
from agentk.agent.predict import predict_file
from agentk.config import Settings
from agentk.runs import RunState, read_events


def test_run_with_a_speed_budget_keeps_a_student(make_competition: Any, tmp_path: Path) -> None:
    folder = make_competition(task="binary", n_train=600, n_test=150)
    settings = Settings(student_min_speedup=2.0)
    outcome = run_competition(str(folder), budget=90, out=tmp_path / "run", settings=settings)
    assert outcome.state is RunState.SUCCEEDED, outcome.result.get("error")
    run = tmp_path / "run"
    assert (run / "student.joblib").is_file()
    student = outcome.result["student"]
    assert student["path"].endswith("student.joblib") and student["latency_ms"] > 0
    events = read_events(run / "events.jsonl")
    assert [e for e in events if e.type == "student"]
    # Distillation happens in finalise, after the submission, from the submitted model.
    order = [e.type for e in events if e.type in ("submission", "student")]
    assert order == ["submission", "student"]
    predict_file(run, folder / "public" / "test.csv", tmp_path / "preds.csv")  # a run folder serves its student
    frame = pd.read_csv(tmp_path / "preds.csv")
    assert len(frame) == 150 and list(frame.columns) == ["id", "target"]
    assert frame["target"].between(0, 1).all()
    assert json.loads((run / "student.json").read_text())["student"]


def test_run_without_a_budget_makes_no_student(make_competition: Any, tmp_path: Path) -> None:
    outcome = run_competition(
        str(make_competition(task="regression", metric="rmse lower")), budget=40, out=tmp_path / "r"
    )
    assert outcome.state is RunState.SUCCEEDED
    assert not (tmp_path / "r" / "student.joblib").exists() and "student" not in outcome.result
