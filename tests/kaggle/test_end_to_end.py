"""``agentk run <Kaggle URL>`` end to end against the fake server: download -> run -> submit -> placement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.kaggle.conftest import SECRET_KEY, KaggleEnv


def test_agentk_run_kaggle_url(kaggle_env: KaggleEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentk.cli import app

    monkeypatch.setenv("AGENTK_KAGGLE_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("AGENTK_KAGGLE_RETRY_DELAY", "0.05")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "https://www.kaggle.com/competitions/titanic", "--budget", "30", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output

    server = kaggle_env.server
    assert len(server.submissions) == 1, "exactly one submission reaches Kaggle"
    recorded = server.submissions[0]
    assert recorded.slug == "titanic" and recorded.status == "COMPLETE"

    summary = json.loads((out / "result.json").read_text())
    assert summary["state"] == "SUCCEEDED"
    submission = summary["kaggle_submission"]
    assert submission["ref"] == recorded.ref
    assert submission["public_score"] == pytest.approx(recorded.public_score, abs=1e-5)
    assert summary["test_score"] is not None and 0.5 < summary["test_score"] <= 1.0
    placement = summary["placements"][0]
    assert 1 <= placement["rank"] <= placement["teams"] + 1
    assert placement["teams"] == 21254
    assert "placement" in result.output

    # The key never lands in the run's files or the output.
    assert SECRET_KEY not in result.output
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path
