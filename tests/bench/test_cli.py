"""``agentk bench humans``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentk.bench.cli import app


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "boards"
    folder.mkdir()
    (folder / "_contests.csv").write_text(
        "contest,contest_date,higher_is_better\na,2020-01-01,True\nb,2020-02-01,False\n"
    )
    rows = "\n".join(f"{i + 1},{i},h{i},{1.0 - i / 10}," for i in range(8))
    (folder / "a.csv").write_text("rank,team_id,team_name,score,submission_date\n" + rows + "\n")
    rows = "\n".join(f"{i + 1},{i},h{i},{i / 10}," for i in range(8))
    (folder / "b.csv").write_text("rank,team_id,team_name,score,submission_date\n" + rows + "\n")
    return folder


def test_humans_writes_report_and_plots(tmp_path: Path) -> None:
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"b": 0.05}))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "--leaderboards",
            str(_folder(tmp_path)),
            "--score",
            "a=0.95",
            "--scores-json",
            str(scores),
            "--min-contests",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text()
    assert "| a | 2020-01-01 |" in text and "| b | 2020-02-01 |" in text
    assert (out / "human_distribution.svg").exists()


def test_humans_prints_markdown_without_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--leaderboards", str(_folder(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "# AgentK against humans" in result.output


def test_humans_reports_user_errors(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    bad = CliRunner().invoke(app, ["--leaderboards", str(folder), "--score", "a:0.5"])
    assert bad.exit_code == 2
    assert "COMPETITION=SCORE" in bad.output
    unknown = CliRunner().invoke(app, ["--leaderboards", str(folder), "--score", "zzz=0.5"])
    assert unknown.exit_code == 2
    assert "unknown competitions" in unknown.output
