"""The run service: atomic claims, heartbeats, the reaper, and real workers killed, cancelled and requeued."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from agentk.agent.runner import create_run
from agentk.config import Settings, get_settings
from agentk.runs import RunRecord, RunState, RunStore, read_events
from agentk.runs.reaper import interrupt, reap
from agentk.runs.service import RunService, settings_env
from agentk.runs.worker import parse_worker_id, worker_id

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    if request.param == "sqlite":
        s = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
        yield s
        s.dispose()
        return
    schema = f"agentk_test_{uuid.uuid4().hex[:10]}"  # a schema of its own: other tests share the database
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    s = RunStore(f"{PG_URL}?options=-csearch_path%3D{schema}")
    yield s
    s.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _queue(store: RunStore, tmp_path: Path, n: int) -> list[str]:
    return [store.create("churn", 10, str(tmp_path / f"run{i}")).id for i in range(n)]


def test_claims_are_atomic_under_contention(store: RunStore, tmp_path: Path) -> None:
    ids = _queue(store, tmp_path, 12)
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (record := store.claim(name)) is not None:
            with lock:
                claimed.append((record.id, name))

    threads = [threading.Thread(target=worker, args=(f"host:{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r for r, _ in claimed) == sorted(ids)  # every run once, none twice
    for run_id, name in claimed:
        record = store.get(run_id)
        assert record.state == "RUNNING" and record.worker == name and record.attempts == 1
        assert record.heartbeat_at is not None


def test_heartbeat_ownership_and_cancel(store: RunStore, tmp_path: Path) -> None:
    (run_id,) = _queue(store, tmp_path, 1)
    assert store.heartbeat(run_id, "a:1") == (False, False)  # not claimed yet
    assert store.claim("a:1") is not None
    assert store.heartbeat(run_id, "a:1") == (True, False)
    assert store.heartbeat(run_id, "b:2") == (False, False)
    store.request_cancel(run_id)
    assert store.get(run_id).state == "RUNNING"
    assert store.heartbeat(run_id, "a:1") == (True, True)


def test_cancel_queued_is_immediate_and_never_claimed(store: RunStore, tmp_path: Path) -> None:
    (run_id,) = _queue(store, tmp_path, 1)
    assert store.request_cancel(run_id).state == "CANCELLED"
    assert store.claim("a:1") is None


def _age(store: RunStore, run_id: str, seconds: float) -> None:
    store.update(run_id, heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds))


def test_reaper_crashes_stale_runs_requeues_then_gives_up(store: RunStore, tmp_path: Path) -> None:
    (run_id,) = _queue(store, tmp_path, 1)
    for attempt in (1, 2):
        record = store.claim("far-away-host:1")
        assert record is not None and record.attempts == attempt
        assert reap(store, heartbeat_timeout=30, max_attempts=2) == {}  # fresh heartbeat: left alone
        _age(store, run_id, 31)
        expected = "QUEUED" if attempt == 1 else "CRASHED"
        assert reap(store, heartbeat_timeout=30, max_attempts=2) == {run_id: expected}
    final = store.get(run_id)
    assert final.state == "CRASHED" and final.error is not None and "no heartbeat" in final.error
    events = read_events(tmp_path / "run0" / "events.jsonl")
    assert [e.data["state"] for e in events] == ["CRASHED", "QUEUED", "CRASHED"]
    assert events[-1].data["final"] is True and [e.seq for e in events] == [1, 2, 3]
    assert store.claim("x:1") is None


def test_reaper_settles_dead_local_workers_at_once_and_honours_cancel(store: RunStore, tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    first, second = _queue(store, tmp_path, 2)
    assert store.claim(worker_id(dead.pid)) is not None
    assert store.claim(worker_id(dead.pid)) is not None
    store.request_cancel(second)
    assert reap(store, heartbeat_timeout=3600, max_attempts=3) == {first: "QUEUED", second: "CANCELLED"}
    assert store.get(first).error is None  # a requeued run carries no stale error
    assert parse_worker_id(worker_id(123)) == (worker_id(123).rsplit(":", 1)[0], 123)


def test_interrupted_runs_are_requeued_without_counting_the_attempt(store: RunStore, tmp_path: Path) -> None:
    (run_id,) = _queue(store, tmp_path, 1)
    record = store.claim("me:1")
    assert record is not None and interrupt(store, record, "the server shut down")
    again = store.get(run_id)
    assert again.state == "QUEUED" and again.attempts == 0 and again.worker is None


def test_settings_reach_workers_without_the_api_token(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import SecretStr

    env = settings_env(settings.model_copy(update={"api_token": SecretStr("t0ken"), "cors_origins": ["a", "b"]}))
    assert env["AGENTK_HOME"] == str(settings.home) and "AGENTK_API_TOKEN" not in env and "t0ken" not in env.values()
    for name, value in env.items():  # every value reads back as what the parent had
        monkeypatch.setenv(name, value)
    child = Settings()
    assert child.cors_origins == ["a", "b"] and child.home == settings.home and child.workers == settings.workers
    assert child.api_token is None


# -- real workers -------------------------------------------------------------------------------------------


@pytest.fixture
def settings() -> Settings:
    return get_settings().model_copy(update={"heartbeat_interval": 0.5, "heartbeat_timeout": 10.0})


@pytest.fixture
def service(settings: Settings) -> Iterator[RunService]:
    svc = RunService(settings, workers=1)
    svc.start()
    yield svc
    svc.stop()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _record(settings: Settings, run_id: str) -> RunRecord:
    store = RunStore(settings.resolved_database_url)
    try:
        return store.get(run_id)
    finally:
        store.dispose()


def _journal(settings: Settings, run_id: str) -> Path:
    return Path(_record(settings, run_id).out_dir) / "events.jsonl"


def _training(settings: Settings, run_id: str) -> bool:
    return any(e.type == "model" for e in read_events(_journal(settings, run_id)))


def test_kill_9_worker_mid_run_crashes_requeues_and_succeeds(settings: Settings, service: RunService) -> None:
    run_id = create_run("churn", budget=20, folds=2, settings=settings)
    _wait(lambda: _training(settings, run_id), 90, "the run to start training")
    victim = _record(settings, run_id).worker
    assert victim is not None
    pid = parse_worker_id(victim)[1]
    assert pid in service.worker_pids()
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: _record(settings, run_id).state == RunState.SUCCEEDED, 120, "the requeued run to succeed")
    record = _record(settings, run_id)
    assert record.attempts == 2 and record.worker != victim and record.test_score is not None
    events = read_events(_journal(settings, run_id))
    states = [e.data.get("state") for e in events if e.type == "run" and "state" in e.data]
    assert states == ["CRASHED", "QUEUED", "SUCCEEDED"]
    crash = next(e for e in events if e.data.get("state") == "CRASHED")
    assert "killed by signal 9" in crash.message
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # the journal went on, nothing reused
    assert sum(e.type == "submission" for e in events) == 1
    assert (Path(record.out_dir) / "submission.csv").is_file()


def test_cancel_reaches_a_running_worker_within_5_seconds(settings: Settings, service: RunService) -> None:
    run_id = create_run("churn", budget=60, folds=3, settings=settings)
    _wait(lambda: _training(settings, run_id), 90, "the run to start training")
    store = RunStore(settings.resolved_database_url)
    start = time.monotonic()
    store.request_cancel(run_id)
    _wait(lambda: store.get(run_id).state == RunState.CANCELLED, 5, "CANCELLED within 5 s")
    elapsed = time.monotonic() - start
    store.dispose()
    assert elapsed < 5
    events = read_events(_journal(settings, run_id))
    assert events[-1].type == "run" and events[-1].data["state"] == "CANCELLED"
    _wait(lambda: service.alive() == 1, 10, "a replacement worker")  # the pool is whole again


def test_stopping_the_service_requeues_its_runs_without_counting_the_attempt(settings: Settings) -> None:
    svc = RunService(settings, workers=1)
    svc.start()
    try:
        run_id = create_run("churn", budget=60, folds=3, settings=settings)
        _wait(lambda: _training(settings, run_id), 90, "the run to start training")
    finally:
        svc.stop()
    record = _record(settings, run_id)
    assert record.state == RunState.QUEUED and record.attempts == 0 and record.worker is None
    assert svc.alive() == 0
    last = read_events(_journal(settings, run_id))[-1]
    assert last.data == {"state": "QUEUED", "interrupted": True} and "server shut down" in last.message
