"""Data types: items, their reward statistics, search hits and change sets."""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from memory_store._errors import InvalidItemError

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
Vector: TypeAlias = npt.NDArray[np.float32]

_KIND = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Kind(StrEnum):
    """Conventional item kinds. ``MemoryItem.kind`` accepts any lower-case name; these have meaning.

    ``WORKING`` (working-memory entries) and ``EPISODE`` (episode-log entries) are short-term state; the
    store leaves ``WORKING`` out of search and forgetting unless asked for it explicitly.
    """

    FACT = "fact"
    INSIGHT = "insight"
    PLAN = "plan"
    OBSERVATION = "observation"
    PIPELINE_CONFIG = "pipeline_config"
    ERROR_FIX = "error_fix"
    RESULT = "result"
    PRIOR = "prior"
    EPISODE = "episode"
    WORKING = "working"


def new_item_id() -> str:
    """A fresh id that sorts by creation time: 16 hex digits of ``time_ns`` and 10 random hex digits."""
    return f"{time.time_ns():016x}{secrets.token_hex(5)}"


@dataclass(frozen=True, slots=True)
class RewardStats:
    """Reward statistics of one item; every field except ``last`` is a plain sum, so updates commute.

    Attributes:
        count: number of rewards received.
        total: exact sum of the rewards (``mean = total / count``).
        last: the reward with the latest timestamp (ties: the one applied last).
        last_at: timestamp of ``last`` (seconds since the Unix epoch), ``None`` if never rewarded.
        weighted_total: ``sum(r_i * w_i)`` with recency weights ``w_i = exp(lambda * (t_i - epoch))``.
        weight: ``sum(w_i)``; ``weighted_total / weight`` is the recency-weighted mean.
    """

    count: int = 0
    total: float = 0.0
    last: float | None = None
    last_at: float | None = None
    weighted_total: float = 0.0
    weight: float = 0.0

    @property
    def mean(self) -> float | None:
        """Plain mean reward, ``None`` before the first reward."""
        return self.total / self.count if self.count else None


@dataclass(frozen=True, slots=True, eq=False)
class MemoryItem:
    """One memory: a fact, insight, plan, observation, pipeline config, error->fix pair, result, ...

    Items are immutable values; the store returns new ones after each change. Equality compares every
    field, the embedding element-wise.

    Attributes:
        id: unique id (see :func:`new_item_id`); any non-empty string up to 200 characters.
        scope: canonical scope path, e.g. ``global/tabular-binary/titanic/run-42/setup``.
        kind: lower-case kind name, see :class:`Kind`.
        text: the text that is embedded and indexed for BM25.
        payload: structured JSON object (a pipeline config, an error and its fix, ...).
        tags: sorted, unique tags.
        embedding: float32 vector (L2-normalised by the built-in embedders) or ``None``.
        created_at, updated_at, last_used_at: seconds since the Unix epoch.
        stats: reward statistics.
    """

    id: str
    scope: str
    kind: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    embedding: Vector | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    last_used_at: float = 0.0
    stats: RewardStats = field(default_factory=RewardStats)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemoryItem):
            return NotImplemented
        if (self.embedding is None) != (other.embedding is None):
            return False
        if (
            self.embedding is not None
            and other.embedding is not None
            and not np.array_equal(self.embedding, other.embedding)
        ):
            return False
        return (
            self.id,
            self.scope,
            self.kind,
            self.text,
            self.payload,
            self.tags,
            self.created_at,
            self.updated_at,
            self.last_used_at,
            self.stats,
        ) == (
            other.id,
            other.scope,
            other.kind,
            other.text,
            other.payload,
            other.tags,
            other.created_at,
            other.updated_at,
            other.last_used_at,
            other.stats,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        dim = None if self.embedding is None else self.embedding.size
        return (
            f"MemoryItem(id={self.id!r}, scope={self.scope!r}, kind={self.kind!r}, text={self.text!r}, "
            f"payload={self.payload!r}, tags={self.tags!r}, embedding_dim={dim}, "
            f"created_at={self.created_at!r}, last_used_at={self.last_used_at!r}, stats={self.stats!r})"
        )

    def with_changes(self, **changes: Any) -> MemoryItem:
        """A copy with some fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)


def check_kind(kind: str) -> str:
    """Validate a kind name (lower-case letters, digits, ``_ . -``; at most 64 characters)."""
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise InvalidItemError(f"invalid kind {kind!r}: use lower-case letters, digits, '_', '.', '-'")
    return kind


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Sorted unique tags; each must be a non-empty string without control characters."""
    if isinstance(tags, str):
        raise InvalidItemError("tags must be a collection of strings, not one string")
    out = set()
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or any(ord(c) < 32 for c in tag):
            raise InvalidItemError(f"invalid tag {tag!r}")
        out.add(tag.strip())
    return tuple(sorted(out))


def check_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate that ``payload`` is a JSON object with finite numbers; returns a plain ``dict`` copy."""
    import json

    if not isinstance(payload, Mapping):
        raise InvalidItemError("payload must be a JSON object (a mapping with string keys)")
    try:
        text = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidItemError(f"payload is not JSON-serialisable: {exc}") from exc
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def check_embedding(embedding: Any, dim: int | None = None) -> Vector:
    """A 1-D finite float32 copy of ``embedding``; checks the dimension when ``dim`` is given."""
    vec = np.asarray(embedding, dtype=np.float32).reshape(-1).copy()
    if vec.size == 0 or not np.all(np.isfinite(vec)):
        raise InvalidItemError("embedding must be a non-empty vector of finite numbers")
    if dim is not None and vec.size != dim:
        from memory_store._errors import EmbeddingMismatchError

        raise EmbeddingMismatchError(f"embedding has dimension {vec.size}, the store uses {dim}")
    return vec


def check_reward(reward: float) -> float:
    """A finite float reward."""
    if isinstance(reward, bool) or not isinstance(reward, int | float) or not math.isfinite(reward):
        raise InvalidItemError(f"reward must be a finite number, got {reward!r}")
    return float(reward)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result with the parts of its score (see :class:`memory_store.RankingWeights`)."""

    item: MemoryItem
    score: float
    similarity: float
    bm25: float
    value: float
    proximity: float


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed in a backend after a version: see :meth:`MemoryBackend.changes_since`."""

    version: int
    upserted: list[MemoryItem]
    deleted: list[str]
