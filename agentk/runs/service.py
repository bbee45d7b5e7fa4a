"""The run service: a database-backed queue executed by local worker processes.

* The queue is the run table itself: ``POST /api/runs`` (or :func:`agentk.agent.runner.create_run`) records a
  QUEUED run; a worker claims the oldest with a compare-and-set (``UPDATE ... WHERE state = 'QUEUED'``, with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL), so any number of workers on any number of machines
  sharing the database never run the same attempt twice.
* :class:`RunService` keeps ``AGENTK_WORKERS`` worker processes (:mod:`agentk.runs.worker`) alive, settles the
  run of a worker that died at once (CRASHED and requeued, or CANCELLED when that was asked for), and reaps
  stale runs of workers elsewhere (:mod:`agentk.runs.reaper`).
* Stopping the service (server shutdown) terminates its workers and requeues their runs without counting the
  attempt; a service killed outright leaves runs that the next reaper settles as crashes. Either way no run
  is lost, and journals (fsynced per event) lose no complete event.

A requeued run starts over in its own folder (the orchestrator does not checkpoint steps yet).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from pydantic import SecretStr

from agentk.config import Settings
from agentk.runs.executor import Executor
from agentk.runs.reaper import interrupt, reap, settle
from agentk.runs.store import RunStore
from agentk.runs.studies import prepare_study_storage
from agentk.runs.worker import PARENT_ENV, worker_id

log = logging.getLogger(__name__)

_TICK = 0.25  # seconds between checks of the children
_FAST_EXIT = 5.0  # a worker that dies this soon after starting is respawned only after this delay


def settings_env(settings: Settings) -> dict[str, str]:
    """``AGENTK_*`` variables that reproduce ``settings`` in a child process (never the API token)."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        if name == "api_token":
            continue
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list | tuple | dict):
            value = json.dumps(value, default=str)  # pydantic-settings reads complex values as JSON
        env[f"AGENTK_{name.upper()}"] = str(value)
    return env


@dataclass
class _Slot:
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    not_before: float = 0.0
    history: list[int] = field(default_factory=list)  # pids this slot has run


class RunService(Executor):
    """The local executor: supervises local worker processes and reaps runs whose worker is gone.

    Thread-safe: :meth:`start` and :meth:`stop` may be called from any thread (the API's lifespan).
    """

    def __init__(self, settings: Settings, *, workers: int | None = None) -> None:
        self.settings = settings
        self.workers = settings.workers if workers is None else workers
        self.reap_interval = max(0.5, settings.heartbeat_interval)
        self._slots = [_Slot() for _ in range(self.workers)]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._store: RunStore | None = None
        self._log: IO[bytes] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self._store = RunStore(self.settings.resolved_database_url)
        prepare_study_storage(self.settings.resolved_study_storage)
        logs = self.settings.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self._log = (logs / "workers.log").open("ab")
        self._reap()  # runs left RUNNING by a previous server on this host are settled before anything else
        with self._lock:
            for slot in self._slots:
                self._spawn(slot)
        self._thread = threading.Thread(target=self._loop, name="agentk-run-service", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the workers and requeue what they were running (the attempt is not counted)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            procs = [s.proc for s in self._slots if s.proc is not None]
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for proc in procs:
                try:
                    proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if self._store is not None:
                gone = {worker_id(p.pid) for p in procs}
                for record in self._store.running():
                    if record.worker in gone:
                        interrupt(self._store, record, "the server shut down")
                self._store.dispose()
            if self._log is not None:
                self._log.close()

    def health(self) -> tuple[bool, str]:
        alive = self.alive()
        return alive > 0, f"{alive}/{self.workers} alive" if alive else "none alive"

    def alive(self) -> int:
        """How many worker processes are running now."""
        with self._lock:
            return sum(1 for s in self._slots if s.proc is not None and s.proc.poll() is None)

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [s.proc.pid for s in self._slots if s.proc is not None and s.proc.poll() is None]

    # -- supervision ----------------------------------------------------------------------------------------

    def _spawn(self, slot: _Slot) -> None:
        env = {**os.environ, **settings_env(self.settings), PARENT_ENV: str(os.getpid())}
        slot.proc = subprocess.Popen(
            [sys.executable, "-m", "agentk.runs.worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        slot.started = time.monotonic()
        slot.history.append(slot.proc.pid)
        log.info("started worker process %d", slot.proc.pid)

    def _loop(self) -> None:
        next_reap = time.monotonic() + self.reap_interval
        while not self._stop.wait(_TICK):
            try:
                self._check_children()
                if time.monotonic() >= next_reap:
                    self._reap()
                    next_reap = time.monotonic() + self.reap_interval
            except Exception:  # the supervisor must outlive database blips; the next tick retries
                log.exception("run service check failed")

    def _check_children(self) -> None:
        assert self._store is not None
        with self._lock:
            if self._stop.is_set():
                return
            now = time.monotonic()
            for slot in self._slots:
                proc = slot.proc
                if proc is not None and proc.poll() is None:
                    continue
                if proc is not None:
                    code = proc.returncode
                    how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
                    me = worker_id(proc.pid)
                    for record in self._store.running():
                        if record.worker == me:
                            settle(
                                self._store,
                                record,
                                f"worker process {proc.pid} {how}",
                                max_attempts=self.settings.max_attempts,
                            )
                    if now - slot.started < _FAST_EXIT:
                        slot.not_before = now + _FAST_EXIT
                    log.warning("worker process %d %s", proc.pid, how)
                    slot.proc = None
                if now >= slot.not_before:
                    self._spawn(slot)

    def _reap(self) -> None:
        assert self._store is not None
        reap(
            self._store,
            heartbeat_timeout=self.settings.heartbeat_timeout,
            max_attempts=self.settings.max_attempts,
        )
