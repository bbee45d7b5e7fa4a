"""Finding Kaggle credentials before anything else runs, and keeping them out of every output.

The order mirrors what the ``kaggle`` client will actually use, so that what we check is what it sends:

1. an access token: ``KAGGLE_API_TOKEN`` (the token itself, or the path of a file holding it), else
   ``~/.kaggle/access_token``;
2. ``KAGGLE_USERNAME`` + ``KAGGLE_KEY`` (the client lets them override ``kaggle.json``);
3. ``kaggle.json`` in the client's config folder (``$KAGGLE_CONFIG_DIR``, else ``~/.kaggle`` when it
   exists, else ``$XDG_CONFIG_HOME/kaggle`` or ``~/.config/kaggle``); refused when group or others can
   read it — the client would only print a warning.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from agentk.kaggle._errors import KaggleCredentialsError

__all__ = ["KaggleCredentials", "Redactor", "kaggle_config_dir", "resolve_credentials"]

_HINT = (
    "set KAGGLE_API_TOKEN, or KAGGLE_USERNAME and KAGGLE_KEY, or put kaggle.json (mode 600) in ~/.kaggle; "
    "tokens are made at https://www.kaggle.com/settings/api"
)


@dataclass(frozen=True)
class KaggleCredentials:
    """Credentials and where they came from. ``repr`` and ``str`` never show the secret."""

    kind: Literal["token", "key"]
    source: str
    username: str | None
    secret: SecretStr = field(repr=False)

    def secrets(self) -> tuple[str, ...]:
        """The raw values to scrub from logs, errors and files."""
        return (self.secret.get_secret_value(),)


def kaggle_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder where the ``kaggle`` client looks for ``kaggle.json`` (same rules as the client)."""
    env = os.environ if env is None else env
    configured = env.get("KAGGLE_CONFIG_DIR")
    if configured:
        return Path(configured).expanduser()
    home_dir = Path("~/.kaggle").expanduser()
    if sys.platform.startswith("linux") and not home_dir.exists():
        xdg = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
        return Path(xdg) / "kaggle"
    return home_dir


def resolve_credentials(env: Mapping[str, str] | None = None) -> KaggleCredentials:
    """The credentials the client will use, checked without importing it or touching the network.

    Raises:
        KaggleCredentialsError: none found, an incomplete pair, an empty token file, an unreadable or
            malformed ``kaggle.json``, or a ``kaggle.json`` that group or others can read.
    """
    env = os.environ if env is None else env
    token = env.get("KAGGLE_API_TOKEN", "").strip()
    if token:
        if len(token) < 4096 and _is_file(token):
            value = _read_secret_file(Path(token), "KAGGLE_API_TOKEN file")
            return KaggleCredentials("token", "KAGGLE_API_TOKEN file", None, SecretStr(value))
        return KaggleCredentials("token", "KAGGLE_API_TOKEN", None, SecretStr(token))
    token_file = Path("~/.kaggle/access_token").expanduser()
    if token_file.is_file():
        value = _read_secret_file(token_file, str(token_file))
        return KaggleCredentials("token", str(token_file), None, SecretStr(value))

    username = env.get("KAGGLE_USERNAME", "").strip()
    key = env.get("KAGGLE_KEY", "").strip()
    if username and key:
        return KaggleCredentials("key", "KAGGLE_USERNAME/KAGGLE_KEY", username, SecretStr(key))
    if username or key:
        missing = "KAGGLE_KEY" if username else "KAGGLE_USERNAME"
        raise KaggleCredentialsError(f"Kaggle credentials are incomplete: {missing} is not set", hint=_HINT)

    config = kaggle_config_dir(env) / "kaggle.json"
    if config.exists():
        return _from_kaggle_json(config)
    raise KaggleCredentialsError("no Kaggle credentials found", hint=_HINT)


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KaggleCredentialsError(
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):o}); refusing to use it",
            hint=f"run: chmod 600 {path}",
        )


def _read_secret_file(path: Path, label: str) -> str:
    _check_private(path)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise KaggleCredentialsError(f"cannot read {label}: {type(error).__name__}", hint=_HINT) from None
    if not value:
        raise KaggleCredentialsError(f"{label} is empty", hint=_HINT)
    return value


def _from_kaggle_json(path: Path) -> KaggleCredentials:
    _check_private(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        # Never echo the content: it is a secret.
        raise KaggleCredentialsError(f"{path} is not valid JSON", hint=_HINT) from None
    if not isinstance(data, dict) or not data.get("username") or not data.get("key"):
        raise KaggleCredentialsError(f'{path} must hold {{"username": ..., "key": ...}}', hint=_HINT)
    return KaggleCredentials("key", str(path), str(data["username"]), SecretStr(str(data["key"])))


class Redactor:
    """Replaces known secret values with ``***`` in text (defence in depth for errors and logs)."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
