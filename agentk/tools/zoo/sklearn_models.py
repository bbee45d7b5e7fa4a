"""scikit-learn families: random forest, extra trees, histogram gradient boosting and k-nearest neighbours.

They run on CPU only. Forests and histogram boosting grow in chunks so a deadline stops them between
chunks with the trees built so far; kNN has nothing to train.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from agentk.competitions import Modality, TaskType
from agentk.errors import UserInputError
from agentk.tools.cv import Deadline
from agentk.tools.features import TabularEncoder
from agentk.tools.zoo._base import ModelInfo, ZooModel, register_model
from agentk.tools.zoo.linear import prepare

_MAX_BINS = 255  # HistGradientBoosting's limit on categories of a native categorical feature


class _SklearnModel(ZooModel):
    """Shared behaviour: CPU only, and class probabilities always ``n_classes`` wide."""

    def _check_device(self) -> None:
        if self.device != "cpu":
            raise UserInputError(f"{type(self).__name__} trains on CPU only (device {self.device!r} was requested)")

    def _model_space(self, estimator: Any, features: Any) -> np.ndarray:
        if not self._classification:
            return np.asarray(estimator.predict(features), dtype=float)
        seen = np.asarray(estimator.predict_proba(features), dtype=float)
        # A fold may lack a rare class: put the columns it knows where they belong, zeros elsewhere.
        proba = np.zeros((seen.shape[0], self.n_classes))
        proba[:, np.asarray(estimator.classes_, dtype=int)] = seen
        return proba[:, 1] if self._task is TaskType.BINARY else proba


class ForestModel(_SklearnModel):
    """Random forest on :class:`~agentk.tools.features.TabularEncoder` features (NaN handled natively)."""

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "n_estimators": 300,
        "max_features": 0.5,
        "min_samples_leaf": 2,
        "max_depth": None,
        "chunk": 50,
    }
    _estimators: ClassVar[tuple[Any, Any]] = (RandomForestClassifier, RandomForestRegressor)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> ForestModel:
        self._check_device()
        params = {**self.DEFAULTS, **(self.params or {})}
        total, chunk = int(params.pop("n_estimators")), int(params.pop("chunk"))
        self.encoder_ = TabularEncoder(self.columns).fit(X)
        features = self.encoder_.transform(X).to_numpy(dtype=np.float32)
        factory = self._estimators[0] if self._classification else self._estimators[1]
        self.forest_ = factory(
            n_estimators=min(chunk, total), warm_start=True, n_jobs=self.n_jobs, random_state=self.seed, **params
        )
        while True:  # grow in chunks; at the deadline keep the trees grown so far
            self.forest_.fit(features, y)
            if self.forest_.n_estimators >= total or (deadline is not None and deadline.expired):
                break
            self.forest_.n_estimators = min(total, self.forest_.n_estimators + chunk)
        return self

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        return self._model_space(self.forest_, self.encoder_.transform(X).to_numpy(dtype=np.float32))


class ExtraTreesModel(ForestModel):
    """Extremely randomised trees (same preprocessing and chunked growth as :class:`ForestModel`)."""

    DEFAULTS: ClassVar[dict[str, Any]] = {**ForestModel.DEFAULTS, "max_features": 0.7, "min_samples_leaf": 1}
    _estimators: ClassVar[tuple[Any, Any]] = (ExtraTreesClassifier, ExtraTreesRegressor)


def forest_space(trial: Any) -> dict[str, Any]:
    return {
        "max_features": trial.suggest_float("max_features", 0.1, 1.0),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 30, log=True),
        "max_depth": trial.suggest_categorical("max_depth", [None, 8, 16, 32]),
    }


class HistGBModel(_SklearnModel):
    """scikit-learn's histogram gradient boosting with native categorical splits, early-stopped on ``X_valid``.

    Without ``X_valid`` it trains ``max_iter`` rounds (no internal split, so every training row is used).
    """

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.06,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.1,
        "max_features": 0.8,
        "max_iter": 2000,
        "early_stopping": 100,
        "chunk": 100,
    }

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> HistGBModel:
        self._check_device()
        params = {**self.DEFAULTS, **(self.params or {})}
        total, chunk, patience = (
            int(params.pop("max_iter")),
            int(params.pop("chunk")),
            int(params.pop("early_stopping")),
        )
        self.encoder_ = TabularEncoder(self.columns).fit(X)
        features = self.encoder_.transform(X)
        native = {c for c in self.encoder_.categorical_features_ if len(self.encoder_.codes_[c]) <= _MAX_BINS}
        extra = (
            {} if X_valid is None or y_valid is None else {"X_val": self.encoder_.transform(X_valid), "y_val": y_valid}
        )
        validate = bool(extra)
        factory = HistGradientBoostingClassifier if self._classification else HistGradientBoostingRegressor
        self.model_ = factory(
            max_iter=min(chunk, total),
            warm_start=True,
            early_stopping=validate,
            n_iter_no_change=patience,
            categorical_features=[c in native for c in features.columns],
            random_state=self.seed,
            **params,
        )
        with threadpool_limits(self.n_jobs):
            while True:  # grow in chunks; stop when early stopping fired, at max_iter or at the deadline
                self.model_.fit(features, y, **extra)
                stopped_early = self.model_.n_iter_ < self.model_.max_iter
                if stopped_early or self.model_.max_iter >= total or (deadline is not None and deadline.expired):
                    break
                self.model_.max_iter = min(total, self.model_.max_iter + chunk)
        return self

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(self.n_jobs):
            return self._model_space(self.model_, self.encoder_.transform(X))


def hist_gb_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 127, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 100, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 10.0, log=True),
        "max_features": trial.suggest_float("max_features", 0.3, 1.0),
    }


class KNNModel(_SklearnModel):
    """k-nearest neighbours on standardised numbers (median-imputed, with missing indicators) and one-hot
    categories (``cat_weight`` scales the one-hot block against the numbers)."""

    DEFAULTS: ClassVar[dict[str, Any]] = {"n_neighbors": 15, "weights": "distance", "p": 2, "cat_weight": 1.0}

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> KNNModel:
        self._check_device()
        params = {**self.DEFAULTS, **(self.params or {})}
        keep = (Modality.NUMERIC, Modality.CATEGORICAL)
        self.used_ = {c: m for c, m in (self.columns or {}).items() if m in keep}
        numeric = [c for c, m in self.used_.items() if m is Modality.NUMERIC]
        categorical = [c for c, m in self.used_.items() if m is Modality.CATEGORICAL]
        if not self.used_:
            raise UserInputError("knn needs at least one numeric or categorical column")
        parts: list[tuple[str, Any, list[str]]] = []
        if numeric:
            parts.append(
                ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric)
            )
        if categorical:
            onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, max_categories=30)
            parts.append(("cat", onehot, categorical))
        features = ColumnTransformer(
            parts, sparse_threshold=0.0, transformer_weights={"cat": float(params.pop("cat_weight"))}
        )
        params["n_neighbors"] = max(1, min(int(params["n_neighbors"]), len(X)))
        factory = KNeighborsClassifier if self._classification else KNeighborsRegressor
        neighbours = factory(n_jobs=self.n_jobs, **params)
        self.pipeline_ = Pipeline([("features", features), ("model", neighbours)]).fit(prepare(X, self.used_), y)
        return self

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        return self._model_space(self.pipeline_, prepare(X, self.used_))


def knn_space(trial: Any) -> dict[str, Any]:
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 3, 100, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
        "cat_weight": trial.suggest_float("cat_weight", 0.2, 3.0, log=True),
    }


_TREE_INPUTS = frozenset({Modality.NUMERIC, Modality.CATEGORICAL, Modality.DATETIME, Modality.TEXT})
RANDOM_FOREST = register_model(
    ModelInfo(
        "random_forest", ForestModel, forest_space, uses=_TREE_INPUTS, speed="medium", defaults=ForestModel.DEFAULTS
    )
)
EXTRA_TREES = register_model(
    ModelInfo(
        "extra_trees",
        ExtraTreesModel,
        forest_space,
        uses=_TREE_INPUTS,
        speed="medium",
        defaults=ExtraTreesModel.DEFAULTS,
    )
)
HIST_GB = register_model(
    ModelInfo("hist_gb", HistGBModel, hist_gb_space, uses=_TREE_INPUTS, speed="fast", defaults=HistGBModel.DEFAULTS)
)
KNN = register_model(
    ModelInfo(
        "knn",
        KNNModel,
        knn_space,
        uses=frozenset({Modality.NUMERIC, Modality.CATEGORICAL}),
        speed="medium",
        defaults=KNNModel.DEFAULTS,
    )
)
