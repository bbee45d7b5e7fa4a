"""8 processes x 500 mixed writes and rewards lose nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memory_store import MemoryBackend, MemoryStore, PostgresBackend, SQLiteBackend

from .conftest import PG_URL

WORKER = Path(__file__).with_name("_concurrency_worker.py")
N_WORKERS, N_OPS, N_SHARED = 8, 500, 10


def _hammer(backend: MemoryBackend, target: str, tmp_path: Path, schema: str = "", prefix: str = "") -> None:
    with MemoryStore(backend) as store:
        _run_workers(store, target, tmp_path, schema, prefix)


def _run_workers(store: MemoryStore, target: str, tmp_path: Path, schema: str, prefix: str) -> None:
    shared = [store.put(f"shared item {i}", scope="global").id for i in range(N_SHARED)]
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                json.dumps(
                    {
                        "target": target,
                        "schema": schema,
                        "prefix": prefix,
                        "worker": w,
                        "ops": N_OPS,
                        "shared": shared,
                        "go": str(go),
                    }
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(N_WORKERS)
    ]
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    created = [i for r in results for i in r["created"]]
    expected: dict[str, list[float]] = {}
    for r in results:
        for item_id, (count, total) in r["applied"].items():
            acc = expected.setdefault(item_id, [0, 0.0])
            acc[0] += count
            acc[1] += total
    assert len(set(created)) == len(created)
    assert store.count() == N_SHARED + len(created)
    items = {it.id: it for it in store.list_items()}
    assert set(created) <= set(items)
    for item_id, item in items.items():
        count, total = expected.get(item_id, [0, 0.0])
        assert (item.stats.count, item.stats.total) == (count, total), item_id
    assert sum(it.stats.count for it in items.values()) == sum(int(c) for c, _ in expected.values())
    # The search index of a long-lived store catches up with all of it.
    hits = store.search("note", k=10_000)
    assert sorted(h.item.id for h in hits if h.bm25 > 0) == sorted(created)


def test_sqlite_processes_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    _hammer(SQLiteBackend(db), str(db), tmp_path)


@pytest.mark.postgres
def test_postgres_processes_lose_nothing(tmp_path: Path, pg_schema: str, pg_prefix: str) -> None:
    _hammer(
        PostgresBackend(PG_URL, schema=pg_schema, table_prefix=pg_prefix),
        PG_URL,
        tmp_path,
        pg_schema,
        pg_prefix,
    )
