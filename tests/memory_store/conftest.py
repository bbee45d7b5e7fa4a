"""Fixtures for memory_store tests: backends, a fake clock, an isolated PostgreSQL schema."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("MEMORY_STORE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = 1_767_225_600.0  # the default reward epoch (2026-01-01), so weights stay near 1 in tests


class FakeClock:
    """A settable clock; every call returns the current time without advancing it."""

    def __init__(self, start: float = T0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A uniquely named schema for this test session, dropped (with everything in it) at the end."""
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.fail(f"PostgreSQL not reachable at {PG_URL} (deselect with -m 'not postgres'): {exc}")
    schema = f"ms_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


_prefixes = itertools.count()


@pytest.fixture
def pg_prefix() -> str:
    """A table prefix no other test in this session uses."""
    return f"t{next(_prefixes)}_"
