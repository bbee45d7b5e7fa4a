"""Saving and loading a run's final model: the predictor, the task and how to turn outputs into a submission."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from agentk.competitions import TaskSpec
from agentk.errors import UserInputError
from agentk.tools.cv import CVResult, Predictor
from agentk.tools.target import TargetCodec

MODEL_FILE = "model.joblib"
_FORMAT = 1


@dataclass
class SavedModel:
    """A loaded model: predicts submission-ready frames from raw input frames."""

    predictor: Predictor
    task: TaskSpec
    codec: TargetCodec
    name: str
    oof: Any = None
    folds: Any = None  # validation row indices of each CV fold the predictor's fold models were fit on
    view_oof: Any = None  # an ensemble's final weights on its members' out-of-fold predictions (None: ``oof``)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions for ``frame`` in the competition's submission format (ids from the frame)."""
        if self.task.id_column not in frame.columns:
            raise UserInputError(f"the input has no id column {self.task.id_column!r}")
        missing = [c for c in self.task.columns if c not in frame.columns]
        if missing:
            raise UserInputError(f"the input lacks column(s) the model needs: {', '.join(missing[:10])}")
        return self.codec.submission_frame(frame[self.task.id_column], self.predictor.predict(frame))


def save_model(
    path: Path,
    result: CVResult,
    task: TaskSpec,
    codec: TargetCodec,
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> None:
    """Write the result's predictor with what is needed to use it, atomically."""
    payload: dict[str, Any] = {
        "format": _FORMAT,
        "name": result.name,
        "predictor": result.predictor,
        "task": task.to_dict(),
        "threshold": codec.threshold,
        "cuts": codec.cuts,  # ordinal cut points (None: argmax)
        "log_target": codec.log_target,
        # Out-of-fold predictions: soft targets for distillation that never come from a teacher that saw the row.
        "oof": result.oof,
        # The CV folds (validation rows of each): a distillation check can then use fold j's teacher model only.
        "folds": [np.asarray(va, dtype=np.int32) for _, va in folds] if folds is not None else None,
        # What the folds' models predict for their own rows (an ensemble's ``oof`` is nested CV): confirms the folds.
        "view_oof": result.view_oof,
    }
    tmp = path.with_suffix(".tmp")
    dump_pickle(payload, tmp)
    os.replace(tmp, path)


def dump_pickle(obj: Any, path: Path) -> None:
    """Write ``obj`` with the standard library's C pickler (``joblib.load`` reads the file).

    ``joblib.dump`` pickles in pure Python: a text run's pool (TF-IDF vocabularies, fold models; 85 MB) took
    61 s to checkpoint with it in a 600-s run; the C pickler writes the same file 4.6x faster
    (``benchmarks/checkpoint_io.py``: 29.0 s against 6.3 s).
    """
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_model(path: Path) -> SavedModel:
    """Load a model written by :func:`save_model` (only load files you trust: joblib runs pickle)."""
    if not path.is_file():
        raise UserInputError(f"no model file at {path}")
    payload = joblib.load(path)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise UserInputError(f"{path} is not an AgentK model file (or a newer format)")
    task = TaskSpec.from_dict(payload["task"])
    from agentk.competitions.metrics import get_metric

    codec = TargetCodec(
        task,
        get_metric(task.metric),
        log_target=payload["log_target"],
        threshold=payload["threshold"],
        cuts=payload.get("cuts"),
    )
    return SavedModel(
        payload["predictor"],
        task,
        codec,
        payload["name"],
        payload.get("oof"),
        payload.get("folds"),
        payload.get("view_oof"),
    )
