"""Scope paths: ``global/tabular-binary/titanic/run-42/setup``.

A scope is a ``/``-separated path of one or more non-empty segments. Whitespace around segments is
dropped, so ``"global / titanic"`` and ``"global/titanic"`` are the same scope. Segments may not contain
``/`` or control characters. A scope's *subtree* is the scope itself and every scope below it.
"""

from __future__ import annotations

import re

from memory_store._errors import InvalidScopeError

SEPARATOR = "/"
# The character right after "/" in code-point order: every descendant of "a/b" sorts in ["a/b/", "a/b0").
_AFTER_SEPARATOR = chr(ord(SEPARATOR) + 1)
_BAD_SEGMENT = re.compile(r"[\x00-\x1f\x7f]")


def normalize_scope(scope: str) -> str:
    """Return the canonical form of ``scope`` (segments stripped, joined by ``/``).

    Raises:
        InvalidScopeError: the scope is empty or a segment is empty or has control characters.
    """
    if not isinstance(scope, str):
        raise InvalidScopeError(f"scope must be a string, got {type(scope).__name__}")
    parts = [part.strip() for part in scope.split(SEPARATOR)]
    if not parts or any(not part for part in parts):
        raise InvalidScopeError(f"invalid scope {scope!r}: segments must be non-empty")
    for part in parts:
        if _BAD_SEGMENT.search(part):
            raise InvalidScopeError(f"invalid scope {scope!r}: control character in segment {part!r}")
    return SEPARATOR.join(parts)


def join_scope(*parts: str) -> str:
    """Join scope paths or segments: ``join_scope("global", "titanic/run-1") == "global/titanic/run-1"``."""
    return normalize_scope(SEPARATOR.join(parts))


def scope_parts(scope: str) -> list[str]:
    """The segments of a canonical scope."""
    return scope.split(SEPARATOR)


def parent_scope(scope: str) -> str | None:
    """The parent of a canonical scope, or ``None`` for a top-level scope."""
    head, sep, _ = scope.rpartition(SEPARATOR)
    return head if sep else None


def ancestor_scopes(scope: str) -> list[str]:
    """The proper ancestors of a canonical scope, nearest first."""
    parts = scope_parts(scope)
    return [SEPARATOR.join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def is_in_subtree(scope: str, root: str) -> bool:
    """Whether ``scope`` is ``root`` or below it (both canonical)."""
    return scope == root or scope.startswith(root + SEPARATOR)


def subtree_bounds(root: str) -> tuple[str, str]:
    """Half-open string range ``[low, high)`` holding exactly the proper descendants of ``root``.

    Used for index-friendly SQL (``scope >= low AND scope < high``); needs binary (code point) collation.
    """
    return root + SEPARATOR, root + _AFTER_SEPARATOR


def scope_distance(a: str, b: str) -> int:
    """Number of tree edges between two canonical scopes (0 for the same scope).

    Top-level scopes hang under an implicit root, so ``scope_distance("a", "b") == 2``.
    """
    pa, pb = scope_parts(a), scope_parts(b)
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return (len(pa) - common) + (len(pb) - common)
