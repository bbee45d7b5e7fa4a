"""The real ``kaggle`` client against the fake server: metadata, download, leaderboard, submissions."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from agentk.kaggle import (
    JOURNAL_NAME,
    fetch_competition,
    submit_and_score,
)
from tests.kaggle.conftest import FAST_POLL, KaggleEnv


def test_fetch_titanic(kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path) -> None:
    root = tmp_path / "competitions"
    folder = fetch_competition("titanic", root, client=kaggle_env.client())
    assert folder == root / "titanic"
    assert sorted(p.name for p in (folder / "public").iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert (folder / "public" / "train.csv").read_bytes() == (
        competitions_dir / "titanic/public/train.csv"
    ).read_bytes()
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


def test_files_leaderboard_view_and_limits(kaggle_env: KaggleEnv) -> None:
    from agentk.kaggle import KaggleSource

    source = KaggleSource(kaggle_env.client())
    info = source.metadata("https://www.kaggle.com/c/titanic")
    assert (info.title, info.team_count, info.kernels_only) == ("Titanic", 21254, False)
    assert {f.name for f in source.files("titanic")} == {"train.csv", "test.csv", "sample_submission.csv"}
    top = source.client.leaderboard_view("titanic", limit=5)
    assert len(top) == 5 and top[0].score == 1.0
    rows = source.leaderboard("titanic", higher_is_better=True)
    assert rows[0].rank == 1 and len(rows) == 21254
    limits = source.client.submission_limits("titanic")
    assert (limits.num_today, limits.num_allowed_now) == (0, 5)


def test_fake_server_command_line(competitions_dir: Path, tmp_path: Path) -> None:
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentk.kaggle.fake_server",
            "--port",
            str(port),
            "--competitions",
            str(competitions_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert child.stdout is not None
        assert "fake Kaggle API on" in child.stdout.readline().decode()
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_fake/submissions", timeout=2) as response:
                    assert json.load(response) == {"submissions": []}
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        child.terminate()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
