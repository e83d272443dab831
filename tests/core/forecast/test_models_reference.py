"""Holt, damped Holt, Holt-Winters (additive, multiplicative) and the S-H-D combination
against independent references (issue 3, "Tests").

* Textbook: plain-Python loops of the component-form recursions of Hyndman &
  Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed. (FPP3), sec. 8.1-8.3,
  started from the initial states the kernels document (``_state_space._initial_states``),
  against the kernels run with fixed parameters (:func:`smoothing.fixed_ets`).
* Published: the NIST/SEMATECH e-Handbook example of sec. 6.4.3.6 (printed MSEs).
* statsforecast: its ETS filter (``statsforecast.ets.pegelsresid_C``, the port of R's
  ``forecast::ets`` C code) run with the same fixed parameters and initial states, and its
  forecast function ``etsforecast``; for optimized fits, the in-sample SSE of a multi-start
  bounded search over the same parameter box, scored by that filter.

The kernels take :math:`\\beta = \\alpha\\beta^*` (error-correction form); FPP3's
:math:`\\gamma` is the kernel's ``gamma`` unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stockpilot.core.forecast.base import first_observation
from stockpilot.core.forecast.models._state_space import (
    ALPHA_BOUNDS,
    BETA_STAR_BOUNDS,
    GAMMA_STAR_BOUNDS,
    PHI_BOUNDS,
    EtsSpec,
    _filter_run,
    _initial_states,
    _row_sd,
)
from stockpilot.core.forecast.models.combination import combination_forecast
from stockpilot.core.forecast.models.holt_winters import (
    HW_ADDITIVE_SPEC,
    HW_MULTIPLICATIVE_SPEC,
    holt_winters_forecast,
)
from stockpilot.core.forecast.models.smoothing import (
    DAMPED_SPEC,
    HOLT_SPEC,
    damped_holt_forecast,
    fixed_ets,
    holt_forecast,
    ses_forecast,
)

M = 4

#: NIST/SEMATECH e-Handbook of Statistical Methods, sec. 6.4.3.6, quarterly sales 1990-1995.
NIST_SALES = [
    362.0, 385.0, 432.0, 341.0, 382.0, 409.0, 498.0, 387.0, 473.0, 513.0, 582.0, 474.0,
    544.0, 582.0, 681.0, 557.0, 628.0, 707.0, 773.0, 592.0, 627.0, 725.0, 854.0, 661.0,
]  # fmt: skip


# --------------------------------------------------------------------------------------
# Textbook recursions (FPP3), written out one period at a time
# --------------------------------------------------------------------------------------


def fpp3_damped_trend(
    y: list[float], h: int, *, alpha: float, beta_star: float, phi: float = 1.0
) -> tuple[list[float], list[float], float, float]:
    """FPP3 sec. 8.2, eqs. for Holt's linear (``phi = 1``) and damped trend methods:
    :math:`\\hat y_{t|t-1} = \\ell_{t-1} + \\phi b_{t-1}`,
    :math:`\\ell_t = \\alpha y_t + (1-\\alpha)(\\ell_{t-1} + \\phi b_{t-1})`,
    :math:`b_t = \\beta^*(\\ell_t - \\ell_{t-1}) + (1-\\beta^*)\\phi b_{t-1}`,
    :math:`\\hat y_{T+h|T} = \\ell_T + (\\phi + \\dots + \\phi^h) b_T`.
    Initial states as documented by the kernel: :math:`\\ell_1 = y_1`, :math:`b_1 = 0`.
    Returns (one-step forecasts of y_2..y_T, h-step forecasts, final level, final trend)."""
    level, trend = y[0], 0.0
    fitted = []
    for obs in y[1:]:
        fitted.append(level + phi * trend)
        new_level = alpha * obs + (1.0 - alpha) * (level + phi * trend)
        trend = beta_star * (new_level - level) + (1.0 - beta_star) * phi * trend
        level = new_level
    forecasts = [level + sum(phi**j for j in range(1, k + 1)) * trend for k in range(1, h + 1)]
    return fitted, forecasts, level, trend


def documented_seasonal_start(
    y: list[float], m: int, *, multiplicative: bool
) -> tuple[float, float, list[float]]:
    """The kernel's documented seasonal start (``_initial_states``): level = first-season
    mean moved back to period 0, trend = difference of the first two seasonal means / m,
    :math:`s_{k-m}` = k-th value of the first season minus (divided by) its mean."""
    mean1 = sum(y[:m]) / m
    mean2 = sum(y[m : 2 * m]) / m
    trend = (mean2 - mean1) / m
    level = mean1 - trend * (m + 1) / 2.0
    season = [v / mean1 if multiplicative else v - mean1 for v in y[:m]]
    return level, trend, season


def fpp3_holt_winters(
    y: list[float],
    h: int,
    m: int,
    *,
    alpha: float,
    beta_star: float,
    gamma: float,
    multiplicative: bool,
) -> tuple[list[float], list[float], float, float, list[float]]:
    """FPP3 sec. 8.3, Holt-Winters' additive method
    :math:`\\ell_t = \\alpha(y_t - s_{t-m}) + (1-\\alpha)(\\ell_{t-1} + b_{t-1})`,
    :math:`b_t = \\beta^*(\\ell_t - \\ell_{t-1}) + (1-\\beta^*) b_{t-1}`,
    :math:`s_t = \\gamma(y_t - \\ell_{t-1} - b_{t-1}) + (1-\\gamma) s_{t-m}`, and the
    multiplicative method (:math:`y_t / s_{t-m}`, :math:`y_t / (\\ell_{t-1} + b_{t-1})`);
    forecasts :math:`\\hat y_{T+h|T} = \\ell_T + h b_T (+/\\times) s_{T+h-m(k+1)}`.
    Returns (one-step forecasts of y_2..y_T, h-step forecasts, level, trend, last m seasons
    oldest first)."""
    level, trend, season = documented_seasonal_start(y, m, multiplicative=multiplicative)
    fitted = []
    for t, obs in enumerate(y):
        s_old = season[-m]
        base = level + trend
        if t > 0:  # the kernel scores from the 2nd observation on
            fitted.append(base * s_old if multiplicative else base + s_old)
        if multiplicative:
            new_level = alpha * obs / s_old + (1.0 - alpha) * base
            new_season = gamma * obs / base + (1.0 - gamma) * s_old
        else:
            new_level = alpha * (obs - s_old) + (1.0 - alpha) * base
            new_season = gamma * (obs - base) + (1.0 - gamma) * s_old
        trend = beta_star * (new_level - level) + (1.0 - beta_star) * trend
        level = new_level
        season.append(new_season)
    last = season[-m:]
    forecasts = []
    for k in range(1, h + 1):
        s = last[(k - 1) % m]
        forecasts.append((level + k * trend) * s if multiplicative else level + k * trend + s)
    return fitted, forecasts, level, trend, last


def _trend_panel(seed: int, n: int = 3, t: int = 30) -> np.ndarray:
    rng = np.random.default_rng(seed)
    slope = rng.uniform(-1.0, 2.0, size=(n, 1))
    return 50.0 + slope * np.arange(t) + np.cumsum(rng.normal(0, 2.0, size=(n, t)), axis=1)


def _seasonal_panel(seed: int, n: int = 3, t: int = 28) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(t) / M + rng.uniform(0, 6, size=(n, 1)))
    return (80.0 + 1.5 * np.arange(t)) * shape + rng.normal(0, 3.0, size=(n, t))


def _late_start(y: np.ndarray, row: int, lead: int) -> np.ndarray:
    """Copy of ``y`` where row ``row`` is launched ``lead`` periods late (leading NaNs)."""
    out = y.copy()
    out[row, :lead] = np.nan
    return out


# --------------------------------------------------------------------------------------
# Hand-computed case and textbook recursions with fixed parameters
# --------------------------------------------------------------------------------------


def test_holt_hand_computed_four_points_fpp3_eq_8_3() -> None:
    """alpha = 0.5, beta* = 0.5, y = [10, 12, 13, 15], l1 = 10, b1 = 0:
    t=2: yhat 10, l = 11, b = 0.5; t=3: yhat 11.5, l = 12.25, b = 0.875;
    t=4: yhat 13.125, l = 14.0625, b = 0.5*1.8125 + 0.5*0.875 = 1.34375;
    forecasts 15.40625, 16.75."""
    y = np.array([[10.0, 12.0, 13.0, 15.0]])
    start = first_observation(y)
    fit = fixed_ets(y, start, 2, spec=HOLT_SPEC, alpha=0.5, beta=0.25)
    np.testing.assert_allclose(fit.fitted, [[np.nan, 10.0, 11.5, 13.125]])
    np.testing.assert_allclose(fit.mean, [[15.40625, 16.75]])


@pytest.mark.parametrize(
    ("alpha", "beta_star", "phi"),
    [(0.3, 0.1, 1.0), (0.8, 0.5, 1.0), (0.5, 0.2, 0.9), (0.2, 0.6, 0.8)],
)
def test_holt_and_damped_fixed_parameters_match_fpp3_sec_8_2(
    alpha: float, beta_star: float, phi: float
) -> None:
    """Holt's linear trend (phi = 1) and damped trend (phi < 1), FPP3 sec. 8.2; one row
    starts 7 periods late (the recursion starts at its first observation)."""
    y = _late_start(_trend_panel(3), row=1, lead=7)
    h = 6
    spec = HOLT_SPEC if phi == 1.0 else DAMPED_SPEC
    start = first_observation(y)
    fit = fixed_ets(y, start, h, spec=spec, alpha=alpha, beta=alpha * beta_star, phi=phi)
    assert fit.ok.all()
    for i in range(y.shape[0]):
        obs = y[i, start[i] :].tolist()
        fitted, forecasts, _, _ = fpp3_damped_trend(
            obs, h, alpha=alpha, beta_star=beta_star, phi=phi
        )
        np.testing.assert_allclose(fit.fitted[i, start[i] + 1 :], fitted, rtol=1e-12)
        assert np.isnan(fit.fitted[i, : start[i] + 1]).all()
        np.testing.assert_allclose(fit.mean[i], forecasts, rtol=1e-12)


@pytest.mark.parametrize("multiplicative", [False, True], ids=["additive", "multiplicative"])
@pytest.mark.parametrize(
    ("alpha", "beta_star", "gamma"), [(0.3, 0.1, 0.2), (0.7, 0.4, 0.1), (0.1, 0.9, 0.5)]
)
def test_holt_winters_fixed_parameters_match_fpp3_sec_8_3(
    alpha: float, beta_star: float, gamma: float, multiplicative: bool
) -> None:
    """Holt-Winters additive and multiplicative, FPP3 sec. 8.3, m = 4, h = 7 (beyond one
    season); one row starts 3 periods late, so its seasons sit in other slots."""
    y = _late_start(_seasonal_panel(5), row=2, lead=3)
    h = 7
    spec = HW_MULTIPLICATIVE_SPEC if multiplicative else HW_ADDITIVE_SPEC
    start = first_observation(y)
    fit = fixed_ets(
        y, start, h, spec=spec, alpha=alpha, beta=alpha * beta_star, gamma=gamma, season_length=M
    )
    assert fit.ok.all()
    for i in range(y.shape[0]):
        obs = y[i, start[i] :].tolist()
        fitted, forecasts, _, _, _ = fpp3_holt_winters(
            obs, h, M, alpha=alpha, beta_star=beta_star, gamma=gamma, multiplicative=multiplicative
        )
        np.testing.assert_allclose(fit.fitted[i, start[i] + 1 :], fitted, rtol=1e-11)
        np.testing.assert_allclose(fit.mean[i], forecasts, rtol=1e-11)


@pytest.mark.parametrize(
    "spec", [HOLT_SPEC, DAMPED_SPEC, HW_ADDITIVE_SPEC, HW_MULTIPLICATIVE_SPEC], ids=EtsSpec.label
)
def test_initial_and_final_states_match_fpp3_recursions(spec: EtsSpec) -> None:
    """The kernel's states, not only its forecasts: initial states against the documented
    start, final level, trend and seasons against the textbook loop."""
    alpha, beta_star, gamma, phi = 0.4, 0.3, 0.25, (0.85 if spec.damped else 1.0)
    seasonal = spec.season != 0
    m = M if seasonal else 1
    y = _seasonal_panel(9) if seasonal else _trend_panel(9)
    start = first_observation(y)
    ok, t0, level0, trend0, season0 = _initial_states(y, start, spec, m)
    assert ok.all()
    n = y.shape[0]
    _, level, trend, season = _filter_run(
        y, t0, level0, trend0, season0, np.full(n, alpha), np.full(n, alpha * beta_star),
        np.full(n, gamma if seasonal else 0.0), np.full(n, phi), int(spec.season),
    )  # fmt: skip
    for i in range(n):
        obs = y[i].tolist()
        if seasonal:
            mult = spec.season == 2
            l0, b0, s0 = documented_seasonal_start(obs, m, multiplicative=mult)
            assert level0[i] == pytest.approx(l0, rel=1e-12)
            assert trend0[i] == pytest.approx(b0, rel=1e-12)
            np.testing.assert_allclose(season0[i], s0, rtol=1e-12)  # T = 28: slot k is s_k
            _, _, lev, tr, last = fpp3_holt_winters(
                obs, 1, m, alpha=alpha, beta_star=beta_star, gamma=gamma, multiplicative=mult
            )
            np.testing.assert_allclose(season[i], last, rtol=1e-11)
        else:
            assert (level0[i], trend0[i], t0[i]) == (obs[0], 0.0, 1)
            _, _, lev, tr = fpp3_damped_trend(obs, 1, alpha=alpha, beta_star=beta_star, phi=phi)
        assert level[i] == pytest.approx(lev, rel=1e-11)
        assert trend[i] == pytest.approx(tr, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------------------
# Published example: NIST/SEMATECH e-Handbook, sec. 6.4.3.6
# --------------------------------------------------------------------------------------


def _mse(y: np.ndarray, fitted: np.ndarray) -> float:
    return float(np.nanmean((y - fitted)[1:] ** 2))


def test_nist_handbook_6_4_3_6_single_smoothing_printed_mse() -> None:
    """NIST/SEMATECH e-Handbook of Statistical Methods, sec. 6.4.3.6 "Example of Triple
    Exponential Smoothing", https://www.itl.nist.gov/div898/handbook/pmc/section4/pmc436.htm:
    24 quarterly sales; the printed MSE-minimising single smoothing has alpha = 0.4694 and
    MSE 6906. SES with that alpha and the first observation as start reproduces it
    (6906.77: one-step errors from period 2, 23 of them; the print drops the decimals), and
    the optimized SES, whose box contains that point, fits at least as well."""
    y = np.array([NIST_SALES])
    ses_fixed = ses_forecast(y, 1, alpha=0.4694)
    assert 6906.0 <= _mse(y[0], ses_fixed.fitted[0]) < 6907.0
    assert _mse(y[0], ses_forecast(y, 1).fitted[0]) <= 6906.0


@pytest.mark.parametrize("damped", [False, True], ids=["holt", "damped_holt"])
def test_nist_handbook_6_4_3_6_optimized_holt_no_worse_than_printed_parameters(
    damped: bool,
) -> None:
    """Same page: the printed MSE-minimising double smoothing (Holt) has alpha = 0.1086 and
    trend constant 1.0. The handbook starts the trend differently, so its MSE (5054) is not
    ours to reproduce; but alpha = 0.1086, beta* = 0.9999 (the upper bound of our beta*
    box; phi = 0.98, the upper bound of the damped box) with our documented start is a point
    of the box our optimizer searches, so the optimized fit must be at least as good."""
    y = np.array([NIST_SALES])
    spec, phi = (DAMPED_SPEC, PHI_BOUNDS[1]) if damped else (HOLT_SPEC, 1.0)
    alpha, beta_star = 0.1086, BETA_STAR_BOUNDS[1]
    point = fixed_ets(
        y, first_observation(y), 1, spec=spec, alpha=alpha, beta=alpha * beta_star, phi=phi
    )
    optimized = damped_holt_forecast(y, 1) if damped else holt_forecast(y, 1)
    assert _mse(y[0], optimized.fitted[0]) <= _mse(y[0], point.fitted[0]) * (1 + 1e-9)


# --------------------------------------------------------------------------------------
# statsforecast: same filter settings (fixed parameters, same initial states)
# --------------------------------------------------------------------------------------

_SEASON_CODE = {0: "N", 1: "A", 2: "M"}


def _statsforecast_filter(
    y: np.ndarray, spec: EtsSpec, m: int, *, alpha: float, beta: float, gamma: float, phi: float,
    level0: float, trend0: float, season0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """statsforecast's ETS filter (additive errors) from the kernel's start: returns the
    one-step forecasts of the scored periods and the final state row (l, b, s_T, ...,
    s_{T-m+1}). Non-seasonal kernels start at the 2nd observation with l = y_1; seasonal ones
    at the 1st, with the season slots in statsforecast's newest-first order."""
    ets = pytest.importorskip("statsforecast.ets")
    seasonal = spec.season != 0
    obs = y if seasonal else y[1:]
    init = np.concatenate([[level0, trend0], season0[::-1] if seasonal else []])
    _, err, states, _ = ets.pegelsresid_C(
        obs, m if seasonal else 1, init, "A", "A", _SEASON_CODE[int(spec.season)],
        spec.damped, alpha, beta, gamma, phi, 1,
    )  # fmt: skip
    fitted = obs - err
    return (fitted[1:] if seasonal else fitted), states[-1]


@pytest.mark.parametrize(
    "spec", [HOLT_SPEC, DAMPED_SPEC, HW_ADDITIVE_SPEC, HW_MULTIPLICATIVE_SPEC], ids=EtsSpec.label
)
def test_fixed_parameters_match_statsforecast_ets_filter_and_forecast(spec: EtsSpec) -> None:
    """statsforecast 2.1.1 ``ets.pegelsresid_C`` (port of R ``forecast::ets``'s C filter,
    Hyndman et al. 2008 Table 2.3 error-correction form, the kernel's own parameterisation)
    and ``ets.etsforecast`` with the same fixed alpha, beta, gamma, phi and initial states:
    same one-step forecasts, final states and h-step forecasts.

    Damped trend: statsforecast 2.1.1's forecast adds :math:`\\phi^{i+1}` where the damping
    sum needs :math:`\\phi^{i+2}` (horizon 2 gets :math:`2\\phi b` instead of
    :math:`(\\phi + \\phi^2) b`; fixed later upstream,
    https://github.com/Nixtla/statsforecast/pull/1219), so only its first horizon is
    compared; the textbook test above covers the others."""
    ets = pytest.importorskip("statsforecast.ets")
    seasonal = spec.season != 0
    m = M if seasonal else 1
    y = _seasonal_panel(13, t=26) if seasonal else _trend_panel(13)
    alpha, beta, gamma = 0.35, 0.35 * 0.2, 0.15 if seasonal else 0.0
    phi = 0.9 if spec.damped else 1.0
    h = 9
    start = first_observation(y)
    fit = fixed_ets(
        y, start, h, spec=spec, alpha=alpha, beta=beta, gamma=gamma, phi=phi, season_length=m
    )
    _, t0, level0, trend0, season0 = _initial_states(y, start, spec, m)
    n = y.shape[0]
    _, level, trend, season = _filter_run(
        y, t0, level0, trend0, season0, np.full(n, alpha), np.full(n, beta), np.full(n, gamma),
        np.full(n, phi), int(spec.season),
    )  # fmt: skip
    t_len = y.shape[1]
    for i in range(n):
        fitted, last = _statsforecast_filter(
            y[i], spec, m, alpha=alpha, beta=beta, gamma=gamma, phi=phi,
            level0=level0[i], trend0=trend0[i], season0=season0[i],
        )  # fmt: skip
        np.testing.assert_allclose(fit.fitted[i, 1:], fitted, rtol=1e-10)
        assert last[0] == pytest.approx(level[i], rel=1e-10)
        assert last[1] == pytest.approx(trend[i], rel=1e-8, abs=1e-10)
        if seasonal:
            newest_first = season[i, (t_len - 1 - np.arange(m)) % m]
            np.testing.assert_allclose(last[2:], newest_first, rtol=1e-10)
        forecasts = np.zeros(h)
        ets.etsforecast(
            last, m, ets.switch("A"), ets.switch(_SEASON_CODE[int(spec.season)]), phi, h,
            forecasts,
        )  # fmt: skip
        horizons = 1 if spec.damped else h
        np.testing.assert_allclose(fit.mean[i, :horizons], forecasts[:horizons], rtol=1e-10)


# --------------------------------------------------------------------------------------
# statsforecast: optimized fits, same objective and same search box
# --------------------------------------------------------------------------------------


def _box(spec: EtsSpec) -> tuple[list[float], list[float]]:
    """The kernel's search box: alpha, beta*, gamma*, phi (as the spec has them) and the
    initial-level offset u in [-1, 1] (in units of the series' standard deviation)."""
    bounds = [ALPHA_BOUNDS, BETA_STAR_BOUNDS]
    if spec.season != 0:
        bounds.append(GAMMA_STAR_BOUNDS)
    if spec.damped:
        bounds.append(PHI_BOUNDS)
    bounds.append((-1.0, 1.0))
    return [b[0] for b in bounds], [b[1] for b in bounds]


def _statsforecast_best_sse(y: np.ndarray, spec: EtsSpec, m: int) -> float:
    """Smallest in-sample one-step SSE found by bounded Nelder-Mead (scipy) from 2**P + 1
    starts (box centre and the corners of its middle half), each point scored by
    statsforecast's filter from the kernel's heuristic initial states."""
    optimize = pytest.importorskip("scipy.optimize")
    seasonal = spec.season != 0
    panel = y[None, :]
    _, _, level0, trend0, season0 = _initial_states(panel, first_observation(panel), spec, m)
    scale = float(_row_sd(panel)[0])
    lo, hi = _box(spec)

    def sse(x: np.ndarray) -> float:
        x = np.clip(x, lo, hi)
        alpha = float(x[0])
        gamma = (1.0 - alpha) * float(x[2]) if seasonal else 0.0
        phi = float(x[-2]) if spec.damped else 1.0
        fitted, _ = _statsforecast_filter(
            y, spec, m, alpha=alpha, beta=alpha * float(x[1]), gamma=gamma, phi=phi,
            level0=float(level0[0] + x[-1] * scale), trend0=float(trend0[0]), season0=season0[0],
        )  # fmt: skip
        value = float(np.sum((y[1:] - fitted) ** 2))
        return value if math.isfinite(value) else math.inf

    lo_a, hi_a = np.array(lo), np.array(hi)
    corners = np.array(np.meshgrid(*[[0.25, 0.75]] * len(lo), indexing="ij")).reshape(len(lo), -1)
    starts = [lo_a + (hi_a - lo_a) * f for f in [np.full(len(lo), 0.5), *corners.T]]
    unit = sse(starts[0])  # searched in units of the centre's SSE: one relative tolerance
    return unit * min(
        optimize.minimize(
            lambda x: sse(x) / unit, x0, method="Nelder-Mead",
            bounds=list(zip(lo, hi, strict=True)),
            options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000},
        ).fun
        for x0 in starts
    )  # fmt: skip


def _our_sse(y: np.ndarray, fitted: np.ndarray) -> float:
    return float(np.nansum((y - fitted)[1:] ** 2))


@pytest.mark.parametrize(
    "spec", [HOLT_SPEC, DAMPED_SPEC, HW_ADDITIVE_SPEC, HW_MULTIPLICATIVE_SPEC], ids=EtsSpec.label
)
def test_optimized_fit_no_worse_than_search_on_statsforecast_filter(spec: EtsSpec) -> None:
    """Same objective (one-step SSE from the 2nd observation), same box (alpha, beta*,
    gamma*, phi, initial-level offset) and same heuristic trend/season start as the kernel:
    our optimized fit must be within 0.1% of the best SSE a multi-start bounded
    Nelder-Mead finds with statsforecast's filter, on the NIST sec. 6.4.3.6 sales (m = 4).

    statsforecast's own ``Holt`` / ``HoltWinters`` also estimate the initial trend and
    seasons, a larger box, so their optima are not a fair bound for ours."""
    y = np.array([NIST_SALES])
    if spec.season == 0:
        ours = damped_holt_forecast(y, 1) if spec.damped else holt_forecast(y, 1)
    else:
        ours = holt_winters_forecast(y, 1, season_length=M, multiplicative=spec.season == 2)
    assert not ours.failed[0]
    m = M if spec.season != 0 else 1
    assert _our_sse(y[0], ours.fitted[0]) <= _statsforecast_best_sse(y[0], spec, m) * (1 + 1e-3)


# --------------------------------------------------------------------------------------
# Combination (Comb S-H-D): mean of members fitted separately
# --------------------------------------------------------------------------------------


def test_combination_equals_mean_of_members_fitted_one_series_at_a_time() -> None:
    """Makridakis, Spiliotis & Assimakopoulos (2020) "Comb" benchmark: the arithmetic mean
    of SES, Holt and damped Holt. Each member is fitted here on each series alone (so a
    panel-level mix-up of rows or parameters would show); one series is too short for the
    trend members, which then fall back and flag the combination ``failed``."""
    y = _trend_panel(31, n=3, t=24)
    y[2, :22] = np.nan  # two observations: Holt and damped Holt fall back to SES
    h = 5
    comb = combination_forecast(y, h)
    for i in range(y.shape[0]):
        row = y[i : i + 1]
        members = [ses_forecast(row, h), holt_forecast(row, h), damped_holt_forecast(row, h)]
        expected_mean = sum(p.mean[0] for p in members) / 3.0
        expected_fitted = sum(p.fitted[0] for p in members) / 3.0
        np.testing.assert_allclose(comb.mean[i], expected_mean, rtol=1e-12)
        np.testing.assert_allclose(comb.fitted[i], expected_fitted, rtol=1e-12)
        assert comb.failed[i] == any(p.failed[0] for p in members)
        np.testing.assert_allclose(
            [comb.params[k][i] for k in ("ses_alpha", "holt_alpha", "damped_holt_alpha")],
            [p.params["alpha"][0] for p in members],
            rtol=1e-12,
        )
        np.testing.assert_allclose(comb.params["damped_holt_phi"][i], members[2].params["phi"][0])
    assert comb.failed.tolist() == [False, False, True]
