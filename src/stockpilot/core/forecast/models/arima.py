"""Automatic non-seasonal ARIMA(p, d, q) for many series: KPSS differencing, Hannan-Rissanen
estimation, AICc order selection.

For every series (compiled loop, no Python per series):

1. **Differencing** :math:`d \\in \\{0, 1, 2\\}`: difference while the KPSS level-stationarity
   statistic (Kwiatkowski, Phillips, Schmidt & Shin 1992, eq. 11 with Bartlett weights and
   the short lag :math:`\\lfloor 3\\sqrt{n}/13 \\rfloor`) exceeds the 5 % critical value 0.463,
   as in Hyndman & Khandakar (2008), *J. Stat. Softw.* 27(3), sec. 3.2.
2. **Estimation** of each :math:`(p, q) \\in \\{0,1,2\\}^2`, with and without a constant
   (mean if :math:`d = 0`, drift if :math:`d = 1`; none if :math:`d = 2`), by the
   Hannan-Rissanen (1982) two-step regression: a long AR(:math:`k`) fit by least squares
   gives innovation estimates :math:`\\hat e_t` (:math:`k = \\min(8, \\lfloor n/4\\rfloor)`),
   then :math:`w_t = c + \\sum_i \\phi_i w_{t-i} + \\sum_j \\theta_j \\hat e_{t-j} + e_t` by
   least squares. Residuals are then recomputed by the conditional-sum-of-squares (CSS)
   recursion :math:`e_t = w_t - c - \\sum_i\\phi_i w_{t-i} - \\sum_j\\theta_j e_{t-j}`.
3. **Selection**: the lowest AICc :math:`= n\\log(2\\pi\\hat\\sigma^2) + n + 2k + 2k(k+1)/(n-k-1)`,
   :math:`k = p + q + [c] + 1`, scored over the same periods (:math:`t \\ge 2` of the
   differenced series) for every order. Non-stationary or non-invertible fits (AR/MA
   polynomial roots inside the unit circle, checked with the order-2 triangle conditions)
   are rejected.

Differences from Hyndman-Khandakar's ``auto.arima`` / statsforecast's ``AutoARIMA``: no
seasonal part (no seasonal differencing, no seasonal AR/MA terms), an exhaustive search of
the small grid instead of the stepwise search over larger orders, and Hannan-Rissanen/CSS
estimates instead of exact maximum likelihood (so the AICc is the CSS approximation).
Missing values after the first observation are carried forward before fitting. Series with
fewer than 10 observations, or where no order is admissible, fall back to SES/naive and
are flagged ``failed``.
"""

from __future__ import annotations

import numba
import numpy as np

from stockpilot.core.forecast.base import (
    FloatArray,
    ForecastModel,
    IntArray,
    PanelForecast,
    first_observation,
    make_result,
    threads_by_size,
    validate_panel,
)
from stockpilot.core.forecast.models.naive import forward_fill
from stockpilot.core.forecast.models.smoothing import ses_forecast

KPSS_CRITICAL_5PCT = 0.463
MIN_OBSERVATIONS = 10
#: Columns of the per-series parameter matrix returned by the kernel.
PARAM_NAMES = ("p", "d", "q", "constant", "ar1", "ar2", "ma1", "ma2", "sigma2", "aicc")


@numba.njit(cache=True)
def _kpss(x: FloatArray) -> float:
    n = x.shape[0]
    mu = x.mean()
    e = x - mu
    s = 0.0
    eta = 0.0
    for t in range(n):
        s += e[t]
        eta += s * s
    eta /= n * n
    lags = int(3.0 * np.sqrt(n) / 13.0)
    s2 = (e * e).sum() / n
    for k in range(1, lags + 1):
        w = 1.0 - k / (lags + 1.0)
        acc = 0.0
        for t in range(k, n):
            acc += e[t] * e[t - k]
        s2 += 2.0 * w * acc / n
    if s2 <= 1e-12:
        return 0.0
    return float(eta / s2)


@numba.njit(cache=True)
def _lstsq(X: FloatArray, z: FloatArray) -> FloatArray:
    k = X.shape[1]
    xtx = np.zeros((k, k))
    xtz = np.zeros(k)
    for r in range(X.shape[0]):
        for a in range(k):
            xtz[a] += X[r, a] * z[r]
            for b in range(k):
                xtx[a, b] += X[r, a] * X[r, b]
    for a in range(k):
        xtx[a, a] += 1e-9 * (1.0 + xtx[a, a])
    return _cholesky_solve(xtx, xtz)


@numba.njit(cache=True)
def _cholesky_solve(A: FloatArray, b: FloatArray) -> FloatArray:
    """Solve the small symmetric positive definite system A x = b (normal equations)."""
    k = A.shape[0]
    L = np.zeros((k, k))
    for j in range(k):
        acc = A[j, j]
        for r in range(j):
            acc -= L[j, r] * L[j, r]
        L[j, j] = np.sqrt(max(acc, 1e-300))
        for i in range(j + 1, k):
            acc = A[i, j]
            for r in range(j):
                acc -= L[i, r] * L[j, r]
            L[i, j] = acc / L[j, j]
    z = np.zeros(k)
    for i in range(k):
        acc = b[i]
        for r in range(i):
            acc -= L[i, r] * z[r]
        z[i] = acc / L[i, i]
    x = np.zeros(k)
    for i in range(k - 1, -1, -1):
        acc = z[i]
        for r in range(i + 1, k):
            acc -= L[r, i] * x[r]
        x[i] = acc / L[i, i]
    return x


@numba.njit(cache=True)
def _admissible(c1: float, c2: float) -> bool:
    """Roots of 1 - c1 B - c2 B^2 outside the unit circle (triangle conditions)."""
    return (c1 + c2 < 1.0) and (c2 - c1 < 1.0) and (abs(c2) < 1.0)


@numba.njit(cache=True)
def _css(  # noqa: PLR0917 (numba has no keyword-only parameters)
    w: FloatArray, c: float, ar: FloatArray, ma: FloatArray, p: int, q: int
) -> FloatArray:
    n = w.shape[0]
    e = np.zeros(n)
    for t in range(p, n):
        v = w[t] - c
        for i in range(p):
            v -= ar[i] * w[t - 1 - i]
        for j in range(q):
            if t - 1 - j >= 0:
                v -= ma[j] * e[t - 1 - j]
        e[t] = v
    return e


@numba.njit(cache=True)
def _auto_arima(  # noqa: PLR0917 (numba has no keyword-only parameters)
    x_all: FloatArray, start: IntArray, h: int, max_p: int, max_q: int, crit: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n_series, t_len = x_all.shape
    mean = np.full((n_series, h), np.nan)
    fitted = np.full((n_series, t_len), np.nan)
    params = np.full((n_series, 10), np.nan)
    for i in range(n_series):
        s = start[i]
        if t_len - s < MIN_OBSERVATIONS:
            continue
        m_i, f_i, p_i = _arima_one(x_all[i, s:].copy(), h, max_p, max_q, crit)
        mean[i] = m_i
        fitted[i, s:] = f_i
        params[i] = p_i
    return mean, fitted, params


@numba.njit(cache=True)
def _arima_one(
    x: FloatArray, h: int, max_p: int, max_q: int, crit: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Auto ARIMA of one series ``x`` (no NaN): forecasts (h,), fitted (n,), params (10,)."""
    n = x.shape[0]
    mean = np.full(h, np.nan)
    fitted = np.full(n, np.nan)
    # 1. differencing by KPSS
    d = 0
    w = x.copy()
    while d < 2 and w.shape[0] > MIN_OBSERVATIONS and _kpss(w) > crit:
        w = w[1:] - w[:-1]
        d += 1
    nw = w.shape[0]
    # 2. long AR for innovations (Hannan-Rissanen step 1)
    k_long = min(8, nw // 4)
    ehat = np.zeros(nw)
    if k_long >= 1:
        rows = nw - k_long
        X = np.ones((rows, k_long + 1))
        for r in range(rows):
            t = r + k_long
            for j in range(k_long):
                X[r, j + 1] = w[t - 1 - j]
        beta = _lstsq(X, w[k_long:])
        for t in range(k_long, nw):
            v = w[t] - beta[0]
            for j in range(k_long):
                v -= beta[j + 1] * w[t - 1 - j]
            ehat[t] = v
    best_aicc = np.inf
    best = np.zeros(10)
    best_e = np.zeros(nw)
    best_ar = np.zeros(2)
    best_ma = np.zeros(2)
    best_c = 0.0
    score_from = 2
    for p in range(max_p + 1):
        for q in range(max_q + 1):
            for with_c in range(2):
                if with_c == 1 and d == 2:
                    continue
                first = max(p, q + k_long if q > 0 else p)
                rows = nw - first
                ncol = p + q + with_c
                ar = np.zeros(2)
                ma = np.zeros(2)
                c = 0.0
                if ncol > 0:
                    if rows <= ncol + 2:
                        continue
                    X = np.empty((rows, ncol))
                    for r in range(rows):
                        t = r + first
                        col = 0
                        if with_c == 1:
                            X[r, col] = 1.0
                            col += 1
                        for a in range(p):
                            X[r, col] = w[t - 1 - a]
                            col += 1
                        for b in range(q):
                            X[r, col] = ehat[t - 1 - b]
                            col += 1
                    beta = _lstsq(X, w[first:])
                    col = 0
                    if with_c == 1:
                        c = beta[0]
                        col = 1
                    for a in range(p):
                        ar[a] = beta[col]
                        col += 1
                    for b in range(q):
                        ma[b] = beta[col]
                        col += 1
                if not _admissible(ar[0], ar[1]) or not _admissible(-ma[0], -ma[1]):
                    continue
                e = _css(w, c, ar, ma, p, q)
                ne = nw - score_from
                k = p + q + with_c + 1
                if ne - k - 1 <= 0:
                    continue
                sse = 0.0
                for t in range(score_from, nw):
                    sse += e[t] * e[t]
                sigma2 = max(sse / ne, 1e-12)
                aicc = ne * np.log(2.0 * np.pi * sigma2) + ne + 2.0 * k
                aicc += 2.0 * k * (k + 1.0) / (ne - k - 1.0)
                if aicc < best_aicc:
                    best_aicc = aicc
                    best_e = e
                    best_ar = ar
                    best_ma = ma
                    best_c = c
                    best[0] = p
                    best[1] = d
                    best[2] = q
                    best[3] = c if with_c == 1 else np.nan
                    best[4] = ar[0] if p >= 1 else np.nan
                    best[5] = ar[1] if p >= 2 else np.nan
                    best[6] = ma[0] if q >= 1 else np.nan
                    best[7] = ma[1] if q >= 2 else np.nan
                    best[8] = sigma2
                    best[9] = aicc
    if not np.isfinite(best_aicc):
        return mean, fitted, best * np.nan
    p = int(best[0])
    q = int(best[2])
    # in-sample one-step forecasts: x_t - e_t (w index j <-> x index j + d)
    for j in range(score_from, nw):
        fitted[j + d] = x[j + d] - best_e[j]
    # 3. forecasts of w, then undifference d times
    wf = np.zeros(nw + h)
    ef = np.zeros(nw + h)
    wf[:nw] = w
    ef[:nw] = best_e
    for j in range(nw, nw + h):
        v = best_c
        for a in range(p):
            v += best_ar[a] * wf[j - 1 - a]
        for b in range(q):
            v += best_ma[b] * ef[j - 1 - b]
        wf[j] = v
    fc = wf[nw:].copy()
    # undifference: rebuild the levels of each differencing stage from its last value
    for level in range(d, 0, -1):
        base = x.copy()
        for _ in range(level - 1):
            base = base[1:] - base[:-1]
        last = base[-1]
        for j in range(h):
            last += fc[j]
            fc[j] = last
    return fc, fitted, best


@threads_by_size
def auto_arima_forecast(y: FloatArray, h: int, *, max_p: int = 2, max_q: int = 2) -> PanelForecast:
    """Automatic ARIMA(p, d, q) per series (see the module docstring for the procedure).

    Parameters
    ----------
    y
        (N, T) demand, leading NaNs for late starts.
    h
        Horizon.
    max_p, max_q
        Largest AR and MA orders searched (0, 1 or 2).

    Returns
    -------
    PanelForecast
        ``params``: ``p``, ``d``, ``q``, ``constant`` (NaN if none), ``ar1``, ``ar2``,
        ``ma1``, ``ma2`` (NaN where absent, sign convention
        :math:`w_t = c + \\sum\\phi_i w_{t-i} + \\sum\\theta_j e_{t-j} + e_t`), ``sigma2``,
        ``aicc``.
    """
    from stockpilot.errors import parameter_error

    y = validate_panel(y, h, 1, owner="auto_arima_forecast")
    for name, val in (("max_p", max_p), ("max_q", max_q)):
        if isinstance(val, bool) or not isinstance(val, int) or not 0 <= val <= 2:
            raise parameter_error("auto_arima_forecast", name, "0, 1 or 2", val)
    start = first_observation(y)
    filled = np.ascontiguousarray(forward_fill(y))
    mean, fitted, par = _auto_arima(filled, start, int(h), max_p, max_q, KPSS_CRITICAL_5PCT)
    fitted[~np.isfinite(y)] = np.nan
    ok = np.isfinite(par[:, 9]) & np.isfinite(mean).all(axis=1)
    bad = np.flatnonzero(~ok)
    if bad.size:
        fallback = ses_forecast(np.ascontiguousarray(y[bad]), h)
        mean[bad] = fallback.mean
        fitted[bad] = fallback.fitted
    params = {name: np.where(ok, par[:, j], np.nan) for j, name in enumerate(PARAM_NAMES)}
    return make_result(
        ForecastModel.AUTO_ARIMA, y, mean=mean, fitted=fitted, params=params, failed=~ok
    )
