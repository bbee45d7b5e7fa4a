"""What a reasoner is: ``decide(state, memories, actions) -> Decision``, plus three intrinsic functions."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentk.agent.actions import ActionArgs, ActionSpec

Source = Literal["llm", "policy", "fallback"]


@dataclass(frozen=True)
class Decision:
    """One choice of the next action, with what it cost.

    Attributes:
        action: name of a registered action.
        args: its arguments, already validated against the action's model.
        rationale: why, in a sentence or two (journalled with the decision).
        source: ``llm`` (the model answered validly), ``policy`` (the offline policy chose), or
            ``fallback`` (the model failed or was out of budget, and the policy chose instead).
        tokens_in: prompt tokens spent on this decision (all attempts).
        tokens_out: completion tokens spent.
        seconds: wall-clock time of the decision.
        attempts: model calls made (0 for the policy).
        error: why the model's answers were not used (fallback only).
    """

    action: str
    args: ActionArgs
    rationale: str
    source: Source
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    attempts: int = 0
    error: str | None = None

    def to_event(self) -> dict[str, Any]:
        """The decision as journal data (``EventJournal.append("decision", ..., **decision.to_event())``)."""
        return {
            "action": self.action,
            "args": self.args.model_dump(mode="json"),
            "rationale": self.rationale,
            "source": self.source,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "seconds": round(self.seconds, 3),
            "attempts": self.attempts,
            "error": self.error,
        }


class Reasoner(abc.ABC):
    """Chooses the loop's next action. Implementations: :class:`PolicyReasoner`, :class:`LLMReasoner`.

    Invariants every implementation keeps:

    * ``decide`` only reads ``state`` and ``memories``; it never mutates them and never acts on the world
      (the loop executes the decision).
    * ``decide`` returns a :class:`Decision` whose ``action`` is a key of ``actions`` allowed in
      ``state["phase"]`` (when given) and whose ``args`` validated against that action's model. It never
      raises for a bad model answer, a dead endpoint or a spent budget: it falls back to a policy.
    * The intrinsic functions (``summarise_task``, ``reflect``, ``plan``) return text that goes into the
      run state only; they also never raise for a model's failure.
    * A reasoner is used by one run at a time (not thread-safe); counters such as ``fallbacks`` are per
      instance.

    ``state`` is the run's working memory, a JSON-like dict. Keys a reasoner may rely on, all optional:
    ``phase`` (``setup``/``optimise``/``finalise``), ``task`` (``task_type``, ``metric``,
    ``higher_is_better``, ``n_rows``, ``columns``: modality -> count), ``candidates`` (model families
    that fit the task), ``results`` (list of ``{"model", "cv_score", "complete", "seconds"}``), ``history``
    (list of ``{"action", "args"}`` already done), ``budget`` (``seconds_left``, ``steps_left``,
    ``tokens_left``), ``last_observation`` (text), ``notes`` (the intrinsic functions' texts).

    ``memories`` are long-term memory records retrieved for this task, dicts; those with
    ``{"kind": "reward", "task_type", "family", "reward"}`` feed the policy's bandit.
    """

    @abc.abstractmethod
    def decide(
        self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]], actions: Mapping[str, ActionSpec]
    ) -> Decision:
        """Choose the next action (see the class docstring for the contract)."""

    @abc.abstractmethod
    def summarise_task(self, state: Mapping[str, Any]) -> str:
        """A short description of the task for the working memory."""

    @abc.abstractmethod
    def reflect(self, state: Mapping[str, Any], observation: str) -> str:
        """What the last observation means for the next steps."""

    @abc.abstractmethod
    def plan(self, state: Mapping[str, Any], memories: Sequence[Mapping[str, Any]]) -> str:
        """The next few steps, as text."""
