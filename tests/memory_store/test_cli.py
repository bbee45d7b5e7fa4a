from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from memory_store import open_store
from memory_store.cli import app


def _db(tmp_path: Path) -> tuple[str, str]:
    db = str(tmp_path / "m.db")
    with open_store(db) as store:
        item = store.put("target encoding leaks without folds", scope="global/tb", kind="insight")
        store.put("median imputation", scope="global/tb/titanic")
        store.reward([item.id], 1.0)
    return db, item.id


def test_inspector_commands(tmp_path: Path) -> None:
    db, item_id = _db(tmp_path)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db, "list"])
    assert out.exit_code == 0, out.output
    assert item_id in out.output and "median imputation" in out.output
    out = runner.invoke(app, ["--db", db, "list", "--scope", "global/tb/titanic", "--json"])
    assert [json.loads(line)["text"] for line in out.output.splitlines()] == ["median imputation"]
    out = runner.invoke(app, ["--db", db, "show", item_id])
    shown = json.loads(out.output)
    assert shown["stats"]["count"] == 1 and shown["value"] == 1.0 and shown["embedding_dim"] == 256
    out = runner.invoke(app, ["--db", db, "search", "target encoding", "-k", "1"])
    assert out.exit_code == 0 and "target encoding" in out.output and "median" not in out.output
    out = runner.invoke(app, ["--db", db, "stats"])
    info = json.loads(out.output)
    assert info["items"] == 2 and info["rewarded_items"] == 1 and info["kinds"] == {"fact": 1, "insight": 1}
    assert runner.invoke(app, ["--db", db, "show", "nope"]).exit_code == 1
    assert runner.invoke(app, ["--db", str(tmp_path / "missing.db"), "stats"]).exit_code != 0
    assert not (tmp_path / "missing.db").exists()


def test_python_dash_m(tmp_path: Path) -> None:
    db, _ = _db(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "memory_store", "--db", db, "stats"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items"] == 2
