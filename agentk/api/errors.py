"""One error body for every 4xx/5xx the API returns, and the handlers that produce it.

Bodies never carry stack traces, request inputs echoed back at length, or secrets: validation errors keep
only where and what (``loc``, ``msg``, ``type``); unexpected errors say "internal error" and are logged.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentk.errors import AgentKError, CompetitionNotFoundError

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """One problem with a request field."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """What every error response holds."""

    code: str = Field(description="A stable, machine-readable error code.", examples=["not_found"])
    message: str = Field(description="What is wrong, for a person.")
    hint: str | None = Field(default=None, description="What to do about it, when known.")
    details: list[ErrorDetail] = Field(default_factory=list, description="Per-field problems (validation).")


class ApiError(Exception):
    """Raise from a route to answer with an :class:`ErrorBody`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint, self.headers = status, code, message, hint, headers


def _body(code: str, message: str, hint: str | None = None, details: list[ErrorDetail] | None = None) -> Any:
    return ErrorBody(code=code, message=message, hint=hint, details=details or []).model_dump()


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, *, hint: str | None = None) -> JSONResponse:
    return JSONResponse(_body(code, message, hint), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message, exc.hint), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(CompetitionNotFoundError)
    async def _not_found(_: Request, exc: CompetitionNotFoundError) -> JSONResponse:
        return JSONResponse(_body("unknown_competition", exc.message, exc.hint), status_code=404)

    @app.exception_handler(AgentKError)
    async def _agentk_error(_: Request, exc: AgentKError) -> JSONResponse:
        return JSONResponse(_body("bad_request", exc.message, exc.hint), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            ErrorDetail(
                loc=[p for p in e.get("loc", ()) if isinstance(p, str | int)],
                msg=str(e.get("msg", "")),
                type=str(e.get("type", "")),
            )
            for e in exc.errors()
        ]
        first = details[0] if details else None
        where = ".".join(str(p) for p in first.loc) if first else "request"
        message = f"invalid request: {where}: {first.msg}" if first else "invalid request"
        return JSONResponse(_body("invalid_request", message, details=details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; a path served by
            # several routes (GET and POST /api/runs) must list them all.
            headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
        return JSONResponse(_body(code, message), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(_body("internal_error", "internal error; the server log has the details"), status_code=500)


def _allowed_methods(request: Request) -> set[str]:
    allowed: set[str] = set()
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        methods = getattr(route, "methods", None)
        if regex is not None and methods and regex.match(request.url.path):
            allowed |= set(methods)
    return allowed


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting :class:`ErrorBody` for these status codes."""
    return {s: {"model": ErrorBody, "description": _CODES.get(s, "error").replace("_", " ")} for s in statuses}
