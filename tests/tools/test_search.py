"""The Optuna search: finds a good configuration, respects trial limits and the deadline, reports trials."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.errors import UserInputError
from agentk.tools import Deadline, TargetCodec, make_folds
from agentk.tools.search import (
    SearchPartial,
    SearchWork,
    TrialClock,
    TrialDeadline,
    TrialWorkers,
    current_trial_workers,
    default_trial,
    make_sampler,
    open_storage,
    portfolio_trials,
    search,
    use_trial_workers,
)

RNG = np.random.default_rng(11)


def _task() -> tuple[pd.DataFrame, pd.Series, TargetCodec, list[tuple[np.ndarray, np.ndarray]]]:
    n = 400
    frame = pd.DataFrame({"a": RNG.normal(size=n), "b": RNG.normal(size=n), "c": RNG.choice(list("xyz"), n)})
    y = pd.Series((frame["a"] + (frame["c"] == "x") > 0.2).astype(int))
    spec = TaskSpec(
        TaskType.BINARY,
        "id",
        ("y",),
        ("y",),
        (0, 1),
        {"a": Modality.NUMERIC, "b": Modality.NUMERIC, "c": Modality.CATEGORICAL},
        "auc",
        True,
    )
    codec = TargetCodec.for_task(spec, y)
    return frame, y, codec, make_folds(codec.encode(y), TaskType.BINARY, 3, seed=0)


@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_search_runs_trials_and_keeps_the_best(sampler: str) -> None:
    frame, y, codec, folds = _task()
    seen: list[int] = []
    found = search(
        frame,
        frame.head(5),
        y,
        codec,
        folds,
        Deadline(120),
        models=["lightgbm", "linear"],
        sampler=sampler,
        max_trials=4,
        on_trial=lambda r, t: seen.append(t.number),
    )
    assert found.trials == 4 and seen == [0, 1, 2, 3]
    assert found.best is not None and found.best.cv_score > 0.85
    scores = [r.cv_score for r in found.pool]
    assert scores == sorted(scores, reverse=True)
    assert {"model", "features"} <= set(found.best.params)


def test_search_stops_at_the_deadline() -> None:
    frame, y, codec, folds = _task()
    start = time.monotonic()
    found = search(frame, frame.head(5), y, codec, folds, Deadline(3), models=["lightgbm", "linear"])
    assert time.monotonic() - start < 30  # one trial may finish after the deadline, not a whole search
    assert found.trials >= 1


def test_unknown_model_or_sampler_fails_before_work() -> None:
    frame, y, codec, folds = _task()
    with pytest.raises(UserInputError, match="unknown model"):
        search(frame, frame, y, codec, folds, Deadline(10), models=["nope"])
    with pytest.raises(UserInputError, match="unknown sampler"):
        search(frame, frame, y, codec, folds, Deadline(10), models=["linear"], sampler="anneal")


# -- trials spread over workers sharing an Optuna RDB storage ------------------------------------------------


class _ThreadHelpers(TrialWorkers):
    """Helpers as threads of this process, each with its own connection to the shared SQLite storage."""

    def start(self, work: SearchWork, study_name: str, sampler: str, seed: int, ends_at: float) -> Any:
        found: list[SearchPartial] = []

        def helper(i: int) -> None:
            storage = open_storage(self.storage, create_tables=False)
            assert storage is not None
            study = optuna.load_study(study_name=study_name, storage=storage, sampler=make_sampler(sampler, seed + i))
            found.append(work.optimize(study, Deadline(ends_at - time.time()), place={"helper": str(i)}))
            storage.engine.dispose()

        threads = [threading.Thread(target=helper, args=(i,)) for i in (1, 2)]
        for t in threads:
            t.start()
        return threads, found

    def collect(self, handle: Any, ends_at: float, poll: Callable[[], None]) -> list[SearchPartial]:
        threads, found = handle
        for t in threads:
            t.join()
        poll()
        return list(found)


class _LostHelper(TrialWorkers):
    """A helper that took a trial and vanished with its node (the trial stays RUNNING in the storage)."""

    def start(self, work: SearchWork, study_name: str, sampler: str, seed: int, ends_at: float) -> Any:
        storage = open_storage(self.storage, create_tables=False)
        assert storage is not None
        optuna.load_study(study_name=study_name, storage=storage).ask()
        storage.engine.dispose()
        return "lost"

    def collect(self, handle: Any, ends_at: float, poll: Callable[[], None]) -> list[SearchPartial]:
        return []


def test_helpers_share_the_study_and_every_trial_is_reported_once_in_order(tmp_path: Path) -> None:
    frame, y, codec, folds = _task()
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    open_storage(storage)  # the executor's job: tables exist before helpers open the storage
    seen: list[int] = []
    workers = _ThreadHelpers(storage, "run-a1")
    with use_trial_workers(workers):
        found = search(
            frame,
            frame.head(5),
            y,
            codec,
            folds,
            Deadline(120),
            models=["linear"],
            max_trials=6,
            on_trial=lambda r, t: seen.append(t.number),
        )
    assert 6 <= found.trials <= 8  # each worker checks the study-wide count after its own trial
    assert seen == list(range(found.trials))
    (name,) = optuna.get_all_study_names(storage)
    assert name.startswith("run-a1-")
    trials = optuna.load_study(study_name=name, storage=storage).trials
    places = {t.user_attrs.get("helper", "caller") for t in trials}
    assert "caller" in places and places & {"1", "2"}  # the caller and at least one helper ran trials
    assert found.best is not None and found.best.name in {f"linear#{t.number}" for t in trials}


def test_a_lost_helpers_trial_is_marked_failed(tmp_path: Path) -> None:
    frame, y, codec, folds = _task()
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    open_storage(storage)
    found = search(
        frame, frame.head(5), y, codec, folds, Deadline(60), models=["linear"], max_trials=2,
        workers=_LostHelper(storage, "run-a1"),
    )  # fmt: skip
    assert found.failed == 1 and found.best is not None
    (name,) = optuna.get_all_study_names(storage)
    states = [t.state for t in optuna.load_study(study_name=name, storage=storage).trials]
    assert optuna.trial.TrialState.RUNNING not in states and optuna.trial.TrialState.FAIL in states


def test_without_context_the_search_keeps_its_study_in_memory() -> None:
    assert current_trial_workers() is None
    assert TrialWorkers().study_name() is None and TrialWorkers(None, "p").study_name() is not None


def test_trial_clock_expects_the_median_per_family() -> None:
    clock = TrialClock()
    assert clock.expected("xgboost") is None and clock.cheapest(["xgboost"]) == 0.0
    assert clock.fits("xgboost", 0.0)  # unknown cost: worth a try
    for seconds in (100.0, 120.0, 300.0):
        clock.add("xgboost", seconds)
    clock.add("linear", 2.0)
    assert clock.expected("xgboost") == 120.0 and clock.cheapest(["xgboost", "linear"]) == 2.0
    assert clock.cheapest(["xgboost", "linear", "knn"]) == 0.0  # knn not tried yet
    assert not clock.fits("xgboost", 100.0) and clock.fits("xgboost", 140.0) and clock.fits("linear", 3.0)


def test_trial_clock_counts_capped_trials_only_until_one_completes() -> None:
    clock = TrialClock()
    clock.add("catboost", 220.0, capped=True)  # a slow configuration, cut at the cap
    assert clock.expected("catboost") == 220.0 and not clock.fits("catboost", 133.0)
    clock.add("catboost", 97.0)  # a complete trial: the family can finish inside the cap
    assert clock.expected("catboost") == 97.0 and clock.fits("catboost", 133.0)
    clock.add("catboost", 260.0, capped=True)
    assert clock.expected("catboost") == 97.0


def test_one_slow_family_does_not_end_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow first trial (lightgbm, made to take 7.5 s of 15) leaves time for fast ones: the search goes on."""
    import agentk.tools.search as search_module

    real = search_module.cross_validate

    def slow_lightgbm(model: str, *args: Any, **kwargs: Any) -> Any:
        if model == "lightgbm":
            time.sleep(7.5)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(search_module, "cross_validate", slow_lightgbm)
    frame, y, codec, folds = _task()
    models: list[str] = []
    start = time.monotonic()
    found = search(
        frame,
        frame.head(5),
        y,
        codec,
        folds,
        Deadline(15),
        models=["lightgbm", "linear"],
        warm_start=[{"model": "lightgbm"}],
        on_trial=lambda r, t: models.append(str(t.params.get("model"))),
    )
    assert models[0] == "lightgbm"
    assert models[1:].count("linear") >= 2, models  # before, the search stopped after the slow trial
    assert time.monotonic() - start < 30
    assert found.skipped == sum(1 for m in models[1:] if m == "lightgbm")  # slow ones near the end were skipped


def test_default_trial_fixes_the_defaults_the_space_can_hold() -> None:
    from agentk.tools.zoo.lightgbm import DEFAULTS

    params = default_trial("lightgbm")
    assert params["model"] == "lightgbm"
    names = ["learning_rate", "num_leaves", "min_child_samples", "feature_fraction", "bagging_fraction"]
    names += ["lambda_l2", "cat_smooth"]
    assert {k: v for k, v in params.items() if k != "model"} == {k: DEFAULTS[k] for k in names}
    study = optuna.create_study()
    study.enqueue_trial(params)
    trial = study.ask()
    assert trial.suggest_categorical("model", ["lightgbm", "linear"]) == "lightgbm"
    from agentk.tools.zoo import get_model

    assert get_model("lightgbm").search_space(trial) == {k: v for k, v in params.items() if k != "model"}


def test_portfolio_trials_go_round_robin_and_each_fits_its_family_space() -> None:
    from agentk.tools.zoo import get_model

    features = {"fe_missing": False, "fe_log": False}
    trials = portfolio_trials(["xgboost", "lightgbm", "catboost", "linear"], features, limit=10)
    # each family's first configuration, then each one's second (linear has none)
    assert [t["model"] for t in trials] == ["xgboost", "lightgbm", "catboost", "xgboost", "lightgbm"]
    assert all(t["fe_missing"] is False and t["fe_log"] is False for t in trials)
    assert [t["model"] for t in portfolio_trials(["lightgbm", "xgboost"], features, limit=3)] == [
        "lightgbm",
        "xgboost",
        "lightgbm",
    ]
    for params in trials:
        study = optuna.create_study()
        study.enqueue_trial(params)
        trial = study.ask()
        model = trial.suggest_categorical("model", ["xgboost", "lightgbm", "catboost"])
        asked = get_model(model).search_space(trial)
        # every hyper-parameter the space asks for is fixed by the configuration, none drawn at random
        assert asked == {k: v for k, v in params.items() if k in asked}
        assert set(asked) == {k for k in params if k != "model" and not k.startswith("fe_")}


def _lightgbm_running_until_its_deadline(search_module: Any, most: float) -> Callable[..., Any]:
    """``cross_validate`` whose lightgbm first waits for its deadline (at most ``most`` seconds), then runs."""
    real = search_module.cross_validate

    def wrapped(model: str, *args: Any, **kwargs: Any) -> Any:
        if model == "lightgbm":
            deadline = args[5]  # (train, test, y, codec, folds, deadline)
            stop = time.monotonic() + most
            while not deadline.expired and time.monotonic() < stop:
                time.sleep(0.05)
        return real(model, *args, **kwargs)

    return wrapped


def test_no_trial_takes_more_than_its_share_of_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trial that would run on (lightgbm, made to take until its deadline) is cut at a quarter of the
    search's time, pruned as ``capped``, and its family is not tried again while that cost would not fit."""
    import agentk.tools.search as search_module

    monkeypatch.setattr(search_module, "cross_validate", _lightgbm_running_until_its_deadline(search_module, 30))
    frame, y, codec, folds = _task()
    seen: list[tuple[str, float, dict[str, Any]]] = []
    start = time.monotonic()
    search(
        frame,
        frame.head(5),
        y,
        codec,
        folds,
        Deadline(12),
        models=["lightgbm", "linear"],
        warm_start=[{"model": "lightgbm"}],
        on_trial=lambda r, t: seen.append((str(t.params.get("model")), t.duration.total_seconds(), t.user_attrs)),
    )
    first_model, first_seconds, first_attrs = seen[0]
    assert first_model == "lightgbm" and "capped" in first_attrs
    assert 2.5 <= first_seconds <= 5.0  # 25 % of 12 s, not the 12 s the deadline would have allowed
    assert [m for m, _, attrs in seen[1:] if m == "linear" and "capped" not in attrs], seen
    assert time.monotonic() - start < 20


def test_a_family_capped_once_is_not_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A capped trial that finished all folds but one (2 of 3) makes its family's estimate 1.5 caps: there is time
    left for that, but not under the cap, so the family is skipped rather than capped again."""
    import agentk.tools.search as search_module
    from agentk.tools.cv import CVResult

    real = search_module.cross_validate

    def four_of_five_folds(model: str, *args: Any, **kwargs: Any) -> Any:
        if model != "lightgbm":
            return real(model, *args, **kwargs)
        deadline = args[5]
        while not deadline.expired:
            time.sleep(0.02)
        n = len(args[0])
        done = [0.5] * (len(args[4]) - 1)  # all folds but one
        return CVResult("lightgbm", np.zeros(n), np.zeros(5), 0.5, 0.0, complete=False, fold_scores=done)

    monkeypatch.setattr(search_module, "cross_validate", four_of_five_folds)
    frame, y, codec, folds = _task()
    seen: list[tuple[str, dict[str, Any]]] = []
    search(
        frame,
        frame.head(5),
        y,
        codec,
        folds,
        Deadline(16),
        models=["lightgbm", "linear"],
        warm_start=[{"model": "lightgbm"}, {"model": "lightgbm"}],
        on_trial=lambda r, t: seen.append((str(t.params.get("model")), t.user_attrs)),
    )
    lightgbm = [attrs for m, attrs in seen if m == "lightgbm"]
    assert "capped" in lightgbm[0]
    assert len(lightgbm) >= 2 and all("skipped" in attrs for attrs in lightgbm[1:]), seen


def test_a_warm_up_familys_first_trial_is_not_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sentence-embedding models fill a shared cache on their first fit: that trial may use the search's time."""
    import dataclasses

    import agentk.tools.search as search_module
    from agentk.tools.zoo import get_model

    monkeypatch.setattr(search_module, "cross_validate", _lightgbm_running_until_its_deadline(search_module, 5))
    monkeypatch.setattr(
        search_module,
        "get_model",
        lambda name: dataclasses.replace(get_model(name), warm_up=True) if name == "lightgbm" else get_model(name),
    )
    frame, y, codec, folds = _task()
    seen: list[tuple[str, float, dict[str, Any]]] = []
    search(
        frame,
        frame.head(5),
        y,
        codec,
        folds,
        Deadline(12),
        models=["lightgbm", "linear"],
        warm_start=[{"model": "lightgbm"}],
        max_trials=2,
        on_trial=lambda r, t: seen.append((str(t.params.get("model")), t.duration.total_seconds(), t.user_attrs)),
    )
    model, seconds, attrs = seen[0]
    assert model == "lightgbm" and "capped" not in attrs and seconds >= 5.0  # over the 3-s cap, and complete


def test_a_trial_deadline_asks_once_at_its_cap_and_never_outlives_the_search() -> None:
    asked: list[int] = []

    def spare() -> float:
        asked.append(1)
        return 100.0

    outer = Deadline(0.6)
    deadline = TrialDeadline(0.2, outer, spare)
    assert not deadline.expired and asked == []
    time.sleep(0.25)
    assert not deadline.expired and asked == [1] and deadline.spared == 100.0
    assert deadline.remaining < 0.4  # 100 s granted, the search's 0.35 s left
    time.sleep(0.4)
    assert deadline.expired and asked == [1]
    refused = TrialDeadline(0.05, Deadline(5), lambda: 0.0)
    time.sleep(0.1)
    assert refused.expired and refused.spared == 0.0


def _folds_taking(search_module: Any, seconds_per_fold: float, running_score: float) -> Callable[..., Any]:
    """lightgbm made to take ``seconds_per_fold`` a fold, reporting ``running_score`` after each (stops at its
    deadline between folds); linear completes at once with CV 0.6."""
    from agentk.tools.cv import CVResult

    def fake(model: str, *args: Any, **kwargs: Any) -> Any:
        n = len(args[0])
        if model != "lightgbm":
            return CVResult(model, np.zeros(n), np.zeros(5), 0.6, 0.0, complete=True, fold_scores=[0.6] * 3)
        folds, deadline, trial = args[4], args[5], kwargs["trial"]
        done: list[float] = []
        for k in range(len(folds)):
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds_per_fold:
                if deadline.expired:
                    break
                time.sleep(0.02)
            if deadline.expired:
                break
            done.append(running_score)
            trial.report(running_score, k)
        complete = len(done) == len(folds)
        return CVResult("lightgbm", np.zeros(n), np.zeros(5), running_score, 0.0, complete=complete, fold_scores=done)

    return fake


@pytest.mark.parametrize(("running_score", "spared"), [(0.9, True), (0.3, False)])
def test_a_trial_leading_the_search_at_its_cap_may_finish(
    monkeypatch: pytest.MonkeyPatch, running_score: float, spared: bool
) -> None:
    """A lightgbm trial needs 3 folds x 1.6 s against a 4-s cap (a quarter of 16 s): scoring better on its two
    finished folds than the complete linear trial (0.6), it is given the time its last fold needs (all folds fit in
    half the search) and completes; scoring worse, it is capped as before."""
    import agentk.tools.search as search_module

    monkeypatch.setattr(search_module, "cross_validate", _folds_taking(search_module, 1.6, running_score))
    frame, y, codec, folds = _task()
    seen: list[tuple[str, Any, dict[str, Any]]] = []
    search(
        frame,
        frame.head(5),
        y,
        codec,
        folds,
        Deadline(16),
        models=["lightgbm", "linear"],
        warm_start=[{"model": "linear"}, {"model": "lightgbm"}],
        max_trials=2,
        on_trial=lambda r, t: seen.append((str(t.params.get("model")), t.state, t.user_attrs)),
    )
    assert seen[0][0] == "linear" and seen[0][1] is optuna.trial.TrialState.COMPLETE
    model, state, attrs = seen[1]
    assert model == "lightgbm"
    if spared:
        assert state is optuna.trial.TrialState.COMPLETE and "spared" in attrs and "capped" not in attrs, seen
    else:
        assert state is optuna.trial.TrialState.PRUNED and "capped" in attrs and "spared" not in attrs, seen
