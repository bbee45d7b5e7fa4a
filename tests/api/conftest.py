"""Fixtures of the API tests: an in-process client (no workers) and a real server in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from agentk.api import create_app
from agentk.config import Settings, get_settings

TOKEN = "test-token-0123456789"


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with auth off and no workers: runs stay QUEUED."""
    with TestClient(create_app(settings, workers=0)) as c:
        yield c


@pytest.fixture
def authed_client(settings: Settings) -> Iterator[TestClient]:
    """The app with an API token set (and no workers)."""
    secured = settings.model_copy(update={"api_token": SecretStr(TOKEN)})
    with TestClient(create_app(secured, workers=0)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """``agentk serve`` in a subprocess, on a free loopback port, with this test's AGENTK_HOME."""

    home: Path
    port: int
    workers: int = 1
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "AGENTK_HOME": str(self.home), **self.env_extra}
        with (self.home / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentk.cli", "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill it and its workers without touching pytest
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server process only (its workers notice their parent is gone)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # workers of a killed server end themselves; make sure
            os.killpg(self.proc.pid, signal.SIGKILL)

    def log_tail(self) -> str:
        return (self.home / "server.log").read_text(errors="replace")[-3000:]

    def wait_for(self, run_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                run = httpx.get(f"{self.url}/api/runs/{run_id}", timeout=5).json()
                if predicate(run):
                    return run
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"timed out; last run state {run.get('state')}: {self.log_tail()}")


@pytest.fixture
def live_server(settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def make(port: int | None = None, workers: int = 1, **env: str) -> LiveServer:
        server = LiveServer(settings.home, port or free_port(), workers, env)
        settings.home.mkdir(parents=True, exist_ok=True)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The events of an SSE body: ``{"id", "event", "data"}`` per block; comments and ``retry`` skipped."""
    out: list[dict[str, Any]] = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            if name in ("id", "event", "data"):
                fields[name] = value.removeprefix(" ")
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
            fields.setdefault("event", "message")
            out.append(fields)
    return out


@pytest.fixture
def sse() -> Callable[[str], list[dict[str, Any]]]:
    """The SSE parser, as a fixture (test modules cannot import from conftest)."""
    return parse_sse
