"""The first tools on tiny data: each model learns, blends never lose to their parts, folds are leak-free."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.tools import CVResult, Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools.ensemble import choose_ensemble

RNG = np.random.default_rng(7)


def _data(n: int = 400, task: TaskType = TaskType.BINARY) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, TaskSpec]:
    x = RNG.normal(size=(n, 3))
    colour = RNG.choice(["r", "g", "b", "y"], size=n)
    words = np.where(x[:, 0] > 0, "fire storm alarm smoke", "calm sunny quiet nice")
    frame = pd.DataFrame(
        {"id": range(n), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "colour": colour, "text": words + " " + colour}
    )
    signal = x[:, 0] + (colour == "r") * 1.0
    if task is TaskType.BINARY:
        y, classes, metric = pd.Series((signal > 0.3).astype(int)), (0, 1), "auc"
    elif task is TaskType.MULTICLASS:
        labels = np.select([signal < -0.5, signal < 0.7], ["lo", "mid"], "hi")
        y, classes, metric = pd.Series(labels), ("hi", "lo", "mid"), "accuracy"
    else:
        y, classes, metric = pd.Series(3 * signal + RNG.normal(scale=0.1, size=n)), (), "rmse"
    columns = {
        "a": Modality.NUMERIC,
        "b": Modality.NUMERIC,
        "c": Modality.NUMERIC,
        "colour": Modality.CATEGORICAL,
        "text": Modality.TEXT,
    }
    spec = TaskSpec(task, "id", ("y",), ("y",), classes, columns, metric, metric != "rmse")
    train, test = frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)
    return train, test, y.iloc[:300].reset_index(drop=True), spec


@pytest.mark.parametrize("task", [TaskType.BINARY, TaskType.MULTICLASS, TaskType.REGRESSION])
def test_models_learn_and_the_ensemble_is_chosen_by_nested_cv(task: TaskType) -> None:
    train, test, y, spec = _data(task=task)
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), task, 3, seed=0)
    results = [
        cross_validate("lightgbm", train, test, y, codec, folds, Deadline(60)),
        cross_validate("linear", train, test, y, codec, folds, Deadline(60)),
    ]
    for r in results:
        assert r.complete and len(r.fold_scores) == 3
        assert r.test.shape[0] == len(test) and r.oof.shape[0] == len(train)
    good = {TaskType.BINARY: 0.9, TaskType.MULTICLASS: 0.75}
    for r in results:
        if task in good:
            assert r.cv_score > good[task]
        else:
            assert r.cv_score < 0.6 * float(np.std(y))
    choice = choose_ensemble(results, y, codec, folds)
    assert set(choice.nested) == {"single", "hill_climb", "stack"}
    # The chosen method is the best by nested CV, and its out-of-fold score is what it reports.
    assert all(not codec.metric.better(v, choice.nested[choice.method]) for v in choice.nested.values())
    assert choice.result.cv_score == pytest.approx(choice.nested[choice.method])
    assert choice.result.test.shape[0] == len(test)


@pytest.mark.parametrize("model", ["lightgbm", "linear"])
def test_shuffled_target_scores_at_chance(model: str) -> None:
    """With the target shuffled, nothing fit inside the folds can beat chance out of fold."""
    train, test, y, spec = _data(n=800)
    y = pd.Series(np.random.default_rng(1).permutation(y.to_numpy()))
    train = train.iloc[: len(y)]
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 5, seed=0)
    result: CVResult = cross_validate(model, train, test, y, codec, folds, Deadline(60))
    assert 0.4 < result.cv_score < 0.6  # AUC of noise


def test_deadline_returns_partial_results() -> None:
    train, test, y, spec = _data()
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 3, seed=0)
    result = cross_validate("lightgbm", train, test, y, codec, folds, Deadline(0.0))
    assert not result.complete and result.fold_scores == []
    assert result.cv_score == codec.metric.worst


def test_threshold_tuning_for_label_metrics() -> None:
    _, _, y, spec = _data()
    spec = TaskSpec(spec.task_type, "id", ("y",), ("y",), (0, 1), spec.columns, "f1", True)
    codec = TargetCodec.for_task(spec, y)
    skewed = np.clip(y.to_numpy() * 0.35 + RNG.uniform(0, 0.3, size=len(y)), 0, 1)  # positives sit at 0.35-0.65
    assert codec.tune_threshold(y, skewed) < 0.5
    assert codec.score(y, skewed) > 0.9


def test_log_target_for_log_metrics() -> None:
    spec = TaskSpec(TaskType.REGRESSION, "id", ("y",), ("y",), (), {}, "rmse_log", False)
    y = pd.Series([10.0, 100.0, 1000.0])
    codec = TargetCodec.for_task(spec, y)
    assert codec.log_target
    assert np.allclose(codec.to_values(codec.encode(y)), y)
