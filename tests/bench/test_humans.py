"""Rating an agent against humans across competitions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from agentk.bench import (
    DatedLeaderboard,
    Leaderboard,
    MetaKaggle,
    kaggle_tier,
    load_dated_leaderboards,
    place,
    rate_against_humans,
)
from agentk.errors import DataFormatError, UserInputError


def _board(name: str, day: int, scores: list[float], names: list[str], higher: bool = True) -> DatedLeaderboard:
    lb = Leaderboard.from_scores(scores, higher_is_better=higher, team_names=names, name=name)
    return DatedLeaderboard(lb, dt.date(2020, 1, day), name)


def test_agent_is_inserted_at_its_place_and_rated_in_date_order() -> None:
    people = [f"h{i}" for i in range(20)]
    boards = [
        _board("b", 2, [float(20 - i) for i in range(20)], people),
        _board("a", 1, [float(i) for i in range(20)], people, higher=False),
        _board("c", 3, [float(20 - i) for i in range(20)], people),
    ]
    result = rate_against_humans(boards, {"a": -1.0, "c": 15.5}, min_contests=3)
    assert [c.name for c in result.agent_contests] == ["a", "c"]
    assert result.agent is not None and result.agent.contests == 2
    first = result.agent_contests[0].placement
    assert (first.rank, first.beats) == (1, 20)
    assert result.agent_contests[1].placement.rank == 6
    assert result.eligible().sum() == 20
    assert result.percentile is not None and 0 <= result.percentile <= 100
    assert result.medals()["gold"] == 1  # rank 1 of 21 in "a"


def test_ties_with_humans_follow_the_human_tie_rule() -> None:
    boards = [_board("a", 1, [3.0, 2.0, 2.0, 1.0], ["w", "x", "y", "z"])]
    result = rate_against_humans(boards, {"a": 2.0}, min_contests=1)
    only = result.agent_contests[0]
    assert only.placement.rank == 2
    # Tied with x and y (all newcomers), so the agent ends exactly where they do.
    mu = dict(zip(result.human_names, result.human_mu.tolist(), strict=True))
    assert result.agent is not None
    assert result.agent.mu == mu["team:x"] == mu["team:y"]
    assert mu["team:w"] > result.agent.mu > mu["team:z"]


def test_unknown_competition_and_bad_k_are_refused() -> None:
    boards = [_board("a", 1, [1.0, 0.0], ["x", "y"])]
    with pytest.raises(UserInputError, match="unknown competitions"):
        rate_against_humans(boards, {"zzz": 1.0})
    with pytest.raises(UserInputError, match="min_contests"):
        rate_against_humans(boards, {}, min_contests=0)


def test_duplicate_display_names_in_one_contest_do_not_crash() -> None:
    boards = [_board("a", 1, [3.0, 2.0, 1.0], ["same", "same", "other"])]
    result = rate_against_humans(boards, {}, min_contests=1)
    assert len(result.human_mu) == 3


def test_meta_kaggle_identities_link_members(tmp_path: Path) -> None:
    (tmp_path / "Teams.csv").write_text("Id,CompetitionId,TeamName\n10,1,t10\n11,1,t11\n20,2,t20\n")
    (tmp_path / "TeamMemberships.csv").write_text("Id,TeamId,UserId\n1,10,100\n2,10,101\n3,11,102\n4,20,100\n")
    (tmp_path / "Users.csv").write_text("Id,UserName\n100,alice\n101,bob\n102,carol\n")
    (tmp_path / "Competitions.csv").write_text("Id,Slug,DeadlineDate\n1,a,01/02/2020 23:59:00\n")
    meta = MetaKaggle.load(tmp_path)
    assert meta.team_members["10"] == ("alice", "bob")
    assert meta.deadlines["a"] == dt.date(2020, 1, 2)
    a = Leaderboard.from_scores([2.0, 1.0], higher_is_better=True, team_ids=["10", "11"], name="a")
    b = Leaderboard.from_scores([5.0, 1.0], higher_is_better=True, team_ids=["20", "99"], name="b")
    boards = [DatedLeaderboard(a, dt.date(2020, 1, 2), "a"), DatedLeaderboard(b, dt.date(2020, 2, 2), "b")]
    result = rate_against_humans(boards, {}, min_contests=2, meta=meta)
    assert int(result.eligible().sum()) == 1  # alice played both
    with pytest.raises(DataFormatError):
        MetaKaggle.load(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("medals", "tier"),
    [
        ((0, 0, 1), "Contributor"),
        ((0, 0, 2), "Expert"),
        ((1, 2, 0), "Master"),
        ((3, 0, 0), "Master"),
        ((5, 0, 0), "Grandmaster"),
        ((0, 3, 0), "Expert"),
    ],
)
def test_kaggle_tier(medals: tuple[int, int, int], tier: str) -> None:
    assert kaggle_tier(*medals) == tier


def test_named_leaderboards_with_baseline_stand_ins(shared_dir: Path) -> None:
    folder = shared_dir / "leaderboards" / "kaggle-named"
    boards = load_dated_leaderboards(folder)
    assert len(boards) == 12
    scores = {}
    for slug in ("titanic", "house-prices-advanced-regression-techniques", "nlp-getting-started"):
        scores[slug] = json.loads((shared_dir / "competitions" / slug / "baseline" / "baseline.json").read_text())[
            "score"
        ]
    result = rate_against_humans(boards, scores, min_contests=3)
    assert [c.name for c in result.agent_contests] == [
        "nlp-getting-started",
        "house-prices-advanced-regression-techniques",
        "titanic",
    ]
    for c in result.agent_contests:
        board = next(b for b in boards if b.name == c.name)
        assert c.placement == place(scores[c.name], board.leaderboard)
    assert result.eligible().sum() > 100
    assert np.isfinite(result.human_mu).all()


def test_bad_contest_index(tmp_path: Path) -> None:
    (tmp_path / "_contests.csv").write_text("contest,contest_date\nx,2020-01-01\n")
    with pytest.raises(DataFormatError, match="lacks columns"):
        load_dated_leaderboards(tmp_path)
    with pytest.raises(DataFormatError):
        load_dated_leaderboards(tmp_path / "missing")
    (tmp_path / "_contests.csv").write_text("contest,contest_date,higher_is_better\nx,2020-01-01,maybe\n")
    with pytest.raises(DataFormatError, match="True/False"):
        load_dated_leaderboards(tmp_path)
