"""A run's events as Server-Sent Events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from agentk.api.deps import RunDep, SettingsDep, StoreDep
from agentk.api.errors import responses
from agentk.api.sse import stream_events

router = APIRouter(prefix="/api/runs", tags=["events"], responses=responses(401))

_SSE_DOC = (
    "One `data:` line per event (JSON: seq, ts, type, message, phase, data) with `id: <seq>`; "
    "a final `event: end` with the run's state; `: keep-alive` comments while quiet."
)


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": _SSE_DOC},
        **responses(404, 422),
    },
)
async def run_events(
    run: RunDep,
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, description="Resume after this event (sent by browsers).")
    ] = None,
    after: Annotated[int, Query(ge=0, description="Resume after this event (when no header is sent).")] = 0,
    follow: Annotated[bool, Query(description="Keep streaming until the run ends (false: what exists now).")] = True,
) -> StreamingResponse:
    """Stream the run's events: everything after Last-Event-ID, then live until the run ends."""
    run_id = run.id

    def state() -> str:
        return str(store.get(run_id).state)

    body = stream_events(
        Path(run.out_dir) / "events.jsonl",
        after=max(after, last_event_id or 0),
        follow=follow,
        keepalive=settings.sse_keepalive,
        run_state=state,
        is_disconnected=request.is_disconnected,
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
