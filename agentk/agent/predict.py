"""``agentk predict``: predictions for a CSV file from a saved student or a run's model."""

from __future__ import annotations

import os
from pathlib import Path

from agentk.competitions._csv import read_table
from agentk.errors import UserInputError


def predict_file(model_path: Path, data_csv: Path, out_csv: Path) -> Path:
    """Predict every row of ``data_csv`` and write a submission-format CSV to ``out_csv`` (atomically).

    Args:
        model_path: a student written by :meth:`agentk.distill.DistilledStudent.save`, or a run's
            ``model.joblib`` (the teacher). Only load files you trust: both are joblib (pickle) files.
        data_csv: raw rows with the id column and the input columns the model was trained on.
        out_csv: where to write the predictions (the competition's submission columns).

    Returns:
        ``out_csv``.

    Raises:
        UserInputError: the model file is neither kind, or the data lacks a column the model needs.
    """
    from agentk.distill import is_student_file, load_student

    model_path, data_csv, out_csv = Path(model_path), Path(data_csv), Path(out_csv)
    if not model_path.is_file():
        raise UserInputError(f"no model file at {model_path}")
    frame = read_table(data_csv, what="data file")
    if is_student_file(model_path):
        predictions = load_student(model_path).predict_frame(frame)
    else:
        from agentk.agent.model_io import load_model

        predictions = load_model(model_path).predict_frame(frame)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_csv.with_name(out_csv.name + ".tmp")
    predictions.to_csv(tmp, index=False)
    os.replace(tmp, out_csv)
    return out_csv
