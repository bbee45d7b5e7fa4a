"""Worker process of test_concurrency.py (run as a script in a fresh interpreter, never forked).

Arguments: a JSON object with ``target`` (SQLite path or PostgreSQL URL), ``schema``, ``prefix``,
``worker``, ``ops``, ``shared`` (ids to reward) and ``go`` (a file to wait for, so all workers overlap).
Prints one JSON object: the ids it created and, per id, the rewards it applied (count and sum).
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from memory_store import MemoryBackend, MemoryStore, PostgresBackend, SQLiteBackend


def main() -> None:
    args = json.loads(sys.argv[1])
    target = args["target"]
    backend: MemoryBackend
    if target.startswith("postgresql"):
        backend = PostgresBackend(target, schema=args["schema"], table_prefix=args["prefix"])
    else:
        backend = SQLiteBackend(target)
    store = MemoryStore(backend)
    rng = random.Random(args["worker"])
    shared: list[str] = args["shared"]
    mine: list[str] = []
    applied: dict[str, list[float]] = {}
    go = Path(args["go"])
    while not go.exists():
        time.sleep(0.01)
    for op in range(args["ops"]):
        roll = rng.random()
        if roll < 0.3:
            item = store.put(f"worker {args['worker']} note {op}", scope=f"global/w{args['worker']}")
            mine.append(item.id)
        else:
            pool = shared + mine
            ids = list(dict.fromkeys(rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))))
            reward = rng.randint(-4, 8) * 0.25  # exactly representable, so sums are exact
            store.reward(ids, reward)
            for i in ids:
                count_sum = applied.setdefault(i, [0, 0.0])
                count_sum[0] += 1
                count_sum[1] += reward
    store.close()
    print(json.dumps({"created": mine, "applied": applied}))


if __name__ == "__main__":
    main()
