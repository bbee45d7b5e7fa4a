"""Validation splits, deadlines and the result of a cross-validated model."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from agentk.competitions import TaskType


class Deadline:
    """A wall-clock deadline; tools check it between units of work and return the best so far."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()

    @property
    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    @property
    def expired(self) -> bool:
        return self.remaining <= 0


def make_folds(y: np.ndarray, task_type: TaskType, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold for classification (when every class has enough rows), plain K-fold otherwise.

    Multi-label targets (an ``(n, L)`` 0/1 matrix) are stratified on their rarest label that still has a
    positive for every fold, so each fold sees it; multi-target regression uses plain K-fold.
    """
    if task_type is TaskType.MULTILABEL:
        matrix = np.asarray(y).reshape(len(y), -1)
        positives = matrix.sum(axis=0)
        usable = np.flatnonzero((positives >= n_folds) & (len(matrix) - positives >= n_folds))
        if len(usable):
            y = matrix[:, usable[np.argmin(positives[usable])]]
            task_type = TaskType.BINARY
    if task_type not in (TaskType.REGRESSION, TaskType.MULTILABEL, TaskType.MULTI_REGRESSION):
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= n_folds:
            splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            return [(tr, va) for tr, va in splitter.split(np.zeros(len(y)), y)]
    plain = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in plain.split(np.zeros(len(y)))]


class Predictor(Protocol):
    """Anything that maps a raw input frame to predictions in model space."""

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


@dataclass
class FoldPredictor:
    """The fold models of one cross-validated configuration; predicts by averaging them.

    Each member is ``(feature_builder_or_None, fitted_zoo_model)``. Picklable (joblib), so a run can save its
    final model and serve or distil it later.
    """

    members: list[tuple[Any, Any]]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        total: np.ndarray | None = None
        for builder, model in self.members:
            x = builder.transform(frame) if builder is not None else frame
            pred = np.asarray(model.predict_model(x), dtype=float)
            total = pred if total is None else total + pred
        if total is None:
            raise ValueError("a FoldPredictor with no fitted fold model cannot predict")
        return total / len(self.members)


@dataclass
class WeightedPredictor:
    """A weighted average of predictors (hill-climbing ensembles)."""

    parts: list[tuple[float, Predictor]]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(sum(w * p.predict(frame) for w, p in self.parts if w > 0), dtype=float)


@dataclass
class CVResult:
    """Out-of-fold and test predictions of one model, in model space (see :mod:`agentk.tools.target`).

    ``complete`` is False when the deadline cut the folds short: then ``oof`` is valid only on the rows of
    the folds that finished and the result should not be preferred for the submission. ``predictor``, when
    kept, predicts new rows the way ``test`` was predicted.
    """

    name: str
    oof: np.ndarray
    test: np.ndarray
    cv_score: float
    seconds: float
    complete: bool = True
    fold_scores: list[float] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)
    predictor: Predictor | None = None
    # An ensemble's final weights (or stacker) applied to its members' out-of-fold predictions: what the
    # ensemble's fold-j models predict for fold j's rows. ``oof`` holds the nested-CV predictions instead (honest
    # for scoring). None: ``oof`` is both (a single cross-validated model).
    view_oof: np.ndarray | None = None
