"""The teacher as seen from one of its folds: predictions from fold models that never saw that fold's rows.

A run's teacher is a :class:`~agentk.tools.cv.FoldPredictor` (one model per CV fold) or an ensemble of them
(:class:`~agentk.tools.cv.WeightedPredictor`, :class:`~agentk.tools.ensemble.StackedPredictor`). Labelling
synthetic rows with the full teacher for a check validated on real rows leaks: every full-teacher member but one
was fit on those validation rows, and synthetic rows made from nearby rows inherit what it memorised there. The
fold-``j`` view keeps member ``j`` of every fold model (a stacker keeps its weights, fit on all rows' out-of-fold
predictions: a few coefficients, not the rows) and so predicts as if fold ``j`` had never been seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from agentk.tools.cv import FoldPredictor, Predictor, WeightedPredictor, make_folds
from agentk.tools.ensemble import StackedPredictor

if TYPE_CHECKING:  # the orchestrator imports this package: no import of agentk.agent at run time
    from agentk.agent.model_io import SavedModel

_CHECK_ROWS = 200  # validation rows whose out-of-fold predictions confirm rebuilt folds
# The view must reproduce the reference exactly on most rows (median difference) and nearly on all (maximum):
# sentence-embedding members embed a 200-row sample with other batch numerics than the fold's rows (nlp: median 0,
# max 2.9e-5 apart), while folds that are not the teacher's miss by far more (spaceship: median 0.0042).
_CHECK_MEDIAN = 1e-6
_CHECK_MAX = 1e-3


def fold_count(predictor: Predictor) -> int | None:
    """The number of folds of the fold models inside ``predictor``; None when it has none or they disagree."""
    counts = set(_counts(predictor))
    return counts.pop() if len(counts) == 1 else None


def _counts(predictor: Any) -> list[int | None]:
    if isinstance(predictor, FoldPredictor):
        return [len(predictor.members)]
    if isinstance(predictor, WeightedPredictor):
        return [c for w, p in predictor.parts if w > 0 for c in _counts(p)]
    if isinstance(predictor, StackedPredictor):
        return [c for m in predictor.members for c in _counts(m)]
    return [None]  # a predictor of another kind: no fold view


def fold_view(predictor: Predictor, j: int) -> Predictor | None:
    """``predictor`` with each fold model reduced to its member ``j``; None where it has no fold structure."""
    if isinstance(predictor, FoldPredictor):
        return FoldPredictor([predictor.members[j]]) if j < len(predictor.members) else None
    if isinstance(predictor, WeightedPredictor):
        parts = [(w, fold_view(p, j)) for w, p in predictor.parts if w > 0]
        if any(p is None for _, p in parts):
            return None
        return WeightedPredictor([(w, p) for w, p in parts if p is not None])
    if isinstance(predictor, StackedPredictor):
        members = [fold_view(m, j) for m in predictor.members]
        if any(m is None for m in members):
            return None
        return StackedPredictor(predictor.stacker, [m for m in members if m is not None])
    return None


def teacher_fold(
    teacher: SavedModel, frame: pd.DataFrame, y: pd.Series, *, j: int = 0
) -> tuple[np.ndarray, np.ndarray, Predictor] | None:
    """Fold ``j`` of the teacher's cross-validation: its training rows, its validation rows and the teacher's
    fold-``j`` view (:func:`fold_view`), or None when they cannot be known.

    The folds are the ones stored with the teacher (``teacher.folds``, validation rows per fold), else the run's
    folds rebuilt the way a run makes them (seed 0). Either way they are confirmed: the view must reproduce, on
    fold ``j``'s validation rows, the predictions of the teacher's fold models for their own rows. For a single
    model those are its out-of-fold predictions (``teacher.oof``); an ensemble's ``oof`` comes from nested fits of
    its weights, so it is checked against ``teacher.view_oof`` (its final weights or stacker applied to its members'
    out-of-fold predictions). An ensemble saved without ``view_oof`` (before it was saved) has no fold view. On 200
    of the fold's rows the view must agree to 1e-6 on most (median) and to 1e-3 on all.
    """
    n_folds = fold_count(teacher.predictor)
    view = fold_view(teacher.predictor, j) if n_folds is not None and j < n_folds else None
    reference = teacher.view_oof if teacher.view_oof is not None else teacher.oof  # None in older model files
    if view is None or reference is None or n_folds is None:
        return None
    n = len(frame)
    stored = getattr(teacher, "folds", None)
    if stored is not None and len(stored) == n_folds:
        valid = np.asarray(stored[j], dtype=int)
    else:
        encoded = teacher.codec.encode(y)
        valid = make_folds(encoded, teacher.task.task_type, n_folds, 0)[j][1]
    train = np.setdiff1d(np.arange(n), valid)
    sample = valid[:: max(len(valid) // _CHECK_ROWS, 1)][:_CHECK_ROWS]
    oof = np.asarray(reference, dtype=float)
    if len(oof) != n:
        return None
    predicted = np.asarray(view.predict(frame.iloc[sample]), dtype=float)
    if predicted.shape != oof[sample].shape:
        return None
    apart = np.abs(predicted - oof[sample])
    if not (np.median(apart) <= _CHECK_MEDIAN and apart.max() <= _CHECK_MAX):  # NaN fails both
        return None
    return train, valid, view
