"""A local HTTP server that speaks Kaggle's API, serving competitions in AgentK's folder format.

For tests and offline demos: the real ``kaggle`` client talks to it (``KAGGLE_API_ENVIRONMENT=LOCALHOST``
and ``kagglesdk.kaggle_env._env_to_endpoint[KaggleEnv.LOCAL] = server.url``, or
``AGENTK_KAGGLE_API_ENDPOINT`` for :class:`agentk.kaggle.KaggleClient`). Wire protocol: every call is
``POST /api/v1/<service>/<Rpc>`` with a camelCase JSON body; errors are non-2xx with a JSON body
``{"code": ..., "message": ...}``; data downloads answer with a 302 to the file; a submission is
``StartSubmissionUpload`` -> ``PUT`` of the bytes -> ``CreateSubmission``.

Each competition folder (``<dir>/<slug>/public/``, ``private/answers.csv``, ``metric.txt``,
``leaderboard.csv``, ``description.md``) is served as one competition: public files zipped on the fly,
submissions scored against ``private/answers.csv`` (public score on a fixed half of the rows, private
score on the other half), the leaderboard converted to Kaggle's download format. An optional
``kaggle_meta.json`` in a folder overrides metadata fields (camelCase, as on the wire).

Faults for tests (:class:`Faults`, or ``POST /_fake/faults`` with the same fields as JSON): HTTP 500s and
slow answers (timeouts) per RPC, scoring ending in ERROR, a daily limit, a ``CreateSubmission`` that
records the submission and then drops the connection or hangs. ``GET /_fake/submissions`` lists what the
server recorded.

Run: ``python -m agentk.kaggle.fake_server --port 8765 --competitions /work/shared/competitions``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import email.utils
import hashlib
import io
import json
import logging
import math
import threading
import time
import zipfile
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["FakeKaggleServer", "Faults", "RecordedSubmission", "main"]

logger = logging.getLogger("agentk.kaggle.fake_server")

DEFAULT_COMPETITIONS = Path("/work/shared/competitions")

#: Kaggle's evaluationMetric names for the local metric names (others are served as they are).
KAGGLE_METRIC_NAMES = {
    "accuracy": "Categorization Accuracy",
    "auc": "Area Under Receiver Operating Characteristic Curve",
    "f1": "Mean F-Score",
    "rmse": "Root Mean Squared Error",
    "rmsle": "Root Mean Squared Logarithmic Error",
    "mae": "Mean Absolute Error",
    "logloss": "Log Loss",
}

_COMPETITION_SERVICE = "competitions.CompetitionApiService"
_OAUTH_SERVICE = "security.OAuthService"


@dataclass
class Faults:
    """Switches for fault injection; counters count down as faults fire.

    Attributes:
        http_500: RPC name -> how many of its next calls answer HTTP 500.
        delay: RPC name -> how many of its next calls answer only after ``delay_seconds``.
        delay_seconds: How long a delayed call waits (longer than the client's timeout makes a timeout).
        score_error: When set, every new submission ends in status ERROR with this text.
        daily_limit: Overrides every competition's ``maxDailySubmissions``.
        drop_after_create: How many ``CreateSubmission`` calls record the submission, then close the
            connection without answering (the client never learns its ref).
        hang_after_create: Seconds a ``CreateSubmission`` waits after recording, before answering (so a
            test can kill the client between the two).
        pending_polls: ``GetSubmission`` answers PENDING this many times per submission before the result.
    """

    http_500: dict[str, int] = field(default_factory=dict)
    delay: dict[str, int] = field(default_factory=dict)
    delay_seconds: float = 2.0
    score_error: str | None = None
    daily_limit: int | None = None
    drop_after_create: int = 0
    hang_after_create: float = 0.0
    pending_polls: int = 1

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        for name, value in values.items():
            setattr(self, name, value)


@dataclass
class RecordedSubmission:
    """A submission the server accepted."""

    ref: int
    slug: str
    description: str
    file_name: str
    date: datetime
    status: str
    public_score: float | None
    private_score: float | None
    error: str
    polls_left: int
    size: int


@dataclass
class _Competition:
    slug: str
    root: Path
    metric: str
    higher_is_better: bool
    meta: dict[str, Any]
    _bundle: bytes | None = None

    def bundle(self) -> bytes:
        if self._bundle is None:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in sorted((self.root / "public").rglob("*")):
                    if path.is_file():
                        zf.write(path, path.relative_to(self.root / "public").as_posix())
            self._bundle = buffer.getvalue()
        return self._bundle


class _DropConnection(Exception):
    """Close the connection without an answer."""


class FakeKaggleServer:
    """Kaggle's API on ``127.0.0.1:<port>``, in a background thread. Use as a context manager.

    Args:
        competitions_dir: Folder of competitions in the local format.
        username / key: Basic-auth credentials to accept; ``token``: a bearer token to accept (also
            answered by ``IntrospectToken``). With none given, any credentials are accepted, but a
            request without any is refused with HTTP 401.
        port: 0 picks a free port.
        data_archive: Serve these bytes as every competition's data bundle (hostile-archive tests).
    """

    def __init__(
        self,
        competitions_dir: Path = DEFAULT_COMPETITIONS,
        *,
        username: str | None = None,
        key: str | None = None,
        token: str | None = None,
        port: int = 0,
        faults: Faults | None = None,
        data_archive: bytes | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.competitions_dir = Path(competitions_dir)
        self.username, self.key, self.token = username, key, token
        self.faults = faults or Faults()
        self.data_archive = data_archive
        self.overrides = overrides or {}
        self.submissions: list[RecordedSubmission] = []
        self.calls: list[str] = []
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._competitions: dict[str, _Competition] = {}
        self._uploads: dict[str, bytes] = {}
        self._next_ref = 1000
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The endpoint to give the client (it appends ``/api/v1/...``)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeKaggleServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-kaggle", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeKaggleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def submissions_for(self, slug: str) -> list[RecordedSubmission]:
        with self.lock:
            return [s for s in self.submissions if s.slug == slug]

    # -- competitions

    def competition(self, slug: str) -> _Competition | None:
        with self.lock:
            if slug in self._competitions:
                return self._competitions[slug]
            root = self.competitions_dir / slug
            if not slug or "/" in slug or slug.startswith(".") or not (root / "public").is_dir():
                return None
            spec = (root / "metric.txt").read_text(encoding="utf-8").split() if (root / "metric.txt").exists() else []
            metric = spec[0] if spec else "accuracy"
            higher = (spec[1] if len(spec) > 1 else "higher") == "higher"
            meta = {
                "id": abs(hash(slug)) % 1_000_000,
                "ref": f"https://www.kaggle.com/competitions/{slug}",
                "title": slug.replace("-", " ").title(),
                "url": f"https://www.kaggle.com/competitions/{slug}",
                "description": _read(root / "description.md"),
                "category": "Getting Started",
                "reward": "Knowledge",
                "deadline": "2030-01-01T23:59:00Z",
                "teamCount": _count_rows(root / "leaderboard.csv"),
                "maxDailySubmissions": 5,
                "evaluationMetric": KAGGLE_METRIC_NAMES.get(metric, metric),
                "awardsPoints": False,
                "isKernelsSubmissionsOnly": False,
                "submissionsDisabled": False,
            }
            if (root / "kaggle_meta.json").is_file():
                meta.update(json.loads((root / "kaggle_meta.json").read_text(encoding="utf-8")))
            meta.update(self.overrides.get(slug, {}))
            competition = _Competition(slug, root, metric, higher, meta)
            self._competitions[slug] = competition
            return competition

    def competition_slugs(self) -> list[str]:
        if not self.competitions_dir.is_dir():
            return []
        return sorted(p.name for p in self.competitions_dir.iterdir() if (p / "public").is_dir())

    # -- scoring

    def score(self, competition: _Competition, data: bytes) -> tuple[float | None, float | None, str]:
        """(public score, private score, error text) of a submission file."""
        answers_path = competition.root / "private" / "answers.csv"
        if not answers_path.is_file():
            return None, None, "This competition has no solution file"
        try:
            answers = list(csv.reader(io.StringIO(answers_path.read_text(encoding="utf-8"))))
            submitted = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        except UnicodeDecodeError:
            return None, None, "Submission file is not valid UTF-8 CSV"
        if not submitted or not submitted[0]:
            return None, None, "Submission file is empty"
        header, rows = answers[0], answers[1:]
        sub_header, sub_rows = [c.strip() for c in submitted[0]], submitted[1:]
        for column in header:
            if column not in sub_header:
                return None, None, f"Could not find column '{column}' in the submission file"
        if len(sub_rows) != len(rows):
            return None, None, f"Submission must have {len(rows)} rows (found {len(sub_rows)})"
        id_at, target_at = sub_header.index(header[0]), sub_header.index(header[1])
        predicted = {r[id_at]: r[target_at] for r in sub_rows if len(r) > max(id_at, target_at)}
        truth = {r[0]: r[1] for r in rows}
        missing = [i for i in truth if i not in predicted]
        if missing:
            return None, None, f"Submission is missing ids, for example '{missing[0]}'"
        public_ids = sorted(i for i in truth if int(hashlib.md5(i.encode()).hexdigest(), 16) % 2 == 0)
        private_ids = sorted(i for i in truth if i not in set(public_ids))
        try:
            public = _metric(competition.metric, [truth[i] for i in public_ids], [predicted[i] for i in public_ids])
            private = _metric(competition.metric, [truth[i] for i in private_ids], [predicted[i] for i in private_ids])
        except Exception as error:
            return None, None, f"Submission could not be scored: {error}"
        return public, private, ""

    # -- the RPCs

    def rpc(self, service: str, name: str, body: dict[str, Any], base: str) -> tuple[int, Any]:
        """Dispatch one RPC; (status, JSON body) or (status, ("redirect", url)) or bytes."""
        if service == _OAUTH_SERVICE and name == "IntrospectToken":
            active = self.token is None or body.get("token") == self.token
            return 200, {"active": active, "username": self.username or "agentk-test"} if active else {}
        if service != _COMPETITION_SERVICE:
            return 404, {"code": 404, "message": f"unknown service {service}"}
        handler = getattr(self, f"_rpc_{name}", None)
        if handler is None:
            return 404, {"code": 404, "message": f"unknown RPC {name}"}
        result: tuple[int, Any] = handler(body, base)
        return result

    def _lookup(self, body: dict[str, Any]) -> _Competition:
        competition = self.competition(str(body.get("competitionName", "")))
        if competition is None:
            raise _RpcError(404, "Competition not found")
        return competition

    def _rpc_ListCompetitions(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        search = str(body.get("search", "")).lower()
        found = [self.competition(s) for s in self.competition_slugs() if search in s.lower()]
        return 200, {"competitions": [c.meta for c in found if c is not None]}

    def _rpc_GetCompetition(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        return 200, self._lookup(body).meta

    def _rpc_ListDataFiles(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        files = [
            {
                "ref": p.name,
                "name": p.relative_to(competition.root / "public").as_posix(),
                "totalBytes": p.stat().st_size,
                "creationDate": "2020-01-01T00:00:00.000Z",
            }
            for p in sorted((competition.root / "public").rglob("*"))
            if p.is_file()
        ]
        return 200, {"files": files}

    def _rpc_DownloadDataFiles(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        return 302, ("redirect", f"{base}/_files/{competition.slug}.zip")

    def _rpc_DownloadDataFile(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        name = str(body.get("fileName", ""))
        path = competition.root / "public" / name
        if ".." in name.split("/") or not path.is_file():
            raise _RpcError(404, f"File {name} not found")
        return 302, ("redirect", f"{base}/_files/{competition.slug}/{name}")

    def _rpc_GetSubmissionLimits(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        limit = self._daily_limit(competition)
        today = self._today_count(competition.slug)
        total = len(self.submissions_for(competition.slug))
        return 200, {
            "numToday": today,
            "numTotal": total,
            "numAllowedNow": max(0, limit - today),
            "limitedByTotal": False,
        }

    def _daily_limit(self, competition: _Competition) -> int:
        if self.faults.daily_limit is not None:
            return int(self.faults.daily_limit)
        return int(competition.meta.get("maxDailySubmissions") or 5)

    def _today_count(self, slug: str) -> int:
        today = datetime.now(UTC).date()
        return sum(1 for s in self.submissions_for(slug) if s.date.date() == today)

    def _rpc_StartSubmissionUpload(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        self._lookup(body)
        with self.lock:
            token = f"blob-{len(self._uploads) + 1}-{int(time.time() * 1000)}"
            self._uploads[token] = b""
        return 200, {"token": token, "createUrl": f"{base}/_upload/{token}"}

    def upload(self, token: str, data: bytes) -> bool:
        with self.lock:
            if token not in self._uploads:
                return False
            self._uploads[token] = data
            return True

    def _rpc_CreateSubmission(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        token = str(body.get("blobFileTokens", ""))
        with self.lock:
            if token not in self._uploads:
                raise _RpcError(400, "Unknown blob file token")
            if self._today_count(competition.slug) >= self._daily_limit(competition):
                raise _RpcError(
                    400,
                    f"Your team has used its daily Submission allowance ({self._daily_limit(competition)}) today, "
                    "please try again tomorrow UTC",
                )
            data = self._uploads.pop(token)
            public, private, error = self.score(competition, data)
            if self.faults.score_error is not None:
                public, private, error = None, None, self.faults.score_error
            self._next_ref += 1
            record = RecordedSubmission(
                ref=self._next_ref,
                slug=competition.slug,
                description=str(body.get("submissionDescription", "")),
                file_name="submission.csv",
                date=datetime.now(UTC),
                status="ERROR" if error else "COMPLETE",
                public_score=public,
                private_score=private,
                error=error,
                polls_left=int(self.faults.pending_polls),
                size=len(data),
            )
            self.submissions.append(record)
            drop = self.faults.drop_after_create > 0
            if drop:
                self.faults.drop_after_create -= 1
            hang = self.faults.hang_after_create
        if hang:
            self.stopping.wait(hang)
        if drop:
            raise _DropConnection
        return 200, {"message": f"Successfully submitted to {competition.meta['title']}", "ref": record.ref}

    def _submission_json(self, record: RecordedSubmission, *, poll: bool) -> dict[str, Any]:
        with self.lock:
            pending = record.polls_left > 0
            if poll and pending:
                record.polls_left -= 1
        data: dict[str, Any] = {
            "ref": record.ref,
            "totalBytes": record.size,
            "date": record.date.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "description": record.description,
            "fileName": record.file_name,
            "status": "PENDING" if pending else record.status,
            "submittedBy": self.username or "agentk-test",
            "teamName": self.username or "agentk-test",
        }
        if not pending and record.status == "COMPLETE":
            data["publicScore"] = _fmt(record.public_score)
            data["privateScore"] = _fmt(record.private_score)
        if not pending and record.error:
            data["errorDescription"] = record.error
        return data

    def _rpc_ListSubmissions(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        newest_first = sorted(self.submissions_for(competition.slug), key=lambda s: s.ref, reverse=True)
        size = int(body.get("pageSize") or 20)
        page = int(body.get("page") or 1)
        chosen = newest_first[(page - 1) * size : page * size]
        return 200, {"submissions": [self._submission_json(s, poll=False) for s in chosen]}

    def _rpc_GetSubmission(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        ref = int(body.get("ref") or 0)
        with self.lock:
            found = [s for s in self.submissions if s.ref == ref]
        if not found:
            raise _RpcError(404, f"Submission {ref} not found")
        return 200, self._submission_json(found[0], poll=True)

    def leaderboard_rows(self, competition: _Competition) -> list[dict[str, Any]]:
        path = competition.root / "leaderboard.csv"
        if not path.is_file():
            return []
        rows = []
        with path.open(encoding="utf-8") as handle:
            for index, row in enumerate(csv.DictReader(handle)):
                team_id = row.get("team_id") or str(900_000 + index)
                rows.append(
                    {
                        "teamId": int(team_id),
                        "teamName": row.get("team_name") or f"team-{team_id}",
                        "submissionDate": (row.get("submission_date") or "2020-01-01 00:00:00"),
                        "score": row.get("score", ""),
                    }
                )
        return rows

    def _rpc_GetLeaderboard(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        rows = self.leaderboard_rows(competition)
        size = int(body.get("pageSize") or 20)
        start = int(body.get("pageToken") or 0)
        chosen = rows[start : start + size]
        out = [{**r, "submissionDate": r["submissionDate"].replace(" ", "T") + ".000Z"} for r in chosen]
        token = str(start + size) if start + size < len(rows) else ""
        return 200, {"submissions": out, "nextPageToken": token}

    def _rpc_DownloadLeaderboard(self, body: dict[str, Any], base: str) -> tuple[int, Any]:
        competition = self._lookup(body)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["TeamId", "TeamName", "SubmissionDate", "Score"])
        for row in self.leaderboard_rows(competition):
            writer.writerow([row["teamId"], row["teamName"], row["submissionDate"], row["score"]])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{competition.slug}-publicleaderboard.csv", text.getvalue())
        return 200, buffer.getvalue()

    # -- faults

    def take_fault(self, rpc: str) -> str | None:
        with self.lock:
            self.calls.append(rpc)
            for kind in ("http_500", "delay"):
                table: dict[str, int] = getattr(self.faults, kind)
                if table.get(rpc, 0) > 0:
                    table[rpc] -= 1
                    return kind
        return None


class _RpcError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as handle:
        return max(0, sum(1 for _ in handle) - 1)


def _fmt(score: float | None) -> str:
    return "" if score is None else f"{score:.5f}"


def _metric(name: str, truth: list[str], predicted: list[str]) -> float:
    """Score with AgentK's registry when it is importable, else with a small built-in scorer."""
    try:
        from agentk.competitions.metrics import get_metric
    except ImportError:
        return _builtin_metric(name, truth, predicted)
    metric = get_metric(name)
    y_true = [_number(v) for v in truth]
    y_pred = [_number(v) for v in predicted]
    return float(metric(y_true, y_pred))


def _number(value: str) -> float | str:
    text = value.strip()
    if text.lower() in ("true", "false"):
        return 1.0 if text.lower() == "true" else 0.0
    try:
        return float(text)
    except ValueError:
        return text


def _builtin_metric(name: str, truth: list[str], predicted: list[str]) -> float:
    if name == "accuracy":
        return sum(a.strip() == b.strip() for a, b in zip(truth, predicted, strict=True)) / len(truth)
    t = [float(v) for v in truth]
    p = [float(v) for v in predicted]
    if name in ("rmse", "rmse_log"):
        if name == "rmse_log":
            t, p = [math.log(v) for v in t], [math.log(v) for v in p]
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(t, p, strict=True)) / len(t))
    if name == "f1":
        tp = sum(1 for a, b in zip(t, p, strict=True) if a == 1 and b == 1)
        fp = sum(1 for a, b in zip(t, p, strict=True) if a != 1 and b == 1)
        fn = sum(1 for a, b in zip(t, p, strict=True) if a == 1 and b != 1)
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    if name == "auc":
        positives = [b for a, b in zip(t, p, strict=True) if a == 1]
        negatives = [b for a, b in zip(t, p, strict=True) if a != 1]
        wins = sum((x > y) + 0.5 * (x == y) for x in positives for y in negatives)
        return wins / (len(positives) * len(negatives))
    raise ValueError(f"unknown metric {name}")


def _make_handler(server: FakeKaggleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("fake kaggle: " + format, *args)

        def _base(self) -> str:
            return server.url

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            if header.startswith("Bearer "):
                value = header[len("Bearer ") :]
                return server.token is None or value == server.token
            if header.startswith("Basic "):
                try:
                    user, _, key = base64.b64decode(header[6:]).decode().partition(":")
                except ValueError:
                    return False
                if server.username is None and server.key is None:
                    return bool(user and key)
                return user == server.username and key == server.key
            return False

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_POST(self) -> None:
            try:
                self._post()
            except _DropConnection:
                self.close_connection = True
                self.connection.shutdown(2)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _post(self) -> None:
            path = self.path.split("?")[0]
            raw = self._body()
            if path == "/_fake/faults":
                try:
                    server.faults.update(json.loads(raw or b"{}"))
                except (ValueError, TypeError) as error:
                    self._json(400, {"code": 400, "message": str(error)})
                    return
                self._json(200, {"ok": True})
                return
            parts = path.strip("/").split("/")
            if len(parts) != 4 or parts[:2] != ["api", "v1"]:
                self._json(404, {"code": 404, "message": "not found"})
                return
            service, rpc = parts[2], parts[3]
            fault = server.take_fault(rpc)
            if fault == "delay":
                server.stopping.wait(server.faults.delay_seconds)
            elif fault == "http_500":
                self._json(500, {"code": 500, "message": "Internal server error (injected)"})
                return
            if not (service == _OAUTH_SERVICE or self._authorised()):
                self._json(401, {"code": 401, "message": "Unauthenticated"})
                return
            try:
                body = json.loads(raw or b"{}")
                status, payload = server.rpc(service, rpc, body, self._base())
            except _RpcError as error:
                self._json(error.status, {"code": error.status, "message": error.message})
                return
            if isinstance(payload, tuple) and payload[0] == "redirect":
                self._send(302, b"", "text/plain", {"Location": payload[1]})
            elif isinstance(payload, bytes):
                self._send(status, payload, "application/zip")
            else:
                self._json(status, payload)

        def do_GET(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._get()

        def _get(self) -> None:
            path = self.path.split("?")[0]
            if path == "/_fake/submissions":
                with server.lock:
                    items = [
                        {
                            "ref": s.ref,
                            "slug": s.slug,
                            "description": s.description,
                            "status": s.status,
                            "publicScore": s.public_score,
                            "privateScore": s.private_score,
                            "error": s.error,
                        }
                        for s in server.submissions
                    ]
                self._json(200, {"submissions": items})
                return
            parts = path.strip("/").split("/")
            if len(parts) < 2 or parts[0] != "_files":
                self._json(404, {"code": 404, "message": "not found"})
                return
            headers = {"Last-Modified": email.utils.formatdate(usegmt=True)}
            if len(parts) == 2 and parts[1].endswith(".zip"):
                competition = server.competition(parts[1][: -len(".zip")])
                if competition is None:
                    self._json(404, {"code": 404, "message": "not found"})
                    return
                data = server.data_archive if server.data_archive is not None else competition.bundle()
                self._send(200, data, "application/zip", headers)
                return
            competition = server.competition(parts[1])
            name = "/".join(parts[2:])
            file = competition.root / "public" / name if competition else None
            if file is None or ".." in parts or not file.is_file():
                self._json(404, {"code": 404, "message": "not found"})
                return
            self._send(200, file.read_bytes(), "application/octet-stream", headers)

        def do_PUT(self) -> None:
            path = self.path.split("?")[0]
            data = self._body()
            parts = path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "_upload" and server.upload(parts[1], data):
                self._json(200, {})
            else:
                self._json(404, {"code": 404, "message": "unknown upload"})

    return Handler


def main(argv: list[str] | None = None) -> None:
    """``python -m agentk.kaggle.fake_server --port P --competitions DIR``: serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--competitions", type=Path, default=DEFAULT_COMPETITIONS)
    parser.add_argument("--username", default=None, help="accept only this user (Basic auth)")
    parser.add_argument("--key", default=None, help="accept only this key (Basic auth)")
    parser.add_argument("--daily-limit", type=int, default=None)
    parser.add_argument("--pending-polls", type=int, default=1)
    args = parser.parse_args(argv)
    faults = Faults(daily_limit=args.daily_limit, pending_polls=args.pending_polls)
    server = FakeKaggleServer(args.competitions, username=args.username, key=args.key, port=args.port, faults=faults)
    print(f"fake Kaggle API on {server.url} serving {args.competitions}", flush=True)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
