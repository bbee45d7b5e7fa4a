"""Throughput of the executors on this machine: local worker processes vs a Ray cluster.

For each configuration it starts ``agentk serve`` on a fresh AGENTK_HOME and a fresh PostgreSQL schema (runs,
memory and Optuna studies there, as in a cluster), queues ``--runs`` runs of a built-in competition with a
``--budget`` through the API, and waits for all of them. It prints, per configuration:

* runs per hour: finished runs over the wall time from the first POST to the last run's end;
* trials per minute: search trials finished (``trial`` events in the runs' journals) over the same time;
* where the trials ran (Ray node ids recorded in the Optuna trials' user attributes).

Configurations: ``local`` (``--workers`` local processes), ``ray-1`` (a head node only) and ``ray-2`` (a head and
a second node process), each node with ``--cpus`` logical CPUs. Every node here shares the same physical cores,
so ``ray-2`` measures the executor's overhead and spreading, not more hardware; see the closing note it prints.

Run it niced on shared machines: ``nice -n 10 python benchmarks/scale_bench.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from dataclasses import dataclass
from pathlib import Path

import httpx
import optuna
from sqlalchemy import create_engine, text

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    schema = f"agentk_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextlib.contextmanager
def ray_cluster(nodes: int, cpus: int, workdir: Path) -> Iterator[str]:
    """``nodes`` Ray node processes on 127.0.0.1 (``ray start --block``, each in its own session)."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(tempfile.mkdtemp(prefix="akbench", dir="/tmp"))
    ray = str(Path(sys.executable).with_name("ray"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # a local test cluster
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(nodes):
            cmd = [
                ray,
                "start",
                "--block",
                f"--num-cpus={cpus}",
                "--object-store-memory=150000000",
                "--node-ip-address=127.0.0.1",
                f"--dashboard-agent-listen-port={free_port()}",
                "--disable-usage-stats",
            ]
            cmd += (
                ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}"]
                if i == 0
                else [f"--address={address}"]
            )
            with (workdir / f"ray-node{i}.log").open("ab") as log:
                procs.append(
                    subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                )
            wait_nodes(address, i + 1, env)
        yield address
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def wait_nodes(address: str, count: int, env: dict[str, str]) -> None:
    script = (
        "import sys, time, ray\n"
        f"ray.init(address='{address}', logging_level='ERROR', log_to_driver=False)\n"
        "end = time.time() + 90\n"
        f"while time.time() < end and sum(n['Alive'] for n in ray.nodes()) != {count}: time.sleep(0.5)\n"
        f"sys.exit(sum(n['Alive'] for n in ray.nodes()) != {count})\n"
    )
    for _ in range(30):
        if subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120).returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError(f"Ray did not reach {count} nodes")


@dataclass
class Outcome:
    name: str
    runs: int
    succeeded: int
    seconds: float
    trials: int
    nodes: int

    @property
    def runs_per_hour(self) -> float:
        return self.succeeded / self.seconds * 3600

    @property
    def trials_per_minute(self) -> float:
        return self.trials / self.seconds * 60


def measure(name: str, env_extra: dict[str, str], args: argparse.Namespace, workdir: Path) -> Outcome:
    home = workdir / name
    home.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AGENTK_HOME": str(home), "AGENTK_HEARTBEAT_TIMEOUT": "60", **env_extra}
    with (home / "server.log").open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "agentk.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        for _ in range(240):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                    break
            time.sleep(0.5)
        start = time.monotonic()
        body = {"competition": args.competition, "budget": args.budget, "folds": args.folds}
        ids = [httpx.post(f"{url}/api/runs", json=body, timeout=30).json()["id"] for _ in range(args.runs)]
        while True:
            runs = [httpx.get(f"{url}/api/runs/{i}", timeout=10).json() for i in ids]
            if all(r["state"] in TERMINAL for r in runs):
                break
            time.sleep(1)
        seconds = time.monotonic() - start
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    trials = 0
    for run_id in ids:
        journal = home / "runs" / run_id / "events.jsonl"
        trials += sum(json.loads(line)["type"] == "trial" for line in journal.read_text().splitlines() if line)
    storage = optuna.storages.RDBStorage(env["AGENTK_DATABASE_URL"], skip_table_creation=True)
    nodes = {
        str(t.user_attrs.get("node", t.user_attrs.get("host")))
        for s in storage.get_all_studies()
        for t in storage.get_all_trials(storage.get_study_id_from_name(s.study_name), deepcopy=False)
    }
    storage.engine.dispose()
    return Outcome(name, len(ids), sum(r["state"] == "SUCCEEDED" for r in runs), seconds, trials, len(nodes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--competition", default="churn")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--budget", type=float, default=45.0)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--cpus", type=int, default=4, help="logical CPUs per Ray node (room for search helpers)")
    parser.add_argument("--configs", default="local,ray-1,ray-2")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="agentk-scale-"))
    outcomes = []
    for name in args.configs.split(","):
        with pg_schema() as url:
            env = {"AGENTK_DATABASE_URL": url}
            if name == "local":
                outcomes.append(measure(name, env, args, workdir))
            else:
                with ray_cluster(int(name.split("-")[1]), args.cpus, workdir) as address:
                    # As many runs in flight as local workers: the comparison is of executors, not of concurrency.
                    env |= {
                        "AGENTK_EXECUTOR": "ray",
                        "AGENTK_RAY_ADDRESS": address,
                        "AGENTK_RAY_MAX_RUNS": str(args.workers),
                    }
                    outcomes.append(measure(name, env, args, workdir))
        print(f"  {name}: done", file=sys.stderr, flush=True)
    print(
        f"\n{args.runs} runs of {args.competition}, budget {args.budget:.0f}s, {args.folds} folds, "
        f"{os.cpu_count()} cores; local: {args.workers} workers; ray: {args.cpus} logical CPUs per node\n"
    )
    print(f"{'config':<8} {'ok':>5} {'wall s':>8} {'runs/h':>8} {'trials':>7} {'trials/min':>11} {'nodes used':>11}")
    for o in outcomes:
        print(
            f"{o.name:<8} {o.succeeded:>2}/{o.runs:<2} {o.seconds:>8.1f} {o.runs_per_hour:>8.1f} {o.trials:>7}"
            f" {o.trials_per_minute:>11.1f} {o.nodes:>11}"
        )
    print(f"\nlogs: {workdir}")


if __name__ == "__main__":
    main()
