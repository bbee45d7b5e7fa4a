"""``agentk serve``: the API, the dashboard and the local workers in one process tree."""

from __future__ import annotations

import ipaddress
import logging
import secrets

from pydantic import SecretStr

from agentk.config import Settings, get_settings


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def secure_settings(settings: Settings, host: str) -> tuple[Settings, str | None]:
    """Settings with an API token whenever ``host`` is not loopback; returns the token if one was generated."""
    if settings.api_token is not None or is_loopback(host):
        return settings, None
    token = secrets.token_urlsafe(32)
    return settings.model_copy(update={"api_token": SecretStr(token)}), token


def serve(*, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None) -> None:
    """Run the API server (uvicorn) with ``workers`` local worker processes (default AGENTK_WORKERS)."""
    import uvicorn

    from agentk.api.app import create_app

    settings = get_settings()
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    settings, generated = secure_settings(settings, host)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if generated is not None:
        print(f"AGENTK_API_TOKEN not set and {host} is not loopback; this server's API token is:", flush=True)
        print(f"  {generated}", flush=True)
        print("Send it as 'Authorization: Bearer <token>' (the dashboard asks for it).", flush=True)
    print(f"AgentK dashboard: http://{host if ':' not in host else f'[{host}]'}:{port}/", flush=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
    )
