"""The :class:`MemoryStore` facade: ranking, scopes, short-term memory, promotion and forgetting."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar, overload

import numpy as np

from memory_store._base import MemoryBackend
from memory_store._embedding import Embedder, HashingEmbedder, as_query_vector
from memory_store._errors import (
    DuplicateItemError,
    EmbeddingMismatchError,
    InvalidItemError,
    ItemNotFoundError,
)
from memory_store._index import RankingWeights, SearchIndex
from memory_store._rewards import RewardRule
from memory_store._scopes import normalize_scope
from memory_store._types import (
    JSONValue,
    Kind,
    MemoryItem,
    RewardStats,
    SearchHit,
    Vector,
    check_embedding,
    check_kind,
    check_payload,
    check_reward,
    new_item_id,
    normalize_tags,
)

T = TypeVar("T")
_MISSING: Any = object()
EXPORT_FORMAT = "memory_store/v1"


def improvement(stats: RewardStats) -> float | None:
    """How much the latest reward beats the mean of the earlier ones (``None`` with fewer than 2).

    An error->fix item rewarded 0 when the test failed and 1 once it passed has improvement 1.
    """
    if stats.count < 2 or stats.last is None:
        return None
    return stats.last - (stats.total - stats.last) / (stats.count - 1)


@dataclass(frozen=True, slots=True)
class PromotionRule:
    """Which short-term items :meth:`MemoryStore.promote` copies to long-term memory (all must hold).

    Attributes:
        min_count: at least this many rewards.
        min_value: recency-weighted value at least this (``None``: no bound).
        min_mean: plain mean reward at least this (``None``: no bound).
        min_improvement: :func:`improvement` at least this (``None``: no bound), e.g. ``0.5`` keeps
            error->fix pairs whose test went from failing (0) to passing (1).
        kinds: kinds to consider (``None``: all but ``working`` and ``episode``).
        predicate: an extra test ``predicate(item, value) -> bool``.
    """

    min_count: int = 1
    min_value: float | None = None
    min_mean: float | None = None
    min_improvement: float | None = None
    kinds: frozenset[str] | None = None
    predicate: Callable[[MemoryItem, float], bool] | None = None

    def accepts(self, item: MemoryItem, value: float) -> bool:
        """Whether ``item`` (with value ``value``) qualifies for promotion."""
        s = item.stats
        if self.kinds is not None:
            if item.kind not in self.kinds:
                return False
        elif item.kind in (Kind.WORKING, Kind.EPISODE):
            return False
        if s.count < self.min_count:
            return False
        if self.min_value is not None and value < self.min_value:
            return False
        if self.min_mean is not None and (s.mean is None or s.mean < self.min_mean):
            return False
        if self.min_improvement is not None:
            gain = improvement(s)
            if gain is None or gain < self.min_improvement:
                return False
        return self.predicate is None or self.predicate(item, value)


class WorkingMemory:
    """Typed key-value working memory of one scope (a run or a phase); values are JSON values.

    Entries are items of kind ``working`` with a deterministic id, so every process sees the same key.
    """

    def __init__(self, store: MemoryStore, scope: str) -> None:
        self._store = store
        self.scope = normalize_scope(scope)

    def _id(self, key: str) -> str:
        digest = hashlib.sha256(f"{self.scope}\x00{key}".encode()).hexdigest()[:32]
        return f"wm-{digest}"

    def set(self, key: str, value: JSONValue) -> None:
        """Set ``key`` to a JSON value (overwrites; last writer wins)."""
        if not isinstance(key, str) or not key:
            raise InvalidItemError("working-memory keys are non-empty strings")
        payload = check_payload({"key": key, "value": value, "type": type(value).__name__})
        now = self._store.now()
        item = MemoryItem(
            id=self._id(key),
            scope=self.scope,
            kind=Kind.WORKING.value,
            text=f"{key}: {json.dumps(value, ensure_ascii=False)[:500]}",
            payload=payload,
            created_at=now,
            updated_at=now,
            last_used_at=now,
        )
        self._store.backend.put([item], replace=True)

    @overload
    def get(self, key: str) -> JSONValue: ...
    @overload
    def get(self, key: str, type_: type[T]) -> T: ...
    @overload
    def get(self, key: str, type_: type[T], default: T) -> T: ...

    def get(self, key: str, type_: type[Any] | None = None, default: Any = _MISSING) -> Any:
        """The value of ``key``; checks it is a ``type_`` when given.

        Raises:
            KeyError: the key is not set and no default was given.
            TypeError: the value is not an instance of ``type_``.
        """
        found = self._store.backend.get([self._id(key)])
        if not found:
            if default is _MISSING:
                raise KeyError(key)
            return default
        value = found[0].payload["value"]
        if type_ is not None:
            if type_ is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, type_) or (isinstance(value, bool) and type_ is not bool):
                raise TypeError(f"working memory {key!r} holds {type(value).__name__}, not {type_.__name__}")
        return value

    def delete(self, key: str) -> bool:
        """Remove ``key``; returns whether it was set."""
        return self._store.backend.delete([self._id(key)]) == 1

    def as_dict(self) -> dict[str, JSONValue]:
        """All entries of this scope."""
        items = self._store.backend.list_items(self.scope, descendants=False, kinds=[Kind.WORKING.value])
        return {item.payload["key"]: item.payload["value"] for item in items}


class EpisodeLog:
    """Append-only log of what happened in one scope (a run or a phase), oldest first."""

    def __init__(self, store: MemoryStore, scope: str) -> None:
        self._store = store
        self.scope = normalize_scope(scope)

    def append(self, text: str, *, payload: Mapping[str, Any] | None = None, tags: Iterable[str] = ()) -> MemoryItem:
        """Append one entry (an item of kind ``episode``); entries are never updated."""
        return self._store.put(text, scope=self.scope, kind=Kind.EPISODE, payload=payload, tags=tags)

    def entries(self, limit: int | None = None, offset: int = 0) -> list[MemoryItem]:
        """Entries in order of appending (creation time, then id)."""
        return self._store.backend.list_items(
            self.scope, descendants=False, kinds=[Kind.EPISODE.value], limit=limit, offset=offset
        )

    def __len__(self) -> int:
        return self._store.backend.count(self.scope, descendants=False, kinds=[Kind.EPISODE.value])


class MemoryStore:
    """Nested long/short-term memory with reward-driven credit assignment, over any backend.

    Thread-safe when its backend is (all built-in ones are). Open one store per process.

    Args:
        backend: where items live (see :func:`memory_store.open_store`).
        embedder: text embedder; default :class:`HashingEmbedder`. The database remembers the
            embedder's name and dimension and refuses another one.
        reward_rule: credit-assignment and value rule.
        weights: hybrid ranking weights.
        capacity_per_scope: if set, :meth:`put` forgets down to this many items per exact scope.
        forget_threshold: value threshold of forgetting (items below it go first).
        recency_half_life_s: half-life of the recency factor used by forgetting (default 30 days).
        clock: time source in seconds since the Unix epoch (tests pass a fake clock).
    """

    def __init__(
        self,
        backend: MemoryBackend,
        *,
        embedder: Embedder | None = None,
        reward_rule: RewardRule | None = None,
        weights: RankingWeights | None = None,
        capacity_per_scope: int | None = None,
        forget_threshold: float = 0.0,
        recency_half_life_s: float = 30 * 24 * 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.embedder: Embedder = embedder if embedder is not None else HashingEmbedder()
        self.reward_rule = reward_rule if reward_rule is not None else RewardRule()
        self.weights = weights if weights is not None else RankingWeights()
        if capacity_per_scope is not None and capacity_per_scope < 1:
            raise ValueError("capacity_per_scope must be >= 1")
        self.capacity_per_scope = capacity_per_scope
        self.forget_threshold = forget_threshold
        self.recency_half_life_s = recency_half_life_s
        self._clock = clock
        signature = f"{self.embedder.name}:{self.embedder.dim}"
        stored = backend.init_meta("embedder", signature)
        if stored != signature:
            raise EmbeddingMismatchError(
                f"this memory was written with embedder {stored!r}; open it with that embedder, not {signature!r}"
            )
        self._index = SearchIndex(self.embedder.dim, self.value)

    # -- lifecycle ----------------------------------------------------------------------------------

    def now(self) -> float:
        """The store's clock."""
        return float(self._clock())

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- items --------------------------------------------------------------------------------------

    def _new_item(self, spec: Mapping[str, Any], embedding: Vector | None, now: float) -> MemoryItem:
        unknown = set(spec) - {"text", "scope", "kind", "payload", "tags", "embedding", "id"}
        if unknown:
            raise InvalidItemError(f"unknown item fields: {sorted(unknown)}")
        text = spec.get("text")
        if not isinstance(text, str):
            raise InvalidItemError("text must be a string")
        item_id = spec.get("id") or new_item_id()
        if not isinstance(item_id, str) or len(item_id) > 200:
            raise InvalidItemError("id must be a string of at most 200 characters")
        return MemoryItem(
            id=item_id,
            scope=normalize_scope(spec["scope"]),
            kind=check_kind(str(spec.get("kind", Kind.FACT))),
            text=text,
            payload=check_payload(spec.get("payload") or {}),
            tags=normalize_tags(spec.get("tags") or ()),
            embedding=embedding,
            created_at=now,
            updated_at=now,
            last_used_at=now,
        )

    def put(
        self,
        text: str,
        *,
        scope: str,
        kind: str = Kind.FACT,
        payload: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        embedding: Vector | Sequence[float] | None = None,
        id: str | None = None,
    ) -> MemoryItem:
        """Store a new item and return it. The text is embedded unless ``embedding`` is given.

        Raises:
            DuplicateItemError: ``id`` exists already.
            InvalidScopeError, InvalidItemError, EmbeddingMismatchError: malformed input.
        """
        spec: dict[str, Any] = {
            "text": text,
            "scope": scope,
            "kind": kind,
            "payload": payload,
            "tags": tags,
            "id": id,
        }
        if embedding is not None:
            spec["embedding"] = embedding
        return self.put_many([spec])[0]

    def put_many(self, specs: Sequence[Mapping[str, Any]]) -> list[MemoryItem]:
        """Store several items in one transaction; each spec has :meth:`put`'s keyword names."""
        now = self.now()
        to_embed = [i for i, spec in enumerate(specs) if spec.get("embedding") is None]
        vectors = self.embedder.embed([str(specs[i].get("text", "")) for i in to_embed]) if to_embed else None
        embedded = {i: vectors[j] for j, i in enumerate(to_embed)} if vectors is not None else {}
        items = []
        for i, spec in enumerate(specs):
            given = spec.get("embedding")
            emb = check_embedding(given, self.embedder.dim) if given is not None else embedded[i]
            items.append(self._new_item(spec, emb, now))
        self.backend.put(items)
        if self.capacity_per_scope is not None:
            for scope in {item.scope for item in items}:
                self._enforce_capacity(scope)
        return items

    def get(self, item_id: str, *, touch: bool = False) -> MemoryItem:
        """The item with this id (with ``touch``, mark it used now).

        Raises:
            ItemNotFoundError: no such item.
        """
        found = self.backend.get([item_id])
        if not found:
            raise ItemNotFoundError([item_id])
        if touch:
            self.backend.touch([item_id], at=self.now())
        return found[0]

    def get_many(self, ids: Sequence[str]) -> list[MemoryItem]:
        """The items that exist among ``ids``, in that order."""
        return self.backend.get(ids)

    def update(
        self,
        item_id: str,
        *,
        text: str | None = None,
        scope: str | None = None,
        kind: str | None = None,
        payload: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        embedding: Vector | Sequence[float] | None = None,
    ) -> MemoryItem:
        """Change some fields; a new text is re-embedded unless ``embedding`` is given.

        Reward statistics and timestamps other than ``updated_at`` are kept.

        Raises:
            ItemNotFoundError: no such item.
            InvalidItemError: the item is an episode-log entry (append-only) or input is malformed.
        """
        current = self.get(item_id)
        if current.kind == Kind.EPISODE:
            raise InvalidItemError("episode-log entries are append-only")
        fields: dict[str, Any] = {}
        if text is not None:
            fields["text"] = text
            if embedding is None:
                fields["embedding"] = self.embedder.embed([text])[0]
        if embedding is not None:
            fields["embedding"] = check_embedding(embedding, self.embedder.dim)
        if scope is not None:
            fields["scope"] = normalize_scope(scope)
        if kind is not None:
            fields["kind"] = check_kind(str(kind))
        if payload is not None:
            fields["payload"] = check_payload(payload)
        if tags is not None:
            fields["tags"] = normalize_tags(tags)
        if not fields:
            return current
        return self.backend.update(item_id, fields, at=self.now())

    def delete(self, ids: str | Sequence[str]) -> int:
        """Delete items; returns how many existed."""
        return self.backend.delete([ids] if isinstance(ids, str) else ids)

    def delete_scope(self, scope: str, *, descendants: bool = True) -> int:
        """Delete every item in a scope (and below it); e.g. a finished run after promotion."""
        ids = [item.id for item in self.backend.list_items(normalize_scope(scope), descendants=descendants)]
        return self.backend.delete(ids)

    def list_items(
        self,
        scope: str | None = None,
        *,
        descendants: bool = True,
        kinds: Collection[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[MemoryItem]:
        """Items in a scope (and below it), oldest first."""
        return self.backend.list_items(
            None if scope is None else normalize_scope(scope),
            descendants=descendants,
            kinds=kinds,
            limit=limit,
            offset=offset,
        )

    def count(self, scope: str | None = None, *, descendants: bool = True) -> int:
        """Number of items in a scope (and below it)."""
        return self.backend.count(None if scope is None else normalize_scope(scope), descendants=descendants)

    def scopes(self) -> dict[str, int]:
        """Item count per exact scope."""
        return self.backend.scope_counts()

    # -- rewards ------------------------------------------------------------------------------------

    def value(self, item: MemoryItem) -> float:
        """The recency-weighted value of an item under this store's reward rule."""
        return self.reward_rule.value(item.stats)

    def reward(self, item_ids: str | Sequence[str], reward: float, *, at: float | None = None) -> None:
        """Credit assignment: the distinct items that informed a decision share its reward.

        Each item gets ``reward`` (rule ``share="full"``) or ``reward / n`` (``share="split"``); see
        :class:`RewardRule` for the statistics and the value. All items or none are updated.

        Raises:
            ItemNotFoundError: an id does not exist (nothing changed).
            InvalidItemError: the reward is not a finite number.
        """
        ids = list(dict.fromkeys([item_ids] if isinstance(item_ids, str) else item_ids))
        r = check_reward(reward)
        when = self.now() if at is None else float(at)
        self.backend.reward(ids, self.reward_rule.per_item(r, len(ids)), weight=self.reward_rule.weight(when), at=when)

    def mark_used(self, item_ids: Sequence[str]) -> None:
        """Set ``last_used_at`` to now (forgetting keeps recently used items longer)."""
        self.backend.touch(list(item_ids), at=self.now())

    # -- retrieval ----------------------------------------------------------------------------------

    def _sync(self) -> None:
        """Bring the search index up to the backend's version. Caller holds the index lock."""
        index = self._index
        if index.needs_rebuild():
            index.reset()
        if index.version < 0:
            index.apply(self.backend.changes_since(0))
        elif self.backend.version() != index.version:
            index.apply(self.backend.changes_since(index.version))

    def search(
        self,
        query: str | None = None,
        *,
        vector: Vector | Sequence[float] | None = None,
        scope: str | None = None,
        kinds: Collection[str] | None = None,
        tags: Iterable[str] = (),
        k: int = 10,
        include_ancestors: bool = True,
        include_siblings: bool = False,
        include_descendants: bool = True,
        touch: bool = False,
    ) -> list[SearchHit]:
        """Hybrid search: embedding similarity, BM25, value and scope proximity.

        Args:
            query: query text (embedded for similarity and used for BM25).
            vector: query vector; overrides the embedding of ``query`` for similarity.
            scope: where to look: the scope itself, and as asked its ancestors, its siblings' subtrees
                and its descendants. ``None`` searches everything.
            kinds: kinds to return; default every kind except ``working``.
            tags: items must carry all of these tags.
            k: number of hits.
            include_ancestors, include_siblings, include_descendants: scope neighbourhood.
            touch: mark the returned items as used.

        Returns:
            Up to ``k`` hits, best first (ties: older item first).
        """
        qvec = None
        if vector is not None:
            qvec = as_query_vector(vector)
            if qvec.size != self.embedder.dim:
                raise EmbeddingMismatchError(f"query vector has {qvec.size} dimensions, not {self.embedder.dim}")
        elif query:
            qvec = self.embedder.embed([query])[0]
        kind_set = None if kinds is None else {str(kd) for kd in kinds}
        with self._index.lock:
            self._sync()
            scored = self._index.search(
                vector=qvec,
                text=query,
                scope=None if scope is None else normalize_scope(scope),
                kinds=kind_set,
                exclude_kinds=() if kinds is not None else (Kind.WORKING.value,),
                tags=normalize_tags(tags),
                k=k,
                ancestors=include_ancestors,
                siblings=include_siblings,
                descendants=include_descendants,
                weights=self.weights,
            )
        items = {item.id: item for item in self.backend.get([s.id for s in scored])}
        hits = [
            SearchHit(items[s.id], s.score, s.similarity, s.bm25, s.value, s.proximity) for s in scored if s.id in items
        ]
        if touch and hits:
            self.backend.touch([h.item.id for h in hits], at=self.now())
        return hits

    # -- promotion and forgetting -------------------------------------------------------------------

    def promote(self, source: str, target: str, rule: PromotionRule | None = None) -> list[MemoryItem]:
        """Copy the items of ``source`` (and below) that satisfy ``rule`` into the ``target`` scope.

        Short-term (run / phase) memories that earned it become long-term ones. The copy keeps text,
        kind, tags, embedding and reward statistics; its payload gains ``promoted_from`` (id and scope).
        Promoting the same item to the same target twice does nothing the second time.

        Returns:
            The newly created long-term items.
        """
        rule = rule if rule is not None else PromotionRule()
        return self.promote_items(
            [
                item.id
                for item in self.backend.list_items(normalize_scope(source))
                if rule.accepts(item, self.value(item))
            ],
            target,
        )

    def promote_items(self, item_ids: Sequence[str], target: str) -> list[MemoryItem]:
        """Copy the given items into ``target`` (see :meth:`promote`), skipping ones already there."""
        target = normalize_scope(target)
        now = self.now()
        created = []
        for item in self.backend.get(item_ids):
            digest = hashlib.sha256(f"{item.id}\x00{target}".encode()).hexdigest()[:24]
            copy = item.with_changes(
                id=f"p-{digest}",
                scope=target,
                payload={**item.payload, "promoted_from": {"id": item.id, "scope": item.scope}},
                created_at=now,
                updated_at=now,
            )
            try:
                self.backend.put([copy])
            except DuplicateItemError:
                continue
            created.append(copy)
        return created

    def recency(self, item: MemoryItem, now: float | None = None) -> float:
        """``2 ** (-(now - last_used_at) / recency_half_life_s)``, in (0, 1]."""
        age = max(0.0, (self.now() if now is None else now) - item.last_used_at)
        return float(2.0 ** (-age / self.recency_half_life_s))

    def retention(self, item: MemoryItem, now: float | None = None) -> float:
        """Retention score ``value x recency`` (``value / recency`` for negative values).

        It grows with value and falls with age for every sign of value, so at equal value the
        least recently used item goes first and at equal age the least valuable one.
        """
        value, rec = self.value(item), max(self.recency(item, now), 1e-300)
        return value * rec if value >= 0 else value / rec

    def forget(self, scope: str, capacity: int, *, threshold: float | None = None) -> list[str]:
        """Evict items of one exact scope until at most ``capacity`` remain; returns evicted ids.

        Order: every item whose value is below ``threshold`` (default: the store's
        ``forget_threshold``) goes before any item at or above it; within each group the lowest
        :meth:`retention` goes first (then the least recently used, then the smallest id).
        Working-memory entries are never forgotten.
        """
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        scope = normalize_scope(scope)
        bar = self.forget_threshold if threshold is None else threshold
        items = self.backend.list_items(scope, descendants=False, exclude_kinds=(Kind.WORKING.value,))
        excess = len(items) - capacity
        if excess <= 0:
            return []
        now = self.now()
        ranked = sorted(
            items,
            key=lambda it: (self.value(it) >= bar, self.retention(it, now), it.last_used_at, it.id),
        )
        victims = [it.id for it in ranked[:excess]]
        self.backend.delete(victims)
        return victims

    def _enforce_capacity(self, scope: str) -> None:
        assert self.capacity_per_scope is not None
        n = self.backend.count(scope, descendants=False, exclude_kinds=(Kind.WORKING.value,))
        if n > self.capacity_per_scope:
            self.forget(scope, self.capacity_per_scope)

    # -- short-term memory --------------------------------------------------------------------------

    def working(self, scope: str) -> WorkingMemory:
        """The typed key-value working memory of ``scope``."""
        return WorkingMemory(self, scope)

    def episode_log(self, scope: str) -> EpisodeLog:
        """The append-only episode log of ``scope``."""
        return EpisodeLog(self, scope)

    # -- export / import ----------------------------------------------------------------------------

    def export_jsonl(self, dest: str | os.PathLike[str] | IO[str], *, scope: str | None = None) -> int:
        """Write a header line and one JSON object per item; returns the number of items."""
        with _open_text(dest, "w") as out:
            header = {"format": EXPORT_FORMAT, "embedder": self.embedder.name, "dim": self.embedder.dim}
            out.write(json.dumps(header) + "\n")
            n = 0
            for item in self.list_items(scope):
                out.write(json.dumps(item_to_json(item), ensure_ascii=False, allow_nan=False) + "\n")
                n += 1
        return n

    def import_jsonl(
        self, src: str | os.PathLike[str] | IO[str], *, replace: bool = False, reembed: bool = False
    ) -> int:
        """Load items written by :meth:`export_jsonl`; returns how many were imported.

        Args:
            src: path or text stream.
            replace: overwrite existing ids instead of raising :class:`DuplicateItemError`.
            reembed: recompute embeddings with this store's embedder (needed when the export came from
                another embedder).

        Raises:
            InvalidItemError: a line is malformed (its number is in the message); nothing was imported.
            EmbeddingMismatchError: the export used another embedder and ``reembed`` is false.
        """
        items: list[MemoryItem] = []
        with _open_text(src, "r") as stream:
            for lineno, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidItemError(f"line {lineno}: not JSON ({exc})") from exc
                if lineno == 1 and isinstance(record, dict) and "format" in record:
                    if record["format"] != EXPORT_FORMAT:
                        raise InvalidItemError(f"unknown export format {record['format']!r}")
                    signature = (record.get("embedder"), record.get("dim"))
                    if not reembed and signature != (self.embedder.name, self.embedder.dim):
                        raise EmbeddingMismatchError(
                            f"export was embedded with {signature[0]} ({signature[1]}-d); pass reembed=True"
                        )
                    continue
                try:
                    items.append(item_from_json(record))
                except (KeyError, TypeError, ValueError) as exc:
                    raise InvalidItemError(f"line {lineno}: {exc}") from exc
        if reembed and items:
            vectors = self.embedder.embed([item.text for item in items])
            items = [item.with_changes(embedding=vectors[i]) for i, item in enumerate(items)]
        else:
            for item in items:
                if item.embedding is not None:
                    check_embedding(item.embedding, self.embedder.dim)
        for start in range(0, len(items), 1000):
            self.backend.put(items[start : start + 1000], replace=replace)
        return len(items)

    # -- statistics ---------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for the inspector: items, scopes, kinds, rewarded items, backend version."""
        scopes = self.scopes()
        with self._index.lock:
            self._sync()
            kinds, rewarded = self._index.summary()
        return {
            "items": sum(scopes.values()),
            "scopes": len(scopes),
            "kinds": dict(sorted(kinds.items())),
            "rewarded_items": rewarded,
            "version": self.backend.version(),
            "embedder": f"{self.embedder.name}:{self.embedder.dim}",
        }


def item_to_json(item: MemoryItem) -> dict[str, Any]:
    """The JSON-lines record of an item (floats round-trip exactly)."""
    s = item.stats
    return {
        "id": item.id,
        "scope": item.scope,
        "kind": item.kind,
        "text": item.text,
        "payload": item.payload,
        "tags": list(item.tags),
        "embedding": None if item.embedding is None else [float(x) for x in item.embedding],
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "last_used_at": item.last_used_at,
        "stats": {
            "count": s.count,
            "total": s.total,
            "last": s.last,
            "last_at": s.last_at,
            "weighted_total": s.weighted_total,
            "weight": s.weight,
        },
    }


def item_from_json(record: Mapping[str, Any]) -> MemoryItem:
    """Parse and validate a record written by :func:`item_to_json`."""
    s = record["stats"]
    emb = record.get("embedding")

    def opt(x: Any) -> float | None:
        return None if x is None else float(x)

    item_id = record["id"]
    if not isinstance(item_id, str) or not item_id or len(item_id) > 200:
        raise ValueError("id must be a non-empty string of at most 200 characters")
    return MemoryItem(
        id=item_id,
        scope=normalize_scope(record["scope"]),
        kind=check_kind(record["kind"]),
        text=str(record["text"]),
        payload=check_payload(record.get("payload") or {}),
        tags=normalize_tags(record.get("tags") or ()),
        embedding=None if emb is None else check_embedding(np.asarray(emb, dtype=np.float32)),
        created_at=float(record["created_at"]),
        updated_at=float(record["updated_at"]),
        last_used_at=float(record["last_used_at"]),
        stats=RewardStats(
            count=int(s["count"]),
            total=float(s["total"]),
            last=opt(s.get("last")),
            last_at=opt(s.get("last_at")),
            weighted_total=float(s["weighted_total"]),
            weight=float(s["weight"]),
        ),
    )


@contextmanager
def _open_text(target: str | os.PathLike[str] | IO[str], mode: str) -> Iterator[IO[str]]:
    if isinstance(target, io.IOBase) or hasattr(target, "read" if mode == "r" else "write"):
        yield target  # type: ignore[misc]
        return
    with Path(target).open(mode, encoding="utf-8") as handle:  # type: ignore[arg-type]
        yield handle
