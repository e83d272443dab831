"""Naive, seasonal naive and moving average: hand-computed cases and statsforecast parity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.forecast import ForecastModel, fit_predict
from stockpilot.core.forecast.models.naive import (
    _window_pass,
    _window_sses,
    moving_average_forecast,
    naive_forecast,
    seasonal_naive_forecast,
)
from stockpilot.errors import InvalidParameterError


def test_naive_hand_computed_with_late_start() -> None:
    """y = [NaN, 1, 3, 2]: forecast 2; fitted = [NaN, NaN, 1, 3]; errors 2, -1 -> sd sqrt(2.5)."""
    r = naive_forecast(np.array([[np.nan, 1.0, 3.0, 2.0]]), 3)
    assert r.mean.tolist() == [[2.0, 2.0, 2.0]]
    np.testing.assert_array_equal(r.fitted, [[np.nan, np.nan, 1.0, 3.0]])
    assert r.residual_sd[0] == pytest.approx(np.sqrt(2.5))
    assert not r.failed[0]


def test_seasonal_naive_hand_computed() -> None:
    """m = 3, y = 1..7: next season repeats the last one seen at each phase: 5, 6, 7, 5."""
    y = np.arange(1.0, 8.0)[None, :]
    r = seasonal_naive_forecast(y, 4, season_length=3)
    assert r.mean.tolist() == [[5.0, 6.0, 7.0, 5.0]]
    assert r.fitted[0, 3] == 1.0
    assert np.isnan(r.fitted[0, 2])


def test_seasonal_naive_short_series_falls_back_to_naive() -> None:
    y = np.array([[np.nan, np.nan, np.nan, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    r = seasonal_naive_forecast(y, 2, season_length=3)
    assert r.failed.tolist() == [True, False]
    assert r.mean[0].tolist() == [5.0, 5.0]
    assert r.mean[1].tolist() == [3.0, 4.0]


def test_moving_average_given_window_hand_computed() -> None:
    """w = 3 on y = [2, 4, 6, 8]: forecast (4+6+8)/3 = 6; fitted[3] = (2+4+6)/3 = 4."""
    r = moving_average_forecast(np.array([[2.0, 4.0, 6.0, 8.0]]), 2, window=3)
    assert r.mean.tolist() == [[6.0, 6.0]]
    np.testing.assert_allclose(r.fitted, [[np.nan, np.nan, np.nan, 4.0]])
    assert r.params["window"].tolist() == [3.0]


def test_moving_average_chooses_window_with_lowest_in_sample_error() -> None:
    """An alternating series 0, 2, 0, 2, ... is fitted exactly (error 0) by every even window."""
    y = np.tile([0.0, 2.0], 20)[None, :]
    r = moving_average_forecast(y, 1, windows=(3, 4))
    assert r.params["window"][0] == 4.0
    assert r.mean[0, 0] == pytest.approx(1.0)


def _assert_search_matches_own_passes(values: list[float], start: int, score_shift: int) -> None:
    y = np.array(values)
    s = min(start, y.size - 1)
    windows = np.array([1, 2, 3, 5, 8, 13], dtype=np.int64)
    score_from = s + score_shift
    got = _window_sses(y, s, windows, windows.size, score_from)
    for j, w in enumerate(windows):
        own, _ = _window_pass(y, s, int(w), score_from, np.full(y.size, np.nan))
        assert got[j] == own


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.floats(0.0, 50.0), st.just(float("nan"))), min_size=1, max_size=60
    ),
    start=st.integers(0, 10),
    score_shift=st.integers(0, 12),
)
def test_window_search_sses_equal_each_windows_own_pass(
    values: list[float], start: int, score_shift: int
) -> None:
    """The one-pass window search gives every window exactly (bit for bit) the SSE of that
    window's own pass, with missing values, a late start and any scoring start."""
    _assert_search_matches_own_passes(values, start, score_shift)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=80),
    start=st.integers(0, 10),
    score_shift=st.integers(0, 12),
)
def test_window_search_without_gaps_is_bit_identical_too(
    values: list[float], start: int, score_shift: int
) -> None:
    """Rows without a missing period take the search's faster path: still every window's
    own SSE, bit for bit, and the rolling means' SSE computed directly."""
    _assert_search_matches_own_passes(values, start, score_shift)
    y = np.array(values)
    s = min(start, y.size - 1)
    score_from = s + score_shift
    for w in (1, 3, 8):
        fitted = np.full(y.size, np.nan)
        sse, _ = _window_pass(y, s, w, score_from, fitted)
        ts = np.arange(s + w, y.size)
        means = np.array([y[t - w : t].mean() for t in ts])
        np.testing.assert_allclose(fitted[ts], means, rtol=1e-9, atol=1e-9)
        scored = ts >= score_from
        want = ((y[ts] - means)[scored] ** 2).sum()
        assert sse == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_all_nan_row_fails_and_forecasts_zero() -> None:
    y = np.array([[np.nan, np.nan, np.nan], [1.0, 2.0, 3.0]])
    for model in (ForecastModel.NAIVE, ForecastModel.SEASONAL_NAIVE, ForecastModel.MOVING_AVERAGE):
        r = fit_predict(model, y, 2, season_length=2)
        assert r.failed.tolist() == [True, False]
        assert r.mean[0].tolist() == [0.0, 0.0]


def test_bad_parameters_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="'h' parameter"):
        fit_predict("naive", np.ones((2, 3)), 0)
    with pytest.raises(InvalidParameterError, match="'model' parameter of fit_predict"):
        fit_predict("nope", np.ones((2, 3)), 1)
    with pytest.raises(InvalidParameterError, match="'window'"):
        moving_average_forecast(np.ones((2, 3)), 1, window=0)


def test_statsforecast_naive_and_seasonal_naive_agree() -> None:
    sf = pytest.importorskip("statsforecast.models")
    rng = np.random.default_rng(3)
    y = rng.poisson(5.0, size=(4, 30)).astype(float)
    ours = fit_predict("naive", y, 5).mean
    ours_s = fit_predict("seasonal_naive", y, 8, season_length=7).mean
    for i in range(4):
        ref = sf.Naive().forecast(y[i], 5)["mean"]
        np.testing.assert_allclose(ours[i], ref, atol=1e-9)
        ref_s = sf.SeasonalNaive(season_length=7).forecast(y[i], 8)["mean"]
        np.testing.assert_allclose(ours_s[i], ref_s, atol=1e-9)
