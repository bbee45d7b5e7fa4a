"""Soft targets: temperature-scaled teacher probabilities mixed with the true labels.

Students are fit on *weighted hard rows*: a row with soft target ``q`` over ``k`` classes becomes ``k`` rows,
one per class ``j`` with weight ``q_j``. The weighted log-loss of those rows is exactly the cross-entropy
against ``q`` (its gradient is ``p - q``), so every scikit-learn classifier that takes ``sample_weight``
(LightGBM, logistic regression, the MLP) learns from soft targets, and exports to ONNX like any classifier.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-6
_MIN_WEIGHT = 1e-3  # expanded rows lighter than this are dropped (they barely move the loss)


def as_proba(pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Model-space classification output -> ``(n, k)`` probabilities (binary P(1) becomes two columns)."""
    pred = np.asarray(pred, dtype=float)
    if pred.ndim == 1:
        return np.column_stack([1.0 - pred, pred])
    if pred.shape[1] != n_classes:
        raise ValueError(f"expected {n_classes} probability columns, got {pred.shape[1]}")
    return pred


def from_proba(proba: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, k)`` probabilities -> model space (binary: P(1) as ``(n,)``)."""
    return np.asarray(proba[:, 1] if n_classes == 2 else proba, dtype=float)


def soften(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of probabilities: ``softmax(log p / T)``; ``T > 1`` flattens, ``T = 1`` keeps."""
    if temperature == 1.0:
        return proba
    logits = np.log(np.clip(proba, _EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=float)


def soft_targets(
    y_codes: np.ndarray, teacher_proba: np.ndarray | None, *, alpha: float, temperature: float, n_classes: int
) -> np.ndarray:
    """``alpha * onehot(y) + (1 - alpha) * soften(teacher, T)``; rows where the teacher is NaN keep the label.

    Args:
        y_codes: class indices, or -1 for rows with no label (synthetic rows: the teacher alone).
        teacher_proba: ``(n, k)`` teacher probabilities (out-of-fold on training rows), or None.
        alpha: weight of the true label (1 = labels only).
        temperature: the teacher's temperature.
        n_classes: ``k``.
    """
    n = len(y_codes)
    labelled = y_codes >= 0
    onehot = np.zeros((n, n_classes))
    onehot[np.flatnonzero(labelled), y_codes[labelled]] = 1.0
    if teacher_proba is None:
        return onehot
    teacher = soften(teacher_proba, temperature)
    missing = np.isnan(teacher).any(axis=1)
    teacher[missing] = onehot[missing]
    weight = np.where(labelled, alpha, 0.0)[:, None]
    return np.asarray(weight * onehot + (1.0 - weight) * teacher, dtype=float)


def mixed_regression(y: np.ndarray, teacher: np.ndarray | None, *, alpha: float) -> np.ndarray:
    """``alpha * y + (1 - alpha) * teacher`` in model space; NaN labels (synthetic rows) take the teacher."""
    if teacher is None:
        return np.asarray(y, dtype=float)
    y = np.asarray(y, dtype=float)
    teacher = np.where(np.isnan(teacher), y, teacher)
    return np.asarray(np.where(np.isnan(y), teacher, alpha * y + (1 - alpha) * teacher), dtype=float)


def expand(x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft targets ``q`` ``(n, k)`` -> weighted hard rows ``(X', y', w')`` (see the module docstring)."""
    rows, classes = np.nonzero(q > _MIN_WEIGHT)
    return x[rows], classes, q[rows, classes]
