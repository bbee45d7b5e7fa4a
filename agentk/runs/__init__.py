"""The job service's storage: run records in a database and each run's append-only event journal."""

from __future__ import annotations

from agentk.runs.events import Event, EventJournal, read_events
from agentk.runs.store import RunRecord, RunState, RunStore

__all__ = ["Event", "EventJournal", "RunRecord", "RunState", "RunStore", "read_events"]
