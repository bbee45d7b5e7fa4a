"""Kaggle competition references: URLs and slugs.

Only two URL shapes are accepted, on Kaggle's own host and nothing that merely looks like it::

    https://www.kaggle.com/competitions/<slug>[/...]      https://www.kaggle.com/c/<slug>[/...]

plus a bare slug. The URL is never fetched: only the slug is used, with Kaggle's API.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from agentk.errors import UserInputError

__all__ = ["SLUG_PATTERN", "is_valid_slug", "looks_like_kaggle_ref", "parse_competition_ref"]

#: A Kaggle competition slug: ASCII letters, digits and dashes, starting and ending with a letter or digit.
SLUG_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?")

_HOSTS = frozenset({"www.kaggle.com", "kaggle.com"})
_SCHEMES = frozenset({"https", "http"})
_PATH_PREFIXES = frozenset({"competitions", "c"})
_SCHEME_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_EXAMPLE = "https://www.kaggle.com/competitions/titanic"


def is_valid_slug(text: str) -> bool:
    """Whether ``text`` is exactly one competition slug."""
    return SLUG_PATTERN.fullmatch(text) is not None


def looks_like_kaggle_ref(text: str) -> bool:
    """Whether a run reference is meant for Kaggle rather than a local competition.

    True for anything with a URL scheme (``https://...``, even on another host, so that it is refused
    by :func:`parse_competition_ref` with a clear message instead of being looked up as a local name)
    and for anything that mentions kaggle. Bare slugs are not claimed: local names win.
    """
    stripped = text.strip()
    return "://" in stripped or "kaggle" in stripped.lower() or stripped.lower().startswith(("http:", "https:"))


def parse_competition_ref(text: str) -> str:
    """The competition slug of a Kaggle URL or bare slug.

    Raises:
        UserInputError: for anything else: other hosts and look-alikes, user-info or port tricks, IP
            addresses, other schemes, malformed slugs. The message says which forms are accepted.
    """
    if not isinstance(text, str):
        raise UserInputError(f"a competition reference must be text, not {type(text).__name__}")
    ref = text.strip()
    if is_valid_slug(ref):
        return ref
    shown = ref if len(ref) <= 80 else ref[:77] + "..."
    if not ref:
        raise _refuse(shown, "it is empty")
    if any(ord(ch) < 33 or ord(ch) > 126 for ch in ref):
        raise _refuse(shown, "it contains spaces, control or non-ASCII characters")
    if "://" not in ref:
        if _SCHEME_LIKE.match(ref) or "/" in ref or "." in ref:
            raise _refuse(shown, "URLs must start with https:// and point at www.kaggle.com")
        raise _refuse(shown, "it is not a valid slug (letters, digits and dashes)")
    try:
        parts = urlsplit(ref)
        port = parts.port
    except ValueError as error:
        raise _refuse(shown, f"it is not a well-formed URL ({error})") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise _refuse(shown, f"the scheme {parts.scheme!r} is not https")
    netloc = parts.netloc
    if "@" in netloc:
        raise _refuse(shown, "URLs with user information (user@host) are not accepted")
    host = netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc
    if host.lower() not in _HOSTS:
        raise _refuse(shown, f"the host {host!r} is not www.kaggle.com")
    if port is not None or ":" in netloc:
        raise _refuse(shown, "URLs with a port are not accepted")
    segments = parts.path.split("/")
    # "/competitions/<slug>/..." splits into ["", "competitions", "<slug>", ...]
    if len(segments) < 3 or segments[0] != "" or segments[1] not in _PATH_PREFIXES:
        raise _refuse(shown, "the path is not /competitions/<slug> or /c/<slug>")
    slug = segments[2]
    if not is_valid_slug(slug):
        raise _refuse(shown, f"{slug!r} is not a valid competition slug")
    return slug


def _refuse(ref: str, reason: str) -> UserInputError:
    return UserInputError(
        f"not a Kaggle competition reference: {ref!r}: {reason}",
        hint=f"use a URL like {_EXAMPLE} or a bare slug like titanic",
    )
