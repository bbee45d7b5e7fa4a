"""Liveness and readiness probes (no auth: they reveal nothing but up or down)."""

from __future__ import annotations

import os
import tempfile

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agentk.api.deps import SettingsDep, StoreDep
from agentk.api.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health() -> HealthPublic:
    """The process is up."""
    return HealthPublic(status="ok")


@router.get(
    "/ready",
    response_model=HealthPublic,
    responses={503: {"model": HealthPublic, "description": "A dependency is not ready."}},
)
def ready(request: Request, settings: SettingsDep, store: StoreDep) -> HealthPublic | JSONResponse:
    """The database answers, the runs folder is writable and the executor (workers or cluster) is up."""
    checks: dict[str, str] = {}
    try:
        store.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready; the type is enough, no connection details
        checks["database"] = f"unavailable ({type(exc).__name__})"
    try:
        runs = settings.resolved_runs_dir
        runs.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=runs, prefix=".ready-"):
            pass
        checks["runs_dir"] = "ok"
    except OSError as exc:
        checks["runs_dir"] = f"not writable ({os.strerror(exc.errno) if exc.errno else type(exc).__name__})"
    executor = request.app.state.service
    workers_ok, checks["workers"] = executor.health() if executor is not None else (True, "disabled (AGENTK_WORKERS=0)")
    ok = checks["database"] == "ok" and checks["runs_dir"] == "ok" and workers_ok
    body = HealthPublic(status="ok" if ok else "unavailable", checks=checks)
    if ok:
        return body
    return JSONResponse(body.model_dump(), status_code=503)
