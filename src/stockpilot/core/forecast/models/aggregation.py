"""Temporal aggregation for intermittent demand: ADIDA and IMAPA.

* ADIDA (Nikolopoulos, Syntetos, Boylan, Petropoulos & Assimakopoulos 2011, *J. Oper. Res.
  Soc.* 62(3)): sum the series into non-overlapping buckets of :math:`L` periods, aligned
  with the end of the history (the incomplete bucket at the start is dropped), forecast the
  bucket totals with SES, and spread the bucket forecast evenly:
  :math:`\\hat y_{T+k} = \\hat Y^{(L)} / L`. :math:`L` is the mean inter-demand interval,
  rounded (half to even), as in statsforecast's ``ADIDA``.
* IMAPA (Petropoulos & Kourentzes 2015, *J. Oper. Res. Soc.* 66(6)): the mean of the
  per-period ADIDA forecasts over every level :math:`L = 1, \\dots, L_{max}`, with
  :math:`L_{max}` the rounded mean interval.

The SES on bucket totals chooses :math:`\\alpha` in [0.1, 0.3] by minimum one-step SSE
(statsforecast's optimized SES), with the level started at the first bucket. The Python
loop runs over distinct aggregation levels (a handful), never over series.

``fitted`` is, for each period, the SES forecast of its bucket made at the end of the
previous bucket, divided by :math:`L` (IMAPA: averaged over levels); it is undefined in
the first bucket.
"""

from __future__ import annotations

from collections.abc import Mapping

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
from stockpilot.core.forecast.models._state_space import filter_ets, fit_ets
from stockpilot.core.forecast.models.smoothing import SES_SPEC

SES_BOUNDS = (0.1, 0.3)


def mean_interval_level(y: FloatArray, start: IntArray) -> IntArray:
    """Rounded mean inter-demand interval per row (0 where there is no demand).

    The mean of the intervals (first counted from the first observation) is
    ``(index of last demand - start + 1) / number of demands``.
    """
    t_len = y.shape[1]
    pos = np.where(np.isfinite(y) & (y > 0), y, 0.0) > 0
    count = pos.sum(axis=1)
    last = t_len - 1 - np.argmax(pos[:, ::-1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (last - start + 1) / count
    level = np.where(count > 0, np.round(mean), 0)
    return level.astype(np.int64)


def _aggregate(y: FloatArray, level: int) -> FloatArray:
    """Bucket totals (N, T // level) aligned with the end; a bucket with a NaN is NaN."""
    n, t_len = y.shape
    k = t_len // level
    tail = y[:, t_len - k * level :]
    return tail.reshape(n, k, level).sum(axis=2)


def _ses_level_forecast(
    y: FloatArray, level: int, alpha: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-period ADIDA forecast (N,), fitted (N, T) and SES alpha (N,) at one aggregation
    level; ``alpha`` given: the SES runs with it (no estimation)."""
    n, t_len = y.shape
    agg = _aggregate(y, level)
    start = first_observation(agg)
    if alpha is None:
        fit = fit_ets(
            agg,
            start,
            1,
            spec=SES_SPEC,
            alpha_bounds=SES_BOUNDS,
            iterations=6,
            optimize_level=False,
        )
    else:
        fit = filter_ets(
            agg, start, 1, spec=SES_SPEC, alpha=alpha, beta=np.zeros(n), gamma=np.zeros(n),
            phi=np.ones(n),
        )  # fmt: skip
    rows = np.arange(n)
    single = (~fit.ok) & (start < agg.shape[1])
    fc = np.where(fit.ok, fit.mean[:, 0], np.nan)
    # One bucket only: SES forecast is that bucket (statsforecast does the same).
    fc = np.where(single, agg[rows, np.minimum(start, agg.shape[1] - 1)], fc)
    fitted = np.full((n, t_len), np.nan)
    offset = t_len - agg.shape[1] * level
    fitted[:, offset:] = np.repeat(fit.fitted / level, level, axis=1)
    return fc / level, fitted, fit.alpha


def _intermittent_rows(y: FloatArray) -> tuple[IntArray, IntArray, np.ndarray, np.ndarray]:
    start = first_observation(y)
    level = mean_interval_level(y, start)
    no_data = start >= y.shape[1]
    no_demand = (level == 0) & ~no_data
    return start, level, no_data, no_demand


@threads_by_size
def adida_forecast(y: FloatArray, h: int) -> PanelForecast:
    """ADIDA point forecasts: SES on bucket totals at the mean-interval level, spread evenly.

    A row without demand forecasts 0; a row without observations forecasts 0 and is
    flagged ``failed``. ``params["aggregation_level"]`` reports :math:`L`.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[0.0, 2.0, 0.0, 2.0, 0.0, 2.0]])  # L = 2, buckets all total 2
    >>> adida_forecast(y, 2).mean.tolist()
    [[1.0, 1.0]]
    """
    y = validate_panel(y, h, 1, owner="adida_forecast")
    _, level, no_data, no_demand = _intermittent_rows(y)
    return _adida_result(y, h, level, no_data, no_demand)


def _adida_result(  # noqa: PLR0917
    y: FloatArray,
    h: int,
    level: IntArray,
    no_data: np.ndarray,
    no_demand: np.ndarray,
    alpha: FloatArray | None = None,
) -> PanelForecast:
    n, t_len = y.shape
    fc = np.zeros(n)
    fitted = np.full((n, t_len), np.nan)
    alpha_out = np.full(n, np.nan)
    for lv in np.unique(level[level > 0]):
        rows = np.flatnonzero(level == lv)
        f, fit, a = _ses_level_forecast(y[rows], int(lv), None if alpha is None else alpha[rows])
        fc[rows] = f
        fitted[rows] = fit
        alpha_out[rows] = a
    fitted[no_demand] = np.where(np.isfinite(y[no_demand]), 0.0, np.nan)
    fc = np.where(np.isfinite(fc), fc, 0.0)
    mean = np.repeat(fc[:, None], h, axis=1)
    params = {
        "aggregation_level": np.where(level > 0, level, np.nan).astype(np.float64),
        "alpha": alpha_out,
    }
    return make_result(
        ForecastModel.ADIDA, y, mean=mean, fitted=fitted, params=params, failed=no_data
    )


@threads_by_size
def adida_refilter(y: FloatArray, h: int, params: Mapping[str, FloatArray]) -> PanelForecast:
    """ADIDA with the per-row aggregation level and SES ``alpha`` of an earlier fit (no
    estimation; the buckets are re-aligned with the end of ``y``).

    Rows without an SES ``alpha`` from the fit (no demand there, or a single bucket) are
    flagged ``failed`` with NaN forecasts, for the caller to fit.
    """
    y = validate_panel(y, h, 1, owner="adida_refilter")
    n = y.shape[0]
    level = np.asarray(params["aggregation_level"], dtype=np.float64).reshape(n)
    alpha = np.asarray(params["alpha"], dtype=np.float64).reshape(n)
    bad = ~(np.isfinite(level) & (level >= 1) & np.isfinite(alpha))
    start = first_observation(y)
    no_data = start >= y.shape[1]
    lv = np.where(bad, 0, level).astype(np.int64)
    out = _adida_result(y, h, lv, no_data, np.zeros(n, dtype=bool), np.where(bad, 0.2, alpha))
    bad = bad | ~np.isfinite(out.mean).all(axis=1)
    return mask_rows(out, bad)


@threads_by_size
def imapa_forecast(y: FloatArray, h: int) -> PanelForecast:
    """IMAPA point forecasts: mean of the ADIDA forecasts at levels 1..L_max.

    ``params["max_aggregation_level"]`` reports :math:`L_{max}`. Rows without demand or
    observations are handled as in :func:`adida_forecast`.
    """
    y = validate_panel(y, h, 1, owner="imapa_forecast")
    n, t_len = y.shape
    _, level, no_data, no_demand = _intermittent_rows(y)
    total = np.zeros(n)
    fitted_sum = np.zeros((n, t_len))
    fitted_cnt = np.zeros((n, t_len))
    for lv in range(1, int(level.max(initial=0)) + 1):
        rows = np.flatnonzero(level >= lv)
        f, fit, _ = _ses_level_forecast(y[rows], lv)
        total[rows] += np.where(np.isfinite(f), f, 0.0)
        ok = np.isfinite(fit)
        fitted_sum[rows] += np.where(ok, fit, 0.0)
        fitted_cnt[rows] += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        fc = np.where(level > 0, total / level, 0.0)
        # A period's fitted value averages the levels that have one for it.
        fitted = np.where(fitted_cnt > 0, fitted_sum / fitted_cnt, np.nan)
    fitted[no_demand] = np.where(np.isfinite(y[no_demand]), 0.0, np.nan)
    mean = np.repeat(fc[:, None], h, axis=1)
    params = {"max_aggregation_level": np.where(level > 0, level, np.nan).astype(np.float64)}
    return make_result(
        ForecastModel.IMAPA, y, mean=mean, fitted=fitted, params=params, failed=no_data
    )
