"""Raw frame -> float32 matrix for students: small, fast, and learned in ``fit`` only."""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from agentk.competitions import Modality
from agentk.tools.engineering import split_pattern
from agentk.tools.text_stats import text_statistics

_MAX_CODES = 1000  # category codes kept per column; rarer values share "unseen"
_ONE_HOT_MAX = 12  # categories with at most this many levels also get 0/1 columns (for linear and MLP students)
TARGET_TYPES = ("binary", "multiclass", "continuous")
# Pairs of wide categorical columns (binary and continuous targets): the first this many wide columns pair up; a
# pair keeps its most frequent levels up to a bound (amazon's 36 pairs keep all theirs: an 11-MB student; capping
# them at 10,000 cost 0.003 AUC, since a pair seen once before is worth knowing).
_PAIR_COLUMNS = 10
_PAIR_LEVELS = 50_000


class StudentEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Encode a raw frame as a dense ``float32`` matrix that every student (and its ONNX graph) reads.

    Numbers pass through (NaN kept: trees route it, the linear and MLP pipelines impute it); a categorical
    column becomes its integer code (unseen -> NaN), its training frequency and, when it has few levels, 0/1
    indicators; datetimes become parts; text becomes length statistics and the TF-IDF weights of its most frequent
    words and word pairs. A categorical column of delimited values (``B/0/P``) also gets its parts, each encoded as
    a number or a category of its own. Everything learned (codes, frequencies, splits) is learned in :meth:`fit`,
    so the encoder is fold-safe.

    Given labels (``fit(X, y)`` / ``fit_transform(X, y)``) and a ``target_type``, a categorical column with more
    than 12 levels also gets its **target encoding** (scikit-learn's ``TargetEncoder``: the smoothed mean label per
    level, one column per class for multiclass): a shallow student cannot carve thousands of codes into useful
    splits, and a per-level mean is what it needs (amazon-employee-access: nine columns of up to 7,500 levels).
    ``fit_transform`` returns the **cross-fitted** encodings for the rows it learned from (each row's value
    computed without its own label, 5 folds), so a student trained on them does not read its own label;
    ``transform`` looks every row up in the encodings learned from all rows (new rows, synthetic rows).
    Unseen levels get the label mean; missing values are a level of their own. For a binary or continuous target,
    each **pair** of the (first ten) wide columns is a category too, with its frequency and target encoding: what
    a CatBoost teacher reads from its feature combinations and a shallow student cannot build from the columns one
    at a time (amazon, LightGBM-large on labels, 3-fold CV AUC: 0.8472 without pairs, 0.8688 with them).

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
        self._lookup: dict[str, dict[str, int]] = {}
        self.splits_ = _learn_splits(X, self.columns or {})
        self.pairs_: list[tuple[str, str]] = []
        self.pair_keys_: dict[str, np.ndarray] = {}
        raw, X = X, X.assign(**self._expand(X))
        n = max(len(X), 1)
        for name, modality in self._columns().items():
            if modality is Modality.CATEGORICAL:
                counts = _counts(X[name])
                levels = [str(v) for v in counts.index]
                kept = {v: i for i, v in enumerate(sorted(levels[:_MAX_CODES]))}
                self.levels_[name] = levels
                self.codes_[name] = np.array([kept.get(v, np.nan) for v in levels], dtype=float)
                self.freq_[name] = counts.to_numpy(dtype=float) / n
        if y is not None and self.target_type in ("binary", "continuous"):
            wide = [
                c for c, m in (self.columns or {}).items() if c in self.levels_ and len(self.levels_[c]) > _ONE_HOT_MAX
            ]
            self.pairs_ = list(itertools.combinations(wide[:_PAIR_COLUMNS], 2))
            base: dict[str, np.ndarray] = {}
            for a, b in self.pairs_:
                keys, occurrences = np.unique(self._pair_keys(a, b, X, base), return_counts=True)
                keep = np.arange(len(keys))
                if len(keep) > _PAIR_LEVELS:  # the rarest pairs share "unseen"
                    keep = np.sort(np.argsort(-occurrences, kind="stable")[:_PAIR_LEVELS])
                self.pair_keys_[_pair_name(a, b)] = keys[keep]  # sorted: looked up by binary search
                self.freq_[_pair_name(a, b)] = occurrences[keep] / n
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
        self.feature_names_ = list(self._blocks(raw.iloc[:1])) + words
        return crossed

    def _fit_target_encoding(self, X: pd.DataFrame, y: Any) -> dict[str, np.ndarray]:
        """Learn ``te_[column]``, a lookup table (levels, then unseen, then missing) x encoded columns; returns the
        cross-fitted encodings of ``X``'s rows per column."""
        self.te_: dict[str, np.ndarray] = {}
        if y is None or self.target_type is None:
            return {}
        if self.target_type not in TARGET_TYPES:
            raise ValueError(f"target_type must be one of {', '.join(TARGET_TYPES)}, not {self.target_type!r}")
        wide = [n for n in [*self.levels_, *self.pair_keys_] if self._n_levels(n) > _ONE_HOT_MAX]
        if not wide:
            return {}
        base: dict[str, np.ndarray] = {}
        positions = np.column_stack([self._positions(n, X, base) for n in wide])
        target = np.asarray(y, dtype=float if self.target_type == "continuous" else int)
        split = KFold if self.target_type == "continuous" else StratifiedKFold
        te = TargetEncoder(target_type=self.target_type, cv=split(5, shuffle=True, random_state=self.seed))
        crossed = te.fit_transform(positions, target)
        width = crossed.shape[1] // len(wide)  # 1, or the number of classes (feature-major order)
        prior = np.atleast_1d(np.asarray(te.target_mean_, dtype=float))
        crossed_by_column: dict[str, np.ndarray] = {}
        for i, name in enumerate(wide):
            n_levels = self._n_levels(name)
            table = np.tile(prior, (n_levels + 2, 1))  # unseen (row n_levels) and missing (n_levels + 1): the prior
            for j in range(width):
                table[te.categories_[i], j] = te.encodings_[i * width + j]
            self.te_[name] = table
            crossed_by_column[name] = crossed[:, i * width : (i + 1) * width]
        return crossed_by_column

    def _n_levels(self, name: str) -> int:
        pairs: dict[str, np.ndarray] = getattr(self, "pair_keys_", {})  # absent in encoders pickled before pairs
        return len(pairs[name]) if name in pairs else len(self.levels_[name])

    def _positions(self, name: str, X: pd.DataFrame, base: dict[str, np.ndarray]) -> np.ndarray:
        """Level positions of categorical column ``name`` of ``X``, or of a pair of columns (then ``base`` caches
        the positions of the columns it is made of; see :meth:`_level_positions`)."""
        pairs: dict[str, np.ndarray] = getattr(self, "pair_keys_", {})
        if name not in pairs:
            if name not in base:
                base[name] = self._level_positions(name, X[name])
            return base[name]
        a, b = next(p for p in self.pairs_ if _pair_name(*p) == name)
        keys, table = self._pair_keys(a, b, X, base), pairs[name]
        at = np.minimum(np.searchsorted(table, keys), max(len(table) - 1, 0))
        found = table[at] == keys if len(table) else np.zeros(len(keys), dtype=bool)
        return np.where(found, at, len(table))

    def _pair_keys(self, a: str, b: str, X: pd.DataFrame, base: dict[str, np.ndarray]) -> np.ndarray:
        """One integer per row for the pair of values of columns ``a`` and ``b`` (from their level positions:
        unseen and missing values are values of their own here)."""
        pos_a, pos_b = self._positions(a, X, base), self._positions(b, X, base)
        return np.asarray(pos_a.astype(np.int64) * (len(self.levels_[b]) + 2) + pos_b, dtype=np.int64)

    def _level_positions(self, name: str, col: pd.Series) -> np.ndarray:
        """Row of each value in ``te_[name]``: its level's position, ``n_levels`` if unseen, ``n_levels + 1`` if
        missing."""
        text, missing = _as_text(col)
        n_levels = len(self.levels_[name])
        # A dict lookup per value: for the few thousand rows of a prediction call, several times faster than
        # pandas' get_indexer, which builds an Index of the values first.
        pos = np.fromiter(map(self._index(name).get, text, itertools.repeat(n_levels)), dtype=np.int64, count=len(text))
        pos[missing] = n_levels + 1
        return pos

    def _index(self, name: str) -> dict[str, int]:
        lookup = self.__dict__.setdefault("_lookup", {})
        if name not in lookup:  # built once per process: hashing thousands of levels per call is the slow part
            lookup[name] = {level: i for i, level in enumerate(self.levels_[name])}
        index: dict[str, int] = lookup[name]
        return index

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lookup", None)
        return state

    def _columns(self) -> dict[str, Modality]:
        """The input columns, then the parts of split columns (numeric or categorical)."""
        columns = dict(self.columns or {})
        for name, split in getattr(self, "splits_", {}).items():  # absent in encoders pickled before splitting
            for i in range(split.parts):
                columns[f"{name}__part{i}"] = Modality.NUMERIC if i in split.numeric else Modality.CATEGORICAL
        for a, b in getattr(self, "pairs_", []):
            columns[_pair_name(a, b)] = Modality.CATEGORICAL
        return columns

    def _expand(self, X: pd.DataFrame) -> dict[str, pd.Series]:
        """The parts of ``X``'s split columns (see :func:`_learn_splits`), by column name."""
        added: dict[str, pd.Series] = {}
        for name, split in getattr(self, "splits_", {}).items():
            text, missing = _as_text(X[name])
            text[missing] = None  # "" would split into one empty part
            pieces = [t.split(split.delim, split.parts - 1) if t is not None else () for t in text]
            # Transposed, short rows padded with None: one tuple of values per part.
            columns = list(itertools.zip_longest(*pieces))[: split.parts] if len(pieces) else []
            for i in range(split.parts):
                values = columns[i] if i < len(columns) else [None] * len(X)
                part = pd.Series(values, index=X.index, dtype=object)
                added[f"{name}__part{i}"] = pd.to_numeric(part, errors="coerce") if i in split.numeric else part
        return added

    def _blocks(self, X: pd.DataFrame, crossed: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        target_encoded = getattr(self, "te_", {})  # absent in encoders pickled before target encoding
        frame = X.assign(**self._expand(X)) if getattr(self, "splits_", None) else X
        base: dict[str, np.ndarray] = {}  # level positions of the columns pairs are made of
        for name, modality in self._columns().items():
            if modality is Modality.NUMERIC:
                out[name] = _numbers(frame[name])
            elif modality is Modality.CATEGORICAL:  # an input column, a part of one or a pair of them
                pos = self._positions(name, frame, base)
                seen = pos < self._n_levels(name)
                # Index padded tables: unseen and missing land on a NaN code and zero frequency.
                if name in self.codes_:  # a pair of columns has only its frequency and target encoding
                    codes = np.append(self.codes_[name], [np.nan, np.nan])[pos]
                    out[name] = codes
                out[f"{name}__freq"] = np.where(seen, np.append(self.freq_[name], [0.0, 0.0])[pos], 0.0)
                if name in self.codes_ and len(self.levels_[name]) <= _ONE_HOT_MAX:
                    for level, code in zip(self.levels_[name], self.codes_[name], strict=True):
                        out[f"{name}=={level}"] = (codes == code).astype(float)
                if name in target_encoded:
                    table = crossed[name] if crossed and name in crossed else target_encoded[name][pos]
                    for j in range(table.shape[1]):
                        out[f"{name}__te" if table.shape[1] == 1 else f"{name}__te{j}"] = table[:, j]
            elif modality is Modality.DATETIME:
                ts = pd.to_datetime(frame[name], errors="coerce", format="mixed")
                for part in ("year", "month", "day_of_week", "day_of_year", "hour"):
                    out[f"{name}__{part}"] = getattr(ts.dt, part).to_numpy(dtype=float, na_value=np.nan)
            elif modality is Modality.TEXT:
                for stat, values in text_statistics(frame[name]).items():
                    out[f"{name}__{stat}"] = values
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


def _pair_name(a: str, b: str) -> str:
    return f"{a}__and__{b}"


def _counts(col: pd.Series) -> pd.Series:
    """Occurrences of each value of a categorical column (as text), most frequent first; missing values left out."""
    text, missing = _as_text(col)
    return pd.Series(text[~missing]).value_counts()


class _Split(NamedTuple):
    delim: str
    parts: int
    numeric: frozenset[int]  # the parts read as numbers


def _learn_splits(X: pd.DataFrame, columns: dict[str, Modality]) -> dict[str, _Split]:
    """Categorical columns whose values split on one delimiter into the same 2-4 parts (``B/0/P``), with the parts
    that are numbers: the rule by which the teacher's feature engineering splits them (its ``split_strings``), so
    the student reads the parts too (a cabin's deck and side) instead of only thousands of whole values. A split
    is kept when some part is a number or has few levels: the parts of names (first, last) are nearly as many as
    the names, cost a student more time than they teach it (spaceship-titanic, LightGBM on labels, 2 x 5-fold CV
    accuracy: no split 0.7982, cabin 0.8106, cabin and name 0.8085)."""
    splits: dict[str, _Split] = {}
    for name, modality in columns.items():
        found = split_pattern(X[name]) if modality is Modality.CATEGORICAL else None
        if found is None:
            continue
        delim, parts = found
        values = X[name].dropna().astype(str).str.split(delim, n=parts - 1, expand=True, regex=False)
        numeric = frozenset(
            i for i in range(parts) if i in values and pd.to_numeric(values[i], errors="coerce").notna().mean() > 0.95
        )
        coarse = any(i in values and values[i].nunique() <= _ONE_HOT_MAX for i in range(parts) if i not in numeric)
        if numeric or coarse:  # a number or a shared attribute (a deck, a side); not a name's near-unique parts
            splits[name] = _Split(delim, parts, numeric)
    return splits


def _numbers(col: pd.Series) -> np.ndarray:
    """A numeric column as floats (NaN for missing or unparsable values)."""
    if col.dtype.kind in "biuf":  # already numbers: skip to_numeric's parsing and its Series
        return col.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


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
