"""The action registry: built-in actions, extension by tools, validation, and the decision schema."""

from __future__ import annotations

import jsonschema
import pytest
from pydantic import ValidationError

from agentk.agent.actions import (
    ACTIONS,
    ActionArgs,
    ActionSpec,
    TrainModelArgs,
    UnknownActionError,
    actions_for,
    decision_schema,
    describe_actions,
    parse_action,
    register_action,
    zoo_names,
)

BUILT_IN = {
    "profile", "infer_task", "engineer_features", "train_model", "tune", "ensemble",
    "distil", "run_code", "predict", "finalise", "stop",
}  # fmt: skip


def test_built_in_actions_are_registered() -> None:
    assert set(ACTIONS) >= BUILT_IN
    assert set(actions_for("setup")) == {"profile", "infer_task", "run_code", "stop"}
    assert {"predict", "finalise", "stop"} <= set(actions_for("finalise"))
    assert "train_model" not in actions_for("finalise")


def test_arguments_are_validated() -> None:
    assert parse_action("train_model", {"model": "lightgbm", "params": {"num_leaves": 31}}) == TrainModelArgs(
        model="lightgbm", params={"num_leaves": 31}
    )
    assert parse_action("tune", {"models": ["linear"]}).trials == 20  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="unknown model"):
        parse_action("train_model", {"model": "deep-magic"})
    with pytest.raises(ValidationError):
        parse_action("tune", {"models": []})
    with pytest.raises(ValidationError, match="Extra inputs"):
        parse_action("profile", {"verbose": True})
    with pytest.raises(UnknownActionError):
        parse_action("launch", {})


def test_tools_can_register_actions() -> None:
    class SelectFeaturesArgs(ActionArgs):
        """Keep the k most useful features."""

        k: int

    spec = ActionSpec("select_features", SelectFeaturesArgs, "keep the k best features", "optimise")
    try:
        register_action(spec)
        assert parse_action("select_features", {"k": 5}) == SelectFeaturesArgs(k=5)
        assert "select_features(k: int): keep the k best features" in describe_actions()
        assert "select_features" in decision_schema()["properties"]["action"]["enum"]
        with pytest.raises(ValueError, match="already registered"):
            register_action(spec)
        register_action(spec, replace=True)
    finally:
        ACTIONS.pop("select_features", None)
    with pytest.raises(ValueError, match="identifiers"):
        register_action(ActionSpec("not a name", SelectFeaturesArgs, "x"))


def test_decision_schema_accepts_valid_and_rejects_invalid_decisions() -> None:
    schema = decision_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    ok = {"rationale": "tune", "action": "tune", "args": {"models": ["lightgbm", "linear"], "trials": 10}}
    validator.validate(ok)
    assert schema["properties"]["action"]["enum"][0] == "profile"
    train = next(m for m in schema["properties"]["args"]["anyOf"] if m["title"] == "train_model args")
    assert train["properties"]["model"]["enum"] == zoo_names()
    # The schema keeps the shape; which args member goes with which action is parse_action's job.
    for bad in (
        {"rationale": "x", "action": "fly", "args": {}},
        {"rationale": "x", "action": "train_model", "args": {"model": "deep-magic", "params": {}}},
        {"action": "stop", "args": {}},
        {"rationale": "x", "action": "stop", "args": {}, "extra": 1},
    ):
        assert not validator.is_valid(bad), bad


def test_schema_of_a_subset() -> None:
    subset = actions_for("finalise")
    schema = decision_schema(subset)
    assert schema["properties"]["action"]["enum"] == list(subset)
    assert len(schema["properties"]["args"]["anyOf"]) == len(subset)
