"""LightGBM with fold-safe preprocessing and early stopping, one model per fold."""

from __future__ import annotations

import time
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from agentk.competitions import TaskType
from agentk.tools.cv import CVResult, Deadline
from agentk.tools.features import TabularEncoder, encodable_columns
from agentk.tools.target import TargetCodec

DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 20,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "max_cat_to_onehot": 8,
    "verbosity": -1,
}


def _objective(codec: TargetCodec) -> dict[str, Any]:
    task = codec.task.task_type
    if task is TaskType.BINARY:
        return {"objective": "binary"}
    if task in (TaskType.MULTICLASS, TaskType.ORDINAL):
        return {"objective": "multiclass", "num_class": codec.n_classes}
    if codec.metric.name == "mae":
        return {"objective": "l1"}
    return {"objective": "regression"}


def _deadline_callback(deadline: Deadline) -> Any:
    def callback(env: Any) -> None:
        if deadline.expired:
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

    callback.order = 30  # type: ignore[attr-defined]
    return callback


def train_lightgbm(
    train: pd.DataFrame,
    test: pd.DataFrame,
    y: pd.Series,
    codec: TargetCodec,
    folds: list[tuple[np.ndarray, np.ndarray]],
    deadline: Deadline,
    *,
    seed: int = 42,
    n_jobs: int = 2,
    params: dict[str, Any] | None = None,
    max_rounds: int = 5000,
) -> CVResult:
    """Cross-validate LightGBM; test predictions average the fold models."""
    start = time.monotonic()
    columns = encodable_columns(codec.task)
    target = codec.encode(y)
    merged = {**DEFAULT_PARAMS, **(params or {}), **_objective(codec), "seed": seed, "num_threads": n_jobs}
    shape = (len(train), codec.n_classes) if merged.get("num_class") else (len(train),)
    oof = np.zeros(shape)
    test_pred = np.zeros((len(test), *shape[1:]))
    fold_scores: list[float] = []
    done = 0
    for tr, va in folds:
        if deadline.expired:
            break
        encoder = TabularEncoder(columns).fit(train.iloc[tr])
        x_tr, x_va = encoder.transform(train.iloc[tr]), encoder.transform(train.iloc[va])
        cats = encoder.categorical_features_
        d_tr = lgb.Dataset(x_tr, target[tr], categorical_feature=cats, free_raw_data=False)
        d_va = lgb.Dataset(x_va, target[va], categorical_feature=cats, reference=d_tr)
        booster = lgb.train(
            merged,
            d_tr,
            num_boost_round=max_rounds,
            valid_sets=[d_va],
            callbacks=[lgb.early_stopping(200, verbose=False), _deadline_callback(deadline)],
        )
        oof[va] = booster.predict(x_va, num_iteration=booster.best_iteration)
        test_pred += booster.predict(encoder.transform(test), num_iteration=booster.best_iteration)
        fold_scores.append(codec.score(y.iloc[va], oof[va]))
        done += 1
    complete = done == len(folds)
    if done:
        test_pred /= done
    rows = np.concatenate([va for _, va in folds[:done]]) if done else np.array([], dtype=int)
    score = codec.score(y.iloc[rows], oof[rows]) if done else codec.metric.worst
    return CVResult("lightgbm", oof, test_pred, score, time.monotonic() - start, complete, fold_scores, merged)
