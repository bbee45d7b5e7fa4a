"""Fixtures of the run-service tests: a PostgreSQL schema of one's own and a real two-node Ray cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL whose search path is a fresh schema (dropped afterwards): other tests share the database."""
    schema = f"agentk_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # no server: a broken set-up in CI, a skip elsewhere
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not available: {exc}")
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not available: {type(exc).__name__}")
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Ray >= 2.5x enables token authentication when ~/.ray/auth_token exists (a local ``ray.init()`` writes one); a
# test cluster on 127.0.0.1 then refuses its own drivers. The test cluster and its clients opt out alike.
RAY_TEST_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


@dataclass
class RayCluster:
    """A Ray cluster on 127.0.0.1: a head and further nodes, each ``ray start --block`` in its own session.

    Each node is a separate raylet with its own worker processes; :meth:`kill_node` SIGKILLs one node's process
    group (its raylet; its workers end when their raylet is gone), as a machine failure would.
    """

    temp_dir: Path
    port: int = field(default_factory=free_port)
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {**os.environ, **RAY_TEST_ENV, "RAY_DEDUP_LOGS": "0"}

    def add_node(self, *, cpus: int, object_store_mb: int = 100) -> None:
        head = not self.nodes
        ray = str(Path(sys.executable).with_name("ray"))
        cmd = [
            ray,
            "start",
            "--block",
            f"--num-cpus={cpus}",
            f"--object-store-memory={object_store_mb * 1024 * 1024}",
            "--node-ip-address=127.0.0.1",
            f"--dashboard-agent-listen-port={free_port()}",
            "--disable-usage-stats",
        ]
        if head:
            cmd += [
                "--head",
                f"--port={self.port}",
                "--include-dashboard=false",
                f"--temp-dir={self.temp_dir}",
            ]
        else:
            cmd += [f"--address={self.address}"]
        with (self.temp_dir / f"node{len(self.nodes)}.log").open("ab") as log:
            proc = subprocess.Popen(cmd, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(proc)
        self.wait_for_nodes(len(self.nodes))

    def wait_for_nodes(self, count: int, timeout: float = 90.0) -> None:
        """Block until the cluster has exactly ``count`` alive nodes (asked from a separate driver process)."""
        script = (
            "import sys, time, ray\n"
            f"ray.init(address='{self.address}', logging_level='ERROR', log_to_driver=False)\n"
            f"end = time.time() + {timeout}\n"
            "while time.time() < end:\n"
            f"    if sum(1 for n in ray.nodes() if n['Alive']) == {count}: sys.exit(0)\n"
            "    time.sleep(0.5)\n"
            "sys.exit(1)\n"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # the head's GCS may not be listening yet
            if self.nodes[0].poll() is not None:
                break
            try:
                done = subprocess.run([sys.executable, "-c", script], env=self._env(), capture_output=True, timeout=60)
            except subprocess.TimeoutExpired:
                continue
            if done.returncode == 0:
                return
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not reach {count} alive nodes: {self.log_tail()}")

    def kill_node(self, index: int) -> None:
        proc = self.nodes[index]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in reversed(self.nodes):  # workers first, the head (and its GCS) last
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.nodes):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(self.temp_dir.glob("node*.log")))


@pytest.fixture
def ray_cluster() -> Iterator[RayCluster]:
    """A head node with 8 logical CPUs (room for 4 runs and their search helpers on two nodes, whatever the cores);
    tests add nodes. The temp dir is short: Ray's socket paths must fit."""
    temp_dir = Path(tempfile.mkdtemp(prefix="akray", dir="/tmp"))
    cluster = RayCluster(temp_dir)
    try:
        cluster.add_node(cpus=8)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
