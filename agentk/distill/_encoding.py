"""Raw frame -> float32 matrix for students: small, fast, and learned in ``fit`` only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from agentk.competitions import Modality

_MAX_CODES = 1000  # category codes kept per column; rarer values share "unseen"
_ONE_HOT_MAX = 12  # categories with at most this many levels also get 0/1 columns (for linear and MLP students)
TARGET_TYPES = ("binary", "multiclass", "continuous")


class StudentEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Encode a raw frame as a dense ``float32`` matrix that every student (and its ONNX graph) reads.

    Numbers pass through (NaN kept: trees route it, the linear and MLP pipelines impute it); a categorical
    column becomes its integer code (unseen -> NaN), its training frequency and, when it has few levels, 0/1
    indicators; datetimes become parts; text becomes length statistics and the TF-IDF weights of its most frequent
    words and word pairs. Everything learned (codes,
    frequencies) is learned in :meth:`fit`, so the encoder is fold-safe.

    Given labels (``fit(X, y)`` / ``fit_transform(X, y)``) and a ``target_type``, a categorical column with more
    than 12 levels also gets its **target encoding** (scikit-learn's ``TargetEncoder``: the smoothed mean label per
    level, one column per class for multiclass): a shallow student cannot carve thousands of codes into useful
    splits, and a per-level mean is what it needs (amazon-employee-access: nine columns of up to 7,500 levels).
    ``fit_transform`` returns the **cross-fitted** encodings for the rows it learned from (each row's value
    computed without its own label, 5 folds), so a student trained on them does not read its own label;
    ``transform`` looks every row up in the encodings learned from all rows (new rows, synthetic rows).
    Unseen levels get the label mean; missing values are a level of their own.

    Args:
        columns: modality of each input column (ids and image paths are ignored).
        text_features: words kept per text column as TF-IDF features (1- and 2-grams; 0: length statistics only).
        target_type: ``"binary"`` / ``"multiclass"`` (``y`` holds class indices) or ``"continuous"``; ``None``:
            no target encoding even when ``y`` is given.
        seed: shuffles the target encoder's cross-fitting folds.
    """

    def __init__(
        self,
        columns: dict[str, Modality] | None = None,
        text_features: int = 1000,
        target_type: str | None = None,
        seed: int = 0,
    ) -> None:
        self.columns = columns
        self.text_features = text_features
        self.target_type = target_type
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: Any = None) -> StudentEncoder:
        self._fit(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit, and encode ``X`` with cross-fitted target encodings (see the class docstring)."""
        crossed = self._fit(X, y)
        return self._matrix(X, crossed)

    def _fit(self, X: pd.DataFrame, y: Any) -> dict[str, np.ndarray]:
        # Per categorical column: every observed value (``levels_``), its code (the top values by count, sorted;
        # rarer ones NaN like unseen values) and its training frequency, aligned by position.
        self.levels_: dict[str, list[str]] = {}
        self.codes_: dict[str, np.ndarray] = {}
        self.freq_: dict[str, np.ndarray] = {}
        self._lookup: dict[str, pd.Index] = {}
        n = max(len(X), 1)
        for name, modality in (self.columns or {}).items():
            if modality is Modality.CATEGORICAL:
                text, missing = _as_text(X[name])
                counts = pd.Series(text[~missing]).value_counts()
                levels = [str(v) for v in counts.index]
                kept = {v: i for i, v in enumerate(sorted(levels[:_MAX_CODES]))}
                self.levels_[name] = levels
                self.codes_[name] = np.array([kept.get(v, np.nan) for v in levels], dtype=float)
                self.freq_[name] = counts.to_numpy(dtype=float) / n
        self.tfidf_: dict[str, TfidfVectorizer] = {}
        for name, modality in (self.columns or {}).items():
            if modality is Modality.TEXT and self.text_features > 0:
                vectorizer = TfidfVectorizer(
                    ngram_range=(1, 2), min_df=2, max_features=self.text_features, sublinear_tf=True, dtype=np.float32
                )
                try:
                    self.tfidf_[name] = vectorizer.fit(X[name].fillna("").astype(str))
                except ValueError:  # no word occurs twice: the length statistics are all there is
                    continue
        crossed = self._fit_target_encoding(X, y)
        words = [f"{c}__w_{w}" for c, v in self.tfidf_.items() for w in v.get_feature_names_out()]
        self.feature_names_ = list(self._blocks(X.iloc[:1])) + words
        return crossed

    def _fit_target_encoding(self, X: pd.DataFrame, y: Any) -> dict[str, np.ndarray]:
        """Learn ``te_[column]``, a lookup table (levels, then unseen, then missing) x encoded columns; returns the
        cross-fitted encodings of ``X``'s rows per column."""
        self.te_: dict[str, np.ndarray] = {}
        if y is None or self.target_type is None:
            return {}
        if self.target_type not in TARGET_TYPES:
            raise ValueError(f"target_type must be one of {', '.join(TARGET_TYPES)}, not {self.target_type!r}")
        wide = [n for n, levels in self.levels_.items() if len(levels) > _ONE_HOT_MAX]
        if not wide:
            return {}
        positions = np.column_stack([self._level_positions(n, X[n]) for n in wide])
        target = np.asarray(y, dtype=float if self.target_type == "continuous" else int)
        split = KFold if self.target_type == "continuous" else StratifiedKFold
        te = TargetEncoder(target_type=self.target_type, cv=split(5, shuffle=True, random_state=self.seed))
        crossed = te.fit_transform(positions, target)
        width = crossed.shape[1] // len(wide)  # 1, or the number of classes (feature-major order)
        prior = np.atleast_1d(np.asarray(te.target_mean_, dtype=float))
        crossed_by_column: dict[str, np.ndarray] = {}
        for i, name in enumerate(wide):
            n_levels = len(self.levels_[name])
            table = np.tile(prior, (n_levels + 2, 1))  # unseen (row n_levels) and missing (n_levels + 1): the prior
            for j in range(width):
                table[te.categories_[i], j] = te.encodings_[i * width + j]
            self.te_[name] = table
            crossed_by_column[name] = crossed[:, i * width : (i + 1) * width]
        return crossed_by_column

    def _level_positions(self, name: str, col: pd.Series) -> np.ndarray:
        """Row of each value in ``te_[name]``: its level's position, ``n_levels`` if unseen, ``n_levels + 1`` if
        missing."""
        text, missing = _as_text(col)
        n_levels = len(self.levels_[name])
        pos = np.asarray(self._index(name).get_indexer(text))  # type: ignore[arg-type]  # (an array works)
        pos[pos < 0] = n_levels
        pos[missing] = n_levels + 1
        return pos

    def _index(self, name: str) -> pd.Index:
        lookup = self.__dict__.setdefault("_lookup", {})
        if name not in lookup:  # built once per process: hashing thousands of levels per call is the slow part
            lookup[name] = pd.Index(self.levels_[name], dtype=object)
        index: pd.Index = lookup[name]
        return index

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lookup", None)
        return state

    def _blocks(self, X: pd.DataFrame, crossed: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        target_encoded = getattr(self, "te_", {})  # absent in encoders pickled before target encoding
        for name, modality in (self.columns or {}).items():
            col = X[name]
            if modality is Modality.NUMERIC:
                out[name] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            elif modality is Modality.CATEGORICAL:
                pos = self._level_positions(name, col)
                seen = pos < len(self.levels_[name])
                # Index padded tables: unseen and missing land on a NaN code and zero frequency.
                codes = np.append(self.codes_[name], [np.nan, np.nan])[pos]
                out[name] = codes
                out[f"{name}__freq"] = np.where(seen, np.append(self.freq_[name], [0.0, 0.0])[pos], 0.0)
                if len(self.levels_[name]) <= _ONE_HOT_MAX:
                    for level, code in zip(self.levels_[name], self.codes_[name], strict=True):
                        out[f"{name}=={level}"] = (codes == code).astype(float)
                if name in target_encoded:
                    table = crossed[name] if crossed and name in crossed else target_encoded[name][pos]
                    for j in range(table.shape[1]):
                        out[f"{name}__te" if table.shape[1] == 1 else f"{name}__te{j}"] = table[:, j]
            elif modality is Modality.DATETIME:
                ts = pd.to_datetime(col, errors="coerce", format="mixed")
                for part in ("year", "month", "day_of_week", "day_of_year", "hour"):
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
        return self._matrix(X)

    def _matrix(self, X: pd.DataFrame, crossed: dict[str, np.ndarray] | None = None) -> np.ndarray:
        blocks = self._blocks(X, crossed)
        dense = (
            np.column_stack(list(blocks.values())).astype(np.float32)
            if blocks
            else np.zeros((len(X), 0), dtype=np.float32)
        )
        words = [v.transform(X[c].fillna("").astype(str)).toarray() for c, v in self.tfidf_.items()]
        return np.hstack([dense, *words]).astype(np.float32) if words else dense


def _as_text(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column's values as strings (object array) and its missing mask; much faster than ``astype("string")``."""
    values = col.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    if col.dtype.kind == "f":
        # An integer column read as float (a NaN in the test file) must give "60", as it did in training, not "60.0".
        numbers = col.to_numpy(dtype=float)
        finite = numbers[~missing]
        if np.all(finite == np.round(finite)):
            values = np.where(missing, 0, numbers).astype(np.int64)
    text = values.astype(str).astype(object)  # numpy's str() of each value, in C
    text[missing] = ""
    return text, missing


def student_columns(columns: dict[str, Modality]) -> dict[str, Modality]:
    """The input columns a student reads (ids and image paths left out)."""
    return {c: m for c, m in columns.items() if m not in (Modality.ID, Modality.IMAGE_PATH)}
