"""Dependencies of the routes, as ``Annotated`` aliases: settings, the run store, the catalogue, auth, a run."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentk.api.errors import ApiError
from agentk.competitions import Catalog
from agentk.config import Settings
from agentk.errors import UserInputError
from agentk.runs import RunRecord, RunStore

RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> RunStore:
    store: RunStore = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[RunStore, Depends(get_store)]


def get_catalog(settings: SettingsDep) -> Catalog:
    return Catalog(settings.home)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]

_bearer = HTTPBearer(auto_error=False, description="The API token (AGENTK_API_TOKEN) as a bearer token.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check(settings: Settings, presented: str | None) -> None:
    expected = settings.api_token
    if expected is None:
        return  # auth is off: the server binds to loopback only (see agentk.api.server.serve)
    if presented is None:
        raise ApiError(
            401,
            "unauthorized",
            "an API token is required",
            hint="send 'Authorization: Bearer <AGENTK_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # compare_digest takes equal time whatever the common prefix, so timing reveals nothing of the token
    if not hmac.compare_digest(presented.encode("utf-8"), expected.get_secret_value().encode("utf-8")):
        raise ApiError(401, "unauthorized", "the API token is wrong", headers={"WWW-Authenticate": "Bearer"})


def require_token(settings: SettingsDep, credentials: BearerDep) -> None:
    """Refuse the request unless it carries the API token (when one is configured)."""
    _check(settings, credentials.credentials if credentials else None)


def require_token_or_query(
    settings: SettingsDep,
    credentials: BearerDep,
    access_token: Annotated[
        str | None,
        Query(max_length=512, description="The API token, for clients that cannot send headers (EventSource)."),
    ] = None,
) -> None:
    """Like :func:`require_token`, also accepting ``?access_token=`` (browsers' EventSource sends no headers)."""
    _check(settings, credentials.credentials if credentials else access_token)


def get_run(
    run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The run's id.")], store: StoreDep
) -> RunRecord:
    try:
        return store.get(run_id)
    except UserInputError:
        raise ApiError(404, "not_found", f"no run with id {run_id!r}") from None


RunDep = Annotated[RunRecord, Depends(get_run)]
