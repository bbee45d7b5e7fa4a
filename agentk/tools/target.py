"""From raw targets to model targets and from model outputs back to submission values.

Model outputs are kept in one shape per task: binary -> P(positive class) as ``(n,)``; multiclass and
ordinal -> class probabilities ``(n, k)``; regression -> values ``(n,)`` in the model's space (log1p for
log-error metrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from agentk.competitions import TaskSpec, TaskType
from agentk.competitions.metrics import Metric, get_metric
from agentk.errors import TaskInferenceError

_LOG_METRICS = {"rmsle", "rmse_log", "mcrmsle"}
_VALUE_LABEL_METRICS = {"qwk"}  # weighted by the distance between label values, not between class indices
_SUPPORTED = (TaskType.BINARY, TaskType.MULTICLASS, TaskType.ORDINAL, TaskType.REGRESSION)


@dataclass
class TargetCodec:
    """Encodes the target for models and decodes predictions for the submission and the metric."""

    task: TaskSpec
    metric: Metric
    log_target: bool = False
    threshold: float = 0.5

    @classmethod
    def for_task(cls, task: TaskSpec, y: pd.Series) -> TargetCodec:
        if task.task_type not in _SUPPORTED:
            raise TaskInferenceError(
                f"task type {task.task_type.value} is not supported by the first pipeline yet",
                hint="supported: " + ", ".join(t.value for t in _SUPPORTED),
            )
        metric = get_metric(task.metric)
        log_target = task.task_type is TaskType.REGRESSION and task.metric in _LOG_METRICS and bool((y >= 0).all())
        return cls(task=task, metric=metric, log_target=log_target)

    @property
    def n_classes(self) -> int:
        return len(self.task.classes)

    @property
    def is_classification(self) -> bool:
        return self.task.task_type is not TaskType.REGRESSION

    def encode(self, y: pd.Series) -> np.ndarray:
        """Raw target -> class indices (classification) or floats in model space (regression)."""
        if self.is_classification:
            index = {c: i for i, c in enumerate(self.task.classes)}
            codes = y.map(index)
            if codes.isna().any():
                raise TaskInferenceError(f"target has values outside the known classes: {y[codes.isna()].unique()[:5]}")
            return codes.to_numpy(dtype=int)
        values = y.to_numpy(dtype=float)
        return np.log1p(values) if self.log_target else values

    def to_values(self, pred: np.ndarray) -> np.ndarray:
        """Model-space regression predictions -> target values."""
        return np.expm1(pred) if self.log_target else pred

    def submission_frame(self, ids: pd.Series, pred: np.ndarray) -> pd.DataFrame:
        """Predictions in the sample submission's columns."""
        task = self.task
        data: dict[str, Any] = {task.id_column: ids.to_numpy()}
        if task.proba_columns:
            proba = _as_matrix(pred, self.n_classes)
            for j, column in enumerate(task.submission_columns):
                data[column] = proba[:, j]
        else:
            data[task.submission_columns[0]] = self.values_for_metric(pred)
        return pd.DataFrame(data)

    def values_for_metric(self, pred: np.ndarray) -> np.ndarray:
        """What goes into the submission's target column: labels, probabilities or values."""
        kind = self.metric.input
        if not self.is_classification:
            values = self.to_values(pred)
            if self.log_target or self.metric.name in _LOG_METRICS:
                values = np.clip(values, 0, None)
            return values
        if kind == "proba":
            return np.asarray(pred, dtype=float)
        if kind == "multi_proba":
            return _as_matrix(pred, self.n_classes)
        classes = np.asarray(self.task.classes, dtype=object)
        return _native(classes[self.predicted_codes(pred)])

    def truth_for_metric(self, y: pd.Series) -> np.ndarray:
        """The raw target in the form the metric compares against ``values_for_metric``."""
        kind = self.metric.input
        if kind == "proba":
            return np.asarray(y.to_numpy() == self.task.classes[1], dtype=int)
        if kind == "multi_proba":
            codes = self.encode(y)
            return np.asarray(np.eye(self.n_classes)[codes])
        if self.is_classification:
            return _native(y.to_numpy(dtype=object))
        return y.to_numpy(dtype=float)

    def score(self, y: pd.Series, pred: np.ndarray) -> float:
        """The metric of predictions (model space) against the raw target."""
        if self.is_classification and self.metric.input == "label" and self.metric.name not in _VALUE_LABEL_METRICS:
            # Label metrics other than kappa do not depend on the labels' names: compare class indices, which
            # avoids building label arrays of Python objects (searches and ensembles score thousands of times).
            return float(self.metric(self.encode(y), self.predicted_codes(pred)))
        return float(self.metric(self.truth_for_metric(y), self.values_for_metric(pred)))

    def predicted_codes(self, pred: np.ndarray) -> np.ndarray:
        """Class indices predicted (threshold for binary, argmax otherwise)."""
        if self.task.task_type is TaskType.BINARY:
            return np.asarray(np.asarray(pred) >= self.threshold, dtype=int)
        return np.asarray(np.argmax(pred, axis=1), dtype=int)

    def tune_threshold(self, y: pd.Series, oof: np.ndarray) -> float:
        """For binary label metrics (accuracy, F1, MCC): the OOF-best cut-off, else 0.5."""
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


def _as_matrix(pred: np.ndarray, k: int) -> np.ndarray:
    pred = np.asarray(pred, dtype=float)
    if pred.ndim == 1:
        return np.column_stack([1 - pred, pred]) if k == 2 else pred.reshape(-1, 1)
    return pred


def _native(labels: np.ndarray) -> np.ndarray:
    """Object arrays of numpy scalars -> plain Python values (so CSVs print 1, not 1.0 or np.int64(1))."""
    return np.asarray([v.item() if hasattr(v, "item") else v for v in labels], dtype=object)
