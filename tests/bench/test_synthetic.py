"""Standings from scores and random contests."""

from __future__ import annotations

import numpy as np
import pytest

from agentk.bench import standings_from_scores
from agentk.bench.synthetic import log_uniform, random_contests


def test_equal_scores_share_a_rank_range() -> None:
    got = standings_from_scores(["a", "b", "c", "d"], np.array([0.5, 0.9, 0.5, 0.1]), higher_is_better=True)
    assert got == [("b", 0, 0), ("a", 1, 2), ("c", 1, 2), ("d", 3, 3)]
    low = standings_from_scores(["a", "b"], np.array([2.0, 1.0]), higher_is_better=False)
    assert low == [("b", 0, 0), ("a", 1, 1)]
    with pytest.raises(ValueError, match="NaN"):
        standings_from_scores(["a"], np.array([np.nan]), higher_is_better=True)


def test_random_contests_are_valid_and_reproducible() -> None:
    a = random_contests(np.random.default_rng(1), 20, size=log_uniform(2, 50))
    b = random_contests(np.random.default_rng(1), 20, size=log_uniform(2, 50))
    assert a == b
    for c in a:
        assert 2 <= len(c.standings) <= 50
        assert len({p for p, _, _ in c.standings}) == len(c.standings)
