"""The M4 seasonality test and its use as the gate of seasonal candidates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.forecast.base import ForecastModel as M
from stockpilot.core.forecast.seasonality import MIN_SEASONS, autocorrelation, seasonality_test
from stockpilot.core.forecast.selection import SelectionConfig, select_and_forecast
from stockpilot.errors import InvalidParameterError

#: Box, Jenkins and Reinsel, "Time Series Analysis", series G: monthly international airline
#: passengers (thousands), 1949-1960 (R's ``AirPassengers``).
AIR_PASSENGERS = np.array(
    [
        *(112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118),
        *(115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140),
        *(145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166),
        *(171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194),
        *(196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201),
        *(204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229),
        *(242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278),
        *(284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306),
        *(315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336),
        *(340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337),
        *(360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405),
        *(417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432),
    ],
    dtype=float,
)


def test_box_jenkins_series_g_autocorrelations_match_r_acf() -> None:
    # R: round(acf(AirPassengers, lag.max = 12, plot = FALSE)$acf[2:13], 3)
    expected = [0.948, 0.876, 0.807, 0.753, 0.714, 0.682, 0.663, 0.656, 0.671, 0.703, 0.743, 0.760]
    assert autocorrelation(AIR_PASSENGERS, 12).round(3)[0].tolist() == expected


def test_m4_test_calls_series_g_seasonal() -> None:
    # r_12 = 0.760 against z / 12 * sqrt(1 + 2 * sum(r_1..r_11 ^ 2)) = z x 0.306:
    # 0.503 at 90 % (z = 1.645), 0.599 at 95 %, 0.787 at 99 %
    assert seasonality_test(AIR_PASSENGERS, 12).tolist() == [True]
    assert seasonality_test(AIR_PASSENGERS, 12, level=0.95).tolist() == [True]
    assert seasonality_test(AIR_PASSENGERS, 12, level=0.99).tolist() == [False]


def _direct_autocorrelation(row: np.ndarray, lag: int) -> float:
    """r_lag written out over the observed values (NaN pairs dropped)."""
    x = row[~np.isnan(row)].mean()
    d = np.where(np.isnan(row), 0.0, row - x)
    return float(np.sum(d[:-lag] * d[lag:]) / np.sum(d * d))


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (3, 30), elements=st.floats(0, 50, allow_nan=False)),
    st.lists(st.integers(0, 12), min_size=3, max_size=3),
    st.integers(1, 8),
)
def test_autocorrelation_equals_the_written_out_sum(
    y: np.ndarray, starts: list[int], lag: int
) -> None:
    y = y.copy()
    for i, s in enumerate(starts):
        y[i, :s] = np.nan
    got = autocorrelation(y, lag)[:, lag - 1]
    for i in range(3):
        d = np.nan_to_num(y[i] - np.nanmean(y[i]))
        if np.sum(d * d) <= 1e-9:
            assert np.isnan(got[i])
        else:
            assert got[i] == pytest.approx(_direct_autocorrelation(y[i], lag), abs=1e-9)
    # each row on its own: the order of the series does not matter
    assert np.array_equal(autocorrelation(y[::-1], lag)[:, lag - 1], got[::-1], equal_nan=True)


def _holiday_peaks(n: int, m: int, seed: int = 0) -> np.ndarray:
    """A flat series with a 3-period peak at the end of every season, plus noise."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0.0, 2.0, n)
    return 100.0 + 150.0 * (t % m >= m - 3) + noise


def test_a_series_needs_three_seasons() -> None:
    y = _holiday_peaks(MIN_SEASONS * 12, 12)
    assert seasonality_test(y, 12).tolist() == [True]
    assert seasonality_test(y[1:], 12).tolist() == [False]  # one period short
    launched_late = np.r_[np.nan, y]  # a leading NaN is not an observation
    assert seasonality_test(launched_late, 12).tolist() == [True]
    assert seasonality_test(np.r_[np.nan, y[1:]], 12).tolist() == [False]


def test_a_smooth_weekly_cycle_needs_more_history_than_a_holiday_peak() -> None:
    # a smooth cycle raises r_1 .. r_51 as well, which widens the limit of r_52
    t = np.arange(208)
    sine = 100.0 + 40.0 * np.sin(2 * np.pi * t / 52) + np.random.default_rng(1).normal(0, 8, 208)
    assert seasonality_test(_holiday_peaks(182, 52), 52).tolist() == [True]
    assert seasonality_test(np.vstack([np.r_[[np.nan] * 26, sine[:182]], sine]), 52).tolist() == [
        False,
        True,
    ]


def test_no_season_constant_or_too_short_is_never_seasonal() -> None:
    assert seasonality_test(AIR_PASSENGERS, 1).tolist() == [False]
    assert seasonality_test(np.full(60, 4.0), 12).tolist() == [False]
    assert seasonality_test(AIR_PASSENGERS[:35], 12).tolist() == [False]


def test_white_noise_is_called_seasonal_at_about_the_test_level() -> None:
    # two-sided 90 %: about 10 % of long white-noise series pass by chance; on short ones
    # the test is conservative (r_12 is biased towards 0)
    rng = np.random.default_rng(7)
    long = float(seasonality_test(rng.normal(100, 10, size=(4000, 600)), 12).mean())
    short = float(seasonality_test(rng.normal(100, 10, size=(4000, 60)), 12).mean())
    assert 0.07 < long < 0.11
    assert 0.01 < short < long
    strict = float(seasonality_test(rng.normal(100, 10, size=(4000, 600)), 12, level=0.99).mean())
    assert strict < 0.015


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(InvalidParameterError, match="level"):
        seasonality_test(AIR_PASSENGERS, 12, level=1.0)
    with pytest.raises(InvalidParameterError, match="season_length"):
        seasonality_test(AIR_PASSENGERS, 0)
    with pytest.raises(InvalidParameterError, match="max_lag"):
        autocorrelation(AIR_PASSENGERS, 0)
    with pytest.raises(InvalidParameterError, match="seasonality_level"):
        SelectionConfig(seasonality_level=0.0)


GATE_CFG = SelectionConfig(
    min_train=8,
    smooth_models=(M.NAIVE, M.MOVING_AVERAGE),
    seasonal_models=(M.SEASONAL_NAIVE,),
    ensemble_smooth=False,
    learn_spread=False,
)


def test_weekly_origins_shorter_than_a_season_need_the_test_to_pass() -> None:
    # h = 13 and 2 origins judge 26 weeks of a 52-week season: only a series whose history
    # before the earliest origin shows the season (M4 test) gets seasonal candidates
    flat = 100.0 + np.random.default_rng(2).normal(0.0, 2.0, 208)
    y = np.round(np.vstack([_holiday_peaks(208, 52), flat]))
    r = select_and_forecast(y, 13, season_length=52, config=GATE_CFG)
    assert [" seasonal candidates" in x for x in r.reason] == [True, False]
    assert r.seasonal.tolist() == [True, False]
    ungated = select_and_forecast(
        y, 13, season_length=52, config=replace(GATE_CFG, seasonality_level=None)
    )
    assert [" seasonal candidates" in x for x in ungated.reason] == [True, True]


def test_origins_covering_a_season_judge_the_seasonal_models_themselves() -> None:
    # monthly, h = 12, 2 origins: 24 months of out-of-sample error cover the season, so a
    # series the test calls non-seasonal still gets the seasonal candidates
    y = np.round(np.random.default_rng(3).normal(100, 8, size=(1, 72)))
    assert seasonality_test(y[:, :48], 12).tolist() == [False]
    r = select_and_forecast(y, 12, season_length=12, config=GATE_CFG)
    assert " seasonal candidates" in r.reason[0]
