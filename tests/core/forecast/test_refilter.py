"""Rerunning a model with an earlier fit's parameters (``refilter``) and warm-started fits.

These are the mechanics behind the rolling origins of the selection: parameters are
estimated once, at the earliest origin, and only the filter runs at the later ones; the
winner's refit on the full history starts from them.
"""

from __future__ import annotations

import numpy as np
import pytest

from stockpilot.core.forecast.base import ForecastModel as M
from stockpilot.core.forecast.base import first_observation
from stockpilot.core.forecast.models._optim import limited_search, minimize_box
from stockpilot.core.forecast.models._state_space import _row_sd
from stockpilot.core.forecast.models.intermittent import tsb_forecast
from stockpilot.core.forecast.registry import fit_predict, refilter
from stockpilot.core.forecast.selection import (
    ORIGIN_SEARCH_ITERATIONS,
    SelectionConfig,
    select_and_forecast,
)

REFILTERED = (
    M.NAIVE,
    M.SEASONAL_NAIVE,
    M.MOVING_AVERAGE,
    M.SES,
    M.HOLT,
    M.DAMPED_HOLT,
    M.HOLT_WINTERS_ADDITIVE,
    M.HOLT_WINTERS_MULTIPLICATIVE,
    M.CROSTON,
    M.CROSTON_OPTIMIZED,
    M.SBA,
    M.TSB,
    M.ADIDA,
)
WARM = (M.SES, M.HOLT, M.DAMPED_HOLT, M.TSB)


def _panel(n: int = 40, t: int = 72, seed: int = 5) -> np.ndarray:
    """Smooth seasonal rows, intermittent rows (every third) and some late launches."""
    rng = np.random.default_rng(seed)
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(t) / 12)
    y = rng.poisson(rng.gamma(2.0, 4.0, n)[:, None] * season[None, :]).astype(float) + 1.0
    y[::3] *= rng.random((len(y[::3]), t)) < 0.3
    for i in range(1, n, 6):
        y[i, : rng.integers(5, 30)] = np.nan
    return y


@pytest.mark.parametrize("model", REFILTERED)
def test_refilter_with_the_fits_parameters_reproduces_the_fit(model: M) -> None:
    y = _panel()
    fit = fit_predict(model, y, 5, season_length=12)
    again = refilter(model, y, 5, fit.params, season_length=12)
    assert again is not None
    ok = ~fit.failed
    assert ok.sum() > 5
    np.testing.assert_array_equal(again.mean[ok], fit.mean[ok])
    np.testing.assert_array_equal(again.fitted[ok], fit.fitted[ok])
    for name, value in again.params.items():
        if name in fit.params:
            np.testing.assert_array_equal(value[ok], fit.params[name][ok])


@pytest.mark.parametrize("model", [M.MOVING_AVERAGE, M.SES, M.DAMPED_HOLT, M.TSB, M.ADIDA])
def test_rows_without_parameters_come_back_failed_for_the_caller_to_fit(model: M) -> None:
    y = _panel()
    fit = fit_predict(model, y, 4)
    params = {k: v.copy() for k, v in fit.params.items()}
    for v in params.values():
        v[[0, 7]] = np.nan
    again = refilter(model, y, 4, params)
    assert again is not None
    assert again.failed[[0, 7]].all()
    assert np.isnan(again.mean[[0, 7]]).all()
    assert np.isfinite(again.mean[2:7]).all()


def test_models_estimated_by_a_search_of_their_own_have_no_refilter() -> None:
    y = _panel()
    for model in (M.AUTO_ETS, M.IMAPA, M.COMBINATION):
        assert refilter(model, y, 3, fit_predict(model, y, 3).params) is None


def test_refilter_at_a_later_origin_keeps_the_earlier_parameters() -> None:
    """TSB rerun on a longer history with the constants of the shorter one equals TSB with
    those constants given by hand (a different code path), row by row."""
    y = _panel()
    early = fit_predict(M.TSB, y[:, :50], 6)
    later = refilter(M.TSB, y, 6, early.params)
    assert later is not None
    np.testing.assert_array_equal(later.params["alpha_d"], early.params["alpha_d"])
    for i in range(0, y.shape[0], 5):
        by_hand = tsb_forecast(
            y[i : i + 1],
            6,
            alpha_d=float(early.params["alpha_d"][i]),
            alpha_p=float(early.params["alpha_p"][i]),
        )
        np.testing.assert_allclose(later.mean[i], by_hand.mean[0], rtol=1e-12)


@pytest.mark.parametrize("model", WARM)
def test_warm_started_fit_never_ends_worse_than_its_start(model: M) -> None:
    """The local search from the earlier parameters only accepts improvements of the
    in-sample objective (SSE), so the refit's one-step error is at most that of the
    earlier parameters rerun on the full history (where they lie inside the full
    history's search box: the initial level may move by at most one sd of the series)."""
    y = _panel()
    early = fit_predict(model, y[:, :50], 6)
    start = refilter(model, y, 6, early.params)
    warm = fit_predict(model, y, 6, warm_start=early.params)
    assert start is not None
    ok = ~early.failed & ~warm.failed
    if "initial_level" in early.params:
        first = y[np.arange(y.shape[0]), first_observation(y)]
        ok &= np.abs(early.params["initial_level"] - first) <= _row_sd(y)
    assert (warm.residual_sd[ok] <= start.residual_sd[ok] * (1 + 1e-12)).all()
    # and it moved somewhere for some rows: the refit is a fit, not a copy
    moved = next(k for k in ("alpha", "alpha_d") if k in warm.params)
    assert (warm.params[moved][ok] != early.params[moved][ok]).any()


@pytest.mark.parametrize("model", WARM)
def test_rows_without_a_warm_start_get_the_full_search(model: M) -> None:
    y = _panel()
    early = fit_predict(model, y[:, :50], 6)
    params = {k: v.copy() for k, v in early.params.items()}
    for v in params.values():
        v[:5] = np.nan
    warm = fit_predict(model, y, 6, warm_start=params)
    cold = fit_predict(model, y[:5], 6)
    np.testing.assert_array_equal(warm.mean[:5], cold.mean)


def test_selection_scores_later_origins_with_the_earliest_origins_parameters() -> None:
    """TSB alone: the score is the MSE over the origin T-2h (constants fitted there) and
    T-h (the same constants, filter rerun), written out by hand."""
    y = _panel()
    h = 4
    cfg = SelectionConfig(
        n_origins=2,
        min_train=6,
        smooth_models=(M.TSB,),
        intermittent_models=(M.TSB,),
        outlier_k=None,  # the hand computation below runs on the raw history
    )
    r = select_and_forecast(y, h, config=cfg, lifecycle=np.full(y.shape[0], "mature"))
    t = y.shape[1]
    with limited_search(ORIGIN_SEARCH_ITERATIONS):  # the origin's (shorter) search
        early = fit_predict(M.TSB, y[:, : t - 2 * h], h)
    sq = ((np.clip(early.mean, 0, None) - y[:, t - 2 * h : t - h]) ** 2).sum(axis=1)
    for i in range(y.shape[0]):
        later = tsb_forecast(
            y[i : i + 1, : t - h],
            h,
            alpha_d=float(early.params["alpha_d"][i]),
            alpha_p=float(early.params["alpha_p"][i]),
        )
        sq[i] += ((np.clip(later.mean[0], 0, None) - y[i, t - h :]) ** 2).sum()
    col = r.candidates.index("tsb")
    np.testing.assert_allclose(r.scores[:, col], sq / (2 * h), rtol=1e-10)


def test_selection_does_not_depend_on_the_order_of_the_series() -> None:
    y = _panel(n=60, t=80, seed=9)
    perm = np.random.default_rng(1).permutation(y.shape[0])
    a = select_and_forecast(y, 6)
    b = select_and_forecast(y[perm], 6)
    assert b.model.tolist() == a.model[perm].tolist()
    np.testing.assert_allclose(b.mean, a.mean[perm], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.sd, a.sd[perm], rtol=1e-12)
    np.testing.assert_allclose(b.scores, a.scores[perm], rtol=1e-12)


def test_limited_search_caps_cold_searches_only() -> None:
    """Inside ``limited_search(k)`` a cold search runs k compass iterations (as if asked
    for k); warm-started searches keep their own count."""
    target = np.array([[0.31, 0.77], [0.12, 0.45], [0.9, 0.2]])
    calls: list[int] = []

    def objective(x: np.ndarray) -> np.ndarray:
        calls.append(x.shape[1])
        return ((x - target[:, None, :]) ** 2).sum(axis=2)

    box = {"lower": np.zeros(2), "upper": np.ones(2), "grid": np.array([[0.5, 0.5]])}
    with limited_search(1):
        capped = minimize_box(objective, 3, iterations=4, **box)
    assert len(calls) == 2  # grid + 1 iteration
    asked = minimize_box(objective, 3, iterations=1, **box)
    np.testing.assert_array_equal(capped.x, asked.x)
    full = minimize_box(objective, 3, iterations=4, **box)
    assert (full.value <= capped.value).all() and (full.value < capped.value).any()
    calls.clear()
    with limited_search(1):
        minimize_box(objective, 3, iterations=3, x0=np.full((3, 2), 0.5), **box)
    assert len(calls) == 3  # start scored with the first moves, then 2 more iterations
