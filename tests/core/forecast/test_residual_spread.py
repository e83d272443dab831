"""Recency-weighted residual sd (core/forecast/base.py) and its use by the selection."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.forecast.base import residual_sd, weighted_residual_sd
from stockpilot.core.forecast.selection import SelectionConfig, select_and_forecast
from stockpilot.errors import InvalidParameterError


def test_weighted_residual_sd_by_hand() -> None:
    """Errors 2, NaN, 4, 1 (periods 0-3), half-life 1: weights 1/8, -, 1/2, 1 for periods
    0, 2, 3: (4/8 + 16/2 + 1) / (1/8 + 1/2 + 1) = 9.5 / 1.625."""
    y = np.array([[12.0, np.nan, 14.0, 11.0]])
    f = np.array([[10.0, 10.0, 10.0, 10.0]])
    assert weighted_residual_sd(y, f, 1.0)[0] == pytest.approx(np.sqrt(9.5 / 1.625))
    # one error is too few
    assert np.isnan(weighted_residual_sd(y[:, :2], f[:, :2], 1.0)[0])
    with pytest.raises(ValueError):
        weighted_residual_sd(y, f, 0.0)


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(2, 40)), elements=st.floats(-50, 50)
    ),
    st.floats(0.5, 200.0),
)
def test_weighted_sd_between_the_errors_and_equal_when_flat(err: np.ndarray, hl: float) -> None:
    y, f = err, np.zeros_like(err)
    w = weighted_residual_sd(y, f, hl)
    a = np.abs(err)
    assert (w <= a.max(axis=1) * (1 + 1e-9) + 1e-12).all()
    assert (w >= a.min(axis=1) * (1 - 1e-9) - 1e-12).all()
    flat = np.full_like(err, 3.0)
    np.testing.assert_allclose(weighted_residual_sd(flat, f, hl), residual_sd(flat, f))


def test_selection_spread_follows_the_recent_error_level() -> None:
    """A series whose noise fell from sd 10 to sd 1 a year ago: the weighted spread (half-life
    4 horizons) is near the recent level, the unweighted one remembers the old noise."""
    rng = np.random.default_rng(8)
    y = 50.0 + np.concatenate([rng.normal(0, 10, (30, 80)), rng.normal(0, 1, (30, 52))], axis=1)
    cfg = SelectionConfig(learn_spread=False, outlier_k=None)
    weighted = select_and_forecast(y, 4, config=cfg)
    flat = select_and_forecast(y, 4, config=replace(cfg, spread_half_life=None))
    assert np.median(weighted.residual_sd) < 0.5 * np.median(flat.residual_sd)
    assert np.median(weighted.residual_sd) < 4.0
    with pytest.raises(InvalidParameterError):
        SelectionConfig(spread_half_life=0.0)
