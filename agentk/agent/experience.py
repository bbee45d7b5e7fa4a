"""Learning across runs (Agent K's generalisation phase) through :mod:`memory_store`.

At the end of a run the best search configurations (model, hyper-parameters, feature choices, as Optuna
trial parameters) are stored as ``pipeline_config`` items in the competition's long-term scope
``global/<task-type>/<competition>``, each rewarded with its improvement over the run's baseline. A later
run recalls the best-valued configurations of the same competition and its siblings (other competitions of
the same task type) and tries them first in its own search; the recalled items are then rewarded with how
their replays did, so configurations that transfer rise and those that do not sink.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentk.competitions import Modality, TaskSpec
from agentk.tools.cv import CVResult
from memory_store import Kind, MemoryStore

_KEEP = 3
_RECALL = 4


@dataclass(frozen=True)
class Recollection:
    """A configuration recalled from memory."""

    item_id: str
    trial_params: dict[str, Any]
    cv_score: float
    competition: str


def improvement(score: float, baseline: float, higher_is_better: bool) -> float:
    """Relative improvement over the baseline, signed so that better is positive, clipped to [-1, 1]."""
    gain = (score - baseline) if higher_is_better else (baseline - score)
    return max(-1.0, min(1.0, gain / max(abs(baseline), 1e-9)))


class Experience:
    """What one run recalls from and stores into long-term memory."""

    def __init__(self, store: MemoryStore, task: TaskSpec, competition: str, run_id: str) -> None:
        self.store = store
        self.task = task
        self.competition = competition
        self.run_id = run_id
        self.scope = f"global/{task.task_type.value}/{competition}"

    def describe(self) -> str:
        """A text describing the task, for similarity search."""
        counts = {m.value: len(self.task.columns_of(m)) for m in Modality if self.task.columns_of(m)}
        parts = " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))
        return f"{self.task.task_type.value} task, metric {self.task.metric}, columns {parts}"

    def recall(self, models: list[str], k: int = _RECALL, exclude: set[str] | None = None) -> list[Recollection]:
        """The best configurations for this or sibling competitions whose model can run here, stored by
        earlier runs (a run's later searches do not replay its own earlier ones); ``exclude``: item ids
        already replayed in this run."""
        hits = self.store.search(
            self.describe(),
            scope=self.scope,
            kinds=[Kind.PIPELINE_CONFIG],
            tags=[self.task.metric],
            k=4 * k,
            include_ancestors=True,
            include_siblings=True,
            touch=True,
        )
        out: list[Recollection] = []
        for hit in hits:
            payload = hit.item.payload
            params = payload.get("trial_params") or {}
            if payload.get("run_id") == self.run_id or hit.item.id in (exclude or set()):
                continue
            if params.get("model") in models and params not in [r.trial_params for r in out]:
                out.append(Recollection(hit.item.id, dict(params), float(payload["cv_score"]), payload["competition"]))
            if len(out) == k:
                break
        return out

    def remember(self, pool: list[CVResult], baseline: float) -> list[str]:
        """Store the best searched configurations, each rewarded by its improvement over the baseline."""
        higher = self.task.higher_is_better
        ids = []
        for result in [r for r in pool if r.complete and r.params.get("trial_params")][:_KEEP]:
            params = dict(result.params["trial_params"])  # type: ignore[call-overload]
            item = self.store.put(
                f"{self.describe()}; model {params.get('model')}; {result.name} CV {result.cv_score:.5f}",
                scope=self.scope,
                kind=Kind.PIPELINE_CONFIG,
                payload={
                    "trial_params": params,
                    "cv_score": result.cv_score,
                    "baseline": baseline,
                    "competition": self.competition,
                    "run_id": self.run_id,
                    "metric": self.task.metric,
                },
                tags=[self.task.task_type.value, self.task.metric, str(params.get("model"))],
            )
            self.store.reward([item.id], improvement(result.cv_score, baseline, higher))
            ids.append(item.id)
        return ids

    def credit(self, recalled: list[Recollection], replays: dict[int, float | None], baseline: float) -> None:
        """Reward each recalled item with how its replay (trial ``i`` for recollection ``i``) did here."""
        for i, recollection in enumerate(recalled):
            score = replays.get(i)
            reward = -1.0 if score is None else improvement(score, baseline, self.task.higher_is_better)
            self.store.reward([recollection.item_id], reward)
