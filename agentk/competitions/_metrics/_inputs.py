"""Input validation shared by the metrics: shapes, lengths, NaN, label kinds, probability ranges.

Every function here raises :class:`~agentk.errors.SubmissionError` with a message a user can act on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from agentk.errors import SubmissionError

FloatArray = npt.NDArray[np.float64]
AnyArray = npt.NDArray[Any]


def one_d(x: npt.ArrayLike, role: str) -> AnyArray:
    arr = np.asarray(x)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise SubmissionError(f"{role} must be one-dimensional, got shape {arr.shape}")
    return arr


def same_length(y_true: AnyArray, y_pred: AnyArray) -> None:
    if len(y_true) != len(y_pred):
        raise SubmissionError(f"y_true has {len(y_true)} rows but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise SubmissionError("nothing to score: y_true and y_pred are empty")


def floats(x: npt.ArrayLike, role: str) -> FloatArray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SubmissionError(f"{role} must be numeric: {exc}") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        raise SubmissionError(f"{role} has {int(bad.sum())} NaN or infinite values (first at flat index {first})")
    return arr


def value_pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    t = floats(one_d(y_true, "y_true"), "y_true")
    p = floats(one_d(y_pred, "y_pred"), "y_pred")
    same_length(t, p)
    return t, p


def probabilities(arr: FloatArray, role: str) -> FloatArray:
    if ((arr < 0) | (arr > 1)).any():
        raise SubmissionError(
            f"{role} must be probabilities in [0, 1]; found values from {arr.min():g} to {arr.max():g}"
        )
    return arr


def labels(x: npt.ArrayLike, role: str) -> AnyArray:
    """1-D labels as float64 (numbers, booleans) or an object array of str; NaN and mixed types refused."""
    arr = one_d(x, role)
    if arr.dtype.kind in "biuf":
        return floats(arr, role)
    if arr.dtype.kind in "US":
        return arr.astype(str).astype(object)
    missing = pd.isna(arr)
    if missing.any():
        raise SubmissionError(f"{role} has {int(missing.sum())} missing values")
    if all(isinstance(v, str) for v in arr):
        return arr
    if all(isinstance(v, (int, float, bool, np.number, np.bool_)) for v in arr):
        return floats(arr, role)
    raise SubmissionError(f"{role} mixes text and numeric labels")


def label_pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[AnyArray, AnyArray]:
    t, p = labels(y_true, "y_true"), labels(y_pred, "y_pred")
    same_length(t, p)
    if (t.dtype == object) != (p.dtype == object):
        kinds = {True: "text", False: "numeric"}
        raise SubmissionError(
            f"y_true labels are {kinds[t.dtype == object]} but y_pred labels are {kinds[p.dtype == object]}"
        )
    return t, p


def encode(t: AnyArray, p: AnyArray) -> tuple[AnyArray, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    classes, codes = np.unique(np.concatenate([t, p]), return_inverse=True)
    return classes, codes[: len(t)], codes[len(t) :]


def positive_label(classes: AnyArray, metric: str) -> Any:
    if len(classes) > 2:
        shown = ", ".join(map(str, classes[:10]))
        raise SubmissionError(
            f"{metric} is a binary metric but the labels take {len(classes)} values ({shown}); "
            "use the multiclass variant"
        )
    if classes.dtype != object and set(classes.tolist()) <= {0.0, 1.0}:
        return 1.0
    if len(classes) < 2:
        raise SubmissionError(f"{metric}: cannot tell the positive class from the single label {classes[0]!r}")
    return classes.max()


def binary_truth(y_true: npt.ArrayLike, metric: str) -> FloatArray:
    t = labels(y_true, "y_true")
    pos = positive_label(np.unique(t), metric)
    truth: FloatArray = (t == pos).astype(np.float64)
    return truth


def two_d(x: npt.ArrayLike, role: str) -> FloatArray:
    arr = floats(x, role)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise SubmissionError(f"{role} must be two-dimensional (rows x columns), got shape {arr.shape}")
    return arr


def indicator(y_true: npt.ArrayLike, n: int, k: int, *, one_per_row: bool) -> FloatArray:
    """y_true as an (n, k) 0/1 matrix; 1-D labels map to columns as agentk.competitions.metrics says."""
    raw = np.asarray(y_true)
    if raw.ndim == 2 and raw.shape[1] > 1:
        ind = floats(raw, "y_true")
        if ind.shape != (n, k):
            raise SubmissionError(f"y_true has shape {ind.shape} but y_pred has shape {(n, k)}")
        if not np.isin(ind, (0.0, 1.0)).all():
            raise SubmissionError("a 2-D y_true must be a 0/1 indicator matrix")
        if one_per_row and not (ind.sum(axis=1) == 1).all():
            raise SubmissionError("each row of a one-hot y_true must contain exactly one 1")
        return ind
    values = labels(raw, "y_true")
    if len(values) != n:
        raise SubmissionError(f"y_true has {len(values)} rows but y_pred has {n}")
    integral = values.dtype != object and bool((values == np.round(values)).all())
    if integral and values.min() >= 0 and values.max() < k:
        cols = values.astype(np.intp)
    else:
        classes, cols = np.unique(values, return_inverse=True)
        if len(classes) != k:
            raise SubmissionError(
                f"y_true has {len(classes)} distinct labels but y_pred has {k} columns; "
                "pass y_true as an (n, k) one-hot matrix to say which column is which class"
            )
    ind = np.zeros((n, k))
    ind[np.arange(n), cols] = 1.0
    return ind


def multi_pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, one_per_row: bool) -> tuple[FloatArray, FloatArray]:
    p = probabilities(two_d(y_pred, "y_pred"), "y_pred")
    if len(p) == 0:
        raise SubmissionError("nothing to score: y_pred is empty")
    return indicator(y_true, p.shape[0], p.shape[1], one_per_row=one_per_row), p


def strings(x: npt.ArrayLike, role: str) -> list[str]:
    arr = one_d(x, role)
    missing = pd.isna(arr)
    if missing.any():
        raise SubmissionError(f"{role} has {int(missing.sum())} missing values (write an empty string instead)")
    return [str(v) for v in arr]


def string_pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[list[str], list[str]]:
    t, p = strings(y_true, "y_true"), strings(y_pred, "y_pred")
    if len(t) != len(p):
        raise SubmissionError(f"y_true has {len(t)} rows but y_pred has {len(p)}")
    if not t:
        raise SubmissionError("nothing to score: y_true and y_pred are empty")
    return t, p
