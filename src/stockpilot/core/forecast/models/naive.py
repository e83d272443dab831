"""Benchmark methods: naive, seasonal naive and moving average (no parameters to smooth).

All three are closed-form over the whole (N, T) matrix: no loop over series or time.
References: Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.
(FPP3), sec. 5.2 "Some simple forecasting methods".
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
    threads_by_size,
    validate_panel,
)
from stockpilot.errors import parameter_error

#: Windows tried when ``moving_average_forecast`` chooses the window itself.
DEFAULT_WINDOWS: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 26, 52)


def forward_fill(y: FloatArray) -> FloatArray:
    """Carry the last finite value of each row forward (NaN before the first one)."""
    n, t = y.shape
    idx = np.where(np.isfinite(y), np.arange(t), -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = y[np.arange(n)[:, None], np.maximum(idx, 0)]
    out[idx < 0] = np.nan
    return out


def lag(x: FloatArray, k: int) -> FloatArray:
    """Shift columns right by ``k`` (NaN-filled): ``out[:, t] = x[:, t - k]``."""
    out = np.full_like(x, np.nan)
    if k < x.shape[1]:
        out[:, k:] = x[:, : x.shape[1] - k]
    return out


@numba.njit(cache=True, parallel=True)
def _naive_kernel(y: FloatArray) -> tuple[FloatArray, FloatArray]:
    n, t_len = y.shape
    last = np.full(n, np.nan)
    fitted = np.full((n, t_len), np.nan)
    for i in numba.prange(n):
        cur = np.nan
        for t in range(t_len):
            v = y[i, t]
            if not np.isnan(v):
                fitted[i, t] = cur
                cur = v
        last[i] = cur
    return last, fitted


@numba.njit(cache=True, parallel=True)
def _seasonal_kernel(y: FloatArray, m: int) -> tuple[FloatArray, FloatArray]:
    """Last value seen at each season phase (N, m), indexed by ``t % m``, and the
    one-step forecasts y_{t-m} (N, T) (NaN where y_t or y_{t-m} is missing)."""
    n, t_len = y.shape
    phases = np.full((n, m), np.nan)
    fitted = np.full((n, t_len), np.nan)
    for i in numba.prange(n):
        for t in range(t_len):
            v = y[i, t]
            if np.isnan(v):
                continue
            if t >= m:
                fitted[i, t] = y[i, t - m]
            phases[i, t % m] = v
    return phases, fitted


def _naive_parts(y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Last observation (N,) and one-step naive forecasts (N, T)."""
    return _naive_kernel(np.ascontiguousarray(y))


@threads_by_size
def naive_forecast(y: FloatArray, h: int) -> PanelForecast:
    """Naive method: every future period equals the last observation.

    :math:`\\hat y_{T+k|T} = y_T` (FPP3 eq. 5.2 context, "naive method"). Rows without any
    observation forecast 0 and are flagged ``failed``.

    Examples
    --------
    >>> import numpy as np
    >>> naive_forecast(np.array([[np.nan, 1.0, 3.0, 2.0]]), 2).mean.tolist()
    [[2.0, 2.0]]
    """
    y = validate_panel(y, h, 1, owner="naive_forecast")
    last, fitted = _naive_parts(y)
    failed = ~np.isfinite(last)
    last = np.where(failed, 0.0, last)
    mean = np.repeat(last[:, None], h, axis=1)
    return make_result(ForecastModel.NAIVE, y, mean=mean, fitted=fitted, params={}, failed=failed)


@threads_by_size
def seasonal_naive_forecast(y: FloatArray, h: int, *, season_length: int) -> PanelForecast:
    """Seasonal naive: each future period equals the last observed value of its season.

    :math:`\\hat y_{T+k|T} = y_{T+k-m(\\lfloor (k-1)/m \\rfloor + 1)}` (FPP3 sec. 5.2, with
    :math:`m` the season length). A row with fewer than ``m`` observations falls back to the
    naive method and is flagged ``failed``.
    """
    y = validate_panel(y, h, season_length, owner="seasonal_naive_forecast")
    m = int(season_length)
    n, t = y.shape
    last_naive, naive_fitted = _naive_parts(y)
    if m > t:
        failed = np.ones(n, dtype=np.bool_)
        mean = np.repeat(np.where(np.isfinite(last_naive), last_naive, 0.0)[:, None], h, axis=1)
        return make_result(
            ForecastModel.SEASONAL_NAIVE,
            y,
            mean=mean,
            fitted=naive_fitted,
            params={},
            failed=failed,
        )
    phases, fitted = _seasonal_kernel(y, m)
    col = (t + np.arange(h)) % m
    mean = phases[:, col]
    start = first_observation(y)
    failed = (t - start) < m
    fallback = np.repeat(np.where(np.isfinite(last_naive), last_naive, 0.0)[:, None], h, axis=1)
    mean = np.where(failed[:, None] | ~np.isfinite(mean), fallback, mean)
    fitted = np.where(failed[:, None], naive_fitted, fitted)
    return make_result(
        ForecastModel.SEASONAL_NAIVE, y, mean=mean, fitted=fitted, params={}, failed=failed
    )


@numba.njit(cache=True)
def _has_gap(y_row: FloatArray, s: int) -> bool:
    """Whether the row misses a period (NaN) from ``s`` on."""
    for t in range(s, y_row.shape[0]):  # noqa: SIM110 (a compiled loop, no generator)
        if np.isnan(y_row[t]):
            return True
    return False


@numba.njit(cache=True)
def _window_pass(
    y_row: FloatArray, s: int, w: int, score_from: int, fitted_out: FloatArray
) -> tuple[float, float]:
    """Rolling mean of the previous ``w`` periods for one row: (SSE from ``score_from``,
    forecast). Writes the one-step forecasts into ``fitted_out`` (NaN unless all ``w``
    periods of the window are observed)."""
    t_len = y_row.shape[0]
    run = 0.0
    cnt = 0
    sse = 0.0
    if _has_gap(y_row, s):
        for t in range(s, t_len):
            # window = y[t-w : t]
            if t - 1 >= s:
                v = y_row[t - 1]
                if np.isfinite(v):
                    run += v
                    cnt += 1
            if t - 1 - w >= s:
                v = y_row[t - 1 - w]
                if np.isfinite(v):
                    run -= v
                    cnt -= 1
            if cnt == w and np.isfinite(y_row[t]):
                f = run / w
                fitted_out[t] = f
                if t >= score_from:
                    e = y_row[t] - f
                    sse += e * e
    else:  # as in _window_sses: the same sums, without the counts
        for t in range(s + 1, t_len):
            run += y_row[t - 1]
            if t - 1 - w >= s:
                run -= y_row[t - 1 - w]
            if t - s >= w:
                f = run / w
                fitted_out[t] = f
                if t >= score_from:
                    e = y_row[t] - f
                    sse += e * e
    # forecast: mean of the observed values among the last w periods
    tot = 0.0
    c = 0
    for t in range(max(s, t_len - w), t_len):
        v = y_row[t]
        if np.isfinite(v):
            tot += v
            c += 1
    return sse, (tot / c if c > 0 else np.nan)


@numba.njit(cache=True)
def _window_sses(
    y_row: FloatArray, s: int, windows: IntArray, n_fit: int, score_from: int
) -> FloatArray:
    """In-sample SSE (from ``score_from``) of the first ``n_fit`` windows for one row, in
    one pass over the periods: each window keeps its own running sum, updated with the same
    operations in the same order as :func:`_window_pass`, so every SSE is bit-identical to
    that window's own pass (which the search used to make once per window)."""
    if _has_gap(y_row, s):
        return _window_sses_with_gaps(y_row, s, windows, n_fit, score_from)
    t_len = y_row.shape[0]
    # No missing period after the start (the usual row): every period enters each window
    # and leaves it w periods later, and a window is full from period s + w on. The sums
    # take the same operations in the same order as with gaps, so the SSEs are identical.
    run = np.zeros(n_fit)
    sse = np.zeros(n_fit)
    for t in range(s + 1, t_len):
        v_in = y_row[t - 1]
        y_t = y_row[t]
        scored = t >= score_from
        for j in range(n_fit):
            w = windows[j]
            run[j] += v_in
            if t - 1 - w >= s:
                run[j] -= y_row[t - 1 - w]
            if scored and t - s >= w:
                e = y_t - run[j] / w
                sse[j] += e * e
    return sse


@numba.njit(cache=True)
def _window_sses_with_gaps(
    y_row: FloatArray, s: int, windows: IntArray, n_fit: int, score_from: int
) -> FloatArray:
    """:func:`_window_sses` of a row with missing periods (NaN) after its start: a window
    is full only when all its periods are observed."""
    t_len = y_row.shape[0]
    run = np.zeros(n_fit)
    cnt = np.zeros(n_fit, dtype=np.int64)
    sse = np.zeros(n_fit)
    for t in range(s, t_len):
        entering = t - 1 >= s and np.isfinite(y_row[t - 1])
        v_in = y_row[t - 1] if entering else 0.0
        y_t = y_row[t]
        observed = np.isfinite(y_t)
        for j in range(n_fit):
            w = windows[j]
            if entering:
                run[j] += v_in
                cnt[j] += 1
            if t - 1 - w >= s:
                v = y_row[t - 1 - w]
                if np.isfinite(v):
                    run[j] -= v
                    cnt[j] -= 1
            if cnt[j] == w and observed and t >= score_from:
                e = y_t - run[j] / w
                sse[j] += e * e
    return sse


@numba.njit(cache=True, parallel=True)
def _moving_average(
    y: FloatArray, start: IntArray, windows: IntArray
) -> tuple[FloatArray, FloatArray, IntArray]:
    n, t_len = y.shape
    n_w = windows.shape[0]
    fitted = np.full((n, t_len), np.nan)
    forecast = np.full(n, np.nan)
    choice = np.zeros(n, dtype=np.int64)
    for i in numba.prange(n):
        s = start[i]
        if s >= t_len:
            continue
        limit = max((t_len - s) // 2, 1)
        wmax = windows[0]
        for j in range(n_w):
            if windows[j] <= limit and windows[j] > wmax:
                wmax = windows[j]
        best = np.inf
        bj = 0
        if n_w > 1:
            # the windows that fit the series: the first, and every later one <= limit
            n_fit = 1
            for j in range(1, n_w):
                if windows[j] <= limit:
                    n_fit = j + 1
            sses = _window_sses(y[i], s, windows, n_fit, s + wmax)
            for j in range(n_fit):
                if j > 0 and windows[j] > limit:
                    continue
                if sses[j] < best:
                    best = sses[j]
                    bj = j
        choice[i] = bj
        _, fc = _window_pass(y[i], s, windows[bj], s + wmax, fitted[i])
        forecast[i] = fc
    return fitted, forecast, choice


@threads_by_size
def moving_average_forecast(
    y: FloatArray, h: int, *, window: int | None = None, windows: tuple[int, ...] = DEFAULT_WINDOWS
) -> PanelForecast:
    """Moving average of the last :math:`w` observations, flat over the horizon.

    :math:`\\hat y_{T+k|T} = \\frac{1}{w} \\sum_{j=0}^{w-1} y_{T-j}` (FPP3 sec. 3.3 / 5.2).
    With ``window=None`` each series gets the window from ``windows`` with the lowest in-sample
    one-step squared error, scored over the same periods for every candidate that fits the
    series (``w <= n_periods // 2``; the smallest candidate always fits);
    ``params["window"]`` reports the choice. A one-step forecast exists where all ``w``
    previous periods are observed.
    A series with fewer than ``w`` observations averages what it has; one without any
    observation forecasts 0 and is flagged ``failed``.
    """
    y = validate_panel(y, h, 1, owner="moving_average_forecast")
    if window is not None:
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
            raise parameter_error("moving_average_forecast", "window", "a positive integer", window)
        cands: tuple[int, ...] = (int(window),)
    else:
        if not windows or any(int(w) < 1 for w in windows):
            raise parameter_error(
                "moving_average_forecast",
                "windows",
                "a non-empty tuple of positive integers",
                windows,
            )
        cands = tuple(sorted({int(w) for w in windows}))
    start = first_observation(y)
    fitted, forecast, choice = _moving_average(y, start, np.array(cands, dtype=np.int64))
    failed = ~np.isfinite(forecast)
    forecast = np.where(failed, 0.0, forecast)
    mean = np.repeat(forecast[:, None], h, axis=1)
    win = np.array(cands, dtype=np.float64)[choice]
    win[failed] = np.nan
    return make_result(
        ForecastModel.MOVING_AVERAGE,
        y,
        mean=mean,
        fitted=fitted,
        params={"window": win},
        failed=failed,
    )


@numba.njit(cache=True, parallel=True)
def _moving_average_given(
    y: FloatArray, start: IntArray, window: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Each row's moving average with its own ``window`` (0: none, row left NaN), in place:
    what :func:`_moving_average` gives a row with that single window, without gathering
    the rows of each window into a panel of their own and scattering the results back."""
    n, t_len = y.shape
    fitted = np.full((n, t_len), np.nan)
    forecast = np.full(n, np.nan)
    for i in numba.prange(n):
        w = window[i]
        s = start[i]
        if w < 1 or s >= t_len:
            continue
        _, forecast[i] = _window_pass(y[i], s, w, s + w, fitted[i])
    return fitted, forecast


@threads_by_size
def moving_average_refilter(
    y: FloatArray, h: int, params: Mapping[str, FloatArray]
) -> PanelForecast:
    """Moving average with the per-row ``window`` of an earlier fit (no choice made).

    Rows without a window (NaN) are flagged ``failed`` with NaN forecasts, for the caller
    to fit; the others get exactly what :func:`moving_average_forecast` gives with
    ``window=`` their window.
    """
    y = validate_panel(y, h, 1, owner="moving_average_refilter")
    n = y.shape[0]
    window = np.asarray(params["window"], dtype=np.float64).reshape(n)
    bad = ~(np.isfinite(window) & (window >= 1))
    fitted, forecast = _moving_average_given(
        y, first_observation(y), np.where(bad, 0, window).astype(np.int64)
    )
    no_obs = ~np.isfinite(forecast) & ~bad
    forecast = np.where(no_obs, 0.0, forecast)
    mean = np.repeat(forecast[:, None], h, axis=1)
    result = make_result(
        ForecastModel.MOVING_AVERAGE,
        y,
        mean=mean,
        fitted=fitted,
        params={"window": np.where(bad | no_obs, np.nan, window)},
        failed=bad | no_obs,
    )
    return result
