"""Alembic migrations of the run table on SQLite and PostgreSQL: they produce the ORM's schema, adopt databases
made before migrations existed, round-trip, and tolerate many processes migrating at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, Column, DateTime, Float, MetaData, String, Table, Text, create_engine, inspect, text

from agentk.runs import RunState, RunStore
from agentk.runs.schema import VERSION_TABLE, config, current, head
from agentk.runs.store import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            return [d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)]
    finally:
        engine.dispose()


def test_migrations_make_the_orm_schema(url: str) -> None:
    RunStore(url).dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert current(conn) == head()
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert {"agentk_runs", VERSION_TABLE} <= tables and "alembic_version" not in tables  # Optuna's name stays free
    assert _diff(url) == []


def test_a_database_from_before_migrations_is_adopted(url: str, tmp_path: Path) -> None:
    legacy = MetaData()
    Table(  # the table as create_all made it before the service columns existed
        "agentk_runs",
        legacy,
        Column("id", String(32), primary_key=True),
        Column("competition", String(300), nullable=False),
        Column("state", String(16), nullable=False, index=True),
        Column("budget", Float, nullable=False),
        Column("out_dir", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("started_at", DateTime(timezone=True)),
        Column("finished_at", DateTime(timezone=True)),
        Column("cv_score", Float),
        Column("test_score", Float),
        Column("rank", Float),
        Column("teams", Float),
        Column("beats_pct", Float),
        Column("medal", String(16)),
        Column("error", Text),
        Column("options", Text, nullable=False),
        Column("unrelated", Boolean),
    )
    engine = create_engine(url)
    legacy.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agentk_runs (id, competition, state, budget, out_dir, created_at, options) "
                "VALUES ('old-run', 'churn', 'QUEUED', 10, '/tmp/x', CURRENT_TIMESTAMP, '{}')"
            )
        )
    engine.dispose()
    store = RunStore(url)
    try:
        record = store.claim("host:1")  # the added columns work: attempts, worker, heartbeat_at
        assert record is not None and record.id == "old-run" and record.attempts == 1
        assert store.get("old-run").state == RunState.RUNNING
    finally:
        store.dispose()


def test_downgrade_and_upgrade_round_trip(url: str) -> None:
    RunStore(url).dispose()
    engine = create_engine(url)
    try:
        for target in ("base", "head"):
            with engine.begin() as conn:
                cfg = config()
                cfg.attributes["connection"] = conn
                (command.downgrade if target == "base" else command.upgrade)(cfg, target)
            with engine.connect() as conn:
                assert current(conn) == (None if target == "base" else head())
                assert inspect(conn).has_table("agentk_runs") is (target == "head")
    finally:
        engine.dispose()
    assert _diff(url) == []


def test_many_processes_migrating_at_once(url: str) -> None:
    code = "import sys; from agentk.runs import RunStore; RunStore(sys.argv[1]).dispose()"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert _diff(url) == []
