"""Load on the API: SSE watchers and queued runs at once.

Starts ``agentk serve`` (a fresh AGENTK_HOME unless ``--home``), queues ``--runs`` runs on a built-in
competition, attaches ``--watchers`` SSE clients (spread over the runs, reconnecting with Last-Event-ID on
any error) and polls ``GET /api/runs/{id}`` while everything runs. Prints:

* events lost: events in a run's journal that one of its watchers never received (must be 0), and
  events received twice;
* p50/p99 latency of ``GET /api/runs/{id}`` under that load;
* runs per hour: finished runs over the wall time from the first POST to the last run's end.

Run it niced on shared machines: ``nice -n 10 python benchmarks/api_load.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agentk.runs import read_events

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


@dataclass
class Watcher:
    run_id: str
    seqs: list[int] = field(default_factory=list)
    end: str | None = None
    reconnects: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def watch(client: httpx.AsyncClient, watcher: Watcher, deadline: float) -> None:
    while watcher.end is None and time.monotonic() < deadline:
        last = watcher.seqs[-1] if watcher.seqs else 0
        try:
            async with client.stream(
                "GET", f"/api/runs/{watcher.run_id}/events", headers={"Last-Event-ID": str(last)}
            ) as response:
                response.raise_for_status()
                kind, data = "message", None
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:])
                    elif line == "" and data is not None:
                        if kind == "end":
                            watcher.end = data["state"]
                            return
                        watcher.seqs.append(int(data["seq"]))
                        kind, data = "message", None
        except (httpx.HTTPError, json.JSONDecodeError):
            pass
        watcher.reconnects += 1
        await asyncio.sleep(0.5)


async def probe(client: httpx.AsyncClient, run_ids: list[str], latencies: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        run_id = random.choice(run_ids)
        t0 = time.perf_counter()
        response = await client.get(f"/api/runs/{run_id}")
        latencies.append(time.perf_counter() - t0)
        response.raise_for_status()
        await asyncio.sleep(0.05)


async def main_async(args: argparse.Namespace, base: str, home: Path) -> int:
    limits = httpx.Limits(max_connections=args.watchers + 20, max_keepalive_connections=args.watchers + 20)
    timeout = httpx.Timeout(10.0, read=120.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        started = time.monotonic()
        run_ids = []
        for _ in range(args.runs):
            response = await client.post(
                "/api/runs", json={"competition": args.competition, "budget": args.budget, "folds": args.folds}
            )
            response.raise_for_status()
            run_ids.append(response.json()["id"])
        deadline = time.monotonic() + args.timeout
        watchers = [Watcher(run_ids[i % len(run_ids)]) for i in range(args.watchers)]
        watch_tasks = [asyncio.create_task(watch(client, w, deadline)) for w in watchers]
        latencies: list[float] = []
        stop = asyncio.Event()
        probes = [asyncio.create_task(probe(client, run_ids, latencies, stop)) for _ in range(args.probers)]

        finished: dict[str, dict[str, object]] = {}
        while len(finished) < len(run_ids) and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            for run_id in run_ids:
                if run_id not in finished:
                    run = (await client.get(f"/api/runs/{run_id}")).json()
                    if run["state"] in TERMINAL:
                        finished[run_id] = run
        elapsed = time.monotonic() - started
        await asyncio.wait_for(asyncio.gather(*watch_tasks), timeout=60)
        stop.set()
        await asyncio.gather(*probes)

    lost = duplicated = total = 0
    for w in watchers:
        journal = [e.seq for e in read_events(home / "runs" / w.run_id / "events.jsonl")]
        total += len(journal)
        lost += len(set(journal) - set(w.seqs))
        duplicated += len(w.seqs) - len(set(w.seqs))
    states = [str(r["state"]) for r in finished.values()]
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))] if ms else float("nan")
    succeeded = states.count("SUCCEEDED")
    print(
        f"runs: {len(run_ids)} queued on {args.competition} (budget {args.budget:g}s, {args.folds} folds), "
        f"{args.workers} workers; finished {len(finished)} ({succeeded} succeeded) in {elapsed:.1f}s"
    )
    print(
        f"SSE watchers: {args.watchers}; events delivered: {total - lost} of {total}; "
        f"reconnects: {sum(w.reconnects for w in watchers)}"
    )
    print(f"events lost: {lost}")
    print(f"events duplicated: {duplicated}")
    print(
        f"GET /api/runs/{{id}} latency under load: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms "
        f"({len(ms)} requests)"
    )
    print(f"runs per hour: {len(finished) / elapsed * 3600:.1f}")
    return 0 if lost == 0 and len(finished) == len(run_ids) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="local worker processes of the server")
    parser.add_argument("--competition", default="churn")
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--probers", type=int, default=4, help="concurrent GET /api/runs/{id} loops")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--home", type=Path, default=None, help="AGENTK_HOME (default: a fresh temporary one)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="agentk-api-load-"))
    port = free_port()
    env = {**os.environ, "AGENTK_HOME": str(home)}
    env.pop("AGENTK_API_TOKEN", None)
    with (home / "server.log").open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "agentk.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            print("the server did not become ready; see", home / "server.log", file=sys.stderr)
            return 2
        return asyncio.run(main_async(args, base, home))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
