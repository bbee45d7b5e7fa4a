"""distil() end to end on small teachers: choice, budget, save/load, a fresh process and predict_file."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agentk.agent.predict import predict_file
from agentk.distill import distil, fit_student, is_student_file, load_student
from agentk.errors import UserInputError


@pytest.mark.parametrize(
    ("task", "metric"),
    [("binary", "auc higher"), ("multiclass", "accuracy higher"), ("regression", "rmse lower")],
)
def test_distil_gives_a_working_student(make_teacher: Callable[..., Any], task: str, metric: str) -> None:
    teacher = make_teacher(task=task, metric=metric)
    messages: list[str] = []
    student = distil(
        teacher.model,
        teacher.train,
        teacher.y,
        budget_s=30,
        students=("lightgbm-small", "linear-small"),
        augment_rounds=1,
        log=messages.append,
    )
    frame = student.predict_frame(teacher.test)
    expected = teacher.model.predict_frame(teacher.test)
    assert list(frame.columns) == list(expected.columns)
    assert (frame[teacher.model.task.id_column] == expected[teacher.model.task.id_column]).all()
    report = student.report
    assert report["student"] in ("lightgbm-small", "linear-small")
    assert set(report["candidates"]) <= {"lightgbm-small", "linear-small"}
    assert report["latency_ms"] > 0 and report["size_kb"] > 0
    assert "rounds" in report["augmentation"]
    assert messages
    # A student learns the task: better than a constant prediction on the teacher's own test rows.
    answers = pd.read_csv(teacher.folder / "private" / "answers.csv")
    codec = teacher.model.codec
    score = codec.score(answers[teacher.model.task.target], student.predict(teacher.test))
    constant = np.full_like(np.asarray(student.predict(teacher.test)), np.mean(student.predict(teacher.test), axis=0))
    assert codec.metric.better(score, codec.score(answers[teacher.model.task.target], constant))


def test_latency_budget_picks_a_student_that_fits(make_teacher: Callable[..., Any]) -> None:
    teacher = make_teacher(task="binary", metric="accuracy higher")
    student = distil(
        teacher.model,
        teacher.train,
        teacher.y,
        budget_s=30,
        students=("lightgbm-small", "linear-small"),
        augment_rounds=0,
        latency_budget_ms=1e-6,  # nothing fits: the fastest is kept and the report says so
    )
    candidates = student.report["candidates"]
    assert not any(c["fits_budget"] for c in candidates.values())
    fastest = min(candidates, key=lambda n: candidates[n]["latency_ms"])
    assert student.report["student"] == fastest


def test_label_only_student_never_reads_the_teacher(make_teacher: Callable[..., Any]) -> None:
    teacher = make_teacher(task="binary", metric="accuracy higher")
    teacher.model.oof = None  # an alpha=1 student needs no teacher targets
    student = fit_student(teacher.model, teacher.train, teacher.y, student="lightgbm-small")
    assert student.report["alpha"] == 1.0
    with pytest.raises(UserInputError, match="out-of-fold"):
        distil(teacher.model, teacher.train, teacher.y, budget_s=5)


_RELOAD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pandas as pd
    from agentk.distill import load_student

    student = load_student(sys.argv[1])
    np.save(sys.argv[3], student.predict(pd.read_csv(sys.argv[2])))
    print(student.runtime)
    """
)


@pytest.mark.parametrize(("task", "metric"), [("binary", "auc higher"), ("regression", "rmse lower")])
def test_exported_student_predicts_the_same_in_a_fresh_process(
    make_teacher: Callable[..., Any], tmp_path: Path, task: str, metric: str
) -> None:
    teacher = make_teacher(task=task, metric=metric)
    student = fit_student(teacher.model, teacher.train, teacher.y, student="lightgbm-small", alpha=0.5)
    path = student.save(tmp_path / "student.joblib")
    assert is_student_file(path) and not is_student_file(teacher.path)
    before = student.predict(teacher.test)
    out = tmp_path / "reloaded.npy"
    data = teacher.folder / "public" / "test.csv"
    done = subprocess.run(
        [sys.executable, "-c", _RELOAD, str(path), str(data), str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "onnxruntime"
    assert np.allclose(np.load(out), before, rtol=0, atol=1e-5)
    # The ONNX graph agrees with the native model it was exported from.
    native = copy.copy(student)
    native.onnx, native._runner = None, None
    assert native.runtime == "native"
    assert np.allclose(native.predict(teacher.test), before, atol=1e-4)


def test_predict_file_serves_students_and_teachers(make_teacher: Callable[..., Any], tmp_path: Path) -> None:
    teacher = make_teacher(task="multiclass", metric="accuracy higher")
    student = fit_student(teacher.model, teacher.train, teacher.y, student="linear-small", alpha=0.5)
    path = student.save(tmp_path / "student.joblib")
    data = teacher.folder / "public" / "test.csv"
    out = predict_file(path, data, tmp_path / "out" / "preds.csv")
    preds = pd.read_csv(out)
    assert list(preds.columns) == ["id", "target"]
    assert len(preds) == len(teacher.test)
    assert set(preds["target"]) <= {"low", "mid", "high"}
    teacher_preds = pd.read_csv(predict_file(teacher.path, data, tmp_path / "teacher.csv"))
    assert list(teacher_preds.columns) == list(preds.columns)
    with pytest.raises(UserInputError, match="no id column"):
        pd.read_csv(data).drop(columns="id").to_csv(tmp_path / "bad.csv", index=False)
        predict_file(path, tmp_path / "bad.csv", tmp_path / "x.csv")
    with pytest.raises(UserInputError):
        load_student(teacher.path)
