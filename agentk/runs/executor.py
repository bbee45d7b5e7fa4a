"""Executors: who executes the queued runs of the run table.

Two implementations, chosen by ``AGENTK_EXECUTOR`` and nothing else: local worker processes
(:class:`~agentk.runs.service.RunService`, the default) and a Ray cluster
(:class:`~agentk.runs.ray_executor.RayExecutor`). Both execute the same code,
:func:`agentk.agent.runner.execute_run`, so a run's folder, ``result.json`` and events are the same whichever
executed it; only where the process runs, and where its search's trials run
(:class:`~agentk.tools.search.TrialWorkers`), differ.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from agentk.config import Settings


class Executor(ABC):
    """Executes QUEUED runs until stopped.

    Invariants every executor keeps:

    * it takes a run only through :meth:`~agentk.runs.store.RunStore.claim` (a compare-and-set), so any number
      of executors of either kind may share one database and no attempt runs twice;
    * while it holds a run, the run's heartbeat stays fresh; a run whose process died (or whose node was lost)
      is settled by :func:`~agentk.runs.reaper.settle`: CANCELLED if a user asked, else CRASHED and requeued
      up to ``AGENTK_MAX_ATTEMPTS``;
    * :meth:`stop` requeues the runs it still holds without counting the attempt, and returns within about
      ``timeout`` seconds;
    * :meth:`start` and :meth:`stop` may be called from any thread, each once.
    """

    @abstractmethod
    def start(self) -> None:
        """Start executing queued runs (returns at once; the work goes on in the background)."""

    @abstractmethod
    def stop(self, timeout: float = 5.0) -> None:
        """Stop, requeueing what is running (the attempt is not counted)."""

    @abstractmethod
    def health(self) -> tuple[bool, str]:
        """``(ready, a short description)`` for the readiness probe."""


def create_executor(settings: Settings, *, workers: int | None = None) -> Executor | None:
    """The executor ``settings.executor`` names; None when ``workers`` (default ``AGENTK_WORKERS``) is 0."""
    n_workers = settings.workers if workers is None else workers
    if n_workers <= 0:
        return None
    if settings.executor == "ray":
        from agentk.runs.ray_executor import RayExecutor

        return RayExecutor(settings)
    from agentk.runs.service import RunService

    return RunService(settings, workers=n_workers)
