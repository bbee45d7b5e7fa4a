"""What the agent's actions do: validation splits, preprocessing, the model zoo, search and blends."""

from __future__ import annotations

from agentk.tools.crossval import cross_validate
from agentk.tools.cv import CVResult, Deadline, make_folds
from agentk.tools.target import TargetCodec
from agentk.tools.zoo import MODELS, get_model

__all__ = ["MODELS", "CVResult", "Deadline", "TargetCodec", "cross_validate", "get_model", "make_folds"]
