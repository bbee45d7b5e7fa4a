"""The toolbox's share of a search's time kept for the ensemble."""

from __future__ import annotations

import pytest

from agentk.agent.toolbox import ensemble_reserve


def test_single_output_tasks_keep_seconds_scaled_by_rows() -> None:
    assert ensemble_reserve(600.0, 1_460, 1) == pytest.approx(10.73)
    assert ensemble_reserve(600.0, 26_215, 1) == pytest.approx(23.1075)
    assert ensemble_reserve(600.0, 500_000, 1) == 60.0  # never more than a tenth, at most 60 s


def test_multiclass_tasks_keep_the_full_share() -> None:
    assert ensemble_reserve(600.0, 16_606, 7) == 60.0
    assert ensemble_reserve(300.0, 800, 3) == 30.0


def test_short_budgets_keep_a_tenth_at_most() -> None:
    assert ensemble_reserve(60.0, 1_000, 1) == 6.0
    assert ensemble_reserve(60.0, 1_000, 5) == 6.0
