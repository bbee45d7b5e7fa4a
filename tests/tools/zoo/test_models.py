"""One contract suite run against every zoo model added beside LightGBM and the linear model.

Each model must learn on tiny data through ``cross_validate``, score at chance on a shuffled target (so
nothing it learns leaks across folds), stop at once on an expired deadline keeping a usable model, and
keep scikit-learn's parameter contract (clone, get/set_params, pickling).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.tools import Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools.zoo import MODELS, ZooModel, get_model

# TabularEncoder (agentk/tools/features.py, not this suite's code) still reads ``Series.dt.dayofweek`` and
# ``dayofyear``, which pandas 3.1 deprecates; remove this filter once it reads ``day_of_week``/``day_of_year``.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Series\.dt\.dayof(week|year) is deprecated:pandas.errors.Pandas4Warning"
)

MODELS_UNDER_TEST = [
    name for name in ("xgboost", "catboost", "random_forest", "extra_trees", "hist_gb", "knn", "mlp") if name in MODELS
]
# Smaller budgets than the defaults keep the suite quick; the defaults are exercised by the search-space test.
FAST: dict[str, dict[str, Any]] = {
    "xgboost": {"max_rounds": 300, "early_stopping": 30, "learning_rate": 0.1},
    "catboost": {"max_rounds": 200, "early_stopping": 30, "learning_rate": 0.1},
    "random_forest": {"n_estimators": 60, "chunk": 30},
    "extra_trees": {"n_estimators": 60, "chunk": 30},
    "hist_gb": {"max_iter": 200, "early_stopping": 20, "chunk": 50},
    "knn": {},
    "mlp": {"max_epochs": 40, "patience": 5, "hidden": 64},
}
COLUMNS = {
    "a": Modality.NUMERIC,
    "b": Modality.NUMERIC,
    "c": Modality.NUMERIC,
    "colour": Modality.CATEGORICAL,
    "when": Modality.DATETIME,
    "text": Modality.TEXT,
}


def make_data(task: TaskType, n: int = 400, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, TaskSpec]:
    """300 training rows and the rest as test; the signal is ``a`` plus the colour red, with NaNs and noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    colour = rng.choice(["r", "g", "b", "y"], size=n).astype(object)
    a = x[:, 0].copy()
    a[rng.random(n) < 0.05] = np.nan
    colour[rng.random(n) < 0.05] = None
    words = np.where(x[:, 0] > 0, "fire storm alarm smoke", "calm sunny quiet nice")
    frame = pd.DataFrame(
        {
            "id": range(n),
            "a": a,
            "b": x[:, 1],
            "c": x[:, 2],
            "colour": colour,
            "when": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
            "text": [f"{w} {c}" for w, c in zip(words, colour, strict=True)],
        }
    )
    signal = x[:, 0] + (colour == "r") * 1.0
    classes: tuple[Any, ...]
    if task is TaskType.BINARY:
        y, classes, metric = pd.Series((signal > 0.3).astype(int)), (0, 1), "auc"
    elif task is TaskType.MULTICLASS:
        labels = np.select([signal < -0.5, signal < 0.7], ["lo", "mid"], "hi")
        y, classes, metric = pd.Series(labels), ("hi", "lo", "mid"), "accuracy"
    elif task is TaskType.ORDINAL:
        y, classes, metric = pd.Series(np.digitize(signal, [-0.5, 0.7])), (0, 1, 2), "qwk"
    else:
        y, classes, metric = pd.Series(3 * signal + rng.normal(scale=0.1, size=n)), (), "rmse"
    spec = TaskSpec(task, "id", ("y",), ("y",), classes, dict(COLUMNS), metric, metric != "rmse")
    n_train = 300 if n == 400 else n - 100
    train, test = frame.iloc[:n_train].reset_index(drop=True), frame.iloc[n_train:].reset_index(drop=True)
    return train, test, y.iloc[:n_train].reset_index(drop=True), spec


def build(model: str, spec: TaskSpec, **params: Any) -> ZooModel:
    info = get_model(model)
    return info.factory(
        columns={c: m for c, m in spec.columns.items() if m in info.uses},
        task_type=spec.task_type.value,
        n_classes=len(spec.classes),
        params={**FAST[model], **params},
        n_jobs=1,
        seed=0,
    )


# Chance is AUC 0.5, accuracy ~0.4 (majority class), QWK 0, RMSE = std(y); a working model is far better.
GOOD = {TaskType.BINARY: 0.85, TaskType.MULTICLASS: 0.65, TaskType.ORDINAL: 0.6}


@pytest.mark.parametrize("task", [TaskType.BINARY, TaskType.MULTICLASS, TaskType.ORDINAL, TaskType.REGRESSION])
@pytest.mark.parametrize("model", MODELS_UNDER_TEST)
def test_learns_through_cross_validate(model: str, task: TaskType) -> None:
    train, test, y, spec = make_data(task)
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), task, 3, seed=0)
    result = cross_validate(model, train, test, y, codec, folds, Deadline(120), params=FAST[model])
    assert result.complete and len(result.fold_scores) == 3
    multi = task in (TaskType.MULTICLASS, TaskType.ORDINAL)
    assert result.oof.shape == ((300, 3) if multi else (300,))
    assert result.test.shape == ((100, 3) if multi else (100,))
    assert np.isfinite(result.test).all()
    if multi:
        np.testing.assert_allclose(result.oof.sum(axis=1), 1.0, atol=1e-6)
    if task is TaskType.REGRESSION:
        assert result.cv_score < 0.6 * float(np.std(y))
    else:
        assert result.cv_score > GOOD[task]


@pytest.mark.parametrize("model", MODELS_UNDER_TEST)
def test_shuffled_target_scores_at_chance(model: str) -> None:
    """With the target shuffled, nothing fit inside the folds can beat chance out of fold."""
    train, test, y, spec = make_data(TaskType.BINARY, n=900)
    y = pd.Series(np.random.default_rng(1).permutation(y.to_numpy()))
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 4, seed=0)
    result = cross_validate(model, train, test, y, codec, folds, Deadline(120), params=FAST[model])
    assert result.complete
    assert 0.42 < result.cv_score < 0.58  # AUC of noise on 800 rows: sd ~0.02


def _work_done(model: ZooModel) -> int:
    """Rounds, trees or epochs the model trained (kNN has nothing to train: 1)."""
    if hasattr(model, "booster_"):
        return int(model.booster_.num_boosted_rounds())
    if hasattr(model, "forest_"):
        return len(model.forest_.estimators_)
    if hasattr(model, "net_"):
        return int(model.epochs_)
    if hasattr(model, "model_") and hasattr(model.model_, "tree_count_"):
        return int(model.model_.tree_count_)
    if hasattr(model, "model_"):
        return int(model.model_.n_iter_)
    return 1


@pytest.mark.parametrize("model", MODELS_UNDER_TEST)
def test_expired_deadline_stops_at_once_with_a_usable_model(model: str) -> None:
    train, test, y, spec = make_data(TaskType.MULTICLASS)
    codec = TargetCodec.for_task(spec, y)
    target = codec.encode(y)
    estimator = build(model, spec).fit(train.iloc[:200], target[:200], train.iloc[200:], target[200:], Deadline(0))
    pred = estimator.predict_model(test)
    assert pred.shape == (100, 3) and np.isfinite(pred).all()
    full = {"random_forest": 30, "extra_trees": 30, "hist_gb": 50}.get(model, 1)  # one chunk, round or epoch
    assert _work_done(estimator) <= full

    folds = make_folds(target, TaskType.MULTICLASS, 3, seed=0)
    result = cross_validate(model, train, test, y, codec, folds, Deadline(0), params=FAST[model])
    assert not result.complete and result.fold_scores == []


@pytest.mark.parametrize("model", MODELS_UNDER_TEST)
def test_estimator_contract(model: str) -> None:
    """clone/get_params/set_params round-trip, fit leaves parameters alone, a pickled model predicts the same."""
    train, test, y, spec = make_data(TaskType.BINARY)
    estimator = build(model, spec)
    before = estimator.get_params(deep=False)
    twin = clone(estimator)
    assert twin.get_params(deep=False) == before and twin is not estimator
    twin.set_params(seed=3)
    assert twin.seed == 3 and estimator.seed == 0
    target = TargetCodec.for_task(spec, y).encode(y)
    estimator.fit(train, target)
    assert estimator.get_params(deep=False) == before
    pred = estimator.predict_model(test)
    assert pred.shape == (100,) and ((pred >= 0) & (pred <= 1)).all()
    np.testing.assert_allclose(pickle.loads(pickle.dumps(estimator)).predict_model(test), pred)


@pytest.mark.parametrize("model", MODELS_UNDER_TEST)
def test_search_space_parameters_are_accepted(model: str) -> None:
    info = get_model(model)
    train, test, y, spec = make_data(TaskType.REGRESSION)
    target = TargetCodec.for_task(spec, y).encode(y)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(2):
        sampled = info.search_space(study.ask())
        assert sampled and set(sampled) <= set(info.defaults)
        estimator = build(model, spec, **sampled)
        pred = estimator.fit(train.iloc[:200], target[:200], train.iloc[200:], target[200:]).predict_model(test)
        assert pred.shape == (100,) and np.isfinite(pred).all()


@pytest.mark.parametrize("model", MODELS_UNDER_TEST)
def test_unseen_categories_and_a_missing_class_in_the_fold(model: str) -> None:
    """Test rows may hold categories the fold never saw; a fold may lack a class: k columns still come back."""
    train, test, y, spec = make_data(TaskType.MULTICLASS)
    target = TargetCodec.for_task(spec, y).encode(y)
    keep = target != 2
    test = test.assign(colour="violet")
    estimator = build(model, spec).fit(train[keep], target[keep])
    pred = estimator.predict_model(test)
    assert pred.shape == (100, 3) and np.isfinite(pred).all()
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-6)
