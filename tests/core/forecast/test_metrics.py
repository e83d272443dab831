"""Accuracy metrics against hand-computed cases and the M5 definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.forecast.metrics import (
    accuracy,
    aggregate_by,
    bias,
    coverage,
    difference_scales,
    forecast_value_added,
    mae,
    mase,
    pinball_loss,
    relative_bias,
    rmsse,
    scale_abs,
    scale_sq,
    scaled_pinball_loss,
    tracking_signal,
    wape,
)
from stockpilot.errors import InvalidDataError, InvalidParameterError

INSAMPLE = np.array([[np.nan, 2.0, 4.0, 3.0, 5.0]])  # diffs 2, -1, 2 -> |.| mean 5/3, sq mean 3
ACTUAL = np.array([[4.0, 6.0]])
FORECAST = np.array([[5.0, 3.0]])  # errors (f - y) 1, -3


def test_point_metrics_hand_computed() -> None:
    assert mae(ACTUAL, FORECAST).tolist() == [2.0]
    assert wape(ACTUAL, FORECAST).tolist() == [0.4]
    assert bias(ACTUAL, FORECAST).tolist() == [-1.0]
    assert relative_bias(ACTUAL, FORECAST).tolist() == [-0.2]
    np.testing.assert_allclose(mase(ACTUAL, FORECAST, INSAMPLE), [2.0 / (5.0 / 3.0)])
    np.testing.assert_allclose(rmsse(ACTUAL, FORECAST, INSAMPLE), [np.sqrt(5.0 / 3.0)])
    # tracking signal: sum(y - f) = 2, MAD = 2 -> 1
    assert tracking_signal(ACTUAL, FORECAST).tolist() == [1.0]


def test_m5_rmsse_and_spl_definitions() -> None:
    """M5 guidelines (Makridakis et al. 2022): RMSSE eq. (1) and SPL eq. (3), by hand.

    History 0,2,0,2 -> mean squared diff 4, mean abs diff 2. Actuals 1,3; forecast 2,2:
    MSE 1 -> RMSSE = sqrt(1/4) = 0.5. Quantile 2 at u = 0.9: losses (1-0.9)*1 = 0.1 and
    0.9*1 = 0.9, mean 0.5, scaled by 2 -> 0.25.
    """
    hist = np.array([[0.0, 2.0, 0.0, 2.0]])
    act = np.array([[1.0, 3.0]])
    q = np.array([[2.0, 2.0]])
    assert rmsse(act, q, hist).tolist() == [0.5]
    np.testing.assert_allclose(pinball_loss(act, q, 0.9), [0.5])
    np.testing.assert_allclose(scaled_pinball_loss(act, q, hist, 0.9), [0.25])
    assert coverage(act, q).tolist() == [0.5]


def test_constant_history_gives_nan_scaled_metrics() -> None:
    hist = np.array([[3.0, 3.0, 3.0]])
    assert np.isnan(mase([[3.0]], [[2.0]], hist)[0])
    assert np.isnan(rmsse([[3.0]], [[2.0]], hist)[0])


def test_validation_messages() -> None:
    with pytest.raises(InvalidDataError, match="same"):
        mae([[1.0, 2.0]], [[1.0]])
    with pytest.raises(InvalidParameterError, match="'level' parameter of pinball_loss"):
        pinball_loss([[1.0]], [[1.0]], 1.5)


def test_aggregate_by_class_weighted_wape_equals_pooled() -> None:
    act = np.array([[10.0, 10.0], [1.0, 1.0], [5.0, 5.0]])
    fc = np.array([[8.0, 8.0], [2.0, 2.0], [5.0, 6.0]])
    rep = accuracy(act, fc, np.array([[1.0, 2.0, 1.0]] * 3))
    by = rep.by_group(["A", "B", "A"])
    assert by["wape"].labels.tolist() == ["A", "B"]
    # pooled WAPE of A = (4 + 1) / (20 + 10)
    np.testing.assert_allclose(by["wape"].values, [5.0 / 30.0, 1.0])
    assert by["mae"].counts.tolist() == [2, 1]
    np.testing.assert_allclose(by["mae"].values, [(2.0 + 0.5) / 2, 1.0])


def test_fva_statistical_and_per_override_author() -> None:
    act = np.array([[10.0, 10.0], [4.0, 4.0], [6.0, 6.0]])
    naive = np.array([[6.0, 6.0], [8.0, 8.0], [6.0, 6.0]])
    stat = np.array([[9.0, 9.0], [5.0, 5.0], [7.0, 7.0]])
    over = np.array([[10.0, 10.0], [7.0, 7.0], [7.0, 7.0]])
    r = forecast_value_added(act, naive, stat, over, authors=["ann", "bob", None])
    assert r.fva_statistical.tolist() == [3.0, 3.0, -1.0]
    # the third series was not overridden: no value added by an override (NaN, not 0)
    np.testing.assert_array_equal(r.fva_override, [1.0, -2.0, np.nan])
    assert r.by_author is not None
    assert r.by_author.labels.tolist() == ["ann", "bob"]
    assert r.by_author.values.tolist() == [1.0, -2.0]
    # authors as a pandas column gives them: NaN and pandas' NA are "nobody"
    with_na = forecast_value_added(act, naive, stat, over, authors=["ann", float("nan"), pd.NA])
    assert with_na.by_author is not None and with_na.by_author.labels.tolist() == ["ann"]
    with pytest.raises(InvalidDataError, match="2 authors for 3 series"):
        forecast_value_added(act, naive, stat, over, authors=["ann", "bob"])


def test_class_wape_is_pooled_over_every_scored_series() -> None:
    # a series without demand but with a forecast of 5 adds 10 units of error to its
    # class; a forecast cell missing leaves its actual out of the volume too
    rep = accuracy(
        [[10.0, 10.0], [0.0, 0.0]], [[8.0, 12.0], [5.0, 5.0]], [[1.0, 2, 3], [1.0, 0, 1]]
    )
    by = rep.by_group(["A", "A"])["wape"]
    np.testing.assert_allclose(by.values, [14.0 / 20.0])
    assert by.counts.tolist() == [2]
    gap = accuracy([[10.0, 10.0], [10.0, 10.0]], [[8.0, np.nan], [10.0, 10.0]], [[1.0, 2, 3]] * 2)
    np.testing.assert_allclose(gap.by_group(["A", "A"])["wape"].values, [2.0 / 30.0])


def test_infinite_values_and_misshapen_histories_are_refused() -> None:
    with pytest.raises(InvalidDataError, match=r"actual holds infinite values .* rows \[0\]"):
        mae([[np.inf]], [[1.0]])
    with pytest.raises(InvalidDataError, match="forecast holds infinite"):
        wape([[1.0], [2.0]], [[1.0], [-np.inf]])
    with pytest.raises(InvalidDataError, match=r"one row per series \(2\); got shape \(1, 3\)"):
        mase([[1.0], [2.0]], [[1.0], [1.0]], [[1.0, 2.0, 3.0]])
    with pytest.raises(InvalidDataError, match="the history holds infinite"):
        rmsse([[1.0]], [[1.0]], [[1.0, np.inf]])
    # NaN stays a missing value
    assert np.isnan(mae([[np.nan]], [[1.0]])[0])


def test_explicit_leading_zeros_count_in_the_scale_nan_does_not() -> None:
    # the M5 scale starts at the first sale: give NaN before launch to get it
    assert rmsse([[3.0]], [[1.0]], [[0, 0, 0, 0, 2, 4, 2, 4.0]])[0] == pytest.approx(np.sqrt(7 / 4))
    launched = [[np.nan] * 4 + [2, 4, 2, 4.0]]
    assert rmsse([[3.0]], [[1.0]], launched)[0] == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, (3, 4), elements=st.floats(0, 100)),
    arrays(np.float64, (3, 4), elements=st.floats(0, 100)),
)
def test_metric_properties(a: np.ndarray, f: np.ndarray) -> None:
    assert (mae(a, f) >= 0).all()
    assert (mae(a, a) == 0).all()
    lo = pinball_loss(a, f, 0.9)
    assert (lo >= 0).all()
    assert (lo <= np.abs(a - f).mean(axis=1) + 1e-9).all()
    ts = tracking_signal(a, f)
    ok = ~np.isnan(ts)
    assert (np.abs(ts[ok]) <= a.shape[1] + 1e-9).all()
    perm = [2, 0, 1]
    np.testing.assert_array_equal(mae(a[perm], f[perm]), mae(a, f)[perm])


def test_aggregate_by_ignores_nan() -> None:
    g = aggregate_by([np.nan, 2.0], ["x", "x"])
    assert g.values.tolist() == [2.0] and g.counts.tolist() == [1]


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (4, 9), elements=st.one_of(st.floats(0, 50), st.just(np.nan))),
    st.integers(1, 3),
)
def test_difference_scales_are_nanmeans_of_the_lagged_differences(y: np.ndarray, m: int) -> None:
    d = y[:, m:] - y[:, :-m]
    ok = ~np.isnan(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        want_abs = np.where(ok, np.abs(d), 0.0).sum(axis=1) / ok.sum(axis=1)
        want_sq = np.where(ok, d * d, 0.0).sum(axis=1) / ok.sum(axis=1)
    got_abs, got_sq = difference_scales(y, season_length=m)
    np.testing.assert_allclose(got_abs, want_abs, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got_sq, want_sq, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(scale_abs(y, season_length=m), got_abs)
    np.testing.assert_array_equal(scale_sq(y, season_length=m), got_sq)


def test_difference_scales_of_the_insample_fixture_and_a_short_history() -> None:
    got_abs, got_sq = difference_scales(INSAMPLE)
    assert got_abs.tolist() == pytest.approx([5.0 / 3.0])
    assert got_sq.tolist() == pytest.approx([3.0])
    assert np.isnan(difference_scales([[1.0, 2.0]], season_length=2)[0]).all()
    with pytest.raises(InvalidParameterError, match="season_length"):
        difference_scales(INSAMPLE, season_length=0)
