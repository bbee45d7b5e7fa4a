"""Random contests with ties, for checking Elo-MMR against the reference and for benchmarks."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from agentk.bench.elo_mmr import Contest, standings_from_scores

__all__ = ["log_uniform", "random_contests"]


def random_contests(
    rng: np.random.Generator,
    count: int,
    *,
    size: Callable[[np.random.Generator], int],
    regulars: int = 300,
    regular_share: float = 0.5,
    tie_levels: float = 0.3,
    day_step: int = 86_400,
) -> list[Contest]:
    """``count`` random contests in time order.

    Each contest draws up to ``regular_share`` of its players from a fixed pool of ``regulars`` (so
    ratings build up history) and fills the rest with newcomers; scores are integers drawn from
    ``max(1, tie_levels * n)`` levels, so many contests have ties (and some are all tied).

    Args:
        rng: Random source.
        count: Number of contests.
        size: Draws a contest's number of players (>= 1).
        regulars: Size of the pool of returning players.
        regular_share: Largest share of returning players in one contest.
        tie_levels: Distinct score levels as a fraction of the contest size.
        day_step: Seconds between consecutive contests.
    """
    contests: list[Contest] = []
    fresh = 0
    for c in range(count):
        n = max(1, int(size(rng)))
        k = min(regulars, int(rng.integers(0, math.floor(regular_share * n) + 1)))
        chosen = [f"r{i}" for i in rng.choice(regulars, size=k, replace=False).tolist()]
        chosen += [f"n{fresh + i}" for i in range(n - k)]
        fresh += n - k
        rng.shuffle(chosen)
        levels = max(1, int(tie_levels * n))
        scores = rng.integers(0, levels, size=n).astype(np.float64)
        contests.append(
            Contest(
                standings=tuple(standings_from_scores(chosen, scores, higher_is_better=True)),
                time_seconds=c * day_step,
                name=f"c{c}",
            )
        )
    return contests


def log_uniform(low: int, high: int) -> Callable[[np.random.Generator], int]:
    """A size sampler: ``exp(uniform(log low, log high))`` rounded, within ``[low, high]``."""

    def draw(rng: np.random.Generator) -> int:
        return int(min(high, max(low, round(math.exp(rng.uniform(math.log(low), math.log(high)))))))

    return draw
