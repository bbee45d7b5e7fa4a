"""The backend contract: one test class, run against every backend by overriding ``backend_factory``.

A new backend passes this suite by subclassing :class:`MemoryBackendContract` and providing a
``backend_factory`` fixture that returns a fresh connection to one empty database each time it is called.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from memory_store import (
    DuplicateItemError,
    EmbeddingMismatchError,
    HashingEmbedder,
    InMemoryBackend,
    InvalidItemError,
    InvalidScopeError,
    ItemNotFoundError,
    Kind,
    MemoryBackend,
    MemoryStore,
    PostgresBackend,
    PromotionRule,
    RewardRule,
    SQLiteBackend,
)

from .conftest import PG_URL, FakeClock

BackendFactory = Callable[[], MemoryBackend]
RUN = "global/tabular-binary/titanic/run-1"


class MemoryBackendContract:
    """Behaviour every backend must show (through the :class:`MemoryStore` facade and directly)."""

    @pytest.fixture
    def backend_factory(self) -> BackendFactory:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def opened(self) -> Iterator[list[MemoryBackend]]:
        backends: list[MemoryBackend] = []
        yield backends
        for backend in backends:
            backend.close()

    @pytest.fixture
    def make_store(
        self, backend_factory: BackendFactory, clock: FakeClock, opened: list[MemoryBackend]
    ) -> Callable[..., MemoryStore]:
        def make(**options: object) -> MemoryStore:
            backend = backend_factory()
            opened.append(backend)
            options.setdefault("clock", clock)
            return MemoryStore(backend, **options)  # type: ignore[arg-type]

        return make

    @pytest.fixture
    def store(self, make_store: Callable[..., MemoryStore]) -> MemoryStore:
        return make_store()

    # -- put / get / update / delete ----------------------------------------------------------------

    def test_put_get_round_trip(self, store: MemoryStore, clock: FakeClock) -> None:
        payload = {"model": "lgbm", "params": {"lr": 0.05, "leaves": [31, 63]}, "ok": True, "none": None}
        item = store.put(
            "LightGBM with 5-fold CV",
            scope=" global / titanic ",
            kind=Kind.PIPELINE_CONFIG,
            payload=payload,
            tags=["lgbm", "cv", "lgbm"],
        )
        assert item.scope == "global/titanic"
        assert item.tags == ("cv", "lgbm")
        assert item.created_at == item.updated_at == item.last_used_at == clock.t
        got = store.get(item.id)
        assert got == item
        assert got.payload == payload
        assert got.embedding is not None and got.embedding.dtype == np.float32
        np.testing.assert_array_equal(got.embedding, store.embedder.embed(["LightGBM with 5-fold CV"])[0])

    def test_explicit_id_and_embedding(self, store: MemoryStore) -> None:
        vec = np.linspace(-1, 1, store.embedder.dim).astype(np.float32)
        item = store.put("x", scope="g", id="my-id", embedding=vec)
        np.testing.assert_array_equal(store.get("my-id").embedding, vec)
        assert item.id == "my-id"
        with pytest.raises(EmbeddingMismatchError):
            store.put("y", scope="g", embedding=[1.0, 2.0])

    def test_put_duplicate_is_atomic(self, store: MemoryStore) -> None:
        store.put("a", scope="g", id="a")
        with pytest.raises(DuplicateItemError):
            store.put_many([{"text": "b", "scope": "g", "id": "b"}, {"text": "a2", "scope": "g", "id": "a"}])
        assert store.get_many(["a", "b"]) == [store.get("a")]
        assert store.get("a").text == "a"

    def test_invalid_input(self, store: MemoryStore) -> None:
        with pytest.raises(InvalidScopeError):
            store.put("x", scope="a//b")
        with pytest.raises(InvalidItemError):
            store.put("x", scope="a", kind="Not A Kind")
        with pytest.raises(InvalidItemError):
            store.put("x", scope="a", payload={"bad": float("nan")})
        with pytest.raises(InvalidItemError):
            store.put("x", scope="a", tags="single-string")
        assert store.count() == 0

    def test_get_missing(self, store: MemoryStore) -> None:
        a = store.put("a", scope="g")
        with pytest.raises(ItemNotFoundError):
            store.get("nope")
        assert store.get_many(["nope", a.id, "nope2"]) == [a]

    def test_update(self, store: MemoryStore, clock: FakeClock) -> None:
        item = store.put("old text", scope="g/a", tags=["x"])
        store.reward([item.id], 1.0)
        clock.advance(10)
        new = store.update(item.id, text="new text", payload={"k": 1}, tags=["y"], scope="g/b", kind="insight")
        assert (new.text, new.payload, new.tags, new.scope, new.kind) == (
            "new text",
            {"k": 1},
            ("y",),
            "g/b",
            "insight",
        )
        assert new.updated_at == clock.t and new.created_at == item.created_at
        assert new.stats == store.get(item.id).stats and new.stats.count == 1
        np.testing.assert_array_equal(new.embedding, store.embedder.embed(["new text"])[0])
        assert store.get(item.id) == new
        with pytest.raises(ItemNotFoundError):
            store.update("nope", text="x")

    def test_delete(self, store: MemoryStore) -> None:
        a, b = store.put("a", scope="g"), store.put("b", scope="g")
        assert store.delete([a.id, "nope", a.id]) == 1
        assert store.delete(a.id) == 0
        assert store.get_many([a.id, b.id]) == [b]

    # -- rewards ------------------------------------------------------------------------------------

    def test_reward_statistics(self, store: MemoryStore, clock: FakeClock) -> None:
        a, b = store.put("a", scope="g"), store.put("b", scope="g")
        store.reward([a.id, b.id, a.id], 0.75)  # duplicates count once
        clock.advance(5)
        store.reward([a.id], -0.25)
        sa_, sb = store.get(a.id).stats, store.get(b.id).stats
        assert (sa_.count, sa_.total, sa_.mean, sa_.last, sa_.last_at) == (2, 0.5, 0.25, -0.25, clock.t)
        assert (sb.count, sb.total, sb.last) == (1, 0.75, 0.75)
        assert store.get(a.id).last_used_at == clock.t

    def test_reward_missing_id_changes_nothing(self, store: MemoryStore) -> None:
        a = store.put("a", scope="g")
        with pytest.raises(ItemNotFoundError) as err:
            store.reward([a.id, "ghost"], 1.0)
        assert err.value.missing == ("ghost",)
        assert store.get(a.id).stats.count == 0
        with pytest.raises(InvalidItemError):
            store.reward([a.id], float("inf"))

    def test_reward_last_follows_timestamps(self, store: MemoryStore, clock: FakeClock) -> None:
        a = store.put("a", scope="g")
        store.reward([a.id], 1.0, at=clock.t + 100)
        store.reward([a.id], 0.0, at=clock.t + 50)  # an older reward arriving late
        s = store.get(a.id).stats
        assert (s.last, s.last_at, s.count) == (1.0, clock.t + 100, 2)

    def test_recency_weighted_value(self, make_store: Callable[..., MemoryStore], clock: FakeClock) -> None:
        rule = RewardRule(half_life_s=100.0)
        store = make_store(reward_rule=rule)
        a = store.put("a", scope="g")
        assert store.value(a) == rule.prior
        store.reward([a.id], 0.0, at=clock.t)
        store.reward([a.id], 1.0, at=clock.t + 100.0)  # one half-life newer: twice the weight
        assert store.value(store.get(a.id)) == pytest.approx(2 / 3, rel=1e-12)
        assert store.get(a.id).stats.mean == 0.5

    def test_split_share(self, make_store: Callable[..., MemoryStore]) -> None:
        store = make_store(reward_rule=RewardRule(share="split"))
        ids = [store.put(t, scope="g").id for t in "abcd"]
        store.reward(ids, 1.0)
        assert [it.stats.total for it in store.get_many(ids)] == [0.25] * 4

    # -- listing ------------------------------------------------------------------------------------

    def test_list_and_count_by_scope(self, store: MemoryStore, clock: FakeClock) -> None:
        ids = {}
        for scope in ["g", "g/a", "g/a/x", "g/b", "g/ab", "h"]:
            clock.advance(1)
            ids[scope] = store.put(f"item in {scope}", scope=scope, kind="fact" if scope != "g/b" else "plan").id
        assert [it.scope for it in store.list_items("g/a")] == ["g/a", "g/a/x"]
        assert [it.scope for it in store.list_items("g/a", descendants=False)] == ["g/a"]
        assert [it.scope for it in store.list_items("g")] == ["g", "g/a", "g/a/x", "g/b", "g/ab"]
        assert [it.scope for it in store.list_items(kinds=["plan"])] == ["g/b"]
        assert [it.scope for it in store.list_items(limit=2, offset=1)] == ["g/a", "g/a/x"]
        assert store.count("g") == 5 and store.count() == 6 and store.count("g", descendants=False) == 1
        assert store.scopes() == {s: 1 for s in ids}

    # -- search -------------------------------------------------------------------------------------

    def test_search_relevance(self, store: MemoryStore) -> None:
        store.put("median imputation for missing ages", scope=RUN)
        target = store.put("target encoding leaks unless it is fit inside the folds", scope=RUN)
        store.put("lightgbm early stopping rounds", scope=RUN)
        hits = store.search("target encoding folds", scope=RUN)
        assert hits[0].item == target
        assert hits[0].bm25 == 1.0 and hits[0].similarity > hits[1].similarity
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert len(store.search("target", scope=RUN, k=2)) == 2

    def test_search_scope_neighbourhood(self, store: MemoryStore) -> None:
        texts = {
            "global": "global prior",
            "global/tabular-binary": "task prior",
            "global/tabular-binary/titanic": "competition insight",
            RUN: "this run",
            RUN + "/setup": "this run setup",
            "global/tabular-binary/titanic/run-0": "sibling run",
            "global/tabular-binary/house-prices": "other competition",
            "global/regression": "other task",
        }
        for scope, text in texts.items():
            store.put(text + " note", scope=scope)

        def found(**kw: object) -> set[str]:
            return {h.item.text[:-5] for h in store.search("note", scope=RUN, k=50, **kw)}  # type: ignore[arg-type]

        base = {"global prior", "task prior", "competition insight", "this run", "this run setup"}
        assert found() == base
        assert found(include_siblings=True) == base | {"sibling run"}
        assert found(include_ancestors=False) == {"this run", "this run setup"}
        assert found(include_descendants=False) == base - {"this run setup"}
        assert {h.item.text for h in store.search("note", k=50)} == {t + " note" for t in texts.values()}
        prox = {h.item.scope: h.proximity for h in store.search("note", scope=RUN, k=50, include_siblings=True)}
        assert prox[RUN] == 1.0 and prox["global/tabular-binary/titanic"] == 0.5 and prox[RUN + "/setup"] == 0.5
        assert prox["global/tabular-binary/titanic/run-0"] == 1 / 3 and prox["global"] == 0.25

    def test_search_filters_kinds_and_tags(self, store: MemoryStore) -> None:
        a = store.put("impute ages", scope="g", kind="insight", tags=["fe", "titanic"])
        b = store.put("impute fares", scope="g", kind="plan", tags=["fe"])
        store.working("g").set("impute", "ages")
        assert {h.item.id for h in store.search("impute", scope="g")} == {a.id, b.id}
        assert [h.item.id for h in store.search("impute", scope="g", kinds=["plan"])] == [b.id]
        assert [h.item.id for h in store.search("impute", scope="g", tags=["titanic", "fe"])] == [a.id]
        assert store.search("impute", scope="g", tags=["absent"]) == []
        assert [h.item.kind for h in store.search("impute", scope="g", kinds=["working"])] == ["working"]

    def test_value_breaks_ties(self, store: MemoryStore) -> None:
        a, b, c = (store.put("same text", scope="g") for _ in range(3))
        store.reward([b.id], 1.0)
        store.reward([c.id], -1.0)
        assert [h.item.id for h in store.search("same text", scope="g")] == [b.id, a.id, c.id]
        assert [h.item.id for h in store.search(scope="g")] == [b.id, a.id, c.id]  # no query: value + scope

    def test_search_by_vector(self, store: MemoryStore) -> None:
        dim = store.embedder.dim
        e0, e1 = np.eye(dim, dtype=np.float32)[0], np.eye(dim, dtype=np.float32)[1]
        a = store.put("alpha", scope="g", embedding=e0)
        b = store.put("beta", scope="g", embedding=e1)
        assert store.search(vector=e1 * 3, scope="g")[0].item.id == b.id
        assert store.search(vector=e0, scope="g")[0].similarity == pytest.approx(1.0)
        assert a.id in {h.item.id for h in store.search(vector=e0, scope="g")}
        with pytest.raises(EmbeddingMismatchError):
            store.search(vector=[1.0, 0.0])

    def test_search_sees_every_change(self, store: MemoryStore) -> None:
        a = store.put("gradient boosting", scope="g")
        assert [h.item.id for h in store.search("boosting")] == [a.id]
        store.update(a.id, text="random forest")
        assert store.search("boosting")[0].bm25 == 0.0
        assert store.search("forest")[0].item.text == "random forest"
        b = store.put("gradient boosting again", scope="g")
        assert store.search("boosting")[0].item.id == b.id
        store.delete(b.id)
        assert b.id not in {h.item.id for h in store.search("boosting")}
        store.update(a.id, scope="h")
        assert store.search("forest", scope="g", include_ancestors=False) == []

    def test_second_store_sees_writes(self, make_store: Callable[..., MemoryStore]) -> None:
        first, second = make_store(), make_store()
        assert second.search("anything") == []
        item = first.put("shared insight about leakage", scope="g")
        assert [h.item.id for h in second.search("leakage")] == [item.id]
        first.reward([item.id], 1.0)
        assert second.search("leakage")[0].value == 1.0
        first.delete(item.id)
        assert second.search("leakage") == []

    def test_touch_on_search(self, store: MemoryStore, clock: FakeClock) -> None:
        a = store.put("x marks", scope="g")
        clock.advance(60)
        store.search("marks")
        assert store.get(a.id).last_used_at == a.created_at
        store.search("marks", touch=True)
        assert store.get(a.id).last_used_at == clock.t

    # -- short-term memory --------------------------------------------------------------------------

    def test_working_memory(self, store: MemoryStore) -> None:
        wm = store.working(RUN)
        wm.set("n_folds", 5)
        wm.set("metric", "auc")
        wm.set("n_folds", 10)
        wm.set("threshold", 1)
        assert wm.get("n_folds", int) == 10 and wm.get("metric", str) == "auc"
        assert wm.get("threshold", float) == 1.0
        assert wm.as_dict() == {"n_folds": 10, "metric": "auc", "threshold": 1}
        with pytest.raises(TypeError):
            wm.get("metric", int)
        with pytest.raises(KeyError):
            wm.get("missing")
        assert wm.get("missing", int, 3) == 3
        assert wm.delete("metric") and not wm.delete("metric")
        assert store.working(RUN + "/setup").as_dict() == {}

    def test_episode_log(self, store: MemoryStore, clock: FakeClock) -> None:
        log = store.episode_log(RUN + "/setup")
        first = log.append("loaded train.csv", payload={"rows": 891})
        clock.advance(1)
        log.append("ids are unique")
        assert [e.text for e in log.entries()] == ["loaded train.csv", "ids are unique"]
        assert len(log) == 2
        with pytest.raises(InvalidItemError):
            store.update(first.id, text="rewritten")

    def test_promote(self, store: MemoryStore) -> None:
        good = store.put("error: KeyError 'Age' -> fix: fillna first", scope=RUN + "/setup", kind=Kind.ERROR_FIX)
        bad = store.put("useless idea", scope=RUN + "/optimise", kind=Kind.INSIGHT)
        store.put("never rewarded", scope=RUN, kind=Kind.INSIGHT)
        store.episode_log(RUN).append("an episode entry")
        store.reward([good.id, bad.id], 0.0)
        store.reward([good.id], 1.0)
        store.reward([bad.id], 0.0)
        rule = PromotionRule(min_improvement=0.5)
        promoted = store.promote(RUN, "global/tabular-binary", rule)
        assert [p.text for p in promoted] == [good.text]
        assert promoted[0].scope == "global/tabular-binary" and promoted[0].stats == store.get(good.id).stats
        assert promoted[0].payload["promoted_from"] == {"id": good.id, "scope": good.scope}
        assert store.promote(RUN, "global/tabular-binary", rule) == []  # idempotent
        assert {p.text for p in store.promote(RUN, "global/tabular-binary/titanic")} == {good.text, bad.text}
        assert store.promote(RUN, "global/x", PromotionRule(min_value=0.6)) == []

    def test_delete_scope(self, store: MemoryStore) -> None:
        store.put("a", scope=RUN)
        store.put("b", scope=RUN + "/setup")
        keep = store.put("c", scope="global")
        assert store.delete_scope(RUN) == 2
        assert store.list_items() == [keep]

    # -- forgetting ---------------------------------------------------------------------------------

    def test_forget_order(self, store: MemoryStore, clock: FakeClock) -> None:
        old_good = store.put("old good", scope="g")
        neg = store.put("negative", scope="g")
        clock.advance(3600)
        fresh_unrewarded = store.put("fresh", scope="g")
        good = store.put("good", scope="g")
        store.working("g").set("key", 1)
        store.reward([old_good.id], 0.5, at=old_good.created_at)
        store.reward([good.id], 1.0)
        store.reward([neg.id], -0.5)
        assert store.forget("g", 10) == []
        assert store.forget("g", 2) == [neg.id, fresh_unrewarded.id]
        assert store.forget("g", 1) == [old_good.id]
        assert store.working("g").get("key") == 1  # working memory is not forgotten
        assert [it.id for it in store.list_items("g", kinds=["fact"])] == [good.id]

    def test_capacity_per_scope(self, make_store: Callable[..., MemoryStore], clock: FakeClock) -> None:
        store = make_store(capacity_per_scope=3)
        ids = []
        for i in range(5):
            clock.advance(1)
            ids.append(store.put(f"item {i}", scope="g").id)
            if i == 0:
                store.reward([ids[0]], 1.0)
        assert {it.id for it in store.list_items("g")} == {ids[0], ids[3], ids[4]}

    # -- export / import ----------------------------------------------------------------------------

    def test_export_import_round_trip(self, make_store: Callable[..., MemoryStore], tmp_path: Path) -> None:
        src = make_store()
        a = src.put("alpha \u00e9\u6f22", scope="g/a", payload={"x": [1, 2.5, None]}, tags=["t"])
        src.put("beta", scope="g/b", embedding=None)
        src.reward([a.id], 0.75)
        path = tmp_path / "dump.jsonl"
        assert src.export_jsonl(path) == 2
        header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert header["format"] == "memory_store/v1"
        dst = MemoryStore(InMemoryBackend())
        assert dst.import_jsonl(path) == 2
        assert dst.list_items() == src.list_items()
        with pytest.raises(DuplicateItemError):
            dst.import_jsonl(path)
        assert dst.import_jsonl(path, replace=True) == 2
        buf = io.StringIO()
        src.export_jsonl(buf, scope="g/b")
        assert len(buf.getvalue().splitlines()) == 2

    def test_import_rejects_bad_input(self, store: MemoryStore) -> None:
        other = MemoryStore(InMemoryBackend(), embedder=HashingEmbedder(dim=32))
        other.put("x", scope="g")
        buf = io.StringIO()
        other.export_jsonl(buf)
        with pytest.raises(EmbeddingMismatchError):
            store.import_jsonl(io.StringIO(buf.getvalue()))
        assert store.import_jsonl(io.StringIO(buf.getvalue()), reembed=True) == 1
        assert store.list_items()[0].embedding.shape == (store.embedder.dim,)  # type: ignore[union-attr]
        header = buf.getvalue().splitlines()[0]
        with pytest.raises(InvalidItemError, match="line 2"):
            store.import_jsonl(io.StringIO(header + '\n{"id": "a"}\n'), reembed=True)
        with pytest.raises(InvalidItemError, match="line 3"):
            store.import_jsonl(io.StringIO(buf.getvalue() + "{not json\n"), reembed=True)
        assert store.count() == 1  # nothing imported by the failed calls

    def test_threads_lose_no_rewards(self, store: MemoryStore) -> None:
        items = [store.put(f"item {i}", scope="g") for i in range(4)]

        def work(n: int) -> None:
            for j in range(40):
                store.reward([items[(n + j) % 4].id, items[(n + j + 1) % 4].id], 0.25)
                if j % 10 == 0:
                    store.search("item")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = [it.stats for it in store.get_many([it.id for it in items])]
        assert sum(s.count for s in stats) == 4 * 40 * 2
        assert sum(s.total for s in stats) == 4 * 40 * 2 * 0.25
        assert store.stats()["rewarded_items"] == 4

    # -- backend-level invariants -------------------------------------------------------------------

    def test_versions_and_changes(self, store: MemoryStore) -> None:
        backend = store.backend
        v0 = backend.version()
        a = store.put("a", scope="g")
        v1 = backend.version()
        assert v1 > v0
        store.reward([a.id], 1.0)
        v2 = backend.version()
        assert v2 > v1
        changes = backend.changes_since(v1)
        assert changes.version == v2 and [it.id for it in changes.upserted] == [a.id] and changes.deleted == []
        store.delete(a.id)
        changes = backend.changes_since(v2)
        assert changes.deleted == [a.id] and changes.upserted == []
        assert backend.changes_since(backend.version()).upserted == []

    def test_meta_and_embedder_check(self, store: MemoryStore, make_store: Callable[..., MemoryStore]) -> None:
        assert store.backend.init_meta("k", "v1") == "v1"
        assert store.backend.init_meta("k", "v2") == "v1"
        with pytest.raises(EmbeddingMismatchError):
            make_store(embedder=HashingEmbedder(dim=64))


class TestInMemoryBackend(MemoryBackendContract):
    @pytest.fixture
    def backend_factory(self) -> BackendFactory:
        shared = InMemoryBackend()
        return lambda: shared


class TestSQLiteBackend(MemoryBackendContract):
    @pytest.fixture
    def backend_factory(self, tmp_path: Path) -> BackendFactory:
        return lambda: SQLiteBackend(tmp_path / "memory.db")


@pytest.mark.postgres
class TestPostgresBackend(MemoryBackendContract):
    @pytest.fixture
    def backend_factory(self, pg_schema: str, pg_prefix: str) -> BackendFactory:
        return lambda: PostgresBackend(PG_URL, schema=pg_schema, table_prefix=pg_prefix)
