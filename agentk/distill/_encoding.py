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
        # Per categorical column: every observed value (``levels_``), its code (the top values by count, sorted;
        # rarer ones NaN like unseen values) and its training frequency, aligned by position.
        self.levels_: dict[str, list[str]] = {}
        self.codes_: dict[str, np.ndarray] = {}
        self.freq_: dict[str, np.ndarray] = {}
        self._lookup: dict[str, pd.Index] = {}
        n = max(len(X), 1)
        for name, modality in (self.columns or {}).items():
            if modality is Modality.CATEGORICAL:
                counts = X[name].astype("string").value_counts(dropna=True)
                levels = [str(v) for v in counts.index]
                kept = {v: i for i, v in enumerate(sorted(levels[:_MAX_CODES]))}
                self.levels_[name] = levels
                self.codes_[name] = np.array([kept.get(v, np.nan) for v in levels], dtype=float)
                self.freq_[name] = counts.to_numpy(dtype=float) / n
        self.feature_names_ = list(self._blocks(X.iloc[:1]))
        return self

    def _positions(self, name: str, col: pd.Series) -> np.ndarray:
        """Position of each value in ``levels_[name]`` (-1: missing or unseen)."""
        lookup = self.__dict__.setdefault("_lookup", {})
        if name not in lookup:  # built once per process: hashing thousands of levels per call is the slow part
            lookup[name] = pd.Index(self.levels_[name], dtype=object)
        text = col.astype("string")
        pos = np.asarray(lookup[name].get_indexer(text.fillna("").to_numpy(dtype=object)))
        pos[text.isna().to_numpy()] = -1
        return pos

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lookup", None)
        return state

    def _blocks(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, modality in (self.columns or {}).items():
            col = X[name]
            if modality is Modality.NUMERIC:
                out[name] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            elif modality is Modality.CATEGORICAL:
                pos = self._positions(name, col)
                seen = pos >= 0
                # Index with a padded table so -1 (missing/unseen) lands on NaN code and zero frequency.
                codes = np.append(self.codes_[name], np.nan)[pos]
                out[name] = codes
                out[f"{name}__freq"] = np.where(seen, np.append(self.freq_[name], 0.0)[pos], 0.0)
                if len(self.levels_[name]) <= _ONE_HOT_MAX:
                    for level, code in zip(self.levels_[name], self.codes_[name], strict=True):
                        out[f"{name}=={level}"] = (codes == code).astype(float)
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
