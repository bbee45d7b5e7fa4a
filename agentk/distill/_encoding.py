"""Raw frame -> float32 matrix for students: small, fast, and learned in ``fit`` only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from agentk.competitions import Modality

_MAX_CODES = 1000  # category codes kept per column; rarer values share "unseen"
_ONE_HOT_MAX = 12  # categories with at most this many levels also get 0/1 columns (for linear and MLP students)


class StudentEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Encode a raw frame as a dense ``float32`` matrix that every student (and its ONNX graph) reads.

    Numbers pass through (NaN kept: trees route it, the linear and MLP pipelines impute it); a categorical
    column becomes its integer code (unseen -> NaN), its training frequency and, when it has few levels, 0/1
    indicators; datetimes become parts; text becomes length statistics. Everything learned (codes,
    frequencies) is learned in :meth:`fit`, so the encoder is fold-safe.

    Args:
        columns: modality of each input column (ids and image paths are ignored).
    """

    def __init__(self, columns: dict[str, Modality] | None = None) -> None:
        self.columns = columns

    def fit(self, X: pd.DataFrame, y: Any = None) -> StudentEncoder:
        self.codes_: dict[str, dict[str, int]] = {}
        self.freq_: dict[str, dict[str, float]] = {}
        n = max(len(X), 1)
        for name, modality in (self.columns or {}).items():
            if modality is Modality.CATEGORICAL:
                counts = X[name].astype("string").value_counts(dropna=True)
                kept = sorted(map(str, counts.index[:_MAX_CODES]))
                self.codes_[name] = {v: i for i, v in enumerate(kept)}
                self.freq_[name] = {str(k): float(v) / n for k, v in counts.items()}
        self.feature_names_ = list(self._blocks(X.iloc[:1]))
        return self

    def _blocks(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, modality in (self.columns or {}).items():
            col = X[name]
            if modality is Modality.NUMERIC:
                out[name] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            elif modality is Modality.CATEGORICAL:
                text = col.astype("string")
                codes = text.map(self.codes_[name])
                out[name] = codes.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                out[f"{name}__freq"] = text.map(self.freq_[name]).astype("Float64").to_numpy(dtype=float, na_value=0.0)
                if len(self.codes_[name]) <= _ONE_HOT_MAX:
                    values = out[name]
                    for level, code in self.codes_[name].items():
                        out[f"{name}=={level}"] = (values == code).astype(float)
            elif modality is Modality.DATETIME:
                ts = pd.to_datetime(col, errors="coerce", format="mixed")
                for part in ("year", "month", "dayofweek", "dayofyear", "hour"):
                    out[f"{name}__{part}"] = getattr(ts.dt, part).to_numpy(dtype=float, na_value=np.nan)
            elif modality is Modality.TEXT:
                text = col.fillna("").astype(str)
                out[f"{name}__chars"] = text.str.len().to_numpy(dtype=float)
                out[f"{name}__words"] = text.str.count(r"\S+").to_numpy(dtype=float)
                out[f"{name}__upper"] = text.str.count(r"[A-Z]").to_numpy(dtype=float)
                out[f"{name}__digits"] = text.str.count(r"\d").to_numpy(dtype=float)
                out[f"{name}__punct"] = text.str.count(r"[!?#@]").to_numpy(dtype=float)
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The encoded matrix, ``(n_rows, len(feature_names_))`` in ``float32``."""
        blocks = self._blocks(X)
        if not blocks:
            return np.zeros((len(X), 0), dtype=np.float32)
        return np.column_stack(list(blocks.values())).astype(np.float32)


def student_columns(columns: dict[str, Modality]) -> dict[str, Modality]:
    """The input columns a student reads (ids and image paths left out)."""
    return {c: m for c, m in columns.items() if m not in (Modality.ID, Modality.IMAGE_PATH)}
