"""ADIDA, IMAPA and the S-H-D combination: hand-computed cases and statsforecast parity."""

from __future__ import annotations

import numpy as np
import pytest

from stockpilot.core.forecast import fit_predict
from stockpilot.core.forecast.models.aggregation import (
    adida_forecast,
    imapa_forecast,
    mean_interval_level,
)
from stockpilot.core.forecast.models.combination import combination_forecast
from stockpilot.core.forecast.models.smoothing import (
    damped_holt_forecast,
    holt_forecast,
    ses_forecast,
)


def _intermittent(seed: int, n: int = 6, t: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    occur = rng.random((n, t)) < rng.uniform(0.1, 0.6, size=(n, 1))
    return np.where(occur, rng.poisson(4.0, size=(n, t)) + 1.0, 0.0)


def test_mean_interval_level_hand_computed() -> None:
    """Demands at positions 2 and 7 of [NaN, 0, 5, 0, 0, 0, 0, 3] counted from start 1:
    intervals 2 and 5 -> mean 3.5 -> rounds half to even -> 4."""
    y = np.array([[np.nan, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 3.0]])
    assert mean_interval_level(y, np.array([1])).tolist() == [4]


def test_adida_constant_buckets_hand_computed() -> None:
    """y = [0, 0, 6] * 3: intervals 3, 3, 3 -> L = 3, buckets [0, 0, 6] total 6 each; SES of a
    constant is 6 whatever alpha; per period 6 / 3 = 2."""
    y = np.array([[0.0, 0.0, 6.0] * 3])
    r = adida_forecast(y, 2)
    assert r.params["aggregation_level"][0] == 3.0
    np.testing.assert_allclose(r.mean, [[2.0, 2.0]])
    # fitted: first bucket undefined, then 6 / 3 per period.
    np.testing.assert_allclose(r.fitted[0, 3:], 2.0)
    assert np.isnan(r.fitted[0, :3]).all()


def test_adida_imapa_match_statsforecast() -> None:
    sf = pytest.importorskip("statsforecast.models")
    y = _intermittent(13, n=8, t=72)
    ours_a = adida_forecast(y, 3).mean
    ours_i = imapa_forecast(y, 3).mean
    for i in range(y.shape[0]):
        np.testing.assert_allclose(ours_a[i], sf.ADIDA().forecast(y[i], 3)["mean"], rtol=1e-4)
        np.testing.assert_allclose(ours_i[i], sf.IMAPA().forecast(y[i], 3)["mean"], rtol=1e-4)


def test_adida_imapa_late_start_equals_trimmed() -> None:
    y = _intermittent(17, n=4, t=50)
    padded = np.concatenate([np.full((4, 5), np.nan), y], axis=1)
    for name in ("adida", "imapa"):
        np.testing.assert_allclose(
            fit_predict(name, y, 2).mean, fit_predict(name, padded, 2).mean, rtol=1e-12
        )


def test_adida_imapa_no_demand_and_no_data() -> None:
    y = np.array([[0.0, 0.0, 0.0], [np.nan, np.nan, np.nan]])
    for name in ("adida", "imapa"):
        r = fit_predict(name, y, 2)
        assert r.mean.tolist() == [[0.0, 0.0], [0.0, 0.0]]
        assert r.failed.tolist() == [False, True]


def test_combination_is_mean_of_members() -> None:
    rng = np.random.default_rng(2)
    y = 20 + np.cumsum(rng.normal(0, 1, size=(3, 30)), axis=1)
    parts = [ses_forecast(y, 4), holt_forecast(y, 4), damped_holt_forecast(y, 4)]
    r = combination_forecast(y, 4)
    np.testing.assert_allclose(r.mean, sum(p.mean for p in parts) / 3)
    assert not r.failed.any()
