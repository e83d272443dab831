"""Seasonality test: does a series' autocorrelation at the seasonal lag stand out?

The test of the M4 competition's statistical benchmarks (Makridakis, Spiliotis and
Assimakopoulos 2020, "The M4 Competition: 100,000 time series and 61 forecasting
methods", International Journal of Forecasting 36(1)): a series of n observations with
season length m is seasonal when n >= 3m and its sample autocorrelation at lag m exceeds
the large-lag limit

.. math:: |r_m| > \\frac{z}{\\sqrt n}\\sqrt{1 + 2\\sum_{k=1}^{m-1} r_k^2}

(Bartlett's variance of r_m under the hypothesis that autocorrelations beyond lag m - 1
vanish; z = 1.645 in M4, a two-sided 90 % test). ``r_k`` is the usual estimate
(R's ``acf``): the lag-k sum of products of deviations from the mean over the sum of
squared deviations.

All series in one call: autocovariances of every lag by FFT, row-wise. Leading NaNs
(series not launched yet) and inner NaNs (missing periods) drop out of the sums.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import fft, stats

from stockpilot.errors import InvalidDataError, parameter_error

__all__ = ["MIN_SEASONS", "autocorrelation", "seasonality_test"]

#: Seasons of history the test needs; shorter series are not called seasonal.
MIN_SEASONS = 3


def autocorrelation(y: ArrayLike, max_lag: int) -> NDArray[np.float64]:
    """Sample autocorrelations ``r_1 .. r_max_lag`` of every row of ``y`` (N, T).

    NaNs drop out (their deviations count as 0, the mean is over observed values); a
    constant or empty row gives NaN.

    >>> autocorrelation([[1.0, 2.0, 1.0, 2.0]], 2).round(3).tolist()
    [[-0.75, 0.5]]
    """
    arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if arr.ndim != 2:
        raise InvalidDataError(f"autocorrelation: y must be (N, T); got {arr.shape}.")
    if isinstance(max_lag, bool) or int(max_lag) < 1:
        raise parameter_error("autocorrelation", "max_lag", "a positive integer", max_lag)
    n, t = arr.shape
    lags = min(int(max_lag), max(t - 1, 0))
    out = np.full((n, int(max_lag)), np.nan)
    if n == 0 or lags == 0:
        return out
    obs = ~np.isnan(arr)
    count = obs.sum(axis=1)
    total = np.where(obs, arr, 0.0).sum(axis=1)
    mean = np.divide(total, count, out=np.zeros(n), where=count > 0)
    dev = np.where(obs, arr - mean[:, None], 0.0)
    # zero padding to t + lags: no circular wrap-around up to the largest lag asked
    size = fft.next_fast_len(t + lags, real=True)
    spec = fft.rfft(dev, n=size, axis=1)
    acov = fft.irfft(spec * np.conj(spec), n=size, axis=1)[:, : lags + 1]
    c0 = acov[:, 0]
    ok = c0 > 1e-12 * np.maximum((dev * dev).max(axis=1, initial=0.0), 1.0)
    out[ok, :lags] = acov[ok, 1:] / c0[ok, None]
    return out


def seasonality_test(y: ArrayLike, season_length: int, *, level: float = 0.9) -> NDArray[np.bool_]:
    """Which rows of ``y`` (N, T) are seasonal with period ``season_length`` (M4's test).

    Parameters
    ----------
    y
        Demand, one series per row; NaN marks periods without an observation.
    season_length
        Periods per season m; m = 1 is never seasonal.
    level
        Confidence of the two-sided test (0.9: z = 1.645, as in M4).

    Returns
    -------
    (N,) bool: observed at least ``MIN_SEASONS`` x m periods and ``|r_m|`` above its limit.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48)
    >>> seasonality_test(np.vstack([10 + 5 * np.sin(2 * np.pi * t / 12), 10 + t % 2]), 12).tolist()
    [True, False]
    """
    if not 0.0 < float(level) < 1.0:
        raise parameter_error("seasonality_test", "level", "a float in (0, 1)", level)
    if isinstance(season_length, bool) or int(season_length) < 1:
        raise parameter_error("seasonality_test", "season_length", "an integer >= 1", season_length)
    arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    m = int(season_length)
    if arr.ndim != 2:
        raise InvalidDataError(f"seasonality_test: y must be (N, T); got {arr.shape}.")
    n_obs = (~np.isnan(arr)).sum(axis=1)
    seasonal = np.zeros(arr.shape[0], dtype=bool)
    long = np.flatnonzero(n_obs >= MIN_SEASONS * m) if m > 1 else np.zeros(0, dtype=np.int64)
    if long.size == 0:
        return seasonal
    first = int((np.cumsum(~np.isnan(arr[long]), axis=1) == 0).sum(axis=1).min())
    r = autocorrelation(arr[long, first:], m)
    z = float(stats.norm.ppf(0.5 + float(level) / 2.0))
    spread = 1.0 + 2.0 * np.sum(r[:, : m - 1] ** 2, axis=1)
    limit = z / np.sqrt(n_obs[long]) * np.sqrt(spread)
    with np.errstate(invalid="ignore"):
        seasonal[long] = np.abs(r[:, m - 1]) > limit
    return seasonal
