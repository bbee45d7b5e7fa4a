"""Predictions from saved models: ``agentk predict`` and the API's ``POST /api/runs/{id}/predict``.

A run directory holds the run's model (``model.joblib``, the teacher) and, when the run distilled one, its
student (``student.joblib``). Both serve raw input frames through ``predict_frame``; the student is preferred
where it exists because it is the one made for serving.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import pandas as pd

from agentk.agent.model_io import MODEL_FILE
from agentk.competitions._csv import read_table
from agentk.errors import UserInputError

if TYPE_CHECKING:
    from agentk.competitions import TaskSpec

ModelKind = Literal["student", "model"]
_CACHE_SIZE = 4


class Servable(Protocol):
    """A loaded student or run model: raw frame -> submission-format frame."""

    @property
    def task(self) -> TaskSpec: ...

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame: ...


def load_servable(model_path: Path) -> tuple[ModelKind, Servable]:
    """Load a student file or a run's ``model.joblib`` (only load files you trust: both are joblib/pickle).

    Raises:
        UserInputError: no file there, or it is neither kind.
    """
    from agentk.distill import is_student_file, load_student

    model_path = Path(model_path)
    if not model_path.is_file():
        raise UserInputError(f"no model file at {model_path}")
    if is_student_file(model_path):
        return "student", load_student(model_path)
    from agentk.agent.model_io import load_model

    return "model", load_model(model_path)


def run_model_path(run_dir: Path) -> tuple[ModelKind, Path] | None:
    """The model a run serves: its student where it distilled one, else its model; None when it has neither."""
    from agentk.distill import STUDENT_FILE

    for kind, name in (("student", STUDENT_FILE), ("model", MODEL_FILE)):
        path = Path(run_dir) / name
        if path.is_file():
            return kind, path  # type: ignore[return-value]  # kind is one of the two literals
    return None


class ModelCache:
    """The last few loaded models, keyed by path and modification time (a rewritten file is reloaded).

    Thread-safe: the API serves predictions from a thread pool.
    """

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], tuple[ModelKind, Servable]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> tuple[ModelKind, Servable]:
        key = (str(Path(path).resolve()), Path(path).stat().st_mtime_ns)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        loaded = load_servable(path)  # outside the lock: loading a large ensemble takes a while
        with self._lock:
            self._items[key] = loaded
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return loaded


def predict_file(model_path: Path, data_csv: Path, out_csv: Path) -> Path:
    """Predict every row of ``data_csv`` and write a submission-format CSV to ``out_csv`` (atomically).

    Args:
        model_path: a student written by :meth:`agentk.distill.DistilledStudent.save`, a run's
            ``model.joblib`` (the teacher), or a run directory (its student where it has one, else its model).
            Only load files you trust: both are joblib (pickle) files.
        data_csv: raw rows with the id column and the input columns the model was trained on.
        out_csv: where to write the predictions (the competition's submission columns).

    Returns:
        ``out_csv``.

    Raises:
        UserInputError: the model file is neither kind, or the data lacks a column the model needs.
    """
    model_path, data_csv, out_csv = Path(model_path), Path(data_csv), Path(out_csv)
    if model_path.is_dir():
        found = run_model_path(model_path)
        if found is None:
            raise UserInputError(f"{model_path} holds neither a student nor a model")
        model_path = found[1]
    _, model = load_servable(model_path)
    frame = read_table(data_csv, what="data file")
    predictions = model.predict_frame(frame)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_csv.with_name(out_csv.name + ".tmp")
    predictions.to_csv(tmp, index=False)
    os.replace(tmp, out_csv)
    return out_csv
