"""The toolbox: the share of a search's time kept for the ensemble, and how a first search starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agentk.agent.runner import run_competition
from agentk.agent.toolbox import ensemble_reserve
from agentk.runs import RunState
from agentk.runs.events import read_events


def test_single_output_tasks_keep_seconds_scaled_by_rows() -> None:
    assert ensemble_reserve(600.0, 1_460, 1) == pytest.approx(10.73)
    assert ensemble_reserve(600.0, 26_215, 1) == pytest.approx(23.1075)
    assert ensemble_reserve(600.0, 500_000, 1) == 60.0  # never more than a tenth, at most 60 s


def test_multiclass_tasks_keep_the_full_share() -> None:
    assert ensemble_reserve(600.0, 16_606, 7) == 60.0
    assert ensemble_reserve(300.0, 800, 3) == 30.0


def test_short_budgets_keep_a_tenth_at_most() -> None:
    assert ensemble_reserve(60.0, 1_000, 1) == 6.0
    assert ensemble_reserve(60.0, 1_000, 5) == 6.0


def test_the_first_search_starts_with_the_best_baselines_defaults_and_evident_features(
    make_competition: Any, tmp_path: Path
) -> None:
    folder = make_competition(task="binary", metric="auc higher", n_train=400)
    rng = np.random.default_rng(5)
    for name in ("train.csv", "test.csv"):
        path = folder / "public" / name
        frame = pd.read_csv(path)
        n = len(frame)
        parts = zip(rng.choice(list("ABCDEF"), n), rng.integers(0, 200, n), rng.choice(["P", "S"], n), strict=True)
        frame["cabin"] = [f"{d}/{k}/{s}" for d, k, s in parts]
        frame.to_csv(path, index=False)
    outcome = run_competition(str(folder), budget=90, out=tmp_path / "run", folds=3)
    assert outcome.state is RunState.SUCCEEDED, outcome.result.get("error")
    events = read_events(tmp_path / "run" / "events.jsonl")
    baselines = {e.data["model"]: e.data["cv_score"] for e in events if e.type == "score"}
    trials = [e.data for e in events if e.type == "trial"]
    assert trials, "the run searched"
    assert all(set(t["notes"]) <= {"skipped", "capped", "spared"} for t in trials)  # why the search cut one
    first = trials[0]["params"]
    best = max(baselines, key=lambda m: baselines[m])
    assert first["model"] == best
    assert first["fe_split"] is True and first["fe_te"] is False and first["fe_interactions"] == 0
    if best == "lightgbm":
        assert first["learning_rate"] == 0.03 and first["num_leaves"] == 31
    # then the searched families' portfolio configurations on the same features, the best family's first
    searched = [t for t in trials[1:2] if t["state"] == "COMPLETE"]
    if searched:
        from agentk.tools.zoo import get_model

        config = get_model(best).portfolio[0] if get_model(best).portfolio else None
        assert config is None or {k: searched[0]["params"][k] for k in config} == config
        assert searched[0]["params"]["fe_split"] is True
