"""Benchmark methods: naive, seasonal naive and moving average (no parameters to smooth).

All three are closed-form over the whole (N, T) matrix: no loop over series or time.
References: Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.
(FPP3), sec. 5.2 "Some simple forecasting methods".
"""

from __future__ import annotations

import numpy as np

from stockpilot.core.forecast.base import (
    FloatArray,
    ForecastModel,
    IntArray,
    PanelForecast,
    first_observation,
    make_result,
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


def _naive_parts(y: FloatArray) -> tuple[FloatArray, FloatArray]:
    filled = forward_fill(y)
    fitted = lag(filled, 1)
    fitted[~np.isfinite(y)] = np.nan
    return filled[:, -1], fitted


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
    # Last value seen at each phase of the season (missing values carry the season's last).
    phases = np.stack([forward_fill(y[:, p::m])[:, -1] for p in range(m)], axis=1)
    col = (t + np.arange(h)) % m
    mean = phases[:, col]
    fitted = lag(y, m)
    fitted[~np.isfinite(y)] = np.nan
    start = first_observation(y)
    failed = (t - start) < m
    fallback = np.repeat(np.where(np.isfinite(last_naive), last_naive, 0.0)[:, None], h, axis=1)
    mean = np.where(failed[:, None] | ~np.isfinite(mean), fallback, mean)
    fitted = np.where(failed[:, None], naive_fitted, fitted)
    return make_result(
        ForecastModel.SEASONAL_NAIVE, y, mean=mean, fitted=fitted, params={}, failed=failed
    )


def _window_means(y: FloatArray, w: int) -> tuple[FloatArray, FloatArray]:
    """(fitted, forecast) of the moving average of the last ``w`` observations."""
    finite = np.isfinite(y)
    vals = np.where(finite, y, 0.0)
    csum = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(vals, axis=1)], axis=1)
    ccnt = np.concatenate(
        [np.zeros((y.shape[0], 1), dtype=np.int64), np.cumsum(finite, axis=1)], axis=1
    )
    t = y.shape[1]
    lo = np.maximum(np.arange(t + 1) - w, 0)
    win_sum = csum - csum[:, lo]
    win_cnt = ccnt - ccnt[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = win_sum / win_cnt
    # avg[:, t] is the mean of y[:, t-w:t]: the one-step forecast of y[:, t].
    fitted = np.where(win_cnt[:, :t] == w, avg[:, :t], np.nan)
    fitted[~finite] = np.nan
    # The forecast uses the last w observations, or all of them when fewer exist.
    total_cnt = ccnt[:, -1]
    last_sum = csum[:, -1] - csum[:, np.maximum(t - w, 0)]
    last_cnt = ccnt[:, -1] - ccnt[:, np.maximum(t - w, 0)]
    with np.errstate(invalid="ignore", divide="ignore"):
        forecast = np.where(last_cnt > 0, last_sum / last_cnt, np.nan)
    forecast = np.where(total_cnt > 0, forecast, np.nan)
    return fitted, forecast


def moving_average_forecast(
    y: FloatArray, h: int, *, window: int | None = None, windows: tuple[int, ...] = DEFAULT_WINDOWS
) -> PanelForecast:
    """Moving average of the last :math:`w` observations, flat over the horizon.

    :math:`\\hat y_{T+k|T} = \\frac{1}{w} \\sum_{j=0}^{w-1} y_{T-j}` (FPP3 sec. 3.3 / 5.2).
    With ``window=None`` each series gets the window from ``windows`` with the lowest in-sample
    one-step mean squared error, scored over the periods where every candidate that fits the
    series (``w <= n_obs // 2``) has a forecast; ``params["window"]`` reports the choice.
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
    n, t = y.shape
    start = first_observation(y)
    n_obs = np.isfinite(y).sum(axis=1)
    results = [_window_means(y, w) for w in cands]
    if len(cands) == 1:
        choice: IntArray = np.zeros(n, dtype=np.int64)
    else:
        warr = np.array(cands)
        fits = warr[None, :] <= np.maximum(n_obs // 2, 1)[:, None]
        fits[:, 0] = True
        wmax = np.max(np.where(fits, warr[None, :], 0), axis=1)
        score_from = start + wmax
        cols = np.arange(t)[None, :]
        mses = np.empty((n, len(cands)))
        for j, (fit, _) in enumerate(results):
            err = np.where(cols >= score_from[:, None], y - fit, np.nan)
            ok = np.isfinite(err)
            cnt = ok.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mses[:, j] = np.where(ok, err * err, 0.0).sum(axis=1) / cnt
        mses = np.where(fits & np.isfinite(mses), mses, np.inf)
        choice = np.argmin(mses, axis=1).astype(np.int64)
    fitted_all = np.stack([r[0] for r in results], axis=0)
    fc_all = np.stack([r[1] for r in results], axis=0)
    rows = np.arange(n)
    fitted = fitted_all[choice, rows]
    forecast = fc_all[choice, rows]
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
