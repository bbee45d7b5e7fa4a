"""The model zoo's contract: scikit-learn estimators that take the raw frame and learn everything in ``fit``.

Every model in the zoo:

* stores its constructor arguments unchanged (scikit-learn's contract) and learns state in ``fit`` only,
  into attributes ending in ``_`` — so preprocessing (encoders, vocabularies, scalers) is fold-safe by
  construction when ``fit`` sees only a fold's training rows;
* takes ``X`` as the raw input frame (the task's columns) and ``y`` already encoded by
  :class:`~agentk.tools.target.TargetCodec` (class indices, or floats in model space);
* may use ``X_valid``/``y_valid`` for early stopping, and must stop at ``deadline`` keeping what it has;
* returns from :meth:`ZooModel.predict_model` predictions in model space: binary -> P(class 1) ``(n,)``,
  multiclass/ordinal -> probabilities ``(n, k)``, regression -> values ``(n,)``; a model registered with
  ``multi_output=True`` also takes multi-label targets (``(n, L)`` 0/1, predicting P(label) ``(n, L)``) and
  multi-target regression (``(n, T)`` values), with ``n_classes`` set to the number of target columns.
  Other models learn multi-output tasks one target at a time (:class:`~agentk.tools.zoo._multi.PerTargetModel`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from agentk.competitions import Modality, TaskType
from agentk.tools.cv import Deadline


class ZooModel(BaseEstimator):  # type: ignore[misc]
    """Base class of zoo models (see the module docstring for the contract).

    Args:
        columns: modality of each input column the model may use.
        task_type: the task (``binary``, ``multiclass``, ``ordinal``, ``regression``, and for
            ``multi_output`` models ``multilabel`` and ``multi_regression``).
        n_classes: number of classes (0 for regression; the number of targets for multi-output tasks).
        params: model hyper-parameters (merged over the model's defaults).
        device: ``cpu`` or ``cuda``.
        n_jobs: threads.
        seed: random seed.
    """

    def __init__(
        self,
        columns: dict[str, Modality] | None = None,
        task_type: str = "binary",
        n_classes: int = 2,
        params: dict[str, Any] | None = None,
        device: str = "cpu",
        n_jobs: int = 1,
        seed: int = 0,
    ) -> None:
        self.columns = columns
        self.task_type = task_type
        self.n_classes = n_classes
        self.params = params
        self.device = device
        self.n_jobs = n_jobs
        self.seed = seed

    @property
    def _task(self) -> TaskType:
        return TaskType(self.task_type)

    @property
    def _classification(self) -> bool:
        """A single target of class labels (binary, multiclass, ordinal)."""
        return self._task in (TaskType.BINARY, TaskType.MULTICLASS, TaskType.ORDINAL)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> ZooModel:
        raise NotImplementedError

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


DEFAULT_USES = frozenset({Modality.NUMERIC, Modality.CATEGORICAL, Modality.DATETIME, Modality.TEXT})


@dataclass(frozen=True)
class ModelInfo:
    """A zoo entry: how to build the model and what to search over.

    Attributes:
        name: registry name (``lightgbm``, ``linear``, ...).
        factory: the :class:`ZooModel` subclass.
        search_space: ``trial -> params`` for Optuna.
        tasks: task types it supports.
        uses: the modalities it is for: the orchestrator tries it when the task has a column of one of them,
            and it reads those columns.
        also_reads: further modalities it reads when present (e.g. tabular columns beside text), which alone
            do not make it worth trying.
        gpu: whether it can train on CUDA.
        speed: rough cost class, ``fast`` | ``medium`` | ``slow``, used by the policy to plan budgets.
        defaults: the model's default parameters (the keys its search space may set).
        multi_output: learns multi-label and multi-target tasks natively; other models are wrapped in
            :class:`~agentk.tools.zoo._multi.PerTargetModel` (one model per target) by ``cross_validate``.
        warm_up: its first fit in a process pays a one-off cost (sentence embeddings: every text encoded once
            into a shared cache), so a search does not cap its first trial's time.
        portfolio: known-strong configurations (search-space parameter names), tried as the first trials of a
            run's first search before the sampler's own draws (see :func:`agentk.tools.search.portfolio_trials`).
    """

    name: str
    factory: type[ZooModel]
    search_space: Callable[[Any], dict[str, Any]]
    tasks: frozenset[TaskType] = frozenset(TaskType)
    uses: frozenset[Modality] = DEFAULT_USES
    also_reads: frozenset[Modality] = frozenset()
    gpu: bool = False
    speed: str = "medium"
    defaults: dict[str, Any] = field(default_factory=dict)
    multi_output: bool = False
    warm_up: bool = False
    portfolio: tuple[dict[str, Any], ...] = ()

    @property
    def reads(self) -> frozenset[Modality]:
        """Every modality the model reads: ``uses | also_reads``."""
        return self.uses | self.also_reads


MODELS: dict[str, ModelInfo] = {}
UNAVAILABLE: dict[str, tuple[str, frozenset[Modality]]] = {}  # name -> (why it is missing here, what it is for)


def register_model(info: ModelInfo) -> ModelInfo:
    """Add a model to the zoo (names are unique)."""
    if info.name in MODELS:
        raise ValueError(f"model {info.name!r} is already registered")
    MODELS[info.name] = info
    return info


def mark_unavailable(name: str, reason: str, uses: frozenset[Modality] = DEFAULT_USES) -> None:
    """Record that model ``name`` is not registered in this environment, why (one sentence, with the fix),
    and the modalities it would be used for."""
    UNAVAILABLE[name] = (reason, uses)


def unavailable_models(modalities: Iterable[Modality] | None = None) -> dict[str, str]:
    """Models this environment lacks -> the reason and the fix, for the run's journal.

    Args:
        modalities: the task's column modalities; given, only models a task with them would have tried.
    """
    present = set(modalities) if modalities is not None else None
    return {name: reason for name, (reason, uses) in sorted(UNAVAILABLE.items()) if present is None or present & uses}


def get_model(name: str) -> ModelInfo:
    if name not in MODELS:
        from agentk.errors import UserInputError

        if name in UNAVAILABLE:
            raise UserInputError(f"model {name!r} is not available here: {UNAVAILABLE[name][0]}")
        raise UserInputError(f"unknown model {name!r}", hint="known: " + ", ".join(sorted(MODELS)))
    return MODELS[name]
