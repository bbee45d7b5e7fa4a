"""Where one score lands on a human leaderboard: rank, percentiles and medals. Pure, no I/O.

Two medal notions are reported, because they answer different questions:

* ``medal`` follows MLE-bench (``mlebench/grade_helpers.py``): the thresholds are the scores at Kaggle's
  cut-off positions of the *human* leaderboard, and a score equal to a threshold wins that medal.
* ``medal_by_rank`` applies Kaggle's progression rules to the agent's rank among ``teams + 1`` entries,
  as if it had taken part.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from agentk.bench.leaderboard import Leaderboard

__all__ = [
    "Medal",
    "MedalThresholds",
    "Placement",
    "medal_cutoffs",
    "medal_for_rank",
    "medal_thresholds",
    "place",
]

Medal = Literal["gold", "silver", "bronze"]


def medal_cutoffs(teams: int) -> tuple[int, int, int]:
    """Kaggle's progression cut-offs: the last 1-based positions that win gold, silver and bronze.

    The arithmetic (``int`` truncation of float products) is MLE-bench's, so positions match it exactly:
    1-99 teams: 10 % / 20 % / 40 %; 100-249: 10 / 20 % / 40 %; 250-999: 10 + 0.2 % / 50 / 100;
    1000+: 10 + 0.2 % / 5 % / 10 %.

    Raises:
        ValueError: ``teams`` is smaller than 1.
    """
    if teams < 1:
        raise ValueError("a leaderboard needs at least one team")
    if teams < 100:
        return max(1, int(teams * 0.1)), max(1, int(teams * 0.2)), max(1, int(teams * 0.4))
    if teams < 250:
        return 10, max(1, int(teams * 0.2)), max(1, int(teams * 0.4))
    if teams < 1000:
        return 10 + int(teams * 0.002), 50, 100
    return 10 + int(teams * 0.002), max(1, int(teams * 0.05)), max(1, int(teams * 0.1))


def medal_for_rank(rank: int, entries: int) -> Medal | None:
    """The medal Kaggle's progression rules give to 1-based ``rank`` among ``entries`` entries."""
    gold, silver, bronze = medal_cutoffs(entries)
    if rank <= gold:
        return "gold"
    if rank <= silver:
        return "silver"
    if rank <= bronze:
        return "bronze"
    return None


@dataclass(frozen=True)
class MedalThresholds:
    """The scores that win each medal on a human leaderboard (MLE-bench rules) and its median."""

    gold: float
    silver: float
    bronze: float
    median: float
    teams: int
    higher_is_better: bool


def medal_thresholds(lb: Leaderboard) -> MedalThresholds:
    """The score at each medal cut-off position of ``lb`` and the median of all its scores."""
    gold, silver, bronze = medal_cutoffs(lb.teams)
    scores = lb.scores
    return MedalThresholds(
        gold=float(scores[gold - 1]),
        silver=float(scores[silver - 1]),
        bronze=float(scores[bronze - 1]),
        median=float(np.median(scores)),
        teams=lb.teams,
        higher_is_better=lb.higher_is_better,
    )


@dataclass(frozen=True)
class Placement:
    """One score placed on a human leaderboard.

    Attributes:
        score: The placed score.
        teams: Human teams on the leaderboard (the placed entry is not counted).
        rank: ``1 + `` the number of teams strictly better (ties share the better rank).
        beats: The number of teams strictly worse.
        beats_pct: ``100 * beats / teams``.
        top_pct: ``100 * rank / teams`` (can exceed 100 when every team is better).
        above_median: Strictly better than the median human score.
        medal: MLE-bench semantics: the best medal whose threshold the score reaches (ties win).
        medal_by_rank: Kaggle's progression rules applied to ``rank`` among ``teams + 1`` entries.
        thresholds: The leaderboard's medal thresholds.
    """

    score: float
    teams: int
    rank: int
    beats: int
    beats_pct: float
    top_pct: float
    above_median: bool
    medal: Medal | None
    medal_by_rank: Medal | None
    thresholds: MedalThresholds

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary (thresholds nested)."""
        return asdict(self)


def _at_least_as_good(score: float, threshold: float, higher_is_better: bool) -> bool:
    return score >= threshold if higher_is_better else score <= threshold


def place(score: float, lb: Leaderboard) -> Placement:
    """Place ``score`` on ``lb``.

    Raises:
        ValueError: ``score`` is NaN.
    """
    score = float(score)
    if np.isnan(score):
        raise ValueError("cannot place a NaN score")
    scores = lb.scores
    if lb.higher_is_better:
        better = int(np.count_nonzero(scores > score))
        worse = int(np.count_nonzero(scores < score))
    else:
        better = int(np.count_nonzero(scores < score))
        worse = int(np.count_nonzero(scores > score))
    teams = lb.teams
    rank = better + 1
    thresholds = medal_thresholds(lb)
    higher = lb.higher_is_better
    medal: Medal | None
    if _at_least_as_good(score, thresholds.gold, higher):
        medal = "gold"
    elif _at_least_as_good(score, thresholds.silver, higher):
        medal = "silver"
    elif _at_least_as_good(score, thresholds.bronze, higher):
        medal = "bronze"
    else:
        medal = None
    above_median = score > thresholds.median if lb.higher_is_better else score < thresholds.median
    return Placement(
        score=score,
        teams=teams,
        rank=rank,
        beats=worse,
        beats_pct=100.0 * worse / teams,
        top_pct=100.0 * rank / teams,
        above_median=bool(above_median),
        medal=medal,
        medal_by_rank=medal_for_rank(rank, teams + 1),
        thresholds=thresholds,
    )
