"""LightGBM: gradient-boosted trees on encoded tabular features, early-stopped on the validation fold."""

from __future__ import annotations

from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd

from agentk.competitions import TaskType
from agentk.tools.cv import Deadline
from agentk.tools.features import TabularEncoder
from agentk.tools.zoo._base import ModelInfo, ZooModel, register_model

_GPU_MAX_BINS = 256

DEFAULTS: dict[str, Any] = {
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
    "max_rounds": 5000,
    "early_stopping": 200,
}


def _deadline_callback(deadline: Deadline) -> Any:
    def callback(env: Any) -> None:
        if deadline.expired:
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

    callback.order = 30  # type: ignore[attr-defined]
    return callback


class LightGBMModel(ZooModel):
    """LightGBM with :class:`~agentk.tools.features.TabularEncoder` preprocessing."""

    DEFAULTS: ClassVar[dict[str, Any]] = DEFAULTS

    def _encoder(self, params: dict[str, Any]) -> TabularEncoder:
        """The fold's preprocessing (subclasses add features); model-only keys are popped from ``params``."""
        return TabularEncoder(self.columns)

    def _lgb_params(self) -> tuple[dict[str, Any], int, int]:
        params = {**self.DEFAULTS, **(self.params or {})}
        rounds, patience = int(params.pop("max_rounds")), int(params.pop("early_stopping"))
        task = self._task
        if task is TaskType.BINARY:
            params["objective"] = "binary"
        elif task in (TaskType.MULTICLASS, TaskType.ORDINAL):
            params.update(objective="multiclass", num_class=self.n_classes)
        else:
            params.setdefault("objective", "regression")
        params.update(seed=self.seed, num_threads=self.n_jobs, verbosity=-1)
        if self.device == "cuda":
            params["device_type"] = "gpu"  # LightGBM's wheels ship OpenCL, not CUDA
        return params, rounds, patience

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> LightGBMModel:
        params, rounds, patience = self._lgb_params()
        self.encoder_ = self._encoder(params).fit(X)
        cats = self.encoder_.categorical_features_
        if self.device == "cuda":
            # LightGBM's GPU learner caps a feature at 256 bins: wider categoricals go in as their integer codes.
            cats = [c for c in cats if len(self.encoder_.codes_[c]) < _GPU_MAX_BINS]
            params["max_bin"] = min(int(params.get("max_bin", 255)), _GPU_MAX_BINS - 1)
        train = lgb.Dataset(self.encoder_.transform(X), y, categorical_feature=cats, free_raw_data=False)
        callbacks = [_deadline_callback(deadline)] if deadline is not None else []
        valid_sets = []
        if X_valid is not None and y_valid is not None:
            valid_sets = [
                lgb.Dataset(self.encoder_.transform(X_valid), y_valid, categorical_feature=cats, reference=train)
            ]
            callbacks.append(lgb.early_stopping(patience, verbose=False))
        self.booster_ = lgb.train(params, train, num_boost_round=rounds, valid_sets=valid_sets, callbacks=callbacks)
        self.best_iteration_ = self.booster_.best_iteration or self.booster_.current_iteration()
        return self

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster_.predict(self.encoder_.transform(X), num_iteration=self.best_iteration_))

    def feature_importance(self) -> dict[str, float]:
        """Gain importance per encoded feature."""
        gains = self.booster_.feature_importance(importance_type="gain")
        return dict(zip(self.booster_.feature_name(), map(float, gains), strict=True))


def search_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.1, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 127, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.3, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
        "cat_smooth": trial.suggest_float("cat_smooth", 1.0, 50.0, log=True),
    }


# Alternatives to the defaults (which a run's baseline has already tried), strong across many tabular tasks: few
# columns per tree with more regularisation (a common tuned optimum on Kaggle's playground data), and wide trees
# with small leaves (AutoGluon's "GBMLarge").
PORTFOLIO: tuple[dict[str, Any], ...] = (
    {
        "learning_rate": 0.02,
        "num_leaves": 24,
        "min_child_samples": 40,
        "feature_fraction": 0.35,
        "bagging_fraction": 0.7,
        "lambda_l2": 5.0,
        "cat_smooth": 10.0,
    },
    {
        "learning_rate": 0.03,
        "num_leaves": 127,
        "min_child_samples": 5,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "lambda_l2": 1.0,
        "cat_smooth": 10.0,
    },
)

INFO = register_model(
    ModelInfo("lightgbm", LightGBMModel, search_space, gpu=True, speed="fast", defaults=DEFAULTS, portfolio=PORTFOLIO)
)
