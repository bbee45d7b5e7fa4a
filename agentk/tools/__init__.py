"""What the agent's actions do: validation splits, preprocessing, models and blends."""

from __future__ import annotations

from agentk.tools.blend import blend
from agentk.tools.cv import CVResult, Deadline, make_folds
from agentk.tools.lgbm import train_lightgbm
from agentk.tools.linear import train_linear
from agentk.tools.target import TargetCodec

__all__ = ["CVResult", "Deadline", "TargetCodec", "blend", "make_folds", "train_lightgbm", "train_linear"]
