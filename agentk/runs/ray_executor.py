"""The Ray executor: queued runs become Ray tasks on a cluster (``AGENTK_EXECUTOR=ray``).

A dispatcher thread in the server joins the cluster (``AGENTK_RAY_ADDRESS``, else ``RAY_ADDRESS``, else the
local one) and, while the cluster has room (``AGENTK_RAY_MAX_RUNS``), claims the oldest QUEUED run and submits
it as a task that requests ``AGENTK_RAY_RUN_CPUS``/``_GPUS``. The task runs
:func:`agentk.agent.runner.execute_run`, the same code a local worker runs, with the run's search spread over
the cluster (:class:`~agentk.runs.ray_trials.RayTrialWorkers`) when the Optuna storage is shared.

Ownership follows the local executor's rules (:mod:`agentk.runs.worker`): the run's worker id is
``ray:<token>``; the dispatcher heartbeats every run it holds (queued in Ray or running), the task itself
heartbeats too and kills itself when its run is cancelled or taken away. Ray never retries a run's task
(``max_retries=0``): when a task fails — its node died, its process was killed — the dispatcher settles the run
like a dead local worker (CRASHED and requeued, or CANCELLED), so a retry is an attempt the run table counts.
If the server itself dies, Ray ends the tasks it owned and the heartbeats stop: any other server's reaper
settles the runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from agentk.config import Settings
from agentk.runs.executor import Executor
from agentk.runs.reaper import interrupt, reap, settle
from agentk.runs.store import RunState, RunStore
from agentk.runs.studies import prepare_study_storage

log = logging.getLogger(__name__)

_TICK = 0.5  # seconds between the dispatcher's looks at the tasks and the queue


def run_task(run_id: str, worker: str, settings: Settings) -> str:
    """A run's Ray task: execute it here, heartbeating, with its search spread over the cluster."""
    from agentk.agent.runner import execute_run
    from agentk.runs.ray_trials import RayTrialWorkers
    from agentk.runs.worker import Heartbeat
    from agentk.tools.search import TrialWorkers, use_trial_workers

    store = RunStore(settings.resolved_database_url)
    try:
        record = store.get(run_id)
        storage = settings.resolved_study_storage
        prefix = f"{run_id}-a{record.attempts}"
        trials = (
            RayTrialWorkers(
                storage,
                prefix,
                helpers=settings.ray_trial_workers,
                cpus=settings.ray_trial_cpus,
                gpus=settings.ray_trial_gpus,
            )
            if storage is not None
            else TrialWorkers(None, prefix)  # no shared study: the run searches alone
        )
        beat = Heartbeat(store, run_id, worker, settings.heartbeat_interval, None)
        beat.start()
        trials.prepare()
        try:
            with use_trial_workers(trials):
                return execute_run(run_id, settings=settings).state.value
        finally:
            beat.done.set()
            beat.join()
    finally:
        store.dispose()


@dataclass
class _InFlight:
    run_id: str
    worker: str
    ref: Any  # ray.ObjectRef of the run's task


class RayExecutor(Executor):
    """Executes queued runs as Ray tasks (see the module docstring). Thread-safe like every executor."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reap_interval = max(0.5, settings.heartbeat_interval)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._store: RunStore | None = None
        self._in_flight: dict[str, _InFlight] = {}
        self._remote: Any = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        import ray

        self.settings.home.mkdir(parents=True, exist_ok=True)
        self._store = RunStore(self.settings.resolved_database_url)
        prepare_study_storage(self.settings.resolved_study_storage)
        ray.init(
            address=self.settings.ray_address or os.environ.get("RAY_ADDRESS") or "auto",
            namespace="agentk",
            log_to_driver=False,
            logging_level=logging.WARNING,
            ignore_reinit_error=True,
        )
        self._remote = ray.remote(run_task)
        self._reap()
        self._thread = threading.Thread(target=self._loop, name="agentk-ray-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        import ray

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            refs = [item.ref for item in self._in_flight.values()]
            for ref in refs:
                ray.cancel(ref, force=True)
            if refs:  # let the cancelled tasks end before their runs are requeued
                ray.wait(refs, num_returns=len(refs), timeout=timeout)
            if self._store is not None:
                for record in self._store.running():
                    if record.worker in {i.worker for i in self._in_flight.values()}:
                        interrupt(self._store, record, "the server shut down")
                self._store.dispose()
            self._in_flight.clear()
        ray.shutdown()

    def health(self) -> tuple[bool, str]:
        from agentk.runs.ray_trials import alive_nodes, cluster_cpus

        try:
            nodes, cpus = len(alive_nodes()), cluster_cpus()
        except Exception as exc:  # the cluster is unreachable: not ready; the type is enough
            return False, f"ray unavailable ({type(exc).__name__})"
        with self._lock:
            running = len(self._in_flight)
        return nodes > 0, f"ray: {nodes} node(s), {cpus:g} CPUs, {running} run(s) in flight"

    def in_flight(self) -> dict[str, str]:
        """``{run_id: worker id}`` of the runs this executor holds now."""
        with self._lock:
            return {i.run_id: i.worker for i in self._in_flight.values()}

    # -- dispatching ----------------------------------------------------------------------------------------

    def _loop(self) -> None:
        next_reap = time.monotonic() + self.reap_interval
        while not self._stop.wait(_TICK):
            try:
                with self._lock:
                    if self._stop.is_set():
                        return
                    self._settle_finished()
                    self._heartbeat()
                    self._dispatch()
                if time.monotonic() >= next_reap:
                    self._reap()
                    next_reap = time.monotonic() + self.reap_interval
            except Exception:  # the dispatcher must outlive database and cluster blips; the next tick retries
                log.exception("ray dispatcher check failed")

    def _capacity(self) -> int:
        from agentk.runs.ray_trials import cluster_cpus

        if self.settings.ray_max_runs > 0:
            return self.settings.ray_max_runs
        cpus = cluster_cpus()
        return max(1, int(cpus // (self.settings.ray_run_cpus + self.settings.ray_trial_cpus)))

    def _dispatch(self) -> None:
        assert self._store is not None
        room = self._capacity() - len(self._in_flight)
        settings = self.settings.model_copy(
            update={"api_token": None, "n_jobs": max(1, int(self.settings.ray_run_cpus))}
        )
        options = {
            "num_cpus": self.settings.ray_run_cpus,
            "num_gpus": self.settings.ray_run_gpus,
            "max_retries": 0,  # a lost run is settled and requeued by the run table, which counts attempts
            "scheduling_strategy": "SPREAD",
        }
        for _ in range(max(0, room)):
            worker = f"ray:{uuid.uuid4().hex[:16]}"
            record = self._store.claim(worker)
            if record is None:
                return
            ref = self._remote.options(**options).remote(record.id, worker, settings)
            self._in_flight[record.id] = _InFlight(record.id, worker, ref)
            log.info("run %s submitted to ray (attempt %d)", record.id, record.attempts)

    def _settle_finished(self) -> None:
        import ray

        assert self._store is not None
        refs = [i.ref for i in self._in_flight.values()]
        if not refs:
            return
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        done = {ref for ref in ready}
        for item in [i for i in self._in_flight.values() if i.ref in done]:
            del self._in_flight[item.run_id]
            try:
                ray.get(item.ref)
                reason = "its ray task ended without settling the run"
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                reason = f"its ray task failed: {type(exc).__name__}{': ' + first[:300] if first else ''}"
            record = self._store.get(item.run_id)
            if record.state == RunState.RUNNING and record.worker == item.worker:
                state = settle(self._store, record, reason, max_attempts=self.settings.max_attempts)
                log.warning("run %s: %s -> %s", item.run_id, reason, state)

    def _heartbeat(self) -> None:
        import ray

        assert self._store is not None
        for item in list(self._in_flight.values()):
            owned, cancel = self._store.heartbeat(item.run_id, item.worker)
            if cancel or not owned:
                ray.cancel(item.ref, force=True)  # its failure is settled on a later tick

    def _reap(self) -> None:
        assert self._store is not None
        reap(self._store, heartbeat_timeout=self.settings.heartbeat_timeout, max_attempts=self.settings.max_attempts)
