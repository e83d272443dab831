"""Simple exponential smoothing, Holt's linear trend and damped trend, optimized per series.

Equations (Hyndman & Athanasopoulos, FPP3, sec. 8.1-8.2; Hyndman et al. 2008, Table 2.1):

* SES: :math:`\\hat y_{t+1|t} = \\ell_t`, :math:`\\ell_t = \\alpha y_t + (1-\\alpha)\\ell_{t-1}`.
* Holt: :math:`\\hat y_{t+h|t} = \\ell_t + h b_t`,
  :math:`\\ell_t = \\alpha y_t + (1-\\alpha)(\\ell_{t-1} + b_{t-1})`,
  :math:`b_t = \\beta^*(\\ell_t - \\ell_{t-1}) + (1-\\beta^*) b_{t-1}`.
* Damped: :math:`\\hat y_{t+h|t} = \\ell_t + (\\phi + \\dots + \\phi^h) b_t`, with
  :math:`\\phi b_{t-1}` in place of :math:`b_{t-1}`.

Parameters are chosen per series by minimising the in-sample one-step SSE with the
vectorized grid + compass search of :mod:`._optim`; the initial level is the first
observation and the initial trend 0. Rows too short for a model fall back to the next
simpler one (damped/Holt -> SES -> naive) and are flagged ``failed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from stockpilot.core.forecast.base import (
    FloatArray,
    ForecastModel,
    PanelForecast,
    first_observation,
    make_result,
    threads_by_size,
    validate_panel,
)
from stockpilot.core.forecast.models._state_space import (
    ALPHA_BOUNDS,
    EtsFit,
    EtsSpec,
    EtsWarmStart,
    Season,
    filter_ets,
    fit_ets,
)
from stockpilot.core.forecast.models.naive import naive_forecast
from stockpilot.errors import parameter_error

SES_SPEC = EtsSpec(trend=False, damped=False, season=Season.NONE)
HOLT_SPEC = EtsSpec(trend=True, damped=False, season=Season.NONE)
DAMPED_SPEC = EtsSpec(trend=True, damped=True, season=Season.NONE)


def merge_fallback(
    model: ForecastModel,
    y: FloatArray,
    fit: EtsFit,
    fallback: PanelForecast | Callable[[FloatArray], PanelForecast],
) -> PanelForecast:
    """Result of ``fit`` where it applies, of ``fallback`` elsewhere (flagged ``failed``).

    ``fallback`` is either a result for all rows or a function run on the failed rows only
    (cheaper: most rows usually fit).
    """
    ok = fit.ok & np.isfinite(fit.mean).all(axis=1)
    mean = fit.mean
    fitted = fit.fitted
    bad = np.flatnonzero(~ok)
    if bad.size:
        mean, fitted = mean.copy(), fitted.copy()
        if isinstance(fallback, PanelForecast):
            fb_mean, fb_fitted = fallback.mean[bad], fallback.fitted[bad]
        else:
            fb = fallback(np.ascontiguousarray(y[bad]))
            fb_mean, fb_fitted = fb.mean, fb.fitted
        mean[bad] = fb_mean
        fitted[bad] = fb_fitted
    params: dict[str, FloatArray] = {"alpha": fit.alpha}
    if fit.spec.trend:
        params["beta"] = fit.beta
    if fit.spec.season != Season.NONE:
        params["gamma"] = fit.gamma
    if fit.spec.damped:
        params["phi"] = fit.phi
    if fit.initial_level.shape == fit.alpha.shape:
        params["initial_level"] = fit.initial_level
    params = {k: np.where(ok, v, np.nan) for k, v in params.items()}
    return make_result(model, y, mean=mean, fitted=fitted, params=params, failed=~ok)


def _check_alpha(owner: str, alpha: float | None) -> None:
    if alpha is not None and not (isinstance(alpha, float | int) and 0.0 < float(alpha) <= 1.0):
        raise parameter_error(owner, "alpha", "a float in (0, 1]", alpha)


@threads_by_size
def ses_forecast(
    y: FloatArray,
    h: int,
    *,
    alpha: float | None = None,
    alpha_bounds: tuple[float, float] = ALPHA_BOUNDS,
    warm_start: Mapping[str, FloatArray] | None = None,
) -> PanelForecast:
    """Simple exponential smoothing (FPP3 eq. 8.1), flat forecast :math:`\\ell_T`.

    Parameters
    ----------
    y
        (N, T) demand, leading NaNs for late starts.
    h
        Horizon.
    alpha
        Fixed smoothing parameter :math:`\\alpha` for every series; ``None`` (default)
        optimizes it per series within ``alpha_bounds`` (minimum one-step SSE).
    warm_start
        ``params`` of an earlier fit of every row (e.g. on a shorter part of the same
        series): the optimization is a short local search from them (see
        :func:`~._state_space.fit_ets`).

    Notes
    -----
    :math:`\\ell_1 = y_1` as in statsforecast's ``SimpleExponentialSmoothing``. A series with
    a single observation falls back to naive.

    Examples
    --------
    >>> import numpy as np
    >>> r = ses_forecast(np.array([[10.0, 12.0, 8.0]]), 1, alpha=0.5)
    >>> float(r.mean[0, 0])  # l = 10 -> 11 -> 9.5
    9.5
    """
    y = validate_panel(y, h, 1, owner="ses_forecast")
    _check_alpha("ses_forecast", alpha)
    lo, hi = alpha_bounds
    if not (0.0 < lo <= hi <= 1.0):
        raise parameter_error("ses_forecast", "alpha_bounds", "0 < low <= high <= 1", alpha_bounds)
    start = first_observation(y)
    if alpha is None:
        fit = fit_ets(
            y, start, h, spec=SES_SPEC, alpha_bounds=(lo, hi), warm_start=_warm(warm_start, y)
        )
    else:
        fit = fixed_ets(y, start, h, spec=SES_SPEC, alpha=float(alpha))
    return merge_fallback(ForecastModel.SES, y, fit, lambda rows: naive_forecast(rows, h))


def fixed_ets(
    y: FloatArray,
    start: np.ndarray,
    h: int,
    *,
    spec: EtsSpec,
    alpha: float,
    beta: float = 0.0,
    gamma: float = 0.0,
    phi: float = 1.0,
    season_length: int = 1,
) -> EtsFit:
    """Run one spec with the same fixed parameters on every applicable row (no estimation)."""
    n = y.shape[0]
    return filter_ets(
        y,
        start,
        h,
        spec=spec,
        alpha=np.full(n, alpha),
        beta=np.full(n, beta),
        gamma=np.full(n, gamma),
        phi=np.full(n, phi),
        season_length=season_length,
    )


@threads_by_size
def ets_refilter(
    y: FloatArray,
    h: int,
    params: Mapping[str, FloatArray],
    *,
    model: ForecastModel,
    spec: EtsSpec,
    season_length: int = 1,
) -> PanelForecast:
    """Rerun ``spec`` on every row of ``y`` with the parameters of an earlier fit.

    ``params`` is the ``params`` of an earlier result of the same model on the same rows
    (``alpha``, and ``beta``/``gamma``/``phi``/``initial_level`` where the spec has them),
    typically fitted on a shorter part of each series. No parameter is estimated: rows
    whose parameters are missing (NaN) come back ``failed`` with NaN forecasts, for the
    caller to fit.
    """
    y = validate_panel(y, h, season_length, owner="ets_refilter")
    n = y.shape[0]
    nan = np.full(n, np.nan)

    def get(name: str, default: float) -> FloatArray:
        return np.asarray(params.get(name, np.full(n, default)), dtype=np.float64)

    fit = filter_ets(
        y,
        first_observation(y),
        h,
        spec=spec,
        alpha=get("alpha", np.nan),
        beta=get("beta", 0.0) if spec.trend else np.zeros(n),
        gamma=get("gamma", 0.0) if spec.season != Season.NONE else np.zeros(n),
        phi=get("phi", 1.0) if spec.damped else np.ones(n),
        initial_level=get("initial_level", np.nan),
        season_length=season_length,
    )
    ok = fit.ok & np.isfinite(fit.mean).all(axis=1)
    kept = {
        k: np.where(ok, getattr(fit, k), nan)
        for k, used in (
            ("alpha", True),
            ("beta", spec.trend),
            ("gamma", spec.season != Season.NONE),
            ("phi", spec.damped),
            ("initial_level", True),
        )
        if used
    }
    return make_result(
        model,
        y,
        mean=np.where(ok[:, None], fit.mean, np.nan),
        fitted=np.where(ok[:, None], fit.fitted, np.nan),
        params=kept,
        failed=~ok,
    )


def _warm(params: Mapping[str, FloatArray] | None, y: FloatArray) -> EtsWarmStart | None:
    """Warm start of :func:`fit_ets` from an earlier fit's ``params`` (None: cold)."""
    if params is None:
        return None
    n = y.shape[0]

    def get(name: str, default: float) -> FloatArray:
        if name not in params:
            return np.full(n, default)
        return np.asarray(params[name], dtype=np.float64).reshape(n)

    return EtsWarmStart(
        alpha=get("alpha", np.nan),
        beta=get("beta", 0.0),
        gamma=get("gamma", 0.0),
        phi=get("phi", 1.0),
        initial_level=get("initial_level", np.nan),
    )


@threads_by_size
def holt_forecast(
    y: FloatArray, h: int, *, warm_start: Mapping[str, FloatArray] | None = None
) -> PanelForecast:
    """Holt's linear trend method (FPP3 eq. 8.3), parameters optimized per series.

    Needs 3 observations; shorter rows fall back to SES/naive and are flagged ``failed``.
    ``params`` holds ``alpha``, ``beta`` (:math:`\\beta = \\alpha\\beta^*`, error-correction
    form).
    """
    y = validate_panel(y, h, 1, owner="holt_forecast")
    start = first_observation(y)
    fit = fit_ets(y, start, h, spec=HOLT_SPEC, warm_start=_warm(warm_start, y))
    return merge_fallback(ForecastModel.HOLT, y, fit, lambda rows: ses_forecast(rows, h))


@threads_by_size
def damped_holt_forecast(
    y: FloatArray, h: int, *, warm_start: Mapping[str, FloatArray] | None = None
) -> PanelForecast:
    """Damped trend method (FPP3 eq. 8.4 / Gardner & McKenzie 1985), optimized per series.

    :math:`\\phi` is searched in [0.8, 0.98] (Hyndman et al. 2008, sec. 5.2 recommendation).
    Shorter rows (< 3 observations) fall back to SES/naive and are flagged ``failed``.
    """
    y = validate_panel(y, h, 1, owner="damped_holt_forecast")
    start = first_observation(y)
    fit = fit_ets(y, start, h, spec=DAMPED_SPEC, warm_start=_warm(warm_start, y))
    return merge_fallback(ForecastModel.DAMPED_HOLT, y, fit, lambda rows: ses_forecast(rows, h))
