"""Run records on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from agentk.errors import UserInputError
from agentk.runs import RunState, RunStore

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    if request.param == "sqlite":
        s = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
        yield s
        s.dispose()
        return
    s = RunStore(PG_URL)
    yield s
    with s.engine.begin() as conn:  # remove only this test's rows
        conn.execute(text("DELETE FROM agentk_runs WHERE competition LIKE 'test-%'"))
    s.dispose()


def test_lifecycle(store: RunStore) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    record = store.create(name, 60.0, "/tmp/x", options={"folds": 3})
    assert store.get(record.id).state == "QUEUED"
    store.transition(record.id, RunState.RUNNING)
    running = store.get(record.id)
    assert running.state == "RUNNING" and running.started_at is not None
    store.transition(record.id, RunState.SUCCEEDED, cv_score=0.8, test_score=0.79, rank=3, teams=10)
    done = store.get(record.id)
    assert done.state == "SUCCEEDED" and done.finished_at is not None and done.rank == 3
    assert RunState(done.state).is_finished() and not RunState.CRASHED.is_finished()
    assert done.to_dict()["options"] == {"folds": 3}
    assert record.id in [r.id for r in store.list(state=RunState.SUCCEEDED, limit=1000)]
    assert record.id not in [r.id for r in store.list(state=RunState.QUEUED, limit=1000)]


def test_unknown_run(store: RunStore) -> None:
    with pytest.raises(UserInputError, match="no run with id"):
        store.get("nope")
