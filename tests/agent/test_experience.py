"""Learning across runs: a run stores its best configurations; a later run on a similar task replays them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentk.agent import run_competition
from agentk.agent.experience import improvement
from agentk.config import get_settings
from agentk.runs import read_events
from memory_store import Kind, open_store


def test_improvement_is_signed_by_direction() -> None:
    assert improvement(0.9, 0.8, True) > 0 > improvement(0.7, 0.8, True)
    assert improvement(0.1, 0.2, False) > 0 > improvement(0.3, 0.2, False)
    assert improvement(100.0, 0.0, True) == 1.0


def test_second_run_recalls_and_replays_the_first_runs_configurations(make_competition: Any, tmp_path: Path) -> None:
    folder = make_competition(task="binary", metric="auc higher")
    first = run_competition(str(folder), budget=60, out=tmp_path / "one", folds=3)
    assert first.ok, first.result.get("error")
    with open_store(get_settings().resolved_memory_url) as store:
        stored = store.list_items(kinds=[Kind.PIPELINE_CONFIG])
        assert stored and all(item.stats.count == 1 for item in stored)  # each rewarded once, when stored
        configs = [item.payload["trial_params"] for item in stored]

    second = run_competition(str(folder), budget=60, out=tmp_path / "two", folds=3)
    assert second.ok, second.result.get("error")
    events = read_events(tmp_path / "two" / "events.jsonl")
    recalled = next(e for e in events if e.type == "memory" and "recalled" in e.data["memory"])
    assert recalled.data["memory"]["recalled"], "nothing recalled from the first run"
    first_trial = next(e for e in events if e.type == "trial")
    assert first_trial.data["params"] in configs  # the replayed configuration is tried first
    with open_store(get_settings().resolved_memory_url) as store:
        credited = [store.get(i) for i in recalled.data["memory"]["recalled"]]
        assert all(item.stats.count == 2 for item in credited)  # stored, then credited with its replay


def test_learning_can_be_switched_off(make_competition: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AGENTK_LEARN", "false")
    folder = make_competition()
    outcome = run_competition(str(folder), budget=30, out=tmp_path / "run", folds=3)
    assert outcome.ok
    assert not [e for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "memory"]
    assert not Path(get_settings().resolved_memory_url).exists()
