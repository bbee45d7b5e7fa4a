"""Cross-validate any zoo model: out-of-fold and fold-averaged test predictions, per-fold reports."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from agentk.competitions import Modality
from agentk.tools.cv import CVResult, Deadline, FoldPredictor
from agentk.tools.engineering import FeatureBuilder
from agentk.tools.target import Target, TargetCodec
from agentk.tools.zoo import ZooModel, get_model
from agentk.tools.zoo._multi import PerTargetModel


class TrialPruned(Exception):
    """Raised when an Optuna pruner stops a trial after a fold (re-raised as optuna's own by the search)."""


def cross_validate(
    model: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    y: Target,
    codec: TargetCodec,
    folds: list[tuple[np.ndarray, np.ndarray]],
    deadline: Deadline,
    *,
    params: dict[str, Any] | None = None,
    features: dict[str, Any] | None = None,
    columns: dict[str, Any] | None = None,
    device: str = "cpu",
    n_jobs: int = 1,
    seed: int = 0,
    trial: Any = None,
    name: str | None = None,
    keep_models: bool = False,
) -> CVResult:
    """Fit ``model`` on each fold's training rows, predict its validation rows and the test set.

    ``features`` are :class:`~agentk.tools.engineering.FeatureBuilder` choices, fit inside each fold.
    Stops between folds at the deadline (``complete`` is then False). With an Optuna ``trial``, each fold's
    running score is reported so a pruner can stop a poor trial early (:class:`TrialPruned`). With
    ``keep_models`` the fitted fold models are kept as the result's ``predictor``.
    """
    info = get_model(model)
    start = time.monotonic()
    base_columns = dict(columns or codec.task.columns)
    target = codec.encode(y)
    oof = np.zeros(codec.prediction_shape(len(train)))
    test_pred = np.zeros((len(test), *oof.shape[1:]))
    fold_scores: list[float] = []
    scored: list[np.ndarray] = []
    members: list[tuple[Any, Any]] = []
    for k, (tr, va) in enumerate(folds):
        if deadline.expired:
            break
        x_tr, x_va, x_te = train.iloc[tr], train.iloc[va], test
        fold_columns = base_columns
        builder: FeatureBuilder | None = None
        if features:
            builder = FeatureBuilder(columns=base_columns, seed=seed + k, **features)
            x_tr = builder.fit_transform(x_tr, target[tr])
            x_va, x_te = builder.transform(x_va), builder.transform(x_te)
            fold_columns = builder.output_columns(x_tr)
        estimator = _estimator(
            model,
            codec,
            columns={c: m for c, m in fold_columns.items() if m in info.reads},
            params=params,
            device=device,
            n_jobs=n_jobs,
            seed=seed + k,
        )
        estimator.fit(x_tr, target[tr], x_va, target[va], deadline=deadline)
        oof[va] = estimator.predict_model(x_va)
        test_pred += estimator.predict_model(x_te)
        fold_scores.append(codec.score(y.iloc[va], oof[va]))
        scored.append(va)
        if keep_models:
            members.append((builder, estimator))
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
        {"model": model, **(params or {}), "features": dict(features or {})},
        FoldPredictor(members) if members else None,
    )


def _estimator(model: str, codec: TargetCodec, **kwargs: Any) -> ZooModel:
    """The zoo model for the task: multi-output tasks go one target at a time unless the model does them."""
    info = get_model(model)
    root = codec.task.image_root
    if root is not None and Modality.IMAGE_PATH in info.reads and "image_root" not in (kwargs["params"] or {}):
        kwargs["params"] = {**(kwargs["params"] or {}), "image_root": root}
    if codec.is_multi_output:
        n_targets = codec.n_outputs
        if info.multi_output:
            return info.factory(task_type=codec.task.task_type.value, n_classes=n_targets, **kwargs)
        return PerTargetModel(task_type=codec.task.task_type.value, n_classes=n_targets, model=model, **kwargs)
    return info.factory(task_type=codec.task.task_type.value, n_classes=codec.n_classes, **kwargs)
