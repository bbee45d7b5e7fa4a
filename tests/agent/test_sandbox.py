"""The sandbox stops runaway code, hides secrets, and (where the OS allows) blocks network and outside writes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agentk.agent import sandbox
from agentk.agent.sandbox import Isolation, isolation, run_code

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def test_runs_code_and_reports_output(ws: Path) -> None:
    result = run_code("import os\nprint('hello', os.getcwd())", workspace=ws, timeout_s=10)
    assert result.ok, result
    assert result.stdout.split() == ["hello", str(ws.resolve())]


def test_user_exception_is_a_result_not_an_error(ws: Path) -> None:
    result = run_code("x = 1\n\ndef f():\n    return 1 / 0\n\nf()\n", workspace=ws, timeout_s=10)
    assert result.exc_type == "ZeroDivisionError"
    assert result.exc_message == "division by zero"
    assert result.traceback is not None and 'File "<sandbox>", line 4, in f' in result.traceback
    assert "sandbox.py" not in result.traceback  # the runner's own frame is left out
    assert not result.ok
    assert "ZeroDivisionError" in result.summary()


def test_syntax_error_and_exit_codes(ws: Path) -> None:
    assert run_code("def (:", workspace=ws, timeout_s=10).exc_type == "SyntaxError"
    assert run_code("import sys; sys.exit(0)", workspace=ws, timeout_s=10).ok
    failed = run_code("import sys; sys.exit(3)", workspace=ws, timeout_s=10)
    assert (failed.exc_type, failed.exit_code) == ("SystemExit", 3)


def test_infinite_loop_is_killed_at_the_wall_clock_limit(ws: Path) -> None:
    result = run_code("import time\nwhile True:\n    time.sleep(0.05)", workspace=ws, timeout_s=1.5)
    assert result.killed_by == "timeout"
    assert result.seconds < 5


def test_background_children_die_with_the_run(ws: Path) -> None:
    beat = "import os, time\nos.setsid()\nwhile True:\n    open('beat', 'a').write('x')\n    time.sleep(0.05)\n"
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {beat!r}])\n"
        "time.sleep(0.5)\n"
        "print('leaving the grandchild behind')\n"
    )
    result = run_code(code, workspace=ws, timeout_s=5)
    assert result.ok, result
    # The grandchild left the process group; the cgroup or the pid namespace still ends it with the run.
    size = (ws / "beat").stat().st_size
    time.sleep(0.4)
    assert (ws / "beat").stat().st_size == size


def test_busy_loop_is_stopped_by_the_cpu_limit(ws: Path) -> None:
    result = run_code("while True:\n    pass", workspace=ws, timeout_s=10, cpu_s=1)
    assert result.killed_by == "cpu"
    assert result.seconds < 5


def test_fork_bomb_is_contained(ws: Path) -> None:
    code = "import os\nwhile True:\n    os.fork()\n"
    result = run_code(code, workspace=ws, timeout_s=5, max_procs=16)
    assert result.killed_by in {"procs", "timeout"}, result
    assert result.exc_type in {"BlockingIOError", None}
    assert not any(p.name.startswith("agentk-sandbox-") for p in _cgroup_children())


def test_memory_hog_gets_memory_error(ws: Path) -> None:
    result = run_code("x = bytearray(2 * 1024 ** 3)", workspace=ws, timeout_s=10, memory_mb=512)
    assert result.exc_type == "MemoryError"
    assert result.killed_by == "memory"


def test_huge_file_is_stopped_at_the_size_limit(ws: Path) -> None:
    code = "with open('big.bin', 'wb') as fh:\n    for _ in range(100):\n        fh.write(b'0' * 1024 * 1024)\n"
    result = run_code(code, workspace=ws, timeout_s=10, max_file_mb=2)
    assert result.killed_by == "file_size"
    assert (ws / "big.bin").stat().st_size <= 2 * 1024 * 1024


def test_child_sees_no_secrets(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {
        "KAGGLE_KEY": "k",
        "KAGGLE_USERNAME": "u",
        "OPENAI_API_KEY": "sk-fake",
        "ANTHROPIC_API_KEY": "sk-ant-fake",
        "AGENTK_API_TOKEN": "t",
        "GITHUB_TOKEN": "gh",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARMLESS_SETTING", "yes")
    code = "import json, os\nprint(json.dumps(dict(os.environ)))"
    result = run_code(code, workspace=ws, timeout_s=10, env_allow=[*secrets, "HARMLESS_SETTING"])
    import json

    env = json.loads(result.stdout)
    assert not set(secrets) & set(env)
    assert not any(v in env.values() for v in secrets.values())
    assert env["HARMLESS_SETTING"] == "yes"
    assert env["HOME"] == str(ws.resolve())
    with pytest.raises(ValueError, match="secret"):
        run_code("pass", workspace=ws, env={"MY_API_KEY": "x"})


def test_network_is_blocked_or_the_limitation_is_reported(ws: Path) -> None:
    code = "import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=2)\nprint('connected')"
    result = run_code(code, workspace=ws, timeout_s=10)
    if isolation().network:
        assert result.exc_type is not None and "connected" not in result.stdout
        assert "unreachable" in (result.exc_message or "").lower()
        assert "network" not in result.limitations
    else:
        assert "network" in result.limitations


def test_writes_are_confined_to_the_workspace(tmp_path: Path, ws: Path) -> None:
    outside = tmp_path / "outside.txt"
    code = (
        "import ctypes, os\n"
        "open('inside.txt', 'w').write('ok')\n"
        "os.makedirs('sub', exist_ok=True); open('sub/x', 'w').write('ok')\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "# try to undo the read-only view: needs CAP_SYS_ADMIN, which the child no longer has\n"
        "print('remount', libc.mount(None, b'/', None, 32 | 4096, None))\n"
        f"open({str(outside)!r}, 'w').write('escaped')\n"
    )
    result = run_code(code, workspace=ws, timeout_s=10)
    assert (ws / "inside.txt").read_text() == "ok"
    assert (ws / "sub" / "x").read_text() == "ok"
    if isolation().filesystem:
        assert "remount -1" in result.stdout
        assert result.exc_type in {"OSError", "PermissionError"}
        assert not outside.exists()
        assert "filesystem" not in result.limitations
    else:
        # Documented limit: without a mount namespace a write outside is not prevented, only reported.
        assert "filesystem" in result.limitations


def test_fallback_without_namespaces_reports_its_limits(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "isolation", lambda: Isolation())
    result = run_code("print('still runs')", workspace=ws, timeout_s=10)
    assert result.ok
    assert {"network", "filesystem", "pid_namespace"} <= set(result.limitations)


def _cgroup_children() -> list[Path]:
    root = isolation().cgroup
    return [p for p in root.iterdir() if p.is_dir()] if root is not None else []
