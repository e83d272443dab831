"""Croston's method, the Syntetos-Boylan approximation (SBA) and TSB for intermittent demand.

Notation (Syntetos & Boylan 2005; Teunter, Syntetos & Babai 2011): demand sizes
:math:`z`, inter-demand intervals :math:`p` (periods since the previous demand, the first one
counted from the series' first observation, so a demand in the first period has
:math:`p = 1`), occurrence :math:`o_t = 1[y_t > 0]`.

* Croston (1972): SES on the sizes and on the intervals, both updated only in periods with
  demand: :math:`\\hat z \\leftarrow \\hat z + \\alpha(z - \\hat z)`,
  :math:`\\hat p \\leftarrow \\hat p + \\alpha(p - \\hat p)`; forecast
  :math:`\\hat y = \\hat z / \\hat p`. Both SES start at their first value.
* SBA (Syntetos & Boylan 2005, eq. 8): :math:`\\hat y = (1 - \\alpha/2)\\, \\hat z / \\hat p`.
* TSB (Teunter et al. 2011, eqs. 3-5): the demand probability :math:`\\hat d` is smoothed
  every period, :math:`\\hat d \\leftarrow \\hat d + \\beta(o_t - \\hat d)`, sizes only when
  demand occurs; forecast :math:`\\hat y = \\hat d\\, \\hat z`. So TSB decays towards zero
  during long runs without demand while Croston does not.

The classic Croston and SBA use :math:`\\alpha = 0.1` (the conventional value). The optimized
Croston chooses the two smoothing constants separately in [0.1, 0.3], each minimising the
one-step squared error of its own SES (sizes / intervals), as statsforecast's
``CrostonOptimized``. TSB without given constants chooses :math:`(\\alpha, \\beta)` in
[0.01, 0.5]^2 minimising the one-step squared error of :math:`\\hat d\\, \\hat z` against
demand. Negative values count as "no demand"; NaN after the first observation is a missing
period (time passes, nothing is updated).
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np

from stockpilot.core.forecast.base import (
    FloatArray,
    ForecastModel,
    IntArray,
    PanelForecast,
    first_observation,
    make_result,
    mask_rows,
    threads_by_size,
    validate_panel,
)
from stockpilot.core.forecast.models._optim import grid_points, minimize_box
from stockpilot.errors import parameter_error

CROSTON_ALPHA = 0.1
CROSTON_OPT_BOUNDS = (0.1, 0.3)
TSB_BOUNDS = (0.01, 0.5)


@numba.njit(cache=True, parallel=True)
def _event_ses_sse(
    y: FloatArray, start: IntArray, alpha: FloatArray, intervals: bool
) -> FloatArray:
    """SSE of SES over the demand sizes (or intervals) of each row, per candidate alpha.

    Candidates of a row are updated side by side (the event sequence is shared)."""
    n, t_len = y.shape
    g_len = alpha.shape[1]
    out = np.zeros((n, g_len))
    for i in numba.prange(n):
        lev = np.zeros(g_len)
        sse = np.zeros(g_len)
        a = alpha[i]
        k = 0
        q = 0
        for t in range(start[i], t_len):
            q += 1
            v = y[i, t]
            if not (v > 0.0):
                continue
            x = float(q) if intervals else v
            if k == 0:
                for g in range(g_len):
                    lev[g] = x
            else:
                for g in range(g_len):
                    e = x - lev[g]
                    sse[g] += e * e
                    lev[g] += a[g] * e
            k += 1
            q = 0
        for g in range(g_len):
            out[i, g] = sse[g]
    return out


@numba.njit(cache=True, parallel=True)
def _croston_run(
    y: FloatArray, start: IntArray, alpha_z: FloatArray, alpha_p: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fitted z/p (N, T) and the final size and interval levels (N,) (NaN if no demand)."""
    n, t_len = y.shape
    fitted = np.full((n, t_len), np.nan)
    z_out = np.full(n, np.nan)
    p_out = np.full(n, np.nan)
    for i in numba.prange(n):
        z = 0.0
        p = 1.0
        k = 0
        q = 0
        for t in range(start[i], t_len):
            if t > start[i]:
                fitted[i, t] = z / p if k > 0 else 0.0
            q += 1
            v = y[i, t]
            if np.isnan(v):
                fitted[i, t] = np.nan
            if not (v > 0.0):
                continue
            if k == 0:
                z = v
                p = float(q)
            else:
                z += alpha_z[i] * (v - z)
                p += alpha_p[i] * (q - p)
            k += 1
            q = 0
        if k > 0:
            z_out[i] = z
            p_out[i] = p
    return fitted, z_out, p_out


@numba.njit(cache=True, parallel=True)
def _tsb_scores(
    y: FloatArray, start: IntArray, alpha_d: FloatArray, alpha_p: FloatArray
) -> FloatArray:
    """One-step SSE of TSB per (row, candidate); candidates of a row updated side by side."""
    n, t_len = y.shape
    g_len = alpha_d.shape[1]
    out = np.full((n, g_len), np.inf)
    for i in numba.prange(n):
        s = start[i]
        if s >= t_len:
            continue
        ad = alpha_d[i]
        ap = alpha_p[i]
        z = np.zeros(g_len)
        d = np.zeros(g_len)
        sse = np.zeros(g_len)
        seen = False
        for t in range(s, t_len):
            v = y[i, t]
            if np.isnan(v):
                continue
            o = 1.0 if v > 0.0 else 0.0
            if t == s:
                for g in range(g_len):
                    d[g] = o
            elif seen:
                for g in range(g_len):
                    e = v - d[g] * z[g]
                    sse[g] += e * e
                    d[g] += ap[g] * (o - d[g])
            else:
                for g in range(g_len):
                    sse[g] += v * v
                    d[g] += ap[g] * (o - d[g])
            if o > 0.0:
                if seen:
                    for g in range(g_len):
                        z[g] += ad[g] * (v - z[g])
                else:
                    for g in range(g_len):
                        z[g] = v
                    seen = True
        for g in range(g_len):
            out[i, g] = sse[g]
    return out


@numba.njit(cache=True, inline="always")
def _tsb_step(  # noqa: PLR0917
    d: float, z: float, seen: bool, v: float, ad: float, ap: float
) -> tuple[float, float, bool]:
    """One observed period of TSB: demand probability ``d``, size ``z`` (``seen``: a
    demand has occurred), after the value ``v``."""
    d += ap * ((1.0 if v > 0.0 else 0.0) - d)
    if seen:
        # a select, not a branch: whether a period has demand is not predictable
        moved = z + ad * (v - z)
        return d, moved if v > 0.0 else z, True
    if v > 0.0:
        return d, v, True
    return d, z, False


@numba.njit(cache=True, parallel=True)
def _tsb_run(
    y: FloatArray, start: IntArray, alpha_d: FloatArray, alpha_p: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Fitted d*z (N, T) and the final forecast d*z (N,) (NaN for rows without data)."""
    n, t_len = y.shape
    fitted = np.full((n, t_len), np.nan)
    out = np.full(n, np.nan)
    for i in numba.prange(n):
        s = start[i]  # observed: the first finite value
        if s >= t_len:
            continue
        ad = alpha_d[i]
        ap = alpha_p[i]
        v = y[i, s]
        d = 1.0 if v > 0.0 else 0.0
        z = v if v > 0.0 else 0.0
        seen = v > 0.0
        for t in range(s + 1, t_len):
            v = y[i, t]
            if np.isnan(v):
                continue
            fitted[i, t] = d * z if seen else 0.0
            d, z, seen = _tsb_step(d, z, seen, v, ad, ap)
        out[i] = d * z if seen else 0.0
    return fitted, out


def _optimize_event_alpha(y: FloatArray, start: IntArray, *, intervals: bool) -> FloatArray:
    lo, hi = CROSTON_OPT_BOUNDS
    # Centre first: on a flat objective (e.g. two demands give one error whatever alpha)
    # the tie goes to the middle of the bounds, as a golden-section search ends there.
    pts = np.linspace(lo, hi, 21)
    grid = pts[np.argsort(np.abs(pts - (lo + hi) / 2), kind="stable")][:, None]

    def objective(x: FloatArray) -> FloatArray:
        return _event_ses_sse(y, start, np.ascontiguousarray(x[..., 0]), intervals)

    best = minimize_box(
        objective,
        y.shape[0],
        lower=np.array([lo]),
        upper=np.array([hi]),
        grid=grid,
        iterations=6,
        initial_step=np.array([(hi - lo) / 40]),
    )
    return best.x[:, 0]


def _croston_family(
    model: ForecastModel, y: FloatArray, h: int, *, optimized: bool, debias: bool
) -> PanelForecast:
    start = first_observation(y)
    n = y.shape[0]
    if optimized:
        alpha_z = _optimize_event_alpha(y, start, intervals=False)
        alpha_p = _optimize_event_alpha(y, start, intervals=True)
    else:
        alpha_z = np.full(n, CROSTON_ALPHA)
        alpha_p = np.full(n, CROSTON_ALPHA)
    return _croston_result(model, y, h, start, alpha_z, alpha_p, debias=debias)


def _croston_result(  # noqa: PLR0917
    model: ForecastModel,
    y: FloatArray,
    h: int,
    start: IntArray,
    alpha_z: FloatArray,
    alpha_p: FloatArray,
    *,
    debias: bool,
) -> PanelForecast:
    n = y.shape[0]
    fitted, z, p = _croston_run(y, start, alpha_z, alpha_p)
    fc = z / p
    factor = 1.0 - alpha_p / 2.0 if debias else np.ones(n)
    fc = fc * factor
    fitted = fitted * factor[:, None]
    no_demand = ~np.isfinite(fc)
    fc = np.where(no_demand, 0.0, fc)
    failed = start >= y.shape[1]
    mean = np.repeat(fc[:, None], h, axis=1)
    params = {
        "alpha_size": np.where(no_demand, np.nan, alpha_z),
        "alpha_interval": np.where(no_demand, np.nan, alpha_p),
        "size": z,
        "interval": p,
    }
    return make_result(model, y, mean=mean, fitted=fitted, params=params, failed=failed)


@threads_by_size
def croston_forecast(y: FloatArray, h: int, *, optimized: bool = False) -> PanelForecast:
    """Croston's method, :math:`\\hat y = \\hat z / \\hat p` (Croston 1972).

    ``optimized=False``: :math:`\\alpha = 0.1` for both SES (statsforecast ``CrostonClassic``).
    ``optimized=True``: each constant in [0.1, 0.3] by minimum one-step SSE of its own SES
    (statsforecast ``CrostonOptimized``). A row without demand forecasts 0 (not a failure);
    a row without any observation forecasts 0 and is flagged ``failed``.

    Examples
    --------
    >>> import numpy as np
    >>> r = croston_forecast(np.array([[0.0, 4.0, 0.0, 0.0, 2.0]]), 1)
    >>> round(float(r.mean[0, 0]), 4)  # z: 4 -> 3.8, p: 2 -> 2.1
    1.8095
    """
    y = validate_panel(y, h, 1, owner="croston_forecast")
    model = ForecastModel.CROSTON_OPTIMIZED if optimized else ForecastModel.CROSTON
    return _croston_family(model, y, h, optimized=optimized, debias=False)


@threads_by_size
def sba_forecast(y: FloatArray, h: int) -> PanelForecast:
    """Syntetos-Boylan approximation :math:`(1 - \\alpha/2)\\hat z/\\hat p`, :math:`\\alpha = 0.1`.

    Syntetos & Boylan (2005), *Int. J. Forecasting* 21(2), eq. 8; equals statsforecast's
    ``CrostonSBA`` (0.95 x Croston classic).
    """
    y = validate_panel(y, h, 1, owner="sba_forecast")
    return _croston_family(ForecastModel.SBA, y, h, optimized=False, debias=True)


@threads_by_size
def tsb_forecast(
    y: FloatArray,
    h: int,
    *,
    alpha_d: float | None = None,
    alpha_p: float | None = None,
    warm_start: Mapping[str, FloatArray] | None = None,
) -> PanelForecast:
    """Teunter-Syntetos-Babai method :math:`\\hat y = \\hat d\\,\\hat z` (Teunter et al. 2011).

    Parameters
    ----------
    alpha_d
        Smoothing constant of the demand *sizes* (statsforecast's ``alpha_d``).
    alpha_p
        Smoothing constant of the demand *probability* (statsforecast's ``alpha_p``;
        :math:`\\beta` in Teunter et al.).
        Give both or neither; with neither, both are optimized per series in [0.01, 0.5]
        (minimum one-step SSE against demand).
    warm_start
        ``params`` (``alpha_d``, ``alpha_p``) of an earlier fit of every row, e.g. on a
        shorter part of the same series: the optimization is a short local search from
        them (3 compass iterations at 2 step sizes, no grid).
    """
    y = validate_panel(y, h, 1, owner="tsb_forecast")
    if (alpha_d is None) != (alpha_p is None):
        raise parameter_error(
            "tsb_forecast",
            "alpha_d" if alpha_d is None else "alpha_p",
            "given together with the other smoothing constant (or both left None)",
            None,
        )
    for name, val in (("alpha_d", alpha_d), ("alpha_p", alpha_p)):
        if val is not None and not (isinstance(val, float | int) and 0.0 < float(val) <= 1.0):
            raise parameter_error("tsb_forecast", name, "a float in (0, 1]", val)
    start = first_observation(y)
    n = y.shape[0]
    if alpha_d is None or alpha_p is None:
        lo, hi = TSB_BOUNDS

        def objective(x: FloatArray) -> FloatArray:
            return _tsb_scores(
                y, start, np.ascontiguousarray(x[..., 0]), np.ascontiguousarray(x[..., 1])
            )

        axis = np.array([0.02, 0.05, 0.1, 0.2, 0.4])
        warm = None if warm_start is None else _given(warm_start, ("alpha_d", "alpha_p"), n)
        best = minimize_box(
            objective,
            n,
            lower=np.array([lo, lo]),
            upper=np.array([hi, hi]),
            grid=grid_points([axis, axis]),
            iterations=4 if warm is None else 3,
            scales=4 if warm is None else 2,
            initial_step=np.array([0.04, 0.04]) if warm is None else np.array([0.02, 0.02]),
            x0=warm,
        )
        ad = best.x[:, 0].copy()
        ap = best.x[:, 1].copy()
    else:
        ad = np.full(n, float(alpha_d))
        ap = np.full(n, float(alpha_p))
    return _tsb_result(y, h, start, ad, ap)


@threads_by_size
def tsb_origin_forecasts(
    y: FloatArray,
    ends: IntArray,
    *,
    alpha_d: float,
    alpha_p: float,
    divisor: FloatArray | None = None,
) -> FloatArray:
    """TSB's flat forecast at several origins in one pass: column ``k`` of the (N, K)
    result is what ``tsb_forecast(y[:, :ends[k]] / divisor[:ends[k]], h, alpha_d=alpha_d,
    alpha_p=alpha_p)`` forecasts for every step (0 where a row has no observation before
    the origin). ``divisor`` (T,) divides each column of ``y`` (none: 1).

    >>> y = np.array([[4.0, 0.0, 2.0, 6.0]])
    >>> tsb_origin_forecasts(y, np.array([2, 4]), alpha_d=0.5, alpha_p=0.5).tolist()
    [[2.0, 3.9375]]
    """
    arr = np.ascontiguousarray(y, dtype=np.float64)
    at = np.ascontiguousarray(ends, dtype=np.int64)
    if at.size and (at.min() < 1 or at.max() > arr.shape[1]):
        raise parameter_error(
            "tsb_origin_forecasts", "ends", f"origins in 1..{arr.shape[1]}", at.tolist()
        )
    scale = np.ones(arr.shape[1]) if divisor is None else np.ascontiguousarray(divisor)
    order = np.argsort(at, kind="stable")
    out = np.empty((arr.shape[0], at.size))
    out[:, order] = _tsb_at_origins(
        arr, first_observation(arr), float(alpha_d), float(alpha_p), at[order], scale
    )
    return out


@numba.njit(cache=True, parallel=True)
def _tsb_at_origins(  # noqa: PLR0917
    y: FloatArray, start: IntArray, ad: float, ap: float, ends: IntArray, divisor: FloatArray
) -> FloatArray:
    """:func:`_tsb_run`'s recursion on ``y / divisor``, its forecast recorded at each end
    (``ends`` sorted)."""
    n, t_len = y.shape
    k_len = ends.size
    out = np.zeros((n, k_len))
    scale = 1.0 / divisor
    for i in numba.prange(n):
        s = start[i]
        k = 0
        while k < k_len and ends[k] <= s:
            k += 1  # origins before the first observation forecast 0
        if s >= t_len:
            continue
        v = y[i, s] * scale[s]
        d = 1.0 if v > 0.0 else 0.0
        z = v if v > 0.0 else 0.0
        seen = v > 0.0
        for t in range(s + 1, t_len):
            if k < k_len and ends[k] == t:
                out[i, k] = d * z if seen else 0.0
                k += 1
            v = y[i, t] * scale[t]
            if np.isnan(v):
                continue
            d, z, seen = _tsb_step(d, z, seen, v, ad, ap)
        if k < k_len:
            out[i, k] = d * z if seen else 0.0  # the end at t_len
    return out


def _tsb_result(
    y: FloatArray, h: int, start: IntArray, ad: FloatArray, ap: FloatArray
) -> PanelForecast:
    fitted, fc = _tsb_run(y, start, ad, ap)
    failed = start >= y.shape[1]
    fc = np.where(failed, 0.0, fc)
    mean = np.repeat(fc[:, None], h, axis=1)
    params = {"alpha_d": np.where(failed, np.nan, ad), "alpha_p": np.where(failed, np.nan, ap)}
    return make_result(ForecastModel.TSB, y, mean=mean, fitted=fitted, params=params, failed=failed)


def _given(params: Mapping[str, FloatArray], names: tuple[str, ...], n: int) -> FloatArray:
    """(N, len(names)) parameters of an earlier fit; a row with any NaN is all NaN."""
    cols = np.stack([np.asarray(params[k], dtype=np.float64).reshape(n) for k in names], axis=1)
    return np.where(np.isfinite(cols).all(axis=1, keepdims=True), cols, np.nan)


@threads_by_size
def tsb_refilter(y: FloatArray, h: int, params: Mapping[str, FloatArray]) -> PanelForecast:
    """TSB with the per-row ``alpha_d``/``alpha_p`` of an earlier fit (no estimation).

    Rows whose constants are missing (NaN) are flagged ``failed`` with NaN forecasts, for
    the caller to fit. Rows with constants give exactly what :func:`tsb_forecast` gives
    with those constants.
    """
    y = validate_panel(y, h, 1, owner="tsb_refilter")
    n = y.shape[0]
    given = _given(params, ("alpha_d", "alpha_p"), n)
    bad = ~np.isfinite(given[:, 0])
    start = first_observation(y)
    out = _tsb_result(y, h, start, np.where(bad, 0.1, given[:, 0]), np.where(bad, 0.1, given[:, 1]))
    return mask_rows(out, bad)


@threads_by_size
def croston_optimized_refilter(
    y: FloatArray, h: int, params: Mapping[str, FloatArray]
) -> PanelForecast:
    """Optimized Croston with the per-row ``alpha_size``/``alpha_interval`` of an earlier
    fit (no estimation); rows without them are ``failed`` with NaN forecasts. A row
    without demand at the fit has NaN constants and is fitted by the caller."""
    y = validate_panel(y, h, 1, owner="croston_optimized_refilter")
    n = y.shape[0]
    given = _given(params, ("alpha_size", "alpha_interval"), n)
    bad = ~np.isfinite(given[:, 0])
    start = first_observation(y)
    out = _croston_result(
        ForecastModel.CROSTON_OPTIMIZED,
        y,
        h,
        start,
        np.where(bad, CROSTON_ALPHA, given[:, 0]),
        np.where(bad, CROSTON_ALPHA, given[:, 1]),
        debias=False,
    )
    return mask_rows(out, bad)
