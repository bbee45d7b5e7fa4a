"""A reasoner's transcript: one JSON line per model call, appended and fsynced, with secrets scrubbed.

:class:`LLMReasoner` calls its ``transcript`` hook with one record per model call (and one per fallback);
:class:`TranscriptWriter` is the hook that writes them to ``transcript.jsonl`` in the run directory. The file
is append-only like the event journal: a resumed run goes on appending, and a reader skips a torn last
line left by a crash (:func:`read_transcript`).

Records carry the prompt messages and the model's raw answer, which may quote the run state. Before a
record is written, every secret is replaced by ``[redacted]``: the values of secret-looking environment
variables (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD*``, ``KAGGLE_KEY``), any value given in
``secrets``, string values under secret-looking keys (``api_key``, ``token``, ``authorization``, ...), the
value in ``NAME=value`` / ``"name": "value"`` text when the name looks secret, and strings shaped like
provider keys (``sk-...``, ``Bearer ...``). :class:`LLMReasoner` applies the same rules to the state before
it builds a prompt, so a secret that leaked into the run state is not sent to the model provider either.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TranscriptHook = Callable[[dict[str, Any]], None]

REDACTED = "[redacted]"
_SECRET_ENV = re.compile(r"(API_KEY|_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$|PASSWORD", re.IGNORECASE)
# A key names a secret when it ends with one of these words ("tokens_in" does not, "api_token" does).
_KEY_WORDS = r"(?:api[_-]?key|secret|password|passwd|token|credentials?|authorization|_key)"
_SECRET_KEY = re.compile(rf"{_KEY_WORDS}$", re.IGNORECASE)
_SECRET_SHAPES = re.compile(
    r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{12,}"  # OpenAI / Anthropic style keys
    r"|\bBearer\s+[A-Za-z0-9._~+/\-]{8,}=*"  # bearer tokens
    r"|\bKGAT_[A-Za-z0-9]{16,}",  # Kaggle access tokens
    re.IGNORECASE,
)
# NAME=value, "name": "value", name: value inside text (an environment dump, JSON quoted in a prompt).
_SECRET_ASSIGNMENT = re.compile(rf"""(\b\w*{_KEY_WORDS}["']?\s*[:=]\s*["']?)([^\s"',;}}]{{4,}})""", re.IGNORECASE)
_MIN_SECRET_LEN = 6  # shorter values ("1", "true") would redact ordinary text


def secrets_from_env(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of the environment variables whose names say they hold a secret."""
    env = os.environ if environ is None else environ
    return {value for name, value in env.items() if _SECRET_ENV.search(name) and len(value) >= _MIN_SECRET_LEN}


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` (JSON-like) with every secret replaced by ``[redacted]``; the input is not changed."""
    known = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True)
    return _redact(value, known)


def _redact(value: Any, known: list[str]) -> Any:
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, REDACTED)
        value = _SECRET_SHAPES.sub(REDACTED, value)
        return _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, value)
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if isinstance(v, str) and v and _SECRET_KEY.search(str(k)) else _redact(v, known)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, known) for v in value]
    return value


class TranscriptWriter:
    """Appends transcript records to a JSON-lines file, one fsynced line each; usable as the reasoner's hook.

    Thread-safe (a lock around each append). Each record gets a UTC timestamp ``ts`` when it has none. A
    context manager too (``stack.enter_context(TranscriptWriter(path))``), though there is nothing to close.

    Args:
        path: the file (created with its folder; appended to when it exists).
        secrets: extra values to scrub, on top of :func:`secrets_from_env` read at construction.
    """

    def __init__(self, path: Path, *, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.secrets = secrets_from_env() | set(secrets)
        self.records = 0
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to close: each record opens, appends, fsyncs and closes the file."""

    def __call__(self, record: Mapping[str, Any]) -> None:
        data = dict(record)
        data.setdefault("ts", datetime.now(UTC).isoformat(timespec="milliseconds"))
        line = json.dumps(redact(data, self.secrets), default=str, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
            self.records += 1


def read_transcript(path: Path) -> list[dict[str, Any]]:
    """The records of a transcript file; a torn last line (a crash mid-write) is skipped."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise
    return out
