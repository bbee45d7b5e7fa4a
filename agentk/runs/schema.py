"""The run schema's migrations (Alembic), applied when a :class:`~agentk.runs.store.RunStore` opens a database.

Every process that opens the store (the API, each worker, each Ray task) calls :func:`upgrade`; it costs one
query when the schema is current. Concurrent upgrades are serialised: a transaction-scoped advisory lock on
PostgreSQL, a lock file beside the database on SQLite. Agentk's revisions are recorded in ``agentk_alembic_version``
so they never mix with Optuna's, which keeps its own ``alembic_version`` in the same database.

memory_store keeps its own create-if-missing schema (it is a package of its own, usable without agentk), and
Optuna migrates its tables itself.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

VERSION_TABLE = "agentk_alembic_version"
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x61676B6D  # "agkm": any constant shared by every agentk process

_current: set[str] = set()  # database URLs this process has seen at head
_guard = threading.Lock()


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(conn: Connection) -> str | None:
    """The database's revision (None: never migrated)."""
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (see the module docstring)."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _current:
        return
    with _guard:
        target = head()
        with engine.connect() as conn:
            if current(conn) == target:
                _current.add(key)
                return
        with _exclusive(engine) as conn:
            if current(conn) != target:  # another process may have done it while we waited
                cfg = config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        _current.add(key)


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other agentk process migrating this database holds at once."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield conn
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.begin() as conn:
            yield conn
        return
    with Path(f"{database}.migrate-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
