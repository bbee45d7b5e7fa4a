"""The reaper: settles RUNNING runs whose worker is gone.

A worker is gone when its heartbeat is older than ``AGENTK_HEARTBEAT_TIMEOUT`` (any host), or at once when it
ran on this host and its process no longer exists. Its run becomes

* CANCELLED when a user had asked to cancel it (workers stop by killing themselves, see
  :mod:`agentk.runs.worker`);
* CRASHED otherwise, and back to QUEUED while it has been started fewer than ``AGENTK_MAX_ATTEMPTS`` times.
  The next worker executes it again in the same run folder; its journal keeps growing from the last
  complete event (the orchestrator does not checkpoint steps yet, so the work restarts from the beginning).

Every change is a compare-and-set on (run, worker, RUNNING), so several reapers (one per server sharing the
database) never settle the same run twice, and each change is written to the run's journal by the reaper
that made it.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentk.runs.events import EventJournal
from agentk.runs.store import RunRecord, RunState, RunStore
from agentk.runs.worker import parse_worker_id

log = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)  # SQLite returns naive UTC


def journal_for(record: RunRecord) -> EventJournal:
    return EventJournal(Path(record.out_dir) / "events.jsonl")


def settle(store: RunStore, record: RunRecord, reason: str, *, max_attempts: int, requeue: bool = True) -> str | None:
    """Settle a RUNNING run whose worker is gone; returns the new state, or None if another reaper won.

    ``requeue=False`` makes the crash final whatever the attempts.
    """
    worker = record.worker or ""
    if record.cancel_requested:
        if not store.release(record.id, worker, RunState.CANCELLED, error="cancelled by the user"):
            return None
        journal_for(record).append("run", f"run {record.id} cancelled", state=RunState.CANCELLED.value)
        return RunState.CANCELLED.value
    attempts = record.attempts or 0
    final = not requeue or attempts >= max_attempts
    message = f"worker crashed: {reason}"
    if not store.release(record.id, worker, RunState.CRASHED, error=message):
        return None
    journal = journal_for(record)
    journal.append(
        "run",
        f"run {record.id} crashed ({reason}) after attempt {attempts} of {max_attempts}"
        + ("; giving up" if final else ""),
        state=RunState.CRASHED.value,
        attempt=attempts,
        final=final,
    )
    if final:
        return RunState.CRASHED.value
    if store.requeue(record.id):
        journal.append(
            "run",
            f"run {record.id} requeued; attempt {attempts + 1} of {max_attempts} starts over in the same folder",
            state=RunState.QUEUED.value,
            attempt=attempts + 1,
        )
        return RunState.QUEUED.value
    return RunState.CRASHED.value


def interrupt(store: RunStore, record: RunRecord, reason: str) -> bool:
    """Requeue a run whose worker was stopped on purpose (server shutdown); the attempt is not counted."""
    worker = record.worker or ""
    if record.cancel_requested:
        return settle(store, record, reason, max_attempts=0) is not None
    if not store.release(record.id, worker, RunState.QUEUED, attempts=max(0, (record.attempts or 1) - 1)):
        return False
    journal_for(record).append(
        "run", f"run {record.id} interrupted ({reason}); requeued", state=RunState.QUEUED.value, interrupted=True
    )
    return True


def reap(
    store: RunStore,
    *,
    heartbeat_timeout: float,
    max_attempts: int,
    now: datetime | None = None,
) -> dict[str, str]:
    """Settle every RUNNING run whose worker is gone; returns ``{run_id: new_state}``."""
    now = now or datetime.now(UTC)
    host = socket.gethostname()
    settled: dict[str, str] = {}
    for record in store.running():
        worker = record.worker or ""
        beat = _aware(record.heartbeat_at) or _aware(record.started_at)
        worker_host, pid = parse_worker_id(worker)
        reason = None
        if worker_host == host and pid is not None and not pid_alive(pid):
            reason = f"worker process {pid} on {host} is gone"
        elif beat is None or now - beat > timedelta(seconds=heartbeat_timeout):
            reason = f"no heartbeat from {worker or 'its worker'} for more than {heartbeat_timeout:.0f}s"
        if reason is None:
            continue
        state = settle(store, record, reason, max_attempts=max_attempts)
        if state is not None:
            log.warning("reaped run %s: %s -> %s", record.id, reason, state)
            settled[record.id] = state
    return settled
