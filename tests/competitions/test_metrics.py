"""The metric registry: every metric against scikit-learn or a hand-computed value, validation, lookup."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from agentk.competitions.metrics import (
    LOGLOSS_EPS,
    Metric,
    get_metric,
    list_metrics,
    parse_metric_spec,
)
from agentk.errors import SubmissionError, UnknownMetricError, UserInputError

CANONICAL = [
    "accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_micro", "auc", "auc_ovr", "auc_multilabel",
    "logloss", "mlogloss", "rmse", "rmsle", "rmse_log", "mae", "r2", "mcrmsle", "qwk", "mcc", "jaccard",
    "mcrmse", "logloss_multilabel",
]  # fmt: skip
LOWER_IS_BETTER = {
    "logloss", "mlogloss", "rmse", "rmsle", "rmse_log", "mae", "mcrmsle", "mse", "mcrmse", "logloss_multilabel",
}  # fmt: skip

rng = np.random.default_rng(0)
N = 60
BIN_TRUE = rng.integers(0, 2, N)
BIN_PRED = np.where(rng.random(N) < 0.7, BIN_TRUE, 1 - BIN_TRUE)
BIN_PROBA = np.clip(0.6 * BIN_TRUE + 0.5 * rng.random(N) - 0.05, 0, 1)
MC_TRUE = rng.integers(0, 4, N)
MC_PRED = np.where(rng.random(N) < 0.6, MC_TRUE, rng.integers(0, 4, N))
MC_PROBA = rng.dirichlet(np.ones(4), N)
MC_PROBA[np.arange(N), MC_TRUE] += 0.5
MC_PROBA /= MC_PROBA.sum(axis=1, keepdims=True)
REG_TRUE = rng.gamma(2.0, 10.0, N)
REG_PRED = REG_TRUE * rng.lognormal(0, 0.3, N)


def test_registry_holds_the_canonical_names_with_their_directions() -> None:
    names = {m.name for m in list_metrics()}
    assert set(CANONICAL) <= names
    for metric in list_metrics():
        assert metric.higher_is_better == (metric.name not in LOWER_IS_BETTER), metric.name
        assert get_metric(metric.name) is metric
        assert metric.description


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "expected"),
    [
        ("accuracy", MC_TRUE, MC_PRED, skm.accuracy_score(MC_TRUE, MC_PRED)),
        ("balanced_accuracy", MC_TRUE, MC_PRED, skm.balanced_accuracy_score(MC_TRUE, MC_PRED)),
        ("f1", BIN_TRUE, BIN_PRED, skm.f1_score(BIN_TRUE, BIN_PRED)),
        ("f1_macro", MC_TRUE, MC_PRED, skm.f1_score(MC_TRUE, MC_PRED, average="macro")),
        ("f1_micro", MC_TRUE, MC_PRED, skm.f1_score(MC_TRUE, MC_PRED, average="micro")),
        ("mcc", BIN_TRUE, BIN_PRED, skm.matthews_corrcoef(BIN_TRUE, BIN_PRED)),
        ("mcc", MC_TRUE, MC_PRED, skm.matthews_corrcoef(MC_TRUE, MC_PRED)),
        ("qwk", MC_TRUE, MC_PRED, skm.cohen_kappa_score(MC_TRUE, MC_PRED, weights="quadratic")),
        ("auc", BIN_TRUE, BIN_PROBA, skm.roc_auc_score(BIN_TRUE, BIN_PROBA)),
        ("auc_ovr", MC_TRUE, MC_PROBA, skm.roc_auc_score(MC_TRUE, MC_PROBA, multi_class="ovr")),
        ("logloss", BIN_TRUE, BIN_PROBA, skm.log_loss(BIN_TRUE, BIN_PROBA)),
        ("mlogloss", MC_TRUE, MC_PROBA, skm.log_loss(MC_TRUE, MC_PROBA)),
        ("rmse", REG_TRUE, REG_PRED, skm.root_mean_squared_error(REG_TRUE, REG_PRED)),
        ("mse", REG_TRUE, REG_PRED, skm.mean_squared_error(REG_TRUE, REG_PRED)),
        ("rmsle", REG_TRUE, REG_PRED, skm.root_mean_squared_log_error(REG_TRUE, REG_PRED)),
        ("rmse_log", REG_TRUE, REG_PRED, skm.root_mean_squared_error(np.log(REG_TRUE), np.log(REG_PRED))),
        ("mae", REG_TRUE, REG_PRED, skm.mean_absolute_error(REG_TRUE, REG_PRED)),
        ("r2", REG_TRUE, REG_PRED, skm.r2_score(REG_TRUE, REG_PRED)),
    ],
)
def test_metric_matches_scikit_learn(name: str, y_true: object, y_pred: object, expected: float) -> None:
    score = get_metric(name)(y_true, y_pred)  # type: ignore[arg-type]
    assert isinstance(score, float)
    assert score == pytest.approx(float(expected), rel=1e-9, abs=1e-12)


def test_hand_computed_values() -> None:
    # accuracy 3/4; f1: tp=2, fp=1, fn=0 -> 4/5; rmse of (1, 2) errors -> sqrt(2.5)
    assert get_metric("accuracy")([1, 0, 1, 1], [1, 1, 1, 1]) == pytest.approx(0.75)
    assert get_metric("f1")([1, 0, 1, 0], [1, 1, 1, 0]) == pytest.approx(0.8)
    assert get_metric("rmse")([0.0, 0.0], [1.0, 2.0]) == pytest.approx(math.sqrt(2.5))
    assert get_metric("mae")([0.0, 0.0], [1.0, -2.0]) == pytest.approx(1.5)
    # rmsle: log1p(e - 1) - log1p(0) = 1 on one of two rows -> sqrt(1/2)
    assert get_metric("rmsle")([0.0, 3.0], [math.e - 1, 3.0]) == pytest.approx(math.sqrt(0.5))
    assert get_metric("rmse_log")([1.0, 10.0], [math.e, 10.0]) == pytest.approx(math.sqrt(0.5))
    # binary logloss of p=0.8 on a positive and p=0.4 on a negative
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert get_metric("logloss")([1, 0], [0.8, 0.4]) == pytest.approx(expected)


def test_f1_positive_class_is_one_true_or_the_larger_label() -> None:
    f1 = get_metric("f1")
    assert f1([True, False, True], [True, True, False]) == pytest.approx(0.5)
    assert f1(["no", "yes", "yes"], ["yes", "yes", "no"]) == pytest.approx(0.5)  # "yes" > "no"
    assert f1([0, 0, 0], [0, 0, 0]) == 0.0  # no positives at all: F1 is 0, as scikit-learn says
    with pytest.raises(SubmissionError, match="binary"):
        f1([0, 1, 2], [0, 1, 2])


def test_labels_of_any_dtype_compare_by_value() -> None:
    acc = get_metric("accuracy")
    assert acc(np.array(["a", "b", "c"]), np.array(["a", "b", "x"], dtype=object)) == pytest.approx(2 / 3)
    assert acc([1, 2, 3], [1.0, 2.0, 4.0]) == pytest.approx(2 / 3)
    with pytest.raises(SubmissionError, match="text"):
        acc(["1", "2"], [1, 2])
    with pytest.raises(SubmissionError, match="missing"):
        acc(np.array(["a", None], dtype=object), ["a", "b"])


def test_balanced_accuracy_ignores_predicted_classes_absent_from_truth() -> None:
    # recalls: class 0 -> 1/2, class 1 -> 1/1; class 2 only predicted
    assert get_metric("balanced_accuracy")([0, 0, 1], [0, 2, 1]) == pytest.approx(0.75)


def test_qwk_weights_by_rating_distance_like_kaggle() -> None:
    t, p = [1, 3, 3, 5, 5, 1], [1, 3, 5, 5, 3, 3]  # rating 2 and 4 never occur
    expected = skm.cohen_kappa_score(t, p, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert get_metric("qwk")(t, p) == pytest.approx(expected)
    assert get_metric("qwk")([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)
    with pytest.raises(SubmissionError, match="integer"):
        get_metric("qwk")([0, 1, 2], [0.5, 1, 2])
    with pytest.raises(SubmissionError, match="undefined"):
        get_metric("qwk")([2, 2], [2, 2])


def test_mcc_is_zero_where_undefined() -> None:
    assert get_metric("mcc")([1, 1, 1], [1, 1, 1]) == 0.0


def test_auc_multilabel_is_mean_columnwise_auc() -> None:
    truth = (rng.random((N, 3)) < 0.4).astype(int)
    scores = np.clip(truth * 0.3 + rng.random((N, 3)) * 0.7, 0, 1)
    expected = np.mean([skm.roc_auc_score(truth[:, j], scores[:, j]) for j in range(3)])
    assert get_metric("auc_multilabel")(truth, scores) == pytest.approx(expected)
    assert get_metric("auc_multilabel")(truth, scores) == pytest.approx(skm.roc_auc_score(truth, scores))


def test_multiclass_truth_as_one_hot_or_text_labels() -> None:
    one_hot = np.eye(4)[MC_TRUE]
    names = np.array(["ant", "bee", "cat", "dog"])[MC_TRUE]
    for name in ("mlogloss", "auc_ovr"):
        metric = get_metric(name)
        assert metric(one_hot, MC_PROBA) == pytest.approx(metric(MC_TRUE, MC_PROBA))
        assert metric(names, MC_PROBA) == pytest.approx(metric(MC_TRUE, MC_PROBA))
    with pytest.raises(SubmissionError, match="distinct labels"):
        get_metric("mlogloss")(["a", "b", "a"], MC_PROBA[:3])


def test_mlogloss_clips_and_renormalises_rows_like_kaggle() -> None:
    proba = np.array([[0.0, 1.0, 1.0], [0.5, 0.5, 0.0]])  # rows sum to 2 and 1; zeros get clipped
    clipped = np.clip(proba, LOGLOSS_EPS, 1 - LOGLOSS_EPS)
    normed = clipped / clipped.sum(axis=1, keepdims=True)
    expected = -(math.log(normed[0, 1]) + math.log(normed[1, 2])) / 2
    assert get_metric("mlogloss")([1, 2], proba) == pytest.approx(expected)
    assert get_metric("mlogloss")([1, 2], proba) == pytest.approx(-(math.log(0.5) + math.log(1e-15)) / 2)


def test_logloss_accepts_multiclass_columns_since_kaggle_says_log_loss_for_both() -> None:
    assert get_metric("logloss")(MC_TRUE, MC_PROBA) == pytest.approx(get_metric("mlogloss")(MC_TRUE, MC_PROBA))


def test_mcrmsle_is_mean_of_columnwise_rmsle() -> None:
    t = rng.gamma(2.0, 3.0, (N, 3))
    p = t * rng.lognormal(0, 0.2, (N, 3))
    expected = np.mean([skm.root_mean_squared_log_error(t[:, j], p[:, j]) for j in range(3)])
    assert get_metric("mcrmsle")(t, p) == pytest.approx(expected)


def test_mcrmse_is_mean_of_columnwise_rmse() -> None:
    t = rng.normal(size=(N, 3))
    p = t + rng.normal(scale=[0.1, 0.5, 1.0], size=(N, 3))
    expected = np.mean([skm.root_mean_squared_error(t[:, j], p[:, j]) for j in range(3)])
    assert get_metric("mcrmse")(t, p) == pytest.approx(expected)
    assert get_metric("Mean Columnwise Root Mean Squared Error") is get_metric("mcrmse")
    with pytest.raises(SubmissionError, match="shape"):
        get_metric("mcrmse")(t, p[:, :2])


def test_logloss_multilabel_is_mean_columnwise_binary_logloss() -> None:
    truth = rng.integers(0, 2, (N, 4))
    proba = np.clip(0.7 * truth + 0.3 * rng.random((N, 4)), 0, 1)
    proba[0, 0] = 0.0  # clipped at 1e-15 like Kaggle, not infinite
    expected = np.mean([skm.log_loss(truth[:, j], np.clip(proba[:, j], 1e-15, 1 - 1e-15)) for j in range(4)])
    assert get_metric("logloss_multilabel")(truth, proba) == pytest.approx(expected)
    assert get_metric("multilabel log loss") is get_metric("logloss_multilabel")
    with pytest.raises(SubmissionError, match="probabilities"):
        get_metric("logloss_multilabel")(truth, proba + 1.0)


def test_map_at_k_hand_computed() -> None:
    m = get_metric("map@3")
    assert m.name == "map@3" and m.input == "ranking" and m.higher_is_better
    # row 1: hit at rank 2 -> 1/2; row 2: hits at 1 and 3 of 2 answers -> (1 + 2/3) / 2; row 3: none
    score = m(["a", "x y", "q"], ["b a c", "x b y", "r s t"])
    assert score == pytest.approx((0.5 + (1 + 2 / 3) / 2 + 0) / 3)
    assert m(["a"], ["b c d a"]) == 0.0  # beyond k
    assert m(["a"], ["a a a"]) == 1.0  # repeated predictions do not count twice
    assert get_metric("map@1")([1, 2], [1, 3]) == pytest.approx(0.5)  # numeric ids are text too


def test_jaccard_word_level_like_tweet_sentiment() -> None:
    j = get_metric("jaccard")
    # {"hello","world"} vs {"hello","there","world!"} -> 1/4; identical ignoring case -> 1
    assert j(["Hello world", "Good DAY"], ["hello there world!", "good day"]) == pytest.approx((0.25 + 1) / 2)
    assert j([""], [""]) == 1.0
    assert j(["a"], [""]) == 0.0


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "message"),
    [
        ("rmse", [1.0, 2.0], [1.0], "rows"),
        ("rmse", [1.0, 2.0], [1.0, float("nan")], "NaN"),
        ("rmse", [1.0, 2.0], ["a", "b"], "numeric"),
        ("rmse", [], [], "empty"),
        ("rmsle", [1.0, 2.0], [1.0, -0.5], "non-negative"),
        ("rmsle", [-1.0, 2.0], [1.0, 0.5], "non-negative"),
        ("rmse_log", [1.0, 2.0], [0.0, 1.0], "positive"),
        ("auc", [0, 1], [0.5, 1.5], r"\[0, 1\]"),
        ("auc", [1, 1], [0.5, 0.7], "one class"),
        ("logloss", [0, 1], [-0.1, 0.5], r"\[0, 1\]"),
        ("mlogloss", [0, 1], [[0.5, 0.5], [1.2, -0.2]], r"\[0, 1\]"),
        ("mlogloss", [0, 1, 1], [[0.5, 0.5], [0.2, 0.8]], "rows"),
        ("mlogloss", [[1, 1], [0, 1]], [[0.5, 0.5], [0.2, 0.8]], "exactly one"),
        ("accuracy", [1, 2], [1, 2, 3], "rows"),
        ("auc_multilabel", [[1, 0], [1, 1]], [[0.5, 0.5], [0.2, 0.8]], "one class"),
        ("mcrmsle", [[1.0, 2.0]], [[1.0, 2.0, 3.0]], "shape"),
        ("jaccard", ["a", "b"], np.array(["a", None], dtype=object), "missing"),
        ("r2", [1.0], [1.0], "two rows"),
    ],
)
def test_unscorable_inputs_raise_submission_error(name: str, y_true: object, y_pred: object, message: str) -> None:
    with pytest.raises(SubmissionError, match=message):
        get_metric(name)(y_true, y_pred)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kaggle_name", "canonical"),
    [
        ("Categorization Accuracy", "accuracy"),
        ("AUC", "auc"),
        ("Area Under Receiver Operating Characteristic Curve", "auc"),
        ("RMSE", "rmse"),
        ("Root Mean Squared Error", "rmse"),
        ("Root Mean Squared Logarithmic Error", "rmsle"),
        ("RMSLE", "rmsle"),
        ("Mean Absolute Error", "mae"),
        ("MAE", "mae"),
        ("LogLoss", "logloss"),
        ("Log Loss", "logloss"),
        ("Multi Class Log Loss", "mlogloss"),
        ("MulticlassLoss", "mlogloss"),
        ("Mean F-Score", "f1"),
        ("F1", "f1"),
        ("MeanFScore", "f1"),
        ("Quadratic Weighted Kappa", "qwk"),
        ("QuadraticWeightedKappa", "qwk"),
        ("Jaccard", "jaccard"),
        ("Matthews Correlation Coefficient", "mcc"),
        ("R2", "r2"),
        ("Mean Columnwise Root Mean Squared Logarithmic Error", "mcrmsle"),
        ("mean column-wise ROC AUC", "auc_multilabel"),
        ("balanced-accuracy", "balanced_accuracy"),
        ("F1 Macro", "f1_macro"),
        ("RMSE_LOG", "rmse_log"),
    ],
)
def test_kaggle_names_resolve(kaggle_name: str, canonical: str) -> None:
    assert get_metric(kaggle_name).name == canonical


@pytest.mark.parametrize("spelling", ["map@5", "MAP@5", "map_at_5", "MAP@{5}", "Mean Average Precision @ 5"])
def test_map_spellings_carry_k(spelling: str) -> None:
    metric = get_metric(spelling)
    assert metric.name == "map@5"
    assert metric == get_metric("map@5")


@pytest.mark.parametrize("name", ["MAP@{K}", "Mean Average Precision @ K", "map@0"])
def test_map_without_k_is_refused(name: str) -> None:
    with pytest.raises(UnknownMetricError, match="map@5") as info:
        get_metric(name)
    assert info.value.hint is not None and "--metric" in info.value.hint


def test_unknown_metric_lists_known_names_and_the_override() -> None:
    with pytest.raises(UnknownMetricError) as info:
        get_metric("Weighted Mean Banana Error")
    text = str(info.value)
    assert "rmse" in text and "qwk" in text and "map@K" in text
    assert "competition.yaml" in text and "--metric NAME" in text


def test_better_and_worst_follow_the_direction() -> None:
    auc, rmse = get_metric("auc"), get_metric("rmse")
    assert auc.better(0.9, 0.8) and not auc.better(0.8, 0.8) and not auc.better(0.7, 0.8)
    assert rmse.better(0.1, 0.2) and not rmse.better(0.2, 0.2)
    assert auc.worst == -math.inf and rmse.worst == math.inf
    assert auc.better(0.0, auc.worst) and rmse.better(1e300, rmse.worst)
    assert not auc.better(float("nan"), 0.5)


@pytest.mark.parametrize(
    ("text", "name", "higher"),
    [
        ("auc higher  (ROC AUC of ACTION probability)", "auc", True),
        (
            "rmse_log lower  (RMSE between log(predicted SalePrice) and log(true SalePrice))",
            "rmse_log",
            False,
        ),
        ("accuracy higher\n", "accuracy", True),
        ("f1 higher  (binary F1 of target=1)", "f1", True),
        ("rmse", "rmse", False),
        ("Root Mean Squared Error LOWER", "rmse", False),
        ("map@5 higher (top five)", "map@5", True),
    ],
)
def test_parse_metric_spec(text: str, name: str, higher: bool) -> None:
    metric, higher_is_better = parse_metric_spec(text)
    assert (metric.name, higher_is_better) == (name, higher)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("rmse higher", UserInputError),
        ("auc lower  (nonsense)", UserInputError),
        ("", UserInputError),
        ("higher", UserInputError),
        ("banana lower", UnknownMetricError),
    ],
)
def test_parse_metric_spec_refuses(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_metric_spec(text)


def test_shared_competitions_metric_files_parse(shared_dir: Path) -> None:
    files = sorted((shared_dir / "competitions").glob("*/metric.txt"))
    assert files
    for path in files:
        metric, _ = parse_metric_spec(path.read_text())
        assert isinstance(metric, Metric)


# --- properties ------------------------------------------------------------------------------------------

_probs = st.floats(0.0, 1.0, allow_nan=False)
_values = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _probs), min_size=1, max_size=30))
def test_logloss_is_finite_and_non_negative_for_any_probabilities(rows: list[tuple[bool, float]]) -> None:
    truth, proba = zip(*rows, strict=True)
    score = get_metric("logloss")(np.array(truth), np.array(proba))
    # 1 - 1e-15 rounds to 1 - 1.11e-15 in binary floating point, hence the slack on the bound
    assert 0.0 <= score <= -math.log(LOGLOSS_EPS) + 0.01


def _multiclass_rows(k: int) -> st.SearchStrategy[list[tuple[int, list[float]]]]:
    row = st.tuples(st.integers(0, k - 1), st.lists(_probs, min_size=k, max_size=k))
    return st.lists(row, min_size=1, max_size=20)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5).flatmap(_multiclass_rows))
def test_mlogloss_is_finite_for_any_rows(rows: list[tuple[int, list[float]]]) -> None:
    truth = np.array([r[0] for r in rows])
    proba = np.array([r[1] for r in rows])
    score = get_metric("mlogloss")(np.eye(proba.shape[1])[truth], proba)
    assert math.isfinite(score) and score >= 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_values, _values), min_size=1, max_size=30))
def test_rmse_is_non_negative_symmetric_and_zero_on_itself(rows: list[tuple[float, float]]) -> None:
    t, p = (np.array(c) for c in zip(*rows, strict=True))
    rmse = get_metric("rmse")
    assert rmse(t, p) >= 0.0
    assert rmse(t, p) == pytest.approx(rmse(p, t))
    assert rmse(t, t) == 0.0
    assert rmse(t, p) >= get_metric("mae")(t, p) - 1e-6 * (1 + rmse(t, p))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=30))
def test_qwk_and_mcc_are_bounded(rows: list[tuple[int, int]]) -> None:
    t, p = (np.array(c) for c in zip(*rows, strict=True))
    if len(set(t) | set(p)) > 1:
        assert -1.0 - 1e-9 <= get_metric("qwk")(t, p) <= 1.0 + 1e-9
    assert -1.0 - 1e-9 <= get_metric("mcc")(t, p) <= 1.0 + 1e-9


_words = st.lists(st.sampled_from(["a", "B", "c", "dd", "E"]), max_size=5).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_words, _words), min_size=1, max_size=10), st.integers(1, 5))
def test_jaccard_and_map_are_in_unit_interval(rows: list[tuple[str, str]], k: int) -> None:
    t, p = (list(c) for c in zip(*rows, strict=True))
    assert 0.0 <= get_metric("jaccard")(t, p) <= 1.0
    assert get_metric("jaccard")(t, t) == 1.0
    assert 0.0 <= get_metric(f"map@{k}")(t, p) <= 1.0


def test_pandas_inputs_and_missing_values() -> None:
    probs = pd.DataFrame({"x": [0.2, 0.7], "y": [0.8, 0.3]})
    expected = -(math.log(0.8) + math.log(0.7)) / 2
    assert get_metric("mlogloss")(pd.Series(["y", "x"]), probs) == pytest.approx(expected)
    assert get_metric("accuracy")(pd.Series(["a", "b"]), pd.Series(["a", "a"])) == 0.5
    with pytest.raises(SubmissionError, match="NaN"):
        get_metric("rmse")(pd.Series([1, None], dtype="Int64"), pd.Series([1.0, 2.0]))
    with pytest.raises(SubmissionError, match="missing"):
        get_metric("accuracy")(pd.Series(["a", None]), pd.Series(["a", "b"]))


def test_inputs_are_not_mutated() -> None:
    proba = np.array([[0.0, 1.0], [0.6, 0.6]])
    before = proba.copy()
    get_metric("mlogloss")([1, 0], proba)
    np.testing.assert_array_equal(proba, before)
