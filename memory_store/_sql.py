"""SQL backends on SQLAlchemy Core: SQLite (default, one file) and PostgreSQL (psycopg 3).

Both share one implementation; they differ only in how a write transaction starts and how the schema is
created. Every write transaction first increments the single row of ``memory_clock`` and stamps the rows
it writes with the new value. That row lock (PostgreSQL) or the database write lock (SQLite,
``BEGIN IMMEDIATE``) serialises writers, so versions commit in order and readers can follow changes with
``WHERE version > :seen``. Reward updates are one ``UPDATE ... SET r_count = r_count + 1, ...`` per chunk
of ids inside that transaction, so no concurrent reward is lost.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from memory_store._base import UPDATABLE_FIELDS, MemoryBackend
from memory_store._errors import DuplicateItemError, ItemNotFoundError, StorageError
from memory_store._scopes import subtree_bounds
from memory_store._types import ChangeSet, MemoryItem, RewardStats

_CHUNK = 500
_WRITE = "memory_store_write"


def _chunks(seq: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _tables(metadata: sa.MetaData, prefix: str, scope_type: sa.types.TypeEngine[str]) -> dict[str, sa.Table]:
    items = sa.Table(
        f"{prefix}items",
        metadata,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("scope", scope_type, nullable=False, index=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("last_used_at", sa.Double, nullable=False),
        sa.Column("r_count", sa.BigInteger, nullable=False),
        sa.Column("r_total", sa.Double, nullable=False),
        sa.Column("r_last", sa.Double, nullable=True),
        sa.Column("r_last_at", sa.Double, nullable=True),
        sa.Column("r_wtotal", sa.Double, nullable=False),
        sa.Column("r_weight", sa.Double, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, index=True),
    )
    tombstones = sa.Table(
        f"{prefix}tombstones",
        metadata,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, index=True),
    )
    meta = sa.Table(
        f"{prefix}meta",
        metadata,
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    clock = sa.Table(
        f"{prefix}clock",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    return {"items": items, "tombstones": tombstones, "meta": meta, "clock": clock}


def _item_to_row(item: MemoryItem, version: int) -> dict[str, Any]:
    s = item.stats
    return {
        "id": item.id,
        "scope": item.scope,
        "kind": item.kind,
        "text": item.text,
        "payload": json.dumps(item.payload, separators=(",", ":"), ensure_ascii=False),
        "tags": json.dumps(list(item.tags), ensure_ascii=False),
        "embedding": None if item.embedding is None else item.embedding.astype("<f4").tobytes(),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "last_used_at": item.last_used_at,
        "r_count": s.count,
        "r_total": s.total,
        "r_last": s.last,
        "r_last_at": s.last_at,
        "r_wtotal": s.weighted_total,
        "r_weight": s.weight,
        "version": version,
    }


def _row_to_item(row: Any) -> MemoryItem:
    blob = row.embedding
    return MemoryItem(
        id=row.id,
        scope=row.scope,
        kind=row.kind,
        text=row.text,
        payload=json.loads(row.payload),
        tags=tuple(json.loads(row.tags)),
        embedding=None if blob is None else np.frombuffer(blob, dtype="<f4").astype(np.float32),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
        stats=RewardStats(
            count=row.r_count,
            total=row.r_total,
            last=row.r_last,
            last_at=row.r_last_at,
            weighted_total=row.r_wtotal,
            weight=row.r_weight,
        ),
    )


class SQLBackend(MemoryBackend):
    """Shared implementation of :class:`SQLiteBackend` and :class:`PostgresBackend`.

    Args:
        engine: a SQLAlchemy engine (SQLite or PostgreSQL).
        schema: PostgreSQL schema for the tables (created if missing); ``None`` for the default.
        table_prefix: prefix of the four table names.
    """

    def __init__(self, engine: Engine, *, schema: str | None = None, table_prefix: str = "memory_") -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self.schema = schema
        scope_type: sa.types.TypeEngine[str] = sa.Text(collation="C") if self._dialect == "postgresql" else sa.Text()
        self._metadata = sa.MetaData(schema=schema)
        t = _tables(self._metadata, table_prefix, scope_type)
        self._items, self._tombstones, self._meta, self._clock = (
            t["items"],
            t["tombstones"],
            t["meta"],
            t["clock"],
        )
        self._closed = False
        with self._errors():
            self._create_schema()

    # -- plumbing -----------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine."""
        return self._engine

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"{self._dialect} storage failed: {exc}") from exc

    def _insert(self, table: sa.Table) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[tuple[Connection, int]]:
        """A write transaction holding the writer lock, and the version its rows get."""
        with self._errors(), self._engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                c = self._clock.c
                version = conn.execute(
                    sa.update(self._clock).where(c.id == 1).values(value=c.value + 1).returning(c.value)
                ).scalar_one()
                yield conn, int(version)

    def _create_schema(self) -> None:
        with self._engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                if self._dialect == "postgresql":
                    # Several processes may open a new database at once; DDL is transactional here.
                    lock_key = zlib.crc32(f"memory_store:{self.schema}:{self._items.name}".encode())
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
                    if self.schema:
                        conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
                self._metadata.create_all(conn, checkfirst=True)
                conn.execute(self._insert(self._clock).values(id=1, value=0).on_conflict_do_nothing())

    def _scope_filter(
        self,
        scope: str | None,
        descendants: bool,
        kinds: Collection[str] | None,
        exclude_kinds: Collection[str],
    ) -> list[sa.ColumnElement[bool]]:
        c = self._items.c
        where: list[sa.ColumnElement[bool]] = []
        if scope is not None:
            if descendants:
                low, high = subtree_bounds(scope)
                where.append(sa.or_(c.scope == scope, sa.and_(c.scope >= low, c.scope < high)))
            else:
                where.append(c.scope == scope)
        if kinds is not None:
            where.append(c.kind.in_(list(kinds)))
        if exclude_kinds:
            where.append(c.kind.not_in(list(exclude_kinds)))
        return where

    # -- MemoryBackend ------------------------------------------------------------------------------

    def put(self, items: Sequence[MemoryItem], *, replace: bool = False) -> None:
        if not items:
            return
        ids = [item.id for item in items]
        if not replace and len(set(ids)) != len(ids):
            raise DuplicateItemError(sorted({i for i in ids if ids.count(i) > 1}))
        try:
            with self._write() as (conn, version):
                rows = [_item_to_row(item, version) for item in items]
                if replace:
                    stmt = self._insert(self._items)
                    stmt = stmt.on_conflict_do_update(
                        index_elements=[self._items.c.id],
                        set_={c.name: stmt.excluded[c.name] for c in self._items.columns if c.name != "id"},
                    )
                    conn.execute(stmt, rows)
                else:
                    conn.execute(self._items.insert(), rows)
        except StorageError as exc:
            if isinstance(exc.__cause__, sa.exc.IntegrityError):
                existing = [it.id for it in self.get(ids)]
                raise DuplicateItemError(existing or ids) from None
            raise

    def get(self, ids: Sequence[str]) -> list[MemoryItem]:
        found: dict[str, MemoryItem] = {}
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                for row in conn.execute(sa.select(self._items).where(self._items.c.id.in_(chunk))):
                    found[row.id] = _row_to_item(row)
        return [found[i] for i in ids if i in found]

    def update(self, item_id: str, fields: Mapping[str, Any], *, at: float) -> MemoryItem:
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"fields cannot be updated: {sorted(unknown)}")
        with self._write() as (conn, version):
            probe = MemoryItem(**{"id": item_id, "scope": "", "kind": "", "text": "", **fields})
            row = _item_to_row(probe, version)
            values = {name: row[name] for name in fields}
            c = self._items.c
            result = conn.execute(
                sa.update(self._items)
                .where(c.id == item_id)
                .values(**values, updated_at=at, version=version)
                .returning(*self._items.columns)
            ).first()
            if result is None:
                raise ItemNotFoundError([item_id])
            return _row_to_item(result)

    def delete(self, ids: Sequence[str]) -> int:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return 0
        deleted = 0
        with self._write() as (conn, version):
            for chunk in _chunks(unique):
                gone = (
                    conn.execute(sa.delete(self._items).where(self._items.c.id.in_(chunk)).returning(self._items.c.id))
                    .scalars()
                    .all()
                )
                if gone:
                    stmt = self._insert(self._tombstones)
                    stmt = stmt.on_conflict_do_update(
                        index_elements=[self._tombstones.c.id], set_={"version": stmt.excluded.version}
                    )
                    conn.execute(stmt, [{"id": i, "version": version} for i in gone])
                    deleted += len(gone)
        return deleted

    def reward(self, ids: Sequence[str], reward: float, *, weight: float, at: float) -> None:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return
        c = self._items.c
        newer = sa.or_(c.r_last_at.is_(None), c.r_last_at <= at)
        with self._write() as (conn, version):
            changed = 0
            for chunk in _chunks(unique):
                result = conn.execute(
                    sa.update(self._items)
                    .where(c.id.in_(chunk))
                    .values(
                        r_count=c.r_count + 1,
                        r_total=c.r_total + reward,
                        r_wtotal=c.r_wtotal + reward * weight,
                        r_weight=c.r_weight + weight,
                        r_last=sa.case((newer, reward), else_=c.r_last),
                        r_last_at=sa.case((newer, at), else_=c.r_last_at),
                        last_used_at=sa.case((c.last_used_at < at, at), else_=c.last_used_at),
                        version=version,
                    )
                )
                changed += result.rowcount
            if changed != len(unique):
                present = set(conn.execute(sa.select(c.id).where(c.id.in_(unique[: 10 * _CHUNK]))).scalars())
                raise ItemNotFoundError([i for i in unique if i not in present] or unique)

    def touch(self, ids: Sequence[str], *, at: float) -> None:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return
        c = self._items.c
        with self._write() as (conn, version):
            for chunk in _chunks(unique):
                conn.execute(
                    sa.update(self._items)
                    .where(c.id.in_(chunk), c.last_used_at < at)
                    .values(last_used_at=at, version=version)
                )

    def list_items(
        self,
        scope: str | None = None,
        *,
        descendants: bool = True,
        kinds: Collection[str] | None = None,
        exclude_kinds: Collection[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[MemoryItem]:
        c = self._items.c
        stmt = (
            sa.select(self._items)
            .where(*self._scope_filter(scope, descendants, kinds, exclude_kinds))
            .order_by(c.created_at, c.id)
            .offset(offset)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as conn:
            return [_row_to_item(row) for row in conn.execute(stmt)]

    def count(
        self,
        scope: str | None = None,
        *,
        descendants: bool = True,
        kinds: Collection[str] | None = None,
        exclude_kinds: Collection[str] = (),
    ) -> int:
        stmt = (
            sa.select(sa.func.count())
            .select_from(self._items)
            .where(*self._scope_filter(scope, descendants, kinds, exclude_kinds))
        )
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def scope_counts(self) -> dict[str, int]:
        c = self._items.c
        with self._read() as conn:
            rows = conn.execute(sa.select(c.scope, sa.func.count()).group_by(c.scope)).all()
        return {scope: int(n) for scope, n in rows}

    def version(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(self._clock.c.value).where(self._clock.c.id == 1)).scalar_one())

    def changes_since(self, version: int) -> ChangeSet:
        # Read the clock first: anything committed later has a larger version and is either included
        # below or picked up by the next call (see MemoryBackend.changes_since).
        with self._read() as conn:
            current = int(conn.execute(sa.select(self._clock.c.value).where(self._clock.c.id == 1)).scalar_one())
            if current == version:
                return ChangeSet(current, [], [])
            t = self._tombstones.c
            deleted = list(conn.execute(sa.select(t.id).where(t.version > version)).scalars())
            rows = conn.execute(sa.select(self._items).where(self._items.c.version > version))
            upserted = [_row_to_item(row) for row in rows]
        return ChangeSet(current, upserted, deleted)

    def init_meta(self, key: str, value: str) -> str:
        m = self._meta.c
        with self._errors(), self._engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                conn.execute(self._insert(self._meta).values(key=key, value=value).on_conflict_do_nothing())
                return str(conn.execute(sa.select(m.value).where(m.key == key)).scalar_one())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.dispose()


class SQLiteBackend(SQLBackend):
    """SQLite in one file, safe for several processes and threads.

    WAL journal (readers never block the writer), ``busy_timeout`` so writers wait for the lock instead
    of failing, and ``BEGIN IMMEDIATE`` for every write transaction so a writer takes the lock before it
    reads (no upgrade deadlocks).

    Args:
        path: database file (created with its folder if missing).
        busy_timeout_s: how long a writer waits for the lock before :class:`StorageError`.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(f"sqlite:///{self.path}", connect_args={"timeout": busy_timeout_s})
        timeout_ms = int(busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        super().__init__(engine)


class PostgresBackend(SQLBackend):
    """PostgreSQL through SQLAlchemy (``postgresql+psycopg://user@host:5432/db``), for clusters.

    Args:
        url: SQLAlchemy URL; ``postgresql://`` is read as ``postgresql+psycopg://``.
        schema: schema holding the tables (created if missing); ``None`` uses the search path.
        table_prefix: prefix of the table names.
        pool_size: connections kept per process.
    """

    def __init__(
        self, url: str, *, schema: str | None = None, table_prefix: str = "memory_", pool_size: int = 5
    ) -> None:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        engine = sa.create_engine(url, pool_size=pool_size, pool_pre_ping=True)
        super().__init__(engine, schema=schema, table_prefix=table_prefix)
