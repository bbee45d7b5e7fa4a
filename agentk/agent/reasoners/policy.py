"""The offline policy: a fixed, strong plan per phase, with a UCB bandit choosing which model families to tune.

The plan mirrors what works on tabular competitions: look at the data, run the setup checks, train the
fast baselines (each a valid submission), tune the most promising families, blend, write the submission.
Which families are "most promising" is a bandit over families per task type: rewards stored in long-term
memory by earlier runs are its prior, this run's baselines its first observations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentk.agent.actions import PHASES, ActionSpec, parse_action
from agentk.agent.reasoners._base import Decision, Reasoner

PriorFn = Callable[[str], Mapping[str, Sequence[float]]]

BASELINES = ("lightgbm", "linear")
# Families in the order to try them when nothing says otherwise (strong and fast first).
DEFAULT_ORDER = ("lightgbm", "catboost", "xgboost", "hist_gb", "linear", "random_forest", "extra_trees", "mlp", "knn")


@dataclass
class FamilyBandit:
    """UCB1 over model families: mean reward plus ``c * sqrt(ln N / n)``; unseen families first.

    Rewards are in ``[0, 1]``: 1 for the best CV score of a run, 0 for the worst (see :func:`run_rewards`).

    Attributes:
        c: exploration weight.
        rewards: observed rewards per family.
    """

    c: float = 0.5
    rewards: dict[str, list[float]] = field(default_factory=dict)

    def add(self, family: str, reward: float) -> None:
        self.rewards.setdefault(family, []).append(float(reward))

    def scores(self, families: Sequence[str]) -> dict[str, float]:
        total = sum(len(self.rewards.get(f, [])) for f in families)
        out: dict[str, float] = {}
        for f in families:
            seen = self.rewards.get(f, [])
            if not seen:
                out[f] = math.inf
                continue
            mean = sum(seen) / len(seen)
            out[f] = mean + self.c * math.sqrt(math.log(max(total, 1)) / len(seen))
        return out

    def rank(self, families: Sequence[str]) -> list[str]:
        """Families best first; ties keep the order given (the default order for unseen families)."""
        scores = self.scores(families)
        return sorted(families, key=lambda f: (-scores[f], families.index(f)))


def best_per_family(results: Sequence[Mapping[str, Any]], higher_is_better: bool) -> dict[str, float]:
    """Each family's best complete, finite CV score in ``results``."""
    best: dict[str, float] = {}
    for r in results:
        if not r.get("complete", True) or r.get("cv_score") is None:
            continue
        family, score = str(r["model"]), float(r["cv_score"])
        if not math.isfinite(score):
            continue
        if family not in best or (score > best[family]) == higher_is_better:
            best[family] = score
    return best


def run_rewards(results: Sequence[Mapping[str, Any]], higher_is_better: bool) -> dict[str, float]:
    """Each family's best complete CV score of a run mapped to ``[0, 1]`` (1 = the run's best)."""
    best = best_per_family(results, higher_is_better)
    if not best:
        return {}
    lo, hi = min(best.values()), max(best.values())
    if hi == lo:
        return dict.fromkeys(best, 1.0)
    return {f: ((s - lo) if higher_is_better else (hi - s)) / (hi - lo) for f, s in best.items()}


def hopeless(results: Sequence[Mapping[str, Any]], higher_is_better: bool, gap: float) -> set[str]:
    """Families whose best complete CV score is more than ``gap`` (a share of the best score) behind the run's
    best; none when the best score is zero (no scale to measure the gap on)."""
    best = best_per_family(results, higher_is_better)
    if not best:
        return set()
    top = max(best.values()) if higher_is_better else min(best.values())
    if top == 0:
        return set()
    return {f for f, v in best.items() if abs(top - v) / abs(top) > gap}


def priors_from_memories(memories: Sequence[Mapping[str, Any]], task_type: str | None) -> dict[str, list[float]]:
    """Rewards per family from memory records ``{"kind": "reward", "task_type", "family", "reward"}``."""
    out: dict[str, list[float]] = {}
    for m in memories:
        if m.get("kind") != "reward" or "family" not in m or "reward" not in m:
            continue
        if task_type is not None and m.get("task_type") not in (None, task_type):
            continue
        out.setdefault(str(m["family"]), []).append(float(m["reward"]))
    return out


class PolicyReasoner(Reasoner):
    """Decides without a model: profile -> infer task -> baselines -> tune the best families -> ensemble
    -> finalise -> stop, cut short when the budget runs low.

    Args:
        tune_families: how many families one ``tune`` searches over.
        priors: optional hook ``task_type -> {family: rewards}`` (e.g. memory_store's reward table); added
            to the rewards found in ``memories``.
        exploration: the bandit's ``c``.
        min_seconds_to_tune: below this many seconds left, skip tuning and go to the ensemble/finalise.
        max_tunes: how many ``tune`` steps a run may take; a search that ends early (every family too slow
            for the time it had, say) is followed by another while at least ``2 * min_seconds_to_tune +
            repeat_reserve_s`` seconds are left, unless the last one was refused.
        repeat_reserve_s: seconds a repeated search must leave on top of that (the toolbox keeps up to 60 s of
            a search's time for the ensemble).
        hopeless_gap: a family this run trained whose best CV score is more than this share of the best score
            behind it is left out of searches (a linear model at 0.85 accuracy beside boosting at 0.91, say):
            each of its trials would take a place among the few a short budget allows. It stays in the pool
            for the ensemble. ``None`` keeps every family.
    """

    def __init__(
        self,
        *,
        tune_families: int = 3,
        priors: PriorFn | None = None,
        exploration: float = 0.5,
        min_seconds_to_tune: float = 20.0,
        max_tunes: int = 3,
        repeat_reserve_s: float = 60.0,
        hopeless_gap: float | None = 0.05,
    ) -> None:
        self.hopeless_gap = hopeless_gap
        self.tune_families = tune_families
        self.max_tunes = max_tunes
        self.repeat_reserve_s = repeat_reserve_s
        self.priors = priors
        self.exploration = exploration
        self.min_seconds_to_tune = min_seconds_to_tune

    # -- decide ----------------------------------------------------------------------------------------

    def decide(
        self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]], actions: Mapping[str, ActionSpec]
    ) -> Decision:
        for name, args, why in self._plan(state, memories):
            if name not in actions:
                continue
            if not _phase_ok(actions[name], state.get("phase")):
                continue
            try:
                parsed = parse_action(name, args, actions)
            except ValueError:
                continue  # e.g. a family the zoo does not know: try the next step of the plan
            return Decision(name, parsed, why, "policy")
        name = "stop" if "stop" in actions else next(iter(actions))
        return Decision(name, parse_action(name, {}, actions), "nothing left to do", "policy")

    def _plan(
        self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, dict[str, Any], str]]:
        # A failed setup is tried again (the loop bounds the retries); other failed steps count as done.
        done = [
            str(h.get("action"))
            for h in state.get("history", [])
            if h.get("ok", True) or h.get("action") != "infer_task"
        ]
        results = list(state.get("results", []))
        budget = state.get("budget", {}) or {}
        seconds_left = budget.get("seconds_left")
        steps_left = budget.get("steps_left")
        complete = [r for r in results if r.get("complete", True)]
        trained = {str(r.get("model")) for r in results}
        candidates = [str(c) for c in state.get("candidates", DEFAULT_ORDER)]
        steps: list[tuple[str, dict[str, Any], str]] = []

        if "finalise" in done:
            return [("stop", {"reason": "submission written"}, "the submission is written; nothing left to do")]
        low_steps = steps_left is not None and steps_left <= 1
        low_time = seconds_left is not None and seconds_left < self.min_seconds_to_tune / 2
        if (low_steps or low_time) and results:
            final: tuple[str, dict[str, Any], str] = (
                "finalise",
                {},
                "the budget is nearly spent: write the best submission so far",
            )
            if not low_steps and len(complete) > 1 and "ensemble" not in done:
                return [("ensemble", {"method": "auto"}, "little time left: blend what finished, then submit"), final]
            return [final]

        if "profile" not in done:
            steps.append(("profile", {}, "look at the data before choosing anything"))
        if "infer_task" not in done:
            steps.append(("infer_task", {}, "infer the task and run the setup checks"))
        for family in BASELINES:
            if family in candidates and family not in trained and family not in _tried(state, "train_model"):
                steps.append(
                    (
                        "train_model",
                        {"model": family, "params": {}},
                        f"baseline {family} with defaults: fast, gives a valid submission early",
                    )
                )
        tunes = done.count("tune")
        # Another search only when the last one ran (a refused one, "too little time", is not repeated)
        # and there is time for it beside the ensemble's reserve.
        last_tune_ok = next(
            (h.get("ok", True) for h in reversed(state.get("history", [])) if h.get("action") == "tune"), True
        )
        need = self.min_seconds_to_tune if not tunes else 2 * self.min_seconds_to_tune + self.repeat_reserve_s
        can_tune = seconds_left is None or seconds_left >= need
        if tunes < self.max_tunes and can_tune and last_tune_ok and (tunes == 0 or seconds_left is not None):
            higher = bool((state.get("task", {}) or {}).get("higher_is_better", True))
            behind = hopeless(results, higher, self.hopeless_gap) if self.hopeless_gap is not None else set()
            chosen = [f for f in self.rank_families(state, memories) if f not in behind][: self.tune_families]
            if chosen:
                why = f"tune the most promising families by UCB ({', '.join(chosen)})"
                if tunes:
                    why = f"{seconds_left:.0f}s still left after {tunes} search(es): search again ({', '.join(chosen)})"
                steps.append(("tune", {"models": chosen, "trials": _trials(results, seconds_left)}, why))
        if len(complete) > 1 and "ensemble" not in done:
            steps.append(("ensemble", {"method": "auto"}, "blend the finished models; nested CV picks the method"))
        if results:
            steps.append(("finalise", {}, "write the submission from the best model by CV"))
        steps.append(("stop", {"reason": "no model to submit"}, "nothing trained and nothing left to try"))
        return steps

    def rank_families(self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]]) -> list[str]:
        """Candidate families best first by UCB over memory priors plus this run's results."""
        task = state.get("task", {}) or {}
        task_type = task.get("task_type")
        candidates = [str(c) for c in state.get("candidates", DEFAULT_ORDER)]
        order = sorted(candidates, key=lambda f: DEFAULT_ORDER.index(f) if f in DEFAULT_ORDER else len(DEFAULT_ORDER))
        bandit = FamilyBandit(c=self.exploration)
        prior = priors_from_memories(memories, task_type)
        if self.priors is not None and task_type is not None:
            for family, rewards in self.priors(str(task_type)).items():
                prior.setdefault(family, []).extend(rewards)
        for family, rewards in prior.items():
            for r in rewards:
                bandit.add(family, r)
        for family, reward in run_rewards(state.get("results", []), bool(task.get("higher_is_better", True))).items():
            bandit.add(family, reward)
        return bandit.rank(order)

    # -- intrinsic functions (templates) ---------------------------------------------------------------

    def summarise_task(self, state: Mapping[str, Any]) -> str:
        task = state.get("task", {}) or {}
        columns = task.get("columns", {}) or {}
        cols = ", ".join(f"{n} {m}" for m, n in columns.items()) or "unknown columns"
        return (
            f"{task.get('task_type', 'unknown')} task, metric {task.get('metric', 'unknown')} "
            f"({'higher' if task.get('higher_is_better', True) else 'lower'} is better), "
            f"{task.get('n_rows', '?')} training rows, {cols}."
        )

    def reflect(self, state: Mapping[str, Any], observation: str) -> str:
        results = [r for r in state.get("results", []) if r.get("complete", True)]
        higher = bool((state.get("task", {}) or {}).get("higher_is_better", True))
        if not results:
            return f"No finished model yet. Last: {observation[:300]}"
        best = max(results, key=lambda r: float(r["cv_score"]) * (1 if higher else -1))
        return f"Best so far: {best['model']} CV {float(best['cv_score']):.5f}. Last: {observation[:300]}"

    def plan(self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]]) -> str:
        steps = self._plan(state, memories)
        return "; ".join(f"{name}: {why}" for name, _, why in steps[:4])


def _tried(state: Mapping[str, Any], action: str) -> set[str]:
    return {
        str((h.get("args") or {}).get("model"))
        for h in state.get("history", [])
        if h.get("action") == action and isinstance(h.get("args"), Mapping)
    }


def _phase_ok(spec: ActionSpec, phase: object) -> bool:
    """Actions of this phase or a later one (the loop advances when it gets one), never of an earlier one."""
    if phase not in PHASES or spec.phase == "any":
        return True
    return PHASES.index(spec.phase) >= PHASES.index(str(phase))


def _trials(results: Sequence[Mapping[str, Any]], seconds_left: float | None) -> int:
    """More trials than the time left allows at a baseline's pace: the search's deadline is what stops it."""
    if seconds_left is None:
        return 20
    times = [float(r["seconds"]) for r in results if r.get("seconds")]
    per_trial = max(sum(times) / len(times), 1.0) if times else 10.0
    return max(3, min(500, int(2 * seconds_left / per_trial)))


__all__ = [
    "BASELINES",
    "DEFAULT_ORDER",
    "FamilyBandit",
    "PolicyReasoner",
    "hopeless",
    "priors_from_memories",
    "run_rewards",
]
