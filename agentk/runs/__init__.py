"""The job service: run records in a database, each run's append-only event journal, and the executors."""

from __future__ import annotations

from agentk.runs.events import Event, EventJournal, read_events
from agentk.runs.executor import Executor, create_executor
from agentk.runs.store import RunRecord, RunState, RunStore

__all__ = ["Event", "EventJournal", "Executor", "RunRecord", "RunState", "RunStore", "create_executor", "read_events"]
