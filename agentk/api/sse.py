"""Server-Sent Events from a run's journal.

The journal file (fsynced per event, see :mod:`agentk.runs.events`) is the only source: the stream tails it,
so it sees events written by any worker process on any machine sharing the run folder, and a client that
reconnects with ``Last-Event-ID: <seq>`` gets exactly the events after ``seq``. A torn last line (a worker
killed mid-write) is never sent: only lines ending in a newline are parsed, and the journal closes a torn
line before appending again.

The stream ends (an ``end`` event with the run's state) once the journal holds the run's final event; a
comment line keeps idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from agentk.runs import Event, RunState

_POLL = 0.25  # seconds between looks at the journal
_STATE_CHECK = 3.0  # seconds between looks at the database when the journal is quiet
_TERMINAL = {RunState.SUCCEEDED.value, RunState.FAILED.value, RunState.CANCELLED.value}


def is_final(event: Event) -> bool:
    """Whether this event is the last one a run writes (until a user starts it again, which cannot happen)."""
    state = event.data.get("state")
    if event.type != "run" or not isinstance(state, str):
        return False
    return state in _TERMINAL or (state == RunState.CRASHED.value and bool(event.data.get("final")))


def format_event(event: Event) -> str:
    return f"id: {event.seq}\ndata: {event.to_json()}\n\n"


class JournalTail:
    """Reads complete events appended to a journal since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read(self) -> list[Event]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        if not chunk:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # b"" after a complete line; otherwise a line still being written
        events = []
        for line in lines:
            try:
                events.append(Event(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a torn line closed by the journal after a crash
        return events


async def stream_events(
    journal: Path,
    *,
    after: int,
    follow: bool,
    keepalive: float,
    run_state: Callable[[], str],
    is_disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """SSE text for the events after seq ``after``; with ``follow``, keeps tailing until the run's end."""
    tail = JournalTail(journal)
    yield "retry: 2000\n\n"
    last_write = last_check = time.monotonic()
    terminal_since: float | None = None
    while True:
        for event in tail.read():
            if event.seq <= after:
                continue
            after = event.seq
            last_write = time.monotonic()
            yield format_event(event)
            if is_final(event):
                yield f"event: end\ndata: {json.dumps({'state': event.data['state']})}\n\n"
                return
        if not follow:
            state = await asyncio.to_thread(run_state)
            yield f"event: end\ndata: {json.dumps({'state': state})}\n\n"
            return
        now = time.monotonic()
        if now - last_check >= _STATE_CHECK:
            # A run can finish without its final event (its worker died between the two writes); don't
            # leave such a stream open forever.
            last_check = now
            state = await asyncio.to_thread(run_state)
            if state in _TERMINAL:
                terminal_since = terminal_since or now
                if now - terminal_since >= 2 * _STATE_CHECK:
                    yield f"event: end\ndata: {json.dumps({'state': state})}\n\n"
                    return
        if now - last_write >= keepalive:
            last_write = now
            yield ": keep-alive\n\n"
        if await is_disconnected():
            return
        await asyncio.sleep(_POLL)
