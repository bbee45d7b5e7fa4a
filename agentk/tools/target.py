"""From raw targets to model targets and from model outputs back to submission values.

Model outputs are kept in one shape per task: binary -> P(positive class) as ``(n,)``; multiclass and
ordinal -> class probabilities ``(n, k)``; regression -> values ``(n,)`` in the model's space (log1p for
log-error metrics); multi-label -> P(label) per label ``(n, L)``; multi-target regression -> values
``(n, T)`` in model space. Multi-output targets come in as a DataFrame (``train[task.target_key]``), one
column per target.

Post-processing learnt from out-of-fold predictions (:meth:`TargetCodec.tune_threshold`): the cut-off of a
binary label metric (F1, accuracy, MCC), and the kappa-optimal cut points of an ordinal task scored by QWK
(predictions become the expected rating, cut at thresholds searched by coordinate ascent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from agentk.competitions import TaskSpec, TaskType
from agentk.competitions.metrics import Metric, get_metric
from agentk.errors import TaskInferenceError

Target: TypeAlias = pd.Series | pd.DataFrame

_LOG_METRICS = {"rmsle", "rmse_log", "mcrmsle"}
_VALUE_LABEL_METRICS = {"qwk"}  # weighted by the distance between label values, not between class indices
_SUPPORTED = (
    TaskType.BINARY,
    TaskType.MULTICLASS,
    TaskType.ORDINAL,
    TaskType.REGRESSION,
    TaskType.MULTILABEL,
    TaskType.MULTI_REGRESSION,
)
# How a multi-output metric scores one column; the mean over columns is the task's score.
_COLUMN_METRIC = {
    "auc_multilabel": "auc",
    "logloss_multilabel": "logloss",
    "mcrmse": "rmse",
    "mcrmsle": "rmsle",
}
_MULTI_INPUTS = {TaskType.MULTILABEL: ("proba", "multi_proba"), TaskType.MULTI_REGRESSION: ("value", "multi_value")}
_CUT_GRID = 24  # candidate positions per cut point and pass
_CUT_PASSES = 3


@dataclass
class TargetCodec:
    """Encodes the target for models and decodes predictions for the submission and the metric.

    Attributes:
        task: the task.
        metric: the task's metric.
        log_target: regression targets are modelled as ``log1p`` (log-error metrics on non-negative targets).
        threshold: binary cut-off for label metrics (see :meth:`tune_threshold`).
        cuts: ordinal cut points on the expected class index (see :meth:`tune_threshold`); None: argmax.
    """

    task: TaskSpec
    metric: Metric
    log_target: bool = False
    threshold: float = 0.5
    cuts: tuple[float, ...] | None = None

    @classmethod
    def for_task(cls, task: TaskSpec, y: Target) -> TargetCodec:
        """The codec of ``task``; ``y`` is ``train[task.target_key]`` (a DataFrame for multi-output tasks)."""
        if task.task_type not in _SUPPORTED:
            raise TaskInferenceError(
                f"task type {task.task_type.value} is not supported yet",
                hint="supported: " + ", ".join(t.value for t in _SUPPORTED),
            )
        metric = get_metric(task.metric)
        if task.task_type.is_multi_output:
            _check_multi(task, metric, y)
        log_target = (
            task.task_type in (TaskType.REGRESSION, TaskType.MULTI_REGRESSION)
            and task.metric in _LOG_METRICS
            and bool((y >= 0).to_numpy().all())
        )
        return cls(task=task, metric=metric, log_target=log_target)

    @property
    def n_classes(self) -> int:
        return len(self.task.classes)

    @property
    def is_classification(self) -> bool:
        """A single target of class labels (binary, multiclass, ordinal)."""
        return self.task.task_type in (TaskType.BINARY, TaskType.MULTICLASS, TaskType.ORDINAL)

    @property
    def is_multi_output(self) -> bool:
        """One output per target column (multi-label, multi-target regression)."""
        return self.task.task_type.is_multi_output

    @property
    def n_outputs(self) -> int:
        """Width of a model's predictions: 1 for 1-D outputs, else the number of columns."""
        if self.is_multi_output:
            return len(self.task.target_columns)
        return self.n_classes if self.is_classification and self.n_classes > 2 else 1

    def prediction_shape(self, n: int) -> tuple[int, ...]:
        """The shape of model-space predictions for ``n`` rows (see the module docstring)."""
        return (n,) if self.n_outputs == 1 and not self.is_multi_output else (n, self.n_outputs)

    def encode(self, y: Target) -> np.ndarray:
        """Raw target -> class indices (classification), 0/1 matrix (multi-label) or floats in model space."""
        if self.is_multi_output:
            frame = _target_frame(self.task, y)
            values = frame.to_numpy(dtype=float)
            if np.isnan(values).any():
                raise TaskInferenceError("the target columns have missing values; drop those rows first")
            if self.task.task_type is TaskType.MULTILABEL:
                return values.astype(int)
            return np.log1p(values) if self.log_target else values
        if isinstance(y, pd.DataFrame):
            raise TaskInferenceError(f"a {self.task.task_type.value} task has one target column, got {len(y.columns)}")
        if self.is_classification:
            index = {c: i for i, c in enumerate(self.task.classes)}
            codes = y.map(index)
            if codes.isna().any():
                raise TaskInferenceError(f"target has values outside the known classes: {y[codes.isna()].unique()[:5]}")
            return codes.to_numpy(dtype=int)
        single = y.to_numpy(dtype=float)
        return np.log1p(single) if self.log_target else single

    def to_values(self, pred: np.ndarray) -> np.ndarray:
        """Model-space regression predictions -> target values."""
        return np.expm1(pred) if self.log_target else pred

    def submission_frame(self, ids: pd.Series, pred: np.ndarray) -> pd.DataFrame:
        """Predictions in the sample submission's columns."""
        task = self.task
        data: dict[str, Any] = {task.id_column: ids.to_numpy()}
        if self.is_multi_output:
            values = self.values_for_metric(self._as_outputs(pred))
            for column, j in zip(task.submission_columns, self._submission_order(), strict=True):
                data[column] = values[:, j]
        elif task.proba_columns:
            proba = _as_matrix(pred, self.n_classes)
            for j, column in enumerate(task.submission_columns):
                data[column] = proba[:, j]
        else:
            data[task.submission_columns[0]] = self.values_for_metric(pred)
        return pd.DataFrame(data)

    def values_for_metric(self, pred: np.ndarray) -> np.ndarray:
        """What goes into the submission's target column(s): labels, probabilities or values."""
        kind = self.metric.input
        if self.task.task_type is TaskType.MULTILABEL:
            return np.asarray(np.clip(self._as_outputs(pred), 0.0, 1.0), dtype=float)
        if not self.is_classification:
            values = self.to_values(self._as_outputs(pred) if self.is_multi_output else pred)
            if self.log_target or self.metric.name in _LOG_METRICS:
                values = np.clip(values, 0, None)
            return values
        if kind == "proba":
            return np.asarray(pred, dtype=float)
        if kind == "multi_proba":
            return _as_matrix(pred, self.n_classes)
        classes = np.asarray(self.task.classes, dtype=object)
        return _native(classes[self.predicted_codes(pred)])

    def truth_for_metric(self, y: Target) -> np.ndarray:
        """The raw target in the form the metric compares against ``values_for_metric``."""
        if self.is_multi_output:
            return _target_frame(self.task, y).to_numpy(dtype=float)
        if isinstance(y, pd.DataFrame):
            raise TaskInferenceError(f"a {self.task.task_type.value} task has one target column, got {len(y.columns)}")
        kind = self.metric.input
        if kind == "proba":
            return np.asarray(y.to_numpy() == self.task.classes[1], dtype=int)
        if kind == "multi_proba":
            codes = self.encode(y)
            return np.asarray(np.eye(self.n_classes)[codes])
        if self.is_classification:
            return _native(y.to_numpy(dtype=object))
        return y.to_numpy(dtype=float)

    def score(self, y: Target, pred: np.ndarray) -> float:
        """The metric of predictions (model space) against the raw target."""
        if self.is_multi_output:
            return self._score_columns(self.truth_for_metric(y), self.values_for_metric(pred))
        if self.is_classification and self.metric.input == "label" and self.metric.name not in _VALUE_LABEL_METRICS:
            # Label metrics other than kappa do not depend on the labels' names: compare class indices, which
            # avoids building label arrays of Python objects (searches and ensembles score thousands of times).
            return float(self.metric(self.encode(y), self.predicted_codes(pred)))
        return float(self.metric(self.truth_for_metric(y), self.values_for_metric(pred)))

    def scorer(self, y: Target) -> Callable[[np.ndarray], float]:
        """``pred -> score(y, pred)`` with ``y`` prepared once, for scoring many predictions of the same rows
        (hill climbing scores hundreds)."""
        if self.is_multi_output:
            multi_truth = self.truth_for_metric(y)
            return lambda pred: self._score_columns(multi_truth, self.values_for_metric(pred))
        if self.is_classification and self.metric.input == "label" and self.metric.name not in _VALUE_LABEL_METRICS:
            codes = self.encode(y)
            return lambda pred: float(self.metric(codes, self.predicted_codes(pred)))
        truth = self.truth_for_metric(y)
        return lambda pred: float(self.metric(truth, self.values_for_metric(pred)))

    def _score_columns(self, truth: np.ndarray, values: np.ndarray) -> float:
        """Mean of the column metric over the target columns.

        A column whose truth holds one class cannot have a ROC AUC; in a cross-validation fold that happens to
        rare labels, so such columns are left out of the mean (every column constant: the worst score).
        """
        column_metric = get_metric(_COLUMN_METRIC.get(self.metric.name, self.metric.name))
        scores = []
        for j in range(truth.shape[1]):
            if column_metric.name == "auc" and truth[:, j].min() == truth[:, j].max():
                continue
            scores.append(column_metric(truth[:, j], values[:, j]))
        return float(np.mean(scores)) if scores else self.metric.worst

    def predicted_codes(self, pred: np.ndarray) -> np.ndarray:
        """Class indices predicted (threshold for binary, cut points or argmax otherwise)."""
        if self.task.task_type is TaskType.BINARY:
            return np.asarray(np.asarray(pred) >= self.threshold, dtype=int)
        if self.cuts is not None and self.task.task_type is TaskType.ORDINAL:
            return np.asarray(np.searchsorted(np.asarray(self.cuts), expected_index(pred)), dtype=int)
        return np.asarray(np.argmax(pred, axis=1), dtype=int)

    def tune_threshold(self, y: Target, oof: np.ndarray) -> float:
        """Learn post-processing from out-of-fold predictions; returns the binary cut-off (0.5 when unused).

        Binary label metrics (accuracy, F1, MCC) get the OOF-best cut-off. An ordinal task scored by a label
        metric gets cut points on the expected class index (:attr:`cuts`), kept only when they beat argmax.
        """
        if self.task.task_type is TaskType.ORDINAL and self.metric.input == "label":
            self.tune_cuts(y, oof)
            return 0.5
        if self.task.task_type is not TaskType.BINARY or self.metric.input != "label":
            return 0.5
        best_t, best = 0.5, None
        for t in np.round(np.arange(0.2, 0.81, 0.02), 2):
            self.threshold = float(t)
            s = self.score(y, oof)
            if best is None or self.metric.better(s, best):
                best_t, best = float(t), s
        self.threshold = best_t
        return best_t

    def tune_cuts(self, y: Target, oof: np.ndarray) -> tuple[float, ...] | None:
        """Kappa-optimal ordinal cut points by coordinate ascent on the OOF expected class index.

        Starts from the midpoints between class indices, moves one cut at a time to the best of a grid between
        its neighbours, and keeps the cuts only if they score better than argmax. Returns the cuts kept.
        """
        k = self.n_classes
        if self.task.task_type is not TaskType.ORDINAL or k < 2:
            return None
        self.cuts = None
        best = self.score(y, oof)
        cuts = np.arange(k - 1, dtype=float) + 0.5
        self.cuts = tuple(cuts)
        current = self.score(y, oof)
        for _ in range(_CUT_PASSES):
            improved = False
            for i in range(k - 1):
                lo = cuts[i - 1] if i > 0 else 0.0
                hi = cuts[i + 1] if i < k - 2 else float(k - 1)
                for candidate in np.linspace(lo, hi, _CUT_GRID + 2)[1:-1]:
                    trial = cuts.copy()
                    trial[i] = candidate
                    self.cuts = tuple(trial)
                    s = self.score(y, oof)
                    if self.metric.better(s, current):
                        cuts, current, improved = trial, s, True
            if not improved:
                break
        if self.metric.better(current, best):
            self.cuts = tuple(float(c) for c in cuts)
        else:
            self.cuts = None
        return self.cuts

    def _as_outputs(self, pred: np.ndarray) -> np.ndarray:
        """Multi-output predictions as ``(n, n_outputs)``; a 1-D prediction is one value for every column."""
        arr = np.asarray(pred, dtype=float)
        if arr.ndim == 1:
            return np.repeat(arr[:, None], self.n_outputs, axis=1)
        if arr.shape[1] != self.n_outputs:
            raise TaskInferenceError(f"predictions have {arr.shape[1]} columns but the task has {self.n_outputs}")
        return arr

    def _submission_order(self) -> list[int]:
        """For each submission column, its target's index (by name; by position where names differ)."""
        targets = list(self.task.target_columns)
        return [targets.index(c) if c in targets else j for j, c in enumerate(self.task.submission_columns)]


def missing_targets(frame: pd.DataFrame, task: TaskSpec) -> np.ndarray:
    """A boolean mask of the rows of ``frame`` with any target value missing (they can neither train nor score)."""
    return np.asarray(frame[list(task.target_columns)].isna().to_numpy().any(axis=1), dtype=bool)


def expected_index(pred: np.ndarray) -> np.ndarray:
    """The expected class index under class probabilities ``(n, k)`` (an ordinal score in ``[0, k-1]``)."""
    proba = np.asarray(pred, dtype=float)
    return np.asarray(proba @ np.arange(proba.shape[1], dtype=float), dtype=float)


def _check_multi(task: TaskSpec, metric: Metric, y: Target) -> None:
    inputs = _MULTI_INPUTS[task.task_type]
    if metric.input not in inputs:
        raise TaskInferenceError(
            f"metric {metric.name} scores {metric.input} predictions; a {task.task_type.value} task needs one that "
            f"scores {' or '.join(inputs)}",
            hint="set `metric:` in competition.yaml",
        )
    if metric.input.startswith("multi_") and metric.name not in _COLUMN_METRIC:
        raise TaskInferenceError(
            f"metric {metric.name} does not score multi-output predictions column by column",
            hint="use one of " + ", ".join(sorted(_COLUMN_METRIC)) + " or a single-column metric",
        )
    if len(task.submission_columns) != len(task.target_columns):
        raise TaskInferenceError(
            f"{len(task.target_columns)} target columns but {len(task.submission_columns)} submission columns"
        )
    frame = _target_frame(task, y)
    if task.task_type is TaskType.MULTILABEL:
        values = frame.to_numpy(dtype=float)
        if not np.isin(values[~np.isnan(values)], (0.0, 1.0)).all():
            raise TaskInferenceError("a multilabel target must hold only 0 and 1 in every target column")


def _target_frame(task: TaskSpec, y: Target) -> pd.DataFrame:
    if not isinstance(y, pd.DataFrame):
        raise TaskInferenceError(
            f"a {task.task_type.value} task needs every target column; got one Series",
            hint="select the target with train[task.target_key]",
        )
    missing = [c for c in task.target_columns if c not in y.columns]
    if missing:
        raise TaskInferenceError(f"target column(s) {missing} missing from the target frame")
    return y[list(task.target_columns)]


def _as_matrix(pred: np.ndarray, k: int) -> np.ndarray:
    pred = np.asarray(pred, dtype=float)
    if pred.ndim == 1:
        return np.column_stack([1 - pred, pred]) if k == 2 else pred.reshape(-1, 1)
    return pred


def _native(labels: np.ndarray) -> np.ndarray:
    """Object arrays of numpy scalars -> plain Python values (so CSVs print 1, not 1.0 or np.int64(1))."""
    return np.asarray([v.item() if hasattr(v, "item") else v for v in labels], dtype=object)
