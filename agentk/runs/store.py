"""Run records through SQLAlchemy: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, Text, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from agentk.errors import UserInputError


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
        }


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class RunStore:
    """Creates, updates and lists run records. Safe for several processes (each opens its own engine)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        _Base.metadata.create_all(self.engine)
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

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
