"""Rate an agent against humans across competitions with Elo-MMR.

Given dated human leaderboards (with identities: Kaggle user names of team members where available, else
team names, else one-off team ids) and the agent's score on some of them, the agent is inserted at its
score's place in each (equal scores tie, as for humans), every competition is rated in deadline order,
and the agent is compared with the humans who have at least ``k`` rated contests.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from agentk.bench.elo_mmr import Contest, EloMmr, EloMmrParams, PlayerRating, standings_from_scores
from agentk.bench.leaderboard import Leaderboard, read_leaderboard
from agentk.bench.placement import Medal, Placement, place
from agentk.errors import DataFormatError, UserInputError

__all__ = [
    "AgentContest",
    "DatedLeaderboard",
    "HumansResult",
    "MetaKaggle",
    "kaggle_tier",
    "load_dated_leaderboards",
    "rate_against_humans",
]

AGENT = "AgentK"


@dataclass(frozen=True)
class DatedLeaderboard:
    """A human leaderboard and the date its competition closed (its place in the rating order)."""

    leaderboard: Leaderboard
    date: dt.date
    name: str


@dataclass(frozen=True)
class MetaKaggle:
    """Exact identities from Meta Kaggle: team id -> member user names, competition slug -> deadline."""

    team_members: Mapping[str, tuple[str, ...]]
    deadlines: Mapping[str, dt.date] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path | str) -> MetaKaggle:
        """Read ``Teams.csv``, ``TeamMemberships.csv``, ``Users.csv`` and (optionally) ``Competitions.csv``.

        Raises:
            DataFormatError: A file is missing or lacks the expected columns.
        """
        folder = Path(folder)
        try:
            memberships = pd.read_csv(folder / "TeamMemberships.csv", usecols=["TeamId", "UserId"], dtype=str)
            users = pd.read_csv(folder / "Users.csv", usecols=["Id", "UserName"], dtype=str)
            pd.read_csv(folder / "Teams.csv", usecols=["Id"], dtype=str, nrows=1)
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"cannot read Meta Kaggle tables in {folder}: {exc}") from exc
        names = dict(zip(users["Id"], users["UserName"], strict=True))
        members: dict[str, list[str]] = {}
        for team, user in zip(memberships["TeamId"], memberships["UserId"], strict=True):
            if user in names:
                members.setdefault(team, []).append(names[user])
        deadlines: dict[str, dt.date] = {}
        path = folder / "Competitions.csv"
        if path.exists():
            try:
                comps = pd.read_csv(path, usecols=["Slug", "DeadlineDate"], dtype=str)
            except ValueError as exc:
                raise DataFormatError(f"cannot read {path}: {exc}") from exc
            for slug, deadline in zip(comps["Slug"], comps["DeadlineDate"], strict=True):
                if isinstance(deadline, str) and deadline:
                    deadlines[slug] = pd.Timestamp(deadline).date()
        return cls({t: tuple(sorted(m)) for t, m in members.items()}, deadlines)


def load_dated_leaderboards(folder: Path | str) -> list[DatedLeaderboard]:
    """Read a folder of leaderboards described by ``_contests.csv`` (contest, contest_date, higher_is_better).

    This is the layout of ``shared/leaderboards/kaggle-named``.

    Raises:
        DataFormatError: The index or a leaderboard is missing or malformed.
    """
    folder = Path(folder)
    index = folder / "_contests.csv"
    try:
        table = pd.read_csv(index, dtype=str)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read the contest index {index}: {exc}") from exc
    missing = {"contest", "contest_date", "higher_is_better"} - set(table.columns)
    if missing:
        raise DataFormatError(f"{index} lacks columns {sorted(missing)}")
    boards = []
    for row in table.itertuples(index=False):
        slug, date, higher = str(row.contest), str(row.contest_date), str(row.higher_is_better)
        if higher.lower() not in ("true", "false"):
            raise DataFormatError(f"{index}: higher_is_better of {slug} is {higher!r}, not True/False")
        lb = read_leaderboard(folder / f"{slug}.csv", higher_is_better=higher.lower() == "true")
        boards.append(DatedLeaderboard(lb, dt.date.fromisoformat(date), slug))
    return boards


def _identities(board: DatedLeaderboard, meta: MetaKaggle | None) -> list[tuple[str, ...]]:
    """For each team (best first): the identities it stands for (members, else its name, else one-off)."""
    lb = board.leaderboard
    out: list[tuple[str, ...]] = []
    for i in range(lb.teams):
        team_id = lb.team_ids[i] if lb.team_ids else ""
        members: tuple[str, ...] = ()
        if meta is not None and team_id:
            members = meta.team_members.get(team_id, ())
        if not members and lb.members:
            members = lb.members[i]
        if members:
            out.append(tuple(f"user:{m}" for m in members))
        elif lb.team_names and lb.team_names[i]:
            out.append((f"team:{lb.team_names[i]}",))
        else:
            out.append((f"oneoff:{board.name}:{team_id or i}",))
    return out


@dataclass(frozen=True)
class AgentContest:
    """The agent in one competition: its placement on the human board and its rating afterwards."""

    name: str
    date: dt.date
    placement: Placement
    performance: float
    mu: float
    sigma: float


@dataclass(frozen=True)
class HumansResult:
    """Everything a report needs: the agent's rating, the human pool and the per-competition results."""

    agent: PlayerRating | None
    agent_contests: tuple[AgentContest, ...]
    human_names: tuple[str, ...] = field(repr=False)
    human_mu: np.ndarray = field(repr=False)
    human_display: np.ndarray = field(repr=False)
    human_contests: np.ndarray = field(repr=False)
    min_contests: int = 3
    contests: int = 0
    entries: int = 0
    seconds: float = 0.0
    params: EloMmrParams = field(default_factory=EloMmrParams)

    def eligible(self) -> np.ndarray:
        """Mask of humans with at least ``min_contests`` rated contests."""
        mask: np.ndarray = self.human_contests >= self.min_contests
        return mask

    @property
    def percentile(self) -> float | None:
        """Share (%) of eligible humans whose mu is strictly below the agent's."""
        if self.agent is None:
            return None
        pool = self.human_mu[self.eligible()]
        if pool.size == 0:
            return None
        return float(100.0 * np.count_nonzero(pool < self.agent.mu) / pool.size)

    @property
    def top_pct(self) -> float | None:
        """``100 * (1 + eligible humans with a higher mu) / eligible humans``."""
        if self.agent is None:
            return None
        pool = self.human_mu[self.eligible()]
        if pool.size == 0:
            return None
        return float(100.0 * (1 + np.count_nonzero(pool > self.agent.mu)) / pool.size)

    def medals(self) -> dict[Medal, int]:
        """Medal counts by Kaggle's progression rules applied to the agent's rank in each competition."""
        counts: dict[Medal, int] = {"gold": 0, "silver": 0, "bronze": 0}
        for c in self.agent_contests:
            if c.placement.medal_by_rank is not None:
                counts[c.placement.medal_by_rank] += 1
        return counts


def kaggle_tier(gold: int, silver: int, bronze: int) -> str:
    """The Kaggle competitions tier these medals would earn (the agent counts as a solo competitor).

    Grandmaster: 5 gold (one solo); Master: 1 gold and 2 silver; Expert: 2 bronze. A better medal
    satisfies a requirement for a lesser one. Novice/Contributor are not distinguished (both below
    Expert and outside what results can show).
    """
    if gold >= 5:
        return "Grandmaster"
    if gold >= 1 and gold + silver >= 3:
        return "Master"
    if gold + silver + bronze >= 2:
        return "Expert"
    return "Contributor"


def _seconds(date: dt.date) -> int:
    return int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp())


def rate_against_humans(
    boards: Sequence[DatedLeaderboard],
    agent_scores: Mapping[str, float],
    *,
    min_contests: int = 3,
    meta: MetaKaggle | None = None,
    params: EloMmrParams | None = None,
    agent_name: str = AGENT,
) -> HumansResult:
    """Rate humans and the agent over ``boards`` in date order.

    Args:
        boards: Dated human leaderboards.
        agent_scores: The agent's score per competition name; names not among ``boards`` are an error.
        min_contests: Humans need this many rated contests to count in the percentile.
        meta: Exact identities from Meta Kaggle (team id -> user names), when available.
        params: Elo-MMR parameters (the reference defaults when omitted).
        agent_name: The agent's player name (must not collide with a human identity).

    Raises:
        UserInputError: An agent score names an unknown competition, or ``min_contests`` < 1.
    """
    if min_contests < 1:
        raise UserInputError("min_contests must be at least 1")
    known = {b.name for b in boards}
    unknown = sorted(set(agent_scores) - known)
    if unknown:
        raise UserInputError(f"agent scores for unknown competitions: {unknown}", hint=f"known: {sorted(known)}")
    started = time.perf_counter()
    rater = EloMmr(params)
    agent_contests: list[AgentContest] = []
    entries = 0
    for board in sorted(boards, key=lambda b: (b.date, b.name)):
        lb = board.leaderboard
        identities = _identities(board, meta)
        players: list[str] = []
        scores: list[float] = []
        seen: set[str] = set()
        for team, (ids, score) in enumerate(zip(identities, lb.scores.tolist(), strict=True)):
            for who in ids:
                # A display name used by two teams of one contest: the better keeps it, the other is one-off.
                key = who if who not in seen else f"oneoff:{board.name}:{team}:{who}"
                seen.add(key)
                players.append(key)
                scores.append(score)
        agent_score = agent_scores.get(board.name)
        if agent_score is not None:
            if agent_name in seen:
                raise UserInputError(f"agent name {agent_name!r} collides with a human in {board.name}")
            players.append(agent_name)
            scores.append(float(agent_score))
        standings = standings_from_scores(players, np.asarray(scores), higher_is_better=lb.higher_is_better)
        entries += len(standings)
        outcome = rater.add(Contest(tuple(standings), time_seconds=_seconds(board.date), name=board.name))
        if agent_score is not None and not outcome.ignored:
            i = outcome.players.index(agent_name)
            agent_contests.append(
                AgentContest(
                    name=board.name,
                    date=board.date,
                    placement=place(float(agent_score), lb),
                    performance=float(outcome.performance[i]),
                    mu=float(outcome.mu[i]),
                    sigma=float(outcome.sigma[i]),
                )
            )
    seconds = time.perf_counter() - started
    names, mu, sig, played = rater.arrays()
    human = np.array([n != agent_name for n in names], dtype=bool)
    sig_limit = rater.params.sig_limit
    return HumansResult(
        agent=rater.rating(agent_name) if agent_name in rater else None,
        agent_contests=tuple(agent_contests),
        human_names=tuple(n for n, keep in zip(names, human.tolist(), strict=True) if keep),
        human_mu=mu[human],
        human_display=mu[human] - 2.0 * (sig[human] - sig_limit),
        human_contests=played[human],
        min_contests=min_contests,
        contests=len(boards),
        entries=entries,
        seconds=seconds,
        params=rater.params,
    )
