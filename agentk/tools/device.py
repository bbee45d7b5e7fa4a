"""Where models train: resolve the ``device`` setting to ``cpu`` or ``cuda`` once, and check each library.

The probe is cached for the process. It imports torch only when torch is installed (torch is the optional
``torch`` extra): a CUDA build of torch answers with ``torch.cuda.is_available()``; otherwise (no torch, or
a CPU-only build that cannot see GPUs) ``nvidia-smi -L`` is asked whether a GPU is visible.

Each library is switched to the GPU its own way; the zoo models do that when given ``device="cuda"``:

==========  ==========================  =============================================
library     parameter                   without a usable GPU
==========  ==========================  =============================================
XGBoost     ``device="cuda"``           falls back to CPU with a warning (we refuse)
CatBoost    ``task_type="GPU"``         raises (we refuse first, with a hint)
LightGBM    ``device_type="gpu"``       OpenCL, not CUDA; raises without a platform
torch       ``module.to("cuda")``       raises
==========  ==========================  =============================================

A ``cuda`` request that cannot be met is a :class:`~agentk.errors.UserInputError`, never a silent fallback.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import subprocess

from agentk.errors import UserInputError

log = logging.getLogger(__name__)

SETTINGS = ("auto", "cpu", "cuda")


@functools.cache
def cuda_available() -> bool:
    """Whether a CUDA GPU is usable by this process (cached; see the module docstring for the probe)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if torch_cuda_built():
        import torch

        return bool(torch.cuda.is_available())
    return _nvidia_smi_sees_gpu()


@functools.cache
def torch_cuda_built() -> bool:
    """Whether torch is installed as a CUDA build (importing it only if it is installed)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.version.cuda is not None


def _nvidia_smi_sees_gpu() -> bool:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("nvidia-smi failed (%s): assuming no GPU", exc)
        return False
    return out.returncode == 0 and any(line.startswith("GPU ") for line in out.stdout.splitlines())


def resolve_device(setting: str = "auto") -> str:
    """``cpu`` or ``cuda`` for a setting of ``auto``, ``cpu`` or ``cuda``.

    Raises:
        UserInputError: the setting is unknown, or ``cuda`` was asked for and no CUDA GPU is usable.
    """
    if setting not in SETTINGS:
        raise UserInputError(f"unknown device setting {setting!r}", hint="use one of: " + ", ".join(SETTINGS))
    if setting == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if setting == "cuda":
        raise UserInputError(
            "device 'cuda' was requested but no CUDA GPU is usable on this machine",
            hint="set AGENTK_DEVICE=auto (or --device auto) to train on CPU, or check nvidia-smi and the driver",
        )
    log.info("no CUDA GPU found: models train on CPU")
    return "cpu"


def require_cuda(library: str, *, built: bool = True, hint: str | None = None) -> None:
    """Refuse a ``cuda`` request a library cannot meet (no usable GPU, or a build without CUDA).

    Args:
        library: the library's name, for the message.
        built: whether the installed build of the library supports CUDA.
        hint: what to install when it does not.
    """
    if not cuda_available():
        raise UserInputError(
            f"{library}: device 'cuda' was requested but no CUDA GPU is usable on this machine",
            hint="train with device 'cpu' or 'auto'",
        )
    if not built:
        raise UserInputError(f"{library}: the installed build has no CUDA support", hint=hint)
