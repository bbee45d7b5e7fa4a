"""A run's search spread over a Ray cluster: helper tasks run trials of the same Optuna study.

The study lives in the shared Optuna storage (PostgreSQL). The run's own process runs trials as always
(:class:`~agentk.tools.search.TrialWorkers` guarantees progress with no helper at all); each helper is a Ray task
pinned (softly) to one alive node, loads the study by name, and runs trials until the run's deadline or the
study-wide trial limit. It returns its best complete results (with their out-of-fold and test predictions) to
the run through Ray's object store. Each trial records where it ran (``node``, ``host``, ``pid``) in its user
attributes.

Starting a helper costs a Ray worker process and the imports of the model libraries (tens of seconds on a busy
machine, as long as a short search). :meth:`RayTrialWorkers.prepare` therefore warms one worker per node when the
run starts: a task that only imports what helpers need, while the run reads its data; Ray keeps the idle worker
and gives it to the run's first helper on that node.

A helper lost with its node is dropped: its trials are marked FAIL once every worker has returned, and the
search goes on with the others. Must be used inside a Ray task or driver (``ray.init`` done).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from agentk.tools.cv import Deadline
from agentk.tools.search import SearchPartial, SearchWork, TrialWorkers, make_pruner, make_sampler, open_storage

log = logging.getLogger(__name__)

# Seconds a helper may overrun the deadline before it is cancelled: trials stop between folds at the deadline,
# so this covers one fold; a helper still queued for lack of free CPUs is not waited for any longer.
_GRACE = 10.0
_POLL = 1.0  # seconds between reports of finished trials while the run waits for its helpers


def alive_nodes() -> list[str]:
    """Ids of the cluster's alive nodes, sorted."""
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return sorted(str(n["NodeID"]) for n in nodes if n.get("Alive"))


def cluster_cpus() -> float:
    """CPUs of the cluster's alive nodes."""
    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return float(resources.get("CPU", 0.0))


def ray_place() -> dict[str, str]:
    """Where this Ray worker runs: node id, host and process."""
    return {"node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(), "pid": str(os.getpid())}


def _warm() -> dict[str, str]:
    """A warm-up task's body: import what a helper needs (see the module docstring); returns where it ran."""
    import agentk.tools.search  # noqa: F401  (the zoo, LightGBM, XGBoost, scikit-learn, Optuna)

    with contextlib.suppress(ImportError):  # CatBoost is imported on first use otherwise
        import catboost  # noqa: F401
    return ray_place()


def _help(work: SearchWork, study_name: str, storage: str, sampler: str, seed: int, ends_at: float) -> SearchPartial:
    """A helper's body: run trials of the study here until ``ends_at`` (wall clock, shared by every node)."""
    import optuna

    logging.getLogger("optuna").setLevel(logging.WARNING)
    rdb = open_storage(storage, create_tables=False)
    assert rdb is not None
    study = optuna.load_study(
        study_name=study_name, storage=rdb, sampler=make_sampler(sampler, seed), pruner=make_pruner()
    )
    try:
        return work.optimize(study, Deadline(ends_at - time.time()), place=ray_place())
    finally:
        rdb.remove_session()
        rdb.engine.dispose()


class RayTrialWorkers(TrialWorkers):
    """Trials of a run's searches on every alive node of the Ray cluster (see the module docstring).

    Args:
        storage: Optuna storage URL every node reaches.
        study_prefix: prefix of study names (the run id and attempt).
        helpers: helper tasks per search; 0 = one per alive node.
        cpus, gpus: resources each helper requests (its models use ``max(1, int(cpus))`` threads).
    """

    def __init__(self, storage: str, study_prefix: str, *, helpers: int = 0, cpus: float = 1.0, gpus: float = 0.0):
        super().__init__(storage, study_prefix)
        self.helpers, self.cpus, self.gpus = helpers, cpus, gpus
        self.warming: list[Any] = []  # refs of the warm-up tasks (never waited for)

    def _options(self, node: str) -> dict[str, Any]:
        return {
            "num_cpus": self.cpus,
            "num_gpus": self.gpus,
            "max_retries": 0,  # a lost helper is dropped; the run and the other helpers go on
            "scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=True),
        }

    def prepare(self) -> None:
        """Warm a worker on each alive node (see the module docstring); returns at once, never raises."""
        try:
            warm = ray.remote(_warm)
            self.warming = [warm.options(**self._options(node)).remote() for node in alive_nodes()]
        except Exception as exc:  # only a head start: the search starts its helpers either way
            log.warning("could not warm search helpers: %s", exc)

    def place(self) -> dict[str, str]:
        return ray_place()

    def start(self, work: SearchWork, study_name: str, sampler: str, seed: int, ends_at: float) -> Any:
        assert self.storage is not None
        nodes = alive_nodes()
        count = self.helpers or len(nodes)
        if not nodes or count <= 0:
            return []
        payload = ray.put(dataclasses.replace(work, n_jobs=max(1, int(self.cpus))))
        remote = ray.remote(_help)
        refs = []
        for i in range(count):
            options = self._options(nodes[i % len(nodes)])
            refs.append(
                remote.options(**options).remote(payload, study_name, self.storage, sampler, seed + 1 + i, ends_at)
            )
        return refs

    def collect(self, handle: Any, ends_at: float, poll: Callable[[], None]) -> list[SearchPartial]:
        pending: list[Any] = list(handle or [])
        found: list[SearchPartial] = []
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=_POLL)
            for ref in ready:
                try:
                    found.append(ray.get(ref))
                except Exception as exc:  # a helper lost with its node, or failed: the search goes on without it
                    log.warning("a search helper was lost: %s", str(exc).splitlines()[0] if str(exc) else exc)
            poll()
            if pending and time.time() > ends_at + _GRACE:
                for ref in pending:
                    ray.cancel(ref, force=True)
                log.warning("%d search helper(s) overran the deadline and were cancelled", len(pending))
                break
        return found
