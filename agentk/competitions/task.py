"""Task inference: from the files, the sample submission and the metric to a :class:`TaskSpec`.

Rules, in order (each can be overridden in ``competition.yaml`` or on the command line):

* id column: the first sample-submission column that is also a test column; its values must be unique.
* targets: the other sample-submission columns found in train; or, when the submission has one column per
  class, the train column whose values are exactly those class names (probability columns).
* task type: from the number of targets, the metric's input kind and the target's values.
* modalities: numeric, categorical, datetime, free text or image path per input column, from dtype and
  values; an id column of image file names is also an image input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agentk.competitions._model import Modality, TaskSpec, TaskType
from agentk.errors import TaskInferenceError

_TEXT_MIN_WORDS = 4.0
_TEXT_MIN_UNIQUE_RATIO = 0.3
_MAX_CLASSES = 200


def infer_task(
    train: pd.DataFrame,
    test: pd.DataFrame,
    sample: pd.DataFrame,
    *,
    metric: str,
    higher_is_better: bool,
    overrides: dict[str, Any] | None = None,
    image_root: str | Path | None = None,
) -> TaskSpec:
    """Infer the task from the data; ``overrides`` (target, id_column, task_type, columns) win.

    ``image_root`` is the folder the tables came from: image models read relative image paths under it (it is
    kept on the spec only when some column holds image paths).
    """
    from agentk.competitions.metrics import get_metric

    overrides = overrides or {}
    metric_obj = get_metric(metric)
    id_column = _id_column(test, sample, overrides.get("id_column"))
    submission_columns = tuple(str(c) for c in sample.columns if c != id_column)
    if not submission_columns:
        raise TaskInferenceError(
            "the sample submission has no prediction column besides the id",
            hint="check sample_submission.csv",
        )
    targets, proba_columns = _targets(train, submission_columns, overrides.get("target"))
    task_type = _task_type(train, targets, proba_columns, metric_obj.input, metric, overrides.get("task_type"))
    classes: tuple[Any, ...] = ()
    if task_type in (TaskType.BINARY, TaskType.MULTICLASS, TaskType.ORDINAL):
        values = train[targets[0]].dropna().unique()
        classes = tuple(sorted(values.tolist(), key=_sort_key))
        if proba_columns:
            classes = tuple(_match_class(c, values) for c in submission_columns)
    excluded = {id_column, *targets}
    columns = {
        str(c): _modality(train[c], test[c] if c in test.columns else None) for c in train.columns if c not in excluded
    }
    if id_column in train.columns and _looks_like_image_paths(train[id_column]):
        # Image competitions often name each row by its file ("0a1b.jpg"): the id is then also the input.
        columns[id_column] = Modality.IMAGE_PATH
    for name, modality in (overrides.get("columns") or {}).items():
        if name not in columns:
            raise TaskInferenceError(f"competition.yaml sets a modality for unknown column {name!r}")
        try:
            columns[name] = Modality(modality)
        except ValueError:
            allowed = ", ".join(m.value for m in Modality)
            raise TaskInferenceError(
                f"unknown modality {modality!r} for column {name!r}; use one of {allowed}"
            ) from None
    return TaskSpec(
        task_type=task_type,
        id_column=id_column,
        target_columns=targets,
        submission_columns=submission_columns,
        classes=classes,
        columns=columns,
        metric=metric_obj.name,
        higher_is_better=higher_is_better,
        proba_columns=proba_columns,
        image_root=str(image_root) if image_root is not None and Modality.IMAGE_PATH in columns.values() else None,
    )


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float, np.integer, np.floating, bool)) else (1, str(value))


def _match_class(column: str, values: np.ndarray) -> Any:
    for v in values:
        if str(v) == column:
            return v
    return column


def _id_column(test: pd.DataFrame, sample: pd.DataFrame, override: object) -> str:
    if override:
        name = str(override)
        if name not in sample.columns or name not in test.columns:
            raise TaskInferenceError(f"id column {name!r} is not in both test.csv and the sample submission")
        return name
    for column in sample.columns:
        if column in test.columns:
            if not test[column].is_unique:
                raise TaskInferenceError(
                    f"column {column!r} is shared by test.csv and the sample submission but its values repeat",
                    hint="pass --id-column NAME or set `id_column:` in competition.yaml",
                )
            return str(column)
    raise TaskInferenceError(
        "cannot find the id column: no sample-submission column appears in test.csv",
        hint="pass --id-column NAME or set `id_column:` in competition.yaml",
    )


def _targets(
    train: pd.DataFrame, submission_columns: tuple[str, ...], override: object
) -> tuple[tuple[str, ...], bool]:
    if override:
        names = tuple(str(t) for t in override) if isinstance(override, (list, tuple)) else (str(override),)
        missing = [t for t in names if t not in train.columns]
        if missing:
            raise TaskInferenceError(f"target column(s) {missing} not in train.csv")
        proba = len(names) == 1 and len(submission_columns) > 1
        return names, proba
    in_train = [c for c in submission_columns if c in train.columns]
    if len(in_train) == len(submission_columns):
        return tuple(in_train), False
    wanted = set(submission_columns)
    for column in train.columns:
        values = train[column].dropna().unique()
        if 2 <= len(values) <= _MAX_CLASSES and {str(v) for v in values} == wanted:
            return (str(column),), True
    raise TaskInferenceError(
        f"cannot find the target: the sample submission's columns {list(submission_columns)} are not in train.csv",
        hint="pass --target NAME or set `target:` in competition.yaml",
    )


def _task_type(
    train: pd.DataFrame,
    targets: tuple[str, ...],
    proba_columns: bool,
    metric_input: str,
    metric: str,
    override: object,
) -> TaskType:
    if override:
        try:
            return TaskType(str(override))
        except ValueError:
            allowed = ", ".join(t.value for t in TaskType)
            raise TaskInferenceError(f"unknown task type {override!r}; use one of {allowed}") from None
    if len(targets) > 1:
        frame = train[list(targets)]
        numeric = all(pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]) for c in targets)
        binary = numeric and all(set(frame[c].dropna().astype(float).unique().tolist()) <= {0.0, 1.0} for c in targets)
        if binary and metric_input not in ("value", "multi_value"):
            return TaskType.MULTILABEL  # 0/1 columns scored as labels or probabilities
        if numeric:
            return TaskType.MULTI_REGRESSION
        raise TaskInferenceError(
            f"several target columns {list(targets)} that are neither all 0/1 nor all numeric",
            hint="set `task_type:` in competition.yaml",
        )
    y = train[targets[0]].dropna()
    if y.empty:
        raise TaskInferenceError(f"target column {targets[0]!r} is empty in train.csv")
    n_unique = y.nunique()
    if proba_columns:
        return TaskType.BINARY if n_unique == 2 else TaskType.MULTICLASS
    if metric == "qwk":
        return TaskType.ORDINAL
    if metric_input in ("value", "multi_value"):
        return TaskType.REGRESSION
    if n_unique == 2:
        return TaskType.BINARY
    if metric_input in ("label", "multi_proba") and n_unique <= _MAX_CLASSES:
        return TaskType.MULTICLASS
    if metric_input == "proba":
        raise TaskInferenceError(
            f"metric {metric} needs a binary target but {targets[0]!r} has {n_unique} values",
            hint="check the metric or set `task_type:` in competition.yaml",
        )
    if pd.api.types.is_numeric_dtype(y):
        return TaskType.REGRESSION
    raise TaskInferenceError(
        f"cannot tell the task type of target {targets[0]!r} ({n_unique} distinct values)",
        hint="set `task_type:` in competition.yaml or pass --task-type",
    )


def _modality(train_col: pd.Series, test_col: pd.Series | None) -> Modality:
    col = train_col.dropna()
    n = len(col)
    if n == 0:
        return Modality.NUMERIC
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        if pd.api.types.is_integer_dtype(col) and _looks_like_code(col):
            return Modality.CATEGORICAL
        return Modality.NUMERIC
    if pd.api.types.is_datetime64_any_dtype(col):
        return Modality.DATETIME
    values = col.astype(str)
    sample = values.iloc[: min(n, 2000)]
    if _looks_like_datetime(sample):
        return Modality.DATETIME
    if _looks_like_image_paths(sample):
        return Modality.IMAGE_PATH
    words = sample.str.count(r"\S+").mean()
    unique_ratio = values.nunique() / n
    if words >= _TEXT_MIN_WORDS and unique_ratio >= _TEXT_MIN_UNIQUE_RATIO:
        return Modality.TEXT
    return Modality.CATEGORICAL


_IMAGE_SUFFIX = r".*\.(png|jpe?g|tiff?|bmp|gif|webp)$"


def _looks_like_image_paths(col: pd.Series) -> bool:
    """Text values that (almost) all end in an image file suffix."""
    values = col.dropna()
    if values.empty or not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return False
    sample = values.astype(str).iloc[:2000]
    return bool(sample.str.lower().str.match(_IMAGE_SUFFIX).mean() > 0.9)


def _looks_like_code(col: pd.Series) -> bool:
    """Integer ids/codes (sparse over their range, repeated) rather than counts or measurements."""
    n_unique = col.nunique()
    if n_unique < 3:
        return False
    span = float(col.max()) - float(col.min()) + 1
    return n_unique / len(col) < 0.5 and span > 10 * n_unique and n_unique > 20


def _looks_like_datetime(sample: pd.Series) -> bool:
    if not sample.str.match(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?").mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)
