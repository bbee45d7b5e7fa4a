"""Property-based tests of every operation against the OpenAPI schema (schemathesis): no 5xx, responses conform.

The app runs with no workers (AGENTK_WORKERS=0), so the runs schemathesis queues stay QUEUED and cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from agentk.api import create_app
from agentk.config import Settings


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, make_competition_module: Path) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("schemathesis_home")
    app = create_app(Settings(home=home, budget=10), workers=0)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def make_competition_module() -> Path:
    return Path(__file__)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_conforms(case: Any) -> None:
    case.call_and_validate()
