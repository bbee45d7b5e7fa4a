"""Device selection: the probe, ``resolve_device`` and models refusing a CUDA request they cannot meet."""

from __future__ import annotations

import importlib.util
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality
from agentk.errors import UserInputError
from agentk.tools import device
from agentk.tools.zoo import MODELS

_PROBES = (device.cuda_available, device.torch_cuda_built)  # cached functions, kept before any monkeypatching


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    for probe in _PROBES:
        probe.cache_clear()
    yield
    for probe in _PROBES:
        probe.cache_clear()


def _fake_nvidia_smi(tmp_path: Path, output: str, code: int = 0) -> Path:
    exe = tmp_path / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\nprintf '%s\\n' '{output}'\nexit {code}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return tmp_path


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend torch is not installed, so the probe must ask nvidia-smi."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_without_torch_the_probe_asks_nvidia_smi(
    no_torch: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(_fake_nvidia_smi(tmp_path, "GPU 0: NVIDIA H100 (UUID: GPU-1234)")))
    assert not device.torch_cuda_built()
    assert device.cuda_available()
    assert device.resolve_device("auto") == "cuda"
    assert device.resolve_device("cuda") == "cuda"
    assert device.resolve_device("cpu") == "cpu"


@pytest.mark.parametrize(("output", "code"), [("No devices were found", 6), ("", 0)])
def test_nvidia_smi_without_a_gpu_means_cpu(
    no_torch: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, code: int
) -> None:
    monkeypatch.setenv("PATH", str(_fake_nvidia_smi(tmp_path, output, code)))
    assert not device.cuda_available()
    assert device.resolve_device("auto") == "cpu"


def test_no_nvidia_smi_and_hidden_devices_mean_cpu(
    no_torch: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    assert not device.cuda_available()
    device.cuda_available.cache_clear()  # a new process, as it were
    monkeypatch.setenv("PATH", str(_fake_nvidia_smi(tmp_path, "GPU 0: NVIDIA H100")))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not device.cuda_available()


def test_the_probe_is_cached(no_torch: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(_fake_nvidia_smi(tmp_path, "GPU 0: NVIDIA H100")))
    assert device.cuda_available()
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert device.cuda_available()


def test_cuda_requested_without_a_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "cuda_available", lambda: False)
    assert device.resolve_device("auto") == "cpu"
    with pytest.raises(UserInputError, match="no CUDA GPU") as info:
        device.resolve_device("cuda")
    assert info.value.hint and "auto" in info.value.hint
    with pytest.raises(UserInputError, match="unknown device setting"):
        device.resolve_device("tpu")


def test_require_cuda_names_the_missing_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "cuda_available", lambda: True)
    device.require_cuda("xgboost", built=True)
    with pytest.raises(UserInputError, match="xgboost: the installed build has no CUDA support"):
        device.require_cuda("xgboost", built=False, hint="install the gpu extra")


@pytest.mark.parametrize("model", sorted(set(MODELS) - {"lightgbm", "linear"}))
def test_models_refuse_cuda_without_a_gpu(model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No silent fallback: a CUDA request on a machine without a usable GPU fails before training."""
    monkeypatch.setattr(device, "cuda_available", lambda: False)
    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    columns = {"a": Modality.NUMERIC, "b": Modality.NUMERIC}
    estimator = MODELS[model].factory(columns=columns, task_type="regression", n_classes=0, device="cuda")
    with pytest.raises(UserInputError, match="cuda"):
        estimator.fit(frame, np.arange(20.0))
