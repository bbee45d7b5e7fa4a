"""The extrinsic actions: what each registered action does to the run's data, models and files.

:class:`Toolbox` holds the world of one run (public tables, the inferred task, folds, the pool of
cross-validated models) and has one handler per action. A handler returns an :class:`Observation`; it
raises only for bugs and for a setup that failed more often than the retry budget allows. Tools that
register new actions add a handler with :func:`register_handler`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agentk.agent import actions as A
from agentk.agent.checkpoint import Checkpoint, LoopState
from agentk.agent.experience import Experience
from agentk.agent.model_io import MODEL_FILE, save_model
from agentk.agent.sandbox import run_code
from agentk.agent.setup_checks import (
    RunData,
    SetupCheckError,
    check_dummy,
    check_ids,
    check_loaded,
    check_metric,
    check_round_trip,
)
from agentk.competitions import Competition, Modality, TaskSpec, infer_task
from agentk.competitions._csv import read_table
from agentk.competitions.grading import validate_submission
from agentk.competitions.metrics import get_metric
from agentk.distill import StudentReport, distil_for_run
from agentk.errors import AgentKError
from agentk.runs.events import EventJournal
from agentk.tools import MODELS, CVResult, Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools.engineering import evident_features
from agentk.tools.ensemble import choose_ensemble
from agentk.tools.search import default_trial, portfolio_trials, search
from agentk.tools.target import Target, missing_targets
from agentk.tools.zoo import unavailable_models
from memory_store import MemoryStore

FEATURE_OPERATIONS: dict[str, tuple[str, Any]] = {
    "missing_indicators": ("missing_indicators", True),
    "log_skewed": ("log_skewed", True),
    "split_strings": ("split_strings", True),
    "target_encoding": ("target_encoding", True),
    "group_stats": ("group_stats", True),
    "interactions": ("interactions", 3),
    "bins": ("bins", 8),
}
CODE_CONTRACT = (
    "The code runs in a sandbox whose working folder holds data.csv: the training rows then the test rows, "
    "input columns only (no target). It must write features.csv: the same number of rows, in the same "
    "order, numeric columns only, one per new feature."
)
_MAX_CODE_COLUMNS = 50


@dataclass
class Observation:
    """What an action observed: ``ok`` False when it failed (the text says why)."""

    ok: bool
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    pool_changed: bool = False


@dataclass
class ToolboxConfig:
    """The run's fixed settings the handlers use."""

    folds: int = 5
    seed: int = 42
    n_jobs: int = 2
    sampler: str = "tpe"
    max_trials: int | None = None
    device: str = "cpu"
    budget: float = 600.0
    max_setup_failures: int = 2
    code_timeout_s: float = 60.0
    student_latency_ms: float | None = None
    student_size_kb: float | None = None
    student_min_speedup: float | None = None

    @property
    def wants_student(self) -> bool:
        """The run has a latency or size budget: finalise distils the submitted model into a student."""
        return any(v is not None for v in (self.student_latency_ms, self.student_size_kb, self.student_min_speedup))


Handler = Callable[["Toolbox", A.ActionArgs, LoopState, Deadline], Observation]
HANDLERS: dict[str, Handler] = {}


def register_handler(name: str, handler: Handler) -> None:
    """Say what action ``name`` does (the action itself is registered with :func:`actions.register_action`)."""
    HANDLERS[name] = handler


class Toolbox:
    """The world of one run and the handlers that act on it."""

    def __init__(
        self,
        competition: Competition,
        workdir: Path,
        journal: EventJournal,
        checkpoint: Checkpoint,
        config: ToolboxConfig,
        *,
        memory: MemoryStore | None = None,
        run_id: str = "run",
    ) -> None:
        self.competition = competition
        self.workdir = workdir
        self.journal = journal
        self.checkpoint = checkpoint
        self.config = config
        self.memory = memory
        self.run_id = run_id
        self.pool: list[CVResult] = []
        self._data: RunData | None = None
        self.task: TaskSpec | None = None
        self.codec: TargetCodec | None = None
        self.folds: list[tuple[np.ndarray, np.ndarray]] = []
        self.run_deadline = Deadline(config.budget)  # the whole run's, finalise reserve included
        self.recalled: set[str] = set()  # memory items replayed by this run's searches (each replayed once)

    # -- the world -------------------------------------------------------------------------------------

    @property
    def data(self) -> RunData:
        if self._data is None:
            comp = self.competition
            self._data = RunData(
                read_table(comp.train, what="train file"),
                read_table(comp.test, what="test file"),
                read_table(comp.sample_submission, what="sample submission"),
            )
        return self._data

    def restore(self, state: LoopState, pool: list[CVResult]) -> None:
        """Rebuild the world from a checkpoint: the task, codec and folds are derived, not re-decided."""
        self.pool = pool
        if state.task is None:
            return
        task = TaskSpec.from_dict(state.task)
        self._prepare(task)
        code = self.checkpoint.load_code_features()
        if code is not None and state.code_columns:
            self._attach_code_features(code[state.code_columns])

    def _prepare(self, task: TaskSpec) -> None:
        data = self.data
        missing = missing_targets(data.train, task)
        if missing.any():
            data.train = data.train[~missing].reset_index(drop=True)
        self.task = task
        self.codec = TargetCodec.for_task(task, data.train[task.target_key])
        self.folds = make_folds(
            self.codec.encode(data.train[task.target_key]), task.task_type, self.config.folds, self.config.seed
        )

    def candidates(self) -> list[str]:
        """Zoo models that fit the task, strongest families first; more families as the budget grows."""
        if self.task is None:
            return []
        task = self.task
        present = set(task.columns.values())
        tiers = [
            ("lightgbm", "linear", "xgboost"),
            ("catboost", "hist_gb"),
            ("extra_trees", "random_forest", "mlp", "knn"),
        ]
        budget = self.config.budget
        allowed = [name for tier in tiers[: 1 if budget < 300 else 2 if budget < 900 else 3] for name in tier]
        allowed += [name for name in MODELS if not any(name in tier for tier in tiers)]  # models added later
        return [
            name
            for name in allowed
            if name in MODELS and task.task_type in MODELS[name].tasks and present & MODELS[name].uses
        ]

    @property
    def y(self) -> Target:
        assert self.task is not None
        return self.data.train[self.task.target_key].reset_index(drop=True)

    def results_view(self) -> list[dict[str, Any]]:
        """The pool as the reasoner sees it."""
        return [
            {
                "model": str(r.params.get("model", r.name.split("#")[0].split(":")[0])),
                "name": r.name,
                "cv_score": float(r.cv_score),
                "complete": r.complete,
                "seconds": round(r.seconds, 2),
            }
            for r in self.pool
        ]

    def best(self) -> CVResult | None:
        assert self.codec is not None
        complete = [r for r in self.pool if r.complete]
        pool = complete or [r for r in self.pool if r.fold_scores]
        if not pool:
            return None
        best = pool[0]
        for r in pool[1:]:
            if self.codec.metric.better(r.cv_score, best.cv_score):
                best = r
        return best

    def execute(self, name: str, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
        handler = HANDLERS.get(name)
        if handler is None:
            return Observation(False, f"action {name!r} has no handler in this version")
        if name not in ("profile", "infer_task", "run_code", "stop") and self.task is None:
            return Observation(False, f"{name} needs the task: run infer_task first")
        try:
            return handler(self, args, state, deadline)
        except SetupCheckError:
            raise
        except AgentKError as exc:
            return Observation(False, f"{name} failed: {exc}")

    # -- helpers for handlers --------------------------------------------------------------------------

    def _attach_code_features(self, features: pd.DataFrame) -> None:
        assert self.task is not None
        data = self.data
        n_train = len(data.train)
        for col in features.columns:
            data.train[col] = features[col].iloc[:n_train].to_numpy()
            data.test[col] = features[col].iloc[n_train:].to_numpy()
        columns = dict(self.task.columns)
        columns.update(dict.fromkeys(features.columns, Modality.NUMERIC))
        self.task = dataclasses.replace(self.task, columns=columns)
        # Models read their input columns from the codec's task: it must know the new columns too.
        self.codec = TargetCodec.for_task(self.task, self.data.train[self.task.target_key])

    def report(self, result: CVResult) -> None:
        assert self.task is not None
        self.journal.append(
            "score",
            f"{result.name}: CV {self.task.metric} = {result.cv_score:.5f} ({result.seconds:.1f}s"
            f"{'' if result.complete else ', cut short by the budget'})",
            phase="optimise",
            model=result.name,
            cv_score=result.cv_score,
            complete=result.complete,
            fold_scores=result.fold_scores,
            seconds=result.seconds,
        )


# -- setup -----------------------------------------------------------------------------------------------


def _profile(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    data = box.data
    train, test = data.train, data.test
    only_train = [c for c in train.columns if c not in test.columns]
    missing = train.isna().mean()
    lines = [
        f"train {train.shape[0]} rows x {train.shape[1]} columns, test {test.shape[0]} rows, "
        f"sample submission columns {list(data.sample.columns)}",
        f"columns only in train (target candidates): {only_train}",
        "dtypes: " + ", ".join(f"{k} {v}" for k, v in train.dtypes.astype(str).value_counts().items()),
        "most missing: "
        + (
            ", ".join(f"{c} {v:.0%}" for c, v in missing[missing > 0].sort_values(ascending=False).head(5).items())
            or "none"
        ),
    ]
    for col in only_train[:2]:
        y = train[col]
        if y.nunique() <= 20:
            lines.append(f"{col}: " + ", ".join(f"{k}: {v}" for k, v in y.value_counts().head(10).items()))
        else:
            lines.append(f"{col}: mean {y.mean():.4g}, std {y.std():.4g}, min {y.min():.4g}, max {y.max():.4g}")
    return Observation(True, "; ".join(lines), {"rows": int(train.shape[0]), "columns": int(train.shape[1])})


def _infer_task(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    comp = box.competition
    try:
        data = box.data
        _check(box, "data maps load", lambda: check_loaded(data))
        task = infer_task(
            data.train,
            data.test,
            data.sample,
            metric=comp.metric,
            higher_is_better=comp.higher_is_better,
            overrides=comp.overrides,
            image_root=comp.input_dir,
        )
        dropped = int(missing_targets(data.train, task).sum())
        box._prepare(task)
        codec, y = box.codec, box.y
        assert codec is not None
        _check(box, "ids unique and matching the sample submission", lambda: check_ids(data, task))
        _check(box, "target transform round-trips", lambda: check_round_trip(codec, y))
        _check(box, "metric reproduces on a toy input", lambda: check_metric(codec, y))
        _check(box, "a dummy submission validates", lambda: check_dummy(codec, data, task))
    except AgentKError as exc:
        box.task, box.codec, box.folds = None, None, []
        state.setup_failures += 1
        message = exc.message
        if state.setup_failures > box.config.max_setup_failures:
            raise SetupCheckError(
                f"setup failed {state.setup_failures} times; last: {message}", hint=exc.hint
            ) from None
        return Observation(False, f"setup failed (attempt {state.setup_failures}): {message}")
    if dropped:
        box.journal.append("warning", f"dropped {dropped} training rows with no target", phase="setup")
    for name, why in unavailable_models(task.columns.values()).items():
        box.journal.append("warning", f"{name}: {why}", phase="setup", model=name)
    counts = {m.value: len(task.columns_of(m)) for m in Modality if task.columns_of(m)}
    box.journal.append(
        "task",
        f"task: {task.task_type.value}, target {', '.join(task.target_columns)}, metric {task.metric}, "
        f"{len(data.train)} train / {len(data.test)} test rows, columns {counts}",
        phase="setup",
        task=task.to_dict(),
    )
    state.task = task.to_dict()
    return Observation(
        True,
        f"{task.task_type.value} task on {task.target}, metric {task.metric}; all setup checks passed; "
        f"candidate models: {', '.join(box.candidates())}",
        {"task": task.to_dict()},
    )


def _check(box: Toolbox, name: str, check: Callable[[], None]) -> None:
    try:
        check()
    except AgentKError as exc:
        box.journal.append("check", f"check failed: {name}: {exc}", phase="setup", check=name, ok=False)
        raise SetupCheckError(f"setup check failed: {name}: {exc.message}", hint=exc.hint) from None
    box.journal.append("check", f"check passed: {name}", phase="setup", check=name, ok=True)


# -- optimise --------------------------------------------------------------------------------------------


def _train_model(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.TrainModelArgs) and box.task is not None and box.codec is not None
    if args.model not in box.candidates():
        return Observation(False, f"{args.model} does not fit this task; candidates: {', '.join(box.candidates())}")
    if deadline.expired:
        return Observation(False, f"{args.model}: skipped, the budget is spent")
    box.journal.append("model", f"{args.model}: training", phase="optimise", model=args.model, status="started")
    data = box.data
    n_same = sum(1 for r in box.pool if r.name == args.model or r.name.startswith(args.model + "@"))
    result = cross_validate(
        args.model,
        data.train.reset_index(drop=True),
        data.test,
        box.y,
        box.codec,
        box.folds,
        deadline,
        params=dict(args.params) or None,
        features=dict(state.features) or None,
        n_jobs=box.config.n_jobs,
        seed=box.config.seed,
        keep_models=True,
        device=box.config.device,
        name=args.model if n_same == 0 else f"{args.model}@{n_same + 1}",
    )
    result.params.setdefault("model", args.model)
    box.pool.append(result)
    box.report(result)
    return Observation(
        True,
        f"{result.name}: CV {box.task.metric} {result.cv_score:.5f} in {result.seconds:.1f}s"
        + ("" if result.complete else " (cut short by the budget)"),
        {"cv_score": result.cv_score, "complete": result.complete},
        pool_changed=True,
    )


def _tune(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.TuneArgs) and box.task is not None and box.codec is not None
    # The candidates' own order, not the reasoner's ranking: Optuna's categorical choice (and so which
    # configurations the seeded sampler draws first) depends on the order of the choices.
    models = [m for m in box.candidates() if m in args.models]
    if not models:
        return Observation(False, f"none of {args.models} fits this task; candidates: {', '.join(box.candidates())}")
    # The search leaves the ensemble its share of the time.
    finished = any(r.complete for r in box.pool)
    reserve = ensemble_reserve(box.config.budget, len(box.data.train), box.codec.n_outputs) if finished else 0.0
    search_deadline = Deadline(deadline.remaining - reserve)
    if search_deadline.remaining <= 5:
        return Observation(False, "tune: too little time left to search")
    if box.config.max_trials == 0:
        return Observation(False, "tune: the search is turned off (AGENTK_SEARCH_TRIALS=0)")
    max_trials = args.trials if box.config.max_trials is None else min(args.trials, box.config.max_trials)
    codec, task = box.codec, box.task
    best_so_far = box.best() if any(r.complete for r in box.pool) else None
    baseline = best_so_far.cv_score if best_so_far is not None else None
    experience = Experience(box.memory, task, box.competition.slug, box.run_id) if box.memory is not None else None
    recalled = experience.recall(models, exclude=box.recalled) if experience is not None else []
    box.recalled.update(r.item_id for r in recalled)
    if experience is not None:
        box.journal.append(
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
    box.journal.append(
        "search",
        f"search: {box.config.sampler.upper()} over {', '.join(models)} and feature engineering, "
        f"{search_deadline.remaining:.0f}s left",
        phase="optimise",
        models=models,
        sampler=box.config.sampler,
    )

    def on_trial(result: CVResult | None, trial: Any) -> None:
        value = f"{trial.value:.5f}" if trial.value is not None else "-"
        # why the search cut, skipped or spared it (see agentk.tools.search)
        notes = {k: str(trial.user_attrs[k]) for k in ("skipped", "capped", "spared") if k in trial.user_attrs}
        box.journal.append(
            "trial",
            f"trial {trial.number}: {trial.params.get('model')} {trial.state.name.lower()} CV {value}"
            + "".join(f"; {k}: {v}" for k, v in notes.items()),
            phase="optimise",
            trial=trial.number,
            state=trial.state.name,
            cv_score=trial.value,
            params={k: v for k, v in trial.params.items()},
            notes=notes,
        )

    data = box.data
    found = search(
        data.train.reset_index(drop=True),
        data.test,
        box.y,
        codec,
        box.folds,
        search_deadline,
        models=models,
        sampler=box.config.sampler,
        seed=box.config.seed + sum(h.get("action") == "tune" for h in state.history),  # a new draw each search
        n_jobs=box.config.n_jobs,
        max_trials=max_trials,
        device=box.config.device,
        warm_start=_first_trials(box, models, state) + [r.trial_params for r in recalled],
        on_trial=on_trial,
    )
    if experience is not None and baseline is not None:
        experience.credit(recalled, found.values, baseline)
        stored = experience.remember(found.pool, baseline)
        box.journal.append(
            "memory",
            f"stored {len(stored)} configuration(s) in {experience.scope}",
            phase="optimise",
            memory={"stored": stored, "credited": [r.item_id for r in recalled], "scope": experience.scope},
        )
    for r in found.pool:
        trial_params = r.params.get("trial_params")
        model = trial_params.get("model") if isinstance(trial_params, dict) else None
        r.params.setdefault("model", model or r.name.split("#")[0])
    box.pool.extend(found.pool)
    best = found.best
    text = (
        f"search done: {found.trials} trials ({found.pruned} pruned, {found.skipped} skipped as too slow for the "
        f"time left, {found.failed} failed) in {found.seconds:.0f}s"
        + (f"; best {best.name} CV {best.cv_score:.5f}" if best else "")
    )
    box.journal.append("search", text, phase="optimise", trials=found.trials, pruned=found.pruned, failed=found.failed)
    return Observation(best is not None, text, {"trials": found.trials}, pool_changed=bool(found.pool))


# How many portfolio configurations a run's first search tries before its sampler draws its own.
PORTFOLIO_TRIALS = 5


def _first_trials(box: Toolbox, models: list[str], state: LoopState) -> list[dict[str, Any]]:
    """The first search's first trials: the best baseline's defaults plus the evidently worthwhile features
    (delimited strings split, coordinates rotated; every other feature choice off) when there are such features
    (see ``evident_features``), then up to :data:`PORTFOLIO_TRIALS` known-strong configurations of the searched
    families (see ``portfolio_trials``), the best baseline's family first, with the evident features on and the
    other feature choices left to the sampler. Later searches start from what the sampler learnt."""
    if any(h.get("action") == "tune" for h in state.history) or box.task is None:
        return []
    best = box.best() if any(r.complete for r in box.pool) else None
    family = str(best.params.get("model", best.name)) if best is not None else None
    evident = evident_features(box.data.train, box.task.columns)
    first = [{**default_trial(family), **evident}] if family in models and evident else []
    if family in models:
        models = [family, *(m for m in models if m != family)]
    turned_on = {k: v for k, v in (evident or {}).items() if v}
    return first + portfolio_trials(models, turned_on, limit=PORTFOLIO_TRIALS)


def ensemble_reserve(budget: float, rows: int, outputs: int) -> float:
    """Seconds a search leaves for the ensemble after it: a tenth of the budget, at most 60 s.

    Hill climbing and stacking over one output column take seconds even on tens of thousands of rows, so
    there the reserve is ``10 s + rows / 2000`` (within that cap); multiclass stacking (a logistic regression
    over models x classes logits, refit per fold) keeps the full share.
    """
    share = min(0.1 * budget, 60.0)
    return share if outputs > 1 else min(share, 10.0 + rows / 2000)


def _ensemble(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.EnsembleArgs) and box.codec is not None
    complete = [r for r in box.pool if r.complete and not r.name.startswith("ensemble:")]
    if len(complete) < 2:
        return Observation(False, "ensemble needs two finished models")
    choice = choose_ensemble(complete, box.y, box.codec, box.folds, deadline)
    if choice.method != "single":
        box.pool.append(choice.result)
    text = f"ensemble: {choice.method} chosen by nested CV " + ", ".join(
        f"{m} {v:.5f}" for m, v in choice.nested.items()
    )
    box.journal.append(
        "ensemble",
        text,
        phase="optimise",
        method=choice.method,
        nested=choice.nested,
        cv_score=choice.result.cv_score,
    )
    return Observation(True, text, {"method": choice.method}, pool_changed=choice.method != "single")


def _engineer_features(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.EngineerFeaturesArgs) and box.task is not None
    notes = []
    unknown = [op for op in args.operations if op not in FEATURE_OPERATIONS]
    if unknown:
        return Observation(False, f"unknown feature operations {unknown}; known: {', '.join(FEATURE_OPERATIONS)}")
    for op in args.operations:
        key, value = FEATURE_OPERATIONS[op]
        state.features[key] = value
    if args.operations:
        notes.append(f"feature operations {', '.join(args.operations)} apply to models trained from now on")
    if args.code:
        ok, text = _code_features(box, args.code, state, deadline)
        if not ok:
            return Observation(False, "; ".join([*notes, text]))
        notes.append(text)
    if not notes:
        return Observation(False, "engineer_features needs operations or code")
    return Observation(True, "; ".join(notes), {"features": dict(state.features), "code_columns": state.code_columns})


def _code_features(box: Toolbox, code: str, state: LoopState, deadline: Deadline) -> tuple[bool, str]:
    """Run feature code in the sandbox and check its output before any model uses it."""
    assert box.task is not None
    data = box.data
    inputs = [c for c in box.task.columns if c not in state.code_columns]
    workspace = box.workdir / "sandbox" / f"features-{state.step + 1}"
    workspace.mkdir(parents=True, exist_ok=True)
    pd.concat([data.train[inputs], data.test[inputs]], ignore_index=True).to_csv(workspace / "data.csv", index=False)
    timeout = max(5.0, min(box.config.code_timeout_s, deadline.remaining))
    result = run_code(code, workspace=workspace, timeout_s=timeout)
    box.journal.append(
        "code",
        f"feature code {'ran' if result.ok else 'failed'} in {result.seconds:.1f}s"
        + ("" if result.ok else f": {result.exc_type or result.killed_by}: {(result.exc_message or '')[:200]}"),
        phase="optimise",
        ok=result.ok,
        exc_type=result.exc_type,
        killed_by=result.killed_by,
        seconds=round(result.seconds, 3),
    )
    if not result.ok:
        return False, "feature code failed: " + result.summary(1500)
    out = workspace / "features.csv"
    if not out.is_file():
        return False, "feature code ran but wrote no features.csv"
    try:
        features = pd.read_csv(out)
    except (ValueError, OSError) as exc:
        return False, f"features.csv is unreadable: {exc}"
    n = len(data.train) + len(data.test)
    problems = []
    if len(features) != n:
        problems.append(f"features.csv has {len(features)} rows, data.csv has {n}")
    if features.shape[1] == 0 or features.shape[1] > _MAX_CODE_COLUMNS:
        problems.append(f"features.csv must have 1 to {_MAX_CODE_COLUMNS} columns, not {features.shape[1]}")
    non_numeric = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        problems.append(f"non-numeric columns {non_numeric[:5]}")
    clash = [c for c in features.columns if c in data.train.columns or c in data.test.columns]
    if clash:
        problems.append(f"columns already exist: {clash[:5]}")
    if not problems:
        values = features.to_numpy(dtype=float)
        if np.isinf(values).any():
            problems.append("infinite values")
        empty = [c for c in features.columns if features[c].isna().all() or features[c].nunique() <= 1]
        if empty:
            problems.append(f"constant or empty columns {empty[:5]}")
    if problems:
        return False, "feature code output rejected: " + "; ".join(problems)
    box._attach_code_features(features)
    state.code_columns.extend(str(c) for c in features.columns)
    state.task = box.task.to_dict() if box.task is not None else state.task
    previous = box.checkpoint.load_code_features()
    merged = features if previous is None else pd.concat([previous, features], axis=1)
    box.checkpoint.save_code_features(merged)
    return True, f"added {features.shape[1]} feature column(s) from code: {', '.join(map(str, features.columns))}"


def _run_code(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.RunCodeArgs)
    workspace = box.workdir / "sandbox" / "scratch"
    workspace.mkdir(parents=True, exist_ok=True)
    data_file = workspace / "train.csv"
    if not data_file.exists():
        box.data.train.to_csv(data_file, index=False)
        box.data.test.to_csv(workspace / "test.csv", index=False)
    timeout = max(5.0, min(box.config.code_timeout_s, deadline.remaining))
    result = run_code(args.code, workspace=workspace, timeout_s=timeout)
    box.journal.append(
        "code",
        f"code {'ran' if result.ok else 'failed'} in {result.seconds:.1f}s"
        + (f" ({args.purpose})" if args.purpose else ""),
        ok=result.ok,
        exc_type=result.exc_type,
        killed_by=result.killed_by,
        seconds=round(result.seconds, 3),
    )
    return Observation(result.ok, result.summary(2000), {"exc_type": result.exc_type, "killed_by": result.killed_by})


def _distil(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.DistilArgs)
    teacher = _find(box, state.chosen) if state.chosen else box.best()
    if teacher is None:
        return Observation(False, "distil needs a finished model to learn from")
    report = distil_student(box, teacher, students=[args.student] if args.student else None)
    if report is None:
        return Observation(False, "no student was made (the journal says why)")
    data = {k: v for k, v in report.to_dict().items() if k != "details"}
    return Observation(True, report.summary, data)


def distil_student(box: Toolbox, teacher: CVResult, *, students: list[str] | None = None) -> StudentReport | None:
    """Distil ``teacher`` into a student within the run's latency/size budget (20x faster when none is set)."""
    assert box.task is not None and box.codec is not None
    cfg = box.config
    return distil_for_run(
        box.workdir,
        teacher,
        box.task,
        box.codec,
        box.data.train.reset_index(drop=True),
        budget_s=min(0.5 * max(box.run_deadline.remaining, 0.0), 300.0),
        latency_budget_ms=cfg.student_latency_ms,
        size_budget_kb=cfg.student_size_kb,
        min_speedup=cfg.student_min_speedup if cfg.wants_student else 20.0,
        students=students,
        seed=cfg.seed,
        journal=box.journal,
        folds=box.folds,
    )


# -- finalise --------------------------------------------------------------------------------------------


def _find(box: Toolbox, name: str | None) -> CVResult | None:
    if name is None:
        return None
    for r in box.pool:
        if r.name == name:
            return r
    matches = [r for r in box.pool if str(r.params.get("model")) == name and r.complete]
    if not matches:
        return None
    assert box.codec is not None
    best = matches[0]
    for r in matches[1:]:
        if box.codec.metric.better(r.cv_score, best.cv_score):
            best = r
    return best


def _predict(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.PredictArgs)
    chosen = _find(box, args.model) if args.model else box.best()
    if chosen is None:
        names = ", ".join(r.name for r in box.pool) or "none"
        return Observation(False, f"no finished model named {args.model!r}; finished: {names}")
    state.chosen = chosen.name
    test = np.asarray(chosen.test, dtype=float)
    return Observation(
        True,
        f"{chosen.name} predicts the test set: mean {test.mean():.4g}, std {test.std():.4g} "
        f"over {test.shape[0]} rows; it will be submitted",
        {"model": chosen.name},
    )


def _finalise(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.FinaliseArgs)
    assert box.task is not None and box.codec is not None
    name = args.model or state.chosen
    chosen = _find(box, name) if name else box.best()
    if chosen is None:
        return Observation(False, "no model finished a single fold yet" if name is None else f"no model {name!r}")
    write_submission(box, chosen, state)
    text = f"submission written from {chosen.name} (CV {chosen.cv_score:.5f})"
    return Observation(True, text, {"model": chosen.name})


def write_submission(box: Toolbox, chosen: CVResult, state: LoopState) -> None:
    """Write and validate the submission from ``chosen``; save its model."""
    assert box.task is not None and box.codec is not None
    task, codec, data = box.task, box.codec, box.data
    y = box.y
    threshold = codec.tune_threshold(y, chosen.oof) if chosen.complete else 0.5
    cv_score = codec.score(y, chosen.oof) if chosen.complete else chosen.cv_score
    frame = codec.submission_frame(data.test[task.id_column], chosen.test)
    frame = validate_submission(frame, data.sample, get_metric(task.metric))
    path = box.workdir / "submission.csv"
    _atomic_csv(frame, path)
    if chosen.predictor is not None:
        save_model(box.workdir / MODEL_FILE, chosen, task, codec, box.folds)
    state.submission = {
        "model": chosen.name,
        "cv_score": float(cv_score),
        "path": str(path),
        "threshold": float(threshold),
    }
    state.phase = "finalise"
    box.journal.append(
        "submission",
        f"submission written: {chosen.name}, CV {task.metric} = {cv_score:.5f}",
        phase="finalise",
        model=chosen.name,
        cv_score=cv_score,
        threshold=threshold,
        rows=len(frame),
    )
    # With a latency or size budget, the submitted model is distilled into a student to serve.
    if box.config.wants_student and not (box.workdir / "student.joblib").exists():
        report = distil_student(box, chosen)
        if report is not None:
            state.submission["student"] = report.path.name if report.path else None


def _stop(box: Toolbox, args: A.ActionArgs, state: LoopState, deadline: Deadline) -> Observation:
    assert isinstance(args, A.StopArgs)
    state.stopped = args.reason or "the reasoner stopped the run"
    return Observation(True, f"stopping: {state.stopped}")


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


for _name, _handler in (
    ("profile", _profile),
    ("infer_task", _infer_task),
    ("train_model", _train_model),
    ("tune", _tune),
    ("ensemble", _ensemble),
    ("engineer_features", _engineer_features),
    ("run_code", _run_code),
    ("distil", _distil),
    ("predict", _predict),
    ("finalise", _finalise),
    ("stop", _stop),
):
    register_handler(_name, _handler)
