"""In-process search index: numpy arrays over every item, kept fresh through backend change sets.

One row ("slot") per item holds its embedding, scope and kind codes, value, last-used time and BM25
document length; an inverted index maps hashed tokens and tags to slots. A search filters by scope, kind
and tags with boolean masks and scores every candidate in one vectorised pass. Items whose text or tags
change move to a new slot (the old one is marked dead); other changes update their slot in place. The
index is rebuilt from scratch when more than half of its slots are dead.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from memory_store._embedding import token_hash, tokenize
from memory_store._scopes import ancestor_scopes, is_in_subtree, parent_scope, scope_distance
from memory_store._types import ChangeSet, MemoryItem

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """Weights of the hybrid score ``w_sim*sim + w_bm25*bm25 + w_value*value + w_scope*proximity``.

    ``sim`` is the cosine similarity to the query vector, ``bm25`` the BM25 score divided by the best
    candidate's, ``value`` the item's recency-weighted value clipped to [-1, 1], and ``proximity``
    ``1 / (1 + d)`` for ``d`` tree edges between the item's scope and the query scope.
    """

    similarity: float = 0.45
    bm25: float = 0.25
    value: float = 0.2
    scope: float = 0.1


class _Postings:
    """Growable (slot, term frequency) lists with a cached numpy view."""

    __slots__ = ("_arrays", "slots", "tfs")

    def __init__(self) -> None:
        self.slots: list[int] = []
        self.tfs: list[float] = []
        self._arrays: tuple[_I64, _F32] | None = None

    def add(self, slot: int, tf: float) -> None:
        self.slots.append(slot)
        self.tfs.append(tf)
        self._arrays = None

    def arrays(self) -> tuple[_I64, _F32]:
        if self._arrays is None:
            self._arrays = (np.asarray(self.slots, dtype=np.int64), np.asarray(self.tfs, dtype=np.float32))
        return self._arrays


@dataclass(frozen=True, slots=True)
class ScoredSlot:
    """Internal search result: item id and score parts."""

    id: str
    score: float
    similarity: float
    bm25: float
    value: float
    proximity: float


class SearchIndex:
    """Vectorised hybrid search over all items of a backend (see the module docstring).

    Args:
        dim: embedding dimension; items without an embedding (or of another size) get similarity 0.
        value_of: maps an item to its value (the store's reward rule).
        k1, b: BM25 parameters.
    """

    def __init__(self, dim: int, value_of: Callable[[MemoryItem], float], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.dim = dim
        self._value_of = value_of
        self.k1, self.b = k1, b
        self.lock = threading.Lock()
        self.version = -1
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        cap = 1024
        self._emb: _F32 = np.zeros((cap, self.dim), dtype=np.float32)
        self._alive = np.zeros(cap, dtype=bool)
        self._scope = np.zeros(cap, dtype=np.int64)
        self._kind = np.zeros(cap, dtype=np.int64)
        self._value: _F64 = np.zeros(cap, dtype=np.float64)
        self._doclen: _F32 = np.zeros(cap, dtype=np.float32)
        self._content = np.zeros(cap, dtype=np.uint32)
        self._rcount = np.zeros(cap, dtype=np.int64)
        self._ids: list[str] = []
        self._slot_of: dict[str, int] = {}
        self._scopes: dict[str, int] = {}
        self._scope_names: list[str] = []
        self._kinds: dict[str, int] = {}
        self._postings: dict[int, _Postings] = {}
        self._tag_postings: dict[str, _Postings] = {}
        self._n_alive = 0
        self._total_len = 0.0
        self._prox_cache: dict[tuple[str, bool, bool, bool], tuple[int, _F64]] = {}

    @property
    def size(self) -> int:
        """Number of live items."""
        return self._n_alive

    # -- maintenance --------------------------------------------------------------------------------

    def _grow(self, need: int) -> None:
        cap = len(self._alive)
        if need <= cap:
            return
        new = max(need, 2 * cap)

        def grown(arr: np.ndarray) -> np.ndarray:
            out = np.zeros((new, *arr.shape[1:]), dtype=arr.dtype)
            out[:cap] = arr
            return out

        self._emb, self._alive, self._scope, self._kind = (
            grown(self._emb),
            grown(self._alive),
            grown(self._scope),
            grown(self._kind),
        )
        self._value, self._doclen, self._content = (
            grown(self._value),
            grown(self._doclen),
            grown(self._content),
        )
        self._rcount = grown(self._rcount)

    def _code(self, table: dict[str, int], name: str) -> int:
        code = table.get(name)
        if code is None:
            code = table[name] = len(table)
            if table is self._scopes:
                self._scope_names.append(name)
        return code

    def _kill(self, slot: int) -> None:
        if self._alive[slot]:
            self._alive[slot] = False
            self._n_alive -= 1
            self._total_len -= float(self._doclen[slot])

    def _set_meta(self, slot: int, item: MemoryItem) -> None:
        self._scope[slot] = self._code(self._scopes, item.scope)
        self._kind[slot] = self._code(self._kinds, item.kind)
        self._value[slot] = self._value_of(item)
        self._rcount[slot] = item.stats.count
        emb = item.embedding
        self._emb[slot] = emb if emb is not None and emb.shape == (self.dim,) else 0.0

    def _add(self, item: MemoryItem, content: int) -> None:
        slot = self._n
        self._grow(slot + 1)
        self._n += 1
        self._ids.append(item.id)
        self._slot_of[item.id] = slot
        self._alive[slot] = True
        self._content[slot] = content
        self._set_meta(slot, item)
        counts = Counter(token_hash(tok) for tok in tokenize(item.text))
        length = float(sum(counts.values()))
        self._doclen[slot] = length
        self._n_alive += 1
        self._total_len += length
        for token, tf in counts.items():
            postings = self._postings.get(token)
            if postings is None:
                postings = self._postings[token] = _Postings()
            postings.add(slot, float(tf))
        for tag in item.tags:
            tag_postings = self._tag_postings.get(tag)
            if tag_postings is None:
                tag_postings = self._tag_postings[tag] = _Postings()
            tag_postings.add(slot, 1.0)

    def apply(self, changes: ChangeSet) -> None:
        """Apply a change set (deletions first, then upserts). Caller holds :attr:`lock`."""
        for item_id in changes.deleted:
            slot = self._slot_of.pop(item_id, None)
            if slot is not None:
                self._kill(slot)
        for item in changes.upserted:
            content = zlib.crc32("\x1f".join((item.text, *item.tags)).encode("utf-8"))
            slot = self._slot_of.get(item.id)
            if slot is not None and self._content[slot] == content:
                self._set_meta(slot, item)
                continue
            if slot is not None:
                self._kill(slot)
            self._add(item, content)
        self.version = changes.version

    def needs_rebuild(self) -> bool:
        """Whether more than half of the slots are dead (the caller then reloads everything)."""
        return self._n > 1024 and self._n_alive < self._n // 2

    def reset(self) -> None:
        """Forget everything (before a full reload). Caller holds :attr:`lock`."""
        self._reset()
        self.version = -1

    def summary(self) -> tuple[dict[str, int], int]:
        """Live items per kind, and how many live items have been rewarded. Caller holds :attr:`lock`."""
        alive = self._alive[: self._n]
        per_code = np.bincount(self._kind[: self._n][alive], minlength=len(self._kinds))
        kinds = {name: int(per_code[code]) for name, code in sorted(self._kinds.items()) if per_code[code]}
        return kinds, int((self._rcount[: self._n][alive] > 0).sum())

    # -- search -------------------------------------------------------------------------------------

    def _proximity(self, scope: str, ancestors: bool, siblings: bool, descendants: bool) -> _F64:
        """Per scope code: proximity to ``scope`` or -1 where the scope is excluded."""
        key = (scope, ancestors, siblings, descendants)
        cached = self._prox_cache.get(key)
        n_scopes = len(self._scope_names)
        if cached is not None and cached[0] == n_scopes:
            return cached[1]
        anc = set(ancestor_scopes(scope)) if ancestors else set()
        parent = parent_scope(scope) if siblings else None
        prox = np.full(n_scopes, -1.0)
        for code, name in enumerate(self._scope_names):
            if (
                name == scope
                or name in anc
                or (descendants and is_in_subtree(name, scope))
                or (parent is not None and is_in_subtree(name, parent) and name != parent)
            ):
                prox[code] = 1.0 / (1.0 + scope_distance(name, scope))
        if len(self._prox_cache) > 256:
            self._prox_cache.clear()
        self._prox_cache[key] = (n_scopes, prox)
        return prox

    def search(
        self,
        *,
        vector: _F32 | None,
        text: str | None,
        scope: str | None,
        kinds: Collection[str] | None,
        exclude_kinds: Collection[str],
        tags: Sequence[str],
        k: int,
        ancestors: bool,
        siblings: bool,
        descendants: bool,
        weights: RankingWeights,
    ) -> list[ScoredSlot]:
        """Top ``k`` items by hybrid score. Caller holds :attr:`lock`."""
        n = self._n
        if n == 0 or k <= 0:
            return []
        mask = self._alive[:n].copy()
        if scope is not None:
            prox_by_code = self._proximity(scope, ancestors, siblings, descendants)
            prox_all = prox_by_code[self._scope[:n]]
            mask &= prox_all >= 0
        else:
            prox_all = None
        if kinds is not None or exclude_kinds:
            allowed = np.array(
                [
                    (kinds is None or name in kinds) and name not in exclude_kinds
                    for name in sorted(self._kinds, key=self._kinds.__getitem__)
                ],
                dtype=bool,
            )
            mask &= allowed[self._kind[:n]]
        for tag in tags:
            has = np.zeros(n, dtype=bool)
            postings = self._tag_postings.get(tag)
            if postings is not None:
                has[postings.arrays()[0]] = True
            mask &= has
        cand = np.flatnonzero(mask)
        if cand.size == 0:
            return []

        if vector is not None:
            sims = (self._emb[:n] @ vector)[cand] if cand.size > n // 2 else self._emb[cand] @ vector
            sims = sims.astype(np.float64)
        else:
            sims = np.zeros(cand.size)
        bm25 = self._bm25(text, n)[cand] if text else np.zeros(cand.size)
        top = float(bm25.max()) if bm25.size else 0.0
        if top > 0:
            bm25 = bm25 / top
        values = np.clip(self._value[cand], -1.0, 1.0)
        prox = prox_all[cand] if prox_all is not None else np.ones(cand.size)
        score = weights.similarity * sims + weights.bm25 * bm25 + weights.value * values + weights.scope * prox
        part = np.argpartition(-score, k - 1)[:k] if k < cand.size else np.arange(cand.size)
        # Ties: higher score first, then the earlier slot (older item) for a stable order.
        order = part[np.lexsort((cand[part], -score[part]))]
        return [
            ScoredSlot(
                id=self._ids[int(cand[i])],
                score=float(score[i]),
                similarity=float(sims[i]),
                bm25=float(bm25[i]),
                value=float(self._value[cand[i]]),
                proximity=float(prox[i]),
            )
            for i in order
        ]

    def _bm25(self, text: str, n: int) -> _F64:
        scores = np.zeros(n, dtype=np.float64)
        if self._n_alive == 0:
            return scores
        avgdl = max(self._total_len / self._n_alive, 1e-9)
        for token in set(tokenize(text)):
            postings = self._postings.get(token_hash(token))
            if postings is None:
                continue
            slots, tfs = postings.arrays()
            live = self._alive[slots]
            df = int(live.sum())
            if df == 0:
                continue
            idf = math.log(1.0 + (self._n_alive - df + 0.5) / (df + 0.5))
            norm = self.k1 * (1.0 - self.b + self.b * self._doclen[slots] / avgdl)
            contrib = idf * tfs * (self.k1 + 1.0) / (tfs + norm)
            # A slot occurs at most once per token, so plain fancy-index addition is exact.
            scores[slots] += np.where(live, contrib, 0.0)
        return scores
