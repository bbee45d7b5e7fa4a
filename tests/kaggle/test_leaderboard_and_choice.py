"""Leaderboard normalisation and the choice of final submissions (by CV only)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentk.kaggle import (
    SubmissionRecord,
    choose_final_submissions,
    normalise_leaderboard,
    read_leaderboard_download,
    write_leaderboard,
)

LOG = """TeamId,TeamName,SubmissionDate,Score
1,alpha,2020-01-01 00:00:00,0.70
2,beta,2020-01-02 00:00:00,0.80
1,alpha,2020-01-03 00:00:00,0.90
3,gamma,2020-01-04 00:00:00,0.80
4,delta,2020-01-05 00:00:00,
5,eps,2020-01-06 00:00:00,0.50
"""


def test_submission_log_becomes_one_row_per_team_best_first() -> None:
    rows = normalise_leaderboard(LOG, higher_is_better=True)
    assert [(r.rank, r.team_id, r.score) for r in rows] == [(1, "1", 0.9), (2, "2", 0.8), (2, "3", 0.8), (4, "5", 0.5)]
    assert rows[0].submission_date == "2020-01-03 00:00:00"


def test_lower_is_better() -> None:
    rows = normalise_leaderboard(LOG, higher_is_better=False)
    assert [r.team_id for r in rows] == ["5", "1", "2", "3"]
    assert rows[1].score == 0.7


def test_newer_columns_and_bom() -> None:
    text = "\ufeffRank,TeamId,TeamName,LastSubmissionDate,Score,SubmissionCount\n1,9,x,2021-01-01,0.5,3\n"
    (row,) = normalise_leaderboard(text, higher_is_better=True)
    assert (row.team_id, row.team_name, row.submission_date, row.score) == ("9", "x", "2021-01-01", 0.5)


def test_download_round_trip(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("c-publicleaderboard.csv", LOG)
    archive = tmp_path / "c.zip"
    archive.write_bytes(buffer.getvalue())
    rows = read_leaderboard_download(archive, higher_is_better=True)
    out = tmp_path / "leaderboard.csv"
    write_leaderboard(rows, out)
    lines = out.read_text().splitlines()
    assert lines[0] == "rank,team_id,team_name,score,submission_date"
    assert lines[1] == "1,1,alpha,0.9,2020-01-03 00:00:00"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.zip", "leaderboard.csv"]


def _record(i: int, cv: float | None, public: float | None, status: str = "COMPLETE") -> SubmissionRecord:
    return SubmissionRecord(
        intent_id=f"i{i}",
        slug="c",
        file=f"f{i}",
        sha256=str(i),
        message="",
        description="",
        cv_score=cv,
        status=status,
        ref=i,
        public_score=public,
        private_score=public,
    )


def test_final_choice_uses_cv_only() -> None:
    records = [
        _record(1, 0.80, 0.99),
        _record(2, 0.85, 0.10),
        _record(3, 0.90, 0.50),
        _record(4, None, 1.0),
        _record(5, 0.95, None, status="ERROR"),
    ]
    assert [r.ref for r in choose_final_submissions(records, 2, higher_is_better=True)] == [3, 2]
    assert [r.ref for r in choose_final_submissions(records, 2, higher_is_better=False)] == [1, 2]


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=12), st.integers(0, 5))
def test_hidden_scores_never_change_the_choice(pairs: list[tuple[float, float]], k: int) -> None:
    records = [_record(i, cv, public) for i, (cv, public) in enumerate(pairs)]
    shuffled_hidden = [_record(i, cv, 1 - public) for i, (cv, public) in enumerate(pairs)]
    chosen = [r.ref for r in choose_final_submissions(records, k, higher_is_better=True)]
    assert chosen == [r.ref for r in choose_final_submissions(shuffled_hidden, k, higher_is_better=True)]
    assert len(chosen) == min(k, len(pairs))


def test_negative_k() -> None:
    with pytest.raises(ValueError):
        choose_final_submissions([], -1, higher_is_better=True)
