"""The agent's loop: a reasoner chooses actions, the toolbox executes them, every step is checkpointed.

Phases go setup -> optimise -> finalise. Each step: the reasoner (the offline policy by default, an LLM
through langchain when configured) reads the working memory (the run state) and long-term memories and
chooses one registered action; the toolbox executes it and returns an observation; intrinsic functions
(summarise the task, plan, reflect) write to the run state only. Every decision is a ``decision`` event
with its rationale, inputs and cost; every finished step a ``step`` event; the state and the model pool
are checkpointed after each step, so a killed run resumes from its last finished step.

The loop stops when the reasoner stops it, or at the wall-clock, step or token budget; it then writes
the best valid submission so far if none is written. The orchestrator is handed a
:class:`~agentk.competitions.Competition` (the run's copy of the public files) and never anything that
leads to the answers: grading happens in :mod:`agentk.agent.runner` afterwards.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentk.agent import actions as A
from agentk.agent.checkpoint import Checkpoint, LoopState
from agentk.agent.reasoners import PolicyReasoner, Reasoner, run_rewards
from agentk.agent.reasoners.policy import DEFAULT_ORDER
from agentk.agent.setup_checks import SetupCheckError
from agentk.agent.toolbox import (
    CODE_CONTRACT,
    FEATURE_OPERATIONS,
    Observation,
    Toolbox,
    ToolboxConfig,
    write_submission,
)
from agentk.competitions import Competition, Modality, TaskSpec
from agentk.errors import AgentKError
from agentk.runs.events import EventJournal, read_events
from agentk.tools import Deadline
from memory_store import Kind, MemoryStore

__all__ = ["Orchestrator", "SetupCheckError", "Solution"]

_FINALISE_RESERVE = 0.1  # share of the budget kept for writing and checking the submission ...
_FINALISE_RESERVE_CAP_S = 30.0  # ... at most this many seconds when finalise has no student to distil
_REWARD_KIND = "reward"


@dataclass
class Solution:
    """What the agent hands back: a validated submission and how it got there."""

    submission: Path
    cv_score: float
    model: str
    task: TaskSpec
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    resumed: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)


class Orchestrator:
    """Runs one competition end to end within a wall-clock, step and token budget.

    Args:
        competition: the public view of the competition.
        workdir: where the agent writes (submission, models, checkpoint); never inside the competition's folder.
        journal: the run's event journal.
        budget: seconds for the whole run (over all resumes).
        folds: cross-validation folds.
        seed: random seed.
        n_jobs: threads per model.
        sampler: Optuna sampler of the search (``tpe``, ``gp`` or ``random``).
        max_trials: most search trials per ``tune`` (0 = no search; None = until the budget).
        device: ``cpu`` or ``cuda`` (resolved; see :func:`agentk.tools.device.resolve_device`).
        memory: long-term memory to learn across runs; None: no learning (working memory stays in-process).
        run_id: the run's id, recorded with what it stores in memory.
        reasoner: who chooses the actions (default: :class:`PolicyReasoner`).
        max_steps: most steps (decisions) of the loop.
        student_latency_ms, student_size_kb, student_min_speedup: the served model's budget; when any is set,
            finalise distils the submitted model into a student that meets it (see :mod:`agentk.distill`).
    """

    def __init__(
        self,
        competition: Competition,
        workdir: Path,
        journal: EventJournal,
        *,
        budget: float,
        folds: int = 5,
        seed: int = 42,
        n_jobs: int = 2,
        sampler: str = "tpe",
        max_trials: int | None = None,
        device: str = "cpu",
        memory: MemoryStore | None = None,
        run_id: str = "run",
        reasoner: Reasoner | None = None,
        max_steps: int = 40,
        student_latency_ms: float | None = None,
        student_size_kb: float | None = None,
        student_min_speedup: float | None = None,
    ) -> None:
        self.competition = competition
        self.workdir = workdir
        self.journal = journal
        self.budget = budget
        self.memory = memory
        self.run_id = run_id
        self.reasoner = reasoner or PolicyReasoner(tune_families=len(DEFAULT_ORDER))
        self.max_steps = max_steps
        self.checkpoint = Checkpoint(workdir / "checkpoint")
        config = ToolboxConfig(
            folds=folds,
            seed=seed,
            n_jobs=n_jobs,
            sampler=sampler,
            max_trials=max_trials,
            device=device,
            budget=budget,
            student_latency_ms=student_latency_ms,
            student_size_kb=student_size_kb,
            student_min_speedup=student_min_speedup,
        )
        self.box = Toolbox(competition, workdir, journal, self.checkpoint, config, memory=memory, run_id=run_id)

    def run(self) -> Solution:
        """Run (or resume) the loop. Library warnings are recorded as ``warning`` events (once each)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return self._loop()
            finally:
                seen: set[tuple[str, str]] = set()
                for w in caught:
                    key = (w.category.__name__, str(w.message).splitlines()[0][:300])
                    if key not in seen:
                        seen.add(key)
                        self.journal.append("warning", f"{key[0]}: {key[1]}", category=key[0])

    # -- the loop --------------------------------------------------------------------------------------

    def _loop(self) -> Solution:
        started = time.monotonic()
        state = self._start()
        spent_before = state.elapsed
        deadline = Deadline(self.budget - finalise_reserve(self.budget, self.box.config.wants_student) - spent_before)
        self.box.run_deadline = Deadline(self.budget - spent_before)
        timings: dict[str, float] = {}
        phase_started, phase = time.monotonic(), state.phase
        while state.stopped is None:
            limit = self._budget_exhausted(state, deadline)
            if limit:
                state.stopped = limit
                self.journal.append("budget", f"stopping: {limit}", phase=state.phase, reason=limit)
                break
            actions = self._allowed(state)
            view = self._view(state, deadline)
            decision = self.reasoner.decide(view, state.memories, actions)
            number = state.step + 1
            state.decisions[decision.source] = state.decisions.get(decision.source, 0) + 1
            state.tokens["in"] = state.tokens.get("in", 0) + decision.tokens_in
            state.tokens["out"] = state.tokens.get("out", 0) + decision.tokens_out
            self.journal.append(
                "decision",
                f"step {number}: {decision.action} ({decision.source}): {decision.rationale[:300]}",
                phase=state.phase,
                step=number,
                inputs={
                    "phase": view["phase"],
                    "budget": view["budget"],
                    "results": len(view["results"]),
                    "last_observation": state.last_observation[:300],
                },
                **decision.to_event(),
            )
            spec = actions.get(decision.action)
            if _advances(spec, state):
                assert spec is not None
                state.phase = spec.phase
            t0 = time.monotonic()
            observation = self.box.execute(decision.action, decision.args, state, deadline)
            seconds = time.monotonic() - t0
            state.step = number
            state.history.append(
                {
                    "step": number,
                    "action": decision.action,
                    "args": decision.args.model_dump(mode="json"),
                    "ok": observation.ok,
                    "seconds": round(seconds, 2),
                    "observation": observation.text[:600],
                }
            )
            state.last_observation = observation.text
            if decision.action == "infer_task" and observation.ok:
                state.phase = "optimise"
                self._note(state, "summary", self.reasoner.summarise_task(self._view(state, deadline)))
                self._note(state, "plan", self.reasoner.plan(self._view(state, deadline), state.memories))
            elif not observation.ok:
                self._note(state, "reflection", self.reasoner.reflect(self._view(state, deadline), observation.text))
            if state.phase != phase:
                timings[phase] = timings.get(phase, 0.0) + time.monotonic() - phase_started
                phase_started, phase = time.monotonic(), state.phase
            # The checkpoint first, then the event: a kill in between is repaired on resume (see _start).
            self._save(state, started, spent_before, observation)
            self._step_event(state.history[-1], state.phase)
        timings[phase] = timings.get(phase, 0.0) + time.monotonic() - phase_started
        solution = self._conclude(state, started, spent_before)
        solution.timings = timings
        return solution

    def _start(self) -> LoopState:
        """A fresh state, or the checkpointed one of a run that was interrupted."""
        if self.checkpoint.exists:
            state, pool = self.checkpoint.load()
            self.box.restore(state, pool)
            state.resumes += 1
            state.stopped = None if state.submission is None else state.stopped
            self._recover_step_events(state)
            self.journal.append(
                "resume",
                f"resuming after step {state.step} ({state.phase}, {len(pool)} models, {state.elapsed:.0f}s spent)",
                phase=state.phase,
                step=state.step,
                resumes=state.resumes,
            )
            return state
        state = LoopState()
        self.journal.append("phase", "setup: reading the data and inferring the task", phase="setup")
        state.memories = self._recall()
        if state.memories:
            self.journal.append(
                "memory",
                f"recalled {len(state.memories)} model-family reward(s) from earlier runs",
                phase="setup",
                memory={"rewards": len(state.memories)},
            )
        return state

    def _step_event(self, entry: dict[str, Any], phase: str, **extra: Any) -> None:
        outcome = "ok" if entry["ok"] else "failed"
        self.journal.append(
            "step",
            f"step {entry['step']} {entry['action']}: {outcome}: {entry['observation'][:300]}",
            phase=phase,
            step=entry["step"],
            action=entry["action"],
            ok=entry["ok"],
            seconds=entry["seconds"],
            **extra,
        )

    def _recover_step_events(self, state: LoopState) -> None:
        """Journal the finished steps whose ``step`` event a kill cut off (checkpointed, not yet journalled)."""
        journalled = {e.data.get("step") for e in read_events(self.journal.path) if e.type == "step"}
        for entry in state.history:
            if entry["step"] not in journalled:
                self._step_event(entry, state.phase, recovered=True)

    def _budget_exhausted(self, state: LoopState, deadline: Deadline) -> str | None:
        if deadline.expired:
            return "the time budget is spent"
        if state.step >= self.max_steps:
            return f"the step budget ({self.max_steps}) is spent"
        left = getattr(self.reasoner, "budget_left", None)
        if isinstance(left, int) and left <= 0:
            return "the token budget is spent"
        return None

    def _allowed(self, state: LoopState) -> dict[str, A.ActionSpec]:
        """Actions of the current phase and later ones; optimise actions only once the task is known."""
        now = A.PHASES.index(state.phase)
        allowed = {}
        for name, spec in A.ACTIONS.items():
            later = spec.phase != "any" and A.PHASES.index(spec.phase) >= now
            if spec.phase == "any" or (later and (state.task is not None or spec.phase == "setup")):
                allowed[name] = spec
        return allowed

    def _view(self, state: LoopState, deadline: Deadline) -> dict[str, Any]:
        """The working memory as the reasoner reads it."""
        task = self.box.task
        view: dict[str, Any] = {
            "phase": state.phase,
            "candidates": self.box.candidates(),
            "results": self.box.results_view(),
            "history": [{k: h[k] for k in ("step", "action", "args", "ok", "observation")} for h in state.history],
            "budget": {
                "seconds_left": round(max(deadline.remaining, 0.0), 1),
                "steps_left": self.max_steps - state.step,
                "tokens_left": getattr(self.reasoner, "budget_left", None),
            },
            "last_observation": state.last_observation[:2000],
            "notes": [n["text"][:500] for n in state.notes[-4:]],
            "features": dict(state.features),
            "feature_operations": sorted(FEATURE_OPERATIONS),
            "code_contract": CODE_CONTRACT,
        }
        if task is not None:
            view["task"] = {
                "task_type": task.task_type.value,
                "metric": task.metric,
                "higher_is_better": task.higher_is_better,
                "n_rows": len(self.box.data.train),
                "columns": {m.value: len(task.columns_of(m)) for m in Modality if task.columns_of(m)},
                "target": task.target,
            }
        if state.submission is not None:
            view["submission"] = state.submission
        return view

    def _note(self, state: LoopState, kind: str, text: str) -> None:
        state.notes.append({"kind": kind, "step": state.step, "text": text})
        self.journal.append("thought", f"{kind}: {text[:500]}", phase=state.phase, kind=kind, step=state.step)

    def _save(self, state: LoopState, started: float, spent_before: float, observation: Observation) -> None:
        state.elapsed = spent_before + time.monotonic() - started
        self.checkpoint.save(state, self.box.pool if observation.pool_changed else None)
        if self.memory is not None:
            working = self.memory.working(f"run/{self.run_id}")
            working.set("phase", state.phase)
            working.set("step", state.step)
            working.set("last_observation", state.last_observation[:2000])
            working.set("history", [{k: h[k] for k in ("step", "action", "ok")} for h in state.history[-50:]])

    # -- the end ---------------------------------------------------------------------------------------

    def _conclude(self, state: LoopState, started: float, spent_before: float) -> Solution:
        box = self.box
        if state.task is None or box.task is None:
            raise AgentKError(
                f"the run stopped before the task was inferred ({state.stopped or 'no reason'}); "
                f"last: {state.last_observation[:500]}",
                hint="raise --budget or the step budget",
            )
        if state.submission is None:
            best = box.best()
            if best is None:
                raise AgentKError("no model finished a single fold within the budget", hint="raise --budget")
            self.journal.append(
                "phase", "finalise: writing the best submission so far", phase="finalise", reason=state.stopped
            )
            write_submission(box, best, state)
            self._save(state, started, spent_before, Observation(True, "submission written"))
        assert state.submission is not None
        self._remember(state)
        models = {
            r.name: {
                "cv_score": r.cv_score,
                "seconds": r.seconds,
                "complete": r.complete,
                "params": _jsonable(r.params),
            }
            for r in box.pool
        }
        return Solution(
            Path(state.submission["path"]),
            float(state.submission["cv_score"]),
            str(state.submission["model"]),
            box.task,
            models,
            steps=state.step,
            resumed=state.resumes,
            decisions=dict(state.decisions),
            tokens=dict(state.tokens),
        )

    # -- long-term memory of model-family rewards (the policy's bandit priors) -------------------------

    def _scope(self, task_type: str) -> str:
        return f"global/{task_type}/{self.competition.slug}"

    def _recall(self) -> list[dict[str, Any]]:
        if self.memory is None:
            return []
        items = self.memory.list_items(scope="global", kinds=[Kind.RESULT.value])
        return [dict(i.payload) for i in items if i.payload.get("kind") == _REWARD_KIND][-200:]

    def _remember(self, state: LoopState) -> None:
        if self.memory is None or self.box.task is None:
            return
        task = self.box.task
        rewards = run_rewards(self.box.results_view(), task.higher_is_better)
        for family, reward in rewards.items():
            if family.startswith("ensemble"):
                continue
            self.memory.put(
                f"{task.task_type.value} {task.metric}: {family} reward {reward:.2f} on {self.competition.slug}",
                scope=self._scope(task.task_type.value),
                kind=Kind.RESULT,
                payload={
                    "kind": _REWARD_KIND,
                    "task_type": task.task_type.value,
                    "family": family,
                    "reward": float(reward),
                    "competition": self.competition.slug,
                    "run_id": self.run_id,
                },
                tags=[task.task_type.value, task.metric, family],
            )
        if rewards:
            self.journal.append(
                "memory",
                f"stored {len(rewards)} model-family reward(s) in {self._scope(task.task_type.value)}",
                phase="finalise",
                memory={"rewards": rewards},
            )


def _advances(spec: A.ActionSpec | None, state: LoopState) -> bool:
    """An action of a later phase moves the loop there (optimise only once the task is known)."""
    if spec is None or spec.phase not in A.PHASES or A.PHASES.index(spec.phase) <= A.PHASES.index(state.phase):
        return False
    return not (spec.phase == "optimise" and state.task is None)


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool, dict, list, type(None)))}


def finalise_reserve(budget: float, wants_student: bool) -> float:
    """Seconds of a run's budget kept after the loop for writing the submission (and distilling a student).

    Writing and checking a submission takes seconds, so without a student to distil the reserve is capped
    at ``_FINALISE_RESERVE_CAP_S``; with one, distillation gets the full share.
    """
    share = _FINALISE_RESERVE * budget
    return share if wants_student else min(share, _FINALISE_RESERVE_CAP_S)
