"""One entry point for every model: ``fit_predict(model, y, h, season_length=...)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stockpilot.core.forecast.base import FloatArray, ForecastModel, PanelForecast
from stockpilot.errors import choice_error

_Kernel = Callable[[FloatArray, int, int], PanelForecast]


def _table() -> dict[ForecastModel, _Kernel]:
    from stockpilot.core.forecast.models import (
        aggregation,
        arima,
        combination,
        ets,
        holt_winters,
        intermittent,
        naive,
        smoothing,
    )

    table: dict[ForecastModel, _Kernel] = {
        ForecastModel.NAIVE: lambda y, h, m: naive.naive_forecast(y, h),
        ForecastModel.SEASONAL_NAIVE: lambda y, h, m: naive.seasonal_naive_forecast(
            y, h, season_length=m
        ),
        ForecastModel.MOVING_AVERAGE: lambda y, h, m: naive.moving_average_forecast(y, h),
        ForecastModel.SES: lambda y, h, m: smoothing.ses_forecast(y, h),
        ForecastModel.HOLT: lambda y, h, m: smoothing.holt_forecast(y, h),
        ForecastModel.DAMPED_HOLT: lambda y, h, m: smoothing.damped_holt_forecast(y, h),
        ForecastModel.CROSTON: lambda y, h, m: intermittent.croston_forecast(y, h),
        ForecastModel.CROSTON_OPTIMIZED: lambda y, h, m: intermittent.croston_forecast(
            y, h, optimized=True
        ),
        ForecastModel.SBA: lambda y, h, m: intermittent.sba_forecast(y, h),
        ForecastModel.TSB: lambda y, h, m: intermittent.tsb_forecast(y, h),
        ForecastModel.ADIDA: lambda y, h, m: aggregation.adida_forecast(y, h),
        ForecastModel.IMAPA: lambda y, h, m: aggregation.imapa_forecast(y, h),
        ForecastModel.HOLT_WINTERS_ADDITIVE: lambda y, h, m: holt_winters.holt_winters_forecast(
            y, h, season_length=m
        ),
        ForecastModel.HOLT_WINTERS_MULTIPLICATIVE: lambda y, h, m: (
            holt_winters.holt_winters_forecast(y, h, season_length=m, multiplicative=True)
        ),
        ForecastModel.AUTO_ARIMA: lambda y, h, m: arima.auto_arima_forecast(y, h),
        ForecastModel.AUTO_ETS: lambda y, h, m: ets.auto_ets_forecast(y, h, season_length=m),
        ForecastModel.COMBINATION: lambda y, h, m: combination.combination_forecast(y, h),
    }
    return table


def available_models() -> tuple[ForecastModel, ...]:
    """Models ``fit_predict`` can run, in enum order."""
    table = _table()
    return tuple(m for m in ForecastModel if m in table)


def fit_predict(
    model: ForecastModel | str, y: FloatArray, h: int, *, season_length: int = 1
) -> PanelForecast:
    """Fit ``model`` to every row of ``y`` and forecast ``h`` periods ahead.

    Parameters
    ----------
    model
        A :class:`~stockpilot.core.forecast.base.ForecastModel` or its string value.
    y
        (N, T) float64 demand matrix; leading NaNs mark series not launched yet.
    h
        Forecast horizon in periods (positive integer).
    season_length
        Periods per season :math:`m` (12 for monthly, 52 for weekly data; 1 = no season).
        Used by the seasonal models and the automatic selectors; ignored by the others.

    Returns
    -------
    PanelForecast
        Point forecasts (N, h), in-sample one-step forecasts (N, T), residual sd,
        per-series parameters and per-series fallback flags.

    Examples
    --------
    >>> import numpy as np
    >>> fit_predict("naive", np.array([[1.0, 2.0, 3.0]]), 2).mean.tolist()
    [[3.0, 3.0]]
    """
    table = _table()
    try:
        key = ForecastModel(model)
    except ValueError:
        raise choice_error("fit_predict", "model", model, [m.value for m in table]) from None
    if key not in table:
        raise choice_error("fit_predict", "model", model, [m.value for m in table])
    return table[key](np.asarray(y, dtype=np.float64), h, season_length)
