"""The distillation benchmark end to end on the smallest shared competition (slow: a real teacher run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_distill_bench_on_titanic(shared_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "distill_bench.py"),
            str(shared_dir / "competitions" / "titanic"),
            "--budget",
            "40",
            "--distil-budget",
            "30",
            "--out",
            str(tmp_path / "runs"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(out.read_text())
    assert "error" not in row, row
    assert 0.6 < row["kd"] <= 1.0 and 0.6 < row["label"] <= 1.0
    assert row["kd_ms"] < row["teacher_ms"]
    assert "goal 1% of the metric's scale at >=20x" in done.stdout
    assert row["constant"] != row["perfect"] and abs(row["gap_scale_pct"]) < 100
