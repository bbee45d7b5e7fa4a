"""Property tests: export/import round-trips, rewards commute, forgetting respects the value threshold."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_store import InMemoryBackend, MemoryStore, SQLiteBackend

from .conftest import T0, FakeClock

SETTINGS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

segment = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"), min_size=1, max_size=8)
scopes = st.lists(segment.map(str.strip).filter(bool), min_size=1, max_size=4).map("/".join)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
payloads = st.dictionaries(
    st.text(max_size=6), st.recursive(json_leaf, lambda kids: st.lists(kids, max_size=3), max_leaves=5), max_size=3
)
item_specs = st.fixed_dictionaries(
    {
        "text": st.text(max_size=40),
        "scope": scopes,
        "kind": st.sampled_from(["fact", "insight", "plan", "error_fix", "result"]),
        "payload": payloads,
        "tags": st.lists(
            st.text(
                # printable, no whitespace: str.strip() empties a tag of "\xa0" alone, and the store rejects it
                st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_categories=("Zs", "Cc")),
                min_size=1,
                max_size=5,
            ),
            max_size=3,
        ),
    }
)
quarter_rewards = st.lists(st.integers(-8, 8).map(lambda n: n * 0.25), min_size=1, max_size=12)


@SETTINGS
@given(
    specs=st.lists(item_specs, max_size=8), rewards=st.lists(st.tuples(st.integers(0, 7), quarter_rewards), max_size=5)
)
def test_export_import_round_trip(specs: list[dict[str, object]], rewards: list[tuple[int, list[float]]]) -> None:
    src = MemoryStore(InMemoryBackend(), clock=FakeClock())
    items = src.put_many(specs) if specs else []
    for index, values in rewards:
        if items:
            for r in values:
                src.reward([items[index % len(items)].id], r)
    buf = io.StringIO()
    assert src.export_jsonl(buf) == len(items)
    dst = MemoryStore(InMemoryBackend())
    assert dst.import_jsonl(io.StringIO(buf.getvalue())) == len(items)
    assert dst.list_items() == src.list_items()


@SETTINGS
@given(rewards=quarter_rewards, data=st.data())
def test_rewards_commute(rewards: list[float], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Any order of the same reward calls (same timestamps) gives the same statistics and value."""
    times = [T0 + 3600.0 * i for i in range(len(rewards))]
    calls = list(zip(rewards, times, strict=True))
    shuffled = data.draw(st.permutations(calls))
    db = tmp_path_factory.mktemp("commute") / "m.db"
    results = []
    for order, backend in ((calls, InMemoryBackend()), (shuffled, InMemoryBackend()), (shuffled, SQLiteBackend(db))):
        with MemoryStore(backend, clock=FakeClock()) as store:
            item = store.put("x", scope="g")
            for r, t in order:
                store.reward([item.id], r, at=t)
            got = store.get(item.id)
            results.append((got.stats, store.value(got)))
    (s0, v0), *others = results
    assert s0.count == len(rewards) and s0.total == sum(rewards)  # exact: multiples of 0.25
    assert s0.mean == pytest.approx(sum(rewards) / len(rewards))
    for stats, value in others:
        assert (stats.count, stats.total, stats.last, stats.last_at) == (s0.count, s0.total, s0.last, s0.last_at)
        assert stats.weighted_total == pytest.approx(s0.weighted_total, rel=1e-12, abs=1e-12)
        assert stats.weight == pytest.approx(s0.weight, rel=1e-12)
        assert value == pytest.approx(v0, rel=1e-9, abs=1e-12)


@SETTINGS
@given(
    entries=st.lists(st.tuples(st.integers(-4, 4), st.integers(0, 1000)), min_size=1, max_size=15),
    capacity=st.integers(0, 15),
    threshold=st.sampled_from([-0.5, 0.0, 0.25, 0.75]),
)
def test_forgetting_respects_value_threshold(entries: list[tuple[int, int]], capacity: int, threshold: float) -> None:
    """No item at or above the threshold is evicted while an item below it remains."""
    clock = FakeClock()
    store = MemoryStore(InMemoryBackend(), clock=clock)
    for reward_quarters, age_hours in entries:
        item = store.put("x", scope="g")
        if reward_quarters:
            store.reward([item.id], reward_quarters * 0.25, at=T0 - 3600.0 * age_hours)
    values = {it.id: store.value(it) for it in store.list_items("g")}
    retention = {it.id: store.retention(it) for it in store.list_items("g")}
    evicted = store.forget("g", capacity, threshold=threshold)
    kept = set(values) - set(evicted)
    assert len(kept) == min(capacity, len(values))
    if any(values[i] >= threshold for i in evicted):
        assert all(values[i] >= threshold for i in kept)
    # Within the same side of the threshold, nothing kept has lower retention than anything evicted.
    for side in (True, False):
        ev = [retention[i] for i in evicted if (values[i] >= threshold) == side]
        kp = [retention[i] for i in kept if (values[i] >= threshold) == side]
        if ev and kp:
            assert max(ev) <= min(kp)


def test_value_is_recency_weighted_mean() -> None:
    """Cross-check the stored sums against a direct computation of the decayed mean."""
    store = MemoryStore(InMemoryBackend(), clock=FakeClock())
    rule = store.reward_rule
    item = store.put("x", scope="g")
    rng = np.random.default_rng(0)
    rewards = rng.integers(-4, 5, size=20) * 0.25
    times = T0 + rng.uniform(0, 30 * 86400, size=20)
    for r, t in zip(rewards, times, strict=True):
        store.reward([item.id], float(r), at=float(t))
    weights = np.exp(rule.decay_rate * (times - times.max()))
    expected = float((rewards * weights).sum() / weights.sum())
    assert store.value(store.get(item.id)) == pytest.approx(expected, rel=1e-9)
    assert store.get(item.id).stats.total == float(rewards.sum())


def test_sqlite_file_is_reopened_intact(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with MemoryStore(SQLiteBackend(db)) as store:
        item = store.put("persisted", scope="g")
        store.reward([item.id], 0.5)
    with MemoryStore(SQLiteBackend(db)) as store:
        assert store.get(item.id).stats.total == 0.5
        assert store.search("persisted")[0].item.id == item.id
