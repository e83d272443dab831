"""Group seasonal index (selection rule 8): estimate, out-of-sample decision, and its use."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_seasonality import AIR_PASSENGERS

from stockpilot.core.classify import demand_pattern, lifecycle_stage
from stockpilot.core.forecast.group_season import (
    INDEX_FLOOR,
    default_smoothing,
    group_season,
    group_seasonal_index,
)
from stockpilot.core.forecast.models.intermittent import tsb_forecast, tsb_origin_forecasts
from stockpilot.core.forecast.selection import (
    SelectionConfig,
    SelectionResult,
    select_and_forecast,
)
from stockpilot.errors import InvalidDataError, InvalidParameterError

#: R 4.x: ``round(decompose(AirPassengers, type = "multiplicative")$figure, 7)``.
R_DECOMPOSE_AIR_PASSENGERS = np.array(
    [
        *(0.9102304, 0.8836253, 1.0073663, 0.9759060, 0.9813780, 1.1127758),
        *(1.2265555, 1.2199110, 1.0604919, 0.9217572, 0.8011781, 0.8988244),
    ]
)

#: An annual wave: a peak at week 48, a trough at week 22.
WEEKLY_SEASON = 1.0 + 0.6 * np.cos(2 * np.pi * (np.arange(52) - 48) / 52)


def _tsb(history: np.ndarray, ends: np.ndarray, divisor: np.ndarray | None) -> np.ndarray:
    return tsb_origin_forecasts(history, ends, alpha_d=0.1, alpha_p=0.1, divisor=divisor)


def test_box_jenkins_series_g_index_matches_r_decompose() -> None:
    # R's decompose averages the ratios to the centred 2 x 12 moving average over the
    # periods where it fits; ours also divides the first and last six months by the nearest
    # centred value, which moves no month's index by more than 0.6 %
    index = group_seasonal_index(AIR_PASSENGERS[None, :], 12)
    assert index is not None
    np.testing.assert_allclose(index, R_DECOMPOSE_AIR_PASSENGERS, rtol=0.006)
    assert np.argmax(index) == np.argmax(R_DECOMPOSE_AIR_PASSENGERS) == 6  # July


def test_exact_multiplicative_season_is_recovered_whatever_the_level_and_launch() -> None:
    season = np.array([0.5, 1.0, 2.0, 0.5])
    levels = np.array([[1.0], [7.0], [40.0]])
    y = np.tile(season, 5)[None, :] * levels
    y[2, :8] = np.nan  # launched two seasons later
    index = group_seasonal_index(y, 4)
    assert index is not None
    np.testing.assert_allclose(index, season, rtol=1e-12)


def test_smoothing_averages_neighbouring_phases_circularly() -> None:
    season = np.array([0.4, 0.8, 1.6, 1.2])
    y = np.tile(season, 6)[None, :]
    index = group_seasonal_index(y, 4, smoothing=1)
    assert index is not None
    expected = (np.roll(season, 1) + season + np.roll(season, -1)) / 3
    np.testing.assert_allclose(index, expected / expected.mean(), rtol=1e-12)


def test_a_phase_of_no_demand_is_floored() -> None:
    y = np.tile([0.0, 10.0, 10.0, 10.0], (2, 5))
    index = group_seasonal_index(y, 4)
    assert index is not None
    # ratios 0, 4/3, 4/3, 4/3: the empty week is floored at 0.1, then all scaled to mean 1
    np.testing.assert_allclose(index, np.array([INDEX_FLOOR, 4 / 3, 4 / 3, 4 / 3]) / 1.025)
    assert index.mean() == pytest.approx(1.0)


def test_no_index_without_a_full_season_or_without_demand() -> None:
    assert group_seasonal_index(np.ones((3, 12)), 12) is None  # 2 x 12 average needs 13
    assert group_seasonal_index(np.ones((3, 13)), 12) is not None
    assert group_seasonal_index(np.zeros((3, 40)), 12) is None
    assert group_seasonal_index(np.full((3, 40), np.nan), 12) is None


def test_parameters_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match="season_length"):
        group_seasonal_index(np.ones((1, 30)), 1)
    with pytest.raises(InvalidParameterError, match="smoothing"):
        group_seasonal_index(np.ones((1, 30)), 4, smoothing=-1)
    with pytest.raises(InvalidParameterError, match="min_gain"):
        group_season(np.ones((1, 30)), 4, [20], 4, _tsb, min_gain=1.0)
    with pytest.raises(InvalidParameterError, match="group_season_min_gain"):
        SelectionConfig(group_season_min_gain=-0.1)
    with pytest.raises(InvalidParameterError, match="group_season_smoothing"):
        SelectionConfig(group_season_smoothing=-2)


def test_default_smoothing_by_season_length() -> None:
    assert [default_smoothing(m) for m in (4, 7, 12, 52, 364)] == [0, 0, 0, 1, 1]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.01, 1000.0),
    smoothing=st.integers(0, 2),
)
def test_index_has_mean_one_and_ignores_scale_and_row_order(
    seed: int, scale: float, smoothing: int
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, 5.0, size=(6, 30)) * np.tile([1.0, 3.0, 0.5, 1.5, 1.0], 6)
    index = group_seasonal_index(y, 5, smoothing=smoothing)
    assert index is not None
    assert index.mean() == pytest.approx(1.0)
    assert (index > 0).all()
    scaled = y * rng.uniform(0.1, 10.0, size=(6, 1)) * scale
    np.testing.assert_allclose(group_seasonal_index(scaled, 5, smoothing=smoothing), index)
    shuffled = y[rng.permutation(6)]
    np.testing.assert_allclose(group_seasonal_index(shuffled, 5, smoothing=smoothing), index)


def _weekly_group(n: int, weeks: int, seed: int) -> np.ndarray:
    """``n`` series sharing a year-end peak, each with its own level and noise."""
    rng = np.random.default_rng(seed)
    season = WEEKLY_SEASON[np.arange(weeks) % 52]
    level = rng.uniform(5.0, 50.0, size=(n, 1))
    return np.round(level * season * rng.gamma(20.0, 1 / 20.0, size=(n, weeks)))


def test_a_shared_season_is_applied_only_when_it_forecasts_better() -> None:
    y = _weekly_group(40, 90, seed=1)
    seasonal = group_season(y, 52, [64, 77], 13, _tsb)
    assert seasonal.applied and seasonal.gain > 0.1
    np.testing.assert_allclose(seasonal.factors(0, 52), seasonal.index)
    assert abs(int(np.argmax(seasonal.index)) - 48) <= 2
    assert abs(int(np.argmin(seasonal.index)) - 22) <= 2
    flat = np.random.default_rng(2).poisson(20.0, size=(40, 90)).astype(float)
    plain = group_season(flat, 52, [64, 77], 13, _tsb)
    assert not plain.applied and np.isfinite(plain.gain)
    np.testing.assert_array_equal(plain.index, np.ones(52))
    # the test needs a full season before the earliest origin
    short = group_season(y[:, :60], 52, [34, 47], 13, _tsb)
    assert not short.applied and np.isnan(short.gain)


def test_selection_forecasts_the_adjusted_history_times_the_index() -> None:
    y = _weekly_group(40, 90, seed=3)
    pattern, life = demand_pattern(y).patterns, lifecycle_stage(y)
    on = select_and_forecast(y, 13, season_length=52, patterns=pattern, lifecycle=life)
    season = group_season(y, 52, [64, 77], 13, _tsb)
    factor = on.season_factor[0]
    assert on.season_factor.shape == (40, 13) and (on.season_factor == factor).all()
    assert not np.allclose(factor, 1.0)
    assert all("group seasonal index" in r for r in on.reason)
    np.testing.assert_allclose(factor, season.factors(90, 103))
    # by hand: the rolling origins score the history adjusted by the index known before
    # the earliest origin, the winners are refitted on the history adjusted by the index
    # of the whole history, and their forecasts are multiplied by that index
    off_cfg = SelectionConfig(group_season=False)

    def plain(history: np.ndarray) -> SelectionResult:
        return select_and_forecast(
            history, 13, season_length=52, config=off_cfg, patterns=pattern, lifecycle=life
        )

    assert season.origin_index is not None
    seen = plain(y / season.origin_factors(0, 90))
    np.testing.assert_allclose(on.scores, seen.scores)
    whole = plain(y / season.factors(0, 90))
    assert not np.allclose(on.scores, whole.scores, equal_nan=True)
    np.testing.assert_array_equal(on.model, seen.model)
    np.testing.assert_array_equal(on.model, whole.model)
    np.testing.assert_allclose(on.mean, whole.mean * factor)
    # the refit's residual sd is that of the history adjusted by the whole index
    np.testing.assert_allclose(on.residual_sd, whole.residual_sd)
    # turned off, nothing is adjusted
    raw = select_and_forecast(y, 13, season_length=52, config=off_cfg, patterns=pattern)
    np.testing.assert_array_equal(raw.season_factor, np.ones((40, 13)))
    assert not any("group seasonal index" in r for r in raw.reason)


def test_each_season_group_gets_its_own_index_and_its_own_decision() -> None:
    # a winter peak, the same wave half a year later, and flat demand
    winter = _weekly_group(30, 95, seed=4)
    summer = np.roll(_weekly_group(30, 95 + 26, seed=5), -26, axis=1)[:, :95]
    flat = np.random.default_rng(6).poisson(20.0, size=(30, 95)).astype(float)
    y = np.vstack([winter, summer, flat])
    groups = np.repeat(["winter", "summer", "basics"], 30)
    r = select_and_forecast(y, 13, season_length=52, season_groups=groups)
    w, s = r.season_factor[0], r.season_factor[30]
    assert (r.season_factor[:30] == w).all() and (r.season_factor[30:60] == s).all()
    # forecast weeks 95-107 hold phases 43-51 and 0-3: winter's peak, summer's trough
    assert w[4:8].min() > 1.3 and s[4:8].max() < 0.7
    np.testing.assert_array_equal(r.season_factor[60:], np.ones((30, 13)))
    assert not any("group seasonal index" in x for x in r.reason[60:])
    # one group for all: the mixed index
    mixed = select_and_forecast(y, 13, season_length=52)
    assert not np.allclose(mixed.season_factor[0], w)
    with pytest.raises(InvalidDataError, match="season groups"):
        select_and_forecast(y, 13, season_length=52, season_groups=groups[:10])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), zeros=st.floats(0.0, 0.9), late=st.integers(0, 20))
def test_tsb_at_origins_equals_tsb_refitted_at_each_origin(
    seed: int, zeros: float, late: int
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.poisson(4.0, size=(5, 30)) * (rng.uniform(size=(5, 30)) >= zeros)
    y = y.astype(float)
    y[1, :late] = np.nan
    y[2, 7] = np.nan  # a missing period
    divisor = rng.uniform(0.5, 2.0, size=30)
    ends = np.array([3, 17, 24, 30])
    got = tsb_origin_forecasts(y, ends, alpha_d=0.1, alpha_p=0.2, divisor=divisor)
    for k, end in enumerate(ends):
        fit = tsb_forecast(y[:, :end] / divisor[:end], 1, alpha_d=0.1, alpha_p=0.2)
        np.testing.assert_allclose(got[:, k], fit.mean[:, 0], rtol=1e-12, atol=1e-12)


def test_smoothing_wider_than_a_season_flattens_the_index() -> None:
    # a window of 2 x 5 + 1 phases is capped at the season (3 phases): every phase
    # gets the mean
    y = np.tile([0.4, 0.8, 1.6], 6)[None, :]
    np.testing.assert_allclose(group_seasonal_index(y, 3, smoothing=5), np.ones(3))


def test_a_group_needs_ten_series_with_demand() -> None:
    y = _weekly_group(40, 90, seed=7)
    assert group_season(y[:10], 52, [64, 77], 13, _tsb).applied
    few = group_season(y[:9], 52, [64, 77], 13, _tsb)
    assert not few.applied and np.isnan(few.gain)
    assert group_season(y[:9], 52, [64, 77], 13, _tsb, min_series=9).applied
    with pytest.raises(InvalidParameterError, match="group_season_min_series"):
        SelectionConfig(group_season_min_series=0)


def test_one_spike_in_one_series_is_not_a_season() -> None:
    # a steady seller with one bulk order: alone, its "group" index would turn the spike
    # into a peak repeated a year later
    y = np.full((1, 60), 5.0)
    y[0, 50] = 5000.0
    r = select_and_forecast(y, 2, season_length=52)
    np.testing.assert_array_equal(r.season_factor, np.ones((1, 2)))
    assert "group seasonal index" not in r.reason[0]
    assert r.season_groups[0].season.applied is False
