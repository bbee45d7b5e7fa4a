"""Time agentk.bench.elo_mmr against elo-mmr-py's exact ``mmr`` (the reference Rust code) side by side.

Scenarios (random standings with ties, ~0.26 tie groups per player):
  fresh N     one contest of N newcomers (everyone starts equal: one merged opponent term)
  rated N     one contest of N players who already played 3 contests (distinct ratings; the hard case)
  history     100 contests of 1,000 players drawn from a pool of 3,000

Usage: nice -n 10 python benchmarks/elo_mmr_bench.py [--sizes 1000 5000 20000] [--out FILE.md]
Both sides run in this process on the same machine; the reference uses its own threads (rayon).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import elo_mmr_py
import numpy as np

from agentk.bench.elo_mmr import Contest, EloMmr, standings_from_scores


def _contest(rng: np.random.Generator, players: list[str], t: int) -> Contest:
    scores = rng.integers(0, max(1, int(0.3 * len(players))), size=len(players)).astype(np.float64)
    return Contest(tuple(standings_from_scores(players, scores, higher_is_better=True)), time_seconds=t)


def _native(c: Contest) -> object:
    return elo_mmr_py.Contest(list(c.standings), time_seconds=c.time_seconds)


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _compare(ours: dict[str, tuple[float, float]], ref: dict[str, object]) -> float:
    return max(
        max(abs(ours[k][0] - ref[k].mu), abs(ours[k][1] - ref[k].sig))  # type: ignore[attr-defined]
        for k in ref
    )


def scenario_single(n: int, warmups: int, seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    players = [f"p{i}" for i in range(n)]
    history = [_contest(rng, list(rng.permutation(players)), t) for t in range(warmups)]
    final = _contest(rng, list(rng.permutation(players)), warmups)
    ours = EloMmr()
    ours.extend(history)
    ref = elo_mmr_py.Rater("mmr")
    ref.extend([_native(c) for c in history])
    native_final = _native(final)
    t_ours = _time(lambda: ours.add(final))
    t_ref = _time(lambda: ref.add(native_final))
    ours_r = {k: (v.mu, v.sigma) for k, v in ours.ratings.items()}
    return t_ours, t_ref, _compare(ours_r, ref.ratings)


def scenario_history(contests: int, size: int, pool: int, seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    names = [f"p{i}" for i in range(pool)]
    history = [_contest(rng, [names[i] for i in rng.choice(pool, size, replace=False)], t) for t in range(contests)]
    native = [_native(c) for c in history]
    ours = EloMmr()
    t_ours = _time(lambda: ours.extend(history))
    result: dict[str, object] = {}
    t_ref = _time(lambda: result.update(elo_mmr_py.rate_latest(native, "mmr")))
    ours_r = {k: (v.mu, v.sigma) for k, v in ours.ratings.items()}
    return t_ours, t_ref, _compare(ours_r, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-history", action="store_true", help="skip the 100-contest history")
    args = parser.parse_args()
    rows = []

    def record(name: str, timing: tuple[float, float, float]) -> None:
        rows.append((name, *timing))
        print(f"{name}: ours {timing[0]:.3f}s, reference {timing[1]:.3f}s, diff {timing[2]:.1e}", flush=True)

    for n in args.sizes:
        record(f"fresh {n:,}", scenario_single(n, 0, n))
        record(f"rated {n:,}", scenario_single(n, 3, n + 1))
    if not args.no_history:
        record("history 100 x 1,000 (pool 3,000)", scenario_history(100, 1000, 3000, 7))
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"elo-mmr-py {elo_mmr_py.__version__} (exact mmr)",
        "",
        "| scenario | agentk (s) | elo-mmr-py (s) | ratio ref/ours | max abs diff mu/sigma |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {name} | {a:.3f} | {b:.3f} | {b / a:.2f} | {d:.2e} |" for name, a, b, d in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text("# Elo-MMR timing\n\n" + text + "\n")


if __name__ == "__main__":
    main()
