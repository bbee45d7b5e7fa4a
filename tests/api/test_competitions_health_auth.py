"""Competitions, health probes, auth on and off, CORS, OpenAPI, the dashboard's files and ``serve``'s token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentk.api import create_app
from agentk.api.server import is_loopback, secure_settings
from agentk.config import Settings


def test_list_competitions_paginated(client: TestClient) -> None:
    page = client.get("/api/competitions").json()
    ids = [c["id"] for c in page["items"]]
    assert {"churn", "food-reviews", "hpc-jobs", "ames-housing"} <= set(ids) and page["total"] == len(ids)
    assert "path" not in page["items"][0]
    second = client.get("/api/competitions", params={"limit": 1, "offset": 1}).json()
    assert second["items"][0]["id"] == ids[1] and second["total"] == page["total"]
    churn = client.get("/api/competitions/churn").json()
    assert churn["metric"] == "auc" and churn["has_answers"] is True and churn["source"] == "builtin"
    assert client.get("/api/competitions/nope").status_code == 404
    assert client.get("/api/competitions/NOT_A_SLUG").status_code == 422


def test_leaderboard_scores_best_first(client: TestClient) -> None:
    board = client.get("/api/competitions/churn/leaderboard").json()
    assert board["higher_is_better"] is True and board["teams"] == len(board["scores"]) > 10
    assert board["scores"] == sorted(board["scores"], reverse=True)
    assert client.get("/api/competitions/nope/leaderboard").status_code == 404


def test_register_competition_then_run_it(client: TestClient, make_competition: Any) -> None:
    folder = make_competition()
    response = client.post("/api/competitions", json={"path": str(folder)})
    assert response.status_code == 201, response.text
    assert response.json()["id"] == "synthetic-binary"
    assert response.headers["location"] == "/api/competitions/synthetic-binary"
    assert client.get("/api/competitions/synthetic-binary").json()["has_answers"] is True
    run = client.post("/api/runs", json={"competition": "synthetic-binary", "budget": 5})
    assert run.status_code == 202


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("relative/path", "invalid_path"),
        ("/no/such/folder", "invalid_competition"),
        ("/tmp", "invalid_competition"),
        ("/a\x00b", "invalid_path"),
        ("/" + "x" * 300, "invalid_path"),
    ],
)
def test_register_bad_folders(client: TestClient, path: str, code: str) -> None:
    response = client.post("/api/competitions", json={"path": path})
    assert response.status_code == 422 and response.json()["code"] == code, response.text


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "checks": {}}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "runs_dir": "ok", "workers": "disabled (AGENTK_WORKERS=0)"}


def test_ready_is_503_when_the_runs_folder_is_not_writable(settings: Settings, tmp_path: Any) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with TestClient(create_app(settings.model_copy(update={"runs_dir": blocked / "runs"}), workers=0)) as c:
        response = c.get("/ready")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert response.json()["checks"]["runs_dir"].startswith("not writable")


def test_auth_off_by_default(client: TestClient) -> None:
    assert client.get("/api/runs").status_code == 200


ROUTES = [
    ("GET", "/api/runs"),
    ("POST", "/api/runs"),
    ("GET", "/api/runs/20200101-000000-abcdef"),
    ("POST", "/api/runs/20200101-000000-abcdef/cancel"),
    ("GET", "/api/runs/20200101-000000-abcdef/events"),
    ("GET", "/api/runs/20200101-000000-abcdef/artifacts"),
    ("GET", "/api/runs/20200101-000000-abcdef/artifacts/result.json"),
    ("POST", "/api/runs/20200101-000000-abcdef/predict"),
    ("GET", "/api/competitions"),
    ("POST", "/api/competitions"),
    ("GET", "/api/competitions/churn"),
    ("GET", "/api/competitions/churn/leaderboard"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_api_route_needs_the_token_when_set(authed_client: TestClient, method: str, path: str) -> None:
    missing = authed_client.request(method, path, json={})
    assert missing.status_code == 401 and missing.json()["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = authed_client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "test-token" not in wrong.text
    right = authed_client.request(method, path, json={}, headers={"Authorization": "Bearer test-token-0123456789"})
    assert right.status_code != 401


def test_token_in_query_only_for_streams_and_files(authed_client: TestClient) -> None:
    token = {"access_token": "test-token-0123456789"}
    assert authed_client.get("/api/runs/20200101-000000-abcdef/events", params=token).status_code == 404
    assert authed_client.get("/api/runs/20200101-000000-abcdef/artifacts", params=token).status_code == 404
    assert authed_client.get("/api/runs", params=token).status_code == 401


def test_probes_docs_and_dashboard_need_no_token(authed_client: TestClient) -> None:
    for path in ("/health", "/ready", "/openapi.json", "/docs", "/", "/static/app.js", "/static/style.css"):
        assert authed_client.get(path).status_code == 200, path
    page = authed_client.get("/").text
    assert "new-run-form" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no CDN: everything comes from this server


def test_static_files_reference_nothing_remote(client: TestClient) -> None:
    for path in ("/static/app.js", "/static/style.css"):
        text = client.get(path).text
        assert "https://" not in text and "//cdn" not in text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")


def test_cors_origins_from_settings(settings: Settings) -> None:
    allowed = settings.model_copy(update={"cors_origins": ["http://dash.example"]})
    with TestClient(create_app(allowed, workers=0)) as c:
        ok = c.options("/api/runs", headers={"Origin": "http://dash.example", "Access-Control-Request-Method": "POST"})
        assert ok.headers["access-control-allow-origin"] == "http://dash.example"
        other = c.get("/api/runs", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    with TestClient(create_app(settings, workers=0)) as c:
        assert "access-control-allow-origin" not in c.get("/api/runs", headers={"Origin": "http://x"}).headers


def test_openapi_documents_every_route_and_error_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ops = {(m.upper(), p) for p, item in schema["paths"].items() for m in item}
    expected = {
        (
            m,
            p.replace("20200101-000000-abcdef", "{run_id}")
            .replace("churn", "{competition_id}")
            .replace("result.json", "{path}"),
        )
        for m, p in ROUTES
    }
    assert expected | {("GET", "/health"), ("GET", "/ready")} == ops
    for path, item in schema["paths"].items():
        for op in item.values():
            assert op.get("description") or op.get("summary"), path
    assert schema["paths"]["/api/runs"]["post"]["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


def test_internal_errors_hide_details(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentk.runs import RunStore

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret connection string postgres://u:p@h")

    monkeypatch.setattr(RunStore, "count", boom)
    with TestClient(create_app(settings, workers=0), raise_server_exceptions=False) as c:
        response = c.get("/api/runs")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error" and "secret" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("example.com", False),
    ],
)
def test_serve_generates_a_token_off_loopback(settings: Settings, host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    secured, generated = secure_settings(settings, host)
    if loopback:
        assert generated is None and secured.api_token is None
    else:
        assert generated is not None and len(generated) >= 32
        assert secured.api_token is not None and secured.api_token.get_secret_value() == generated
        assert generated not in repr(secured)
    preset = settings.model_copy(update={"api_token": __import__("pydantic").SecretStr("mine-123")})
    assert secure_settings(preset, host) == (preset, None)
