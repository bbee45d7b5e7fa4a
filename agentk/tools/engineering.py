"""Feature engineering as a fold-safe transformer whose choices an Optuna trial can search.

:class:`FeatureBuilder` adds columns to the raw frame; everything it learns (which columns are skewed or
important, category means, group statistics, bin edges) it learns in ``fit`` from the rows it is given — in
cross-validation, one fold's training rows. Target encodings of those training rows come from inner folds, so
a row's own target never leaks into its feature (``fit_transform`` returns those).

Choices (``FeatureBuilder(**choices)``; all default off):

* ``split_strings``: split delimited categorical strings (``B/0/P``, ``0001_01``) into parts, plus the
  number of rows sharing each leading part (a group size);
* ``missing_indicators``: ``col__isna`` for numeric columns with missing values;
* ``log_skewed``: ``log1p`` of strongly skewed non-negative numeric columns;
* ``interactions``: ratios and products of the ``k`` numeric columns most related to the target;
* ``bins``: quantile bins of the same columns, as categories;
* ``target_encoding``: smoothed target means of categorical columns (scikit-learn's ``TargetEncoder``:
  the rows it is fit on get cross-fitted encodings, so a row's own target never sets its feature);
* ``group_stats``: mean of each top numeric column per low-cardinality category, and the row's deviation;
* ``pair_encoding``: target encodings and shares of the rows of every pair of the (first ten) categorical columns
  with more than 12 levels, the encodings cross-fitted like ``target_encoding`` (a tree reads one column at a
  time; a pair's mean label is the interaction a CatBoost model finds through its feature combinations). Searched
  only when the inputs are (almost) all categorical (:func:`pairs_worthwhile`): amazon's nine ID-like columns;
* ``geo_rotations``: where a latitude and a longitude column are found by name, the coordinates rotated by
  15, 30, 45 and 60 degrees (trees split on axis-parallel lines; rotated axes let them cut diagonally).
  Pure functions of each row: nothing is learned, so nothing can leak.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import KFold
from sklearn.preprocessing import TargetEncoder

from agentk.competitions import Modality

_DELIMS = ("/", "_", "-", " ")


class FeatureBuilder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Fold-safe feature engineering over the raw frame (see the module docstring).

    Args:
        columns: modality of each input column.
        split_strings: split delimited categorical strings.
        missing_indicators: add missing-value indicators.
        log_skewed: add log1p of skewed numeric columns.
        interactions: number of top numeric columns whose pairwise ratios and products are added (0 = off).
        bins: number of quantile bins for the top numeric columns (0 = off).
        target_encoding: add out-of-fold target encodings of categorical columns.
        group_stats: add group means of top numeric columns by low-cardinality categories.
        geo_rotations: add rotated latitude/longitude coordinates (when both columns exist).
        pair_encoding: add out-of-fold target encodings and shares of pairs of wide categorical columns.
        seed: seed for the inner folds of target encoding.
    """

    def __init__(
        self,
        columns: dict[str, Modality] | None = None,
        split_strings: bool = False,
        missing_indicators: bool = False,
        log_skewed: bool = False,
        interactions: int = 0,
        bins: int = 0,
        target_encoding: bool = False,
        group_stats: bool = False,
        geo_rotations: bool = False,
        pair_encoding: bool = False,
        seed: int = 0,
    ) -> None:
        self.columns = columns
        self.split_strings = split_strings
        self.missing_indicators = missing_indicators
        self.log_skewed = log_skewed
        self.interactions = interactions
        self.bins = bins
        self.target_encoding = target_encoding
        self.group_stats = group_stats
        self.geo_rotations = geo_rotations
        self.pair_encoding = pair_encoding
        self.seed = seed

    # -- fit -------------------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> FeatureBuilder:
        columns = dict(self.columns or {})
        numeric = [c for c, m in columns.items() if m is Modality.NUMERIC]
        categorical = [c for c, m in columns.items() if m is Modality.CATEGORICAL]
        target = _target_signal(y)
        self.splits_: dict[str, tuple[str, int]] = {}
        self.group_counts_: dict[str, dict[str, int]] = {}
        if self.split_strings:
            for c in categorical:
                found = split_pattern(X[c])
                if found:
                    self.splits_[c] = found
                    lead = X[c].astype("string").str.split(re.escape(found[0]), regex=True).str[0]
                    self.group_counts_[c] = {str(k): int(v) for k, v in lead.value_counts().items()}
        self.geo_ = geo_columns(columns) if self.geo_rotations else None
        self.missing_ = [c for c in numeric if X[c].isna().any()] if self.missing_indicators else []
        self.skewed_: list[str] = []
        if self.log_skewed:
            for c in numeric:
                finite = pd.to_numeric(X[c], errors="coerce").dropna().to_numpy(dtype=float)
                if len(finite) > 10 and finite.min() >= 0 and finite.std() > 0 and abs(_skew(finite)) > 1.0:
                    self.skewed_.append(c)
        k = max(self.interactions, 3 if (self.bins or self.group_stats) else 0)
        self.top_ = _top_numeric(X, numeric, target, k)
        self.bin_edges_: dict[str, np.ndarray] = {}
        if self.bins:
            for c in self.top_[:3]:
                finite = pd.to_numeric(X[c], errors="coerce").dropna().to_numpy(dtype=float)
                quantiles = np.linspace(0, 1, self.bins + 1)[1:-1]
                self.bin_edges_[c] = np.unique(np.quantile(finite, quantiles)) if len(finite) else np.array([])
        self.te_columns_ = categorical if self.target_encoding else []
        self.te_: TargetEncoder | None = None
        if self.te_columns_:
            inner = KFold(n_splits=5, shuffle=True, random_state=self.seed)
            self.te_ = TargetEncoder(target_type="continuous", cv=inner)
            self._te_train_ = self.te_.fit_transform(_te_input(X, self.te_columns_), target)
        self.pairs_: list[tuple[str, str]] = []
        self.pair_te_: TargetEncoder | None = None
        if self.pair_encoding:
            wide = [c for c in categorical if X[c].nunique() > _WIDE][:_PAIR_COLUMNS]
            self.pair_levels_ = {c: pd.Index(_te_input(X, [c])[:, 0]).unique() for c in wide}
            self.pairs_ = list(itertools.combinations(wide, 2))
            if self.pairs_:
                inner = KFold(n_splits=5, shuffle=True, random_state=self.seed)
                self.pair_te_ = TargetEncoder(target_type="continuous", cv=inner)
                keys = self._pair_keys(X)
                self._pair_te_train_ = self.pair_te_.fit_transform(keys, target)
                self.pair_freq_ = []  # per pair: its keys (sorted) and their shares of the rows
                for j in range(keys.shape[1]):
                    pair_keys, counts = np.unique(keys[:, j], return_counts=True)
                    self.pair_freq_.append((pair_keys, counts / max(len(X), 1)))
        self.group_means_: dict[tuple[str, str], dict[str, float]] = {}
        if self.group_stats:
            low_card = [c for c in categorical if 2 <= X[c].nunique() <= 50][:3]
            for g, c in itertools.product(low_card, self.top_[:3]):
                values = pd.to_numeric(X[c], errors="coerce")
                means = values.groupby(X[g].astype("string")).mean()
                self.group_means_[(g, c)] = {str(k): float(v) for k, v in means.items()}
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None, **fit_params: Any) -> pd.DataFrame:
        """Fit, then transform the same rows — their target encodings come from inner folds (cross fitting)."""
        if y is None:
            raise ValueError("FeatureBuilder needs the target to fit")
        self.fit(X, y)
        pairs = (self._pair_te_train_, self._pair_freq(self._pair_keys(X))) if self.pair_te_ is not None else None
        return self._transform(X, self._te_train_ if self.te_ is not None else None, pairs)

    # -- transform -------------------------------------------------------------------------------------

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Transform new rows (validation, test): target encodings from all the rows ``fit`` saw."""
        encoded = self.te_.transform(_te_input(X, self.te_columns_)) if self.te_ is not None else None
        pair_te: TargetEncoder | None = getattr(self, "pair_te_", None)  # absent in builders pickled before pairs
        pairs = None
        if pair_te is not None:
            keys = self._pair_keys(X)
            pairs = (pair_te.transform(keys), self._pair_freq(keys))
        return self._transform(X, encoded, pairs)

    def _pair_freq(self, keys: np.ndarray) -> np.ndarray:
        """Each row's pairs' shares of the rows ``fit`` saw (0 for a pair it never saw)."""
        out = np.zeros(keys.shape, dtype=float)
        for j, (values, shares) in enumerate(self.pair_freq_):
            at = np.minimum(np.searchsorted(values, keys[:, j]), len(values) - 1)
            out[:, j] = np.where(values[at] == keys[:, j], shares[at], 0.0)
        return out

    def _pair_keys(self, X: pd.DataFrame) -> np.ndarray:
        """One integer per row and pair: the pair of the two columns' level positions (unseen: a level of its own)."""
        positions = {}
        for c, levels in self.pair_levels_.items():
            pos = np.asarray(levels.get_indexer(_te_input(X, [c])[:, 0]), dtype=np.int64)
            positions[c] = np.where(pos < 0, len(levels), pos)
        keys = [positions[a] * (len(self.pair_levels_[b]) + 1) + positions[b] for a, b in self.pairs_]
        return np.column_stack(keys)

    def _transform(
        self,
        X: pd.DataFrame,
        target_encoded: np.ndarray | None,
        pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        out = X.copy()
        for c, (delim, parts) in self.splits_.items():
            pieces = X[c].astype("string").str.split(re.escape(delim), regex=True, n=parts - 1, expand=True)
            for i in range(parts):
                part = pieces[i] if i in pieces.columns else pd.Series(pd.NA, index=X.index, dtype="string")
                numeric = pd.to_numeric(part, errors="coerce")
                out[f"{c}__part{i}"] = numeric if numeric.notna().mean() > 0.95 else part
            out[f"{c}__group_size"] = pieces[0].map(self.group_counts_[c]).astype("Float64").fillna(0).astype(float)
        for c in self.missing_:
            out[f"{c}__isna"] = X[c].isna().astype(float)
        for c in self.skewed_:
            out[f"{c}__log1p"] = np.log1p(pd.to_numeric(X[c], errors="coerce").clip(lower=0))
        for a, b in itertools.combinations(self.top_[: self.interactions], 2):
            va, vb = pd.to_numeric(X[a], errors="coerce"), pd.to_numeric(X[b], errors="coerce")
            out[f"{a}__x__{b}"] = va * vb
            out[f"{a}__div__{b}"] = va / vb.replace(0, np.nan)
        for c, edges in self.bin_edges_.items():
            values = pd.to_numeric(X[c], errors="coerce").to_numpy()
            out[f"{c}__bin"] = np.where(np.isnan(values), -1, np.searchsorted(edges, values)).astype(str)
        if target_encoded is not None:
            for j, c in enumerate(self.te_columns_):
                out[f"{c}__te"] = target_encoded[:, j]
        if pairs is not None:  # target encodings (cross-fitted for the fit rows) and shares of the rows
            for j, (a, b) in enumerate(self.pairs_):
                out[f"{a}__and__{b}__te"] = pairs[0][:, j]
                out[f"{a}__and__{b}__freq"] = pairs[1][:, j]
        geo: tuple[str, str] | None = getattr(self, "geo_", None)  # absent in builders pickled before it existed
        if geo is not None:
            lat_name, lon_name = geo
            lat = pd.to_numeric(X[lat_name], errors="coerce").to_numpy(dtype=float)
            lon = pd.to_numeric(X[lon_name], errors="coerce").to_numpy(dtype=float)
            for degrees in GEO_ANGLES:
                a = np.deg2rad(degrees)
                out[f"geo__rot{degrees}_x"] = lon * np.cos(a) + lat * np.sin(a)
                out[f"geo__rot{degrees}_y"] = lat * np.cos(a) - lon * np.sin(a)
        for (g, c), means in self.group_means_.items():
            group_mean = X[g].astype("string").map(means).astype("Float64").astype(float)
            out[f"{c}__mean_by_{g}"] = group_mean
            out[f"{c}__minus_mean_by_{g}"] = pd.to_numeric(X[c], errors="coerce") - group_mean
        return out

    def output_columns(self, transformed: pd.DataFrame) -> dict[str, Modality]:
        """Modalities of a transformed frame's columns: the originals keep theirs, added ones are numeric
        (or categorical for text-valued parts and bins)."""
        columns = dict(self.columns or {})
        for name in transformed.columns:
            if name not in columns and "__" in str(name):
                numeric = pd.api.types.is_numeric_dtype(transformed[name])
                columns[str(name)] = Modality.NUMERIC if numeric else Modality.CATEGORICAL
        return columns


def _target_signal(y: np.ndarray) -> np.ndarray:
    """A numeric signal of the target: the value, or for multiclass codes the indicator of the largest class."""
    y = np.asarray(y)
    if y.ndim > 1:
        return np.asarray(y[:, 0], dtype=float)
    values = np.unique(y)
    if np.issubdtype(y.dtype, np.integer) and 2 < len(values) <= 50:
        majority = values[np.argmax([np.sum(y == v) for v in values])]
        return np.asarray(y == majority, dtype=float)
    return np.asarray(y, dtype=float)


def _skew(values: np.ndarray) -> float:
    centred = values - values.mean()
    return float(np.mean(centred**3) / np.mean(centred**2) ** 1.5)


def _top_numeric(X: pd.DataFrame, numeric: list[str], target: np.ndarray, k: int) -> list[str]:
    if k <= 0 or not numeric:
        return []
    scores = {}
    for c in numeric:
        values = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
        mask = ~np.isnan(values)
        if mask.sum() < 10 or np.std(values[mask]) == 0:
            continue
        ranks = pd.Series(values[mask]).rank().to_numpy()
        t = pd.Series(target[mask]).rank().to_numpy()
        scores[c] = abs(float(np.corrcoef(ranks, t)[0, 1])) if np.std(t) > 0 else 0.0
    return sorted(scores, key=lambda c: -scores[c])[:k]


def split_pattern(col: pd.Series) -> tuple[str, int] | None:
    """A delimiter that splits (almost) every value into the same number (2-4) of parts."""
    values = col.dropna().astype(str)
    if values.empty or values.nunique() < 10:
        return None
    sample = values.iloc[:2000]
    for delim in _DELIMS:
        counts = sample.str.count(re.escape(delim)) + 1
        if counts.min() >= 2 and counts.max() <= 4 and (counts == counts.iloc[0]).mean() > 0.98:
            return delim, int(counts.iloc[0])
    return None


_WIDE = 12  # a categorical column with more levels than this is "wide"
_PAIR_COLUMNS = 10  # pairs are made of at most this many wide columns (45 pairs)
GEO_ANGLES = (15, 30, 45, 60)
_LAT = re.compile(r"^(lat|latitude)$|(^|_)lat(itude)?($|_)", re.IGNORECASE)
_LON = re.compile(r"^(lon|lng|long|longitude)$|(^|_)(lon|lng|long|longitude)($|_)", re.IGNORECASE)


def geo_columns(columns: dict[str, Modality]) -> tuple[str, str] | None:
    """(latitude, longitude) numeric columns found by name, when there is exactly one of each."""
    numeric = [c for c, m in columns.items() if m is Modality.NUMERIC]
    lat = [c for c in numeric if _LAT.search(c)]
    lon = [c for c in numeric if _LON.search(c)]
    return (lat[0], lon[0]) if len(lat) == 1 and len(lon) == 1 else None


def _te_input(X: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return X[columns].astype("string").fillna("__nan__").to_numpy(dtype=object)


def search_features(trial: Any, columns: dict[str, Modality]) -> dict[str, Any]:
    """Optuna choices for :class:`FeatureBuilder`, asked only for what the columns make possible."""
    has_cat = any(m is Modality.CATEGORICAL for m in columns.values())
    n_numeric = sum(m is Modality.NUMERIC for m in columns.values())
    choices: dict[str, Any] = {
        "missing_indicators": trial.suggest_categorical("fe_missing", [False, True]),
        "log_skewed": trial.suggest_categorical("fe_log", [False, True]),
    }
    if has_cat:
        choices["split_strings"] = trial.suggest_categorical("fe_split", [False, True])
        choices["target_encoding"] = trial.suggest_categorical("fe_te", [False, True])
        choices["group_stats"] = trial.suggest_categorical("fe_groups", [False, True]) if n_numeric else False
    if n_numeric >= 2:
        choices["interactions"] = trial.suggest_categorical("fe_interactions", [0, 3, 4])
        choices["bins"] = trial.suggest_categorical("fe_bins", [0, 8])
    if geo_columns(columns) is not None:  # asked only then, so other searches draw as before
        choices["geo_rotations"] = trial.suggest_categorical("fe_geo", [False, True])
    if pairs_worthwhile(columns):  # likewise
        choices["pair_encoding"] = trial.suggest_categorical("fe_pairs", [False, True])
    return choices


def pairs_worthwhile(columns: dict[str, Modality]) -> bool:
    """Whether to search pair target encodings: at least three categorical columns, and at least 80 % of the inputs
    categorical. Then the signal is in how the categories combine (amazon-employee-access: nine ID-like columns; a
    distilled student given their pairs' encodings scored 0.9016 test AUC against its 600-s teacher's 0.8964)."""
    inputs = [m for m in columns.values() if m not in (Modality.ID, Modality.IMAGE_PATH)]
    n_cat = sum(m is Modality.CATEGORICAL for m in inputs)
    return n_cat >= 3 and n_cat >= 0.8 * len(inputs)


def evident_features(train: pd.DataFrame, columns: dict[str, Modality]) -> dict[str, Any] | None:
    """Trial parameters (``fe_*``) turning on the feature engineering the columns make evidently worthwhile,
    the rest off; None when there is none.

    Evident: delimited categorical strings (``B/0/P``: split them) and a latitude/longitude pair (rotate it).
    A search starts with a model's defaults plus these (see :func:`agentk.tools.search.search`'s warm start),
    so that this comparison is always made rather than left to the random start-up trials of a short search.
    """
    splittable = any(
        split_pattern(train[c]) is not None for c, m in columns.items() if m is Modality.CATEGORICAL and c in train
    )
    geo = geo_columns(columns) is not None
    if not splittable and not geo:
        return None
    has_cat = any(m is Modality.CATEGORICAL for m in columns.values())
    n_numeric = sum(m is Modality.NUMERIC for m in columns.values())
    params: dict[str, Any] = {"fe_missing": False, "fe_log": False}
    if has_cat:
        params.update(fe_split=splittable, fe_te=False, fe_groups=False)
    if n_numeric >= 2:
        params.update(fe_interactions=0, fe_bins=0)
    if geo:
        params["fe_geo"] = True
    return params
