"""Benchmarking against humans: leaderboards, placement, medals and Elo-MMR ratings."""

from __future__ import annotations

from agentk.bench.elo_mmr import (
    Contest,
    ContestOutcome,
    EloMmr,
    EloMmrParams,
    PlayerRating,
    Standing,
    rate,
    standings_from_scores,
)
from agentk.bench.humans import (
    AgentContest,
    DatedLeaderboard,
    HumansResult,
    MetaKaggle,
    kaggle_tier,
    load_dated_leaderboards,
    rate_against_humans,
)
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
from agentk.bench.report import Report, build_report

__all__ = [
    "AgentContest",
    "Contest",
    "ContestOutcome",
    "DatedLeaderboard",
    "EloMmr",
    "EloMmrParams",
    "HumansResult",
    "Leaderboard",
    "Medal",
    "MedalThresholds",
    "MetaKaggle",
    "Placement",
    "PlayerRating",
    "Report",
    "Standing",
    "build_report",
    "kaggle_tier",
    "load_dated_leaderboards",
    "medal_cutoffs",
    "medal_for_rank",
    "medal_thresholds",
    "place",
    "rate",
    "rate_against_humans",
    "read_leaderboard",
    "standings_from_scores",
]
