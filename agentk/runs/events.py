"""An append-only event journal: one JSON line per event, flushed and fsynced before ``append`` returns.

A crash can leave at most a torn last line; :func:`read_events` skips it, so replay never fails and never
loses a complete event. Sequence numbers continue from the journal's last complete event after a restart.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run."""

    seq: int
    ts: str
    type: str
    message: str
    phase: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)


def read_events(path: Path) -> list[Event]:
    """Every complete event in a journal (a torn last line is ignored)."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            raw = json.loads(line)
            events.append(Event(**raw))
        except (json.JSONDecodeError, TypeError):
            continue
    return events


class EventJournal:
    """Appends events to ``path``; thread-safe; listeners see each event after it is on disk."""

    def __init__(self, path: Path, listeners: list[Callable[[Event], None]] | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = read_events(path)
        self._seq = existing[-1].seq if existing else 0
        self._lock = threading.Lock()
        self._listeners = list(listeners or [])
        if existing and not path.read_bytes().endswith(b"\n"):
            with path.open("ab") as fh:  # close a torn line so the next event starts on its own line
                fh.write(b"\n")

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def append(self, type: str, message: str, *, phase: str | None = None, **data: Any) -> Event:
        with self._lock:
            self._seq += 1
            event = Event(self._seq, datetime.now(UTC).isoformat(timespec="milliseconds"), type, message, phase, data)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(event.to_json() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        for listener in self._listeners:
            listener(event)
        return event
