"""A sparse linear model: TF-IDF for text, one-hot for categories, scaled numbers; fit inside each fold."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from agentk.competitions import Modality
from agentk.tools.cv import CVResult, Deadline
from agentk.tools.target import TargetCodec

_C_GRID = (0.1, 0.3, 1.0, 3.0)


def _prepare(frame: pd.DataFrame, columns: dict[str, Modality]) -> pd.DataFrame:
    """Stateless clean-up (nothing learned): categories and text as strings, numbers as floats."""
    out: dict[str, pd.Series] = {}
    for name, modality in columns.items():
        if modality is Modality.NUMERIC:
            out[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
        elif modality in (Modality.CATEGORICAL, Modality.TEXT):
            out[name] = frame[name].astype("string").fillna("").astype(str)
    return pd.DataFrame(out, index=frame.index)


def _transformer(columns: dict[str, Modality]) -> ColumnTransformer:
    parts: list[tuple[str, Any, Any]] = []
    numeric = [c for c, m in columns.items() if m is Modality.NUMERIC]
    categorical = [c for c, m in columns.items() if m is Modality.CATEGORICAL]
    if numeric:
        parts.append(
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                numeric,
            )
        )
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=2), categorical))
    for name in (c for c, m in columns.items() if m is Modality.TEXT):
        parts.append(
            (
                f"{name}_w",
                TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000),
                name,
            )
        )
        parts.append(
            (
                f"{name}_c",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=200_000
                ),
                name,
            )
        )
    return ColumnTransformer(parts, sparse_threshold=1.0)


def _model(codec: TargetCodec, c: float, seed: int) -> Any:
    if codec.is_classification:
        return LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return Ridge(alpha=1.0 / c, random_state=seed)


def _predict(pipe: Pipeline, x: pd.DataFrame, codec: TargetCodec) -> np.ndarray:
    if codec.is_classification:
        proba = np.asarray(pipe.predict_proba(x), dtype=float)
        return proba[:, 1] if codec.n_classes == 2 else proba
    return np.asarray(pipe.predict(x), dtype=float)


def usable_columns(codec: TargetCodec) -> dict[str, Modality]:
    keep = (Modality.NUMERIC, Modality.CATEGORICAL, Modality.TEXT)
    return {c: m for c, m in codec.task.columns.items() if m in keep}


def train_linear(
    train: pd.DataFrame,
    test: pd.DataFrame,
    y: pd.Series,
    codec: TargetCodec,
    folds: list[tuple[np.ndarray, np.ndarray]],
    deadline: Deadline,
    *,
    seed: int = 42,
) -> CVResult:
    """Cross-validate the linear model; the strength C is picked on the first fold, then kept."""
    start = time.monotonic()
    columns = usable_columns(codec)
    x_all, x_test = _prepare(train, columns), _prepare(test, columns)
    target = codec.encode(y)
    shape = (len(train), codec.n_classes) if codec.is_classification and codec.n_classes > 2 else (len(train),)
    oof = np.zeros(shape)
    test_pred = np.zeros((len(test), *shape[1:]))
    fold_scores: list[float] = []
    best_c = _C_GRID[1]
    done = 0
    for k, (tr, va) in enumerate(folds):
        if deadline.expired:
            break
        candidates = _C_GRID if k == 0 else (best_c,)
        best_score: float | None = None
        for c in candidates:
            pipe = Pipeline([("features", _transformer(columns)), ("model", _model(codec, c, seed))])
            pipe.fit(x_all.iloc[tr], target[tr])
            pred = _predict(pipe, x_all.iloc[va], codec)
            s = codec.score(y.iloc[va], pred)
            if best_score is None or codec.metric.better(s, best_score):
                best_score, best_c, best_pipe, best_pred = s, c, pipe, pred
            if deadline.expired:
                break
        oof[va] = best_pred
        test_pred += _predict(best_pipe, x_test, codec)
        fold_scores.append(float(best_score if best_score is not None else codec.metric.worst))
        done += 1
    if done:
        test_pred /= done
    rows = np.concatenate([va for _, va in folds[:done]]) if done else np.array([], dtype=int)
    score = codec.score(y.iloc[rows], oof[rows]) if done else codec.metric.worst
    return CVResult(
        "linear",
        oof,
        test_pred,
        score,
        time.monotonic() - start,
        done == len(folds),
        fold_scores,
        {"C": best_c},
    )
