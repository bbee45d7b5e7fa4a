"""The in-memory backend: dictionaries under one lock, private to the process."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from memory_store._base import UPDATABLE_FIELDS, MemoryBackend
from memory_store._errors import DuplicateItemError, ItemNotFoundError
from memory_store._scopes import is_in_subtree
from memory_store._types import ChangeSet, MemoryItem, RewardStats


class InMemoryBackend(MemoryBackend):
    """Keeps items in a dict; nothing survives the process. Thread-safe through one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, MemoryItem] = {}
        # Change log: (version, id) per write, in version order; changes_since bisects it.
        self._log: list[tuple[int, str]] = []
        self._meta: dict[str, str] = {}
        self._version = 0

    def _bump(self) -> int:
        self._version += 1
        return self._version

    def _store(self, item: MemoryItem, version: int) -> None:
        self._items[item.id] = item
        self._log.append((version, item.id))

    def put(self, items: Sequence[MemoryItem], *, replace: bool = False) -> None:
        with self._lock:
            if not replace:
                ids = [item.id for item in items]
                dupes = [i for i in ids if i in self._items]
                if dupes or len(set(ids)) != len(ids):
                    raise DuplicateItemError(dupes or ids)
            if not items:
                return
            version = self._bump()
            for item in items:
                self._store(item, version)

    def get(self, ids: Sequence[str]) -> list[MemoryItem]:
        with self._lock:
            return [self._items[i] for i in ids if i in self._items]

    def update(self, item_id: str, fields: Mapping[str, Any], *, at: float) -> MemoryItem:
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"fields cannot be updated: {sorted(unknown)}")
        with self._lock:
            if item_id not in self._items:
                raise ItemNotFoundError([item_id])
            item = replace(self._items[item_id], updated_at=at, **fields)
            self._store(item, self._bump())
            return item

    def delete(self, ids: Sequence[str]) -> int:
        with self._lock:
            present = [i for i in dict.fromkeys(ids) if i in self._items]
            if present:
                version = self._bump()
                for i in present:
                    del self._items[i]
                    self._log.append((version, i))
            return len(present)

    def reward(self, ids: Sequence[str], reward: float, *, weight: float, at: float) -> None:
        with self._lock:
            unique = list(dict.fromkeys(ids))
            missing = [i for i in unique if i not in self._items]
            if missing:
                raise ItemNotFoundError(missing)
            if not unique:
                return
            version = self._bump()
            for i in unique:
                item = self._items[i]
                s = item.stats
                newer = s.last_at is None or at >= s.last_at
                stats = RewardStats(
                    count=s.count + 1,
                    total=s.total + reward,
                    last=reward if newer else s.last,
                    last_at=at if newer else s.last_at,
                    weighted_total=s.weighted_total + reward * weight,
                    weight=s.weight + weight,
                )
                self._store(replace(item, stats=stats, last_used_at=max(item.last_used_at, at)), version)

    def touch(self, ids: Sequence[str], *, at: float) -> None:
        with self._lock:
            present = [i for i in dict.fromkeys(ids) if i in self._items]
            if present:
                version = self._bump()
                for i in present:
                    item = self._items[i]
                    self._store(replace(item, last_used_at=max(item.last_used_at, at)), version)

    def _select(
        self,
        scope: str | None,
        descendants: bool,
        kinds: Collection[str] | None,
        exclude_kinds: Collection[str],
    ) -> list[MemoryItem]:
        out = []
        for item in self._items.values():
            if scope is not None and not (is_in_subtree(item.scope, scope) if descendants else item.scope == scope):
                continue
            if kinds is not None and item.kind not in kinds:
                continue
            if item.kind in exclude_kinds:
                continue
            out.append(item)
        return out

    def list_items(
        self,
        scope: str | None = None,
        *,
        descendants: bool = True,
        kinds: Collection[str] | None = None,
        exclude_kinds: Collection[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[MemoryItem]:
        with self._lock:
            items = sorted(
                self._select(scope, descendants, kinds, exclude_kinds), key=lambda it: (it.created_at, it.id)
            )
        end = None if limit is None else offset + limit
        return items[offset:end]

    def count(
        self,
        scope: str | None = None,
        *,
        descendants: bool = True,
        kinds: Collection[str] | None = None,
        exclude_kinds: Collection[str] = (),
    ) -> int:
        with self._lock:
            return len(self._select(scope, descendants, kinds, exclude_kinds))

    def scope_counts(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for item in self._items.values():
                counts[item.scope] = counts.get(item.scope, 0) + 1
            return counts

    def version(self) -> int:
        with self._lock:
            return self._version

    def changes_since(self, version: int) -> ChangeSet:
        with self._lock:
            start = bisect.bisect_right(self._log, version, key=lambda entry: entry[0])
            changed = dict.fromkeys(i for _, i in self._log[start:])
            upserted = [self._items[i] for i in changed if i in self._items]
            deleted = [i for i in changed if i not in self._items]
            return ChangeSet(self._version, upserted, deleted)

    def init_meta(self, key: str, value: str) -> str:
        with self._lock:
            return self._meta.setdefault(key, value)

    def close(self) -> None:
        pass
