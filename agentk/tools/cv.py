"""Validation splits, deadlines and the result of a cross-validated model."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
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
    """Stratified K-fold for classification (when every class has enough rows), plain K-fold otherwise."""
    if task_type is not TaskType.REGRESSION:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= n_folds:
            splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            return [(tr, va) for tr, va in splitter.split(np.zeros(len(y)), y)]
    plain = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in plain.split(np.zeros(len(y)))]


@dataclass
class CVResult:
    """Out-of-fold and test predictions of one model, in model space (see :mod:`agentk.tools.target`).

    ``complete`` is False when the deadline cut the folds short: then ``oof`` is valid only on
    ``scored_rows`` and the result must not be used for the submission.
    """

    name: str
    oof: np.ndarray
    test: np.ndarray
    cv_score: float
    seconds: float
    complete: bool = True
    fold_scores: list[float] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)
