"""XGBoost: histogram trees with native categorical splits, early-stopped on the validation fold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from agentk.competitions import TaskType
from agentk.tools.cv import Deadline
from agentk.tools.device import require_cuda
from agentk.tools.features import TabularEncoder
from agentk.tools.zoo._base import ModelInfo, ZooModel, register_model

DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "reg_alpha": 0.0,
    "max_bin": 256,
    "max_cat_to_onehot": 8,
    "max_rounds": 5000,
    "early_stopping": 200,
}


def cuda_built() -> bool:
    """Whether the installed xgboost can train on CUDA (``xgboost`` can, ``xgboost-cpu`` cannot)."""
    return bool(xgb.build_info().get("USE_CUDA", False))


class _StopAtDeadline(xgb.callback.TrainingCallback):
    """Stops boosting once the deadline has passed; early stopping keeps its best iteration."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        return self.deadline.expired


class XGBoostModel(ZooModel):
    """XGBoost (``hist``) on :class:`~agentk.tools.features.TabularEncoder` features.

    Category codes become pandas categoricals over a fixed code range, so every fold and the test set share
    one category list and XGBoost splits on them natively (``enable_categorical``).
    """

    def _xgb_params(self) -> tuple[dict[str, Any], int, int]:
        params = {**DEFAULTS, **(self.params or {})}
        rounds, patience = int(params.pop("max_rounds")), int(params.pop("early_stopping"))
        task = self._task
        if task is TaskType.BINARY:
            params.update(objective="binary:logistic", eval_metric="logloss")
        elif task in (TaskType.MULTICLASS, TaskType.ORDINAL):
            params.update(objective="multi:softprob", num_class=self.n_classes, eval_metric="mlogloss")
        else:
            params.setdefault("objective", "reg:squarederror")
        params.update(tree_method="hist", seed=self.seed, nthread=self.n_jobs, verbosity=0)
        if self.device == "cuda":
            require_cuda("xgboost", built=cuda_built(), hint="install the `gpu` extra (xgboost with CUDA)")
            params["device"] = "cuda"
        return params, rounds, patience

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = self.encoder_.transform(X)
        for name, n_codes in self.n_codes_.items():
            codes = frame[name].fillna(-1).to_numpy(dtype=np.int64)
            frame[name] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(range(n_codes))))
        return frame

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> XGBoostModel:
        params, rounds, patience = self._xgb_params()
        self.encoder_ = TabularEncoder(self.columns).fit(X)
        # A column with no seen category stays numeric (all NaN); pandas needs at least one category.
        self.n_codes_ = {c: len(self.encoder_.codes_[c]) for c in self.encoder_.categorical_features_}
        self.n_codes_ = {c: n for c, n in self.n_codes_.items() if n > 0}
        train = xgb.QuantileDMatrix(
            self._features(X), y, enable_categorical=True, max_bin=int(params["max_bin"]), nthread=self.n_jobs
        )
        callbacks: list[Any] = [_StopAtDeadline(deadline)] if deadline is not None else []
        evals: list[tuple[Any, str]] = []
        stopping: int | None = None
        if X_valid is not None and y_valid is not None:
            valid = xgb.QuantileDMatrix(self._features(X_valid), y_valid, enable_categorical=True, ref=train)
            evals, stopping = [(valid, "valid")], patience
        self.booster_ = xgb.train(
            params,
            train,
            num_boost_round=rounds,
            evals=evals,
            early_stopping_rounds=stopping,
            callbacks=callbacks,
            verbose_eval=False,
        )
        if stopping is not None and "best_iteration" in self.booster_.attributes():
            self.best_iteration_ = int(self.booster_.best_iteration)
        else:
            self.best_iteration_ = self.booster_.num_boosted_rounds() - 1
        return self

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        data = xgb.DMatrix(self._features(X), enable_categorical=True, nthread=self.n_jobs)
        return np.asarray(self.booster_.predict(data, iteration_range=(0, self.best_iteration_ + 1)), dtype=float)

    def feature_importance(self) -> dict[str, float]:
        """Total gain per encoded feature."""
        scores = self.booster_.get_score(importance_type="total_gain")
        return {k: float(np.sum(v)) for k, v in scores.items()}


def search_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.1, log=True),
        "max_depth": trial.suggest_int("max_depth", 3, 10),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 50.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-4, 10.0, log=True),
    }


# The defaults first (no baseline tries XGBoost), then shallow trees on half the columns, more regularised.
PORTFOLIO: tuple[dict[str, Any], ...] = (
    {
        "learning_rate": 0.05,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
        "reg_alpha": 1e-4,
    },
    {
        "learning_rate": 0.03,
        "max_depth": 4,
        "min_child_weight": 3.0,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "reg_lambda": 5.0,
        "reg_alpha": 0.1,
    },
)

INFO = register_model(
    ModelInfo("xgboost", XGBoostModel, search_space, gpu=True, speed="fast", defaults=DEFAULTS, portfolio=PORTFOLIO)
)
