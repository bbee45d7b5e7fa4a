"""Submitting to Kaggle exactly once per file, with an intent journal that survives crashes.

The journal (``<run_dir>/kaggle_submissions.jsonl``) is append-only JSON lines, flushed and fsynced per
line; a torn last line (a crash mid-write) is ignored on replay. Events per submission:

``intent``    written *before* the upload: a fresh ``intent_id`` that is also put into the submission's
              description as ``[agentk:<intent_id>]``, the file's sha256, the CV score.
``created``   Kaggle acknowledged it: its ``ref``.
``scored``    Kaggle finished: status COMPLETE (scores) or ERROR (Kaggle's error text).
``abandoned`` the submission provably never reached Kaggle (absent from ``ListSubmissions``).

Before submitting a file, the manager replays the journal. A file already ``created`` is only polled; an
``intent`` without ``created`` (a crash between the upload and the acknowledgement) is reconciled with
``ListSubmissions`` by its marker: found -> recorded and polled, not found -> abandoned and submitted
again. A failed ``CreateSubmission`` is never retried blindly either: it is reconciled first. So one
file reaches Kaggle once, whatever happens in between.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentk.errors import DataFormatError, UserInputError
from agentk.kaggle._client import KaggleClient, PollPolicy
from agentk.kaggle._errors import KaggleApiError, SubmissionLimitError, SubmissionScoringError
from agentk.kaggle.urls import parse_competition_ref

__all__ = [
    "JOURNAL_NAME",
    "SubmissionManager",
    "SubmissionRecord",
    "choose_final_submissions",
    "submit_and_score",
]

logger = logging.getLogger("agentk.kaggle")
JOURNAL_NAME = "kaggle_submissions.jsonl"
_MAX_DESCRIPTION = 200


@dataclass(frozen=True)
class SubmissionRecord:
    """One submission as the journal knows it.

    ``status`` is ``INTENT`` (not yet acknowledged), ``PENDING``, ``COMPLETE``, ``ERROR`` or ``ABANDONED``.
    """

    intent_id: str
    slug: str
    file: str
    sha256: str
    message: str
    description: str
    cv_score: float | None
    status: str = "INTENT"
    ref: int | None = None
    public_score: float | None = None
    private_score: float | None = None
    error: str = ""
    created_at: str = ""

    @property
    def marker(self) -> str:
        return f"[agentk:{self.intent_id}]"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Journal:
    """Append-only JSON lines with fsync per line; tolerant of a torn last line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, event: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        line = json.dumps(event, sort_keys=True, allow_nan=False) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        if new:  # make the file's directory entry durable too
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").split("\n")
        events: list[dict[str, Any]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # a torn last line: the write never completed
                    logger.warning("kaggle: ignoring a torn last line in %s", self.path)
                    continue
                raise DataFormatError(f"{self.path}: line {number} is not valid JSON") from None
            if isinstance(event, dict):
                events.append(event)
        return events


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class SubmissionManager:
    """Submits files of one competition and tracks them in ``run_dir``'s intent journal.

    Invariants: an ``intent`` line is durable before any upload starts; a file (by sha256) is submitted
    to Kaggle at most once per journal; Kaggle's submission allowance is checked before each new
    submission; hidden (public/private) scores are recorded but never used to choose anything.
    """

    def __init__(
        self,
        client: KaggleClient,
        slug: str,
        run_dir: Path,
        *,
        poll: PollPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.slug = parse_competition_ref(slug)
        self.journal = _Journal(Path(run_dir) / JOURNAL_NAME)
        self.poll = poll if poll is not None else PollPolicy.from_env()
        self._sleep = sleep
        self._clock = clock

    # -- state

    def records(self) -> list[SubmissionRecord]:
        """Every submission of this competition in the journal, oldest first, latest state of each."""
        records: dict[str, SubmissionRecord] = {}
        for event in self.journal.read():
            intent_id = str(event.get("intent_id", ""))
            kind = event.get("event")
            if kind == "intent":
                if event.get("slug") != self.slug:
                    continue
                records[intent_id] = SubmissionRecord(
                    intent_id=intent_id,
                    slug=self.slug,
                    file=str(event.get("file", "")),
                    sha256=str(event.get("sha256", "")),
                    message=str(event.get("message", "")),
                    description=str(event.get("description", "")),
                    cv_score=event.get("cv_score"),
                    created_at=str(event.get("at", "")),
                )
            elif intent_id in records:
                record = records[intent_id]
                if kind == "created":
                    records[intent_id] = replace(record, status="PENDING", ref=int(event["ref"]))
                elif kind == "scored":
                    records[intent_id] = replace(
                        record,
                        status=str(event.get("status")),
                        ref=int(event["ref"]),
                        public_score=event.get("public_score"),
                        private_score=event.get("private_score"),
                        error=str(event.get("error", "")),
                    )
                elif kind == "abandoned":
                    records[intent_id] = replace(record, status="ABANDONED", error=str(event.get("reason", "")))
        return list(records.values())

    def _event(self, kind: str, record: SubmissionRecord, **fields: Any) -> None:
        self.journal.append(
            {"event": kind, "intent_id": record.intent_id, "at": datetime.now(UTC).isoformat(), **fields}
        )

    # -- the flow

    def submit(self, submission: Path, *, message: str, cv_score: float | None) -> SubmissionRecord:
        """Submit ``submission`` (once), wait until Kaggle scores it and return the scored record.

        Raises:
            SubmissionLimitError: the allowance is used up; nothing was submitted.
            SubmissionScoringError: Kaggle scored it with status ERROR (its error text in the message).
            KaggleApiError: the API kept failing; the journal lets a later call resume without resubmitting.
        """
        submission = Path(submission)
        if not submission.is_file():
            raise UserInputError(f"submission file not found: {submission}")
        digest = _sha256(submission)
        for record in reversed(self.records()):
            if record.sha256 != digest or record.status == "ABANDONED":
                continue
            if record.status == "INTENT":
                record = self._reconcile(record)
                if record.status == "ABANDONED":
                    break
            logger.info("kaggle: %s was already submitted (ref %s); not submitting again", submission.name, record.ref)
            return self._wait(record)
        return self._submit_new(submission, digest, message=message, cv_score=cv_score)

    def _submit_new(self, submission: Path, digest: str, *, message: str, cv_score: float | None) -> SubmissionRecord:
        limits = self.client.submission_limits(self.slug)
        if limits.num_allowed_now <= 0:
            which = "total" if limits.limited_by_total else "daily"
            raise SubmissionLimitError(
                f"Kaggle's {which} submission limit for {self.slug} is reached "
                f"({limits.num_today} today, {limits.num_total} in total); nothing was submitted",
                hint="try again after midnight UTC" if which == "daily" else None,
            )
        intent_id = uuid.uuid4().hex[:16]
        text = " ".join(message.split())[: _MAX_DESCRIPTION - 30]
        record = SubmissionRecord(
            intent_id=intent_id,
            slug=self.slug,
            file=str(submission),
            sha256=digest,
            message=message,
            description=f"{text} [agentk:{intent_id}]".strip(),
            cv_score=cv_score,
            created_at=datetime.now(UTC).isoformat(),
        )
        self._event(
            "intent",
            record,
            slug=self.slug,
            file=record.file,
            sha256=digest,
            message=message,
            description=record.description,
            cv_score=cv_score,
        )
        delays = self.client.retry.delays()
        while True:
            try:
                ref = self.client.submit(self.slug, submission, record.description)
            except KaggleApiError as error:
                # The request may have reached Kaggle before it failed: look before trying again.
                record = self._reconcile(record, abandon=False)
                if record.ref is not None:
                    return self._wait(record)
                wait = next(delays, None) if error.transient else None
                if wait is None:
                    self._event("abandoned", record, reason=error.message)
                    raise
                logger.warning("kaggle: submission failed (%s); not on Kaggle, retrying in %.2fs", error.message, wait)
                self._sleep(wait)
                continue
            except BaseException:
                # Unknown outcome (interrupted): leave the intent; the next run reconciles it.
                raise
            self._event("created", record, ref=ref)
            return self._wait(replace(record, status="PENDING", ref=ref))

    def _reconcile(self, record: SubmissionRecord, *, abandon: bool = True) -> SubmissionRecord:
        """Find an unacknowledged intent on Kaggle by its marker; record what was found."""
        for found in self.client.list_submissions(self.slug):
            if record.marker in found.description:
                logger.info("kaggle: found intent %s on Kaggle as ref %d", record.intent_id, found.ref)
                self._event("created", record, ref=found.ref)
                return replace(record, status="PENDING", ref=found.ref)
        if abandon:
            self._event("abandoned", record, reason="not found on Kaggle after a restart")
            return replace(record, status="ABANDONED")
        return record

    def _wait(self, record: SubmissionRecord) -> SubmissionRecord:
        """Poll with backoff until COMPLETE or ERROR; journal and return the outcome."""
        if record.status == "ERROR":
            raise self._scoring_error(record)
        if record.status == "COMPLETE":
            return record
        assert record.ref is not None
        deadline = self._clock() + self.poll.timeout
        interval = self.poll.initial
        while True:
            info = self.client.get_submission(record.ref)
            if info.status in ("COMPLETE", "ERROR"):
                record = replace(
                    record,
                    status=info.status,
                    public_score=info.public_score,
                    private_score=info.private_score,
                    error=info.error if info.status == "ERROR" else "",
                )
                self._event(
                    "scored",
                    record,
                    ref=record.ref,
                    status=record.status,
                    public_score=record.public_score,
                    private_score=record.private_score,
                    error=record.error,
                )
                if record.status == "ERROR":
                    raise self._scoring_error(record)
                return record
            if self._clock() + interval > deadline:
                raise KaggleApiError(
                    f"submission {record.ref} to {self.slug} is still {info.status} after {self.poll.timeout:g}s",
                    hint="run again later: the journal resumes polling without submitting again",
                )
            self._sleep(interval)
            interval = min(interval * self.poll.multiplier, self.poll.max_interval)

    def _scoring_error(self, record: SubmissionRecord) -> SubmissionScoringError:
        text = record.error.strip() or "Kaggle gave no error text"
        return SubmissionScoringError(
            f"Kaggle could not score submission {record.ref} ({Path(record.file).name}) to {self.slug}: {text}"
        )


def choose_final_submissions(
    records: Iterable[SubmissionRecord], k: int, *, higher_is_better: bool
) -> list[SubmissionRecord]:
    """Up to ``k`` scored submissions with the best CV scores, best first.

    Only ``cv_score`` is looked at: public and private leaderboard scores are hidden-test information
    and must never steer the choice. Submissions without a CV score or not COMPLETE are not candidates.
    """
    if k < 0:
        raise ValueError("k must be >= 0")
    candidates = [r for r in records if r.status == "COMPLETE" and r.cv_score is not None]

    def cv(record: SubmissionRecord) -> float:
        score = float(record.cv_score or 0.0)
        return -score if higher_is_better else score

    candidates.sort(key=cv)
    return candidates[:k]


def submit_and_score(
    slug: str,
    submission: Path,
    *,
    run_dir: Path,
    cv_score: float | None,
    message: str,
    client: KaggleClient | None = None,
    poll: PollPolicy | None = None,
) -> SubmissionRecord:
    """Submit a file to a Kaggle competition exactly once and wait for its scores.

    A :class:`SubmissionManager` with its journal in ``run_dir`` does the work: limits, intent,
    submission, reconciliation after a crash, polling with backoff. Returns the record with public and
    private scores (``None`` where Kaggle does not publish them).
    """
    manager = SubmissionManager(client if client is not None else KaggleClient(), slug, run_dir, poll=poll)
    return manager.submit(Path(submission), message=message, cv_score=cv_score)
