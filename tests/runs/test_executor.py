"""The executor abstraction: one factory, chosen by settings alone; both implementations keep its contract."""

from __future__ import annotations

import pytest

from agentk.config import Settings, get_settings
from agentk.runs import Executor, create_executor
from agentk.runs.service import RunService


@pytest.fixture
def settings() -> Settings:
    return get_settings()


def test_no_workers_no_executor(settings: Settings) -> None:
    assert create_executor(settings, workers=0) is None
    assert create_executor(settings.model_copy(update={"executor": "ray", "workers": 0})) is None


def test_local_is_the_default(settings: Settings) -> None:
    executor = create_executor(settings, workers=2)
    assert isinstance(executor, RunService) and isinstance(executor, Executor) and executor.workers == 2
    assert executor.health() == (False, "none alive")  # not started yet


def test_ray_is_chosen_by_the_setting(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    from agentk.runs.ray_executor import RayExecutor

    monkeypatch.setenv("AGENTK_EXECUTOR", "ray")
    monkeypatch.setenv("AGENTK_RAY_ADDRESS", "127.0.0.1:1")
    executor = create_executor(get_settings())
    assert isinstance(executor, RayExecutor) and executor.settings.ray_address == "127.0.0.1:1"
    assert executor.in_flight() == {}


def test_the_study_storage_follows_a_shared_database(settings: Settings) -> None:
    assert settings.resolved_study_storage is None and not settings.shared_database  # SQLite: searches in memory
    pg = settings.model_copy(update={"database_url": "postgresql+psycopg://u@db/agentk"})
    assert pg.shared_database and pg.resolved_study_storage == pg.resolved_memory_url == pg.database_url
    own = pg.model_copy(update={"study_storage": "sqlite:///s.db", "memory_url": "/m.db"})
    assert own.resolved_study_storage == "sqlite:///s.db" and own.resolved_memory_url == "/m.db"
