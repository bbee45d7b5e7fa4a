"""Fold-safe preprocessing for tree models: everything learned is learned in ``fit`` on training rows only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from agentk.competitions import Modality, TaskSpec
from agentk.tools.text_stats import text_statistics

_MAX_CODES = 1000  # categories kept per column; rarer ones share one code


class TabularEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Turn a raw frame into float features for gradient-boosted trees.

    Numeric columns pass through; categorical columns become integer codes (learned in ``fit``, unseen
    values -> NaN) plus a count encoding; datetime columns become parts; text columns become length
    statistics (the words themselves go to the linear text model).

    Args:
        columns: modality of each input column.
    """

    def __init__(self, columns: dict[str, Modality] | None = None) -> None:
        self.columns = columns

    def fit(self, X: pd.DataFrame, y: Any = None) -> TabularEncoder:
        columns = self.columns or {}
        self.codes_: dict[str, dict[str, int]] = {}
        self.counts_: dict[str, dict[str, int]] = {}
        for name, modality in columns.items():
            if modality is Modality.CATEGORICAL:
                counts = X[name].astype("string").value_counts(dropna=True)
                kept = counts.index[:_MAX_CODES]
                self.codes_[name] = {str(v): i for i, v in enumerate(sorted(map(str, kept)))}
                self.counts_[name] = {str(k): int(v) for k, v in counts.items()}
        self.n_rows_ = len(X)
        # Codes are non-negative integers stored as floats; LightGBM reads them as categories by name.
        self.categorical_features_ = list(self.codes_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        columns = self.columns or {}
        out: dict[str, np.ndarray] = {}
        for name, modality in columns.items():
            col = X[name]
            if modality is Modality.NUMERIC:
                out[name] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            elif modality is Modality.CATEGORICAL:
                text = col.astype("string")
                out[name] = text.map(self.codes_[name]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                freq = text.map(self.counts_[name]).astype("Float64").fillna(0).to_numpy(dtype=float)
                out[f"{name}__count"] = freq / max(self.n_rows_, 1)
            elif modality is Modality.DATETIME:
                ts = pd.to_datetime(col, errors="coerce", format="mixed")
                out[f"{name}__year"] = ts.dt.year.to_numpy(dtype=float, na_value=np.nan)
                out[f"{name}__month"] = ts.dt.month.to_numpy(dtype=float, na_value=np.nan)
                out[f"{name}__dayofweek"] = ts.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan)
                out[f"{name}__dayofyear"] = ts.dt.day_of_year.to_numpy(dtype=float, na_value=np.nan)
                out[f"{name}__hour"] = ts.dt.hour.to_numpy(dtype=float, na_value=np.nan)
            elif modality is Modality.TEXT:
                for stat, values in text_statistics(col).items():
                    out[f"{name}__{stat}"] = values
        return pd.DataFrame(out, index=X.index)


def encodable_columns(task: TaskSpec) -> dict[str, Modality]:
    """The input columns a tabular model can use (ids and image paths left out)."""
    return {c: m for c, m in task.columns.items() if m not in (Modality.ID, Modality.IMAGE_PATH)}
