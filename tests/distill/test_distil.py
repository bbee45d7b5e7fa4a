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
    # the HARD check labels its synthetic rows with the teacher's model of the fold it validates on
    assert report["augmentation"]["labeller"] == "teacher fold model"
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


@pytest.mark.parametrize("student_beats_teacher", [True, False])
def test_leak_guard_keeps_labels_when_the_student_beats_its_teacher_in_cv(
    make_teacher: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, student_beats_teacher: bool
) -> None:
    import agentk.distill._distil as mod

    teacher = make_teacher(task="regression", metric="rmse lower")
    real_cv = mod._cv
    offset = -0.5 if student_beats_teacher else 0.5

    def cv(problem: Any, spec: Any, folds: Any, *, alpha: float, temperature: float, seed: int) -> Any:
        _, oof = real_cv(problem, spec, folds, alpha=alpha, temperature=temperature, seed=seed)
        teacher_score = problem.codec.score(problem.y_raw, problem.teacher_oof)
        # Teacher targets (alpha < 1) score in CV as if they read the validation labels, or clearly worse than them.
        return (teacher_score + offset if alpha == 0.0 else teacher_score + 1.0), oof

    monkeypatch.setattr(mod, "_cv", cv)
    monkeypatch.setattr(mod, "_confidently_better", lambda *_a, **_k: 1.0)  # the scores above are the story
    messages: list[str] = []
    student = distil(
        teacher.model,
        teacher.train,
        teacher.y,
        budget_s=30,
        students=("lightgbm-small",),
        augment_rounds=0,
        log=messages.append,
    )
    report = student.report
    assert report["tuned"]["alpha"] == 0.0
    assert report["leak_guard"] is student_beats_teacher
    assert report["alpha"] == (1.0 if student_beats_teacher else 0.0)
    assert any("leak guard" in m for m in messages) is student_beats_teacher


def test_a_tight_latency_budget_drops_the_word_features(make_teacher: Callable[..., Any]) -> None:
    teacher = make_teacher(task="binary", metric="auc higher", with_text=True)
    messages: list[str] = []
    student = distil(
        teacher.model,
        teacher.train,
        teacher.y,
        budget_s=60,
        students=("lightgbm-tiny", "linear-small"),
        augment_rounds=0,
        latency_budget_ms=1e-6,  # nothing fits, with or without words: the fastest is kept, and we tried
        log=messages.append,
    )
    assert any("without TF-IDF word features" in m for m in messages)
    assert student.report["student"] in ("lightgbm-tiny", "linear-small")
    with_words = fit_student(teacher.model, teacher.train, teacher.y, student="lightgbm-tiny")
    without = fit_student(teacher.model, teacher.train, teacher.y, student="lightgbm-tiny", text_features=0)
    assert with_words.encoder.tfidf_ and not without.encoder.tfidf_
    assert without.report["text_features"] == 0
    assert len(without.encoder.feature_names_) < len(with_words.encoder.feature_names_)
    assert without.predict_frame(teacher.test).shape == with_words.predict_frame(teacher.test).shape


def test_leak_guard_also_checks_the_chosen_architecture(
    make_teacher: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentk.distill._distil as mod

    teacher = make_teacher(task="regression", metric="rmse lower")
    real_cv = mod._cv

    def cv(problem: Any, spec: Any, folds: Any, *, alpha: float, temperature: float, seed: int) -> Any:
        _, oof = real_cv(problem, spec, folds, alpha=alpha, temperature=temperature, seed=seed)
        teacher_score = problem.codec.score(problem.y_raw, problem.teacher_oof)
        if alpha == 0.0:  # the tuning student stays behind its teacher, the larger one overtakes it
            return teacher_score + (-0.5 if spec.name == "lightgbm-medium" else 0.5), oof
        return teacher_score + 1.0, oof

    monkeypatch.setattr(mod, "_cv", cv)
    monkeypatch.setattr(mod, "_confidently_better", lambda *_a, **_k: 1.0)  # the scores above are the story
    student = distil(
        teacher.model,
        teacher.train,
        teacher.y,
        budget_s=60,
        students=("lightgbm-small", "lightgbm-medium"),
        augment_rounds=0,
    )
    report = student.report
    assert report["tuned"]["alpha"] == 0.0 and report["student"] == "lightgbm-medium"
    assert report["leak_guard"] and report["alpha"] == 1.0
    assert report["cv_score"] == pytest.approx(report["teacher_oof_score"] + 1.0)


def test_confidently_better_is_a_paired_bootstrap(make_teacher: Callable[..., Any]) -> None:
    from agentk.distill._distil import _confidently_better

    teacher = make_teacher(task="regression", metric="rmse lower")
    codec, y = teacher.model.codec, teacher.y
    truth = np.asarray(codec.encode(y), dtype=float)
    noisy = truth + np.random.default_rng(1).normal(scale=1.0, size=len(truth))
    assert _confidently_better(codec, y, truth, noisy, seed=0) == 1.0
    assert _confidently_better(codec, y, noisy, truth, seed=0) == 0.0
    assert _confidently_better(codec, y, noisy, noisy, seed=0) == 0.0  # a tie is not better
    slightly = truth + np.random.default_rng(2).normal(scale=1.0, size=len(truth))
    assert 0.0 < _confidently_better(codec, y, slightly, noisy, seed=0) < 1.0


def test_hard_rounds_are_sized_in_rows_not_seconds() -> None:
    from agentk.distill._distil import hard_sizes

    assert hard_sizes(300) == (2_000, 150)  # small data: at least 2,000 candidates, half the rows kept per round
    assert hard_sizes(8_000) == (32_000, 4_000)
    assert hard_sizes(1_000_000) == (40_000, 10_000)  # capped
    for n in (10, 300, 5_000, 100_000):
        candidates, keep = hard_sizes(n)
        assert 0 < keep <= candidates // 4


def test_the_same_seed_makes_the_same_student(make_teacher: Callable[..., Any]) -> None:
    """Choices are counted, not timed: two distillations of the same teacher choose and predict alike."""
    teacher = make_teacher(task="binary", metric="auc higher")
    runs = [
        distil(
            teacher.model,
            teacher.train,
            teacher.y,
            budget_s=120,
            students=("lightgbm-tiny", "linear-small"),
            augment_rounds=2,
            seed=3,
        )
        for _ in range(2)
    ]
    keys = ("student", "alpha", "temperature", "tuning", "leak_guard", "augmentation", "budget_exhausted")
    first, second = ({k: r.report[k] for k in keys} for r in runs)
    assert first == second
    assert runs[0].report["budget_exhausted"] is False
    np.testing.assert_allclose(runs[0].predict(teacher.test), runs[1].predict(teacher.test))
