"""The REST API and the dashboard (FastAPI)."""

from __future__ import annotations

from agentk.api.app import create_app

__all__ = ["create_app"]
