"""The scoring functions behind the registry: ``f(y_true, y_pred) -> float``, validating their inputs."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from sklearn.metrics import f1_score, r2_score, roc_auc_score

from agentk.competitions._metrics._inputs import (
    FloatArray,
    binary_truth,
    encode,
    floats,
    label_pair,
    multi_pair,
    one_d,
    positive_label,
    probabilities,
    same_length,
    string_pair,
    two_d,
    value_pair,
)
from agentk.errors import SubmissionError

LOGLOSS_EPS = 1e-15
"""Kaggle clips probabilities to ``[eps, 1 - eps]`` before taking logs."""


# ---------------------------------------------------------------------------------------------------------
# label metrics


def accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = label_pair(y_true, y_pred)
    return float(np.mean(t == p))


def balanced_accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    # Mean recall over the classes present in y_true (scikit-learn's definition, without its warning
    # about predicted classes that never occur in y_true).
    t, p = label_pair(y_true, y_pred)
    return float(np.mean([np.mean(p[t == c] == c) for c in np.unique(t)]))


def f1_binary(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = label_pair(y_true, y_pred)
    pos = positive_label(np.unique(np.concatenate([t, p])), "f1")
    tp = float(np.sum((t == pos) & (p == pos)))
    wrong = float(np.sum(t != p))  # every mistake is a false positive or a false negative
    return 2 * tp / (2 * tp + wrong) if tp + wrong > 0 else 0.0


def f1_average(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, average: str) -> float:
    _, t, p = encode(*label_pair(y_true, y_pred))
    return float(f1_score(t, p, average=average, zero_division=0.0))


def _confusion(t: npt.NDArray[np.intp], p: npt.NDArray[np.intp], k: int) -> FloatArray:
    cm = np.zeros((k, k))
    np.add.at(cm, (t, p), 1.0)
    return cm


def mcc(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    # Multiclass Matthews correlation (Gorodkin's R_K); 0.0 where it is undefined, as scikit-learn does.
    classes, t, p = encode(*label_pair(y_true, y_pred))
    cm = _confusion(t, p, len(classes))
    n, correct = cm.sum(), np.trace(cm)
    true_k, pred_k = cm.sum(axis=1), cm.sum(axis=0)
    cov_tp = correct * n - true_k @ pred_k
    denom = math.sqrt((n * n - pred_k @ pred_k) * (n * n - true_k @ true_k))
    return float(cov_tp / denom) if denom > 0 else 0.0


def qwk(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    # Kaggle's quadratic weighted kappa: integer ratings, weights by rating difference over [min, max].
    t, p = label_pair(y_true, y_pred)
    if t.dtype == object:
        raise SubmissionError("qwk needs integer ratings, got text labels")
    both = np.concatenate([t, p])
    if not (both == np.round(both)).all():
        raise SubmissionError("qwk needs integer ratings; round the predictions first")
    lo, hi = int(both.min()), int(both.max())
    k = hi - lo + 1
    observed = _confusion((t - lo).astype(np.intp), (p - lo).astype(np.intp), k)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2.0
    disagreement = float((weights * expected).sum())
    if disagreement == 0:
        raise SubmissionError(f"qwk is undefined when every rating in y_true and y_pred is {lo}")
    return 1.0 - float((weights * observed).sum()) / disagreement


# ---------------------------------------------------------------------------------------------------------
# probability metrics


def _binary_auc(truth: FloatArray, score: FloatArray, what: str) -> float:
    if truth.min() == truth.max():
        raise SubmissionError(f"ROC AUC is undefined: {what} holds only one class")
    return float(roc_auc_score(truth, score))


def auc(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    truth = binary_truth(y_true, "auc")
    score = probabilities(floats(one_d(y_pred, "y_pred"), "y_pred"), "y_pred")
    same_length(truth, score)
    return _binary_auc(truth, score, "y_true")


def auc_columns(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, one_per_row: bool) -> float:
    truth, p = multi_pair(y_true, y_pred, one_per_row=one_per_row)
    return float(np.mean([_binary_auc(truth[:, j], p[:, j], f"column {j} of y_true") for j in range(p.shape[1])]))


def logloss(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    if np.ndim(y_pred) == 2 and np.shape(y_pred)[1] > 1:
        return mlogloss(y_true, y_pred)  # Kaggle calls both "Log Loss"
    truth = binary_truth(y_true, "logloss")
    p = probabilities(floats(one_d(y_pred, "y_pred"), "y_pred"), "y_pred")
    same_length(truth, p)
    p = np.clip(p, LOGLOSS_EPS, 1 - LOGLOSS_EPS)
    return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log1p(-p)))


def mlogloss(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    truth, p = multi_pair(y_true, y_pred, one_per_row=True)
    p = np.clip(p, LOGLOSS_EPS, 1 - LOGLOSS_EPS)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.sum(truth * np.log(p), axis=1)))


# ---------------------------------------------------------------------------------------------------------
# value metrics


def rmse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = value_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = value_pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mae(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = value_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = value_pair(y_true, y_pred)
    if len(t) < 2:
        raise SubmissionError("r2 needs at least two rows")
    return float(r2_score(t, p))


def _non_negative(arr: FloatArray, role: str, metric: str, *, strict: bool) -> None:
    bad = arr <= 0 if strict else arr < 0
    if bad.any():
        need = "positive" if strict else "non-negative"
        raise SubmissionError(
            f"{metric} needs {need} values; {role} has {int(bad.sum())} values that are not (smallest {arr.min():g})"
        )


def rmsle(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = value_pair(y_true, y_pred)
    _non_negative(t, "y_true", "rmsle", strict=False)
    _non_negative(p, "y_pred", "rmsle", strict=False)
    return float(np.sqrt(np.mean((np.log1p(p) - np.log1p(t)) ** 2)))


def rmse_log(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = value_pair(y_true, y_pred)
    _non_negative(t, "y_true", "rmse_log", strict=True)
    _non_negative(p, "y_pred", "rmse_log", strict=True)
    return float(np.sqrt(np.mean((np.log(p) - np.log(t)) ** 2)))


def _same_shape_2d(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    t, p = two_d(y_true, "y_true"), two_d(y_pred, "y_pred")
    if t.shape != p.shape:
        raise SubmissionError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    return t, p


def mcrmsle(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    t, p = _same_shape_2d(y_true, y_pred)
    return float(np.mean([rmsle(t[:, j], p[:, j]) for j in range(t.shape[1])]))


def mcrmse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    # Mean column-wise RMSE (CommonLit, Feedback Prize ELL): each target's RMSE, then their mean.
    t, p = _same_shape_2d(y_true, y_pred)
    return float(np.mean([rmse(t[:, j], p[:, j]) for j in range(t.shape[1])]))


def logloss_columns(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    # Mean column-wise binary log loss of a multi-label problem (e.g. MoA): each label's log loss, then
    # their mean. Unlike mlogloss, rows need not sum to one.
    truth, p = multi_pair(y_true, y_pred, one_per_row=False)
    p = np.clip(p, LOGLOSS_EPS, 1 - LOGLOSS_EPS)
    return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log1p(-p)))


# ---------------------------------------------------------------------------------------------------------
# ranking and text metrics


def _average_precision_at_k(actual: set[str], predicted: list[str], k: int) -> float:
    if not actual:
        return 0.0
    hits, total = 0, 0.0
    for i, label in enumerate(predicted[:k]):
        if label in actual and label not in predicted[:i]:
            hits += 1
            total += hits / (i + 1)
    return total / min(len(actual), k)


def map_at_k(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, k: int) -> float:
    t, p = string_pair(y_true, y_pred)
    return float(np.mean([_average_precision_at_k(set(a.split()), b.split(), k) for a, b in zip(t, p, strict=True)]))


def jaccard(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    # Kaggle tweet-sentiment-extraction: lower-cased whitespace tokens as sets. Two empty strings are
    # identical, so they score 1 (Kaggle's reference code divides by zero there).
    t, p = string_pair(y_true, y_pred)
    scores = []
    for a, b in zip(t, p, strict=True):
        sa, sb = set(a.lower().split()), set(b.lower().split())
        union = len(sa | sb)
        scores.append(len(sa & sb) / union if union else 1.0)
    return float(np.mean(scores))
