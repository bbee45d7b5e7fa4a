"""Bayesian optimisation over models, their hyper-parameters and feature engineering, with Optuna.

One study searches jointly: the model family (a categorical choice among the zoo entries that fit the task),
that model's own search space (conditional parameters; TPE models them, the GP sampler falls back to
independent sampling for them), and :func:`~agentk.tools.engineering.search_features` choices. Each trial
cross-validates fold by fold and reports the running score, so the pruner stops poor trials early. The search
stops before the deadline when the next trial would not fit, and keeps the best complete results (with their
out-of-fold and test predictions) for ensembling.

Time is estimated per model family (the median of its finished trials): a trial whose family would not
finish in the time left is skipped at once (recorded as pruned, user attribute ``skipped``) so the sampler
moves on to a cheaper family, and the search stops only when even the cheapest family would not fit (a
family not tried yet counts as cheap), or after many skips in a row. One slow family (an XGBoost trial of two
minutes, say) therefore no longer ends a search that still has time for many fast trials. No trial may take
more than ``TRIAL_SHARE`` of the search's time (except a ``warm_up`` family's first, which fills a cache the
later ones reuse: nlp's first sentence-embedding trial took 181 s): one cut there is pruned (user attribute
``capped``) and counts in its family's estimate at what all its folds would have taken, so a family none of
whose trials has finished inside the cap is skipped from then on (its trials would only be capped again; s4e2
lost two CatBoost trials of 120 s that way); a family with a complete trial is expected to take what its complete
trials took (:class:`TrialClock`).
A trial that leads the search when it reaches the cap (its finished folds score better than every complete
trial) is spared, once (:class:`TrialDeadline`, user attribute ``spared``): it may go on for what its remaining
folds are expected to take, when all its folds fit in ``SPARE_SHARE`` of the search.

Where the trials run is the business of :class:`TrialWorkers`, which the executor of a run sets around it
(:func:`use_trial_workers`): by default every trial runs in this process against an in-memory study; with a
shared Optuna storage (PostgreSQL) helpers elsewhere (Ray tasks on other nodes, see
:mod:`agentk.runs.ray_trials`) load the same study and run trials too, while this process runs its own and
reports every finished trial in number order.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from agentk.tools.crossval import TrialPruned, cross_validate
from agentk.tools.cv import CVResult, Deadline
from agentk.tools.engineering import search_features
from agentk.tools.target import Target, TargetCodec
from agentk.tools.zoo import get_model

SAMPLERS = ("tpe", "gp", "random")
_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)

log = logging.getLogger(__name__)


@dataclass
class SearchResult:
    """The search's outcome: the best complete results (best first) and trial counts."""

    pool: list[CVResult] = field(default_factory=list)
    values: dict[int, float | None] = field(default_factory=dict)  # trial number -> CV score (None: no score)
    trials: int = 0
    pruned: int = 0  # stopped by the pruner
    skipped: int = 0  # not started: the family's trials would not fit in the time left
    failed: int = 0
    seconds: float = 0.0

    @property
    def best(self) -> CVResult | None:
        return self.pool[0] if self.pool else None


@dataclass
class SearchPartial:
    """What one worker of a study found: its best complete results and how many trials its pruner stopped."""

    pool: list[CVResult] = field(default_factory=list)
    pruned: int = 0
    skipped: int = 0


MAX_SKIPS_IN_A_ROW = 12
# The most of a search's time one trial may take. A family's first trial has no time estimate: in a 10-minute
# run on 2 cores, one CatBoost trial on a 7-class task took 328 s of a 451-s search, leaving room for two trials.
TRIAL_SHARE = 0.25
# A trial that leads the search when it reaches the cap (its finished folds score better than every complete
# trial) may go on until it would have taken this share of the search: in a 600-s amazon run a CatBoost trial
# scoring 0.88068 AUC on its finished folds, above every complete trial (the run's final CV: 0.87655 after
# ensembling), was cut at the cap and lost.
SPARE_SHARE = 0.5


class TrialDeadline(Deadline):
    """One trial's deadline: ``cap`` seconds within ``outer``; at the cap ``spare()`` may grant more seconds, once.

    ``spare`` is asked when the cap is first reached and returns the extra seconds (0: none); the trial never
    outlives ``outer``.
    """

    def __init__(self, cap: float, outer: Deadline, spare: Callable[[], float]) -> None:
        super().__init__(min(cap, outer.remaining))
        self.outer = outer
        self.spare = spare
        self.spared = 0.0
        self._asked = False

    @property
    def remaining(self) -> float:
        left = self.seconds - (time.monotonic() - self.start)
        if left <= 0 and not self._asked:
            self._asked = True
            self.spared = max(self.spare(), 0.0)
            self.seconds += self.spared
            left += self.spared
        return min(left, self.outer.remaining)


class TrialClock:
    """Seconds per finished trial, per model family: what a next trial of a family is expected to take.

    A capped trial (cut at the trial cap) is added at what all its folds would have taken, as ``capped``: it says
    that its configuration is slow, and the family is expected to take that long only while none of its trials
    has finished inside the cap. Once one has, the family's complete trials set the estimate: amazon (seed 7) had
    CatBoost skipped for the rest of its search after one trial at learning rate 0.02 was capped, although its
    complete trial at 0.05 (the best of the search so far) had taken 97 s of a 133-s cap.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}
        self.capped: dict[str, list[float]] = {}

    def add(self, model: str, seconds: float, *, capped: bool = False) -> None:
        (self.capped if capped else self.seconds).setdefault(model, []).append(seconds)

    def expected(self, model: str) -> float | None:
        """Median seconds of ``model``'s complete trials, else of its capped ones; None before its first."""
        done = self.seconds.get(model) or self.capped.get(model)
        return float(np.median(done)) if done else None

    def cheapest(self, models: list[str]) -> float:
        """The smallest expected time over ``models``; 0 while one of them has no finished trial yet."""
        expected = [self.expected(m) for m in models]
        known = [e for e in expected if e is not None]
        return min(known) if known and len(known) == len(expected) else 0.0

    def fits(self, model: str, remaining: float, margin: float = 1.1) -> bool:
        expected = self.expected(model)
        return expected is None or remaining >= margin * expected


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """``tpe`` (multivariate, grouped: handles conditional spaces), ``gp`` (Gaussian process) or ``random``."""
    with warnings.catch_warnings():  # multivariate/grouped TPE and GP are flagged experimental; we chose them
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=6)
        if name == "gp":
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=6)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    from agentk.errors import UserInputError

    raise UserInputError(f"unknown sampler {name!r}", hint="use one of " + ", ".join(SAMPLERS))


def make_pruner() -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)


def open_storage(url: str | None, *, create_tables: bool = True) -> optuna.storages.RDBStorage | None:
    """Optuna's RDB storage at ``url``; None: a study in memory.

    Optuna creates its tables when they are missing; executors open the storage once before they start runs,
    so helpers (``create_tables=False``) never race each other creating them.
    """
    if url is None:
        return None
    return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, skip_table_creation=not create_tables)


@dataclass
class SearchWork:
    """Everything a trial needs, picklable so that helpers on other nodes can run trials of the same study."""

    train: pd.DataFrame
    test: pd.DataFrame
    y: Target
    codec: TargetCodec
    folds: list[tuple[np.ndarray, np.ndarray]]
    models: list[str]
    n_jobs: int = 1
    device: str = "cpu"
    seed: int = 0
    keep: int = 8
    max_trials: int | None = None

    def optimize(
        self,
        study: optuna.Study,
        deadline: Deadline,
        *,
        place: dict[str, str],
        on_finished: Callable[[], None] | None = None,
        partial: SearchPartial | None = None,
    ) -> SearchPartial:
        """Run trials of ``study`` here until the deadline or the study-wide ``max_trials``.

        ``place`` (where this worker runs) is recorded in each trial's user attributes; ``on_finished`` is
        called after each trial this worker finishes; results go to ``partial`` (a new one by default).
        """
        partial = partial if partial is not None else SearchPartial()
        clock = TrialClock()
        trial_cap = TRIAL_SHARE * max(deadline.remaining, 0.0)
        skips_in_a_row = [0]

        def objective(trial: optuna.Trial) -> float:
            for key, value in place.items():
                trial.set_user_attr(key, value)
            model = trial.suggest_categorical("model", self.models)
            # A trial must fit in the time left and, unless it is a warm-up family's first, under the cap: a family
            # that was capped once (its estimate is what all folds would take) would only be capped again.
            first_warm_up = get_model(model).warm_up and clock.expected(model) is None
            if not clock.fits(model, deadline.remaining if first_warm_up else min(deadline.remaining, trial_cap)):
                # this family's trials take longer than the time left: let the sampler pick another
                skips_in_a_row[0] += 1
                partial.skipped += 1
                trial.set_user_attr("skipped", f"{model} needs ~{clock.expected(model):.0f}s")
                raise optuna.TrialPruned()
            skips_in_a_row[0] = 0
            params = get_model(model).search_space(trial)
            features = search_features(trial, self.codec.task.columns)
            t0 = time.monotonic()
            trial_deadline = (
                deadline
                if first_warm_up
                else TrialDeadline(trial_cap, deadline, lambda: self._spare(trial, t0, trial_cap / TRIAL_SHARE))
            )
            try:
                cv = cross_validate(
                    model,
                    self.train,
                    self.test,
                    self.y,
                    self.codec,
                    self.folds,
                    trial_deadline,
                    params=params,
                    features=features,
                    n_jobs=self.n_jobs,
                    device=self.device,
                    seed=self.seed,
                    trial=trial,
                    keep_models=True,
                    name=f"{model}#{trial.number}",
                )
            except TrialPruned:
                partial.pruned += 1
                raise optuna.TrialPruned() from None
            elapsed = time.monotonic() - t0
            capped = not cv.complete and not deadline.expired
            # A capped trial counts at what all its folds would have taken, so the family is tried again only
            # while that much time is left.
            clock.add(
                model, elapsed * len(self.folds) / max(len(cv.fold_scores), 1) if capped else elapsed, capped=capped
            )
            spared = trial_deadline.spared if isinstance(trial_deadline, TrialDeadline) else 0.0
            if spared:
                trial.set_user_attr("spared", f"{spared:.0f}s past the cap: it led the search at the cap")
            if not cv.complete:  # cut by the deadline or the cap: not comparable with complete trials
                if capped:
                    trial.set_user_attr("capped", f"over {trial_cap:.0f}s, a {TRIAL_SHARE:.0%} share of the search")
                raise optuna.TrialPruned()
            cv.params["trial_params"] = dict(trial.params)
            _keep(partial.pool, cv, self.codec, self.keep)
            trial.set_user_attr("seconds", cv.seconds)
            return cv.cv_score

        def stop_when_out_of_time(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if on_finished is not None:
                on_finished()
            done = len(study.get_trials(deepcopy=False, states=_FINISHED)) if self.max_trials is not None else 0
            if (
                deadline.remaining < 1.2 * clock.cheapest(self.models)
                or skips_in_a_row[0] >= MAX_SKIPS_IN_A_ROW
                or (self.max_trials is not None and done >= self.max_trials)
            ):
                study.stop()

        if deadline.remaining > 0 and not self._enough(study):
            study.optimize(
                objective,
                timeout=max(deadline.remaining, 0.0),
                callbacks=[stop_when_out_of_time],
                catch=(ValueError, ArithmeticError),
                gc_after_trial=False,
            )
        return partial

    def _spare(self, trial: optuna.Trial, started: float, search_seconds: float) -> float:
        """Extra seconds for ``trial`` at its cap: the time its remaining folds are expected to take, when its
        finished folds score better than every complete trial and all its folds fit in :data:`SPARE_SHARE` of the
        search (``search_seconds``); else 0. Expected from its finished folds, the fold under way counted as not
        begun (an over-estimate)."""
        mine = [t for t in trial.study.get_trials(deepcopy=False) if t.number == trial.number]
        steps = mine[0].intermediate_values if mine else {}
        try:
            best = trial.study.best_value  # over complete trials, in the study's (the metric's) direction
        except ValueError:  # no complete trial yet: nothing to lead
            return 0.0
        if not steps or not self.codec.metric.better(steps[max(steps)], best):
            return 0.0
        elapsed = time.monotonic() - started
        expected = elapsed * len(self.folds) / len(steps)
        if expected > SPARE_SHARE * search_seconds:
            return 0.0
        return 1.1 * expected - elapsed

    def _enough(self, study: optuna.Study) -> bool:
        return (
            self.max_trials is not None and len(study.get_trials(deepcopy=False, states=_FINISHED)) >= self.max_trials
        )


class TrialWorkers:
    """Where a study's trials run. This base class runs them all in the calling process.

    Invariants every implementation keeps:

    * the calling process always runs trials itself, so a search makes progress even when no helper ever
      starts (a busy or shrinking cluster never deadlocks a run);
    * helpers share the study only through ``storage`` (an Optuna storage URL every helper can reach), so
      with ``storage=None`` there are no helpers;
    * :meth:`collect` returns by the deadline (plus a grace) whatever happens to helpers: one that failed
      or was lost with its node is dropped, one still running is cancelled; their trials left RUNNING in the
      study are then marked FAIL by :func:`search`.

    Args:
        storage: Optuna storage URL of the studies (None: in memory, no helpers).
        study_prefix: prefix of study names (a run id and attempt), so a run's studies can be found.
    """

    def __init__(self, storage: str | None = None, study_prefix: str | None = None) -> None:
        self.storage = storage
        self.study_prefix = study_prefix

    def study_name(self) -> str | None:
        """A new study's name (one per search call); None lets Optuna choose (in memory)."""
        if self.storage is None and self.study_prefix is None:
            return None
        return f"{self.study_prefix or 'agentk'}-{uuid.uuid4().hex[:8]}"

    def place(self) -> dict[str, str]:
        """Where the calling process runs, as trial user attributes."""
        return {"host": socket.gethostname(), "pid": str(os.getpid())}

    def prepare(self) -> None:
        """Called once when the run starts, before its first search: a chance to get helpers ready early."""

    def start(self, work: SearchWork, study_name: str, sampler: str, seed: int, ends_at: float) -> Any:
        """Start helpers on ``study_name`` until the wall-clock time ``ends_at``; returns a handle for collect."""
        return None

    def collect(self, handle: Any, ends_at: float, poll: Callable[[], None]) -> list[SearchPartial]:
        """Wait for the helpers (calling ``poll`` now and then) and return what each found."""
        return []


_WORKERS: ContextVar[TrialWorkers | None] = ContextVar("agentk_trial_workers", default=None)


@contextmanager
def use_trial_workers(workers: TrialWorkers) -> Iterator[TrialWorkers]:
    """Make :func:`search` calls in this context run their trials with ``workers`` (set by run executors)."""
    token = _WORKERS.set(workers)
    try:
        yield workers
    finally:
        _WORKERS.reset(token)


def current_trial_workers() -> TrialWorkers | None:
    return _WORKERS.get()


def search(
    train: pd.DataFrame,
    test: pd.DataFrame,
    y: Target,
    codec: TargetCodec,
    folds: list[tuple[np.ndarray, np.ndarray]],
    deadline: Deadline,
    *,
    models: list[str],
    sampler: str = "tpe",
    seed: int = 0,
    n_jobs: int = 1,
    device: str = "cpu",
    keep: int = 8,
    max_trials: int | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    warm_start: list[dict[str, Any]] | None = None,
    on_trial: Callable[[CVResult | None, optuna.trial.FrozenTrial], None] | None = None,
    workers: TrialWorkers | None = None,
) -> SearchResult:
    """Search until the deadline (or ``max_trials``); see the module docstring.

    ``warm_start`` trial parameters (e.g. recalled from memory) are tried first, as trials 0, 1, ...
    ``workers`` (default: the context's, see :func:`use_trial_workers`) decides where trials run; an explicit
    ``storage`` or ``study_name`` wins over theirs. ``on_trial`` sees every finished trial once, in number order.
    """
    for name in models:
        get_model(name)  # unknown names fail before any work
    start = time.monotonic()
    workers = workers or current_trial_workers() or TrialWorkers()
    direction = (
        optuna.study.StudyDirection.MAXIMIZE if codec.metric.higher_is_better else optuna.study.StudyDirection.MINIMIZE
    )
    logging.getLogger("optuna").setLevel(logging.WARNING)
    url = storage or workers.storage
    rdb = open_storage(url)
    study = optuna.create_study(
        direction=direction,
        sampler=make_sampler(sampler, seed),
        pruner=make_pruner(),
        storage=rdb,
        study_name=study_name or workers.study_name(),
        load_if_exists=rdb is not None,
    )
    with warnings.catch_warnings():  # parameters outside this run's space are re-sampled; Optuna warns why
        warnings.simplefilter("ignore", UserWarning)
        for params in warm_start or []:
            study.enqueue_trial(params, skip_if_exists=True)
    work = SearchWork(train, test, y, codec, folds, models, n_jobs, device, seed, keep, max_trials)
    reporter = _Reporter(study, on_trial)
    ends_at = time.time() + deadline.remaining
    shared = rdb is not None and url == workers.storage  # helpers reach only the workers' own storage
    handle = workers.start(work, study.study_name, sampler, seed, ends_at) if shared else None
    partials = [SearchPartial()]
    work.optimize(
        study, deadline, place=workers.place(), on_finished=lambda: reporter.report(partials), partial=partials[0]
    )
    if handle is not None:
        partials += workers.collect(handle, ends_at, lambda: reporter.report(partials))
        _fail_orphans(study, rdb)
    reporter.report(partials)
    result = SearchResult(seconds=0.0)
    for partial in partials:
        for cv in partial.pool:
            _keep(result.pool, cv, codec, keep)
        result.pruned += partial.pruned
        result.skipped += partial.skipped
    finished = study.get_trials(deepcopy=False, states=_FINISHED)
    result.values = {t.number: t.value for t in finished}
    result.trials = len(finished)
    result.failed = sum(t.state is optuna.trial.TrialState.FAIL for t in finished)
    result.seconds = time.monotonic() - start
    if rdb is not None:
        rdb.remove_session()
        rdb.engine.dispose()
    return result


class _Reporter:
    """Calls ``on_trial`` once per finished trial of the study, in number order, whoever ran it.

    A trial is reported once it and every trial numbered before it have finished.
    """

    def __init__(
        self, study: optuna.Study, on_trial: Callable[[CVResult | None, optuna.trial.FrozenTrial], None] | None
    ) -> None:
        self.study, self.on_trial = study, on_trial
        self.reported: set[int] = set()

    def report(self, partials: list[SearchPartial]) -> None:
        if self.on_trial is None:
            return
        for trial in sorted(self.study.get_trials(deepcopy=False), key=lambda t: t.number):
            if trial.state is optuna.trial.TrialState.RUNNING:
                break  # a trial still running elsewhere: the ones after it wait, so numbers stay in order
            if trial.number in self.reported or not trial.state.is_finished():  # WAITING: enqueued, never run
                continue
            self.reported.add(trial.number)
            suffix = f"#{trial.number}"
            match = [r for p in partials for r in p.pool if r.name.endswith(suffix)]
            self.on_trial(match[0] if match else None, trial)


def _fail_orphans(study: optuna.Study, storage: optuna.storages.BaseStorage | None) -> None:
    """Every worker has returned: a trial still RUNNING belonged to a helper that was lost (with its node)."""
    if storage is None:
        return
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
        except RuntimeError:  # it finished in the meantime
            continue
        log.warning("trial %d of %s was lost with its worker; marked FAIL", trial.number, study.study_name)


class _SpaceRecorder:
    """A stand-in trial that records what a search space asks for (name -> allowed range or choices)."""

    def __init__(self) -> None:
        self.asked: dict[str, tuple[Any, ...]] = {}

    def suggest_float(self, name: str, low: float, high: float, **_: Any) -> float:
        self.asked[name] = (low, high)
        return low

    def suggest_int(self, name: str, low: int, high: int, **_: Any) -> int:
        self.asked[name] = (low, high)
        return low

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        self.asked[name] = ("choices", *choices)
        return choices[0]


def default_trial(model: str) -> dict[str, Any]:
    """Trial parameters giving ``model`` its default hyper-parameters, where its search space can hold them."""
    info = get_model(model)
    return _fixed_trial(model, info.defaults or dict(getattr(info.factory, "DEFAULTS", {})))


def _fixed_trial(model: str, values: dict[str, Any]) -> dict[str, Any]:
    """Trial parameters for ``model`` fixing the ``values`` its search space asks for and can hold."""
    recorder = _SpaceRecorder()
    get_model(model).search_space(recorder)
    params: dict[str, Any] = {"model": model}
    for name, allowed in recorder.asked.items():
        if name not in values:
            continue
        value = values[name]
        inside = value in allowed[1:] if allowed[0] == "choices" else allowed[0] <= value <= allowed[1]
        if inside:
            params[name] = value
    return params


def portfolio_trials(models: list[str], features: dict[str, Any], *, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` trials from the families' portfolios (:attr:`ModelInfo.portfolio`), round-robin in the
    order of ``models`` (each family's first configuration, then each one's second, ...), each with the feature
    choices ``features`` (``fe_*`` parameters; the sampler draws the others).

    A short search runs few trials, and a sampler's first draws are random (TPE's start-up): in a 10-minute run
    on 2 cores that is most of a search. Known-strong configurations in their place give every family a fair
    first trial and the ensemble diverse, good members; the sampler models what they scored once they are done.
    """
    queues = [[_fixed_trial(m, config) for config in get_model(m).portfolio] for m in models]
    trials: list[dict[str, Any]] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        trials += [{**q[depth], **features} for q in queues if depth < len(q)]
    return trials[:limit]


def _keep(pool: list[CVResult], cv: CVResult, codec: TargetCodec, keep: int) -> None:
    pool.append(cv)
    better_first = sorted(pool, key=lambda r: r.cv_score, reverse=codec.metric.higher_is_better)
    pool[:] = better_first[:keep]
