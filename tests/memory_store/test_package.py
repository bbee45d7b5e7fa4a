from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import memory_store
from memory_store import InMemoryBackend, PostgresBackend, SQLiteBackend, open_backend


def test_all_is_exactly_the_public_names() -> None:
    public = {name for name in vars(memory_store) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(memory_store, name)).__name__ == "module"}
    assert set(memory_store.__all__) == public - modules - {"annotations"}


def test_does_not_import_agentk() -> None:
    code = (
        "import sys, memory_store, memory_store.cli; assert not any(m.split('.')[0] == 'agentk' for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_open_backend_dispatch(tmp_path: Path) -> None:
    for target in (":memory:", "memory://", "sqlite://"):
        assert isinstance(open_backend(target), InMemoryBackend)
    paths: tuple[Path | str, ...] = (tmp_path / "a.db", str(tmp_path / "b.db"), f"sqlite:///{tmp_path}/c.db")
    for path in paths:
        backend = open_backend(path)
        assert isinstance(backend, SQLiteBackend)
        backend.close()
    assert (tmp_path / "c.db").exists()
    with pytest.raises(ValueError, match="unsupported"):
        open_backend("redis://localhost")


@pytest.mark.postgres
def test_open_backend_postgres(pg_schema: str) -> None:
    from .conftest import PG_URL

    backend = open_backend(PG_URL, schema=pg_schema)
    assert isinstance(backend, PostgresBackend)
    backend.close()
