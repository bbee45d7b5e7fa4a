"""Benchmarking against humans: leaderboards, placement, medals and Elo-MMR ratings."""

from __future__ import annotations

from agentk.bench.leaderboard import Leaderboard, read_leaderboard
from agentk.bench.placement import (
    Medal,
    MedalThresholds,
    Placement,
    medal_cutoffs,
    medal_for_rank,
    medal_thresholds,
    place,
)

__all__ = [
    "Leaderboard",
    "Medal",
    "MedalThresholds",
    "Placement",
    "medal_cutoffs",
    "medal_for_rank",
    "medal_thresholds",
    "place",
    "read_leaderboard",
]
