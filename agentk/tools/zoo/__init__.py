"""The model zoo: scikit-learn-contract models registered by name (see :mod:`agentk.tools.zoo._base`)."""

from __future__ import annotations

from agentk.tools.zoo import catboost as _catboost  # noqa: F401
from agentk.tools.zoo import cnn as _cnn  # noqa: F401
from agentk.tools.zoo import embedded as _embedded  # noqa: F401
from agentk.tools.zoo import lightgbm as _lightgbm  # noqa: F401  (registers the model)
from agentk.tools.zoo import linear as _linear  # noqa: F401
from agentk.tools.zoo import mlp as _mlp  # noqa: F401
from agentk.tools.zoo import sklearn_models as _sklearn_models  # noqa: F401
from agentk.tools.zoo import xgboost as _xgboost  # noqa: F401
from agentk.tools.zoo._base import MODELS, ModelInfo, ZooModel, get_model, register_model, unavailable_models

__all__ = ["MODELS", "ModelInfo", "ZooModel", "get_model", "register_model", "unavailable_models"]
