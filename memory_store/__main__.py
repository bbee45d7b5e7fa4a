"""``python -m memory_store``: the inspector (see :mod:`memory_store.cli`)."""

from __future__ import annotations

from memory_store.cli import app

if __name__ == "__main__":  # pragma: no cover
    app(prog_name="python -m memory_store")
