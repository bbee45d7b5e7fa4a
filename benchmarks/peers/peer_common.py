"""Pure helpers shared by run_autogluon.py and run_flaml.py (pandas and numpy only; never imports agentk).

These scripts run inside the peers' own virtual environments (pandas 2.x there, pandas 3 in AgentK's), so
everything here must work with both. The metric table maps AgentK's canonical metric names onto each tool's
own metric and says what the submission must hold: labels, P(positive), one probability column per class, or
values (optionally trained on log1p and mapped back with expm1).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["label", "proba", "multi_proba", "value"]


@dataclass(frozen=True)
class MetricSpec:
    """How one AgentK metric maps onto the peers: prediction kind, each tool's metric, target transform."""

    name: str
    kind: Kind
    autogluon: str
    flaml: str
    log_target: bool = False


# fmt: off
METRICS: dict[str, MetricSpec] = {m.name: m for m in (
    MetricSpec("accuracy", "label",       "accuracy",                "accuracy"),
    MetricSpec("f1",       "label",       "f1",                      "f1"),
    MetricSpec("f1_macro", "label",       "f1_macro",                "macro_f1"),
    MetricSpec("auc",      "proba",       "roc_auc",                 "roc_auc"),
    MetricSpec("logloss",  "proba",       "log_loss",                "log_loss"),
    MetricSpec("mlogloss", "multi_proba", "log_loss",                "log_loss"),
    MetricSpec("rmse",     "value",       "root_mean_squared_error", "rmse"),
    MetricSpec("mse",      "value",       "mean_squared_error",      "mse"),
    MetricSpec("mae",      "value",       "mean_absolute_error",     "mae"),
    MetricSpec("r2",       "value",       "r2",                      "r2"),
    # log-scale errors: train on log1p(y) with plain RMSE, predict expm1 (rmse_log is RMSE of log(x); for
    # targets well above 1, e.g. prices, log1p and log differ by less than 1/x)
    MetricSpec("rmse_log", "value",       "root_mean_squared_error", "rmse", log_target=True),
    MetricSpec("rmsle",    "value",       "root_mean_squared_error", "rmse", log_target=True),
)}
# fmt: on


def metric_spec(name: str) -> MetricSpec:
    """The mapping for AgentK metric ``name``; ValueError names the supported ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(
            f"metric {name!r} is not supported by the peer scripts (known: {', '.join(METRICS)})"
        ) from None


def problem_type(spec: MetricSpec, y: pd.Series) -> Literal["binary", "multiclass", "regression"]:
    """AutoGluon-style problem type from the metric's kind and the target's number of classes."""
    if spec.kind == "value":
        return "regression"
    if spec.kind == "proba":
        return "binary"
    if spec.kind == "multi_proba":
        return "multiclass"
    return "binary" if y.nunique(dropna=True) == 2 else "multiclass"


def positive_class(y: pd.Series) -> Any:
    """AgentK's positive class for binary metrics: 1 / True when the labels are a subset of {0, 1}, else the larger.

    Returns the label as it appears in ``y`` (so it can be passed to the tool and used to index probabilities).
    """
    labels = list(pd.unique(y.dropna()))
    for label in labels:
        if isinstance(label, (bool, np.bool_)) and bool(label):
            return label
    try:
        if {float(v) for v in labels} <= {0.0, 1.0}:
            return next(v for v in labels if float(v) == 1.0)
    except (TypeError, ValueError):
        pass
    try:
        return max(labels)
    except TypeError:
        return max(labels, key=str)


def split_frames(
    train: pd.DataFrame, test: pd.DataFrame, target: str, id_column: str
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Features, target and test features: the id and the target dropped, only columns the test also has."""
    if target not in train.columns:
        raise ValueError(f"target column {target!r} is not in train.csv")
    features = [c for c in train.columns if c not in (target, id_column) and c in test.columns]
    keep = train[target].notna()
    return (
        train.loc[keep, features].reset_index(drop=True),
        train.loc[keep, target].reset_index(drop=True),
        test[features],
    )


def encode_target(y: pd.Series, spec: MetricSpec) -> pd.Series:
    """The target the tool trains on: log1p(y) for log-scale metrics, else y unchanged."""
    if not spec.log_target:
        return y
    values = y.astype(float)
    if (values <= -1).any():
        raise ValueError(f"metric {spec.name} needs targets > -1 to train on log1p")
    return pd.Series(np.log1p(values.to_numpy()), index=y.index, name=y.name)


def decode_values(values: Any, spec: MetricSpec) -> np.ndarray:
    """Map the tool's regression predictions back to the target's scale (expm1 for log-scale metrics)."""
    out = np.asarray(values, dtype=float)
    if spec.log_target:
        out = np.expm1(out)
        out = np.clip(out, 0.0, None)  # log metrics reject negatives
    return out


def _match_column(columns: list[Any], wanted: str) -> Any:
    for column in columns:
        if str(column) == wanted:
            return column
    for column in columns:  # 1 vs 1.0, True vs "True"
        try:
            if float(column) == float(wanted):
                return column
        except (TypeError, ValueError):
            continue
    raise ValueError(f"no predicted probability column for class {wanted!r} (classes: {[str(c) for c in columns]})")


def make_submission(
    sample: pd.DataFrame,
    ids: pd.Series | None,
    spec: MetricSpec,
    *,
    labels: Any = None,
    proba: pd.DataFrame | None = None,
    values: Any = None,
    positive: Any = None,
) -> pd.DataFrame:
    """A submission with the sample's columns, one row per test row (ids from the test, else the sample's).

    ``labels`` for label metrics, ``proba`` (one column per class, named by class) for probability metrics,
    ``values`` (already decoded) for regression.
    """
    id_column = str(sample.columns[0])
    pred_columns = [str(c) for c in sample.columns[1:]]
    out = pd.DataFrame({id_column: (sample[id_column] if ids is None else ids).to_numpy()})
    if spec.kind == "multi_proba":
        if proba is None:
            raise ValueError("multi_proba needs proba")
        columns = list(proba.columns)
        matrix = np.column_stack([proba[_match_column(columns, c)].to_numpy(dtype=float) for c in pred_columns])
        matrix = np.clip(matrix, 0.0, 1.0)
        for i, column in enumerate(pred_columns):
            out[column] = matrix[:, i]
        return out
    if len(pred_columns) != 1:
        raise ValueError(f"{spec.name}: expected one prediction column in the sample, got {pred_columns}")
    column = pred_columns[0]
    if spec.kind == "label":
        if labels is None:
            raise ValueError("label metrics need labels")
        out[column] = np.asarray(labels)
    elif spec.kind == "proba":
        if proba is None:
            raise ValueError("probability metrics need proba")
        key = _match_column(list(proba.columns), str(positive))
        out[column] = np.clip(proba[key].to_numpy(dtype=float), 0.0, 1.0)
    else:
        if values is None:
            raise ValueError("regression metrics need values")
        out[column] = np.asarray(values, dtype=float)
    if len(out) != len(sample):
        raise ValueError(f"{len(out)} predictions for {len(sample)} sample rows")
    return out


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The command line shared by the peer scripts."""
    parser = argparse.ArgumentParser(description=description)
    for name in ("train", "test", "sample", "out"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--id", required=True, dest="id_column")
    parser.add_argument("--metric", required=True, help=f"AgentK metric name: {', '.join(METRICS)}")
    parser.add_argument("--direction", choices=("higher", "lower"), required=True)
    parser.add_argument("--budget", type=float, required=True, help="seconds for the whole script")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def fit_seconds(budget: float, started: float, *, reserve_fraction: float = 0.1, minimum: float = 10.0) -> float:
    """Seconds left for fitting: the budget minus what has elapsed since ``started`` and a reserve for predicting."""
    left = budget - (time.monotonic() - started) - max(5.0, reserve_fraction * budget)
    return max(minimum, left)


def load_inputs(
    args: argparse.Namespace,
) -> tuple[MetricSpec, pd.DataFrame, pd.Series, pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """Read the files: metric spec, X, y, X_test, sample submission and test ids (None if the test has no id)."""
    spec = metric_spec(args.metric)
    train = pd.read_csv(args.train)
    test = pd.read_csv(args.test)
    sample = pd.read_csv(args.sample)
    if len(test) != len(sample):
        raise ValueError(f"test has {len(test)} rows but the sample submission {len(sample)}")
    X, y, X_test = split_frames(train, test, args.target, args.id_column)
    ids = test[args.id_column] if args.id_column in test.columns else None
    return spec, X, y, X_test, sample, ids


def report(info: dict[str, Any]) -> None:
    """The last stdout line of a peer script: one JSON object the suite reads."""
    print("PEER_RESULT " + json.dumps(info, default=str), flush=True)
