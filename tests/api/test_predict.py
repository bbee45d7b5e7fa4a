"""POST /api/runs/{id}/predict: a run's student (else its model) predicts posted CSV or JSON rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from agentk.agent.model_io import MODEL_FILE, load_model, save_model
from agentk.api import create_app
from agentk.competitions import infer_task
from agentk.config import Settings
from agentk.runs import RunStore
from agentk.tools.crossval import cross_validate
from agentk.tools.cv import Deadline, make_folds
from agentk.tools.target import TargetCodec

TOKEN = "test-token-0123456789"


def _run_dir(client: TestClient, settings: Settings, headers: dict[str, str] | None = None) -> tuple[str, Path]:
    run = client.post("/api/runs", json={"competition": "churn", "budget": 20}, headers=headers or {}).json()
    store = RunStore(settings.resolved_database_url)
    out = Path(store.get(run["id"]).out_dir)
    store.dispose()
    out.mkdir(parents=True, exist_ok=True)
    return str(run["id"]), out


@pytest.fixture
def folder(make_competition: Callable[..., Path]) -> Path:
    return make_competition(task="multiclass", metric="accuracy higher", n_train=240, n_test=60)


def _save_teacher(folder: Path, out: Path) -> None:
    """What a run leaves behind: its model.joblib (a 3-fold LightGBM here)."""
    train = pd.read_csv(folder / "public" / "train.csv")
    test = pd.read_csv(folder / "public" / "test.csv")
    sample = pd.read_csv(folder / "public" / "sample_submission.csv")
    spec = infer_task(train, test, sample, metric="accuracy", higher_is_better=True)
    y = train[spec.target]
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), spec.task_type, 3, 0)
    result = cross_validate(
        "lightgbm", train, test, y, codec, folds, Deadline(60), params={"max_rounds": 30}, keep_models=True
    )
    save_model(out / MODEL_FILE, result, spec, codec)


def test_a_run_serves_its_student_else_its_model(client: TestClient, settings: Settings, folder: Path) -> None:
    from agentk.distill import STUDENT_FILE, fit_student, load_student

    run_id, out = _run_dir(client, settings)
    csv_body = (folder / "public" / "test.csv").read_bytes()
    test = pd.read_csv(folder / "public" / "test.csv")

    missing = client.post(f"/api/runs/{run_id}/predict", content=csv_body, headers={"Content-Type": "text/csv"})
    assert missing.status_code == 409 and missing.json()["code"] == "no_model"

    _save_teacher(folder, out)
    rows = test.head(5).to_dict(orient="records")
    by_model = client.post(f"/api/runs/{run_id}/predict", json={"rows": rows})
    assert by_model.status_code == 200, by_model.text
    body = by_model.json()
    assert body["model"] == "model" and body["rows"] == 5 and body["columns"] == ["id", "target"]
    expected = load_model(out / MODEL_FILE).predict_frame(test.head(5))
    assert [p["target"] for p in body["predictions"]] == expected["target"].tolist()

    teacher = load_model(out / MODEL_FILE)
    train = pd.read_csv(folder / "public" / "train.csv")
    student = fit_student(teacher, train, train["target"], student="linear-small", alpha=0.5)
    student.save(out / STUDENT_FILE)
    by_student = client.post(
        f"/api/runs/{run_id}/predict", content=csv_body, headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert by_student.status_code == 200, by_student.text
    body = by_student.json()
    assert body["model"] == "student" and body["rows"] == len(test)
    expected = load_student(out / STUDENT_FILE).predict_frame(test)
    assert [p["id"] for p in body["predictions"]] == expected["id"].tolist()
    assert [p["target"] for p in body["predictions"]] == expected["target"].tolist()


def test_bad_requests_get_clear_errors(settings: Settings, folder: Path) -> None:
    small = settings.model_copy(update={"max_request_bytes": 4096})
    with TestClient(create_app(small, workers=0)) as client:
        run_id, out = _run_dir(client, small)
        _save_teacher(folder, out)
        url = f"/api/runs/{run_id}/predict"
        test = pd.read_csv(folder / "public" / "test.csv")

        def post(content: bytes, media: str) -> Any:
            return client.post(url, content=content, headers={"Content-Type": media})

        wrong = post(test.drop(columns="x1").head(3).to_csv(index=False).encode(), "text/csv")
        assert wrong.status_code == 422 and wrong.json()["code"] == "bad_input"
        assert "x1" in wrong.json()["message"]
        no_id = client.post(url, json={"rows": [{"x1": 1.0, "x2": 0.0, "colour": "red"}]})
        assert no_id.status_code == 422 and "id column" in no_id.json()["message"]
        assert post(b'"unclosed,quote\n1,2', "text/csv").status_code == 422
        assert post(b"", "text/csv").json()["code"] == "bad_input"
        assert post(b"{not json", "application/json").status_code == 422
        assert client.post(url, json={"rows": []}).status_code == 422
        assert post(b"id\n1\n", "application/xml").status_code == 415
        big = post(("id,x1,x2,colour\n" + "1,0.5,0.5,red\n" * 1000).encode(), "text/csv")
        assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
        assert client.post("/api/runs/no-such-run/predict", json={"rows": [{"id": 1}]}).status_code == 404


def test_predict_needs_the_token(authed_client: TestClient) -> None:
    refused = authed_client.post("/api/runs/any/predict", json={"rows": [{"id": 1}]})
    assert refused.status_code == 401
    allowed = authed_client.post(
        "/api/runs/any/predict", json={"rows": [{"id": 1}]}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert allowed.status_code == 404
