"""Property tests run through ``fit_predict`` for every model.

* non-negative demand gives non-negative forecasts for the models built from averages of
  past demand (naive family, SES, Croston family, TSB, ADIDA, IMAPA); trend, seasonal and
  ARIMA models can extrapolate below zero and are not clipped by the kernels;
* a constant series forecasts the constant (SBA: 0.95 times it, by design);
* permuting the rows permutes the results;
* padding a series with leading NaNs (a later launch) does not change its forecast.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockpilot.core.forecast import ForecastModel, available_models, fit_predict
from stockpilot.core.forecast.base import first_observation

ALL = available_models()
NON_NEGATIVE = (
    ForecastModel.NAIVE,
    ForecastModel.SEASONAL_NAIVE,
    ForecastModel.MOVING_AVERAGE,
    ForecastModel.SES,
    ForecastModel.CROSTON,
    ForecastModel.CROSTON_OPTIMIZED,
    ForecastModel.SBA,
    ForecastModel.TSB,
    ForecastModel.ADIDA,
    ForecastModel.IMAPA,
)
M = 4
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def panels(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 4))
    t = draw(st.integers(12, 30))
    flat = draw(st.lists(st.integers(0, 12), min_size=n * t, max_size=n * t))
    y = np.array(flat, dtype=np.float64).reshape(n, t)
    zero_share = draw(st.sampled_from([0.0, 0.5, 0.8]))
    mask = np.random.default_rng(draw(st.integers(0, 1000))).random((n, t)) < zero_share
    y[mask] = 0.0
    for i, s in enumerate(draw(st.lists(st.integers(0, t - 1), min_size=n, max_size=n))):
        y[i, :s] = np.nan
    return y


def test_every_model_is_registered() -> None:
    assert set(ALL) == set(ForecastModel)


@pytest.mark.parametrize("model", NON_NEGATIVE)
@SETTINGS
@given(y=panels())
def test_non_negative_forecasts_for_non_negative_demand(
    model: ForecastModel, y: np.ndarray
) -> None:
    r = fit_predict(model, y, 5, season_length=M)
    assert np.isfinite(r.mean).all()
    assert (r.mean >= -1e-9).all()


@pytest.mark.parametrize("model", ALL)
@settings(max_examples=6, deadline=None)
@given(level=st.floats(0.5, 500.0), t=st.integers(12, 40))
def test_constant_series_forecasts_the_constant(model: ForecastModel, level: float, t: int) -> None:
    y = np.full((2, t), level)
    y[1, :5] = np.nan
    r = fit_predict(model, y, 6, season_length=M)
    # SBA deflates Croston by (1 - alpha/2) on purpose (Syntetos & Boylan 2005).
    expected = level * (0.95 if model == ForecastModel.SBA else 1.0)
    np.testing.assert_allclose(r.mean, expected, rtol=1e-6)


@pytest.mark.parametrize("model", ALL)
@SETTINGS
@given(y=panels(), seed=st.integers(0, 100))
def test_row_order_does_not_matter(model: ForecastModel, y: np.ndarray, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(y.shape[0])
    a = fit_predict(model, y, 3, season_length=M)
    b = fit_predict(model, y[perm], 3, season_length=M)
    np.testing.assert_allclose(b.mean, a.mean[perm], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(b.failed, a.failed[perm])


@pytest.mark.parametrize("model", ALL)
@SETTINGS
@given(y=panels(), pad=st.integers(1, 9))
def test_leading_nan_padding_does_not_change_forecasts(
    model: ForecastModel, y: np.ndarray, pad: int
) -> None:
    padded = np.concatenate([np.full((y.shape[0], pad), np.nan), y], axis=1)
    a = fit_predict(model, y, 3, season_length=M)
    b = fit_predict(model, padded, 3, season_length=M)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.fitted[:, pad:], a.fitted, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("model", ALL)
def test_awkward_rows_never_break_a_call(model: ForecastModel) -> None:
    """All-NaN, one observation, all zeros, internal gaps, a spike and a negative return in
    one panel: every model returns finite forecasts and flags only rows it could not fit."""
    t = 30
    y = np.zeros((7, t))
    y[0] = np.nan
    y[1, :-1] = np.nan
    y[1, -1] = 4.0
    y[3] = np.arange(t, dtype=float)
    y[3, [10, 11, 20]] = np.nan
    y[4, 15] = 1e6
    y[5] = 5.0 + np.sin(np.arange(t))
    y[5, 7] = -2.0
    y[6, ::3] = 2.0
    r = fit_predict(model, y, 4, season_length=M)
    assert r.mean.shape == (7, 4)
    assert np.isfinite(r.mean).all()
    assert r.failed[0]
    assert r.fitted.shape == (7, t)
    for name, values in r.params.items():
        assert values.shape == (7,), name


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.floats(-5.0, 5.0), st.just(float("nan"))), min_size=3, max_size=3),
        min_size=1,
        max_size=8,
    )
)
def test_first_observation_is_each_rows_first_finite_period(rows: list[list[float]]) -> None:
    """Brute force: the first t with a finite value, T for a row without one."""
    y = np.array(rows)
    want = [next((t for t, v in enumerate(r) if np.isfinite(v)), y.shape[1]) for r in rows]
    got = first_observation(y)
    assert got.dtype == np.int64
    assert got.tolist() == want
