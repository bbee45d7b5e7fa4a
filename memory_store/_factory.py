"""``open_store(url_or_path)``: pick a backend from a URL or path."""

from __future__ import annotations

import os
from typing import Any

from memory_store._base import MemoryBackend
from memory_store._memory import InMemoryBackend
from memory_store._sql import PostgresBackend, SQLiteBackend
from memory_store._store import MemoryStore


def open_backend(target: str | os.PathLike[str], *, schema: str | None = None) -> MemoryBackend:
    """The backend for ``target``.

    * ``":memory:"`` or ``"memory://"``: :class:`InMemoryBackend`;
    * ``"sqlite:///path/to/file.db"`` or any other path: :class:`SQLiteBackend` (the default);
    * ``"postgresql+psycopg://user@host:5432/db"`` (or ``postgresql://``): :class:`PostgresBackend`,
      with the tables in ``schema`` when given.
    """
    text = os.fspath(target)
    if text in (":memory:", "memory://", "memory:"):
        return InMemoryBackend()
    if text.startswith(("postgresql", "postgres://")):
        return PostgresBackend(text, schema=schema)
    if text.startswith("sqlite://"):
        path = text.removeprefix("sqlite://")
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel.db -> rel.db, sqlite:////abs -> /abs
        if path in ("", ":memory:"):
            return InMemoryBackend()
        return SQLiteBackend(path)
    if "://" in text:
        raise ValueError(f"unsupported memory store URL {text!r} (use a path, sqlite:///, or postgresql+psycopg://)")
    return SQLiteBackend(text)


def open_store(target: str | os.PathLike[str], *, schema: str | None = None, **options: Any) -> MemoryStore:
    """Open a :class:`MemoryStore` on the backend named by ``target`` (see :func:`open_backend`).

    ``options`` go to :class:`MemoryStore` (embedder, reward_rule, weights, capacity_per_scope, ...).
    """
    return MemoryStore(open_backend(target, schema=schema), **options)
