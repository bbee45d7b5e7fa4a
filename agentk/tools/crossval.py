"""Cross-validate any zoo model: out-of-fold and fold-averaged test predictions, per-fold reports."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from agentk.tools.cv import CVResult, Deadline
from agentk.tools.target import TargetCodec
from agentk.tools.zoo import get_model


class TrialPruned(Exception):
    """Raised when an Optuna pruner stops a trial after a fold (re-raised as optuna's own by the search)."""


def cross_validate(
    model: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    y: pd.Series,
    codec: TargetCodec,
    folds: list[tuple[np.ndarray, np.ndarray]],
    deadline: Deadline,
    *,
    params: dict[str, Any] | None = None,
    columns: dict[str, Any] | None = None,
    device: str = "cpu",
    n_jobs: int = 1,
    seed: int = 0,
    trial: Any = None,
    name: str | None = None,
) -> CVResult:
    """Fit ``model`` on each fold's training rows, predict its validation rows and the test set.

    Stops between folds at the deadline (``complete`` is then False). With an Optuna ``trial``, each fold's
    running score is reported so a pruner can stop a poor trial early (:class:`TrialPruned`).
    """
    info = get_model(model)
    start = time.monotonic()
    used = {c: m for c, m in (columns or codec.task.columns).items() if m in info.uses}
    target = codec.encode(y)
    multi = codec.is_classification and codec.n_classes > 2
    oof = np.zeros((len(train), codec.n_classes) if multi else (len(train),))
    test_pred = np.zeros((len(test), *oof.shape[1:]))
    fold_scores: list[float] = []
    scored: list[np.ndarray] = []
    for k, (tr, va) in enumerate(folds):
        if deadline.expired:
            break
        estimator = info.factory(
            columns=used,
            task_type=codec.task.task_type.value,
            n_classes=codec.n_classes,
            params=params,
            device=device,
            n_jobs=n_jobs,
            seed=seed + k,
        )
        estimator.fit(train.iloc[tr], target[tr], train.iloc[va], target[va], deadline=deadline)
        oof[va] = estimator.predict_model(train.iloc[va])
        test_pred += estimator.predict_model(test)
        fold_scores.append(codec.score(y.iloc[va], oof[va]))
        scored.append(va)
        if trial is not None:
            rows = np.concatenate(scored)
            trial.report(codec.score(y.iloc[rows], oof[rows]), k)
            if trial.should_prune():
                raise TrialPruned(f"pruned after fold {k + 1}")
    done = len(scored)
    if done:
        test_pred /= done
        rows = np.concatenate(scored)
        score = codec.score(y.iloc[rows], oof[rows])
    else:
        score = codec.metric.worst
    return CVResult(
        name or model,
        oof,
        test_pred,
        score,
        time.monotonic() - start,
        done == len(folds),
        fold_scores,
        dict(params or {}),
    )
