"""Elo-MMR: known answers, the reference implementation (elo-mmr-py), persistence and properties."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentk.bench.elo_mmr import Contest, EloMmr, EloMmrParams, PlayerRating, rate
from agentk.bench.synthetic import log_uniform, random_contests
from agentk.errors import DataFormatError, UserInputError

elo_mmr_py = pytest.importorskip("elo_mmr_py")

TOLERANCE = 1e-6


def _round(x: float) -> int:
    """Half away from zero, as the reference rounds (Python's round() rounds half to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _reference(contests: Sequence[Contest], **params: Any) -> dict[str, Any]:
    config_keys = ("weight_limit", "noob_delay", "sig_limit", "drift_per_day", "split_ties")
    config = elo_mmr_py.EloMmrConfig("mmr", **{k: v for k, v in params.items() if k in config_keys})
    native = [
        elo_mmr_py.Contest(
            list(c.standings),
            time_seconds=c.time_seconds,
            weight=c.weight,
            perf_ceiling=None if math.isinf(c.perf_ceiling) else c.perf_ceiling,
        )
        for c in contests
    ]
    return dict(
        elo_mmr_py.rate_latest(
            native, config, mu_noob=params.get("mu_noob", 1500.0), sig_noob=params.get("sig_noob", 350.0)
        )
    )


def _assert_matches(ours: dict[str, PlayerRating], reference: dict[str, Any]) -> None:
    assert set(ours) == set(reference)
    d_mu = max(abs(ours[k].mu - reference[k].mu) for k in reference)
    d_sig = max(abs(ours[k].sigma - reference[k].sig) for k in reference)
    assert d_mu <= TOLERANCE, d_mu
    assert d_sig <= TOLERANCE, d_sig
    assert all(ours[k].contests == reference[k].contests_played for k in reference)


KNOWN_ANSWER = [
    [("p1", 0, 0), ("p2", 1, 1), ("p3", 2, 2)],
    [("p1", 0, 1), ("p2", 0, 1), ("p3", 2, 2)],
    [("p1", 0, 0), ("p2", 1, 2), ("p3", 1, 2)],
    [("p4", 0, 0), ("p1", 1, 1), ("p2", 2, 2), ("p3", 3, 3)],
    [("p4", 0, 0), ("p1", 1, 1), ("p2", 2, 2), ("p3", 3, 3)],
]


def test_known_answer_vector() -> None:
    rater = EloMmr()
    trail: dict[str, list[tuple[int, int, int]]] = {}
    for standings in KNOWN_ANSWER:
        outcome = rater.add(standings)
        for i, player in enumerate(outcome.players):
            trail.setdefault(player, []).append(
                (_round(outcome.mu[i]), _round(outcome.sigma[i]), _round(outcome.performance[i]))
            )
    assert trail["p1"] == [(1705, 171, 1744), (1663, 130, 1618), (1686, 111, 1728), (1678, 100, 1660), (1675, 94, 1666)]
    assert trail["p4"] == [(1767, 171, 1819), (1809, 130, 1855)]


def test_matches_reference_on_1000_random_contests() -> None:
    rng = np.random.default_rng(20260101)
    contests = random_contests(rng, 1000, size=log_uniform(2, 5000), regulars=80)
    sizes = [len(c.standings) for c in contests]
    assert min(sizes) == 2 and max(sizes) >= 4000
    assert sum(1 for c in contests if c.standings[0][2] > c.standings[0][1]) > 100  # ties at the top
    _assert_matches(rate(contests), _reference(contests))


@pytest.mark.parametrize(
    "params",
    [
        {"weight_limit": 0.35, "sig_limit": 60.0},
        {"noob_delay": (0.3, 0.6, 0.9)},
        {"drift_per_day": 25.0},
        {"split_ties": True},
        {"mu_noob": 1200.0, "sig_noob": 250.0},
    ],
    ids=lambda p: ",".join(p),
)
def test_matches_reference_with_other_parameters(params: dict[str, Any]) -> None:
    rng = np.random.default_rng(7)
    contests = random_contests(rng, 60, size=log_uniform(2, 300), regulars=40, day_step=3 * 86_400)
    _assert_matches(rate(contests, **params), _reference(contests, **params))


def test_contest_weight_and_perf_ceiling_match_reference() -> None:
    rng = np.random.default_rng(11)
    base = random_contests(rng, 40, size=log_uniform(2, 200), regulars=30)
    contests = [
        Contest(c.standings, time_seconds=c.time_seconds, weight=0.5 + (i % 3) * 0.5, perf_ceiling=1700.0)
        for i, c in enumerate(base)
    ]
    _assert_matches(rate(contests), _reference(contests))


@pytest.mark.slow
def test_matches_reference_on_long_history_with_large_pool() -> None:
    rng = np.random.default_rng(99)
    contests = random_contests(rng, 1500, size=log_uniform(2, 5000), regulars=3000, regular_share=0.9)
    _assert_matches(rate(contests), _reference(contests))


def test_state_round_trips_through_json(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    contests = random_contests(rng, 30, size=log_uniform(2, 100), regulars=20)
    whole = EloMmr(noob_delay=(0.5,), drift_per_day=3.0)
    whole.extend(contests)
    first = EloMmr(noob_delay=(0.5,), drift_per_day=3.0)
    first.extend(contests[:15])
    first.save(tmp_path / "state.json")
    resumed = EloMmr.load(tmp_path / "state.json")
    assert resumed.params == first.params
    resumed.extend(contests[15:])
    assert resumed.ratings == whole.ratings
    assert resumed.contests_processed == 30


def test_bad_state_is_a_data_format_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError):
        EloMmr.from_json('{"format": "something else"}')
    with pytest.raises(DataFormatError):
        EloMmr.from_json("not json")
    with pytest.raises(DataFormatError):
        EloMmr.load(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("standings", "match"),
    [
        ([("a", 0, 0), ("b", 2, 2)], "non-contiguous"),
        ([("b", 1, 1), ("a", 0, 0)], "non-contiguous"),
        ([("a", 0, 1), ("b", 0, 0)], "inconsistent tie range"),
        ([("a", 0, 0), ("a", 1, 1)], "duplicate participant"),
    ],
)
def test_malformed_standings_are_refused(standings: list[tuple[str, int, int]], match: str) -> None:
    with pytest.raises(UserInputError, match=match):
        rate([standings])


def test_contests_must_go_forward_in_time() -> None:
    rater = EloMmr()
    rater.add(Contest((("a", 0, 0), ("b", 1, 1)), time_seconds=100))
    with pytest.raises(UserInputError, match="earlier"):
        rater.add(Contest((("a", 0, 0), ("c", 1, 1)), time_seconds=50))


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(UserInputError, match="weight_limit"):
        EloMmrParams(weight_limit=0)
    with pytest.raises(UserInputError, match="noob_delay"):
        EloMmr(noob_delay=(0.0,))


def test_infinite_transfer_speed_collapses_to_a_gaussian() -> None:
    gaussian = rate(KNOWN_ANSWER, transfer_speed=math.inf)
    logistic = rate(KNOWN_ANSWER)
    assert all(np.isfinite([r.mu, r.sigma]).all() for r in gaussian.values())
    assert gaussian["p1"].sigma == pytest.approx(logistic["p1"].sigma)  # sigma does not depend on it
    assert gaussian["p1"].mu != logistic["p1"].mu


def test_display_rating_is_conservative() -> None:
    r = rate(KNOWN_ANSWER)["p1"]
    assert r.display_rating == pytest.approx(r.mu - 2 * (r.sigma - 80.0))


def test_all_tied_and_single_player_contests_are_ignored() -> None:
    rater = EloMmr()
    assert rater.add([("a", 0, 2), ("b", 0, 2), ("c", 0, 2)]).ignored
    assert rater.add([("solo", 0, 0)]).ignored
    assert len(rater) == 0
    rater.add([("a", 0, 0), ("b", 1, 1)])
    assert rater.add([("a", 0, 1), ("b", 0, 1)]).ignored
    assert rater.rating("a").contests == 1


@st.composite
def _contest_with_history(draw: st.DrawFn) -> tuple[list[list[tuple[str, int, int]]], list[int]]:
    """A short history of random contests, then a final contest given as tie-group sizes."""
    history = []
    for _ in range(draw(st.integers(0, 3))):
        n = draw(st.integers(2, 8))
        levels = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        history.append(_standings([f"p{i}" for i in range(n)], levels))
    groups = draw(st.lists(st.integers(1, 4), min_size=1, max_size=6))
    return history, groups


def _standings(players: list[str], levels: list[int]) -> list[tuple[str, int, int]]:
    order = sorted(range(len(players)), key=lambda i: -levels[i])
    out = []
    position = 0
    while position < len(order):
        end = position
        while end + 1 < len(order) and levels[order[end + 1]] == levels[order[position]]:
            end += 1
        out += [(players[order[i]], position, end) for i in range(position, end + 1)]
        position = end + 1
    return out


def _final(groups: list[int], names: list[str]) -> list[tuple[str, int, int]]:
    standings, position, k = [], 0, 0
    for size in groups:
        for _ in range(size):
            standings.append((names[k], position, position + size - 1))
            k += 1
        position += size
    return standings


@settings(max_examples=60, deadline=None)
@given(_contest_with_history(), st.randoms(use_true_random=False))
def test_reordering_equal_rank_rows_changes_nothing(data: Any, rnd: Any) -> None:
    history, groups = data
    names = [f"p{i}" for i in range(sum(groups))]
    final = _final(groups, names)
    shuffled = []
    position = 0
    for size in groups:
        block = final[position : position + size]
        rnd.shuffle(block)
        shuffled += block
        position += size
    a = rate([*history, final])
    b = rate([*history, shuffled])
    assert set(a) == set(b)
    for k in a:
        assert a[k].mu == pytest.approx(b[k].mu, abs=1e-9)
        assert a[k].sigma == pytest.approx(b[k].sigma, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(_contest_with_history())
def test_a_better_place_never_yields_a_lower_performance(data: Any) -> None:
    history, groups = data
    rater = EloMmr()
    rater.extend(history)
    outcome = rater.add(_final(groups, [f"p{i}" for i in range(sum(groups))]))
    assert np.isfinite(outcome.performance).all()
    assert np.isfinite(outcome.mu).all() and np.isfinite(outcome.sigma).all()
    # Players are listed best first, so performances must not increase along the list.
    assert (np.diff(outcome.performance) <= 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 50), st.integers(0, 3))
def test_all_tied_or_single_player_contests_stay_finite(n: int, history: int) -> None:
    rater = EloMmr()
    for h in range(history):
        rater.add([(f"p{h}", 0, 0), (f"p{h + 1}", 1, 1)])
    before = rater.ratings
    outcome = rater.add([(f"p{i}", 0, n - 1) for i in range(n)])
    assert outcome.ignored
    assert rater.ratings == before
    assert all(math.isfinite(r.mu) and math.isfinite(r.sigma) for r in rater.ratings.values())
