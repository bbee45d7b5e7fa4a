"""Restart the server (SIGKILL) mid-run: the run crashes, is requeued, resumes and succeeds; no event is lost."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from agentk.runs import read_events


class Watcher(threading.Thread):
    """An SSE client that reconnects with Last-Event-ID until it sees the ``end`` event."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.events: list[dict[str, Any]] = []
        self.end: dict[str, Any] | None = None
        self.reconnects = 0

    def run(self) -> None:
        deadline = time.monotonic() + 240
        while self.end is None and time.monotonic() < deadline:
            last = self.events[-1]["seq"] if self.events else 0
            try:
                with httpx.stream(
                    "GET", self.url, headers={"Last-Event-ID": str(last)}, timeout=httpx.Timeout(5, read=60)
                ) as response:
                    if response.status_code != 200:
                        raise httpx.HTTPError(str(response.status_code))
                    kind, data = "message", None
                    for line in response.iter_lines():
                        if line.startswith("event:"):
                            kind = line[6:].strip()
                        elif line.startswith("data:"):
                            data = json.loads(line[5:])
                        elif line == "" and data is not None:
                            if kind == "end":
                                self.end = data
                                return
                            self.events.append(data)
                            kind, data = "message", None
            except httpx.HTTPError:
                pass
            self.reconnects += 1
            time.sleep(0.3)


def test_server_killed_mid_run_loses_no_run_and_no_event(live_server: Callable[..., Any]) -> None:
    first = live_server(workers=1)
    created = httpx.post(f"{first.url}/api/runs", json={"competition": "churn", "budget": 20, "folds": 2}, timeout=30)
    assert created.status_code == 202, created.text
    run_id = created.json()["id"]
    watcher = Watcher(f"{first.url}/api/runs/{run_id}/events")
    watcher.start()
    deadline = time.monotonic() + 120
    while not any(e["type"] == "model" for e in watcher.events):
        assert time.monotonic() < deadline, first.log_tail()
        time.sleep(0.1)

    first.kill()  # no shutdown hook runs: the worker finds its parent gone and ends itself
    second = live_server(port=first.port, workers=1)
    run = second.wait_for(run_id, lambda r: r["state"] == "SUCCEEDED", timeout=180)
    watcher.join(60)

    assert run["attempts"] == 2 and run["test_score"] is not None and run["rank"] is not None
    assert watcher.end == {"state": "SUCCEEDED"} and watcher.reconnects >= 1
    out_dir = Path(second.home) / "runs" / run_id
    journal = [json.loads(e.to_json()) for e in read_events(out_dir / "events.jsonl")]
    assert watcher.events == journal  # every event, once, in order, identical
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    states = [e["data"]["state"] for e in journal if e["type"] == "run" and "state" in e["data"]]
    assert states == ["CRASHED", "QUEUED", "SUCCEEDED"]
