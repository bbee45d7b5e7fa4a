"""Free cores measured from /proc/stat now, not from the slow-moving load average."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentk.cpu
from agentk.cpu import busy_cores, free_cores

LINUX = Path("/proc/stat").is_file()


@pytest.mark.skipif(not LINUX, reason="/proc/stat is Linux's")
def test_a_spinning_process_counts_as_a_busy_core_at_once() -> None:
    spin = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"])
    try:
        busy = busy_cores(0.5)
    finally:
        spin.kill()
        spin.wait()
    assert 0.5 <= busy <= (os.cpu_count() or 1) + 0.01


def test_without_proc_stat_the_load_average_stands_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(agentk.cpu, "_STAT", tmp_path / "missing")
    monkeypatch.setattr(os, "getloadavg", lambda: (1.4, 9.0, 9.0))
    assert busy_cores(0.0) == 1.4


def test_free_cores_stay_between_one_and_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    for busy, most, expected in [(0.1, None, 2), (0.6, None, 1), (1.4, None, 1), (5.0, None, 1), (0.0, 1, 1)]:
        monkeypatch.setattr(agentk.cpu, "busy_cores", lambda window=0.25, b=busy: b)
        assert free_cores(most) == expected
