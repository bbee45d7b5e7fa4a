"""The Optuna search: finds a good configuration, respects trial limits and the deadline, reports trials."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.errors import UserInputError
from agentk.tools import Deadline, TargetCodec, make_folds
from agentk.tools.search import search

RNG = np.random.default_rng(11)


def _task() -> tuple[pd.DataFrame, pd.Series, TargetCodec, list[tuple[np.ndarray, np.ndarray]]]:
    n = 400
    frame = pd.DataFrame({"a": RNG.normal(size=n), "b": RNG.normal(size=n), "c": RNG.choice(list("xyz"), n)})
    y = pd.Series((frame["a"] + (frame["c"] == "x") > 0.2).astype(int))
    spec = TaskSpec(
        TaskType.BINARY,
        "id",
        ("y",),
        ("y",),
        (0, 1),
        {"a": Modality.NUMERIC, "b": Modality.NUMERIC, "c": Modality.CATEGORICAL},
        "auc",
        True,
    )
    codec = TargetCodec.for_task(spec, y)
    return frame, y, codec, make_folds(codec.encode(y), TaskType.BINARY, 3, seed=0)


@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_search_runs_trials_and_keeps_the_best(sampler: str) -> None:
    frame, y, codec, folds = _task()
    seen: list[int] = []
    found = search(
        frame,
        frame.head(5),
        y,
        codec,
        folds,
        Deadline(120),
        models=["lightgbm", "linear"],
        sampler=sampler,
        max_trials=4,
        on_trial=lambda r, t: seen.append(t.number),
    )
    assert found.trials == 4 and seen == [0, 1, 2, 3]
    assert found.best is not None and found.best.cv_score > 0.85
    scores = [r.cv_score for r in found.pool]
    assert scores == sorted(scores, reverse=True)
    assert {"model", "features"} <= set(found.best.params)


def test_search_stops_at_the_deadline() -> None:
    frame, y, codec, folds = _task()
    start = time.monotonic()
    found = search(frame, frame.head(5), y, codec, folds, Deadline(3), models=["lightgbm", "linear"])
    assert time.monotonic() - start < 30  # one trial may finish after the deadline, not a whole search
    assert found.trials >= 1


def test_unknown_model_or_sampler_fails_before_work() -> None:
    frame, y, codec, folds = _task()
    with pytest.raises(UserInputError, match="unknown model"):
        search(frame, frame, y, codec, folds, Deadline(10), models=["nope"])
    with pytest.raises(UserInputError, match="unknown sampler"):
        search(frame, frame, y, codec, folds, Deadline(10), models=["linear"], sampler="anneal")
