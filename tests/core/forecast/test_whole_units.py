"""Quantiles in whole units (quantiles.period_quantiles, spread.learn_spread)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import norm

from stockpilot.core.forecast import spread
from stockpilot.core.forecast.quantiles import period_quantiles, whole_unit_series
from stockpilot.core.forecast.spread import (
    GROWTH_GRID,
    SPREAD_GRID,
    SPREAD_LEVELS,
    LevelSpread,
    learn_spread,
)


def test_whole_unit_series_needs_whole_numbers_and_an_observation() -> None:
    hist = np.array([[0.0, 3.0, np.nan], [0.0, 2.5, 1.0], [np.nan, np.nan, np.nan]])
    assert whole_unit_series(hist).tolist() == [True, False, False]


def test_quantiles_of_whole_unit_demand_are_rounded_up() -> None:
    mean = np.array([[1.2, 0.3], [1.2, 0.3]])
    sd = np.array([0.8, 0.8])
    hist = np.array([[0.0, 2.0, 1.0], [0.0, 2.5, 1.0]])  # counts; a measured quantity
    plain = period_quantiles(mean, sd, [0.9, 0.95]).values
    got = period_quantiles(mean, sd, [0.9, 0.95], history=hist).values
    assert np.array_equal(got[0], np.ceil(plain[0]))
    assert np.array_equal(got[1], plain[1])  # not counted in whole units: unchanged
    assert got[0, 0].tolist() == [3.0, 3.0]  # 1.2 + 1.28 x 0.8 = 2.23, 1.2 + 1.64 x 0.8 = 2.52


def test_a_whole_quantile_stays_and_the_override_wins() -> None:
    hist = np.array([[1.0, 3.0]])
    # mean 3 with no spread: 3 (floating-point noise must not round it up to 4)
    exact = period_quantiles([[3.0]], [0.0], [0.9], history=hist).values
    assert exact.tolist() == [[[3.0]]]
    off = period_quantiles([[1.2]], [0.8], [0.9], history=hist, whole_units=False).values
    assert off[0, 0, 0] == pytest.approx(1.2 + norm.ppf(0.9) * 0.8)
    on = period_quantiles([[1.2]], [0.8], [0.9], whole_units=True).values
    assert on.tolist() == [[[3.0]]]


def _counts(rng: np.random.Generator, n: int, steps: int) -> list[spread.OriginRecord]:
    """Two origins, one candidate column, small Poisson counts around a noisy forecast."""
    kept: list[spread.OriginRecord] = []
    for _ in range(2):
        level = rng.uniform(0.2, 3.0, n)
        actual = rng.poisson(level[:, None], (n, steps)).astype(np.float64)
        fc = level[:, None] * rng.uniform(0.7, 1.3, (n, 1)) * np.ones(steps)
        kept.append((np.ones(n, dtype=bool), actual, {0: (fc, np.sqrt(level))}))
    return kept


def _brute_force(
    kept: list[spread.OriginRecord], scale: np.ndarray, steps: int, whole: bool
) -> LevelSpread:
    """The grid optimum of the mean scaled pinball loss at each level, with the quantiles
    rounded up to whole units when ``whole``."""
    best = [_brute_force_level(kept, scale, steps, whole, tau) for tau in SPREAD_LEVELS]
    return LevelSpread(SPREAD_LEVELS, tuple(b[0] for b in best), tuple(b[1] for b in best))


def _brute_force_level(
    kept: list[spread.OriginRecord], scale: np.ndarray, steps: int, whole: bool, tau: float
) -> tuple[float, float]:
    losses = {}
    for c in SPREAD_GRID:
        for g in GROWTH_GRID:
            total = np.zeros(scale.size)
            for _, actual, fcs in kept:
                mu, sd = fcs[0]
                q = mu + norm.ppf(tau) * c * sd[:, None] * np.sqrt(1 + g * np.arange(steps))
                q = np.maximum(q, 0.0)
                if whole:
                    q = np.ceil(q - 1e-9)
                d = actual - q
                total += np.where(d >= 0, tau * d, (tau - 1) * d).sum(axis=1)
            losses[(float(c), float(g))] = float(np.mean(total / (len(kept) * steps) / scale))
    return min(losses, key=lambda k: losses[k])


def test_spread_of_whole_unit_series_is_learned_on_rounded_quantiles() -> None:
    rng = np.random.default_rng(11)
    n, steps = 200, 4
    kept = _counts(rng, n, steps)
    win = np.zeros(n, dtype=np.int64)
    scale = rng.uniform(0.5, 2.0, n)
    every = np.ones(n, dtype=bool)
    rounded = _brute_force(kept, scale, steps, whole=True)
    assert rounded != _brute_force(kept, scale, steps, whole=False)  # the case tells them apart
    got = learn_spread(kept, win, every, scale, eval_h=steps, whole_units=every)
    assert got == rounded
    plain = learn_spread(kept, win, every, scale, eval_h=steps)
    assert plain == _brute_force(kept, scale, steps, whole=False)


def test_lead_time_quantiles_of_whole_unit_demand_are_whole() -> None:
    """Demand over lead time of a series counted in whole units is a whole number: its
    normal quantile 400 + 1.645 x 60 = 498.7 is issued as 499; a measured quantity keeps
    498.7, and ``whole_units=False`` turns the rounding off."""
    from stockpilot.core.forecast.quantiles import lead_time_quantiles

    hist = np.array([[90.0, 110.0, 100.0], [90.5, 110.0, 100.0]])
    got = lead_time_quantiles([100.0, 100.0], [30.0, 30.0], [0.95], lead_time=4, history=hist)
    assert got.values[0, 0] == 499.0
    assert got.values[1, 0] == pytest.approx(400 + norm.ppf(0.95) * 60)
    off = lead_time_quantiles(
        [100.0], [30.0], [0.95], lead_time=4, history=hist[:1], whole_units=False
    )
    assert off.values[0, 0] == pytest.approx(400 + norm.ppf(0.95) * 60)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        (4, 7),
        elements=st.one_of(st.integers(0, 9).map(float), st.just(np.nan), st.just(2.5)),
    )
)
def test_whole_unit_series_is_every_observed_value_whole(y: np.ndarray) -> None:
    seen = ~np.isnan(y)
    want = (~seen | (y == np.round(y))).all(axis=1) & seen.any(axis=1)
    np.testing.assert_array_equal(whole_unit_series(y), want)
