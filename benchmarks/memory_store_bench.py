"""Benchmark memory_store: insert throughput and search latency per backend and size (single process).

    python benchmarks/memory_store_bench.py                       # 10k and 100k, all backends
    nice -n 10 python benchmarks/memory_store_bench.py --sizes 1000000 --backends sqlite

Items are synthetic notes (Zipf-distributed words) spread over scopes
``global/<task>/<competition>/<run>/<phase>``. Two query kinds are timed: ``scoped`` (from a random run
scope: its ancestors, its subtree and its sibling runs, i.e. one competition) and ``all`` (every item is a
candidate). ``index`` is the first search, which loads the in-process index from the database.
PostgreSQL runs in a throw-away schema that is dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from memory_store import InMemoryBackend, MemoryBackend, MemoryStore, PostgresBackend, SQLiteBackend

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WORDS = [
    "lightgbm",
    "xgboost",
    "catboost",
    "target",
    "encoding",
    "leakage",
    "fold",
    "stratified",
    "impute",
    "median",
    "mean",
    "missing",
    "outlier",
    "feature",
    "interaction",
    "ratio",
    "log",
    "transform",
    "scaling",
    "ensemble",
    "stacking",
    "blend",
    "seed",
    "tuning",
    "learning",
    "rate",
    "depth",
    "leaves",
    "regularisation",
    "early",
    "stopping",
    "validation",
    "auc",
    "rmse",
    "logloss",
    "accuracy",
    "f1",
    "threshold",
    "calibration",
    "text",
    "tfidf",
    "embedding",
    "image",
    "augmentation",
    "cnn",
    "resnet",
    "time",
    "lag",
    "rolling",
    "window",
    "holiday",
    "category",
    "frequency",
]


def make_texts(n: int, rng: np.random.Generator) -> list[str]:
    vocab = WORDS + [f"term{i}" for i in range(20_000)]
    ranks = np.minimum(rng.zipf(1.3, size=n * 14), len(vocab)) - 1
    lengths = rng.integers(6, 15, size=n)
    out, pos = [], 0
    for length in lengths:
        out.append(" ".join(vocab[r] for r in ranks[pos : pos + length]))
        pos += length
    return out


def make_scopes(n: int, rng: np.random.Generator) -> list[str]:
    tasks = ["tabular-binary", "tabular-regression", "text-classification", "image-classification"]
    comp = rng.integers(0, 50, size=n)
    run = rng.integers(0, 10, size=n)
    phase = rng.integers(0, 3, size=n)
    names = ["setup", "optimise", "finalise"]
    return [f"global/{tasks[c % 4]}/comp-{c}/run-{r}/{names[p]}" for c, r, p in zip(comp, run, phase, strict=True)]


@contextmanager
def open_backend(kind: str, tmp: Path) -> Iterator[MemoryBackend]:
    if kind == "memory":
        yield InMemoryBackend()
    elif kind == "sqlite":
        sqlite_backend = SQLiteBackend(tmp / f"bench-{uuid.uuid4().hex[:8]}.db")
        try:
            yield sqlite_backend
        finally:
            sqlite_backend.close()
    else:
        schema = f"ms_bench_{uuid.uuid4().hex[:10]}"
        backend = PostgresBackend(PG_URL, schema=schema)
        try:
            yield backend
        finally:
            backend.close()
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000.0


def run_one(kind: str, n: int, n_queries: int, tmp: Path, batch: int) -> dict[str, float]:
    rng = np.random.default_rng(n)
    texts, scopes = make_texts(n, rng), make_scopes(n, rng)
    with open_backend(kind, tmp) as backend:
        store = MemoryStore(backend)
        t0 = time.perf_counter()
        ids: list[str] = []
        for start in range(0, n, batch):
            items = store.put_many(
                [{"text": texts[i], "scope": scopes[i], "kind": "insight"} for i in range(start, min(n, start + batch))]
            )
            ids.extend(it.id for it in items[:2])
        insert_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.search("warm up")
        index_s = time.perf_counter() - t0
        queries = make_texts(n_queries, np.random.default_rng(7))
        query_scopes = make_scopes(n_queries, np.random.default_rng(8))
        scoped, every, rewards = [], [], []
        for q, s in zip(queries, query_scopes, strict=True):
            t0 = time.perf_counter()
            store.search(q, scope=s, k=10, include_siblings=True)
            scoped.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            store.search(q, k=10)
            every.append(time.perf_counter() - t0)
        for i in range(min(n_queries, 100)):
            t0 = time.perf_counter()
            store.reward([ids[i % len(ids)], ids[(i + 1) % len(ids)]], 0.25 * (i % 5))
            rewards.append(time.perf_counter() - t0)
            # a search right after a write pays the incremental index sync
        t0 = time.perf_counter()
        store.search(queries[0], scope=query_scopes[0], include_siblings=True)
        after_write = time.perf_counter() - t0
    return {
        "insert_per_s": n / insert_s,
        "index_s": index_s,
        "scoped_p50": pct(scoped, 50),
        "scoped_p95": pct(scoped, 95),
        "all_p50": pct(every, 50),
        "all_p95": pct(every, 95),
        "reward_p50": pct(rewards, 50),
        "search_after_write_ms": after_write * 1000,
        "scoped_mean": statistics.fmean(scoped) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["memory", "sqlite", "postgres"])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    header = (
        f"{'backend':<9}{'items':>9}{'insert/s':>11}{'index s':>9}"
        f"{'scoped p50':>12}{'p95':>8}{'all p50':>9}{'p95':>8}{'reward p50':>12}  (latencies in ms)"
    )
    print(header, flush=True)
    with tempfile.TemporaryDirectory(prefix="ms-bench-") as tmp:
        for n in args.sizes:
            for kind in args.backends:
                r = run_one(kind, n, args.queries, Path(tmp), args.batch)
                print(
                    f"{kind:<9}{n:>9}{r['insert_per_s']:>11.0f}{r['index_s']:>9.2f}"
                    f"{r['scoped_p50']:>12.2f}{r['scoped_p95']:>8.2f}{r['all_p50']:>9.2f}{r['all_p95']:>8.2f}"
                    f"{r['reward_p50']:>12.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
