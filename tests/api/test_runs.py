"""Runs routes in process (no workers: runs stay QUEUED unless a test moves them)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentk.config import Settings
from agentk.runs import EventJournal, RunState, RunStore


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/runs", json={"competition": "churn", "budget": 20, "folds": 2, **body})
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_create_returns_202_location_and_queued_run(client: TestClient) -> None:
    response = client.post(
        "/api/runs",
        json={"competition": "churn", "budget": 30, "folds": 3, "seed": 7, "overrides": {"target": "churn"}},
    )
    assert response.status_code == 202
    run = response.json()
    assert run["state"] == "QUEUED" and run["competition"] == "churn" and run["budget"] == 30
    assert run["options"] == {"folds": 3, "seed": 7, "overrides": {"target": "churn"}}
    assert response.headers["location"] == f"/api/runs/{run['id']}"
    assert "out_dir" not in run  # server paths stay on the server
    assert client.get(response.headers["location"]).json()["id"] == run["id"]


def test_create_uses_setting_defaults(client: TestClient, settings: Settings) -> None:
    run = client.post("/api/runs", json={"competition": "churn"}).json()
    assert run["budget"] == settings.budget and run["options"]["folds"] == settings.folds


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({"competition": "no-such-competition"}, 422, "unknown_competition", "unknown competition"),
        ({"competition": "https://example.com/competitions/titanic"}, 422, "invalid_competition", "not www.kaggle.com"),
        ({"competition": "ftp://www.kaggle.com/c/x"}, 422, "invalid_competition", "scheme"),
        ({"competition": "churn", "budget": 0}, 422, "invalid_request", "body.budget"),
        ({"competition": "churn", "budget": -5}, 422, "invalid_request", "greater than 0"),
        ({"competition": "churn", "budget": "soon"}, 422, "invalid_request", "body.budget"),
        ({"competition": "churn", "budget": 10**9}, 422, "invalid_request", "body.budget"),
        ({"competition": "churn", "folds": 1}, 422, "invalid_request", "body.folds"),
        ({"competition": ""}, 422, "invalid_request", "body.competition"),
        ({"competition": "churn", "colour": "red"}, 422, "invalid_request", "body.colour"),
        ({"competition": "churn", "reasoner": "gpt"}, 422, "invalid_request", "body.reasoner"),
        ({"competition": "churn", "overrides": {"task_type": "poetry"}}, 422, "invalid_request", "task_type"),
        ({}, 422, "invalid_request", "body.competition"),
    ],
)
def test_bad_run_requests_get_clear_4xx(
    client: TestClient, body: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    response = client.post("/api/runs", json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["code"] == code and fragment in error["message"]
    assert client.get("/api/runs").json()["total"] == 0  # nothing was recorded


def test_a_folder_path_is_refused(client: TestClient, make_competition: Any) -> None:
    folder = make_competition()
    response = client.post("/api/runs", json={"competition": str(folder)})
    assert response.status_code == 422
    assert "POST /api/competitions" in response.json()["hint"]


def test_malformed_json_and_oversized_body(client: TestClient, settings: Settings) -> None:
    bad = client.post("/api/runs", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    big = b'{"competition": "churn", "pad": "' + b"x" * settings.max_request_bytes + b'"}'
    response = client.post("/api/runs", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"

    def chunks() -> Any:  # no Content-Length: the limit still holds
        for _ in range(settings.max_request_bytes // 65536 + 2):
            yield b"x" * 65536

    streamed = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_list_filters_and_paginates(client: TestClient, settings: Settings) -> None:
    ids = [_create(client)["id"] for _ in range(5)]
    store = RunStore(settings.resolved_database_url)
    store.transition(ids[0], RunState.RUNNING)
    store.transition(ids[0], RunState.SUCCEEDED, cv_score=0.8)
    store.dispose()
    page = client.get("/api/runs", params={"limit": 2, "offset": 0}).json()
    assert page["total"] == 5 and page["limit"] == 2 and len(page["items"]) == 2
    everything = client.get("/api/runs", params={"limit": 2, "offset": 2}).json()["items"]
    everything += client.get("/api/runs", params={"limit": 2, "offset": 4}).json()["items"]
    assert len(page["items"] + everything) == 5
    assert {r["id"] for r in page["items"] + everything} == set(ids)
    done = client.get("/api/runs", params={"state": "SUCCEEDED"}).json()
    assert done["total"] == 1 and done["items"][0]["id"] == ids[0] and done["items"][0]["cv_score"] == 0.8
    assert client.get("/api/runs", params={"state": "QUEUED"}).json()["total"] == 4
    for params in ({"state": "DONE"}, {"limit": 0}, {"limit": 501}, {"offset": -1}):
        response = client.get("/api/runs", params=params)
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_get_unknown_run(client: TestClient) -> None:
    response = client.get("/api/runs/20200101-000000-abcdef")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get("/api/runs/bad id!").status_code in (404, 422)


def test_cancel_queued_run_at_once(client: TestClient) -> None:
    run = _create(client)
    response = client.post(f"/api/runs/{run['id']}/cancel")
    assert response.status_code == 202 and response.json()["state"] == "CANCELLED"
    again = client.post(f"/api/runs/{run['id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert client.post("/api/runs/20200101-000000-abcdef/cancel").status_code == 404


def test_cancel_running_run_flags_it_for_its_worker(client: TestClient, settings: Settings) -> None:
    run = _create(client)
    store = RunStore(settings.resolved_database_url)
    assert store.claim("elsewhere:1") is not None
    response = client.post(f"/api/runs/{run['id']}/cancel")
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "RUNNING" and body["cancel_requested"] is True
    assert store.heartbeat(run["id"], "elsewhere:1") == (True, True)
    store.dispose()


def test_events_of_a_queued_run_then_cancelled(client: TestClient, sse: Any) -> None:
    run = _create(client)
    empty = client.get(f"/api/runs/{run['id']}/events", params={"follow": "false"})
    assert empty.status_code == 200 and empty.headers["content-type"].startswith("text/event-stream")
    assert sse(empty.text) == [{"event": "end", "data": {"state": "QUEUED"}}]
    client.post(f"/api/runs/{run['id']}/cancel")
    events = sse(client.get(f"/api/runs/{run['id']}/events").text)  # follows until the final event
    assert [e["event"] for e in events] == ["message", "end"]
    assert events[0]["data"]["data"]["state"] == "CANCELLED" and events[1]["data"] == {"state": "CANCELLED"}


def test_store_migrates_a_table_from_before_the_service_columns(tmp_path: Any) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE agentk_runs (id VARCHAR(32) PRIMARY KEY, competition VARCHAR(300), state VARCHAR(16),"
            " budget FLOAT, out_dir TEXT, created_at DATETIME, started_at DATETIME, finished_at DATETIME,"
            " cv_score FLOAT, test_score FLOAT, rank INTEGER, teams INTEGER, beats_pct FLOAT, medal VARCHAR(16),"
            " error TEXT, options TEXT)"
        )
        db.execute(
            "INSERT INTO agentk_runs (id, competition, state, budget, out_dir, options) "
            "VALUES ('old', 'churn', 'QUEUED', 5, '/tmp/x', '{}')"
        )
    store = RunStore(f"sqlite:///{path}")
    record = store.claim("me:1")
    assert record is not None and record.id == "old" and record.attempts == 1 and record.worker == "me:1"
    store.dispose()


def test_journal_events_stream_and_resume(client: TestClient, settings: Settings, sse: Any) -> None:
    run = _create(client)
    store = RunStore(settings.resolved_database_url)
    journal = EventJournal(__import__("pathlib").Path(store.get(run["id"]).out_dir) / "events.jsonl")
    store.dispose()
    for i in range(5):
        journal.append("log", f"line {i}", phase="setup")
    url = f"/api/runs/{run['id']}/events"
    first = sse(client.get(url, params={"follow": "false"}).text)
    assert [e["id"] for e in first[:-1]] == ["1", "2", "3", "4", "5"]
    assert [e["data"]["message"] for e in first[:-1]] == [f"line {i}" for i in range(5)]
    resumed = sse(client.get(url, params={"follow": "false"}, headers={"Last-Event-ID": "3"}).text)
    assert [e["id"] for e in resumed[:-1]] == ["4", "5"]
    by_query = sse(client.get(url, params={"follow": "false", "after": 4}).text)
    assert [e["id"] for e in by_query[:-1]] == ["5"]
    with journal.path.open("a") as fh:  # a torn last line (a worker killed mid-write) is never sent
        fh.write('{"seq": 6, "ts": "x", "ty')
    assert [e["id"] for e in sse(client.get(url, params={"follow": "false"}).text)[:-1]] == ["1", "2", "3", "4", "5"]
    bad = client.get(url, headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422
