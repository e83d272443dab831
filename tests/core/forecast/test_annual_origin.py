"""The annual origin of the spread learning (selection rule 6): the same season a year
before the forecast origin informs (c, g), never the method choice."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.forecast.selection import (
    SelectionConfig,
    _annual_origin,
    select_and_forecast,
)
from stockpilot.errors import InvalidParameterError

OFF = SelectionConfig(annual_spread_origin=False)


def _seasonal_burst(seed: int, *, t: int = 70, year: int = 30, h: int = 4) -> np.ndarray:
    """60 series at level 50 with noise sd 3, whose window a year before the forecast
    window (periods t - year to t - year + h) was volatile (noise sd 15)."""
    rng = np.random.default_rng(seed)
    y = 50.0 + rng.normal(0.0, 3.0, (60, t))
    y[:, t - year : t - year + h] += rng.normal(0.0, 15.0, (60, h))
    return np.round(np.clip(y, 0.0, None), 3)


def test_a_volatile_season_a_year_ago_widens_the_learned_spread() -> None:
    """The rolling origins (the last two horizons) are calm, so without the annual origin
    the learned multiplier of the residual sd (which the old burst inflates) is small;
    the same season a year ago was volatile, and the annual origin scores it: the learned
    multiplier grows. The forecasts do not move."""
    y = _seasonal_burst(11)
    on = select_and_forecast(y, 4, periods_per_year=30)
    off = select_and_forecast(y, 4, periods_per_year=30, config=OFF)
    assert (on.distribution == "normal").all() and (off.distribution == "normal").all()
    np.testing.assert_array_equal(on.mean, off.mean)
    np.testing.assert_array_equal(on.model, off.model)
    np.testing.assert_array_equal(on.residual_sd, off.residual_sd)
    # measured: multiplier c 1.5 with the annual origin, 0.5 without
    assert np.median(on.sd_path / off.sd_path) > 2.0
    # without a year length there is no annual origin
    plain = select_and_forecast(y, 4)
    np.testing.assert_array_equal(plain.sd_path, off.sd_path)


@pytest.mark.parametrize(("h", "n_origins"), [(6, 2), (12, 1), (12, 2), (4, 3)])
def test_no_annual_origin_where_a_rolling_origin_is_a_year_before(h: int, n_origins: int) -> None:
    """Monthly data with a 6- or 12-month horizon (or 3 origins of 4 months) already has
    a rolling origin 12 months before the forecast origin: nothing is added."""
    cfg = SelectionConfig(n_origins=n_origins)
    assert _annual_origin(60, [60 - h * k for k in range(1, n_origins + 1)], 12, None, cfg) is None
    y = _seasonal_burst(5, t=60, year=12, h=h)
    on = select_and_forecast(y, h, season_length=12, config=cfg)
    off = select_and_forecast(
        y, h, season_length=12, config=replace(cfg, annual_spread_origin=False)
    )
    np.testing.assert_array_equal(on.sd_path, off.sd_path)


def test_annual_origin_rules() -> None:
    cfg = SelectionConfig()
    assert _annual_origin(100, [87, 74], 1, 52, cfg) == 48
    assert _annual_origin(100, [87, 74], 52, None, cfg) == 48  # the season's length
    assert _annual_origin(100, [87, 74], 1, None, cfg) is None  # no year length
    assert _annual_origin(53, [40, 27], 1, 52, cfg) is None  # too little history
    assert _annual_origin(100, [87, 74], 1, 52, OFF) is None
    assert _annual_origin(100, [87, 74], 1, 52, replace(cfg, learn_spread=False)) is None
    with pytest.raises(InvalidParameterError):
        select_and_forecast(np.ones((2, 30)), 3, periods_per_year=0)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(0.3, 20.0),
    h=st.integers(2, 5),
    year=st.integers(8, 16),
)
def test_the_annual_origin_never_changes_the_method_choice(
    seed: int, rate: float, h: int, year: int
) -> None:
    """Only the spread learns from the annual origin: winners, scores, origins used and
    forecasts are those of the selection without it, for any panel; and the learned
    spreads and families do not depend on the order of the series."""
    rng = np.random.default_rng(seed)
    y = rng.poisson(rate * rng.uniform(0.2, 1.5, (24, 1)), (24, 40)).astype(float)
    y[:4, :10] = np.nan  # younger series
    on = select_and_forecast(y, h, periods_per_year=year)
    off = select_and_forecast(y, h, periods_per_year=year, config=OFF)
    np.testing.assert_array_equal(on.model, off.model)
    np.testing.assert_array_equal(on.mean, off.mean)
    np.testing.assert_array_equal(on.scores, off.scores)
    np.testing.assert_array_equal(on.n_origins_used, off.n_origins_used)
    assert np.isfinite(on.sd_path).all()
    perm = rng.permutation(y.shape[0])
    shuffled = select_and_forecast(y[perm], h, periods_per_year=year)
    levels = [0.8, 0.9, 0.95, 0.99]
    np.testing.assert_allclose(shuffled.sd_paths(levels), on.sd_paths(levels)[perm])
    np.testing.assert_array_equal(shuffled.level_families(levels), on.level_families(levels)[perm])
