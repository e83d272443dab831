"""Outlier correction of the history the models fit (core/forecast/outliers.py) and its use
in the selection (rule 7)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.forecast.base import ForecastModel as M
from stockpilot.core.forecast.outliers import MIN_POSITIVE, cap_outliers
from stockpilot.core.forecast.selection import SelectionConfig, select_and_forecast
from stockpilot.errors import InvalidParameterError


def test_hampel_limit_by_hand() -> None:
    """The limit is the Hampel identifier's upper bound, median + k * 1.4826 MAD (Davies and
    Gather 1993; Pearson 2002), over the positive values, with the MAD term floored at half
    the median. Sizes 4, 8, 6, 5, 7, 30, 6 (zeros are not sizes): median 6; absolute
    deviations 2, 2, 0, 1, 1, 24, 0 -> MAD 1 -> 1.4826; floor 3 wins; limit 6 + 3 * 3 = 15."""
    y = np.array([[4.0, 0.0, 8.0, 6.0, 0.0, 5.0, 7.0, 30.0, 6.0]])
    r = cap_outliers(y, k=3.0)
    assert r.limit.tolist() == [15.0]
    assert r.values.tolist() == [[4.0, 0.0, 8.0, 6.0, 0.0, 5.0, 7.0, 15.0, 6.0]]
    assert r.capped.tolist() == [1]
    # a wide spread: sizes 10, 20, ..., 90 and 400: median 55, MAD 25 -> 37.065 > 27.5
    wide = np.array([[10.0, 20, 30, 40, 50, 60, 70, 80, 90, 400]])
    w = cap_outliers(wide, k=3.0)
    assert w.limit[0] == pytest.approx(55.0 + 3.0 * 1.4826 * 25.0)
    assert w.values[0, -1] == pytest.approx(166.195)


def test_too_few_sizes_nan_and_bad_k() -> None:
    few = np.array([[0.0, 0.0, 1.0, 0.0, 50.0, 0.0, 1.0, 1.0, np.nan]])  # 4 sizes
    assert few[0, ~np.isnan(few[0])].astype(bool).sum() < MIN_POSITIVE
    r = cap_outliers(few)
    np.testing.assert_array_equal(r.values, few)
    assert np.isinf(r.limit[0]) and r.capped[0] == 0
    with pytest.raises(InvalidParameterError):
        cap_outliers(few, k=0.0)


@settings(max_examples=80, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 40)),
        # no subnormals: (1 + k/2) x 5e-324 rounds up to 1e-323 in the check below
        elements=st.one_of(st.just(np.nan), st.floats(0.0, 1e6, allow_subnormal=False)),
    ),
    st.floats(0.5, 8.0),
)
def test_capping_only_lowers_values_to_the_limit(y: np.ndarray, k: float) -> None:
    r = cap_outliers(y, k)
    assert np.array_equal(np.isnan(r.values), np.isnan(y))
    ok = ~np.isnan(y)
    assert (r.values[ok] <= y[ok]).all()
    changed = ok & (r.values != y)
    assert np.array_equal(r.values[changed], np.broadcast_to(r.limit[:, None], y.shape)[changed])
    assert (r.capped == changed.sum(axis=1)).all()
    # the limit is at least (1 + k/2) x the median size: nothing at or below the median moves
    positive = np.where(ok & (y > 0), y, np.nan)
    enough = (~np.isnan(positive)).sum(axis=1) >= MIN_POSITIVE
    if enough.any():
        med = np.nanmedian(positive[enough], axis=1)
        assert (r.limit[enough] >= (1.0 + k / 2.0) * med * (1 - 1e-12)).all()
    # row by row: the order of the series does not matter
    perm = np.arange(y.shape[0])[::-1]
    np.testing.assert_array_equal(cap_outliers(y[perm], k).values, r.values[perm])


def _spiky_panel() -> np.ndarray:
    rng = np.random.default_rng(3)
    y = rng.normal(20.0, 2.0, size=(40, 60)).round()
    y[:20, 50] = 200.0  # a one-off spike in half the series, 10 periods before the end
    return y


def test_spike_does_not_lift_the_level_but_widens_the_spread() -> None:
    y = _spiky_panel()
    # each series its own winner (no group-best), so the spiked rows cannot move the others
    cfg = SelectionConfig(
        smooth_models=(M.SES, M.MOVING_AVERAGE), learn_spread=False, group_tolerance_smooth=0.0
    )
    capped = select_and_forecast(y, 4, config=cfg)
    raw = select_and_forecast(y, 4, config=replace(cfg, outlier_k=None))
    spiked = np.arange(40) < 20
    # the level: close to the true mean 20 with the correction, pulled up without it
    assert np.abs(capped.mean[spiked, 0] - 20.0).max() < 3.0
    assert raw.mean[spiked, 0].mean() > capped.mean[spiked, 0].mean() + 1.0
    # unchanged series: identical forecasts either way
    np.testing.assert_allclose(capped.mean[~spiked], raw.mean[~spiked])
    # the spread still sees the spike: residual sd measured on the actual history
    no_spike = select_and_forecast(np.where(y > 100, 20.0, y), 4, config=cfg)
    assert (capped.residual_sd[spiked] > 2.0 * no_spike.residual_sd[spiked]).all()
    # the reason says what was corrected
    assert capped.outliers_capped[spiked].tolist() == [1] * 20
    assert all("1 outlier period above" in r for r in capped.reason[spiked])
    assert not any("outlier" in r for r in capped.reason[~spiked])
    assert (raw.outliers_capped == 0).all()


def test_outlier_k_is_validated() -> None:
    with pytest.raises(InvalidParameterError):
        SelectionConfig(outlier_k=-1.0)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.int64, st.tuples(st.integers(1, 5), st.integers(5, 60)), elements=st.integers(0, 700)
    ),
    st.booleans(),
)
def test_limit_equals_numpys_median_and_mad(counts: np.ndarray, fractional: bool) -> None:
    """Integer sizes below 512 take a counting median, others a selection: both give numpy's
    median and MAD."""
    y = counts.astype(float) + (0.25 if fractional else 0.0) * (counts > 0)
    r = cap_outliers(y, 3.0)
    pos = np.where(y > 0, y, np.nan)
    enough = (~np.isnan(pos)).sum(axis=1) >= MIN_POSITIVE
    if enough.any():
        p = pos[enough]
        med = np.nanmedian(p, axis=1)
        mad = np.nanmedian(np.abs(p - med[:, None]), axis=1)
        np.testing.assert_allclose(
            r.limit[enough], med + 3.0 * np.maximum(1.4826 * mad, 0.5 * med), rtol=1e-12
        )
    assert np.isinf(r.limit[~enough]).all()
