"""The Ray executor on a real two-node cluster with PostgreSQL: four runs through the API, trials on both nodes,
one node killed mid-run, every run finished, no event lost, results shaped like a local run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import optuna
import pytest

from agentk.agent.runner import run_competition
from agentk.config import get_settings
from agentk.runs import read_events
from tests.runs.conftest import RAY_TEST_ENV

pytest.importorskip("ray")

RUNS = 4
# Seconds per run on the cluster: four runs and their helpers share two cores, so a run's baselines can take a
# third of a 45-s budget and the policy then skips the search (seen in CI); 90 s leaves every run a search.
BUDGET = 90
LOCAL_BUDGET = 45  # the local run the results are compared with (alone on the machine)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ray_server(ray_cluster: Any, pg_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The API (one executor: Ray) on a free port; yields its URL and the environment it runs with."""
    ray_cluster.add_node(cpus=8)
    port = _free_port()
    env = {
        **os.environ,
        "AGENTK_EXECUTOR": "ray",
        "AGENTK_RAY_ADDRESS": ray_cluster.address,
        "AGENTK_DATABASE_URL": pg_url,
        "AGENTK_SEARCH_TRIALS": "10",
        "AGENTK_HEARTBEAT_INTERVAL": "0.5",
        "AGENTK_HEARTBEAT_TIMEOUT": "60",
        **RAY_TEST_ENV,
    }
    with (tmp_path / "server.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentk.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _ready(url), 90, "the server to be ready", proc, tmp_path)
        yield url, env
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _ready(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/ready", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and "2 node(s)" in response.json()["checks"]["workers"]


def _wait(
    predicate: Any, timeout: float, what: str | Callable[[], str], proc: Any = None, logs: Path | None = None
) -> None:
    """Wait for ``predicate``; ``what`` (or what it returns, when callable: the state at the time out) says why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.5)
    tail = (logs / "server.log").read_text(errors="replace")[-3000:] if logs else ""
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}\n{tail}")


def _trial_nodes(pg_url: str) -> dict[str, set[str]]:
    """``{run_id: {node ids}}`` of every finished or running trial recorded in the shared Optuna storage."""
    storage = optuna.storages.RDBStorage(pg_url, skip_table_creation=True)
    try:
        nodes: dict[str, set[str]] = {}
        for study in storage.get_all_studies():
            run_id = study.study_name.rsplit("-a", 1)[0]
            for trial in storage.get_all_trials(storage.get_study_id_from_name(study.study_name), deepcopy=False):
                if "node" in trial.user_attrs:
                    nodes.setdefault(run_id, set()).add(str(trial.user_attrs["node"]))
        return nodes
    finally:
        storage.remove_session()
        storage.engine.dispose()


def _runs(url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = httpx.get(f"{url}/api/runs", timeout=10).json()["items"]
    return items


@pytest.mark.postgres
def test_four_runs_on_two_nodes_survive_losing_one(
    ray_server: tuple[str, dict[str, str]], ray_cluster: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = ray_server
    ids = []
    for _ in range(RUNS):
        response = httpx.post(
            f"{url}/api/runs", json={"competition": "churn", "budget": BUDGET, "folds": 2}, timeout=30
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    # Trials of one run on both nodes, then the second node dies mid-run.
    _wait(
        lambda: any(len(n) >= 2 for n in _trial_nodes(pg_url).values()),
        150,
        lambda: f"trials of one run on both nodes (seen: {_trial_nodes(pg_url)})",
    )
    spread = {run: nodes for run, nodes in _trial_nodes(pg_url).items() if len(nodes) >= 2}
    ray_cluster.kill_node(1)

    _wait(lambda: all(r["state"] in ("SUCCEEDED", "FAILED", "CANCELLED") for r in _runs(url)), 240, "every run")
    runs = {r["id"]: r for r in _runs(url)}
    assert sorted(runs) == sorted(ids)
    assert {r["state"] for r in runs.values()} == {"SUCCEEDED"}, runs
    assert spread

    settings = get_settings().model_copy(update={"database_url": pg_url})
    crashed = 0
    for run_id in ids:
        record_dir = _out_dir(settings, run_id)
        events = read_events(record_dir / "events.jsonl")
        assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no event lost, none reused
        states = [e.data["state"] for e in events if e.type == "run" and "state" in e.data]
        assert states[-1] == "SUCCEEDED" and sum(s == "SUCCEEDED" for s in states) == 1
        if "CRASHED" in states:  # a run that was on the lost node: crashed, requeued, finished on the head
            crashed += 1
            assert states == ["CRASHED", "QUEUED", "SUCCEEDED"]
        result = json.loads((record_dir / "result.json").read_text())
        assert result["state"] == "SUCCEEDED" and (record_dir / "submission.csv").is_file()
    assert crashed >= 1  # the node was lost while it held a run

    # The same code gives the same shape locally (in this process, SQLite, no cluster).
    monkeypatch.setenv("AGENTK_SEARCH_TRIALS", "2")
    local = run_competition("churn", budget=LOCAL_BUDGET, folds=2)
    assert local.ok
    ray_dir = _out_dir(settings, ids[0])
    ray_result = json.loads((ray_dir / "result.json").read_text())
    assert _shape(ray_result) == _shape(local.result)
    ray_events, local_events = read_events(ray_dir / "events.jsonl"), read_events(local.out_dir / "events.jsonl")
    # The policy's path depends on time left, so the sequences may differ; the kinds of events may not.
    core = {"run", "competition", "phase", "task", "check", "model", "score", "search", "trial", "submission", "grade"}
    assert core <= {e.type for e in ray_events} and core <= {e.type for e in local_events}
    assert all("started on churn" in events[0].message for events in (ray_events, local_events))
    assert ray_events[-1].data == local_events[-1].data == {"state": "SUCCEEDED"}


def _out_dir(settings: Any, run_id: str) -> Path:
    from agentk.runs import RunStore

    store = RunStore(settings.resolved_database_url)
    try:
        return Path(store.get(run_id).out_dir)
    finally:
        store.dispose()


def _shape(value: Any) -> Any:
    """The JSON schema of a value, loosely: dict keys and element shapes, not the values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k not in ("models", "timings")}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


def test_prepare_warms_a_worker_on_every_node(ray_cluster: Any) -> None:
    """RayTrialWorkers.prepare sends one warm-up task per alive node; each imports the search and reports its node."""
    ray_cluster.add_node(cpus=2)
    script = (
        "import json, ray\n"
        f"ray.init(address='{ray_cluster.address}', logging_level='ERROR', log_to_driver=False)\n"
        "from agentk.runs.ray_trials import RayTrialWorkers, alive_nodes\n"
        "workers = RayTrialWorkers('postgresql://unused', 'run-a1')\n"
        "workers.prepare()\n"
        "places = ray.get(workers.warming, timeout=120)\n"
        "print(json.dumps({'alive': alive_nodes(), 'warmed': sorted(p['node'] for p in places)}))\n"
    )
    env = {**os.environ, **RAY_TEST_ENV}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(seen["alive"]) == 2 and seen["warmed"] == seen["alive"]
