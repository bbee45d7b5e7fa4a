"""The agent's loop: setup (gated by checks) -> optimise -> finalise, on public files only.

The orchestrator is handed a :class:`~agentk.competitions.Competition` (the run's copy of the public files)
and never anything that leads to the answers: grading happens in :mod:`agentk.agent.runner` after the
orchestrator has written its final submission.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agentk.agent.experience import Experience
from agentk.agent.model_io import MODEL_FILE, save_model
from agentk.competitions import Competition, Modality, TaskSpec, infer_task
from agentk.competitions._csv import read_table
from agentk.competitions.grading import validate_submission
from agentk.competitions.metrics import get_metric
from agentk.errors import AgentKError, TaskInferenceError
from agentk.runs.events import EventJournal
from agentk.tools import MODELS, CVResult, Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools.ensemble import choose_ensemble
from agentk.tools.search import search
from memory_store import MemoryStore

_FINALISE_RESERVE = 0.1  # share of the budget kept for writing and checking the submission
_ENSEMBLE_SHARE, _ENSEMBLE_MAX_S = 0.1, 60.0  # share of the budget (capped) kept for choosing the ensemble


class SetupCheckError(AgentKError):
    """A setup check failed (Agent K's unit tests); the message says which and why."""


@dataclass
class Solution:
    """What the agent hands back: a validated submission and how it got there."""

    submission: Path
    cv_score: float
    model: str
    task: TaskSpec
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Data:
    train: pd.DataFrame
    test: pd.DataFrame
    sample: pd.DataFrame


class Orchestrator:
    """Runs one competition end to end within a wall-clock budget.

    Args:
        competition: the public view of the competition.
        workdir: where the agent writes (submission, models); never inside the competition's folder.
        journal: the run's event journal.
        budget: seconds for the whole run.
        folds: cross-validation folds.
        seed: random seed.
        n_jobs: threads per model.
        sampler: Optuna sampler of the search (``tpe`` or ``gp``).
        max_trials: most search trials (0 = no search; None = until the budget).
        device: ``cpu`` or ``cuda`` (resolved; see :func:`agentk.tools.device.resolve_device`).
        memory: long-term memory to learn across runs (see :mod:`agentk.agent.experience`); None: no learning.
        run_id: the run's id, recorded with what it stores in memory.
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
    ) -> None:
        self.competition = competition
        self.workdir = workdir
        self.journal = journal
        self.budget = budget
        self.folds = folds
        self.seed = seed
        self.n_jobs = n_jobs
        self.sampler = sampler
        self.max_trials = max_trials
        self.device = device
        self.memory = memory
        self.run_id = run_id

    def run(self) -> Solution:
        """Run all phases. Library warnings are recorded as ``warning`` events (once each), not printed."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return self._run_phases()
            finally:
                seen: set[tuple[str, str]] = set()
                for w in caught:
                    key = (w.category.__name__, str(w.message).splitlines()[0][:300])
                    if key not in seen:
                        seen.add(key)
                        self.journal.append("warning", f"{key[0]}: {key[1]}", category=key[0])

    def _run_phases(self) -> Solution:
        start = time.monotonic()
        timings: dict[str, float] = {}
        data, task, codec = self._setup()
        timings["setup"] = time.monotonic() - start
        deadline = Deadline(self.budget * (1 - _FINALISE_RESERVE) - (time.monotonic() - start))
        t0 = time.monotonic()
        results = self._optimise(data, task, codec, deadline)
        timings["optimise"] = time.monotonic() - t0
        t0 = time.monotonic()
        solution = self._finalise(data, task, codec, results)
        timings["finalise"] = time.monotonic() - t0
        solution.timings = timings
        return solution

    # -- setup -----------------------------------------------------------------------------------------

    def _setup(self) -> tuple[_Data, TaskSpec, TargetCodec]:
        comp = self.competition
        self.journal.append("phase", "setup: reading the data and inferring the task", phase="setup")
        data = _Data(
            read_table(comp.train, what="train file"),
            read_table(comp.test, what="test file"),
            read_table(comp.sample_submission, what="sample submission"),
        )
        self._check("data maps load", lambda: _check_loaded(data))
        task = infer_task(
            data.train,
            data.test,
            data.sample,
            metric=comp.metric,
            higher_is_better=comp.higher_is_better,
            overrides=comp.overrides,
        )
        counts = {m.value: len(task.columns_of(m)) for m in Modality if task.columns_of(m)}
        self.journal.append(
            "task",
            f"task: {task.task_type.value}, target {', '.join(task.target_columns)}, metric {task.metric}, "
            f"{len(data.train)} train / {len(data.test)} test rows, columns {counts}",
            phase="setup",
            task=task.to_dict(),
        )
        y = data.train[task.target]
        if y.isna().any():
            dropped = int(y.isna().sum())
            data.train = data.train[y.notna()].reset_index(drop=True)
            self.journal.append("warning", f"dropped {dropped} training rows with no target", phase="setup")
        codec = TargetCodec.for_task(task, data.train[task.target])
        self._check("ids unique and matching the sample submission", lambda: _check_ids(data, task))
        self._check("target transform round-trips", lambda: _check_round_trip(codec, data.train[task.target]))
        self._check("metric reproduces on a toy input", lambda: _check_metric(codec, data.train[task.target]))
        self._check("a dummy submission validates", lambda: _check_dummy(codec, data, task))
        return data, task, codec

    def _check(self, name: str, check: Any) -> None:
        try:
            check()
        except AgentKError as exc:
            self.journal.append("check", f"check failed: {name}: {exc}", phase="setup", check=name, ok=False)
            raise SetupCheckError(f"setup check failed: {name}: {exc.message}", hint=exc.hint) from None
        self.journal.append("check", f"check passed: {name}", phase="setup", check=name, ok=True)

    # -- optimise --------------------------------------------------------------------------------------

    def _optimise(self, data: _Data, task: TaskSpec, codec: TargetCodec, deadline: Deadline) -> list[CVResult]:
        self.journal.append(
            "phase", f"optimise: {self.folds}-fold CV, {deadline.remaining:.0f}s left", phase="optimise"
        )
        y = data.train[task.target].reset_index(drop=True)
        train = data.train.reset_index(drop=True)
        folds = make_folds(codec.encode(y), task.task_type, self.folds, self.seed)
        models = self._candidate_models(task)
        results: list[CVResult] = []
        # Baselines first: each candidate family with its defaults, so a valid submission exists early.
        for name in [m for m in ("lightgbm", "linear") if m in models]:
            if deadline.expired:
                self.journal.append("skip", f"{name}: skipped, the budget is spent", phase="optimise")
                continue
            self.journal.append("model", f"{name}: training", phase="optimise", model=name, status="started")
            result = cross_validate(
                name,
                train,
                data.test,
                y,
                codec,
                folds,
                deadline,
                n_jobs=self.n_jobs,
                seed=self.seed,
                keep_models=True,
                device=self.device,
            )
            results.append(result)
            self._report(result, task)
        # The search stops early enough to leave the ensemble its share of the optimise time.
        search_deadline = Deadline(deadline.remaining - min(_ENSEMBLE_SHARE * self.budget, _ENSEMBLE_MAX_S))
        if search_deadline.remaining > 5 and self.max_trials != 0:
            baselines = [r for r in results if r.complete]
            baseline = _best(baselines, codec).cv_score if baselines else None
            results.extend(self._search(train, data.test, y, codec, folds, search_deadline, models, baseline))
        complete = [r for r in results if r.complete]
        if len(complete) > 1:
            choice = choose_ensemble(complete, y, codec, folds, deadline)
            if choice.method != "single":
                results.append(choice.result)
            self.journal.append(
                "ensemble",
                f"ensemble: {choice.method} chosen by nested CV "
                + ", ".join(f"{m} {v:.5f}" for m, v in choice.nested.items()),
                phase="optimise",
                method=choice.method,
                nested=choice.nested,
                cv_score=choice.result.cv_score,
            )
        return results

    def _candidate_models(self, task: TaskSpec) -> list[str]:
        """Zoo models that fit the task, strongest families first; more families as the budget grows."""
        present = set(task.columns.values())
        tiers = [
            ("lightgbm", "linear", "xgboost"),
            ("catboost", "hist_gb"),
            ("extra_trees", "random_forest", "mlp", "knn"),
        ]
        allowed = [name for tier in tiers[: 1 if self.budget < 300 else 2 if self.budget < 900 else 3] for name in tier]
        allowed += [name for name in MODELS if not any(name in tier for tier in tiers)]  # models added later
        return [
            name
            for name in allowed
            if name in MODELS and task.task_type in MODELS[name].tasks and present & MODELS[name].uses
        ]

    def _search(
        self,
        train: pd.DataFrame,
        test: pd.DataFrame,
        y: pd.Series,
        codec: TargetCodec,
        folds: list[tuple[np.ndarray, np.ndarray]],
        deadline: Deadline,
        models: list[str],
        baseline: float | None,
    ) -> list[CVResult]:
        experience = (
            Experience(self.memory, codec.task, self.competition.slug, self.run_id) if self.memory is not None else None
        )
        recalled = experience.recall(models) if experience is not None else []
        if experience is not None:
            self.journal.append(
                "memory",
                f"recalled {len(recalled)} configuration(s) from similar tasks"
                + (
                    ": " + ", ".join(f"{r.trial_params.get('model')} ({r.competition})" for r in recalled)
                    if recalled
                    else ""
                ),
                phase="optimise",
                memory={"recalled": [r.item_id for r in recalled], "scope": experience.scope},
            )
        self.journal.append(
            "search",
            f"search: {self.sampler.upper()} over {', '.join(models)} and feature engineering, "
            f"{deadline.remaining:.0f}s left",
            phase="optimise",
            models=models,
            sampler=self.sampler,
        )

        def on_trial(result: CVResult | None, trial: Any) -> None:
            value = f"{trial.value:.5f}" if trial.value is not None else "-"
            self.journal.append(
                "trial",
                f"trial {trial.number}: {trial.params.get('model')} {trial.state.name.lower()} CV {value}",
                phase="optimise",
                trial=trial.number,
                state=trial.state.name,
                cv_score=trial.value,
                params={k: v for k, v in trial.params.items()},
            )

        found = search(
            train,
            test,
            y,
            codec,
            folds,
            deadline,
            models=models,
            sampler=self.sampler,
            seed=self.seed,
            n_jobs=self.n_jobs,
            max_trials=self.max_trials,
            device=self.device,
            warm_start=[r.trial_params for r in recalled],
            on_trial=on_trial,
        )
        if experience is not None and baseline is not None:
            experience.credit(recalled, found.values, baseline)
            stored = experience.remember(found.pool, baseline)
            self.journal.append(
                "memory",
                f"stored {len(stored)} configuration(s) in {experience.scope}",
                phase="optimise",
                memory={"stored": stored, "credited": [r.item_id for r in recalled], "scope": experience.scope},
            )
        best = found.best
        self.journal.append(
            "search",
            f"search done: {found.trials} trials ({found.pruned} pruned, {found.failed} failed) in {found.seconds:.0f}s"
            + (f"; best {best.name} CV {best.cv_score:.5f}" if best else ""),
            phase="optimise",
            trials=found.trials,
            pruned=found.pruned,
            failed=found.failed,
        )
        return found.pool

    def _report(self, result: CVResult, task: TaskSpec) -> None:
        self.journal.append(
            "score",
            f"{result.name}: CV {task.metric} = {result.cv_score:.5f} ({result.seconds:.1f}s"
            f"{'' if result.complete else ', cut short by the budget'})",
            phase="optimise",
            model=result.name,
            cv_score=result.cv_score,
            complete=result.complete,
            fold_scores=result.fold_scores,
            seconds=result.seconds,
        )

    # -- finalise --------------------------------------------------------------------------------------

    def _finalise(self, data: _Data, task: TaskSpec, codec: TargetCodec, results: list[CVResult]) -> Solution:
        self.journal.append("phase", "finalise: choosing by CV and writing the submission", phase="finalise")
        y = data.train[task.target].reset_index(drop=True)
        chosen = _choose(results, codec)
        if chosen is None:
            raise AgentKError("no model finished a single fold within the budget", hint="raise --budget")
        threshold = codec.tune_threshold(y, chosen.oof) if chosen.complete else 0.5
        cv_score = codec.score(y, chosen.oof) if chosen.complete else chosen.cv_score
        frame = codec.submission_frame(data.test[task.id_column], chosen.test)
        frame = validate_submission(frame, data.sample, get_metric(task.metric))
        path = self.workdir / "submission.csv"
        _atomic_csv(frame, path)
        if chosen.predictor is not None:
            save_model(self.workdir / MODEL_FILE, chosen, task, codec)
        self.journal.append(
            "submission",
            f"submission written: {chosen.name}, CV {task.metric} = {cv_score:.5f}",
            phase="finalise",
            model=chosen.name,
            cv_score=cv_score,
            threshold=threshold,
            rows=len(frame),
        )
        models = {
            r.name: {
                "cv_score": r.cv_score,
                "seconds": r.seconds,
                "complete": r.complete,
                "params": _jsonable(r.params),
            }
            for r in results
        }
        return Solution(path, float(cv_score), chosen.name, task, models)


def _best(results: list[CVResult], codec: TargetCodec) -> CVResult:
    best = results[0]
    for r in results[1:]:
        if codec.metric.better(r.cv_score, best.cv_score):
            best = r
    return best


def _choose(results: list[CVResult], codec: TargetCodec) -> CVResult | None:
    complete = [r for r in results if r.complete]
    pool = complete or [r for r in results if r.fold_scores]
    return _best(pool, codec) if pool else None


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool, dict, list, type(None)))}


def _check_loaded(data: _Data) -> None:
    for name, frame in (("train", data.train), ("test", data.test), ("sample submission", data.sample)):
        if frame.empty:
            raise TaskInferenceError(f"the {name} file has no rows")


def _check_ids(data: _Data, task: TaskSpec) -> None:
    test_ids = data.test[task.id_column].astype(str)
    sample_ids = data.sample[task.id_column].astype(str)
    if not test_ids.is_unique:
        raise TaskInferenceError(f"test ids in {task.id_column!r} repeat")
    if set(test_ids) != set(sample_ids):
        raise TaskInferenceError(
            f"test ids and sample-submission ids differ ({len(set(test_ids) ^ set(sample_ids))} ids in one only)"
        )


def _check_round_trip(codec: TargetCodec, y: pd.Series) -> None:
    encoded = codec.encode(y)
    if codec.is_classification:
        decoded = np.asarray(codec.task.classes, dtype=object)[encoded]
        if not all(a == b for a, b in zip(decoded, y.to_numpy(), strict=True)):
            raise TaskInferenceError("the class encoding does not round-trip")
    elif not np.allclose(codec.to_values(encoded), y.to_numpy(dtype=float), rtol=1e-9, atol=1e-9):
        raise TaskInferenceError("the target transform does not round-trip")


def _check_metric(codec: TargetCodec, y: pd.Series) -> None:
    """A perfect prediction must score better than a constant one on a small sample."""
    toy = y.iloc[: min(len(y), 200)].reset_index(drop=True)
    codes = codec.encode(toy)
    if codec.is_classification:
        k = codec.n_classes
        perfect = np.eye(k)[codes]
        perfect_pred = perfect[:, 1] if k == 2 else perfect
        constant = np.full_like(perfect, 1.0 / k)
        constant_pred = constant[:, 1] if k == 2 else constant
        if len(np.unique(codes)) < 2:
            return
    else:
        perfect_pred = codes.astype(float)
        constant_pred = np.full_like(perfect_pred, float(np.mean(perfect_pred)))
        if np.ptp(perfect_pred) == 0:
            return
    good, bad = codec.score(toy, perfect_pred), codec.score(toy, constant_pred)
    if not codec.metric.better(good, bad):
        raise TaskInferenceError(f"metric {codec.metric.name} does not prefer a perfect prediction ({good} vs {bad})")


def _check_dummy(codec: TargetCodec, data: _Data, task: TaskSpec) -> None:
    n = len(data.test)
    if codec.is_classification:
        k = codec.n_classes
        pred = np.full(n, 0.5) if k == 2 else np.full((n, k), 1.0 / k)
    else:
        pred = np.full(n, float(np.mean(codec.encode(data.train[task.target]))))
    frame = codec.submission_frame(data.test[task.id_column], pred)
    validate_submission(frame, data.sample, codec.metric)
