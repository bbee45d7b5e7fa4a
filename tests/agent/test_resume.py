"""Kill -9 a run mid-way, resume it with ``agentk run --resume RUN_ID``: it finishes and repeats no finished step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentk.agent import resume_run
from agentk.errors import UserInputError
from agentk.runs import RunState, read_events

AGENTK = [sys.executable, "-c", "from agentk.cli import main; main()"]


def _wait_for_step(events: Path, step: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before step {step}")
        if events.is_file():
            for line in events.read_text().splitlines():
                if not line.endswith("}"):
                    continue
                event = json.loads(line)
                if event["type"] == "step" and event["data"]["step"] >= step:
                    return
        time.sleep(0.1)
    pytest.fail(f"no step {step} within {timeout}s")


def test_killed_run_resumes_without_repeating_a_step(make_competition: Any, tmp_path: Path) -> None:
    folder = make_competition(task="binary", n_train=1500, n_test=300)
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [*AGENTK, "run", str(folder), "--budget", "90", "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_step(out / "events.jsonl", 3, proc)  # profile, infer_task, the lightgbm baseline are done
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = read_events(out / "events.jsonl")
    run_id = next(e.data["run_id"] for e in before if e.type == "run")
    done_before = {e.data["step"]: e.data["action"] for e in before if e.type == "step"}
    assert 3 in done_before and not (out / "result.json").exists()

    outcome = resume_run(run_id)
    assert outcome.state is RunState.SUCCEEDED, outcome.result.get("error")
    assert outcome.result["resumed"] == 1 and outcome.result["test_score"] is not None

    events = read_events(out / "events.jsonl")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # one journal, nothing lost or rewritten
    steps = [e.data["step"] for e in events if e.type == "step"]
    assert steps == list(range(1, len(steps) + 1))  # every step finished exactly once
    after = {e.data["step"]: e.data["action"] for e in events if e.type == "step"}
    assert all(after[k] == v for k, v in done_before.items())
    actions = [e.data["action"] for e in events if e.type == "step"]
    assert actions.count("profile") == actions.count("infer_task") == 1
    assert next(e for e in events if e.type == "step" and e.data["action"] == "train_model").data["step"] == 3
    resumed = [e for e in events if e.type == "resume"]
    assert len(resumed) == 1 and resumed[0].data["step"] >= 3
    # The models of the finished steps came back from the checkpoint: the lightgbm baseline was not retrained.
    assert sum(1 for e in events if e.type == "model" and e.data.get("model") == "lightgbm") == 1
    assert (out / "submission.csv").is_file()

    with pytest.raises(UserInputError, match="already succeeded"):
        resume_run(run_id)


def test_resume_of_an_unknown_run_is_a_clear_error() -> None:
    proc = subprocess.run([*AGENTK, "run", "--resume", "no-such-run"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "no run with id 'no-such-run'" in proc.stdout + proc.stderr
    both = subprocess.run([*AGENTK, "run", "churn", "--resume", "x"], capture_output=True, text=True, timeout=120)
    assert both.returncode != 0 and "not both" in both.stdout + both.stderr
