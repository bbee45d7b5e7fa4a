"""Reading human leaderboards in every supported format."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from agentk.bench import Leaderboard, read_leaderboard
from agentk.errors import DataFormatError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_kaggle_submission_log_is_reduced_to_each_teams_best(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "titanic-publicleaderboard.csv",
        "TeamId,TeamName,SubmissionDate,Score,TeamMemberUserNames\n"
        "1,alpha,2020-01-01 10:00:00,0.70,a1\n"
        '2,beta,2020-01-02 10:00:00,0.80,"b1, b2"\n'
        "1,alpha,2020-01-03 10:00:00,0.90,a1\n"
        "3,gamma,2020-01-04 10:00:00,,c1\n"
        '2,beta,2020-01-05 10:00:00,0.75,"b1, b2"\n',
    )
    lb = read_leaderboard(path, higher_is_better=True)
    assert lb.name == "titanic"
    assert lb.scores.tolist() == [0.9, 0.8]
    assert lb.team_ids == ("1", "2")
    assert lb.team_names == ("alpha", "beta")
    assert lb.dates == ("2020-01-03 10:00:00", "2020-01-02 10:00:00")
    assert lb.members == (("a1",), ("b1", "b2"))
    low = read_leaderboard(path, higher_is_better=False)
    assert low.scores.tolist() == [0.7, 0.75]


def test_unsorted_log_without_direction_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "log.csv", "TeamId,TeamName,SubmissionDate,Score\n1,a,,0.5\n2,b,,0.9\n3,c,,0.7\n")
    with pytest.raises(DataFormatError, match="not sorted") as info:
        read_leaderboard(path)
    assert info.value.hint is not None and "higher_is_better" in info.value.hint


def test_direction_inferred_with_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "board.csv", "rank,score\n1,0.1\n2,0.2\n2,0.2\n4,0.5\n")
    with pytest.warns(UserWarning, match="lower is better"):
        lb = read_leaderboard(path)
    assert lb.higher_is_better is False
    assert lb.teams == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_leaderboard(path, higher_is_better=False).teams == 4


def test_all_equal_scores_need_a_direction(tmp_path: Path) -> None:
    path = _write(tmp_path, "board.csv", "rank,score\n1,1.0\n1,1.0\n")
    with pytest.raises(DataFormatError, match="all scores are equal"):
        read_leaderboard(path)
    assert read_leaderboard(path, higher_is_better=True).teams == 2


def test_mlebench_rows_without_score_are_dropped(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "comp.csv",
        "scoreNullable,teamId,hasTeamName,submissionDate,score,hasScore\n"
        "0.9,11,True,2019-03-09 09:13:10,0.9,True\n"
        "0.8,12,True,2019-03-09 09:13:11,0.8,True\n"
        ",13,True,2019-03-09 09:13:12,,False\n",
    )
    lb = read_leaderboard(path, higher_is_better=True)
    assert lb.scores.tolist() == [0.9, 0.8]
    assert lb.team_ids == ("11", "12")
    assert lb.name == "comp"


def test_shared_competition_file_takes_its_folder_name(shared_dir: Path) -> None:
    lb = read_leaderboard(shared_dir / "competitions" / "titanic" / "leaderboard.csv", higher_is_better=True)
    assert lb.name == "titanic"
    assert np.all(np.diff(lb.scores) <= 0)


def test_named_leaderboard_keeps_members(shared_dir: Path) -> None:
    path = shared_dir / "leaderboards" / "kaggle-named" / "hms-harmful-brain-activity-classification.csv"
    lb = read_leaderboard(path, higher_is_better=False)
    assert lb.teams > 1000
    assert len(lb.members) == lb.teams
    assert sum(1 for m in lb.members if len(m) > 1) > 10


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("team,points\na,1\n", "unknown leaderboard format"),
        ("rank,score\n1,abc\n", "non-numeric score"),
        ("rank,score\n", "no scores"),
        ("rank,score\nx,0.1\n", "non-numeric rank"),
    ],
)
def test_bad_files_raise_data_format_error(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DataFormatError, match=match):
        read_leaderboard(_write(tmp_path, "bad.csv", text), higher_is_better=True)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="not found"):
        read_leaderboard(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81score\n\x00\x00")
    with pytest.raises(DataFormatError):
        read_leaderboard(binary, higher_is_better=True)


def test_leaderboard_invariants_are_enforced() -> None:
    with pytest.raises(ValueError, match="NaN"):
        Leaderboard(scores=np.array([1.0, np.nan]), higher_is_better=True, source="x")
    with pytest.raises(ValueError, match="float64"):
        Leaderboard(scores=np.array([1, 2]), higher_is_better=True, source="x")
    with pytest.raises(ValueError, match="aligned"):
        Leaderboard(scores=np.array([1.0]), higher_is_better=True, source="x", team_names=("a", "b"))
    lb = Leaderboard.from_scores([1.0, float("nan"), 3.0], higher_is_better=True, team_names=["a", "b", "c"])
    assert lb.scores.tolist() == [3.0, 1.0]
    assert lb.team_names == ("c", "a")
