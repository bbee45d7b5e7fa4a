"""A run around the orchestrator: resolve the competition, record the run, grade once at the end.

The runner is the only code that holds a :class:`~agentk.competitions.CompetitionEntry` (which knows where
the answers are). It hands the orchestrator a copy of the public files and builds the grader only after the
orchestrator has returned its final submission.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentk.agent.orchestrator import Orchestrator, Solution
from agentk.agent.reasoners import Reasoner
from agentk.agent.reasoning import open_reasoner, reasoner_counts
from agentk.competitions import Catalog, Competition, CompetitionEntry
from agentk.competitions.grading import Grader, place_on_leaderboards
from agentk.config import Settings, get_settings
from agentk.errors import AgentKError, UserInputError
from agentk.runs import Event, EventJournal, RunState, RunStore
from agentk.runs.store import new_run_id
from agentk.tools.device import resolve_device
from memory_store import MemoryStore, open_store

RESULT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, with the paths of what it wrote."""

    run_id: str
    state: RunState
    out_dir: Path
    result: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.state is RunState.SUCCEEDED


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def create_run(
    ref: str,
    *,
    budget: float | None = None,
    out: Path | None = None,
    folds: int | None = None,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> str:
    """Check the reference and record a QUEUED run; returns its id.

    A reference that resolves to nothing raises :class:`~agentk.errors.UserInputError` and records nothing.
    """
    settings = settings or get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    Catalog(settings.home).check(ref)  # a bad reference is the caller's error, not a failed run
    run_id = new_run_id()
    out_dir = (out or settings.resolved_runs_dir / run_id).resolve()
    options = {
        "folds": folds or settings.folds,
        "seed": settings.seed if seed is None else seed,
        "overrides": overrides or {},
    }
    store = RunStore(settings.resolved_database_url)
    try:
        store.create(
            ref, budget if budget is not None else settings.budget, str(out_dir), run_id=run_id, options=options
        )
    finally:
        store.dispose()
    return run_id


def execute_run(
    run_id: str,
    *,
    settings: Settings | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> RunOutcome:
    """Execute a recorded run (QUEUED, or CRASHED and requeued) and record how it ended.

    Errors in the work (bad data, failed checks) end the run FAILED with the message in ``result.json``
    and the journal; they are not raised. Everything written before the error stays on disk.
    """
    settings = settings or get_settings()
    store = RunStore(settings.resolved_database_url)
    record = store.get(run_id)
    ref, budget, out_dir = record.competition, record.budget, Path(record.out_dir)
    options = record.to_dict()["options"]
    out_dir.mkdir(parents=True, exist_ok=True)
    journal = EventJournal(out_dir / "events.jsonl", [on_event] if on_event else None)
    store.transition(run_id, RunState.RUNNING)
    started = time.monotonic()
    if (out_dir / "checkpoint" / "state.json").is_file():
        journal.append("run", f"run {run_id} restarted on {ref}: resuming from its checkpoint", run_id=run_id)
    else:
        journal.append("run", f"run {run_id} started on {ref} with a {budget:.0f}s budget", run_id=run_id)
    result: dict[str, Any] = {
        "schema": RESULT_SCHEMA_VERSION,
        "run_id": run_id,
        "competition": ref,
        "budget": budget,
        "state": RunState.RUNNING.value,
    }
    try:
        result.update(_run(ref, run_id, out_dir, journal, budget, options, settings))
        state = RunState.SUCCEEDED
    except AgentKError as exc:
        state = RunState.FAILED
        result["error"] = str(exc)
        journal.append("error", f"run failed: {exc}", error_type=type(exc).__name__)
    except Exception as exc:  # a bug, not bad input: keep the trace in the run folder, not in the message
        state = RunState.FAILED
        result["error"] = f"internal error: {type(exc).__name__}: {exc}"
        (out_dir / "traceback.txt").write_text(traceback.format_exc(), encoding="utf-8")
        journal.append(
            "error",
            f"run failed with an internal error: {type(exc).__name__}: {exc}",
            error_type=type(exc).__name__,
        )
    result["state"] = state.value
    result.setdefault("timings", {})["total"] = time.monotonic() - started
    _write_json(out_dir / "result.json", result)
    primary = (result.get("placements") or [{}])[0]
    store.transition(
        run_id,
        state,
        cv_score=result.get("cv_score"),
        test_score=result.get("test_score"),
        rank=primary.get("rank"),
        teams=primary.get("teams"),
        beats_pct=primary.get("beats_pct"),
        medal=primary.get("medal"),
        error=result.get("error"),
    )
    store.dispose()
    journal.append("run", f"run {run_id} {state.value.lower()}", state=state.value)
    return RunOutcome(run_id, state, out_dir, result)


def run_competition(
    ref: str,
    *,
    budget: float | None = None,
    out: Path | None = None,
    folds: int | None = None,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    on_event: Callable[[Event], None] | None = None,
    settings: Settings | None = None,
) -> RunOutcome:
    """Record a run and execute it in this process (see :func:`create_run` and :func:`execute_run`)."""
    settings = settings or get_settings()
    run_id = create_run(ref, budget=budget, out=out, folds=folds, seed=seed, overrides=overrides, settings=settings)
    return execute_run(run_id, settings=settings, on_event=on_event)


def resume_run(
    run_id: str,
    *,
    settings: Settings | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> RunOutcome:
    """Execute an interrupted run again in this process; it goes on from its last checkpointed step.

    Raises:
        UserInputError: no such run, the run has finished, or a live worker is executing it.
    """
    settings = settings or get_settings()
    store = RunStore(settings.resolved_database_url)
    try:
        record = store.get(run_id)
        state = RunState(record.state)
        if state in (RunState.SUCCEEDED, RunState.CANCELLED):
            raise UserInputError(f"run {run_id} has already {state.value.lower()}; nothing to resume")
        if state is RunState.RUNNING and record.worker and _alive(record.heartbeat_at, settings.heartbeat_timeout):
            raise UserInputError(
                f"run {run_id} is being executed by worker {record.worker}",
                hint="cancel it first, or wait for it to finish",
            )
    finally:
        store.dispose()
    return execute_run(run_id, settings=settings, on_event=on_event)


def _alive(heartbeat_at: Any, timeout: float) -> bool:
    if heartbeat_at is None:
        return False
    beat = heartbeat_at if heartbeat_at.tzinfo is not None else heartbeat_at.replace(tzinfo=UTC)
    return bool((datetime.now(UTC) - beat).total_seconds() < timeout)


def _run(
    ref: str,
    run_id: str,
    out_dir: Path,
    journal: EventJournal,
    budget: float,
    options: dict[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    overrides = options.get("overrides") or {}
    entry = Catalog(settings.home).resolve(ref, metric=overrides.get("metric"))
    if overrides:
        entry = dataclasses.replace(entry, overrides={**entry.overrides, **overrides})
    competition = entry.prepare_workspace(out_dir / "input")
    journal.append(
        "competition",
        f"competition {entry.slug}: {entry.title} ({entry.source})",
        slug=entry.slug,
        metric=competition.metric,
        source=entry.source,
    )
    memory = open_store(settings.resolved_memory_url) if settings.learn else None
    with ExitStack() as stack:
        if memory is not None:
            stack.callback(memory.close)
        reasoner, info = open_reasoner(settings, journal, out_dir, stack)
        solution = _orchestrate(competition, run_id, out_dir, journal, budget, options, settings, memory, reasoner)
        info.update(reasoner_counts(reasoner, solution))
    result: dict[str, Any] = {
        "slug": entry.slug,
        "metric": competition.metric,
        "higher_is_better": competition.higher_is_better,
        "cv_score": solution.cv_score,
        "model": solution.model,
        "models": solution.models,
        "task": solution.task.to_dict(),
        "submission": str(solution.submission),
        "timings": solution.timings,
        "steps": solution.steps,
        "resumed": solution.resumed,
        "reasoner": info,
        "test_score": None,
        "placements": [],
    }
    student = out_dir / "student.json"
    if student.is_file():
        report = json.loads(student.read_text(encoding="utf-8"))
        result["student"] = {k: v for k, v in report.items() if k != "details"} if isinstance(report, dict) else report
    _grade(entry, competition, solution, out_dir, journal, result)
    return result


def _orchestrate(
    competition: Competition,
    run_id: str,
    out_dir: Path,
    journal: EventJournal,
    budget: float,
    options: dict[str, Any],
    settings: Settings,
    memory: MemoryStore | None,
    reasoner: Reasoner,
) -> Solution:
    orchestrator = Orchestrator(
        competition,
        out_dir,
        journal,
        budget=budget,
        folds=int(options["folds"]),
        seed=int(options["seed"]),
        n_jobs=settings.threads,
        sampler=settings.sampler,
        max_trials=settings.search_trials,
        device=resolve_device(settings.device),
        memory=memory,
        run_id=run_id,
        reasoner=reasoner,
        max_steps=settings.max_steps,
        student_latency_ms=settings.student_latency_ms,
        student_size_kb=settings.student_size_kb,
        student_min_speedup=settings.student_min_speedup,
    )
    return orchestrator.run()


def _grade(
    entry: CompetitionEntry,
    competition: Competition,
    solution: Solution,
    out_dir: Path,
    journal: EventJournal,
    result: dict[str, Any],
) -> None:
    # Grading happens here, once, after the agent has finished: the orchestrator never sees the answers.
    if entry.answers is not None:
        grader = Grader(
            entry.answers,
            entry.public_file("sample_submission"),
            competition.metric,
            competition.higher_is_better,
            entry.leaderboards,
        )
        report = grader.grade(solution.submission)
        result["test_score"] = report.score
        result["placements"] = report.placements
    elif entry.source == "kaggle":
        from agentk.kaggle import submit_and_score

        record = submit_and_score(
            entry.slug,
            solution.submission,
            run_dir=out_dir,
            cv_score=solution.cv_score,
            message=f"AgentK run {out_dir.name}",
        )
        score = record.private_score if record.private_score is not None else record.public_score
        result["kaggle_submission"] = record.to_dict()
        result["test_score"] = score
        if score is not None:
            result["placements"] = place_on_leaderboards(score, entry.leaderboards, competition.higher_is_better)
    if result["placements"]:
        p = result["placements"][0]
        journal.append(
            "grade",
            f"test {competition.metric} = {result['test_score']:.5f}: rank {p['rank']} of {p['teams']}, "
            f"beats {p['beats_pct']:.1f}% of {'reference models' if entry.source == 'builtin' else 'humans'}"
            f"{', medal: ' + p['medal'] if p.get('medal') else ''}",
            phase="finalise",
            test_score=result["test_score"],
            placement=p,
        )
    elif result["test_score"] is not None:
        journal.append(
            "grade",
            f"test {competition.metric} = {result['test_score']:.5f}",
            phase="finalise",
            test_score=result["test_score"],
        )
