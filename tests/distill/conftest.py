"""A small teacher for distillation tests: a cross-validated LightGBM saved the way a run saves it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agentk.agent.model_io import SavedModel, load_model, save_model
from agentk.competitions import infer_task
from agentk.tools.crossval import cross_validate
from agentk.tools.cv import CVResult, Deadline, make_folds
from agentk.tools.target import TargetCodec


@dataclass
class Teacher:
    """A teacher with the data it was fit on."""

    model: SavedModel
    path: Path
    train: pd.DataFrame
    test: pd.DataFrame
    folder: Path
    result: CVResult  # what a run's finalise holds: the chosen result, its predictor and out-of-fold predictions

    @property
    def y(self) -> pd.Series:
        return self.train[self.model.task.target]


@pytest.fixture
def make_teacher(make_competition: Any, tmp_path: Path) -> Callable[..., Teacher]:
    """``make_teacher(task=..., metric=...)`` -> a saved and reloaded 3-fold LightGBM teacher."""

    def make(task: str = "binary", metric: str = "accuracy higher", n_train: int = 300, **kwargs: Any) -> Teacher:
        folder = make_competition(task=task, metric=metric, n_train=n_train, **kwargs)
        train = pd.read_csv(folder / "public" / "train.csv")
        test = pd.read_csv(folder / "public" / "test.csv")
        sample = pd.read_csv(folder / "public" / "sample_submission.csv")
        name, direction = metric.split()
        spec = infer_task(train, test, sample, metric=name, higher_is_better=direction == "higher")
        y = train[spec.target]
        codec = TargetCodec.for_task(spec, y)
        folds = make_folds(codec.encode(y), spec.task_type, 3, 0)
        result = cross_validate(
            "lightgbm", train, test, y, codec, folds, Deadline(120), params={"max_rounds": 60}, keep_models=True
        )
        path = tmp_path / "model.joblib"
        save_model(path, result, spec, codec)
        return Teacher(load_model(path), path, train, test, folder, result)

    return make
