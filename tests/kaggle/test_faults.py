"""Fault tests: 500s and timeouts retried then reported, crashes never submit twice, ERROR, limits."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from agentk.competitions.archive import UnsafeArchiveError
from agentk.errors import CompetitionNotFoundError, UnknownMetricError
from agentk.kaggle import (
    KaggleApiError,
    KernelOnlyCompetitionError,
    RetryPolicy,
    SubmissionLimitError,
    SubmissionManager,
    SubmissionScoringError,
    fetch_competition,
    submit_and_score,
)
from tests.kaggle.conftest import FAST_POLL, FAST_RETRY, KaggleEnv


def _answers(competitions_dir: Path) -> Path:
    return competitions_dir / "titanic/private/answers.csv"


def _variant(tmp_path: Path, competitions_dir: Path, name: str, flip: int) -> Path:
    """A valid titanic submission with the first ``flip`` predictions flipped (a different file)."""
    lines = _answers(competitions_dir).read_text().splitlines()
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        pid, survived = line.split(",")
        out.append(f"{pid},{1 - int(survived) if i < flip else survived}")
    path = tmp_path / name
    path.write_text("\n".join(out) + "\n")
    return path


def test_http_500s_are_retried_then_succeed(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    kaggle_env.server.faults.http_500 = {"ListCompetitions": 2, "DownloadDataFiles": 1}
    folder = fetch_competition("titanic", tmp_path / "c", client=kaggle_env.client())
    assert (folder / "public" / "train.csv").is_file()
    assert kaggle_env.server.calls.count("ListCompetitions") == 3


def test_http_500s_beyond_the_retry_budget_are_reported(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    kaggle_env.server.faults.http_500 = {"ListCompetitions": 10}
    with pytest.raises(KaggleApiError, match=r"HTTP 500.*gave up after 3 attempts") as caught:
        fetch_competition("titanic", tmp_path / "c", client=kaggle_env.client())
    assert caught.value.status == 500
    assert kaggle_env.server.calls.count("ListCompetitions") == 3
    assert not (tmp_path / "c").exists()


def test_timeouts_are_retried_then_succeed(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    kaggle_env.server.faults.delay = {"ListDataFiles": 1}
    kaggle_env.server.faults.delay_seconds = 3.0
    retry = RetryPolicy(attempts=3, initial_delay=0.01, request_timeout=0.5)
    start = time.monotonic()
    folder = fetch_competition("titanic", tmp_path / "c", client=kaggle_env.client(retry))
    assert (folder / "public" / "test.csv").is_file()
    assert time.monotonic() - start < 3.0  # the stalled request was abandoned, not waited for
    assert kaggle_env.server.calls.count("ListDataFiles") == 2


def test_timeouts_beyond_the_retry_budget_are_reported(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    kaggle_env.server.faults.delay = {"GetSubmissionLimits": 5}
    kaggle_env.server.faults.delay_seconds = 2.0
    retry = RetryPolicy(attempts=2, initial_delay=0.01, request_timeout=0.3)
    with pytest.raises(KaggleApiError, match="timed out") as caught:
        submit_and_score(
            "titanic",
            _answers(Path(kaggle_env.server.competitions_dir)),
            run_dir=tmp_path,
            cv_score=None,
            message="m",
            client=kaggle_env.client(retry),
            poll=FAST_POLL,
        )
    assert caught.value.transient and caught.value.status is None
    assert kaggle_env.server.submissions == []


def test_connection_dropped_after_create_is_reconciled_not_resubmitted(
    kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path
) -> None:
    kaggle_env.server.faults.drop_after_create = 1
    record = submit_and_score(
        "titanic",
        _answers(competitions_dir),
        run_dir=tmp_path,
        cv_score=0.9,
        message="m",
        client=kaggle_env.client(),
        poll=FAST_POLL,
    )
    assert record.status == "COMPLETE" and record.public_score == 1.0
    assert len(kaggle_env.server.submissions) == 1
    assert record.ref == kaggle_env.server.submissions[0].ref


def test_crash_between_intent_and_acknowledgement_does_not_submit_twice(
    kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path
) -> None:
    """A separate process is killed while Kaggle is creating its submission; the restart reconciles."""
    server = kaggle_env.server
    server.faults.hang_after_create = 30.0
    run_dir = tmp_path / "run"
    script = (
        "import sys; from pathlib import Path; from agentk.kaggle import *; "
        "submit_and_score('titanic', Path(sys.argv[1]), run_dir=Path(sys.argv[2]), cv_score=0.5, message='m')"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(_answers(competitions_dir)), str(run_dir)],
        env={**os.environ, "AGENTK_KAGGLE_RETRIES": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not server.submissions and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert len(server.submissions) == 1, "the child never reached CreateSubmission"
        child.kill()  # the crash: Kaggle has the submission, the child never got the ref
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    server.faults.hang_after_create = 0.0
    manager = SubmissionManager(kaggle_env.client(), "titanic", run_dir, poll=FAST_POLL)
    assert [r.status for r in manager.records()] == ["INTENT"]

    record = manager.submit(_answers(competitions_dir), message="m", cv_score=0.5)

    assert record.status == "COMPLETE"
    assert len(server.submissions) == 1
    assert record.ref == server.submissions[0].ref
    # and submitting the same file again is answered from the journal
    again = manager.submit(_answers(competitions_dir), message="m", cv_score=0.5)
    assert again.ref == record.ref and len(server.submissions) == 1


def test_intent_that_never_reached_kaggle_is_submitted_after_restart(
    kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = kaggle_env.client()
    manager = SubmissionManager(client, "titanic", tmp_path, poll=FAST_POLL)

    def crash(*args: object) -> int:
        raise KeyboardInterrupt  # killed after writing the intent, before the upload

    monkeypatch.setattr(client, "submit", crash)
    with pytest.raises(KeyboardInterrupt):
        manager.submit(_answers(competitions_dir), message="m", cv_score=0.5)
    restarted = SubmissionManager(kaggle_env.client(), "titanic", tmp_path, poll=FAST_POLL)
    record = restarted.submit(_answers(competitions_dir), message="m", cv_score=0.5)
    assert record.status == "COMPLETE"
    assert len(kaggle_env.server.submissions) == 1
    assert [r.status for r in restarted.records()] == ["ABANDONED", "COMPLETE"]


def test_error_status_is_reported_with_kaggles_text(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("PassengerId,Survived\n892,0\n")
    with pytest.raises(SubmissionScoringError, match="Submission must have 418 rows"):
        submit_and_score(
            "titanic",
            bad,
            run_dir=tmp_path,
            cv_score=None,
            message="m",
            client=kaggle_env.client(),
            poll=FAST_POLL,
        )
    assert len(kaggle_env.server.submissions) == 1


def test_injected_error_status(kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path) -> None:
    kaggle_env.server.faults.score_error = "Evaluation Exception: Submission scoring timed out"
    with pytest.raises(SubmissionScoringError, match="Evaluation Exception: Submission scoring timed out"):
        submit_and_score(
            "titanic",
            _answers(competitions_dir),
            run_dir=tmp_path,
            cv_score=None,
            message="m",
            client=kaggle_env.client(),
            poll=FAST_POLL,
        )


def test_daily_limit_is_respected(kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path) -> None:
    kaggle_env.server.faults.daily_limit = 2
    manager = SubmissionManager(kaggle_env.client(), "titanic", tmp_path, poll=FAST_POLL)
    for i in range(2):
        manager.submit(_variant(tmp_path, competitions_dir, f"s{i}.csv", i + 1), message="m", cv_score=0.5)
    with pytest.raises(SubmissionLimitError, match="daily submission limit"):
        manager.submit(_variant(tmp_path, competitions_dir, "s2.csv", 3), message="m", cv_score=0.5)
    assert len(kaggle_env.server.submissions) == 2
    assert len(manager.records()) == 2  # no intent was written for the refused one


def test_polling_backs_off_until_complete(kaggle_env: KaggleEnv, tmp_path: Path, competitions_dir: Path) -> None:
    kaggle_env.server.faults.pending_polls = 4
    waits: list[float] = []
    manager = SubmissionManager(kaggle_env.client(), "titanic", tmp_path, poll=FAST_POLL, sleep=waits.append)
    record = manager.submit(_answers(competitions_dir), message="m", cv_score=0.5)
    assert record.status == "COMPLETE"
    assert len(waits) == 4 and waits == sorted(waits) and waits[-1] > waits[0]


def test_kernel_only_competition_is_refused_before_download(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    kaggle_env.server.overrides["titanic"] = {"isKernelsSubmissionsOnly": True}
    with pytest.raises(KernelOnlyCompetitionError, match="not support"):
        fetch_competition("titanic", tmp_path / "c", client=kaggle_env.client())
    assert "DownloadDataFiles" not in kaggle_env.server.calls


def test_unknown_metric_needs_an_override(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    kaggle_env.server.overrides["titanic"] = {"evaluationMetric": "Some Custom Host Metric"}
    with pytest.raises(UnknownMetricError, match="Some Custom Host Metric") as caught:
        fetch_competition("titanic", tmp_path / "c", client=kaggle_env.client())
    assert caught.value.hint and "--metric" in caught.value.hint
    assert "DownloadDataFiles" not in kaggle_env.server.calls
    folder = fetch_competition("titanic", tmp_path / "c", metric_override="accuracy", client=kaggle_env.client())
    assert (folder / "metric.txt").read_text() == "accuracy higher\n"


def test_unknown_competition(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    with pytest.raises(CompetitionNotFoundError, match="no-such-competition"):
        fetch_competition("no-such-competition", tmp_path / "c", client=kaggle_env.client())


def test_hostile_data_bundle_is_refused_and_nothing_written(kaggle_env: KaggleEnv, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("train.csv", "a,b\n")
        zf.writestr("../../escaped.txt", "pwned")
    kaggle_env.server.data_archive = buffer.getvalue()
    root = tmp_path / "c"
    with pytest.raises(UnsafeArchiveError, match=r"escaped\.txt"):
        fetch_competition("titanic", root, client=kaggle_env.client())
    assert list(root.iterdir()) == []
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("*"))


def test_refetch_replaces_an_earlier_download_but_not_a_local_competition(
    kaggle_env: KaggleEnv, tmp_path: Path
) -> None:
    root = tmp_path / "c"
    first = fetch_competition("titanic", root, client=kaggle_env.client())
    (first / "public" / "stale.txt").write_text("old")
    second = fetch_competition("titanic", root, client=kaggle_env.client())
    assert not (second / "public" / "stale.txt").exists()
    other = tmp_path / "d" / "titanic"
    (other / "private").mkdir(parents=True)
    from agentk.errors import UserInputError

    with pytest.raises(UserInputError, match="not an earlier Kaggle download"):
        fetch_competition("titanic", tmp_path / "d", client=kaggle_env.client())
    assert (other / "private").is_dir()


def test_retry_policy_delays_grow_and_are_capped() -> None:
    policy = RetryPolicy(attempts=6, initial_delay=1.0, multiplier=2.0, max_delay=5.0)
    assert list(policy.delays()) == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert list(FAST_RETRY.delays()) == [0.01, 0.02]
