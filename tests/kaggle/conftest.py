"""Fixtures: a fake Kaggle server on 127.0.0.1 and the real ``kaggle`` client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentk.kaggle import KaggleClient, PollPolicy, RetryPolicy
from agentk.kaggle.fake_server import FakeKaggleServer

USERNAME = "agentk-tester"
SECRET_KEY = "SECRET-kaggle-key-0f9e8d7c6b5a"  # recognisable, so tests can prove it never leaks
FAST_RETRY = RetryPolicy(attempts=3, initial_delay=0.01, multiplier=2.0, max_delay=0.05, request_timeout=1.0)
FAST_POLL = PollPolicy(initial=0.01, multiplier=1.5, max_interval=0.05, timeout=10.0)


@dataclass
class KaggleEnv:
    server: FakeKaggleServer
    config_dir: Path

    def client(self, retry: RetryPolicy = FAST_RETRY) -> KaggleClient:
        return KaggleClient(retry=retry)


@pytest.fixture
def competitions_dir(shared_dir: Path) -> Path:
    return shared_dir / "competitions"


@pytest.fixture
def fake_kaggle(competitions_dir: Path) -> Iterator[FakeKaggleServer]:
    with FakeKaggleServer(competitions_dir, username=USERNAME, key=SECRET_KEY) as server:
        yield server


@pytest.fixture
def kaggle_env(fake_kaggle: FakeKaggleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KaggleEnv:
    """The real client, talking to the fake server with Basic-auth credentials from the environment."""
    from kagglesdk import kaggle_env

    config_dir = tmp_path / "kaggle-config"
    config_dir.mkdir()
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("KAGGLE_USERNAME", USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", SECRET_KEY)
    monkeypatch.setenv("AGENTK_KAGGLE_API_ENDPOINT", fake_kaggle.url)
    monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.LOCAL, fake_kaggle.url)
    return KaggleEnv(fake_kaggle, config_dir)
