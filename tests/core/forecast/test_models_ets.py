"""Holt-Winters and automatic ETS: recovery of known structure, fallbacks, AICc choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stockpilot.core.forecast import fit_predict
from stockpilot.core.forecast.models.ets import auto_ets_forecast, candidate_specs, spec_label
from stockpilot.core.forecast.models.holt_winters import holt_winters_forecast
from stockpilot.errors import InvalidParameterError

M = 12
T = np.arange(96)
SEASON = 10.0 * np.sin(2 * np.pi * T / M)


def test_candidate_specs_exclude_unstable_additive_error_multiplicative_season() -> None:
    labels = {s.label() for s in candidate_specs(seasonal=True)}
    assert labels == {
        "ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA",
        "MNN", "MAN", "MAdN", "MNA", "MAA", "MAdA", "MNM", "MAM", "MAdM",
    }  # fmt: skip
    assert {s.label() for s in candidate_specs(seasonal=False)} == {
        "ANN", "AAN", "AAdN", "MNN", "MAN", "MAdN",
    }  # fmt: skip


def test_holt_winters_additive_reproduces_exact_seasonal_pattern() -> None:
    """A noise-free level + season: the season is the first-season deviation, so the
    in-sample errors are zero and the forecast repeats the pattern."""
    y = (100.0 + SEASON)[None, :]
    r = holt_winters_forecast(y, M, season_length=M)
    expected = 100.0 + 10.0 * np.sin(2 * np.pi * np.arange(96, 96 + M) / M)
    np.testing.assert_allclose(r.mean[0], expected, atol=1e-6)
    assert not r.failed[0]


def test_holt_winters_multiplicative_reproduces_exact_pattern() -> None:
    factors = 1.0 + 0.3 * np.sin(2 * np.pi * T / M)
    y = (50.0 * factors)[None, :]
    r = holt_winters_forecast(y, M, season_length=M, multiplicative=True)
    expected = 50.0 * (1.0 + 0.3 * np.sin(2 * np.pi * np.arange(96, 96 + M) / M))
    np.testing.assert_allclose(r.mean[0], expected, rtol=1e-6)


def test_holt_winters_fallbacks() -> None:
    short = np.full((1, 96), np.nan)
    short[0, -20:] = 5.0 + np.arange(20.0)  # < 2 seasons
    zeros = (100.0 + SEASON)[None, :].copy()
    zeros[0, 40] = 0.0  # multiplicative impossible
    y = np.vstack([short, zeros])
    r = holt_winters_forecast(y, 3, season_length=M, multiplicative=True)
    assert r.failed.tolist() == [True, True]
    assert np.isfinite(r.mean).all()
    add = holt_winters_forecast(y, 3, season_length=M)
    np.testing.assert_allclose(r.mean[1], add.mean[1])
    with pytest.raises(InvalidParameterError, match="'season_length'"):
        holt_winters_forecast(y, 3, season_length=1)


def test_auto_ets_picks_structure() -> None:
    rng = np.random.default_rng(4)
    seasonal = 200.0 + 3 * SEASON + rng.normal(0, 1, 96)
    trend = 20.0 + 2.0 * T + rng.normal(0, 1, 96)
    flat = 50.0 + rng.normal(0, 5, 96)
    r = auto_ets_forecast(np.vstack([seasonal, trend, flat]), 6, season_length=M)
    labels = [spec_label(c) for c in r.params["spec"]]
    assert labels[0][1:-1] == "N" and labels[0][-1] in "AM"  # seasonal, no trend
    assert labels[1][1:-1] in ("A", "Ad") and labels[1][-1] == "N"  # trend, no season
    assert labels[2][1:] == "NN"
    assert not r.failed.any()


def test_auto_ets_short_series_fall_back() -> None:
    y = np.array([[np.nan, np.nan, np.nan, np.nan, 3.0, 4.0], [1.0, 2.0, 1.0, 3.0, 2.0, 2.0]])
    r = auto_ets_forecast(y, 2)
    assert r.failed.tolist() == [True, False]
    assert np.isfinite(r.mean).all()


HOSPITAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "hospital"


def _hospital(n: int) -> np.ndarray:
    path = HOSPITAL / "demand_monthly.csv"
    if not path.exists():
        pytest.skip("hospital data absent (../shared/data/hospital)")
    pl = pytest.importorskip("polars")
    return pl.read_csv(path).drop("unique_id").to_numpy().astype(np.float64)[:n]


@pytest.mark.shared_data
def test_auto_ets_in_sample_mse_close_to_statsforecast_autoets_on_hospital() -> None:
    """Hyndman et al. (2008) hospital data, first 12 series, m = 12. statsforecast's AutoETS
    optimizes all initial states (we optimize only the initial level), so we accept a mean
    in-sample MSE ratio up to 1.10 (measured on the first 40 series: median 1.000,
    mean 1.057)."""
    sf = pytest.importorskip("statsforecast.models")
    y = _hospital(12)
    ours = auto_ets_forecast(y, 12, season_length=M)
    our_mse = np.nanmean((y - ours.fitted) ** 2, axis=1)
    ref_mse = np.array(
        [
            np.nanmean(
                (y[i] - sf.AutoETS(season_length=M).forecast(y[i], 12, fitted=True)["fitted"])[1:]
                ** 2
            )
            for i in range(y.shape[0])
        ]
    )
    assert float(np.mean(our_mse / ref_mse)) <= 1.10


@pytest.mark.shared_data
def test_optimized_ses_holt_damped_holt_in_sample_mse_vs_statsforecast_on_hospital() -> None:
    """First 12 hospital series, in-sample one-step MSE from period 2.

    SES: statsforecast's ``SimpleExponentialSmoothingOptimized`` starts from the first
    observation and searches alpha in [0.01, 0.99]; ours searches alpha in (0, 1) and the
    initial level too, so it must fit at least as well.

    Holt and damped Holt against statsforecast's ``Holt`` (ETS A,A,N) and
    ``AutoETS(model="AAN", damped=True)``: those also estimate the initial trend, which ours
    fixes at 0, so ours may fit a little worse. Measured on these 12 series, MSE ratio
    ours / statsforecast: Holt mean 1.022, max 1.096; damped mean 1.017, max 1.096. We
    accept a mean up to 1.05 and no series above 1.15."""
    sf = pytest.importorskip("statsforecast.models")
    y = _hospital(12)

    def mse(i: int, fitted: np.ndarray) -> float:
        return float(np.nanmean((y[i] - fitted)[1:] ** 2))

    ours = fit_predict("ses", y, 1)
    for i in range(y.shape[0]):
        ref = sf.SimpleExponentialSmoothingOptimized().forecast(y[i], 1, fitted=True)["fitted"]
        assert mse(i, ours.fitted[i]) <= mse(i, ref) * (1 + 1e-6)
    references = {
        "holt": sf.Holt,
        "damped_holt": lambda: sf.AutoETS(model="AAN", damped=True),
    }
    for name, make in references.items():
        ours = fit_predict(name, y, 1)
        ratios = np.array(
            [
                mse(i, ours.fitted[i]) / mse(i, make().forecast(y[i], 1, fitted=True)["fitted"])
                for i in range(y.shape[0])
            ]
        )
        assert not ours.failed.any()
        assert ratios.mean() <= 1.05, name
        assert ratios.max() <= 1.15, name
