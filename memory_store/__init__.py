"""Nested long/short-term memory with reward-driven credit assignment.

Usable on its own::

    from memory_store import open_store

    with open_store("memory.db") as store:
        item = store.put("target encoding leaks without folds", scope="global/tabular-binary", kind="insight")
        hits = store.search("target encoding", scope="global/tabular-binary/titanic/run-1")
        store.reward([h.item.id for h in hits], 1.0)

See ``docs/memory_store.md`` for concepts, invariants, the reward rule and the ranking formula.
"""

from __future__ import annotations

from memory_store._base import MemoryBackend
from memory_store._embedding import Embedder, HashingEmbedder, MiniLMEmbedder, tokenize
from memory_store._errors import (
    DuplicateItemError,
    EmbeddingMismatchError,
    InvalidItemError,
    InvalidScopeError,
    ItemNotFoundError,
    MemoryStoreError,
    StorageError,
)
from memory_store._factory import open_backend, open_store
from memory_store._index import RankingWeights
from memory_store._memory import InMemoryBackend
from memory_store._rewards import RewardRule
from memory_store._scopes import ancestor_scopes, join_scope, normalize_scope, parent_scope, scope_distance
from memory_store._sql import PostgresBackend, SQLBackend, SQLiteBackend
from memory_store._store import EpisodeLog, MemoryStore, PromotionRule, WorkingMemory, improvement
from memory_store._types import ChangeSet, Kind, MemoryItem, RewardStats, SearchHit, new_item_id

__all__ = [
    "ChangeSet",
    "DuplicateItemError",
    "Embedder",
    "EmbeddingMismatchError",
    "EpisodeLog",
    "HashingEmbedder",
    "InMemoryBackend",
    "InvalidItemError",
    "InvalidScopeError",
    "ItemNotFoundError",
    "Kind",
    "MemoryBackend",
    "MemoryItem",
    "MemoryStore",
    "MemoryStoreError",
    "MiniLMEmbedder",
    "PostgresBackend",
    "PromotionRule",
    "RankingWeights",
    "RewardRule",
    "RewardStats",
    "SQLBackend",
    "SQLiteBackend",
    "SearchHit",
    "StorageError",
    "WorkingMemory",
    "ancestor_scopes",
    "improvement",
    "join_scope",
    "new_item_id",
    "normalize_scope",
    "open_backend",
    "open_store",
    "parent_scope",
    "scope_distance",
    "tokenize",
]
