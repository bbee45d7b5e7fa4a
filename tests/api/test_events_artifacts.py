"""Live SSE (tailing a journal written by another thread), keep-alives, and path-safe artifacts."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from agentk.api import create_app
from agentk.config import Settings
from agentk.runs import EventJournal, RunState, RunStore


def _run_dir(client: TestClient, settings: Settings) -> tuple[str, Path]:
    run = client.post("/api/runs", json={"competition": "churn", "budget": 20}).json()
    store = RunStore(settings.resolved_database_url)
    out = Path(store.get(run["id"]).out_dir)
    store.dispose()
    return str(run["id"]), out


def test_live_stream_follows_appends_sends_keepalives_and_ends(settings: Settings, sse: Any) -> None:
    fast = settings.model_copy(update={"sse_keepalive": 0.3})
    with TestClient(create_app(fast, workers=0)) as client:
        run_id, out = _run_dir(client, fast)
        journal = EventJournal(out / "events.jsonl")

        def write() -> None:
            for i in range(6):
                time.sleep(0.15 if i != 3 else 1.0)  # one quiet second: keep-alive comments
                journal.append("log", f"event {i}")
            journal.append("run", "done", state=RunState.SUCCEEDED.value)

        writer = threading.Thread(target=write)
        writer.start()
        with client.stream("GET", f"/api/runs/{run_id}/events") as response:
            body = "".join(response.iter_text())
        writer.join()
    assert ": keep-alive" in body
    events = sse(body)
    assert [e["data"]["message"] for e in events[:-1]] == [f"event {i}" for i in range(6)] + ["done"]
    assert events[-1] == {"event": "end", "data": {"state": "SUCCEEDED"}}


def test_artifacts_list_and_download_are_path_safe(client: TestClient, settings: Settings) -> None:
    run_id, out = _run_dir(client, settings)
    out.mkdir(parents=True, exist_ok=True)
    (out / "submission.csv").write_text("id,target\n1,0\n")
    (out / "result.json").write_text('{"state": "SUCCEEDED"}')
    (out / "plots").mkdir()
    (out / "plots" / "cv.svg").write_text("<svg/>")
    (out / "traceback.txt").write_text("Traceback: secret internals")
    (out / "input").mkdir()
    (out / "input" / "train.csv").write_text("a\n1\n")
    (out / "escape.csv").symlink_to("/etc/hostname")
    listing = client.get(f"/api/runs/{run_id}/artifacts")
    assert listing.status_code == 200
    assert [a["path"] for a in listing.json()] == ["plots/cv.svg", "result.json", "submission.csv"]
    sub = client.get(f"/api/runs/{run_id}/artifacts/submission.csv")
    assert (
        sub.status_code == 200 and sub.text == "id,target\n1,0\n" and sub.headers["content-type"].startswith("text/csv")
    )
    assert client.get(f"/api/runs/{run_id}/artifacts/result.json").json() == {"state": "SUCCEEDED"}
    assert client.get(f"/api/runs/{run_id}/artifacts/plots/cv.svg").status_code == 200
    for bad in (
        "traceback.txt",
        "input/train.csv",
        "escape.csv",
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "nope.csv",
        "plots/../../x",
    ):
        response = client.get(f"/api/runs/{run_id}/artifacts/{bad}")
        assert response.status_code == 404, bad
        assert "Traceback" not in response.text
    assert client.get("/api/runs/20200101-000000-abcdef/artifacts").status_code == 404


def test_artifacts_of_a_run_that_wrote_nothing(client: TestClient, settings: Settings) -> None:
    run_id, _ = _run_dir(client, settings)
    assert client.get(f"/api/runs/{run_id}/artifacts").json() == []
