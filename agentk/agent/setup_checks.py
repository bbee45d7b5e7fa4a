"""Agent K's setup checks ("unit tests" of the setup stage): each raises an AgentKError saying what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from agentk.competitions import TaskSpec
from agentk.competitions.grading import validate_submission
from agentk.errors import AgentKError, TaskInferenceError
from agentk.tools import TargetCodec
from agentk.tools.target import Target


class SetupCheckError(AgentKError):
    """A setup check failed (Agent K's unit tests); the message says which and why."""


@dataclass
class RunData:
    """The run's public tables."""

    train: pd.DataFrame
    test: pd.DataFrame
    sample: pd.DataFrame


def check_loaded(data: RunData) -> None:
    for name, frame in (("train", data.train), ("test", data.test), ("sample submission", data.sample)):
        if frame.empty:
            raise TaskInferenceError(f"the {name} file has no rows")


def check_ids(data: RunData, task: TaskSpec) -> None:
    test_ids = data.test[task.id_column].astype(str)
    sample_ids = data.sample[task.id_column].astype(str)
    if not test_ids.is_unique:
        raise TaskInferenceError(f"test ids in {task.id_column!r} repeat")
    if set(test_ids) != set(sample_ids):
        raise TaskInferenceError(
            f"test ids and sample-submission ids differ ({len(set(test_ids) ^ set(sample_ids))} ids in one only)"
        )


def check_round_trip(codec: TargetCodec, y: Target) -> None:
    encoded = codec.encode(y)
    if codec.is_classification:
        decoded = np.asarray(codec.task.classes, dtype=object)[encoded]
        if not all(a == b for a, b in zip(decoded, y.to_numpy(), strict=True)):
            raise TaskInferenceError("the class encoding does not round-trip")
    elif not np.allclose(codec.to_values(encoded), y.to_numpy(dtype=float), rtol=1e-9, atol=1e-9):
        raise TaskInferenceError("the target transform does not round-trip")


def check_metric(codec: TargetCodec, y: Target) -> None:
    """A perfect prediction must score better than a constant one on a small sample."""
    toy = y.iloc[: min(len(y), 200)].reset_index(drop=True)
    codes = codec.encode(toy)
    if codec.is_classification:
        k = codec.n_classes
        perfect = np.eye(k)[codes]
        perfect_pred = perfect[:, 1] if k == 2 else perfect
        constant = np.full_like(perfect, 1.0 / k)
        constant_pred = constant[:, 1] if k == 2 else constant
        if len(np.unique(codes)) < 2:
            return
    else:
        perfect_pred = codes.astype(float)
        constant_pred = np.full_like(perfect_pred, float(np.mean(perfect_pred)))
        if np.ptp(perfect_pred) == 0:
            return
    good, bad = codec.score(toy, perfect_pred), codec.score(toy, constant_pred)
    if not codec.metric.better(good, bad):
        raise TaskInferenceError(f"metric {codec.metric.name} does not prefer a perfect prediction ({good} vs {bad})")


def check_dummy(codec: TargetCodec, data: RunData, task: TaskSpec) -> None:
    n = len(data.test)
    if codec.is_classification:
        k = codec.n_classes
        pred = np.full(n, 0.5) if k == 2 else np.full((n, k), 1.0 / k)
    else:
        pred = np.full(n, float(np.mean(codec.encode(data.train[task.target_key]))))
    frame = codec.submission_frame(data.test[task.id_column], pred)
    validate_submission(frame, data.sample, codec.metric)
