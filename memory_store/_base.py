"""The abstract storage backend and its invariants."""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from memory_store._types import ChangeSet, MemoryItem

#: Fields :meth:`MemoryBackend.update` may change.
UPDATABLE_FIELDS = frozenset({"scope", "kind", "text", "payload", "tags", "embedding"})


class MemoryBackend(abc.ABC):
    """Where items live. Backends store and count; :class:`memory_store.MemoryStore` does the rest.

    Backends only persist items and apply small atomic changes; ranking, scopes, working memory, the
    episode log, promotion and forgetting live in the store facade, so a new backend is a few hundred
    lines. Every backend passes the same contract tests (``tests/memory_store/test_contract.py``).

    Invariants every implementation keeps:

    * **Thread safety.** Every method may be called from several threads at once.
    * **Process safety.** The SQL backends may be opened by several processes on the same database;
      writes from all of them are serialised, none is lost. An instance must not cross a ``fork``: open
      the store in each process. The in-memory backend is private to its process.
    * **Validated input.** Backends receive items already validated by the store (canonical scope,
      checked kind, sorted tags, JSON payload, float32 embedding) and store them verbatim: what
      :meth:`get` returns equals what :meth:`put` received (floats round-trip exactly).
    * **Atomicity.** Each call is one transaction: :meth:`put`, :meth:`update`, :meth:`delete`,
      :meth:`reward` and :meth:`touch` apply to all their ids or, when they raise, to none.
    * **Commuting rewards.** :meth:`reward` adds to sums in place (``count = count + 1``,
      ``total = total + r``, ...) inside the transaction that locks the row, never read-modify-write
      from the client, so concurrent rewards are never lost and their order does not change the sums.
      ``last`` follows the latest timestamp, ``last_used_at`` only moves forward.
    * **Versions.** Every committed write increases :meth:`version` by at least one and stamps the rows
      it touches with the new version; deletions leave a tombstone with that version.
      :meth:`changes_since` therefore returns every item changed after a version, which the store uses
      to keep its in-process search index fresh without rereading the table.
    * **Ordering.** :meth:`list_items` returns items by ``(created_at, id)``.

    Errors: :class:`~memory_store.DuplicateItemError` (``put`` of an existing id without ``replace``),
    :class:`~memory_store.ItemNotFoundError` (``update`` or ``reward`` of a missing id),
    :class:`~memory_store.StorageError` (the database failed: I/O, connection, lock timeout), with the
    driver's exception as ``__cause__``. Nothing else is raised on purpose.
    """

    @abc.abstractmethod
    def put(self, items: Sequence[MemoryItem], *, replace: bool = False) -> None:
        """Insert items (all or none). With ``replace``, existing ids are overwritten, stats included.

        Raises:
            DuplicateItemError: an id exists already (or repeats in ``items``) and ``replace`` is false.
        """

    @abc.abstractmethod
    def get(self, ids: Sequence[str]) -> list[MemoryItem]:
        """The items with these ids, in the order asked; missing ids are left out."""

    @abc.abstractmethod
    def update(self, item_id: str, fields: Mapping[str, Any], *, at: float) -> MemoryItem:
        """Change some of :data:`UPDATABLE_FIELDS`, set ``updated_at = at``, return the new item.

        Raises:
            ItemNotFoundError: no item has this id.
        """

    @abc.abstractmethod
    def delete(self, ids: Sequence[str]) -> int:
        """Delete items; returns how many existed. Missing ids are ignored."""

    @abc.abstractmethod
    def reward(self, ids: Sequence[str], reward: float, *, weight: float, at: float) -> None:
        """Add one reward to each distinct id, atomically for all of them.

        Per item: ``count += 1``, ``total += reward``, ``weighted_total += reward * weight``,
        ``weight += weight``; ``last, last_at = reward, at`` unless ``last_at`` is later;
        ``last_used_at = max(last_used_at, at)``.

        Raises:
            ItemNotFoundError: an id does not exist; no item was changed.
        """

    @abc.abstractmethod
    def touch(self, ids: Sequence[str], *, at: float) -> None:
        """``last_used_at = max(last_used_at, at)`` for the existing ids among ``ids``."""

    @abc.abstractmethod
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
        """Items in ``scope`` (and below it when ``descendants``), ordered by ``(created_at, id)``.

        ``scope=None`` means every scope; ``kinds=None`` every kind.
        """

    @abc.abstractmethod
    def count(
        self,
        scope: str | None = None,
        *,
        descendants: bool = True,
        kinds: Collection[str] | None = None,
        exclude_kinds: Collection[str] = (),
    ) -> int:
        """How many items :meth:`list_items` would return without ``limit``."""

    @abc.abstractmethod
    def scope_counts(self) -> dict[str, int]:
        """Number of items per (exact) scope, for every scope that holds items."""

    @abc.abstractmethod
    def version(self) -> int:
        """The version of the last committed write (0 for an empty, never-written store)."""

    @abc.abstractmethod
    def changes_since(self, version: int) -> ChangeSet:
        """Items written and ids deleted after ``version``, and the version they bring the caller to.

        Applying ``deleted`` first and then ``upserted`` to a copy that was current at ``version`` makes
        it current at ``ChangeSet.version``. Items changed after that may be included too (applying
        them twice is harmless).
        """

    @abc.abstractmethod
    def init_meta(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless the key exists; return the stored value."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and files. The backend is unusable afterwards; closing twice is fine."""
