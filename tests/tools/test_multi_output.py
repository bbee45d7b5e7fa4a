"""Multi-label and multi-target regression end to end, and kappa-optimal ordinal cut points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskSpec, TaskType, infer_task
from agentk.competitions.grading import score_submission, validate_submission
from agentk.errors import TaskInferenceError
from agentk.tools import Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools.ensemble import choose_ensemble
from agentk.tools.target import missing_targets
from agentk.tools.zoo._multi import PerTargetModel

COLUMNS = {"a": Modality.NUMERIC, "b": Modality.NUMERIC, "colour": Modality.CATEGORICAL}
FAST = {"max_rounds": 200, "early_stopping": 20, "learning_rate": 0.1}


def _data(
    task: TaskType, n: int = 400, seed: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, TaskSpec, str]:
    """Three targets: one driven by ``a``, one by ``b``, one by the colour red; 300 train rows, 100 test."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["r", "g", "b"], size=n)
    frame = pd.DataFrame({"id": range(n), "a": a, "b": b, "colour": colour})
    signals = np.column_stack([a, b, (colour == "r") * 2.0 - 1.0]) + rng.normal(scale=0.3, size=(n, 3))
    if task is TaskType.MULTILABEL:
        values, metric = (signals > 0.4).astype(int), "auc_multilabel"
    else:
        values, metric = signals, "mcrmse"
    targets = pd.DataFrame(values, columns=["t0", "t1", "t2"])
    spec = TaskSpec(task, "id", ("t0", "t1", "t2"), ("t0", "t1", "t2"), (), dict(COLUMNS), metric, metric != "mcrmse")
    train, test = frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)
    return train, test, targets.iloc[:300].reset_index(drop=True), spec, metric


def test_codec_encodes_scores_and_writes_multilabel_submissions() -> None:
    _, test, y, spec, _ = _data(TaskType.MULTILABEL)
    codec = TargetCodec.for_task(spec, y)
    assert codec.is_multi_output and not codec.is_classification and codec.n_outputs == 3
    encoded = codec.encode(y)
    assert encoded.shape == (300, 3) and set(np.unique(encoded)) == {0, 1}
    assert codec.prediction_shape(5) == (5, 3)
    assert codec.score(y, encoded.astype(float)) == 1.0
    assert codec.score(y, np.full((300, 3), 0.5)) == 0.5
    frame = codec.submission_frame(test["id"], np.full((100, 3), 1.2))  # clipped into [0, 1]
    assert list(frame.columns) == ["id", "t0", "t1", "t2"] and frame[["t0", "t1", "t2"]].max().max() == 1.0
    sample = pd.DataFrame({"id": test["id"], "t0": 0.0, "t1": 0.0, "t2": 0.0})
    validate_submission(codec.submission_frame(test["id"], np.full(100, 0.3)), sample, codec.metric)


def test_codec_skips_constant_label_columns_for_auc() -> None:
    _, _, y, spec, _ = _data(TaskType.MULTILABEL)
    y = y.assign(t2=0)
    codec = TargetCodec.for_task(spec, y)
    pred = codec.encode(y).astype(float)
    assert codec.score(y, pred) == 1.0  # t2 has one class: no AUC, left out of the mean


def test_codec_refuses_what_it_cannot_do() -> None:
    _, _, y, spec, _ = _data(TaskType.MULTILABEL)
    with pytest.raises(TaskInferenceError, match="every target column"):
        TargetCodec.for_task(spec, y["t0"])
    with pytest.raises(TaskInferenceError, match="only 0 and 1"):
        TargetCodec.for_task(spec, y.assign(t1=2))
    wrong_metric = TaskSpec(**{**spec.__dict__, "metric": "accuracy"})
    with pytest.raises(TaskInferenceError, match="needs one that scores"):
        TargetCodec.for_task(wrong_metric, y)
    one_per_row = TaskSpec(**{**spec.__dict__, "metric": "mlogloss"})
    with pytest.raises(TaskInferenceError, match="column by column"):
        TargetCodec.for_task(one_per_row, y)
    # Any single-column metric works column by column: mean AUC, mean log loss, mean RMSE.
    mean_auc = TargetCodec.for_task(TaskSpec(**{**spec.__dict__, "metric": "auc"}), y)
    assert mean_auc.score(y, mean_auc.encode(y).astype(float)) == 1.0


def test_rows_missing_any_target_are_found() -> None:
    _, _, y, spec, _ = _data(TaskType.MULTI_REGRESSION)
    y.loc[3, "t1"] = np.nan
    y.loc[7, "t0"] = np.nan
    assert np.flatnonzero(missing_targets(y, spec)).tolist() == [3, 7]


def test_multi_target_log_metric_round_trips_through_log1p() -> None:
    _, _, y, spec, _ = _data(TaskType.MULTI_REGRESSION)
    y = np.exp(y)  # positive targets
    log_spec = TaskSpec(**{**spec.__dict__, "metric": "mcrmsle"})
    codec = TargetCodec.for_task(log_spec, y)
    assert codec.log_target
    encoded = codec.encode(y)
    np.testing.assert_allclose(codec.to_values(encoded), y.to_numpy())
    assert codec.score(y, encoded) == pytest.approx(0.0, abs=1e-12)


def test_multilabel_folds_stratify_on_the_rarest_label() -> None:
    rng = np.random.default_rng(0)
    y = np.column_stack([rng.integers(0, 2, 200), np.zeros(200, dtype=int), (rng.random(200) < 0.05).astype(int)])
    folds = make_folds(y, TaskType.MULTILABEL, 5, seed=0)
    assert sorted(np.concatenate([va for _, va in folds]).tolist()) == list(range(200))
    assert all(y[va, 2].sum() in (y[:, 2].sum() // 5, y[:, 2].sum() // 5 + 1) for _, va in folds)
    assert len(make_folds(rng.normal(size=(50, 2)), TaskType.MULTI_REGRESSION, 5, seed=0)) == 5


@pytest.mark.parametrize("model", ["lightgbm", "linear"])
@pytest.mark.parametrize("task", [TaskType.MULTILABEL, TaskType.MULTI_REGRESSION])
def test_models_learn_multi_output_tasks_one_target_at_a_time(model: str, task: TaskType) -> None:
    train, test, y, spec, _ = _data(task)
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), task, 3, seed=0)
    params = FAST if model == "lightgbm" else None
    result = cross_validate(model, train, test, y, codec, folds, Deadline(60), params=params, keep_models=True)
    assert result.complete and result.oof.shape == (300, 3) and result.test.shape == (100, 3)
    if task is TaskType.MULTILABEL:
        assert result.cv_score > 0.85
        assert ((result.oof >= 0) & (result.oof <= 1)).all()
    else:
        assert result.cv_score < 0.6 * float(y.std().mean())
    assert result.predictor is not None
    np.testing.assert_allclose(result.predictor.predict(test), result.test)


def test_shuffled_multilabel_target_scores_at_chance() -> None:
    """Rows' labels shuffled together: nothing fit inside the folds can beat chance out of fold."""
    train, test, y, spec, _ = _data(TaskType.MULTILABEL, n=900)
    y = y.iloc[np.random.default_rng(1).permutation(len(y))].reset_index(drop=True)
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), TaskType.MULTILABEL, 4, seed=0)
    result = cross_validate("lightgbm", train, test, y, codec, folds, Deadline(60), params=FAST)
    assert 0.44 < result.cv_score < 0.56


def test_per_target_model_predicts_a_label_constant_in_training() -> None:
    train, test, y, spec, _ = _data(TaskType.MULTILABEL)
    target = TargetCodec.for_task(spec, y).encode(y)
    target[:, 1] = 1
    model = PerTargetModel(columns=COLUMNS, task_type="multilabel", n_classes=3, params=FAST, model="lightgbm")
    pred = model.fit(train, target).predict_model(test)
    assert pred.shape == (100, 3) and model.models_[1] is None and (pred[:, 1] == 1.0).all()
    with pytest.raises(ValueError, match="multi-output"):
        PerTargetModel(task_type="binary").fit(train, target[:, 0])


@pytest.mark.parametrize("task", [TaskType.MULTILABEL, TaskType.MULTI_REGRESSION])
def test_ensembles_take_two_dimensional_oof_predictions(task: TaskType) -> None:
    train, test, y, spec, _ = _data(task)
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), task, 3, seed=0)
    pool = [
        cross_validate("lightgbm", train, test, y, codec, folds, Deadline(60), params=FAST, keep_models=True),
        cross_validate("linear", train, test, y, codec, folds, Deadline(60), keep_models=True),
    ]
    choice = choose_ensemble(pool, y, codec, folds)
    assert set(choice.nested) == {"single", "hill_climb", "stack"}
    assert choice.result.oof.shape == (300, 3) and choice.result.test.shape == (100, 3)
    assert np.isfinite(choice.result.test).all()
    best_single = max(r.cv_score for r in pool) if codec.metric.higher_is_better else min(r.cv_score for r in pool)
    assert not codec.metric.better(best_single, choice.nested[choice.method])


def _ordinal(n: int = 600, seed: int = 0) -> tuple[pd.Series, np.ndarray, TargetCodec]:
    """Ratings 1..4 with calibrated-but-blurred probabilities that argmax turns into too many middle ratings."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    ratings = np.digitize(latent, [-1.0, 0.0, 1.0]) + 1
    noisy = latent + rng.normal(scale=0.6, size=n)
    centres = np.array([-1.5, -0.5, 0.5, 1.5])
    logits = -((noisy[:, None] - centres[None, :]) ** 2) / 0.8
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    spec = TaskSpec(TaskType.ORDINAL, "id", ("y",), ("y",), (1, 2, 3, 4), {}, "qwk", True)
    y = pd.Series(ratings)
    return y, proba, TargetCodec.for_task(spec, y)


def test_ordinal_cut_points_beat_argmax_on_kappa() -> None:
    y, proba, codec = _ordinal()
    argmax_score = codec.score(y, proba)
    assert codec.tune_threshold(y, proba) == 0.5
    assert codec.cuts is not None and len(codec.cuts) == 3 and list(codec.cuts) == sorted(codec.cuts)
    assert codec.score(y, proba) > argmax_score
    # The cuts carry over to new rows: the same probabilities give the same labels.
    fresh, _, _ = _ordinal(seed=1)
    _, proba_new, _ = _ordinal(seed=1)
    labels = codec.values_for_metric(proba_new)
    assert set(labels) <= {1, 2, 3, 4} and len(labels) == len(fresh)


def test_ordinal_cut_points_are_dropped_when_argmax_is_better() -> None:
    y, _, codec = _ordinal()
    perfect = np.eye(4)[y.to_numpy() - 1]
    codec.tune_threshold(y, perfect)
    assert codec.cuts is None or codec.score(y, perfect) == 1.0


@pytest.mark.parametrize("task", [TaskType.MULTILABEL, TaskType.MULTI_REGRESSION])
def test_from_files_to_a_graded_submission(task: TaskType) -> None:
    """Inference, target selection, CV, ensemble, submission and grading agree on the multi-output format."""
    frame, test_frame, y_all, _, metric = _data(task, n=400)
    answers = pd.DataFrame({"id": test_frame["id"]})
    rng = np.random.default_rng(5)
    a, b = test_frame["a"].to_numpy(), test_frame["b"].to_numpy()
    red = (test_frame["colour"] == "r").to_numpy() * 2.0 - 1.0
    truth = np.column_stack([a, b, red]) + rng.normal(scale=0.3, size=(100, 3))
    answers[["t0", "t1", "t2"]] = (truth > 0.4).astype(int) if task is TaskType.MULTILABEL else truth
    train = frame.join(y_all)
    sample = pd.DataFrame({"id": test_frame["id"], "t0": 0, "t1": 0, "t2": 0})
    spec = infer_task(train, test_frame, sample, metric=metric, higher_is_better=metric != "mcrmse")
    assert spec.task_type is task and spec.columns["colour"] is Modality.CATEGORICAL
    y = train[spec.target_key]
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), spec.task_type, 3, seed=0)
    pool = [cross_validate(m, train, test_frame, y, codec, folds, Deadline(60)) for m in ("lightgbm", "linear")]
    chosen = choose_ensemble(pool, y, codec, folds).result
    codec.tune_threshold(y, chosen.oof)
    submission = validate_submission(codec.submission_frame(test_frame["id"], chosen.test), sample, codec.metric)
    score = score_submission(submission, answers, codec.metric)
    if task is TaskType.MULTILABEL:
        assert score > 0.85
    else:
        assert score < 0.6 * float(answers[["t0", "t1", "t2"]].std().mean())
