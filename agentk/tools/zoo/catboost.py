"""CatBoost: ordered boosting with native categorical and text features, early-stopped on the validation fold."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from agentk.competitions import Modality, TaskType
from agentk.tools.cv import Deadline
from agentk.tools.device import require_cuda
from agentk.tools.features import TabularEncoder
from agentk.tools.zoo._base import ModelInfo, ZooModel, register_model

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.05,
    "depth": 6,
    "l2_leaf_reg": 3.0,
    "random_strength": 1.0,
    "bagging_temperature": 1.0,
    "one_hot_max_size": 4,
    "border_count": 254,
    "max_rounds": 3000,
    "early_stopping": 200,
    "text": True,
}
_MIN_TOKEN_COUNT = 3  # a word must occur this often in the training rows to enter CatBoost's dictionary
_GPU_PROBE_ROUNDS = 50  # CatBoost has no user callbacks on GPU: time this many rounds to respect a deadline


class _StopAtDeadline:
    """CatBoost CPU callback: returning False stops training (``use_best_model`` keeps the best round)."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def after_iteration(self, info: Any) -> bool:
        return not self.deadline.expired


def _has_vocabulary(text: pd.Series) -> bool:
    """Whether some word occurs often enough for a non-empty dictionary (CatBoost raises otherwise)."""
    counts = Counter(word for doc in text for word in doc.split())
    return bool(counts) and counts.most_common(1)[0][1] >= _MIN_TOKEN_COUNT


class CatBoostModel(ZooModel):
    """CatBoost on raw categories (strings), raw text (bag of words) and encoded numeric/datetime features.

    Categorical target statistics are computed by CatBoost inside ``fit`` from the training rows only, so
    they are fold-safe. Text columns whose training rows hold no repeated word are read as length
    statistics only. On CUDA (``task_type="GPU"``) CatBoost accepts no callbacks, so a deadline is met by
    timing a short probe fit and capping the number of rounds (a logged decision).
    """

    def _cb_params(self) -> tuple[dict[str, Any], int, bool]:
        params = {**DEFAULTS, **(self.params or {})}
        patience, text = int(params.pop("early_stopping")), bool(params.pop("text"))
        params["iterations"] = int(params.pop("max_rounds"))
        task = self._task
        if task is TaskType.BINARY:
            params.update(loss_function="Logloss", class_names=[0, 1])
        elif task in (TaskType.MULTICLASS, TaskType.ORDINAL):
            # Naming every class keeps k probability columns when a fold lacks a rare class.
            params.update(loss_function="MultiClass", class_names=list(range(self.n_classes)))
        else:
            params.setdefault("loss_function", "RMSE")
        params.update(random_seed=self.seed, thread_count=self.n_jobs, verbose=False, allow_writing_files=False)
        if self.device == "cuda":
            from catboost.utils import get_gpu_device_count

            require_cuda("catboost", built=get_gpu_device_count() > 0, hint="CatBoost sees no CUDA device")
            params["task_type"] = "GPU"
        return params, patience, text

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = self.encoder_.transform(X)
        for name in self.cat_features_:
            frame[name] = X[name].astype("string").fillna("<NA>").astype(str).to_numpy()
        for name in self.text_features_:
            frame[f"{name}__text"] = X[name].astype("string").fillna("").astype(str).to_numpy()
        return frame

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> CatBoostModel:
        params, patience, use_text = self._cb_params()
        columns = self.columns or {}
        self.cat_features_ = [c for c, m in columns.items() if m is Modality.CATEGORICAL]
        text_columns = [c for c, m in columns.items() if m is Modality.TEXT]
        self.text_features_ = (
            [c for c in text_columns if _has_vocabulary(X[c].astype("string").fillna("").astype(str))]
            if use_text
            else []
        )
        # The encoder turns numbers, dates and text statistics into floats; categories go in raw.
        self.encoder_ = TabularEncoder({c: m for c, m in columns.items() if m is not Modality.CATEGORICAL}).fit(X)
        if self.text_features_:
            calcers: list[dict[str, str]] = [{"calcer_type": "BoW", "top_tokens_count": "1000"}]
            if self._classification:
                calcers.append({"calcer_type": "NaiveBayes"})
            params.update(
                dictionaries=[
                    {"dictionary_id": "Word", "occurrence_lower_bound": str(_MIN_TOKEN_COUNT)},
                ],
                feature_calcers=calcers,
            )
        fit_args: dict[str, Any] = {
            "cat_features": self.cat_features_,
            "text_features": [f"{c}__text" for c in self.text_features_] or None,
        }
        if X_valid is not None and y_valid is not None:
            fit_args.update(
                eval_set=(self._frame(X_valid), y_valid), early_stopping_rounds=patience, use_best_model=True
            )
        import catboost as cb  # imported on use: a large library, and optional on machines that only serve

        factory = cb.CatBoostClassifier if self._classification else cb.CatBoostRegressor
        train = self._frame(X)
        if deadline is not None and params.get("task_type") == "GPU":
            params["iterations"] = self._gpu_rounds(factory, params, train, y, fit_args, deadline)
        elif deadline is not None:
            fit_args["callbacks"] = [_StopAtDeadline(deadline)]
        self.model_ = factory(**params).fit(train, y, **fit_args)
        return self

    def _gpu_rounds(
        self,
        factory: Any,
        params: dict[str, Any],
        train: pd.DataFrame,
        y: np.ndarray,
        fit_args: dict[str, Any],
        deadline: Deadline,
    ) -> int:
        """Rounds that fit in the time left, measured on a short probe fit (GPU CatBoost has no callbacks)."""
        rounds = int(params["iterations"])
        probe = min(_GPU_PROBE_ROUNDS, rounds)
        start = time.monotonic()
        factory(**{**params, "iterations": probe}).fit(train, y, **fit_args)
        per_round = (time.monotonic() - start) / probe  # includes set-up, so errs on the short side
        affordable = max(1, int(0.8 * max(deadline.remaining, 0.0) / per_round))
        if affordable < rounds:
            log.info("catboost on GPU: %d of %d rounds fit before the deadline", affordable, rounds)
        return min(rounds, affordable)

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        frame = self._frame(X)
        if self._classification:
            proba = np.asarray(self.model_.predict_proba(frame), dtype=float)
            return proba[:, 1] if self._task is TaskType.BINARY else proba
        return np.asarray(self.model_.predict(frame), dtype=float)

    def feature_importance(self) -> dict[str, float]:
        """CatBoost's prediction-value-change importance per feature."""
        names = self.model_.feature_names_
        return dict(zip(names, map(float, self.model_.get_feature_importance()), strict=True))


def search_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.15, log=True),
        "depth": trial.suggest_int("depth", 4, 9),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 30.0, log=True),
        "random_strength": trial.suggest_float("random_strength", 0.1, 10.0, log=True),
        "bagging_temperature": trial.suggest_float("bagging_temperature", 0.0, 2.0),
    }


# CatBoost's defaults are strong on their own (no baseline tries CatBoost).
PORTFOLIO: tuple[dict[str, Any], ...] = (
    {"learning_rate": 0.05, "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0, "bagging_temperature": 1.0},
)

INFO = register_model(
    ModelInfo("catboost", CatBoostModel, search_space, gpu=True, speed="medium", defaults=DEFAULTS, portfolio=PORTFOLIO)
)
