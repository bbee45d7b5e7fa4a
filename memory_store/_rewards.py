"""The reward update rule: how ``reward(item_ids, r)`` changes an item's statistics and value.

Every statistic except ``last`` is a sum, so any order of reward calls gives the same result (exactly for
``count`` and ``total`` when the rewards are exactly representable, e.g. multiples of 0.25; up to
floating-point rounding for the weighted sums). ``last`` takes the reward with the latest timestamp, so
it commutes too unless two rewards carry the same timestamp.

Recency weighting uses exponential decay in time. A reward ``r`` given at time ``t`` has weight
``w = exp(lambda * (t - epoch))`` with ``lambda = ln 2 / half_life_s``; the value is the weighted mean

    value = (sum r_i w_i + prior * prior_strength * w_last) / (sum w_i + prior_strength * w_last)

where ``w_last`` is the weight of the latest reward. A reward one half-life older than another counts
half as much. The common factor ``exp(-lambda * now)`` cancels, so the value does not drift with the
clock and the weights can be stored as plain sums (atomic ``UPDATE ... SET weight = weight + :w``).
``lambda * (t - epoch)`` must stay below about 700 (float64 range): with the default half-life of 7 days
and epoch 2026-01-01 that holds until about 2045; pick a later ``epoch`` or a longer half-life if needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from memory_store._types import RewardStats

DEFAULT_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class RewardRule:
    """Configurable credit-assignment rule.

    Attributes:
        half_life_s: half-life of the recency weighting, in seconds (default 7 days).
        share: ``"full"`` gives every item that informed a decision the whole reward ``r``;
            ``"split"`` gives each of the ``n`` distinct items ``r / n``.
        prior: value of an item that has no reward yet.
        prior_strength: how many equally recent pseudo-rewards of size ``prior`` shrink the value
            towards ``prior`` (0 = plain recency-weighted mean).
        epoch: reference time of the weights (seconds since the Unix epoch).
    """

    half_life_s: float = 7 * 24 * 3600.0
    share: Literal["full", "split"] = "full"
    prior: float = 0.0
    prior_strength: float = 0.0
    epoch: float = DEFAULT_EPOCH

    def __post_init__(self) -> None:
        if not (self.half_life_s > 0 and math.isfinite(self.half_life_s)):
            raise ValueError("half_life_s must be a positive number")
        if self.share not in ("full", "split"):
            raise ValueError("share must be 'full' or 'split'")
        if self.prior_strength < 0:
            raise ValueError("prior_strength must be >= 0")

    @property
    def decay_rate(self) -> float:
        """``lambda = ln 2 / half_life_s`` (per second)."""
        return math.log(2.0) / self.half_life_s

    def weight(self, at: float) -> float:
        """Recency weight of a reward given at time ``at``."""
        exponent = self.decay_rate * (at - self.epoch)
        if exponent > 700:
            raise OverflowError("reward time too far past the rule's epoch; use a later epoch or longer half-life")
        return math.exp(exponent)

    def per_item(self, reward: float, n_items: int) -> float:
        """The reward each of ``n_items`` distinct items receives."""
        return reward / n_items if self.share == "split" and n_items > 0 else reward

    def value(self, stats: RewardStats) -> float:
        """The recency-weighted value of an item (``prior`` before the first reward)."""
        if stats.count == 0 or stats.weight <= 0:
            return self.prior
        if self.prior_strength == 0 or stats.last_at is None:
            return stats.weighted_total / stats.weight
        pseudo = self.prior_strength * self.weight(stats.last_at)
        return (stats.weighted_total + self.prior * pseudo) / (stats.weight + pseudo)
