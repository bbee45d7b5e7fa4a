"""Run records through SQLAlchemy: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import builtins
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from agentk.errors import UserInputError
from agentk.runs.schema import upgrade


class RunState(StrEnum):
    """Lifecycle of a run. CRASHED means the worker died; FAILED means the work itself failed."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    CANCELLED = "CANCELLED"

    def is_finished(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)


class _Base(DeclarativeBase):
    pass


metadata = _Base.metadata  # what the migrations must produce (tests compare them)


def _now() -> datetime:
    return datetime.now(UTC)


class RunRecord(_Base):
    """One run: what was asked, where it lives, how it ended."""

    __tablename__ = "agentk_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    competition: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), index=True, default=RunState.QUEUED.value)
    budget: Mapped[float] = mapped_column(Float)
    out_dir: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cv_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    test_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    teams: Mapped[int | None] = mapped_column(Integer, nullable=True)
    beats_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    medal: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    options: Mapped[str] = mapped_column(Text, default="{}")
    # The run service's bookkeeping (see agentk.runs.service): who runs it, since when it was last alive,
    # how many times it has been claimed, and whether a user asked to cancel it.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "competition": self.competition,
            "state": self.state,
            "budget": self.budget,
            "out_dir": self.out_dir,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "cv_score": self.cv_score,
            "test_score": self.test_score,
            "rank": self.rank,
            "teams": self.teams,
            "beats_pct": self.beats_pct,
            "medal": self.medal,
            "error": self.error,
            "options": json.loads(self.options or "{}"),
            "heartbeat_at": self.heartbeat_at.isoformat() if self.heartbeat_at else None,
            "attempts": self.attempts or 0,
            "worker": self.worker,
            "cancel_requested": bool(self.cancel_requested),
        }


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class RunStore:
    """Creates, updates and lists run records. Safe for several processes (each opens its own engine)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        upgrade(self.engine)  # Alembic migrations (agentk.runs.migrations), serialised across processes
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def create(
        self,
        competition: str,
        budget: float,
        out_dir: str,
        *,
        run_id: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> RunRecord:
        record = RunRecord(
            id=run_id or new_run_id(),
            competition=competition,
            state=RunState.QUEUED.value,
            budget=budget,
            out_dir=out_dir,
            created_at=_now(),
            options=json.dumps(options or {}, default=str),
        )
        with self._session.begin() as session:
            session.add(record)
        return record

    def get(self, run_id: str) -> RunRecord:
        with self._session() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise UserInputError(f"no run with id {run_id!r}")
            return record

    def update(self, run_id: str, **fields: Any) -> RunRecord:
        with self._session.begin() as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise UserInputError(f"no run with id {run_id!r}")
            for key, value in fields.items():
                if not hasattr(RunRecord, key):
                    raise AttributeError(key)
                setattr(record, key, value.value if isinstance(value, RunState) else value)
            return record

    def transition(self, run_id: str, state: RunState, **fields: Any) -> RunRecord:
        if state is RunState.RUNNING:
            fields.setdefault("started_at", _now())
        elif state.is_finished() or state is RunState.CRASHED:
            fields.setdefault("finished_at", _now())
        return self.update(run_id, state=state, **fields)

    def list(self, *, state: RunState | None = None, limit: int = 50, offset: int = 0) -> list[RunRecord]:
        query = select(RunRecord).order_by(RunRecord.created_at.desc()).limit(limit).offset(offset)
        if state is not None:
            query = query.where(RunRecord.state == state.value)
        with self._session() as session:
            return list(session.scalars(query))

    def count(self, *, state: RunState | None = None) -> int:
        query = select(func.count()).select_from(RunRecord)
        if state is not None:
            query = query.where(RunRecord.state == state.value)
        with self._session() as session:
            return int(session.scalar(query) or 0)

    # -- the run service's queue -------------------------------------------------------------------------
    # Every state change below is a compare-and-set (``UPDATE ... WHERE state = <expected>``), so two
    # workers, or a worker and a reaper, can never both win the same run.

    def claim(self, worker: str) -> RunRecord | None:
        """Atomically take the oldest QUEUED run for ``worker`` (RUNNING, attempts + 1); None if none."""
        for _ in range(20):
            with self._session.begin() as session:
                query = (
                    select(RunRecord.id)
                    .where(RunRecord.state == RunState.QUEUED.value)
                    .order_by(RunRecord.created_at)
                    .limit(1)
                )
                if self.engine.dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                run_id = session.scalar(query)
                if run_id is None:
                    return None
                now = _now()
                claimed = session.execute(
                    update(RunRecord)
                    .where(RunRecord.id == run_id, RunRecord.state == RunState.QUEUED.value)
                    .values(
                        state=RunState.RUNNING.value,
                        worker=worker,
                        heartbeat_at=now,
                        started_at=now,
                        finished_at=None,
                        attempts=RunRecord.attempts + 1,
                    )
                )
            if _rowcount(claimed) == 1:
                return self.get(run_id)
        return None  # lost every race: another worker is draining the queue

    def heartbeat(self, run_id: str, worker: str) -> tuple[bool, bool]:
        """Record that ``worker`` is alive on ``run_id``: ``(still_owned, cancel_requested)``."""
        with self._session.begin() as session:
            result = session.execute(
                update(RunRecord)
                .where(
                    RunRecord.id == run_id,
                    RunRecord.worker == worker,
                    RunRecord.state == RunState.RUNNING.value,
                )
                .values(heartbeat_at=_now())
            )
            if _rowcount(result) != 1:
                return False, False
            cancel = session.scalar(select(RunRecord.cancel_requested).where(RunRecord.id == run_id))
        return True, bool(cancel)

    def request_cancel(self, run_id: str) -> RunRecord:
        """Cancel a QUEUED run now, or flag a RUNNING one for its worker; other states are left alone."""
        with self._session.begin() as session:
            session.execute(
                update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.state == RunState.QUEUED.value)
                .values(state=RunState.CANCELLED.value, cancel_requested=True, finished_at=_now())
            )
            session.execute(
                update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.state == RunState.RUNNING.value)
                .values(cancel_requested=True)
            )
        return self.get(run_id)

    def release(self, run_id: str, worker: str, state: RunState, **fields: Any) -> bool:
        """Move a RUNNING run owned by ``worker`` to ``state`` (CRASHED, CANCELLED or QUEUED); False if lost."""
        values: dict[str, Any] = {"state": state.value, **fields}
        if state is RunState.QUEUED:
            values.update(worker=None, heartbeat_at=None)
        else:
            values.setdefault("finished_at", _now())
        with self._session.begin() as session:
            result = session.execute(
                update(RunRecord)
                .where(
                    RunRecord.id == run_id,
                    RunRecord.worker == worker,
                    RunRecord.state == RunState.RUNNING.value,
                )
                .values(**values)
            )
        return _rowcount(result) == 1

    def requeue(self, run_id: str) -> bool:
        """Put a CRASHED run back in the queue; False if it is no longer CRASHED."""
        with self._session.begin() as session:
            result = session.execute(
                update(RunRecord)
                .where(
                    RunRecord.id == run_id,
                    RunRecord.state == RunState.CRASHED.value,
                    RunRecord.cancel_requested.is_(False),
                )
                .values(state=RunState.QUEUED.value, worker=None, heartbeat_at=None, finished_at=None, error=None)
            )
        return _rowcount(result) == 1

    def running(self) -> builtins.list[RunRecord]:
        """Every RUNNING run (the reaper's view)."""
        with self._session() as session:
            return list(session.scalars(select(RunRecord).where(RunRecord.state == RunState.RUNNING.value)))

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
