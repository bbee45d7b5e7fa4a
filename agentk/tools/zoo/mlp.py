"""A torch MLP for tables: scaled numbers with missing indicators, embeddings for categories.

torch is the optional ``torch`` extra: it is imported inside ``fit``/``predict_model`` only, and the model is
registered only where torch is installed (``pip install 'agentk[torch]'``).
"""

from __future__ import annotations

import copy
import importlib.util
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, softmax
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from agentk.competitions import TaskType
from agentk.errors import UserInputError
from agentk.tools.cv import Deadline
from agentk.tools.device import require_cuda, torch_cuda_built
from agentk.tools.features import TabularEncoder
from agentk.tools.zoo._base import ModelInfo, ZooModel, mark_unavailable, register_model

EXTRA = "torch"  # the optional dependency group this model needs
DEFAULTS: dict[str, Any] = {
    "hidden": 256,
    "layers": 2,
    "dropout": 0.1,
    "lr": 2e-3,
    "weight_decay": 1e-5,
    "batch_size": 256,
    "max_embedding": 16,
    "scaling": "quantile",  # or "standard"
    "max_epochs": 100,
    "patience": 10,
    "epochs_without_valid": 20,  # no validation rows, no early stopping: train this many epochs
}
_PREDICT_BATCH = 8192


def _embedding_dim(cardinality: int, cap: int) -> int:
    return max(2, min(cap, round(1.6 * math.pow(cardinality, 0.56))))  # fastai's rule of thumb


class MLPModel(ZooModel):
    """Multi-layer perceptron with categorical embeddings, early-stopped on ``X_valid`` (best epoch kept).

    Numbers (and datetime parts, text statistics, category frequencies from
    :class:`~agentk.tools.features.TabularEncoder`) are median-imputed, scaled (quantile -> normal, or
    standard) and joined by a 0/1 indicator for every column that had missing training values. Category
    codes index embeddings; index 0 is shared by missing and unseen values. A regression target is
    standardised for training and restored in ``predict_model``.
    """

    def _torch_device(self) -> str:
        if self.device == "cuda":
            import torch

            require_cuda(
                "torch", built=torch_cuda_built() and torch.cuda.is_available(), hint="install a CUDA build of torch"
            )
        elif self.device != "cpu":
            raise UserInputError(f"unknown device {self.device!r}", hint="use 'cpu' or 'cuda'")
        return self.device

    def _arrays(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        frame = self.encoder_.transform(X)
        if self.numeric_columns_:
            raw = frame[self.numeric_columns_].to_numpy(dtype=float)
            missing = np.isnan(raw)
            filled = np.where(missing, self.medians_, raw)
            scaled = np.clip(self.scaler_.transform(filled), -6.0, 6.0)
            numeric = np.hstack([scaled, missing[:, self.indicator_columns_]]).astype(np.float32)
        else:
            numeric = np.zeros((len(frame), 0), dtype=np.float32)
        codes = frame[self.categorical_columns_].to_numpy(dtype=float) if self.categorical_columns_ else None
        cats = (
            np.nan_to_num(codes, nan=-1.0).astype(np.int64) + 1
            if codes is not None
            else np.zeros((len(frame), 0), dtype=np.int64)
        )
        return numeric, cats

    def _fit_preprocessing(self, X: pd.DataFrame, params: dict[str, Any]) -> None:
        self.encoder_ = TabularEncoder(self.columns).fit(X)
        frame = self.encoder_.transform(X)
        self.categorical_columns_ = list(self.encoder_.categorical_features_)
        self.cardinalities_ = [len(self.encoder_.codes_[c]) + 1 for c in self.categorical_columns_]
        self.numeric_columns_ = [c for c in frame.columns if c not in self.categorical_columns_]
        if not self.numeric_columns_:
            return
        raw = frame[self.numeric_columns_].to_numpy(dtype=float)
        missing = np.isnan(raw)
        self.indicator_columns_ = np.flatnonzero(missing.any(axis=0))
        medians = np.zeros(raw.shape[1])
        seen = ~missing.all(axis=0)
        medians[seen] = np.nanmedian(raw[:, seen], axis=0)
        self.medians_ = medians
        filled = np.where(missing, medians, raw)
        if params["scaling"] == "quantile":
            self.scaler_: Any = QuantileTransformer(
                n_quantiles=min(1000, len(filled)), output_distribution="normal", random_state=self.seed
            ).fit(filled)
        elif params["scaling"] == "standard":
            self.scaler_ = StandardScaler().fit(filled)
        else:
            raise UserInputError(f"unknown scaling {params['scaling']!r}", hint="use 'quantile' or 'standard'")

    def _build(self, n_numeric: int, params: dict[str, Any]) -> Any:
        from torch import nn

        dims = [_embedding_dim(c, int(params["max_embedding"])) for c in self.cardinalities_]
        width = n_numeric + sum(dims)
        blocks: list[Any] = []
        for _ in range(int(params["layers"])):
            blocks += [nn.Linear(width, int(params["hidden"])), nn.SiLU(), nn.Dropout(float(params["dropout"]))]
            width = int(params["hidden"])
        out = self.n_classes if self._task in (TaskType.MULTICLASS, TaskType.ORDINAL) else 1
        blocks.append(nn.Linear(width, out))
        embeddings = nn.ModuleList(nn.Embedding(c, d) for c, d in zip(self.cardinalities_, dims, strict=True))
        return nn.ModuleDict({"embeddings": embeddings, "body": nn.Sequential(*blocks)})

    @staticmethod
    def _forward(net: Any, numeric: Any, cats: Any) -> Any:
        import torch

        parts = [numeric, *(emb(cats[:, j]) for j, emb in enumerate(net["embeddings"]))]
        return net["body"](torch.cat(parts, dim=1))

    def _loss(self) -> Any:
        from torch import nn

        if self._task is TaskType.BINARY:
            return nn.BCEWithLogitsLoss()
        if self._classification:
            return nn.CrossEntropyLoss()
        return nn.MSELoss()

    def _target(self, y: np.ndarray) -> np.ndarray:
        if self._task is TaskType.BINARY:
            return np.asarray(y, dtype=np.float32).reshape(-1, 1)
        if self._classification:
            return np.asarray(y, dtype=np.int64)
        return ((np.asarray(y, dtype=float) - self.y_mean_) / self.y_scale_).astype(np.float32).reshape(-1, 1)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> MLPModel:
        import torch

        params = {**DEFAULTS, **(self.params or {})}
        device = self._torch_device()
        self._fit_preprocessing(X, params)
        self.y_mean_ = 0.0 if self._classification else float(np.mean(y))
        self.y_scale_ = 1.0 if self._classification else float(np.std(y)) or 1.0
        numeric, cats = self._arrays(X)
        target = torch.tensor(self._target(y))
        train = (torch.tensor(numeric), torch.tensor(cats), target)
        valid = None
        if X_valid is not None and y_valid is not None:
            v_numeric, v_cats = self._arrays(X_valid)
            valid = (torch.tensor(v_numeric), torch.tensor(v_cats), torch.tensor(self._target(y_valid)))
        epochs = int(params["max_epochs"] if valid is not None else params["epochs_without_valid"])
        threads = torch.get_num_threads()
        torch.set_num_threads(self.n_jobs)
        try:
            with torch.random.fork_rng(devices=[torch.cuda.current_device()] if device == "cuda" else []):
                torch.manual_seed(self.seed)
                self.net_ = self._build(numeric.shape[1], params).to(device)
                self._train(train, valid, epochs, params, device, deadline)
        finally:
            torch.set_num_threads(threads)
        return self

    def _train(
        self,
        train: tuple[Any, Any, Any],
        valid: tuple[Any, Any, Any] | None,
        epochs: int,
        params: dict[str, Any],
        device: str,
        deadline: Deadline | None,
    ) -> None:
        """Mini-batch AdamW; keeps the weights of the best validation epoch; stops at the deadline."""
        import torch

        net, loss_fn = self.net_, self._loss()
        # The table moves to the device once (batches are then slices there, not per-batch copies).
        train = (train[0].to(device), train[1].to(device), train[2].to(device))
        optimiser = torch.optim.AdamW(
            net.parameters(), lr=float(params["lr"]), weight_decay=float(params["weight_decay"])
        )
        n = len(train[0])
        # Small tables still get several steps an epoch: the batch shrinks to an eighth of the rows (>= 32).
        batch = max(1, min(int(params["batch_size"]), max(32, n // 8)))
        best_loss, best_state, stale = math.inf, None, 0
        self.epochs_ = 0
        for _ in range(epochs):
            net.train()
            order = torch.randperm(n, device=device)
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                if len(rows) < 2 < n:  # a single leftover row adds noise and nothing else
                    continue
                numeric, cats, target = (t[rows] for t in train)
                optimiser.zero_grad()
                loss_fn(self._forward(net, numeric, cats), target).backward()
                optimiser.step()
                if deadline is not None and deadline.expired:
                    break
            self.epochs_ += 1
            if valid is not None:
                loss = self._evaluate(valid, loss_fn, device)
                if loss < best_loss - 1e-6:
                    best_loss, best_state, stale = loss, copy.deepcopy(net.state_dict()), 0
                else:
                    stale += 1
            if (deadline is not None and deadline.expired) or stale >= int(params["patience"]):
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.best_valid_loss_ = best_loss
        net.eval()

    def _evaluate(self, data: tuple[Any, Any, Any], loss_fn: Any, device: str) -> float:
        import torch

        self.net_.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(data[0]), _PREDICT_BATCH):
                numeric, cats, target = (t[start : start + _PREDICT_BATCH].to(device) for t in data)
                total += float(loss_fn(self._forward(self.net_, numeric, cats), target)) * len(target)
        return total / max(len(data[0]), 1)

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        import torch

        numeric, cats = self._arrays(X)
        device = next(self.net_.parameters()).device
        self.net_.eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, len(numeric), _PREDICT_BATCH):
                num = torch.tensor(numeric[start : start + _PREDICT_BATCH]).to(device)
                cat = torch.tensor(cats[start : start + _PREDICT_BATCH]).to(device)
                chunks.append(self._forward(self.net_, num, cat).float().cpu().numpy())
        out = np.concatenate(chunks) if chunks else np.zeros((0, 1), dtype=np.float32)
        if self._task is TaskType.BINARY:
            return np.asarray(expit(out[:, 0].astype(float)))
        if self._classification:
            return np.asarray(softmax(out.astype(float), axis=1))
        return np.asarray(out[:, 0].astype(float) * self.y_scale_ + self.y_mean_)


def search_space(trial: Any) -> dict[str, Any]:
    return {
        "hidden": trial.suggest_categorical("hidden", [64, 128, 256, 512]),
        "layers": trial.suggest_int("layers", 1, 4),
        "dropout": trial.suggest_float("dropout", 0.0, 0.4),
        "lr": trial.suggest_float("lr", 3e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512, 1024]),
        "scaling": trial.suggest_categorical("scaling", ["quantile", "standard"]),
    }


INFO: ModelInfo | None = None
if importlib.util.find_spec("torch") is not None:  # the `torch` extra is installed
    INFO = register_model(ModelInfo("mlp", MLPModel, search_space, gpu=True, speed="slow", defaults=DEFAULTS))
else:
    mark_unavailable("mlp", f"the torch MLP is off: torch is not installed (pip install 'agentk[{EXTRA}]')")
