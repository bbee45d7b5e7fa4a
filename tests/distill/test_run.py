"""distil_for_run: what a run's finalise calls; it writes the student beside the model and reports it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from agentk.agent.model_io import MODEL_FILE
from agentk.agent.predict import predict_file, run_model_path
from agentk.distill import STUDENT_FILE, STUDENT_ONNX, STUDENT_REPORT, distil_for_run, load_student
from agentk.runs import EventJournal


def _events(journal: EventJournal) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal.path.read_text().splitlines()]


def test_no_budget_means_no_student(make_teacher: Callable[..., Any], tmp_path: Path) -> None:
    teacher = make_teacher(task="binary", metric="accuracy higher")
    journal = EventJournal(tmp_path / "events.jsonl")
    model = teacher.model
    report = distil_for_run(
        tmp_path, teacher.result, model.task, model.codec, teacher.train, budget_s=30, journal=journal
    )
    assert report is None
    assert not (tmp_path / STUDENT_FILE).exists()
    assert not journal.path.exists() or not _events(journal)


def test_a_run_with_a_latency_budget_gets_a_servable_student(make_teacher: Callable[..., Any], tmp_path: Path) -> None:
    teacher = make_teacher(task="regression", metric="rmse lower")
    workdir = teacher.path.parent
    journal = EventJournal(tmp_path / "events.jsonl")
    model = teacher.model
    report = distil_for_run(
        workdir,
        teacher.result,
        model.task,
        model.codec,
        teacher.train,
        budget_s=20,
        min_speedup=1.0,
        latency_budget_ms=1e6,
        journal=journal,
    )
    assert report is not None
    assert report.path == workdir / STUDENT_FILE and report.onnx_path == workdir / STUDENT_ONNX
    assert report.onnx_path is not None and report.onnx_path.stat().st_size > 0
    assert report.teacher_latency_ms is not None and report.teacher_latency_ms > 0
    assert report.latency_budget_ms is not None and report.latency_budget_ms <= report.teacher_latency_ms
    saved = json.loads((workdir / STUDENT_REPORT).read_text())
    assert saved["student"] == report.student and saved["path"] == str(report.path)
    kinds = [e["type"] for e in _events(journal)]
    assert "student" in kinds and "log" in kinds
    # The run now serves its student: predict_file on the run directory picks it over model.joblib.
    assert run_model_path(workdir) == ("student", workdir / STUDENT_FILE)
    out = predict_file(workdir, teacher.folder / "public" / "test.csv", tmp_path / "preds.csv")
    expected = load_student(workdir / STUDENT_FILE).predict_frame(teacher.test)
    pd.testing.assert_frame_equal(pd.read_csv(out), expected, check_dtype=False, atol=1e-6)
    (workdir / STUDENT_FILE).unlink()
    assert run_model_path(workdir) == ("model", workdir / MODEL_FILE)


def test_a_teacher_cut_short_is_not_distilled(make_teacher: Callable[..., Any], tmp_path: Path) -> None:
    teacher = make_teacher(task="binary", metric="auc higher")
    journal = EventJournal(tmp_path / "events.jsonl")
    partial = dataclasses.replace(teacher.result, complete=False)
    model = teacher.model
    report = distil_for_run(
        tmp_path, partial, model.task, model.codec, teacher.train, budget_s=30, size_budget_kb=1e6, journal=journal
    )
    assert report is None
    (event,) = _events(journal)
    assert event["type"] == "skip" and "some folds only" in event["message"]
    assert not (tmp_path / STUDENT_FILE).exists()


def test_a_failed_distillation_is_a_warning_not_an_error(make_teacher: Callable[..., Any], tmp_path: Path) -> None:
    teacher = make_teacher(task="binary", metric="auc higher")
    journal = EventJournal(tmp_path / "events.jsonl")
    model = teacher.model
    broken = teacher.train.drop(columns=["x1"])  # the student cannot be fit: the failure is journalled
    report = distil_for_run(
        tmp_path, teacher.result, model.task, model.codec, broken, budget_s=30, size_budget_kb=1e6, journal=journal
    )
    assert report is None
    assert [e["type"] for e in _events(journal)][-1] == "warning"


def test_students_by_family_or_name(make_teacher: Callable[..., Any], tmp_path: Path) -> None:
    from agentk.distill._run import _candidates

    assert _candidates(None)[0] == "lightgbm-small"
    assert _candidates(["linear"]) == ("linear-small",)
    assert set(_candidates(["mlp", "lightgbm-tiny"])) == {"mlp-small", "mlp-medium", "lightgbm-tiny"}
    teacher = make_teacher(task="binary", metric="auc higher")
    journal = EventJournal(tmp_path / "events.jsonl")
    model = teacher.model
    args = (tmp_path, teacher.result, model.task, model.codec, teacher.train)
    assert distil_for_run(*args, budget_s=20, size_budget_kb=1e6, students=["xgboost"], journal=journal) is None
    assert "no student matches" in _events(journal)[-1]["message"]
    report = distil_for_run(*args, budget_s=20, size_budget_kb=1e6, students=["linear"], journal=journal)
    assert report is not None and report.student == "linear-small" and report.fits_budget
