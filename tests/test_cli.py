"""The command line: runs, competition listing and clear errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from agentk.cli import app

runner = CliRunner()


def test_run_prints_score_and_placement(make_competition: Any, tmp_path: Path) -> None:
    folder = make_competition()
    result = runner.invoke(app, ["run", str(folder), "--budget", "60", "--folds", "3", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "test score" in result.output and "rank" in result.output and "SUCCEEDED" in result.output
    assert json.loads((tmp_path / "r" / "result.json").read_text())["state"] == "SUCCEEDED"
    listing = runner.invoke(app, ["runs", "list"])
    assert listing.exit_code == 0 and "SUCCEEDED" in listing.output
    # The saved model predicts a CSV file into the same submission.
    predicted = runner.invoke(
        app,
        [
            "predict",
            str(folder / "public" / "test.csv"),
            "--model",
            str(tmp_path / "r" / "model.joblib"),
            "--out",
            str(tmp_path / "preds.csv"),
        ],
    )
    assert predicted.exit_code == 0, predicted.output
    assert (tmp_path / "preds.csv").read_text() == (tmp_path / "r" / "submission.csv").read_text()


def test_competitions_list_show_import(make_competition: Any) -> None:
    folder = make_competition(task="regression", metric="rmse lower")
    imported = runner.invoke(app, ["competitions", "import", str(folder)])
    assert imported.exit_code == 0, imported.output
    listing = runner.invoke(app, ["competitions", "list", "--json"])
    slugs = {row["slug"] for row in json.loads(listing.output)}
    assert {"churn", "synthetic-regression"} <= slugs
    shown = runner.invoke(app, ["competitions", "show", "synthetic-regression"])
    assert shown.exit_code == 0 and '"task_type": "regression"' in shown.output


def test_unknown_competition_is_a_clear_error_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentk.cli", "run", "no-such-competition", "--budget", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown competition 'no-such-competition'" in proc.stderr and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
