"""The FastAPI application: routers per resource, one error body, auth, CORS, body limits, the dashboard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from agentk import __version__
from agentk.api.deps import require_token, require_token_or_query
from agentk.api.errors import install_error_handlers
from agentk.api.limits import BodyLimitMiddleware
from agentk.api.routes import artifacts, competitions, events, health, predict, runs
from agentk.config import Settings, get_settings
from agentk.runs import RunStore
from agentk.runs.executor import create_executor

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, *, workers: int | None = None) -> FastAPI:
    """Build the app with its executor (``AGENTK_EXECUTOR``); ``workers`` (default ``settings.workers``) 0: none."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        app.state.store = RunStore(settings.resolved_database_url)
        app.state.service = create_executor(settings, workers=workers)
        if app.state.service is not None:
            await asyncio.to_thread(app.state.service.start)
        try:
            yield
        finally:
            if app.state.service is not None:
                await asyncio.to_thread(app.state.service.stop)
            app.state.store.dispose()

    app = FastAPI(
        title="AgentK",
        version=__version__,
        summary="An autonomous data-science agent: post a competition, watch the run, get the submission.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = None
    install_error_handlers(app)
    token = [Depends(require_token)]
    app.include_router(health.router)
    app.include_router(runs.router, dependencies=token)
    app.include_router(events.router, dependencies=[Depends(require_token_or_query)])
    app.include_router(artifacts.router, dependencies=[Depends(require_token_or_query)])
    app.include_router(competitions.router, dependencies=token)
    app.include_router(predict.router, dependencies=token)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Location"],
        )
    return app
