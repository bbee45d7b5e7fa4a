"""Peer AutoML systems (AutoGluon best_quality, FLAML) run on the same competitions and budget as AgentK.

Each peer runs its script (run_<peer>.py) in its own virtual environment (benchmarks/peers/.venv-<peer>, built by
setup_envs.sh) through a subprocess with a wall-clock timeout a little above the budget; its submission is then
graded here with AgentK's own grader, so AgentK and the peers are scored identically. A peer that is not
installed, fails or times out gives a row with that state and the reason, never no row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS = ("autogluon", "flaml")
_LOG_TAIL = 2000


def venv_python(peer: str) -> Path:
    """The interpreter of ``peer``'s virtual environment (``$AGENTK_PEER_VENV_<PEER>`` overrides the folder)."""
    folder = os.environ.get(f"AGENTK_PEER_VENV_{peer.upper()}") or str(HERE / f".venv-{peer}")
    return Path(folder) / "bin" / "python"


def script(peer: str) -> Path:
    return HERE / f"run_{peer}.py"


def parse_peers(text: str | None) -> list[str]:
    """``"autogluon,flaml"`` -> ``["autogluon", "flaml"]``; ValueError for an unknown name."""
    names = [n.strip().lower() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise ValueError(f"unknown peer(s) {unknown}; known: {', '.join(PEERS)}")
    return list(dict.fromkeys(names))


def timeout_for(budget: float) -> float:
    """Wall-clock limit for a peer run: the budget plus a margin for start-up, prediction and writing."""
    return budget + max(60.0, 0.25 * budget)


def infer_columns(folder: Path) -> tuple[str, str]:
    """(id column, target column) the simple way: the sample submission's first and second columns.

    Where the second column is not in train.csv (e.g. one probability column per class), the target is the
    one train column the test lacks.
    """
    import pandas as pd

    from agentk.competitions import load_folder

    entry = load_folder(folder)
    columns = [str(c) for c in pd.read_csv(entry.public_file("sample_submission"), nrows=0).columns]
    train_columns = [str(c) for c in pd.read_csv(entry.public_file("train"), nrows=0).columns]
    id_column, target = columns[0], columns[1]
    if target not in train_columns:
        test_columns = {str(c) for c in pd.read_csv(entry.public_file("test"), nrows=0).columns}
        only_train = [c for c in train_columns if c not in test_columns]
        if len(only_train) == 1:
            target = only_train[0]
    return id_column, target


def command(peer: str, folder: Path, budget: float, out: Path) -> list[str]:
    """The command line that runs ``peer`` on the competition in ``folder``."""
    from agentk.competitions import load_folder

    entry = load_folder(folder)
    metric, higher = entry.metric()
    id_column, target = infer_columns(folder)
    return [
        str(venv_python(peer)),
        str(script(peer)),
        "--train",
        str(entry.public_file("train")),
        "--test",
        str(entry.public_file("test")),
        "--sample",
        str(entry.public_file("sample_submission")),
        "--target",
        target,
        "--id",
        id_column,
        "--metric",
        metric,
        "--direction",
        "higher" if higher else "lower",
        "--budget",
        f"{budget:g}",
        "--out",
        str(out),
    ]


def _clean_env(peer: str) -> dict[str, str]:
    """The environment for a peer: AgentK's venv and PYTHONPATH removed, the peer's venv on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    bin_dir = venv_python(peer).parent
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    env["PATH"] = os.pathsep.join([str(bin_dir), *[p for p in env.get("PATH", "").split(os.pathsep) if p]])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _peer_info(log: str) -> dict[str, Any]:
    for line in reversed(log.splitlines()):
        if line.startswith("PEER_RESULT "):
            try:
                info = json.loads(line[len("PEER_RESULT ") :])
            except json.JSONDecodeError:
                return {}
            return info if isinstance(info, dict) else {}
    return {}


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-5:])[-_LOG_TAIL:]


def grade(folder: Path, submission: Path) -> dict[str, Any]:
    """Score and place a submission exactly as the AgentK runner does (main leaderboard first)."""
    from agentk.competitions import load_folder
    from agentk.competitions.grading import Grader

    entry = load_folder(folder)
    if entry.answers is None:
        raise FileNotFoundError(f"{folder} has no private answers to grade against")
    metric, higher = entry.metric()
    grader = Grader(entry.answers, entry.public_file("sample_submission"), metric, higher, entry.leaderboards)
    report = grader.grade(submission)
    p = (report.placements or [{}])[0]
    return {
        "test": report.score,
        "rank": p.get("rank"),
        "teams": p.get("teams"),
        "beats_pct": p.get("beats_pct"),
        "medal": p.get("medal"),
        "placements": report.placements,
    }


def run_peer(
    peer: str, folder: Path, budget: float, out_dir: Path, timeout: float | None = None, niceness: int = 0
) -> dict[str, Any]:
    """Run one peer on one competition folder, grade its submission and return a row.

    ``niceness`` > 0 runs the peer under ``nice -n`` (it also inherits the caller's own niceness).

    The row's ``state`` is SUCCEEDED, FAILED (non-zero exit, no or invalid submission), TIMEOUT or NOT_INSTALLED;
    ``error`` says why for anything but SUCCEEDED. The peer's full output is in ``out_dir/<peer>.log``.
    """
    row: dict[str, Any] = {"peer": peer, "state": "FAILED", "test": None, "rank": None, "teams": None}
    row.update({"beats_pct": None, "medal": None, "wall_s": 0.0, "error": None})
    python = venv_python(peer)
    if not python.is_file():
        row.update(state="NOT_INSTALLED", error=f"no {python}; run benchmarks/peers/setup_envs.sh {peer}")
        return row
    out_dir.mkdir(parents=True, exist_ok=True)
    submission = out_dir / f"{peer}_submission.csv"
    submission.unlink(missing_ok=True)
    log_path = out_dir / f"{peer}.log"
    limit = timeout if timeout is not None else timeout_for(budget)
    try:
        argv = command(peer, folder, budget, submission)
        if niceness > 0:
            argv = ["nice", "-n", str(niceness), *argv]
    except Exception as exc:  # a folder the simple inference cannot read: report, do not drop
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    start = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=_clean_env(peer), cwd=out_dir, start_new_session=True
        )
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            code = None
    row["wall_s"] = time.monotonic() - start
    text = log_path.read_text(encoding="utf-8", errors="replace")
    row["info"] = _peer_info(text)
    row["log"] = str(log_path)
    if code is None:
        row.update(state="TIMEOUT", error=f"killed after {limit:.0f} s (budget {budget:g} s)")
        return row
    if code != 0:
        row["error"] = f"exit {code}: {_tail(text)}"
        return row
    if not submission.is_file():
        row["error"] = "exited 0 but wrote no submission"
        return row
    try:
        row.update(grade(folder, submission))
    except Exception as exc:  # invalid submission: the grader's message says what is wrong
        row["error"] = f"grading failed: {type(exc).__name__}: {exc}"
        return row
    row["state"] = "SUCCEEDED"
    return row


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    """Terminate the peer's whole process group (ray / joblib workers included), then kill what is left."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def format_cell(row: dict[str, Any] | None) -> str:
    """A peer's test-score cell: the score, or its state when it has none."""
    if row is None:
        return "-"
    if row.get("state") == "SUCCEEDED" and row.get("test") is not None:
        return f"{row['test']:.5f}"
    return str(row.get("state") or "FAILED")
