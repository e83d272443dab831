"""Croston, SBA, TSB: hand-computed cases and statsforecast parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stockpilot.core.forecast import fit_predict
from stockpilot.core.forecast.models.intermittent import (
    croston_forecast,
    sba_forecast,
    tsb_forecast,
)
from stockpilot.errors import InvalidParameterError


def _intermittent(seed: int, n: int = 6, t: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    occur = rng.random((n, t)) < rng.uniform(0.1, 0.6, size=(n, 1))
    return np.where(occur, rng.poisson(4.0, size=(n, t)) + 1.0, 0.0)


def test_croston_hand_computed() -> None:
    """y = [0, 3, 0, 0, 6, 0, 2], alpha = 0.1.
    Demands 3 (interval 2), 6 (interval 3), 2 (interval 2).
    z: 3 -> 3 + 0.1*(6-3) = 3.3 -> 3.3 + 0.1*(2-3.3) = 3.17.
    p: 2 -> 2 + 0.1*(3-2) = 2.1 -> 2.1 + 0.1*(2-2.1) = 2.09.
    Croston 3.17/2.09; SBA 0.95 * 3.17/2.09."""
    y = np.array([[0.0, 3.0, 0.0, 0.0, 6.0, 0.0, 2.0]])
    assert croston_forecast(y, 1).mean[0, 0] == pytest.approx(3.17 / 2.09)
    assert sba_forecast(y, 1).mean[0, 0] == pytest.approx(0.95 * 3.17 / 2.09)
    fitted = croston_forecast(y, 1).fitted[0]
    # Before any demand the forecast is 0; after the first demand z/p = 3/2.
    np.testing.assert_allclose(fitted, [np.nan, 0.0, 1.5, 1.5, 1.5, 3.3 / 2.1, 3.3 / 2.1])


def test_tsb_hand_computed() -> None:
    """y = [0, 4, 0, 2], alpha_d = 0.5 (sizes), alpha_p = 0.2 (probability).
    d: 0 -> 0.2 -> 0.16 -> 0.328; z: 4 -> 4 + 0.5*(2-4) = 3. Forecast 0.328 * 3 = 0.984."""
    y = np.array([[0.0, 4.0, 0.0, 2.0]])
    r = tsb_forecast(y, 2, alpha_d=0.5, alpha_p=0.2)
    np.testing.assert_allclose(r.mean, [[0.984, 0.984]])
    np.testing.assert_allclose(r.fitted, [[np.nan, 0.0, 0.8, 0.64]])


def test_tsb_decays_after_demand_stops_and_croston_does_not() -> None:
    y = np.concatenate([np.tile([0.0, 5.0], 10), np.zeros(30)])[None, :]
    assert tsb_forecast(y, 1, alpha_d=0.1, alpha_p=0.1).mean[0, 0] < 0.2
    assert croston_forecast(y, 1).mean[0, 0] > 2.0


def test_statsforecast_croston_sba_tsb_agree() -> None:
    sf = pytest.importorskip("statsforecast.models")
    y = _intermittent(5)
    ours_c = croston_forecast(y, 3).mean
    ours_s = sba_forecast(y, 3).mean
    ours_t = tsb_forecast(y, 3, alpha_d=0.2, alpha_p=0.1).mean
    ours_o = croston_forecast(y, 3, optimized=True).mean
    for i in range(y.shape[0]):
        np.testing.assert_allclose(
            ours_c[i], sf.CrostonClassic().forecast(y[i], 3)["mean"], rtol=1e-9
        )
        np.testing.assert_allclose(ours_s[i], sf.CrostonSBA().forecast(y[i], 3)["mean"], rtol=1e-9)
        ref_t = sf.TSB(alpha_d=0.2, alpha_p=0.1).forecast(y[i], 3)["mean"]
        np.testing.assert_allclose(ours_t[i], ref_t, rtol=1e-9)
        ref_o = sf.CrostonOptimized().forecast(y[i], 3)["mean"]
        np.testing.assert_allclose(ours_o[i], ref_o, rtol=1e-4)


def test_late_start_equals_trimmed_series() -> None:
    y = _intermittent(9, n=3, t=40)
    padded = np.concatenate([np.full((3, 7), np.nan), y], axis=1)
    for name in ("croston", "sba", "tsb", "croston_optimized"):
        a = fit_predict(name, y, 2)
        b = fit_predict(name, padded, 2)
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)


def test_no_demand_forecasts_zero_and_no_data_fails() -> None:
    y = np.array([[0.0, 0.0, 0.0, 0.0], [np.nan] * 4])
    for name in ("croston", "sba", "tsb", "croston_optimized"):
        r = fit_predict(name, y, 2)
        assert r.mean.tolist() == [[0.0, 0.0], [0.0, 0.0]]
        assert r.failed.tolist() == [False, True]


def test_optimized_tsb_beats_fixed_constants_in_sample() -> None:
    y = _intermittent(21)
    opt = tsb_forecast(y, 1)
    fixed = tsb_forecast(y, 1, alpha_d=0.1, alpha_p=0.1)
    sse_opt = np.nansum((y - opt.fitted) ** 2, axis=1)
    sse_fix = np.nansum((y - fixed.fitted) ** 2, axis=1)
    assert (sse_opt <= sse_fix + 1e-9).all()
    assert ((opt.params["alpha_d"] >= 0.01) & (opt.params["alpha_d"] <= 0.5)).all()


def test_tsb_needs_both_constants() -> None:
    with pytest.raises(InvalidParameterError, match="'alpha_p' parameter of tsb_forecast"):
        tsb_forecast(np.ones((1, 5)), 1, alpha_d=0.1)


CARPARTS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "carparts"


@pytest.mark.shared_data
def test_carparts_parity_with_statsforecast_intermittent_models() -> None:
    """Hyndman et al. (2008) carparts, first 20 complete series: Croston (classic and
    optimized), SBA, TSB(0.1, 0.1), ADIDA and IMAPA point forecasts as statsforecast's."""
    path = CARPARTS / "demand_monthly.csv"
    if not path.exists():
        pytest.skip("carparts data absent (../shared/data/carparts)")
    sf = pytest.importorskip("statsforecast.models")
    pl = pytest.importorskip("polars")
    y = pl.read_csv(path).drop("unique_id").to_numpy().astype(np.float64)
    y = y[np.isfinite(y).all(axis=1) & ((y > 0).sum(axis=1) >= 2)][:20]
    pairs = [
        ("croston", sf.CrostonClassic(), 1e-9),
        ("sba", sf.CrostonSBA(), 1e-9),
        ("croston_optimized", sf.CrostonOptimized(), 1e-4),
        ("adida", sf.ADIDA(), 1e-4),
        ("imapa", sf.IMAPA(), 1e-4),
    ]
    for name, ref_model, rtol in pairs:
        ours = fit_predict(name, y, 3).mean
        ref = np.array([ref_model.forecast(y[i], 3)["mean"] for i in range(y.shape[0])])
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-12, err_msg=name)
    ours_t = tsb_forecast(y, 3, alpha_d=0.1, alpha_p=0.1).mean
    ref_t = np.array([sf.TSB(0.1, 0.1).forecast(y[i], 3)["mean"] for i in range(y.shape[0])])
    np.testing.assert_allclose(ours_t, ref_t, rtol=1e-9)
