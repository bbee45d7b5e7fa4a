"""Placement, medal thresholds and Kaggle's progression rules, checked against the shared fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentk.bench import Leaderboard, medal_cutoffs, medal_for_rank, medal_thresholds, place, read_leaderboard


def _readme_thresholds(shared_dir: Path) -> list[dict[str, str]]:
    """The MLE-bench threshold table of ``leaderboards/README.md`` as a list of rows."""
    lines = (shared_dir / "leaderboards" / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| competition |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)))
    return rows


def test_readme_threshold_table_is_reproduced_from_the_real_files(shared_dir: Path) -> None:
    rows = _readme_thresholds(shared_dir)
    assert len(rows) >= 8
    for row in rows:
        path = shared_dir / "leaderboards" / "mlebench" / f"{row['competition']}.csv"
        with pytest.warns(UserWarning, match="inferred from row order"):
            lb = read_leaderboard(path)
        assert lb.higher_is_better is (row["lower is better"] == "no"), row
        th = medal_thresholds(lb)
        assert th.teams == int(row["teams"]), row
        for key in ("gold", "silver", "bronze", "median"):
            assert round(getattr(th, key), 5) == pytest.approx(float(row[key]), abs=1e-12), (row, key)


def _baselines(shared_dir: Path) -> list[Path]:
    found = sorted((shared_dir / "competitions").glob("*/baseline/baseline.json"))
    assert found, "no baseline.json in the shared competitions"
    return found


def test_every_baseline_figure_is_reproduced(shared_dir: Path) -> None:
    checked = 0
    for baseline_path in _baselines(shared_dir):
        folder = baseline_path.parent.parent
        baseline = json.loads(baseline_path.read_text())
        direction = (folder / "metric.txt").read_text().split()[1]
        assert direction in ("higher", "lower")
        for entry in baseline["leaderboards"]:
            lb = read_leaderboard(folder / entry["file"], higher_is_better=direction == "higher")
            p = place(baseline["score"], lb)
            assert p.teams == entry["teams"], entry
            assert p.rank == entry["rank"], entry
            assert p.beats_pct == pytest.approx(entry["beats_pct"], rel=1e-12), entry
            assert p.top_pct == pytest.approx(entry["top_pct"], rel=1e-12), entry
            checked += 1
    assert checked >= 7


@pytest.mark.parametrize(
    ("teams", "expected"),
    [
        (1, (1, 1, 1)),
        (50, (5, 10, 20)),
        (99, (9, 19, 39)),
        (100, (10, 20, 40)),
        (249, (10, 49, 99)),
        (250, (10, 50, 100)),
        (999, (11, 50, 100)),
        (1000, (12, 50, 100)),
        (5856, (21, 292, 585)),
    ],
)
def test_medal_cutoffs_follow_kaggle_progression(teams: int, expected: tuple[int, int, int]) -> None:
    assert medal_cutoffs(teams) == expected


def test_medal_cutoffs_reject_empty_leaderboards() -> None:
    with pytest.raises(ValueError, match="at least one team"):
        medal_cutoffs(0)


def test_medal_for_rank_boundaries() -> None:
    assert medal_for_rank(5, 50) == "gold"
    assert medal_for_rank(6, 50) == "silver"
    assert medal_for_rank(10, 50) == "silver"
    assert medal_for_rank(20, 50) == "bronze"
    assert medal_for_rank(21, 50) is None


def test_place_counts_ties_in_the_agents_favour() -> None:
    lb = Leaderboard.from_scores([0.9, 0.8, 0.8, 0.7, 0.6], higher_is_better=True)
    p = place(0.8, lb)
    assert (p.rank, p.beats, p.teams) == (2, 2, 5)
    assert p.beats_pct == 40.0
    assert p.top_pct == 40.0
    low = Leaderboard.from_scores([0.1, 0.2, 0.2, 0.3], higher_is_better=False)
    q = place(0.2, low)
    assert (q.rank, q.beats) == (2, 1)
    assert place(0.05, low).rank == 1
    assert place(0.5, low).top_pct == 125.0


def test_mlebench_medal_semantics_ties_at_the_cutoff_win() -> None:
    scores = np.linspace(1.0, 0.0, 50)
    lb = Leaderboard.from_scores(scores, higher_is_better=True)
    th = medal_thresholds(lb)
    assert th.gold == scores[4] and th.silver == scores[9] and th.bronze == scores[19]
    assert place(th.gold, lb).medal == "gold"
    assert place(th.silver, lb).medal == "silver"
    assert place(th.bronze, lb).medal == "bronze"
    assert place(np.nextafter(th.bronze, -1.0), lb).medal is None
    assert place(float(np.median(scores)), lb).above_median is False


def test_to_dict_is_json_ready() -> None:
    lb = Leaderboard.from_scores([3.0, 2.0, 1.0], higher_is_better=True)
    data = place(3.5, lb).to_dict()
    text = json.dumps(data)
    assert json.loads(text)["thresholds"]["teams"] == 3
    assert data["medal_by_rank"] == "gold"


def test_nan_score_is_rejected() -> None:
    lb = Leaderboard.from_scores([1.0], higher_is_better=True)
    with pytest.raises(ValueError, match="NaN"):
        place(float("nan"), lb)


_scores = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2)),
    min_size=1,
    max_size=60,
)


@given(_scores, st.booleans(), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_a_better_score_never_yields_a_worse_rank(scores: list[float], higher: bool, a: float, b: float) -> None:
    lb = Leaderboard.from_scores(scores, higher_is_better=higher)
    better, worse = (max(a, b), min(a, b)) if higher else (min(a, b), max(a, b))
    pb, pw = place(better, lb), place(worse, lb)
    assert pb.rank <= pw.rank
    assert pb.beats >= pw.beats
    order = {"gold": 0, "silver": 1, "bronze": 2, None: 3}
    assert order[pb.medal] <= order[pw.medal]
    assert order[pb.medal_by_rank] <= order[pw.medal_by_rank]


@given(_scores, st.booleans(), st.floats(-1e6, 1e6), st.randoms(use_true_random=False))
def test_reordering_rows_changes_nothing(scores: list[float], higher: bool, score: float, rnd: object) -> None:
    shuffled = list(scores)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a = place(score, Leaderboard.from_scores(scores, higher_is_better=higher))
    b = place(score, Leaderboard.from_scores(shuffled, higher_is_better=higher))
    assert a == b
