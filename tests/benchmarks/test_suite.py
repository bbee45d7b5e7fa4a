"""benchmarks/suite.py: peer rows saved by one invocation and reused by another, and who beats whom."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.suite import _better, _saved_peers


def test_agent_beats_peer_by_rank_then_by_score_in_the_metrics_direction() -> None:
    agent = {"metric": "rmse", "test": 0.50, "rank": 10}
    assert _better(agent, {"test": 0.55, "rank": 40})
    assert not _better(agent, {"test": 0.45, "rank": 3})
    assert _better({**agent, "rank": None}, {"test": 0.55, "rank": None})  # rmse: lower is better
    assert not _better({"metric": "auc", "test": 0.80, "rank": None}, {"test": 0.85, "rank": None})
    assert _better(agent, {"test": None, "rank": None, "state": "FAILED"})  # a failed peer is beaten
    assert not _better({**agent, "test": None}, {"test": 0.9, "rank": 1})


def test_saved_peer_rows_are_reused_only_at_the_same_budget(tmp_path: Path) -> None:
    path = tmp_path / "peers.json"
    row = {"competition": "titanic", "budget": 600.0, "peers": {"autogluon": {"state": "SUCCEEDED", "test": 0.77}}}
    path.write_text(json.dumps([row]))
    assert _saved_peers(path, 600.0) == {"titanic": {"autogluon": {"state": "SUCCEEDED", "test": 0.77}}}
    with pytest.raises(SystemExit, match="budget 600"):
        _saved_peers(path, 300.0)
