"""A sparse linear model: TF-IDF for text, one-hot for categories, scaled numbers."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer

from agentk.competitions import Modality
from agentk.tools.cv import Deadline
from agentk.tools.zoo._base import ModelInfo, ZooModel, register_model

DEFAULTS: dict[str, Any] = {"C": 0.3, "char_ngrams": True, "min_df": 2}


def prepare(frame: pd.DataFrame, columns: dict[str, Modality]) -> pd.DataFrame:
    """Stateless clean-up (nothing learned): categories and text as strings, numbers as floats."""
    out: dict[str, pd.Series] = {}
    for name, modality in columns.items():
        if modality is Modality.NUMERIC:
            out[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
        elif modality in (Modality.CATEGORICAL, Modality.TEXT):
            out[name] = frame[name].astype("string").fillna("").astype(str)
    return pd.DataFrame(out, index=frame.index)


class LinearModel(ZooModel):
    """Logistic regression (classification) or ridge (regression) on sparse features."""

    DEFAULTS: ClassVar[dict[str, Any]] = DEFAULTS

    def _transformer(self, columns: dict[str, Modality], params: dict[str, Any]) -> ColumnTransformer:
        parts = self._parts(columns, params)
        return ColumnTransformer(parts, sparse_threshold=1.0, transformer_weights=self._weights(parts, params))

    def _weights(self, parts: list[tuple[str, Any, Any]], params: dict[str, Any]) -> dict[str, float] | None:
        """Per-part weights of the ColumnTransformer (None: all 1)."""
        return None

    def _parts(self, columns: dict[str, Modality], params: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        """The ColumnTransformer's parts: scaled numbers, one-hot categories, word and character TF-IDF."""
        parts: list[tuple[str, Any, Any]] = []
        numeric = [c for c, m in columns.items() if m is Modality.NUMERIC]
        categorical = [c for c, m in columns.items() if m is Modality.CATEGORICAL]
        if numeric:
            scaler = QuantileTransformer(n_quantiles=200, output_distribution="normal", random_state=self.seed)
            parts.append(("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), scaler), numeric))
        if categorical:
            parts.append(("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=2), categorical))
        min_df = int(params["min_df"])
        for name in (c for c, m in columns.items() if m is Modality.TEXT and params.get("tfidf", True)):
            words = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True, max_features=200_000)
            parts.append((f"{name}_w", words, name))
            if params["char_ngrams"]:
                chars = TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), min_df=min_df + 1, sublinear_tf=True, max_features=200_000
                )
                parts.append((f"{name}_c", chars, name))
        return parts

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> LinearModel:
        params = {**self.DEFAULTS, **(self.params or {})}
        keep = (Modality.NUMERIC, Modality.CATEGORICAL, Modality.TEXT)
        self.used_ = {c: m for c, m in (self.columns or {}).items() if m in keep}
        c = float(params["C"])
        model: Any = (
            LogisticRegression(C=c, max_iter=2000, random_state=self.seed)
            if self._classification
            else Ridge(alpha=1.0 / c, random_state=self.seed)
        )
        self.pipeline_ = Pipeline([("features", self._transformer(self.used_, params)), ("model", model)])
        self.pipeline_.fit(prepare(X, self.used_), y)
        return self

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        x = prepare(X, self.used_)
        if self._classification:
            proba = np.asarray(self.pipeline_.predict_proba(x), dtype=float)
            return proba[:, 1] if self.n_classes == 2 else proba
        return np.asarray(self.pipeline_.predict(x), dtype=float)


def search_space(trial: Any) -> dict[str, Any]:
    return {
        "C": trial.suggest_float("C", 0.01, 30.0, log=True),
        "char_ngrams": trial.suggest_categorical("char_ngrams", [True, False]),
        "min_df": trial.suggest_int("min_df", 1, 5),
    }


INFO = register_model(
    ModelInfo(
        "linear",
        LinearModel,
        search_space,
        uses=frozenset({Modality.NUMERIC, Modality.CATEGORICAL, Modality.TEXT}),
        speed="fast",
    )
)
