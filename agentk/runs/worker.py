"""A worker process: claims QUEUED runs from the database and executes them, heartbeating while it works.

Start one with ``python -m agentk.runs.worker`` (settings from ``AGENTK_*``); :class:`~agentk.runs.service.RunService`
starts ``AGENTK_WORKERS`` of them. A worker executes one run at a time, in its main thread, with
:func:`agentk.agent.runner.execute_run`. A second thread heartbeats every ``AGENTK_HEARTBEAT_INTERVAL`` seconds.

A worker never leaves a run half-owned. It kills itself (SIGKILL, so no code of the run keeps going) when

* the user asked to cancel its run (the heartbeat reads ``cancel_requested``): whoever notices the death — the
  supervising service at once, or any reaper once the heartbeat is stale — records the run CANCELLED;
* the run is no longer its own (a reaper declared it CRASHED and requeued it elsewhere);
* its supervising service died (the parent pid changed): the run is reaped as CRASHED and requeued.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from agentk.config import Settings, get_settings
from agentk.runs.store import RunState, RunStore

log = logging.getLogger(__name__)

PARENT_ENV = "AGENTK_WORKER_PARENT"
_POLL_SECONDS = 0.5


def worker_id(pid: int | None = None) -> str:
    """This process's identity in the run table: ``host:pid``."""
    return f"{socket.gethostname()}:{pid if pid is not None else os.getpid()}"


def parse_worker_id(worker: str) -> tuple[str, int | None]:
    """``(host, pid)`` of a worker id; pid None when it is not ours to interpret."""
    host, _, pid = worker.rpartition(":")
    return host, int(pid) if pid.isdigit() else None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Heartbeat(threading.Thread):
    """Heartbeats a run for its worker; kills the process when the run is cancelled or taken away."""

    def __init__(self, store: RunStore, run_id: str, worker: str, interval: float, parent: int | None) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.store, self.run_id, self.worker, self.interval, self.parent = store, run_id, worker, interval, parent
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            if self.parent is not None and os.getppid() != self.parent:
                log.error("the supervising service died; stopping run %s", self.run_id)
                _die()
            try:
                owned, cancel = self.store.heartbeat(self.run_id, self.worker)
                if owned and cancel:
                    log.warning("run %s: cancel requested; stopping", self.run_id)
                    _die()
                if not owned and not self.done.is_set():
                    record = self.store.get(self.run_id)
                    if record.worker != self.worker or record.state in (RunState.QUEUED, RunState.CRASHED):
                        log.error("run %s was taken from this worker (%s); stopping", self.run_id, record.state)
                        _die()
            except SQLAlchemyError as exc:  # a database blip: keep working; the reaper decides on staleness
                log.warning("heartbeat of run %s failed: %s", self.run_id, exc)


def work(settings: Settings, *, stop: threading.Event | None = None, max_runs: int | None = None) -> int:
    """Claim and execute runs until ``stop`` is set, ``max_runs`` are done or the parent dies; returns runs done."""
    from agentk.agent.runner import execute_run  # heavy imports (pandas, lightgbm) only in workers
    from agentk.tools.search import TrialWorkers, use_trial_workers

    parent_env = os.environ.get(PARENT_ENV)
    parent = int(parent_env) if parent_env and parent_env.isdigit() else None
    settings.home.mkdir(parents=True, exist_ok=True)
    store = RunStore(settings.resolved_database_url)
    me = worker_id()
    done = 0
    try:
        while (stop is None or not stop.is_set()) and (max_runs is None or done < max_runs):
            if parent is not None and os.getppid() != parent:
                return done
            record = store.claim(me)
            if record is None:
                time.sleep(_POLL_SECONDS)
                continue
            log.info("worker %s: run %s (attempt %d)", me, record.id, record.attempts)
            beat = Heartbeat(store, record.id, me, settings.heartbeat_interval, parent)
            beat.start()
            trials = TrialWorkers(settings.resolved_study_storage, f"{record.id}-a{record.attempts}")
            try:
                with use_trial_workers(trials):
                    execute_run(record.id, settings=settings)
            finally:
                beat.done.set()
                beat.join()
            done += 1
    finally:
        store.dispose()
    return done


def main() -> None:
    """``python -m agentk.runs.worker``: work until terminated."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    # SIGTERM ends the process, idle or mid-run (SystemExit passes through execute_run's error handling);
    # the service that sent it requeues an interrupted run.

    def on_term(*_: object) -> None:
        stop.set()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    work(get_settings(), stop=stop)


if __name__ == "__main__":
    main()
