"""Bayesian optimisation over models, their hyper-parameters and feature engineering, with Optuna.

One study searches jointly: the model family (a categorical choice among the zoo entries that fit the task),
that model's own search space (conditional parameters; TPE models them, the GP sampler falls back to
independent sampling for them), and :func:`~agentk.tools.engineering.search_features` choices. Each trial
cross-validates fold by fold and reports the running score, so the pruner stops poor trials early. The search
stops before the deadline when the next trial would not fit, and keeps the best complete results (with their
out-of-fold and test predictions) for ensembling.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from agentk.tools.crossval import TrialPruned, cross_validate
from agentk.tools.cv import CVResult, Deadline
from agentk.tools.engineering import search_features
from agentk.tools.target import TargetCodec
from agentk.tools.zoo import get_model

SAMPLERS = ("tpe", "gp", "random")


@dataclass
class SearchResult:
    """The search's outcome: the best complete results (best first) and trial counts."""

    pool: list[CVResult] = field(default_factory=list)
    values: dict[int, float | None] = field(default_factory=dict)  # trial number -> CV score (None: no score)
    trials: int = 0
    pruned: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def best(self) -> CVResult | None:
        return self.pool[0] if self.pool else None


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


def search(
    train: pd.DataFrame,
    test: pd.DataFrame,
    y: pd.Series,
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
) -> SearchResult:
    """Search until the deadline (or ``max_trials``); see the module docstring.

    ``warm_start`` trial parameters (e.g. recalled from memory) are tried first, as trials 0, 1, ...
    """
    for name in models:
        get_model(name)  # unknown names fail before any work
    start = time.monotonic()
    direction = (
        optuna.study.StudyDirection.MAXIMIZE if codec.metric.higher_is_better else optuna.study.StudyDirection.MINIMIZE
    )
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    study = optuna.create_study(
        direction=direction,
        sampler=make_sampler(sampler, seed),
        pruner=pruner,
        storage=storage,
        study_name=study_name,
        load_if_exists=storage is not None,
    )
    result = SearchResult()
    durations: list[float] = []
    with warnings.catch_warnings():  # parameters outside this run's space are re-sampled; Optuna warns why
        warnings.simplefilter("ignore", UserWarning)
        for params in warm_start or []:
            study.enqueue_trial(params, skip_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        model = trial.suggest_categorical("model", models)
        params = get_model(model).search_space(trial)
        features = search_features(trial, codec.task.columns)
        t0 = time.monotonic()
        try:
            cv = cross_validate(
                model,
                train,
                test,
                y,
                codec,
                folds,
                deadline,
                params=params,
                features=features,
                n_jobs=n_jobs,
                device=device,
                seed=seed,
                trial=trial,
                keep_models=True,
                name=f"{model}#{trial.number}",
            )
        except TrialPruned:
            result.pruned += 1
            raise optuna.TrialPruned() from None
        durations.append(time.monotonic() - t0)
        if not cv.complete:  # cut by the deadline: not comparable with complete trials
            raise optuna.TrialPruned()
        cv.params["trial_params"] = dict(trial.params)
        _keep(result.pool, cv, codec, keep)
        trial.set_user_attr("seconds", cv.seconds)
        return cv.cv_score

    def stop_when_out_of_time(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        result.trials += 1
        result.values[trial.number] = trial.value
        if on_trial is not None:
            match = [r for r in result.pool if r.name.endswith(f"#{trial.number}")]
            on_trial(match[0] if match else None, trial)
        typical = float(np.median(durations)) if durations else 0.0
        if deadline.remaining < 1.2 * typical or (max_trials is not None and result.trials >= max_trials):
            study.stop()

    if deadline.remaining > 0:
        study.optimize(
            objective,
            timeout=max(deadline.remaining, 0.0),
            callbacks=[stop_when_out_of_time],
            catch=(ValueError, ArithmeticError),
            gc_after_trial=False,
        )
    result.failed = sum(t.state is optuna.trial.TrialState.FAIL for t in study.trials)
    result.seconds = time.monotonic() - start
    return result


def _keep(pool: list[CVResult], cv: CVResult, codec: TargetCodec, keep: int) -> None:
    pool.append(cv)
    better_first = sorted(pool, key=lambda r: r.cv_score, reverse=codec.metric.higher_is_better)
    pool[:] = better_first[:keep]
