"""A small convolutional network for image columns, trained from scratch with augmentation (torch extra).

The model reads the task's first image-path column (:attr:`~agentk.competitions.Modality.IMAGE_PATH`):
images are decoded once per process (:mod:`agentk.tools.images`), resized to ``size`` x ``size`` RGB and
normalised with per-channel statistics of the training rows (learned in ``fit``: fold-safe). Training
augments each batch on the fly: random horizontal (optionally vertical) flips, random crops of a
reflect-padded image and brightness/contrast jitter; prediction averages the image and its mirror.

With ``params["backbone"]`` set to a local file that maps ``(B, 3, H, W)`` images to features ``(B, F)`` or
``(B, F, h, w)`` — a whole ``nn.Module`` saved by ``torch.save``, a TorchScript file, or a ``torch.export``
``.pt2`` file (always frozen) — the network is that backbone plus a linear head (frozen backbone by default,
``freeze_backbone=False`` fine-tunes it), with ImageNet normalisation. Only load backbone files you trust:
unpickling runs code.

Relative image paths are looked up under ``params["image_root"]`` and its sub-folders
(:func:`agentk.tools.images.resolve_image_paths`); ``cross_validate`` sets it from the task's ``image_root``.
Without it, paths are read as given (absolute, or from the working folder).

It learns every task type natively (``multi_output``): one logit per label for multi-label, one output per
target (standardised) for multi-target regression.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

from agentk.competitions import Modality, TaskType
from agentk.errors import UserInputError
from agentk.tools.cv import Deadline
from agentk.tools.device import require_cuda, torch_cuda_built
from agentk.tools.images import load_images, resolve_image_paths
from agentk.tools.zoo._base import ModelInfo, ZooModel, mark_unavailable, register_model

EXTRA = "torch"
DEFAULTS: dict[str, Any] = {
    "size": 32,
    "width": 16,
    "dropout": 0.2,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "batch_size": 64,
    "max_epochs": 25,
    "patience": 5,
    "epochs_without_valid": 15,
    "hflip": True,
    "vflip": False,
    "crop": 0.125,  # reflect padding (as a share of the side) before a random crop back to ``size``
    "jitter": 0.1,  # brightness and contrast jitter
    "tta": True,
    "backbone": None,
    "freeze_backbone": True,
    "image_root": None,
}
_IMAGENET = (np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]))
_PREDICT_BATCH = 256
_THREADED_WORK = 64 * 32  # size x width from which training uses n_jobs CPU threads


def _block(c_in: int, c_out: int) -> list[Any]:
    from torch import nn

    return [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _small_cnn(width: int, dropout: float, out: int) -> Any:
    """Three conv stages (width, 2x, 4x channels), global average pooling and a linear head."""
    from torch import nn

    return nn.Sequential(
        *_block(3, width),
        nn.MaxPool2d(2),
        *_block(width, 2 * width),
        nn.MaxPool2d(2),
        *_block(2 * width, 4 * width),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * width, out),
    )


class _BackboneNet:
    """Builds ``backbone -> pool -> dropout -> linear`` as an ``nn.Module`` (torch imported lazily)."""

    @staticmethod
    def build(backbone: Any, size: int, dropout: float, out: int, freeze: bool) -> Any:
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.backbone = backbone
                self.frozen = freeze
                with torch.no_grad():
                    width = int(self._features(torch.zeros(2, 3, size, size)).shape[1])
                self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, out))

            def _features(self, x: Any) -> Any:
                f = self.backbone(x)
                return f.mean(dim=(2, 3)) if f.dim() == 4 else f.flatten(1)

            def train(self, mode: bool = True) -> Any:
                # A frozen backbone stays in eval mode (its batch-norm statistics are the pre-trained ones);
                # exported programs (.pt2) cannot switch modes at all.
                self.training = mode
                self.head.train(mode)
                if not self.frozen:
                    self.backbone.train(mode)
                return self

            def forward(self, x: Any) -> Any:
                return self.head(self._features(x))

        if freeze:
            for p in backbone.parameters():
                p.requires_grad_(False)
        return Net()


def _load_backbone(path: str, freeze: bool) -> tuple[Any, bool]:
    """The backbone module in ``path`` and whether it must stay frozen (exported programs cannot train)."""
    import torch

    if path.endswith(".pt2"):  # torch.export.save
        try:
            return torch.export.load(path).module(), True
        except (OSError, RuntimeError) as exc:
            raise UserInputError(f"cannot load the image backbone {path}: {exc}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript still loads; torch steers to export
        try:
            jit: Any = torch.jit  # typed loosely: torch is optional, so mypy may or may not see its stubs
            return jit.load(path, map_location="cpu"), freeze
        except (RuntimeError, ValueError):
            pass  # not TorchScript: a pickled module
    try:
        module = torch.load(path, map_location="cpu", weights_only=False)  # a trusted local file (see above)
    except (OSError, RuntimeError) as exc:
        raise UserInputError(f"cannot load the image backbone {path}: {exc}") from None
    if not isinstance(module, torch.nn.Module):
        raise UserInputError(
            f"the image backbone {path} holds a {type(module).__name__}, not a torch module",
            hint="save the whole module (torch.save(model, path)), a torch.export .pt2 file or TorchScript",
        )
    return module, freeze


class ImageCNNModel(ZooModel):
    """Small CNN (or a local pre-trained backbone) on the first image column (see the module docstring)."""

    def _torch_device(self) -> str:
        if self.device == "cuda":
            import torch

            require_cuda(
                "torch", built=torch_cuda_built() and torch.cuda.is_available(), hint="install a CUDA build of torch"
            )
        elif self.device != "cpu":
            raise UserInputError(f"unknown device {self.device!r}", hint="use 'cpu' or 'cuda'")
        return self.device

    def _image_column(self) -> str:
        images = [c for c, m in (self.columns or {}).items() if m is Modality.IMAGE_PATH]
        if not images:
            raise UserInputError("the image model needs an image-path column", hint="mark one as image_path")
        return images[0]

    def _images(self, X: pd.DataFrame) -> np.ndarray:
        params = self.params_
        values = X[self.column_].astype("string").fillna("")
        if params["image_root"]:
            values = resolve_image_paths(values, [params["image_root"]])
        return load_images([str(v) for v in values], int(params["size"]))

    @property
    def _outputs(self) -> int:
        if self._task in (TaskType.MULTICLASS, TaskType.ORDINAL, TaskType.MULTILABEL, TaskType.MULTI_REGRESSION):
            return self.n_classes
        return 1

    def _target(self, y: np.ndarray) -> np.ndarray:
        task = self._task
        if task is TaskType.BINARY:
            return np.asarray(y, dtype=np.float32).reshape(-1, 1)
        if task is TaskType.MULTILABEL:
            return np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        if self._classification:
            return np.asarray(y, dtype=np.int64)
        values = np.asarray(y, dtype=float).reshape(len(y), -1)
        return ((values - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _loss(self) -> Any:
        from torch import nn

        if self._task in (TaskType.BINARY, TaskType.MULTILABEL):
            return nn.BCEWithLogitsLoss()
        if self._classification:
            return nn.CrossEntropyLoss()
        return nn.MSELoss()

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> ImageCNNModel:
        import torch

        self.params_ = {**DEFAULTS, **(self.params or {})}
        params = self.params_
        device = self._torch_device()
        self.column_ = self._image_column()
        regression = self._task in (TaskType.REGRESSION, TaskType.MULTI_REGRESSION)
        values = np.asarray(y, dtype=float).reshape(len(y), -1)
        self.y_mean_ = values.mean(axis=0) if regression else np.zeros(1)
        self.y_scale_ = np.where(values.std(axis=0) > 0, values.std(axis=0), 1.0) if regression else np.ones(1)
        images = self._images(X)
        if params["backbone"]:
            self.mean_, self.std_ = _IMAGENET
        else:
            scaled = images.astype(np.float32) / 255.0
            self.mean_ = scaled.mean(axis=(0, 2, 3))
            self.std_ = np.maximum(scaled.std(axis=(0, 2, 3)), 1e-3)
        train = (torch.tensor(images), torch.tensor(self._target(y)))
        valid = None
        if X_valid is not None and y_valid is not None:
            valid = (torch.tensor(self._images(X_valid)), torch.tensor(self._target(y_valid)))
        epochs = int(params["max_epochs"] if valid is not None else params["epochs_without_valid"])
        threads = torch.get_num_threads()
        # Small images and narrow nets train several times faster on one CPU thread than on two busy ones
        # (0.03 s vs 0.2 s a batch measured at 32 px, width 16): more threads only for bigger work.
        small = int(params["size"]) * int(params["width"]) < _THREADED_WORK
        torch.set_num_threads(1 if small and device == "cpu" else self.n_jobs)
        try:
            with torch.random.fork_rng(devices=[torch.cuda.current_device()] if device == "cuda" else []):
                torch.manual_seed(self.seed)
                self.net_ = self._build(params).to(device)
                self._train(train, valid, epochs, params, device, deadline)
        finally:
            torch.set_num_threads(threads)
        return self

    def _build(self, params: dict[str, Any]) -> Any:
        size, dropout = int(params["size"]), float(params["dropout"])
        if params["backbone"]:
            backbone, freeze = _load_backbone(str(params["backbone"]), bool(params["freeze_backbone"]))
            return _BackboneNet.build(backbone, size, dropout, self._outputs, freeze)
        return _small_cnn(int(params["width"]), dropout, self._outputs)

    def __getstate__(self) -> dict[str, Any]:
        # A loaded backbone (TorchScript, exported program) does not pickle: keep the weights, rebuild on load
        # from the backbone file, which must then still exist.
        state: dict[str, Any] = dict(super().__getstate__())
        if "net_" in state and self.params_["backbone"]:
            import torch

            buffer = io.BytesIO()
            torch.save(self.net_.state_dict(), buffer)
            state["net_"] = buffer.getvalue()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.get("net_")
        super().__setstate__(state)
        if isinstance(weights, bytes):
            import torch

            self.net_ = self._build(self.params_)
            self.net_.load_state_dict(torch.load(io.BytesIO(weights), map_location="cpu"))
            self.net_.eval()

    def _normalise(self, batch: Any) -> Any:
        import torch

        mean = torch.tensor(self.mean_, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std_, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
        return (batch.float() / 255.0 - mean) / std

    def _augment(self, x: Any, params: dict[str, Any]) -> Any:
        """Random flips, reflect-pad-and-crop and brightness/contrast jitter of a normalised batch."""
        import torch
        import torch.nn.functional as F

        n, _, h, w = x.shape
        if params["hflip"]:
            flip = torch.rand(n, device=x.device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        if params["vflip"]:
            flip = torch.rand(n, device=x.device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(2), x)
        pad = round(float(params["crop"]) * h)
        if pad > 0:
            padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
            dy, dx = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,)))
            x = padded[:, :, dy : dy + h, dx : dx + w]
        jitter = float(params["jitter"])
        if jitter > 0:
            scale = 1 + (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * jitter
            shift = (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * jitter
            x = x * scale + shift
        return x

    def _train(
        self,
        train: tuple[Any, Any],
        valid: tuple[Any, Any] | None,
        epochs: int,
        params: dict[str, Any],
        device: str,
        deadline: Deadline | None,
    ) -> None:
        """AdamW with a cosine schedule; keeps the best validation epoch; stops at the deadline."""
        import torch

        net, loss_fn = self.net_, self._loss()
        trainable = [p for p in net.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(trainable, lr=float(params["lr"]), weight_decay=float(params["weight_decay"]))
        n = len(train[0])
        batch = max(2, min(int(params["batch_size"]), max(16, n // 8)))
        steps = max(1, epochs * math.ceil(n / batch))
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=float(params["lr"]), total_steps=steps)
        best_loss, best_state, stale = math.inf, None, 0
        self.epochs_ = 0
        stopped = False
        for _ in range(epochs):
            net.train()
            order = torch.randperm(n)
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                if len(rows) < 2:  # BatchNorm needs two rows
                    continue
                x = self._augment(self._normalise(train[0][rows].to(device)), params)
                optimiser.zero_grad()
                loss_fn(net(x), train[1][rows].to(device)).backward()
                optimiser.step()
                schedule.step()
                if deadline is not None and deadline.expired:
                    stopped = True
                    break
            self.epochs_ += 1
            if valid is not None:
                loss = self._evaluate(valid, loss_fn, device)
                if loss < best_loss - 1e-6:
                    best_loss, best_state, stale = loss, copy.deepcopy(net.state_dict()), 0
                else:
                    stale += 1
            if stopped or stale >= int(params["patience"]):
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.best_valid_loss_ = best_loss
        net.eval()

    def _raw(self, images: Any, device: str) -> np.ndarray:
        """Network outputs for uint8 images, averaged with their mirror images when ``tta`` is on."""
        import torch

        self.net_.eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, len(images), _PREDICT_BATCH):
                x = self._normalise(images[start : start + _PREDICT_BATCH].to(device))
                out = self.net_(x)
                if self.params_["tta"] and self.params_["hflip"]:
                    out = (out + self.net_(x.flip(3))) / 2
                chunks.append(out.float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self._outputs), dtype=np.float32)

    def _evaluate(self, data: tuple[Any, Any], loss_fn: Any, device: str) -> float:
        import torch

        out = torch.tensor(self._raw(data[0], device))
        return float(loss_fn(out, data[1]))

    def predict_model(self, X: pd.DataFrame) -> np.ndarray:
        import torch

        device = str(next(self.net_.parameters()).device)
        out = self._raw(torch.tensor(self._images(X)), device).astype(float)
        task = self._task
        if task is TaskType.BINARY:
            return np.asarray(expit(out[:, 0]))
        if task is TaskType.MULTILABEL:
            return np.asarray(expit(out))
        if self._classification:
            return np.asarray(softmax(out, axis=1))
        values = out * self.y_scale_ + self.y_mean_
        return np.asarray(values[:, 0] if task is TaskType.REGRESSION else values)


def search_space(trial: Any) -> dict[str, Any]:
    return {
        "size": trial.suggest_categorical("size", [32, 64, 96]),
        "width": trial.suggest_categorical("width", [16, 32, 48]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "lr": trial.suggest_float("lr", 3e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "vflip": trial.suggest_categorical("vflip", [False, True]),
        "crop": trial.suggest_categorical("crop", [0.0, 0.0625, 0.125]),
    }


INFO: ModelInfo | None = None
if importlib.util.find_spec("torch") is not None and importlib.util.find_spec("PIL") is not None:
    INFO = register_model(
        ModelInfo(
            "cnn",
            ImageCNNModel,
            search_space,
            uses=frozenset({Modality.IMAGE_PATH}),
            gpu=True,
            speed="slow",
            defaults=DEFAULTS,
            multi_output=True,
        )
    )
else:
    mark_unavailable(
        "cnn",
        f"the image CNN is off: it needs torch and Pillow (pip install 'agentk[{EXTRA}]')",
        frozenset({Modality.IMAGE_PATH}),
    )
