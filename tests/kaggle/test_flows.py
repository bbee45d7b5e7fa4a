"""The real ``kaggle`` client against the fake server: metadata, download, leaderboard, submissions."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest
import yaml

from agentk.kaggle import (
    JOURNAL_NAME,
    KernelOnlyCompetitionError,
    SubmissionManager,
    fetch_competition,
    submit_and_score,
)
from tests.kaggle.conftest import FAST_POLL, SECRET_KEY, KaggleEnv


def test_fetch_titanic(kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path) -> None:
    root = tmp_path / "competitions"
    folder = fetch_competition("titanic", root, client=kaggle_env.client())
    assert folder == root / "titanic"
    assert sorted(p.name for p in (folder / "public").iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert (folder / "public" / "train.csv").read_bytes() == (competitions_dir / "titanic/public/train.csv").read_bytes()
    assert not (folder / "private").exists()
    assert (folder / "metric.txt").read_text() == "accuracy higher\n"
    meta = yaml.safe_load((folder / "competition.yaml").read_text())
    assert meta["source"] == "kaggle" and meta["slug"] == "titanic"
    assert meta["evaluation_metric"] == "Categorization Accuracy"
    assert meta["max_daily_submissions"] == 5
    with (folder / "leaderboard.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["rank", "team_id", "team_name", "score", "submission_date"]
    assert len(rows) == 21254  # one row per team, as in the shared leaderboard
    assert rows[0]["rank"] == "1" and float(rows[-1]["score"]) <= float(rows[0]["score"])
    assert [p.name for p in root.iterdir()] == ["titanic"]  # no staging or download leftovers


def test_submit_and_score(kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path) -> None:
    answers = competitions_dir / "titanic/private/answers.csv"
    record = submit_and_score(
        "titanic",
        answers,
        run_dir=tmp_path / "run",
        cv_score=0.8,
        message="perfect",
        client=kaggle_env.client(),
        poll=FAST_POLL,
    )
    assert record.status == "COMPLETE"
    assert record.public_score == 1.0 and record.private_score == 1.0
    assert len(kaggle_env.server.submissions) == 1
    assert record.marker in kaggle_env.server.submissions[0].description
    assert (tmp_path / "run" / JOURNAL_NAME).is_file()

