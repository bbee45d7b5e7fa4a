"""The agent's action space: typed arguments per action, in a registry tools can extend.

An action is a name, a pydantic model of its arguments, a one-line description (what a reasoner reads)
and the phase it belongs to. The built-in actions are registered here; a tool adds its own with
:func:`register_action`. :func:`decision_schema` turns the registry into one JSON schema, the shape a
reasoner's structured output must take, and :func:`parse_action` validates an answer against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator

Phase = Literal["setup", "optimise", "finalise", "any"]
PHASES: tuple[str, ...] = ("setup", "optimise", "finalise")


class ActionArgs(BaseModel):
    """Base of every action's arguments: unknown fields are an error, so a garbled answer is retried."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def zoo_names() -> list[str]:
    """Names of the registered model families (imported lazily: the zoo pulls in the model libraries)."""
    from agentk.tools.zoo import MODELS

    return sorted(MODELS)


def _check_model(name: str) -> str:
    known = zoo_names()
    if name not in known:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(known)}")
    return name


def _enum_models(schema: dict[str, Any], *path: str) -> None:
    node = schema["properties"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]]["enum"] = zoo_names()


class ProfileArgs(ActionArgs):
    """Profile the data: column types, missing values, target distribution."""


class InferTaskArgs(ActionArgs):
    """Infer the task (type, target, id column, metric) and run the setup checks."""


class EngineerFeaturesArgs(ActionArgs):
    """Add engineered features: named operations of the feature tools, or code checked in the sandbox."""

    operations: list[str] = Field(default_factory=list, max_length=20, description="feature operations to apply")
    code: str | None = Field(default=None, max_length=20_000, description="Python that builds extra columns")


class TrainModelArgs(ActionArgs):
    """Cross-validate one model family with the given hyper-parameters (defaults when empty)."""

    model_config = ConfigDict(json_schema_extra=lambda s: _enum_models(s, "model"))

    model: str = Field(description="a model family of the zoo")
    params: dict[str, Any] = Field(default_factory=dict, description="hyper-parameters over the defaults")

    @field_validator("model")
    @classmethod
    def _known(cls, value: str) -> str:
        return _check_model(value)


class TuneArgs(ActionArgs):
    """Search hyper-parameters (and feature engineering) over some model families."""

    model_config = ConfigDict(json_schema_extra=lambda s: _enum_models(s, "models", "items"))

    models: list[str] = Field(min_length=1, max_length=10, description="model families to search over")
    trials: int = Field(default=20, ge=1, le=2000, description="most search trials")

    @field_validator("models")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return [_check_model(v) for v in value]


class EnsembleArgs(ActionArgs):
    """Blend the finished models; nested CV chooses between the blend methods."""

    method: Literal["auto", "mean", "weighted", "stack"] = "auto"


class DistilArgs(ActionArgs):
    """Distil the ensemble into one small model (a student fitted on the teacher's predictions)."""

    student: str | None = Field(default=None, description="model family of the student (default: the fastest)")


class RunCodeArgs(ActionArgs):
    """Run Python in the sandbox (no network, writes only in its workspace) and observe its output."""

    code: str = Field(min_length=1, max_length=20_000)
    purpose: str = Field(default="", max_length=500, description="what the code is for")


class PredictArgs(ActionArgs):
    """Predict the test set with a finished model (default: the best by CV)."""

    model: str | None = None


class FinaliseArgs(ActionArgs):
    """Write and validate the submission from the best model by CV (or the one named)."""

    model: str | None = None


class StopArgs(ActionArgs):
    """Stop the run now, keeping the best valid submission so far."""

    reason: str = Field(default="", max_length=500)


@dataclass(frozen=True)
class ActionSpec:
    """One action of the registry.

    Attributes:
        name: what a reasoner answers (``train_model``).
        args_model: pydantic model of its arguments.
        description: one line a reasoner reads to choose.
        phase: the phase it belongs to (``any``: allowed in every phase).
        extrinsic: whether it touches the world (data, models, files) rather than only the run state.
    """

    name: str
    args_model: type[ActionArgs]
    description: str
    phase: Phase = "any"
    extrinsic: bool = True

    def allowed_in(self, phase: str) -> bool:
        return self.phase in ("any", phase)


ACTIONS: dict[str, ActionSpec] = {}


def register_action(spec: ActionSpec, *, replace: bool = False) -> ActionSpec:
    """Add an action to the registry (names are unique unless ``replace``)."""
    if spec.name in ACTIONS and not replace:
        raise ValueError(f"action {spec.name!r} is already registered")
    if not spec.name.isidentifier():
        raise ValueError(f"action names are identifiers, not {spec.name!r}")
    ACTIONS[spec.name] = spec
    return spec


class UnknownActionError(ValueError):
    """The answer names an action that is not registered (or not allowed now)."""


def parse_action(
    name: str, args: Mapping[str, Any] | None, actions: Mapping[str, ActionSpec] | None = None
) -> ActionArgs:
    """Validate ``args`` for action ``name``.

    Raises:
        UnknownActionError: ``name`` is not in ``actions``.
        pydantic.ValidationError: the arguments do not fit the action's model.
    """
    registry = ACTIONS if actions is None else actions
    if name not in registry:
        raise UnknownActionError(f"unknown action {name!r}; choose one of: {', '.join(registry)}")
    return registry[name].args_model.model_validate(dict(args or {}))


def actions_for(phase: str, actions: Mapping[str, ActionSpec] | None = None) -> dict[str, ActionSpec]:
    """The actions allowed in ``phase``."""
    registry = ACTIONS if actions is None else actions
    return {name: spec for name, spec in registry.items() if spec.allowed_in(phase)}


def decision_schema(actions: Mapping[str, ActionSpec] | None = None) -> dict[str, Any]:
    """One JSON schema for a decision: ``{"rationale": str, "action": one of the names, "args": ...}``.

    ``args`` is the union (``anyOf``) of the actions' argument schemas; which member must match is
    checked by :func:`parse_action` after the answer arrives (a constrained decoder keeps the shape, the
    validation keeps the pairing). The top level is an object, as function calling and OpenAI's strict
    ``json_schema`` require; ``rationale`` comes first so a model explains before it commits.
    """
    registry = ACTIONS if actions is None else actions
    defs: dict[str, Any] = {}
    members = []
    for spec in registry.values():
        schema = spec.args_model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        schema["title"] = f"{spec.name} args"
        schema.setdefault("properties", {})
        schema["additionalProperties"] = False
        members.append(schema)
    result: dict[str, Any] = {
        "title": "Decision",
        "description": "The next action of the agent, with the reason for it.",
        "type": "object",
        "properties": {
            "rationale": {"type": "string", "description": "why this action, in one or two sentences"},
            "action": {"type": "string", "enum": list(registry), "description": "the action's name"},
            "args": {"anyOf": members, "description": "the action's arguments"},
        },
        "required": ["rationale", "action", "args"],
        "additionalProperties": False,
    }
    if defs:
        result["$defs"] = defs
    return result


def describe_actions(actions: Mapping[str, ActionSpec] | None = None) -> str:
    """One line per action, ``name(arg: type, ...): description``, for a prompt."""
    registry = ACTIONS if actions is None else actions
    lines = []
    for spec in registry.values():
        fields = ", ".join(
            f"{name}{'' if info.is_required() else '?'}: {_type_name(info.annotation)}"
            for name, info in spec.args_model.model_fields.items()
        )
        lines.append(f"- {spec.name}({fields}): {spec.description}")
    return "\n".join(lines)


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if get_origin(annotation) is None and isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


for _spec in (
    ActionSpec("profile", ProfileArgs, "profile the data (types, missing values, target)", "setup"),
    ActionSpec("infer_task", InferTaskArgs, "infer the task and run the setup checks", "setup"),
    ActionSpec("engineer_features", EngineerFeaturesArgs, "add engineered feature columns", "optimise"),
    ActionSpec("train_model", TrainModelArgs, "cross-validate one model family", "optimise"),
    ActionSpec("tune", TuneArgs, "search hyper-parameters over model families", "optimise"),
    ActionSpec("ensemble", EnsembleArgs, "blend the finished models", "optimise"),
    ActionSpec("distil", DistilArgs, "distil the ensemble into one small model", "optimise"),
    ActionSpec("run_code", RunCodeArgs, "run Python in the sandbox and observe the output", "any"),
    ActionSpec("predict", PredictArgs, "predict the test set with a finished model", "finalise"),
    ActionSpec("finalise", FinaliseArgs, "write and validate the submission", "finalise"),
    ActionSpec("stop", StopArgs, "stop the run, keeping the best submission so far", "any", extrinsic=False),
):
    register_action(_spec)
