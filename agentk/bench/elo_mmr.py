"""Elo-MMR, the exact logistic variant (Ebtekar & Liu, 2021), vectorised with numpy.

This is a re-implementation of the reference Rust code (EbTech/Elo-MMR, ``systems/elo_mmr.rs`` with
``EloMMRVariant::Logistic(transfer_speed)`` and no subsampling) that reproduces its ratings to within
floating-point noise; ``tests/bench/test_elo_mmr.py`` checks it against the reference's Python bindings
(``elo-mmr-py``). What it keeps from the reference, on purpose:

* standings are ``(player, lo, hi)`` rank ranges (0-based, ties share a range) and must be sorted and
  contiguous; a contest whose players are all tied (or that has a single player) is ignored and creates
  no player, as in the reference;
* opponents whose ``(mu, sigma)`` fall in the same 1e-5 bucket are merged into one term (this is what
  makes a contest of newcomers cheap, and the reference does it too);
* every root is found by the reference's safeguarded Newton iteration on ``[-6000, 9000]``.

What it does differently: a player's performance depends only on the low end of its rank range, so it
is solved once per tie group instead of once per player, and all groups (and all posterior updates) are
solved together as numpy arrays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agentk.errors import DataFormatError, UserInputError

__all__ = [
    "Contest",
    "ContestOutcome",
    "EloMmr",
    "EloMmrParams",
    "PlayerRating",
    "Standing",
    "rate",
    "standings_from_scores",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Standing = tuple[str, int, int]

TANH_MULTIPLIER = math.pi / 1.7320508075688772
SECS_PER_DAY = 86_400.0
_BOUNDS = (-6000.0, 9000.0)
_BUCKET = 1e-5
_STATE_VERSION = 1
_MAX_NEWTON_ITERATIONS = 200
_EVAL_BLOCK = 1 << 20  # matrix elements evaluated at once (8 MiB per float64 temporary)


@dataclass(frozen=True)
class EloMmrParams:
    """Parameters of the exact logistic Elo-MMR system; the defaults are the reference's.

    Attributes:
        weight_limit: Weight of a contest for a player with a long history.
        sig_limit: The limiting uncertainty of a player with a long history.
        drift_per_day: Extra variance per day between a player's contests.
        split_ties: Count a tie as half a win plus half a loss instead of a tie.
        noob_delay: Weight multipliers for a player's first contests (index 0: the first contest).
        transfer_speed: How fast old performances move into the Gaussian prior (``inf``: at once).
        mu_noob: Mean rating of a newcomer.
        sig_noob: Rating uncertainty of a newcomer.
    """

    weight_limit: float = 0.2
    sig_limit: float = 80.0
    drift_per_day: float = 0.0
    split_ties: bool = False
    noob_delay: tuple[float, ...] = ()
    transfer_speed: float = 1.0
    mu_noob: float = 1500.0
    sig_noob: float = 350.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "noob_delay", tuple(float(v) for v in self.noob_delay))
        checks = {
            "weight_limit must be > 0": self.weight_limit > 0,
            "sig_limit must be > 0": self.sig_limit > 0,
            "drift_per_day must be >= 0": self.drift_per_day >= 0,
            "transfer_speed must be >= 0": self.transfer_speed >= 0,
            "sig_noob must be > 0": self.sig_noob > 0,
            "mu_noob must be finite": math.isfinite(self.mu_noob),
            "noob_delay factors must be > 0": all(v > 0 for v in self.noob_delay),
        }
        for message, ok in checks.items():
            if not ok:
                raise UserInputError(f"invalid Elo-MMR parameter: {message}")


@dataclass(frozen=True)
class Contest:
    """One rated contest.

    Attributes:
        standings: ``(player, lo, hi)`` sorted by rank: ``lo`` is 0 for the first entry and each tie
            group occupies ``lo..hi`` inclusive.
        time_seconds: When it ended (seconds; only differences matter, for ``drift_per_day``).
        weight: Relative importance (the reference's contest weight).
        perf_ceiling: Performances above this are capped.
        name: For reports and errors.
    """

    standings: tuple[Standing, ...]
    time_seconds: int = 0
    weight: float = 1.0
    perf_ceiling: float = math.inf
    name: str = ""

    def __post_init__(self) -> None:
        standings = self.standings
        # Normalise types only when needed: contests of thousands are built often and rated in milliseconds.
        if not all(
            type(s) is tuple and type(s[0]) is str and type(s[1]) is int and type(s[2]) is int for s in standings
        ):
            standings = tuple((str(p), int(lo), int(hi)) for p, lo, hi in standings)
        object.__setattr__(self, "standings", tuple(standings))
        if not self.weight > 0:
            raise UserInputError(f"contest {self.name!r}: weight must be > 0")


@dataclass(frozen=True)
class PlayerRating:
    """A player's current rating.

    Attributes:
        mu: Posterior mean skill.
        sigma: Posterior uncertainty.
        contests: Rated contests played.
        last_time: ``time_seconds`` of the player's last contest.
        display_rating: The conservative rating the reference displays, ``mu - 2 (sigma - sig_limit)``.
    """

    mu: float
    sigma: float
    contests: int
    last_time: int
    display_rating: float


@dataclass(frozen=True)
class ContestOutcome:
    """What one contest did: for each of its players (standings order) the performance and new rating.

    Empty when the contest was ignored (all players tied, or a single player).
    """

    players: tuple[str, ...]
    performance: FloatArray = field(repr=False)
    mu: FloatArray = field(repr=False)
    sigma: FloatArray = field(repr=False)

    @property
    def ignored(self) -> bool:
        """True when the contest changed nothing."""
        return not self.players


def _round_half_away(values: FloatArray) -> FloatArray:
    return np.trunc(values + np.copysign(0.5, values))


def _newton(
    f: Callable[[FloatArray, IntArray], tuple[FloatArray, FloatArray]],
    count: int,
    *,
    increasing: bool,
) -> FloatArray:
    """The reference's safeguarded Newton iteration on ``[-6000, 9000]``, for ``count`` roots at once.

    ``f(x, idx)`` returns the values and derivatives of the increasing-or-decreasing functions ``idx`` at
    ``x``. Each root is refined until its bracket collapses onto it, exactly as ``solve_newton`` does.
    """
    lo = np.full(count, _BOUNDS[0])
    hi = np.full(count, _BOUNDS[1])
    guess: FloatArray = 0.5 * (lo + hi)
    active = np.arange(count, dtype=np.int64)
    for _ in range(_MAX_NEWTON_ITERATIONS):
        if active.size == 0:
            return guess
        x = guess[active]
        value, deriv = f(x, active)
        with np.errstate(divide="ignore", invalid="ignore"):
            extrapolate = x - value / deriv
        # A flat derivative (all terms saturated) gives no step: fall back to bisection towards the root.
        bad = ~np.isfinite(extrapolate)
        if bad.any():
            toward_hi = (value < 0) if increasing else (value > 0)
            extrapolate[bad] = np.where(toward_hi[bad], hi[active][bad], lo[active][bad])
        a_lo, a_hi = lo[active], hi[active]
        down = extrapolate < x
        new_lo = np.where(down, a_lo, x)
        new_hi = np.where(down, x, a_hi)
        new_guess = np.where(
            down,
            np.clip(extrapolate, new_hi - 0.75 * (new_hi - new_lo), new_hi),
            np.clip(extrapolate, new_lo, new_lo + 0.75 * (new_hi - new_lo)),
        )
        lo[active], hi[active], guess[active] = new_lo, new_hi, new_guess
        # The reference stops when the bracket collapses. Where every tanh term is saturated the sum is
        # flat at rounding level and it can crawl a few ulps per step towards the far end; stopping at a
        # step of ~100 ulps changes the root by less than the rounding noise of the sum itself.
        tiny = np.abs(extrapolate - x) <= 1e-14 * np.maximum(1.0, np.abs(x))
        done = (new_lo >= new_guess) | (new_guess >= new_hi) | tiny
        active = active[~done]
    raise RuntimeError("Elo-MMR Newton iteration did not converge")  # pragma: no cover - a bug if reached


def _validate(contest: Contest) -> tuple[list[str], IntArray]:
    """Check the reference's rules for standings; returns the players and their low ranks."""
    standings = contest.standings
    n = len(standings)
    players = [s[0] for s in standings]
    lo = np.fromiter((s[1] for s in standings), dtype=np.int64, count=n)
    hi = np.fromiter((s[2] for s in standings), dtype=np.int64, count=n)
    if n == 0:
        return players, lo
    new_group = np.r_[True, lo[1:] != lo[:-1]]
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    ends = np.r_[starts[1:], n] - 1
    bad_lo = np.flatnonzero(lo != starts[group])
    bad_start = np.flatnonzero(lo[starts] != starts)
    if bad_start.size or bad_lo.size:
        i = int(min(starts[bad_start].min(initial=n), bad_lo.min(initial=n)))
        raise UserInputError(
            f"contest {contest.name!r} has a non-contiguous rank at position {i}: got low rank {int(lo[i])}",
            hint="standings are (player, lo, hi), sorted, 0-based, ties sharing lo..hi",
        )
    bad_hi = np.flatnonzero(hi != ends[group])
    if bad_hi.size:
        i = int(bad_hi[0])
        raise UserInputError(
            f"contest {contest.name!r} has an inconsistent tie range at position {i}: "
            f"expected ({int(starts[group[i]])}, {int(ends[group[i]])}), got ({int(lo[i])}, {int(hi[i])})",
            hint="standings are (player, lo, hi), sorted, 0-based, ties sharing lo..hi",
        )
    if len(set(players)) != n:
        seen: set[str] = set()
        duplicate = next(p for p in players if p in seen or seen.add(p))  # type: ignore[func-returns-value]
        raise UserInputError(f"contest {contest.name!r} contains duplicate participant {duplicate!r}")
    return players, lo


def _segment_positions(offsets: IntArray, counts: IntArray) -> tuple[IntArray, IntArray]:
    """For segments ``offsets[i] .. offsets[i] + counts[i]``: the owning row and the position of each slot."""
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    pos = np.repeat(offsets, counts) + (np.arange(total, dtype=np.int64) - np.repeat(starts, counts))
    return rows, pos


class _FactorStore:
    """Every player's logistic factors ``(mu, w_arg, w_out)`` in flat arrays, one segment per player.

    A player's segment doubles when it is full; the old one is abandoned, so the waste never exceeds the
    live data. Gathers and scatters are vectorised over the players of a contest.
    """

    def __init__(self) -> None:
        self.mu = np.zeros(1024)
        self.warg = np.zeros(1024)
        self.wout = np.zeros(1024)
        self.end = 0
        self.offset = np.zeros(0, dtype=np.int64)
        self.capacity = np.zeros(0, dtype=np.int64)
        self.count = np.zeros(0, dtype=np.int64)

    def grow_players(self, players: int) -> None:
        old = len(self.offset)
        if players <= old:
            return
        new = max(players, 2 * old, 64)
        for name in ("offset", "capacity", "count"):
            grown = np.zeros(new, dtype=np.int64)
            grown[:old] = getattr(self, name)
            setattr(self, name, grown)

    def _reserve_slots(self, slots: int) -> int:
        start = self.end
        needed = start + slots
        if needed > len(self.mu):
            size = max(needed, 2 * len(self.mu))
            for name in ("mu", "warg", "wout"):
                grown = np.zeros(size)
                grown[: self.end] = getattr(self, name)[: self.end]
                setattr(self, name, grown)
        self.end = needed
        return start

    def slots(self, idx: IntArray) -> tuple[IntArray, IntArray]:
        """(row in ``idx``, flat position) of every factor of the players ``idx``."""
        return _segment_positions(self.offset[idx], self.count[idx])

    def append(self, idx: IntArray, mu: FloatArray, warg: FloatArray, wout: FloatArray) -> None:
        """Add one factor to each player of ``idx`` (distinct players)."""
        full = self.count[idx] >= self.capacity[idx]
        if full.any():
            moving = idx[full]
            new_cap = np.maximum(2 * self.capacity[moving], 2)
            start = self._reserve_slots(int(new_cap.sum()))
            new_off = start + np.cumsum(new_cap) - new_cap
            counts = self.count[moving]
            _, old_pos = _segment_positions(self.offset[moving], counts)
            _, new_pos = _segment_positions(new_off, counts)
            for name in ("mu", "warg", "wout"):
                arr = getattr(self, name)
                arr[new_pos] = arr[old_pos]
            self.offset[moving] = new_off
            self.capacity[moving] = new_cap
        pos = self.offset[idx] + self.count[idx]
        self.mu[pos], self.warg[pos], self.wout[pos] = mu, warg, wout
        self.count[idx] += 1

    def load(self, counts: IntArray, factors: FloatArray) -> None:
        """Fill an empty store: player ``j`` gets the next ``counts[j]`` rows of ``factors`` (k x 3)."""
        self.grow_players(len(counts))
        start = self._reserve_slots(len(factors))
        n = len(counts)
        self.offset[:n] = start + np.cumsum(counts) - counts
        self.capacity[:n] = counts
        self.count[:n] = counts
        end = start + len(factors)
        if len(factors):
            self.mu[start:end], self.warg[start:end], self.wout[start:end] = factors.T

    def player(self, j: int) -> FloatArray:
        """The factors of player ``j`` as a ``(k, 3)`` array."""
        a, k = int(self.offset[j]), int(self.count[j])
        return np.stack([self.mu[a : a + k], self.warg[a : a + k], self.wout[a : a + k]], axis=1)


class EloMmr:
    """An Elo-MMR rater whose state grows contest by contest and survives a JSON round trip.

    Invariants: contests are added in time order (a player's contests never go back in time); the state
    of a player is its Gaussian prior factor, one logistic factor per rated contest, its approximate
    posterior ``(mu, sigma)``, the time of its last contest and its number of contests. Not thread-safe.
    """

    def __init__(self, params: EloMmrParams | None = None, **overrides: Any) -> None:
        base = params or EloMmrParams()
        self.params = EloMmrParams(**{**asdict(base), **overrides}) if overrides else base
        self.contests_processed = 0
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        self._ap_mu = np.zeros(0)
        self._ap_sig = np.zeros(0)
        self._n_mu = np.zeros(0)
        self._n_sig = np.zeros(0)
        self._time = np.zeros(0, dtype=np.int64)
        self._played = np.zeros(0, dtype=np.int64)
        self._factors = _FactorStore()

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, player: object) -> bool:
        return player in self._index

    def _grow_players(self, needed: int) -> None:
        capacity = len(self._ap_mu)
        self._factors.grow_players(needed)
        if needed <= capacity:
            return
        new = max(needed, 2 * capacity, 64)
        for name in ("_ap_mu", "_ap_sig", "_n_mu", "_n_sig", "_time", "_played"):
            old = getattr(self, name)
            grown = np.zeros(new, dtype=old.dtype)
            grown[:capacity] = old
            setattr(self, name, grown)

    def _ensure(self, players: Sequence[str], time: int) -> IntArray:
        p = self.params
        index = self._index
        idx = np.fromiter((index.get(name, -1) for name in players), dtype=np.int64, count=len(players))
        missing = np.flatnonzero(idx < 0)
        if missing.size:
            first = len(self._names)
            names = [players[i] for i in missing.tolist()]
            index.update(zip(names, range(first, first + len(names)), strict=True))
            self._names.extend(names)
            new = np.arange(first, len(self._names), dtype=np.int64)
            idx[missing] = new
            self._grow_players(len(self._names))
            self._ap_mu[new] = self._n_mu[new] = p.mu_noob
            self._ap_sig[new] = self._n_sig[new] = p.sig_noob
            self._time[new] = time
            self._played[new] = 0
        return idx

    def rating(self, player: str) -> PlayerRating:
        """The current rating of ``player``.

        Raises:
            KeyError: The player has never been rated.
        """
        j = self._index[player]
        mu, sig = float(self._ap_mu[j]), float(self._ap_sig[j])
        return PlayerRating(
            mu=mu,
            sigma=sig,
            contests=int(self._played[j]),
            last_time=int(self._time[j]),
            display_rating=mu - 2.0 * (sig - self.params.sig_limit),
        )

    @property
    def ratings(self) -> dict[str, PlayerRating]:
        """Every rated player's current rating."""
        return {name: self.rating(name) for name in self._names}

    def arrays(self) -> tuple[list[str], FloatArray, FloatArray, IntArray]:
        """Names, mu, sigma and contest counts of all players, as arrays (cheap for large pools)."""
        n = len(self._names)
        return (
            list(self._names),
            self._ap_mu[:n].copy(),
            self._ap_sig[:n].copy(),
            self._played[:n].copy(),
        )

    # ----------------------------------------------------------------- update
    def extend(self, contests: Iterable[Contest | Sequence[Standing]]) -> list[ContestOutcome]:
        """Rate ``contests`` in order; returns one outcome per contest."""
        return [self.add(contest) for contest in contests]

    def add(self, contest: Contest | Sequence[Standing]) -> ContestOutcome:
        """Rate one contest.

        Raises:
            UserInputError: The standings are malformed, or a player's contests go back in time.
        """
        if not isinstance(contest, Contest):
            contest = Contest(standings=tuple(contest))
        players, ranks = _validate(contest)
        self.contests_processed += 1
        standings = contest.standings
        empty = np.zeros(0)
        if not standings or standings[0][2] + 1 >= len(standings):
            return ContestOutcome(players=(), performance=empty, mu=empty, sigma=empty)

        p = self.params
        time = int(contest.time_seconds)
        idx = self._ensure(players, time)
        delta = time - self._time[idx]
        if (delta < 0).any():
            late = players[int(np.argmax(delta < 0))]
            raise UserInputError(
                f"contest {contest.name!r} is earlier than {late!r}'s previous contest",
                hint="add contests in time order",
            )
        self._time[idx] = time

        weight = np.full(len(idx), contest.weight * p.weight_limit)
        if p.noob_delay:
            played = self._played[idx]
            delay = np.asarray(p.noob_delay)
            has = played < len(delay)
            weight[has] *= delay[played[has]]
        sig_perf = np.sqrt((1.0 + 1.0 / weight) * p.sig_limit**2 + p.drift_per_day / weight)
        sig_drift = np.sqrt(weight * p.sig_limit**2 + p.drift_per_day * delta / SECS_PER_DAY)

        self._add_noise(idx, sig_drift)
        perf = self._performances(ranks, self._ap_mu[idx], np.hypot(self._ap_sig[idx], sig_perf))
        perf = np.minimum(perf, contest.perf_ceiling)
        self._update(idx, perf, sig_perf)
        return ContestOutcome(
            players=tuple(players),
            performance=perf,
            mu=self._ap_mu[idx].copy(),
            sigma=self._ap_sig[idx].copy(),
        )

    def _add_noise(self, idx: IntArray, sig_drift: FloatArray) -> None:
        """The reference's ``add_noise_best`` (or ``add_noise_and_collapse`` for infinite transfer)."""
        ap_sig = self._ap_sig[idx]
        new_sig = np.hypot(ap_sig, sig_drift)
        store = self._factors
        if math.isinf(self.params.transfer_speed):
            self._ap_sig[idx] = new_sig
            self._n_mu[idx] = self._ap_mu[idx]
            self._n_sig[idx] = new_sig
            store.count[idx] = 0
            return
        decay = (ap_sig / new_sig) ** 2
        transfer = decay**self.params.transfer_speed
        rows, pos = store.slots(idx)
        factor_weight = np.bincount(
            rows, weights=store.warg[pos] * store.wout[pos] * 2.0 / TANH_MULTIPLIER**2, minlength=len(idx)
        )
        wt_norm_old = self._n_sig[idx] ** -2.0
        wt_from_norm_old = transfer * wt_norm_old
        wt_from_transfers = (1.0 - transfer) * (wt_norm_old + factor_weight)
        wt_total = wt_from_norm_old + wt_from_transfers
        self._n_mu[idx] = (wt_from_norm_old * self._n_mu[idx] + wt_from_transfers * self._ap_mu[idx]) / wt_total
        self._n_sig[idx] = np.sqrt(1.0 / (decay * wt_total))
        self._ap_sig[idx] = new_sig
        store.wout[pos] *= (transfer * decay)[rows]

    def _performances(self, ranks: IntArray, mu: FloatArray, sig: FloatArray) -> FloatArray:
        """Performance of every entry: one root per tie group of the contest's likelihood."""
        n = len(ranks)
        # Merge opponents whose (mu, sigma) share a bucket, as the reference does.
        b_mu = _round_half_away(mu / _BUCKET)
        b_sig = _round_half_away(sig / _BUCKET)
        order = np.lexsort((ranks, b_sig, b_mu))
        sorted_mu, sorted_sig = b_mu[order], b_sig[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = (sorted_mu[1:] != sorted_mu[:-1]) | (sorted_sig[1:] != sorted_sig[:-1])
        term_of_sorted = np.cumsum(starts) - 1
        term = np.empty(n, dtype=np.int64)
        term[order] = term_of_sorted
        terms = int(term_of_sorted[-1]) + 1
        multiplicity = np.bincount(term, minlength=terms).astype(np.float64)
        t_mu = np.bincount(term, weights=mu, minlength=terms) / multiplicity
        t_sig = np.bincount(term, weights=sig, minlength=terms) / multiplicity
        t_wout = TANH_MULTIPLIER / t_sig
        t_warg = 0.5 * t_wout

        # Tie groups: ranks are sorted, so groups are runs of equal lo.
        group_start = np.flatnonzero(np.r_[True, ranks[1:] != ranks[:-1]])
        group_of = np.cumsum(np.r_[True, ranks[1:] != ranks[:-1]]) - 1
        groups = len(group_start)
        entry_wout = t_wout[term]
        cum = np.r_[0.0, np.cumsum(entry_wout)]
        group_end = np.r_[group_start[1:], n]
        # Opponents ranked worse count +w_out, better -w_out (the tanh terms' constant parts).
        const = (cum[n] - cum[group_end]) - cum[group_start]
        total_weight = multiplicity * t_wout
        total_slope = multiplicity * t_warg * t_wout
        tie_extra = not self.params.split_ties
        e_mu, e_warg, e_wout = t_mu[term], t_warg[term], t_wout[term]

        def f(x: FloatArray, active: IntArray) -> tuple[FloatArray, FloatArray]:
            value = const[active].copy()
            deriv = np.zeros(len(active))
            rows = max(1, _EVAL_BLOCK // max(terms, 1))
            for s in range(0, len(active), rows):
                th = np.tanh((x[s : s + rows, None] - t_mu[None, :]) * t_warg[None, :])
                value[s : s + rows] -= th @ total_weight
                deriv[s : s + rows] -= (1.0 - th * th) @ total_slope
            if tie_extra:
                # Each player's own tie group contributes its term once more (a tie is not split).
                member_group = np.full(groups, -1, dtype=np.int64)
                member_group[active] = np.arange(len(active))
                local = member_group[group_of]
                mask = local >= 0
                th = np.tanh((x[local[mask]] - e_mu[mask]) * e_warg[mask])
                value -= np.bincount(local[mask], weights=th * e_wout[mask], minlength=len(active))
                deriv -= np.bincount(
                    local[mask], weights=(1.0 - th * th) * e_warg[mask] * e_wout[mask], minlength=len(active)
                )
            return value, deriv

        roots = _newton(f, groups, increasing=False)
        result: FloatArray = roots[group_of]
        return result

    def _update(self, idx: IntArray, perf: FloatArray, sig_perf: FloatArray) -> None:
        """Append each performance as a logistic factor and recompute the posteriors."""
        store = self._factors
        w_out = TANH_MULTIPLIER / sig_perf
        store.append(idx, perf, 0.5 * w_out, w_out)
        rows, pos = store.slots(idx)
        f_mu, f_warg, f_wout = store.mu[pos], store.warg[pos], store.wout[pos]
        slope = self._n_sig[idx] ** -2.0
        offset = -self._n_mu[idx] * slope
        starts = np.cumsum(store.count[idx]) - store.count[idx]

        def f(x: FloatArray, active: IntArray) -> tuple[FloatArray, FloatArray]:
            if len(active) == len(idx):
                sel: slice | IntArray = slice(None)
                local = rows
            else:
                counts = store.count[idx][active]
                local, sel = _segment_positions(starts[active], counts)
            th = np.tanh((x[local] - f_mu[sel]) * f_warg[sel])
            wa = f_wout[sel]
            value = offset[active] + slope[active] * x + np.bincount(local, weights=th * wa, minlength=len(x))
            deriv = slope[active] + np.bincount(local, weights=(1.0 - th * th) * f_warg[sel] * wa, minlength=len(x))
            return value, deriv

        self._ap_mu[idx] = _newton(f, len(idx), increasing=True)
        self._ap_sig[idx] = np.sqrt(1.0 / (self._ap_sig[idx] ** -2.0 + sig_perf**-2.0))
        self._played[idx] += 1

    # ------------------------------------------------------------ persistence
    def to_json(self) -> str:
        """The whole state (parameters included) as JSON; floats round-trip exactly."""
        players = {}
        for j, name in enumerate(self._names):
            factors = self._factors.player(j)
            players[name] = {
                "mu": float(self._ap_mu[j]),
                "sigma": float(self._ap_sig[j]),
                "prior": [float(self._n_mu[j]), float(self._n_sig[j])],
                "factors": factors.tolist(),
                "time": int(self._time[j]),
                "contests": int(self._played[j]),
            }
        params = asdict(self.params)
        params["noob_delay"] = list(self.params.noob_delay)
        return json.dumps(
            {
                "format": "agentk.elo_mmr",
                "version": _STATE_VERSION,
                "params": params,
                "contests_processed": self.contests_processed,
                "players": players,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> EloMmr:
        """Restore a rater saved by :meth:`to_json`.

        Raises:
            DataFormatError: The text is not a saved Elo-MMR state.
        """
        try:
            data = json.loads(text)
            if data.get("format") != "agentk.elo_mmr" or data.get("version") != _STATE_VERSION:
                raise DataFormatError("not an AgentK Elo-MMR state (format/version mismatch)")
            params = dict(data["params"])
            params["noob_delay"] = tuple(params.get("noob_delay", ()))
            rater = cls(EloMmrParams(**params))
            rater.contests_processed = int(data["contests_processed"])
            players: Mapping[str, Any] = data["players"]
            names = list(players)
            rater._ensure(names, 0)
            counts = np.zeros(len(names), dtype=np.int64)
            rows: list[list[float]] = []
            for j, name in enumerate(names):
                v = players[name]
                rater._ap_mu[j], rater._ap_sig[j] = float(v["mu"]), float(v["sigma"])
                rater._n_mu[j], rater._n_sig[j] = (float(x) for x in v["prior"])
                rater._time[j], rater._played[j] = int(v["time"]), int(v["contests"])
                counts[j] = len(v["factors"])
                rows.extend(v["factors"])
            rater._factors.load(counts, np.asarray(rows, dtype=np.float64).reshape(len(rows), 3))
            return rater
        except DataFormatError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, UserInputError) as exc:
            raise DataFormatError(f"cannot read Elo-MMR state: {exc}") from exc

    def save(self, path: Path | str) -> None:
        """Write :meth:`to_json` to ``path`` (replaced atomically)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> EloMmr:
        """Read a state written by :meth:`save`."""
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise DataFormatError(f"cannot read Elo-MMR state {path}: {exc}") from exc
        return cls.from_json(text)


def standings_from_scores(players: list[str], scores: np.ndarray, *, higher_is_better: bool) -> list[Standing]:
    """``(player, lo, hi)`` standings from scores: equal scores tie and share one rank range.

    Players are ordered best first (stable, so equal scores keep the given order).
    """
    values = np.asarray(scores, dtype=np.float64)
    if len(values) != len(players):
        raise ValueError("players and scores must have the same length")
    if np.isnan(values).any():
        raise ValueError("scores must not contain NaN")
    order = np.argsort(-values if higher_is_better else values, kind="stable")
    ordered = values[order]
    n = len(ordered)
    new_group = np.r_[True, ordered[1:] != ordered[:-1]] if n else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new_group)
    ends = np.r_[starts[1:], n] - 1
    group = np.cumsum(new_group) - 1
    lo, hi = starts[group], ends[group]
    return [(players[i], int(a), int(b)) for i, a, b in zip(order.tolist(), lo.tolist(), hi.tolist(), strict=True)]


def rate(contests: Iterable[Contest | Sequence[Standing]], **params: Any) -> dict[str, PlayerRating]:
    """Rate ``contests`` in order with exact Elo-MMR and return every player's final rating.

    Args:
        contests: Each a :class:`Contest` or a sequence of ``(player, lo, hi)``.
        **params: Fields of :class:`EloMmrParams` (``weight_limit``, ``sig_limit``, ``drift_per_day``,
            ``split_ties``, ``noob_delay``, ``transfer_speed``, ``mu_noob``, ``sig_noob``).
    """
    rater = EloMmr(**params)
    rater.extend(contests)
    return rater.ratings
