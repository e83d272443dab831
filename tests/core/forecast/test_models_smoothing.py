"""SES, Holt, damped Holt: hand-computed cases, statsforecast parity, optimization quality."""

from __future__ import annotations

import numpy as np
import pytest

from stockpilot.core.forecast import fit_predict
from stockpilot.core.forecast.models.smoothing import (
    damped_holt_forecast,
    holt_forecast,
    ses_forecast,
)
from stockpilot.errors import InvalidParameterError


def test_ses_fixed_alpha_hand_computed_five_points() -> None:
    """alpha = 0.3, y = [10, 12, 9, 11, 10], l1 = y1 = 10:
    l2 = 10 + 0.3*(12-10) = 10.6; l3 = 10.6 + 0.3*(9-10.6) = 10.12;
    l4 = 10.12 + 0.3*(11-10.12) = 10.384; l5 = 10.384 + 0.3*(10-10.384) = 10.2688."""
    r = ses_forecast(np.array([[10.0, 12.0, 9.0, 11.0, 10.0]]), 3, alpha=0.3)
    np.testing.assert_allclose(r.mean, [[10.2688] * 3])
    np.testing.assert_allclose(r.fitted, [[np.nan, 10.0, 10.6, 10.12, 10.384]])
    assert r.params["alpha"][0] == pytest.approx(0.3)


def test_holt_recovers_an_exact_line() -> None:
    """y = 3 + 2t has zero one-step error once the trend is learnt; forecasts continue the line."""
    y = (3.0 + 2.0 * np.arange(30))[None, :]
    r = holt_forecast(y, 3)
    np.testing.assert_allclose(r.mean[0], 3.0 + 2.0 * np.arange(30, 33), rtol=1e-3)


def test_damped_holt_forecast_flattens() -> None:
    y = (3.0 + 2.0 * np.arange(30))[None, :]
    r = damped_holt_forecast(y, 40)
    steps = np.diff(r.mean[0])
    assert (steps > 0).all()
    assert steps[-1] < steps[0]
    assert 0.8 <= r.params["phi"][0] <= 0.98


def test_short_rows_fall_back_and_are_flagged() -> None:
    y = np.array([[np.nan, np.nan, np.nan, 5.0], [np.nan, np.nan, 4.0, 6.0], [1.0, 2.0, 3.0, 4.0]])
    r = holt_forecast(y, 2)
    assert r.failed.tolist() == [True, True, False]
    assert r.mean[0].tolist() == [5.0, 5.0]
    assert np.isnan(r.params["alpha"][0])
    s = ses_forecast(y, 2)
    assert s.failed.tolist() == [True, False, False]


def test_bad_alpha_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="'alpha' parameter of ses_forecast"):
        ses_forecast(np.ones((1, 4)), 1, alpha=1.5)


def test_statsforecast_ses_fixed_alpha_agrees() -> None:
    sf = pytest.importorskip("statsforecast.models")
    rng = np.random.default_rng(7)
    y = rng.gamma(2.0, 5.0, size=(5, 40))
    ours = ses_forecast(y, 4, alpha=0.3)
    for i in range(5):
        ref = sf.SimpleExponentialSmoothing(alpha=0.3).forecast(y[i], 4, fitted=True)
        np.testing.assert_allclose(ours.mean[i], ref["mean"], rtol=1e-9)
        np.testing.assert_allclose(ours.fitted[i, 1:], ref["fitted"][1:], rtol=1e-9)


def _mse(y: np.ndarray, fitted: np.ndarray) -> float:
    e = y - fitted
    return float(np.nanmean(e[1:] ** 2))


def test_optimized_ses_no_worse_than_statsforecast_optimized() -> None:
    """Our alpha search covers (0, 1); statsforecast's optimizer keeps alpha in [0.1, 0.3]."""
    sf = pytest.importorskip("statsforecast.models")
    rng = np.random.default_rng(11)
    level = np.cumsum(rng.normal(0, 1, size=(4, 60)), axis=1) + 50
    y = level + rng.normal(0, 2, size=(4, 60))
    ours = ses_forecast(y, 1)
    for i in range(4):
        ref = sf.SimpleExponentialSmoothingOptimized().forecast(y[i], 1, fitted=True)
        assert _mse(y[i], ours.fitted[i]) <= _mse(y[i], ref["fitted"]) * (1 + 1e-6)


def test_registry_runs_smoothing_models() -> None:
    y = np.abs(np.random.default_rng(1).normal(10, 3, size=(3, 24)))
    for name in ("ses", "holt", "damped_holt"):
        r = fit_predict(name, y, 6)
        assert r.mean.shape == (3, 6)
        assert r.fitted.shape == (3, 24)
        assert np.isfinite(r.residual_sd).all()
