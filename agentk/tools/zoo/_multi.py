"""Multi-output tasks for single-output models: one model per target column, behind the zoo's contract.

A multi-label task becomes one binary model per label and a multi-target regression one regression model per
target. Each is the same zoo model with the same parameters and columns (its seed offset by the target's
index), fit on the same rows, so fold safety carries over from the wrapped model unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agentk.competitions import Modality, TaskType
from agentk.tools.cv import Deadline
from agentk.tools.zoo._base import ZooModel, get_model


class PerTargetModel(ZooModel):
    """A zoo model fit once per target column of a multi-label or multi-target regression task.

    Args:
        model: registry name of the wrapped (single-output) zoo model.
        n_classes: the number of target columns.
        (others): as :class:`~agentk.tools.zoo._base.ZooModel`, passed to every wrapped model.

    A label that is constant in the training rows gets no model: its prediction is that constant.
    """

    def __init__(
        self,
        columns: dict[str, Modality] | None = None,
        task_type: str = "multilabel",
        n_classes: int = 2,
        params: dict[str, Any] | None = None,
        device: str = "cpu",
        n_jobs: int = 1,
        seed: int = 0,
        model: str = "lightgbm",
    ) -> None:
        super().__init__(columns, task_type, n_classes, params, device, n_jobs, seed)
        self.model = model

    def _single_task(self) -> TaskType:
        if self._task is TaskType.MULTILABEL:
            return TaskType.BINARY
        if self._task is TaskType.MULTI_REGRESSION:
            return TaskType.REGRESSION
        raise ValueError(f"PerTargetModel wraps multi-output tasks, not {self.task_type!r}")

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> PerTargetModel:
        single = self._single_task()
        factory = get_model(self.model).factory
        target = np.asarray(y).reshape(len(y), -1)
        valid = np.asarray(y_valid).reshape(len(y_valid), -1) if y_valid is not None else None
        self.models_: list[ZooModel | None] = []
        self.constants_: list[float] = []
        for j in range(target.shape[1]):
            column = target[:, j]
            if single is TaskType.BINARY and len(np.unique(column)) < 2:
                self.models_.append(None)
                self.constants_.append(float(column[0]) if len(column) else 0.0)
                continue
            estimator = factory(
                columns=self.columns,
                task_type=single.value,
                n_classes=2 if single is TaskType.BINARY else 0,
                params=self.params,
                device=self.device,
                n_jobs=self.n_jobs,
                seed=self.seed + j,
            )
            cast = int if single is TaskType.BINARY else float
            estimator.fit(
                X,
                column.astype(cast),
                X_valid,
                valid[:, j].astype(cast) if valid is not None else None,
                deadline=deadline,
            )
            self.models_.append(estimator)
            self.constants_.append(float(np.mean(column)))
        return self

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        columns = [
            np.full(len(X), constant) if model is None else np.asarray(model.predict_model(X), dtype=float)
            for model, constant in zip(self.models_, self.constants_, strict=True)
        ]
        return np.column_stack(columns) if columns else np.zeros((len(X), 0))
