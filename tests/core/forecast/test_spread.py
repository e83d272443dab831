"""Learned spread (core/forecast/spread.py): the grid choice against brute force."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import norm

from stockpilot.core.forecast import spread
from stockpilot.core.forecast.quantiles import _ppf
from stockpilot.core.forecast.spread import (
    GROWTH_GRID,
    SPREAD_GRID,
    SPREAD_LEVELS,
    LevelSpread,
    _step_quantiles,
    learn_spread,
)


def _origins(rng: np.random.Generator, n: int, steps: int) -> list[spread.OriginRecord]:
    """Two origins, two candidate columns, gamma demand around a noisy forecast."""
    kept: list[spread.OriginRecord] = []
    for _ in range(2):
        ok_rows = np.ones(n, dtype=bool)
        level = rng.uniform(1.0, 20.0, n)
        actual = rng.gamma(2.0, level[:, None] / 2.0, (n, steps))
        fcs = {
            j: (level[:, None] * rng.uniform(0.7, 1.3, (n, 1)) * np.ones(steps), 0.6 * level)
            for j in range(2)
        }
        kept.append((ok_rows, actual, fcs))
    return kept


def _per_level(brute: Callable[[tuple[float, ...]], tuple[float, float]]) -> LevelSpread:
    """The brute-force optimum of each level of SPREAD_LEVELS alone, as a LevelSpread."""
    best = [brute((tau,)) for tau in SPREAD_LEVELS]
    return LevelSpread(SPREAD_LEVELS, tuple(b[0] for b in best), tuple(b[1] for b in best))


def _brute_force(
    kept: list[spread.OriginRecord],
    win: np.ndarray,
    scale: np.ndarray,
    steps: int,
    levels: tuple[float, ...],
) -> tuple[float, float]:
    """Mean over series of (pinball loss summed over ``levels`` / scored values / scale),
    for every (c, g) on the grids, written out as plainly as possible."""
    best, best_cg = np.inf, (np.nan, np.nan)
    for c in SPREAD_GRID:
        for g in GROWTH_GRID:
            per_series = []
            for i in range(win.size):
                total, count = 0.0, 0
                for _, actual, fcs in kept:
                    mu, sd = fcs[int(win[i])]
                    for s in range(steps):
                        count += 1
                        for tau in levels:
                            q = max(mu[i, s] + norm.ppf(tau) * c * sd[i] * np.sqrt(1 + g * s), 0)
                            d = actual[i, s] - q
                            total += tau * d if d >= 0 else (tau - 1) * d
                per_series.append(total / count / scale[i])
            loss = float(np.mean(per_series))
            if loss < best - 1e-12:
                best, best_cg = loss, (float(c), float(g))
    return best_cg


def _learned_on_random_origins(
    seed: int, n: int, steps: int
) -> tuple[list[spread.OriginRecord], np.ndarray, np.ndarray, LevelSpread | None]:
    """Random origins, winners and scales for ``n`` series, and the (c, g) learned on them."""
    rng = np.random.default_rng(seed)
    kept = _origins(rng, n, steps)
    win = rng.integers(0, 2, n)
    scale = rng.uniform(0.5, 5.0, n)
    return kept, win, scale, learn_spread(kept, win, np.ones(n, dtype=bool), scale, eval_h=steps)


@pytest.mark.parametrize("seed", [0, 1])
def test_learned_spread_is_the_brute_force_grid_optimum(seed: int) -> None:
    steps = 4
    kept, win, scale, got = _learned_on_random_origins(seed, 25, steps)
    assert got == _per_level(lambda lv: _brute_force(kept, win, scale, steps, lv))
    assert got == _per_level(lambda lv: _brute_force_numpy(kept, win, scale, steps, lv))


def _brute_force_numpy(
    kept: list[spread.OriginRecord],
    win: np.ndarray,
    scale: np.ndarray,
    steps: int,
    levels: tuple[float, ...],
    *,
    partner: np.ndarray | None = None,
    weight: float = 0.0,
) -> tuple[float, float]:
    """The same objective as ``_brute_force``, vectorised over series and steps; rows with
    a ``partner`` column forecast (1 - weight) x their winner's + weight x the partner's."""
    losses = {}
    for c in SPREAD_GRID:
        for g in GROWTH_GRID:
            total = np.zeros(win.size)
            for _, actual, fcs in kept:
                mu = np.where(win[:, None] == 0, fcs[0][0], fcs[1][0])
                if partner is not None:
                    mate = np.where(partner[:, None] == 0, fcs[0][0], fcs[1][0])
                    mu = np.where(partner[:, None] >= 0, (1 - weight) * mu + weight * mate, mu)
                sd = np.where(win == 0, fcs[0][1], fcs[1][1])
                for tau in levels:
                    q = mu + norm.ppf(tau) * c * sd[:, None] * np.sqrt(1 + g * np.arange(steps))
                    d = actual - np.maximum(q, 0.0)
                    total += np.where(d >= 0, tau * d, (tau - 1) * d).sum(axis=1)
            losses[(float(c), float(g))] = float(np.mean(total / (len(kept) * steps) / scale))
    return min(losses, key=lambda k: losses[k])


def test_a_large_unit_is_scored_on_every_series() -> None:
    """600 series (more than the 400 the choice was once limited to): the learned (c, g)
    is the optimum over all of them."""
    steps = 3
    # seed 3: a 400-series sample chooses (1.2, 0.2) here
    kept, win, scale, got = _learned_on_random_origins(3, 600, steps)
    assert got == _per_level(lambda lv: _brute_force_numpy(kept, win, scale, steps, lv))


def test_shrunk_forecasts_are_scored_as_blends() -> None:
    """Rows shrunk toward a partner column (the group-best) are scored with the blended
    forecast the selection will issue (seed 18: the blend moves both levels' choice)."""
    rng = np.random.default_rng(18)
    n, steps = 200, 3
    kept = _origins(rng, n, steps)
    win = np.zeros(n, dtype=np.int64)
    partner = np.where(rng.random(n) < 0.8, 1, -1)
    scale = rng.uniform(0.5, 5.0, n)
    tested = np.ones(n, dtype=bool)
    got = learn_spread(kept, win, tested, scale, eval_h=steps, partner=partner, partner_weight=0.5)
    assert got == _per_level(
        lambda lv: _brute_force_numpy(kept, win, scale, steps, lv, partner=partner, weight=0.5)
    )
    assert got != learn_spread(kept, win, tested, scale, eval_h=steps)


def test_active_demand_stops_at_the_last_demand_and_weights_from_it() -> None:
    """RMS and share of positive demand from the first observation to the last demand; the
    weights halve every ``half_life`` periods back from that last demand."""
    y = np.array(
        [
            [np.nan, 2.0, 0.0, 4.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ]
    )
    plain = spread.active_demand(y, None)
    np.testing.assert_allclose(plain.rms[:2], [np.sqrt(20.0 / 3.0), 1.0])
    np.testing.assert_allclose(plain.share[:2], [2.0 / 3.0, 1.0])
    assert np.isnan(plain.rms[2]) and np.isnan(plain.share[2])
    weighted = spread.active_demand(y, 1.0)  # weights 0.25, 0.5, 1 on periods 1-3
    np.testing.assert_allclose(weighted.rms[0], np.sqrt((0.25 * 4.0 + 16.0) / 1.75))
    np.testing.assert_allclose(weighted.share, plain.share)


def test_skewed_errors_learn_a_different_multiplier_per_level() -> None:
    """Exponential demand around its mean: the 0.9 and 0.95 quantiles are mean x 2.30 and
    x 3.00, i.e. 1.30 and 2.00 sd above the mean, while a normal puts them 1.28 and 1.64 sd
    above: the learned c is about 1.0 at 0.9 and about 1.2 at 0.95."""
    rng = np.random.default_rng(2)
    n, steps = 400, 3
    kept: list[spread.OriginRecord] = []
    for _ in range(2):
        level = rng.uniform(5.0, 50.0, n)
        actual = rng.exponential(level[:, None], (n, steps))
        kept.append((np.ones(n, dtype=bool), actual, {0: (level[:, None] * np.ones(steps), level)}))
    win = np.zeros(n, dtype=np.int64)
    got = learn_spread(kept, win, np.ones(n, dtype=bool), np.ones(n), eval_h=steps)
    assert got is not None
    c90, c95 = got.scale
    assert c90 == pytest.approx(1.0, abs=0.15)
    assert c95 == pytest.approx(1.2, abs=0.15)
    assert c95 > c90


def test_level_weights_interpolate_in_z_and_clamp_outside() -> None:
    w = spread.level_weights((0.9, 0.95), [0.5, 0.8, 0.9, 0.925, 0.95, 0.99, 0.999])
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert w[:3, 0].tolist() == [1.0, 1.0, 1.0] and w[4:, 1].tolist() == [1.0, 1.0, 1.0]
    z = norm.ppf([0.9, 0.925, 0.95])
    assert w[3, 1] == pytest.approx((z[1] - z[0]) / (z[2] - z[0]))
    assert spread.level_weights((0.95,), [0.5, 0.99]).tolist() == [[1.0], [1.0]]


def _rare_demand_origins(n: int, steps: int) -> list[spread.OriginRecord]:
    """Two origins of demand in 8 % of the periods, of 1, 2 or 3 units, forecast at its
    mean with its sd."""
    rng = np.random.default_rng(0)
    sizes = np.array([1.0, 2.0, 3.0])
    mean = 0.08 * sizes.mean()
    sd = np.sqrt(0.08 * (sizes**2).mean() - mean**2)
    kept: list[spread.OriginRecord] = []
    for _ in range(2):
        actual = np.where(rng.random((n, steps)) < 0.08, rng.choice(sizes, (n, steps)), 0.0)
        kept.append(
            (np.ones(n, dtype=bool), actual, {0: (np.full((n, steps), mean), np.full(n, sd))})
        )
    return kept


def test_the_count_family_can_win_one_level_only() -> None:
    """A rare demand counted in whole units: the negative binomial's 0.9 quantile is 0 (its
    mass at zero), which a normal rounded up to whole units cannot give, so the count law
    wins at 0.9; at 0.95 a learned normal spread covers the sizes better. The spread keeps
    the normal at 0.95 only, and borrows its (c, g) for 0.9 where it must be normal."""
    n, steps = 300, 6
    kept = _rare_demand_origins(n, steps)
    every = np.ones(n, dtype=bool)
    got = learn_spread(
        kept,
        np.zeros(n, dtype=np.int64),
        every,
        np.ones(n),
        eval_h=steps,
        count_patterns=np.full(n, "lumpy"),
        whole_units=every,
    )
    assert got is not None
    assert got.normal_levels == (False, True)
    only = got.normal_only()
    assert only.scale == (got.scale[1],) * 2 and only.growth == (got.growth[1],) * 2
    assert only.normal_levels == (True, True)
    # without the count check every level is normal
    plain = learn_spread(kept, np.zeros(n, dtype=np.int64), every, np.ones(n), eval_h=steps)
    assert plain is not None and plain.normal_levels == (True, True)


@pytest.mark.parametrize("family", ["poisson", "negative_binomial", "normal"])
def test_step_quantiles_of_flat_rows_equal_the_per_step_ones(family: str) -> None:
    levels = np.array([0.5, 0.8, 0.95])
    mean = np.array([[2.0, 2.0, 2.0], [1.0, 3.0, 0.5], [0.0, 0.0, 0.0]])
    var = np.array([5.0, 2.0, 1.0])
    got = _step_quantiles(family, levels, mean, var)
    want = _ppf(family, levels[None, None, :], mean[:, :, None], var[:, None, None])
    np.testing.assert_array_equal(got, want)
