"""The offline policy: a full plan without a model, budget cut-offs, and the UCB bandit over families."""

from __future__ import annotations

import math
from typing import Any

from agentk.agent.actions import ACTIONS, actions_for
from agentk.agent.reasoners import FamilyBandit, PolicyReasoner, priors_from_memories, run_rewards
from agentk.agent.reasoners.policy import hopeless

TASK = {"task_type": "binary", "metric": "auc", "higher_is_better": True, "n_rows": 500, "columns": {"numeric": 3}}


def _run(
    policy: PolicyReasoner, memories: list[dict[str, Any]], scores: dict[str, float], left_after_tune: float = 30.0
) -> list[Any]:
    """Drive the policy as the loop would, feeding back a CV score per trained family; a search leaves
    ``left_after_tune`` seconds."""
    state: dict[str, Any] = {
        "phase": "setup",
        "task": TASK,
        "candidates": ["lightgbm", "linear", "catboost", "xgboost"],
        "history": [],
        "results": [],
        "budget": {"seconds_left": 600, "steps_left": 20},
    }
    decisions = []
    for _ in range(12):
        d = policy.decide(state, memories, ACTIONS)
        decisions.append(d)
        assert d.source == "policy" and d.rationale
        state["history"].append({"action": d.action, "args": d.args.model_dump()})
        if d.action == "train_model":
            state["phase"] = "optimise"
            state["results"].append({"model": d.args.model, "cv_score": scores[d.args.model], "seconds": 2.0})  # type: ignore[attr-defined]
        if d.action == "tune":
            for family in d.args.models:  # type: ignore[attr-defined]
                state["results"].append({"model": family, "cv_score": scores[family] + 0.01, "seconds": 5.0})
            state["budget"]["seconds_left"] = left_after_tune
        if d.action == "finalise":
            state["phase"] = "finalise"
        if d.action == "stop":
            break
    return decisions


def test_default_plan_runs_a_whole_competition() -> None:
    decisions = _run(
        PolicyReasoner(tune_families=2), [], {"lightgbm": 0.9, "linear": 0.8, "catboost": 0.85, "xgboost": 0.88}
    )
    names = [d.action for d in decisions]
    assert names == ["profile", "infer_task", "train_model", "train_model", "tune", "ensemble", "finalise", "stop"]
    assert [d.args.model for d in decisions[2:4]] == ["lightgbm", "linear"]
    tune = decisions[4].args
    # Unseen families (UCB = inf) are explored before the baselines, then the better baseline.
    assert tune.models == ["catboost", "xgboost"]
    assert 3 <= tune.trials <= 500


def test_a_search_that_ends_early_is_followed_by_another() -> None:
    scores = {"lightgbm": 0.9, "linear": 0.8, "catboost": 0.85, "xgboost": 0.88}
    names = [d.action for d in _run(PolicyReasoner(max_tunes=3), [], scores, left_after_tune=300.0)]
    assert names.count("tune") == 3  # 300 s left each time: search again, up to max_tunes
    assert names[-3:] == ["ensemble", "finalise", "stop"]
    names = [d.action for d in _run(PolicyReasoner(), [], scores, left_after_tune=99.0)]
    assert names.count("tune") == 1  # under 2 x min_seconds_to_tune + the ensemble's reserve: no second search


def test_a_refused_search_is_not_asked_for_again() -> None:
    policy = PolicyReasoner()
    state = {
        "phase": "optimise",
        "task": TASK,
        "candidates": ["lightgbm", "linear"],
        "history": [
            {"action": "profile"},
            {"action": "infer_task"},
            {"action": "train_model", "args": {"model": "lightgbm"}},
            {"action": "train_model", "args": {"model": "linear"}},
            {"action": "tune", "ok": True},
            {"action": "tune", "ok": False, "observation": "tune: too little time left to search"},
        ],
        "results": [{"model": "lightgbm", "cv_score": 0.9, "seconds": 2.0}, {"model": "linear", "cv_score": 0.8}],
        "budget": {"seconds_left": 400, "steps_left": 20},
    }
    assert policy.decide(state, [], ACTIONS).action == "ensemble"


def test_memory_priors_steer_the_bandit() -> None:
    memories = [
        {"kind": "reward", "task_type": "binary", "family": f, "reward": r}
        for f, r in [("catboost", 0.1), ("catboost", 0.2), ("xgboost", 0.9), ("xgboost", 1.0)]
    ] + [
        {"kind": "reward", "task_type": "regression", "family": "linear", "reward": 1.0},
        {"kind": "note", "text": "x"},
    ]
    policy = PolicyReasoner(tune_families=2)
    decisions = _run(policy, memories, {"lightgbm": 0.9, "linear": 0.8, "catboost": 0.85, "xgboost": 0.88})
    tune = next(d for d in decisions if d.action == "tune")
    # Without memories catboost (unseen) would come first; its poor prior rewards push it out.
    assert tune.args.models == ["lightgbm", "xgboost"]


def test_priors_hook_is_used() -> None:
    policy = PolicyReasoner(priors=lambda task_type: {"linear": [1.0] * 5, "lightgbm": [0.0] * 5})
    state = {"task": TASK, "candidates": ["lightgbm", "linear"], "results": []}
    assert policy.rank_families(state, []) == ["linear", "lightgbm"]


def test_low_budget_goes_straight_to_finalise() -> None:
    policy = PolicyReasoner()
    state = {
        "phase": "optimise",
        "task": TASK,
        "history": [{"action": "profile"}, {"action": "infer_task"}],
        "results": [{"model": "lightgbm", "cv_score": 0.9, "seconds": 3}],
        "budget": {"seconds_left": 5},
    }
    assert policy.decide(state, [], ACTIONS).action == "finalise"
    assert policy.decide({**state, "budget": {"steps_left": 1}}, [], ACTIONS).action == "finalise"
    state["budget"] = {"seconds_left": 15}  # too little to tune, enough for the other baseline
    assert policy.decide(state, [], ACTIONS).action == "train_model"


def test_respects_the_offered_actions_and_phase() -> None:
    policy = PolicyReasoner()
    state = {"phase": "finalise", "task": TASK, "results": [{"model": "linear", "cv_score": 0.7}]}
    assert policy.decide(state, [], actions_for("finalise")).action == "finalise"
    only_stop = {"stop": ACTIONS["stop"]}
    assert policy.decide({"task": TASK}, [], only_stop).action == "stop"


def test_bandit_ucb() -> None:
    bandit = FamilyBandit(c=1.0)
    bandit.add("a", 1.0)
    bandit.add("a", 0.0)
    bandit.add("b", 0.4)
    scores = bandit.scores(["a", "b", "c"])
    assert scores["c"] == math.inf
    assert math.isclose(scores["a"], 0.5 + math.sqrt(math.log(3) / 2))
    assert math.isclose(scores["b"], 0.4 + math.sqrt(math.log(3) / 1))
    assert bandit.rank(["a", "b", "c"]) == ["c", "b", "a"]


def test_run_rewards_and_priors() -> None:
    results = [
        {"model": "a", "cv_score": 0.5},
        {"model": "a", "cv_score": 0.7},
        {"model": "b", "cv_score": 0.6},
        {"model": "c", "cv_score": 0.9, "complete": False},
    ]
    assert run_rewards(results, higher_is_better=True) == {"a": 1.0, "b": 0.0}
    assert run_rewards(results, higher_is_better=False) == {"a": 1.0, "b": 0.0}  # a's best is 0.5 there
    assert run_rewards([], True) == {}
    mem = [{"kind": "reward", "family": "a", "reward": 0.3, "task_type": "binary"}]
    assert priors_from_memories(mem, "binary") == {"a": [0.3]}
    assert priors_from_memories(mem, "regression") == {}


def test_intrinsic_templates() -> None:
    policy = PolicyReasoner()
    assert policy.summarise_task({"task": TASK}).startswith("binary task, metric auc (higher is better), 500")
    state = {"task": TASK, "results": [{"model": "linear", "cv_score": 0.7}, {"model": "lightgbm", "cv_score": 0.8}]}
    assert "Best so far: lightgbm CV 0.80000" in policy.reflect(state, "done")
    assert policy.plan({"task": TASK}, []).startswith("profile:")


def test_families_far_behind_are_left_out_of_the_search() -> None:
    scores = {"lightgbm": 0.91, "linear": 0.85, "catboost": 0.85, "xgboost": 0.88}
    tune = next(d for d in _run(PolicyReasoner(tune_families=4), [], scores) if d.action == "tune")
    assert "linear" not in tune.args.models  # 6.6 % behind lightgbm's 0.91
    assert set(tune.args.models) == {"lightgbm", "catboost", "xgboost"}  # catboost not trained yet: searched
    tune = next(d for d in _run(PolicyReasoner(tune_families=4, hopeless_gap=None), [], scores) if d.action == "tune")
    assert "linear" in tune.args.models


def test_hopeless_measures_the_gap_against_the_best_score_for_either_direction() -> None:
    results = [
        {"model": "lightgbm", "cv_score": 0.556},
        {"model": "linear", "cv_score": 0.70},
        {"model": "linear", "cv_score": 0.60},  # its best counts: 7.9 % behind
        {"model": "knn", "cv_score": 0.57},  # 2.5 % behind
        {"model": "mlp", "cv_score": 0.40, "complete": False},  # cut short: not compared
    ]
    assert hopeless(results, False, 0.05) == {"linear"}
    assert hopeless(results, False, 0.10) == set()
    assert hopeless([{"model": "a", "cv_score": 0.9}, {"model": "b", "cv_score": 0.8}], True, 0.05) == {"b"}
    assert hopeless([{"model": "a", "cv_score": 0.0}, {"model": "b", "cv_score": 1.0}], False, 0.05) == set()
