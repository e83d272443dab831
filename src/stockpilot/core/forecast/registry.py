"""One entry point for every model: ``fit_predict(model, y, h, season_length=...)``;
``refilter`` reruns a model with the parameters of an earlier fit (no estimation)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from stockpilot.core.forecast.base import FloatArray, ForecastModel, PanelForecast
from stockpilot.errors import choice_error

_Kernel = Callable[[FloatArray, int, int], PanelForecast]
_Refilter = Callable[[FloatArray, int, int, Mapping[str, FloatArray]], PanelForecast]


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


def _refilter_table() -> dict[ForecastModel, _Refilter]:
    from stockpilot.core.forecast.models import aggregation, intermittent, naive, smoothing
    from stockpilot.core.forecast.models._state_space import EtsSpec
    from stockpilot.core.forecast.models.holt_winters import (
        HW_ADDITIVE_SPEC,
        HW_MULTIPLICATIVE_SPEC,
    )

    def ets(model: ForecastModel, spec: EtsSpec) -> _Refilter:
        return lambda y, h, m, p: smoothing.ets_refilter(
            y, h, p, model=model, spec=spec, season_length=m
        )

    fit = _table()

    def rerun(model: ForecastModel) -> _Refilter:
        # nothing is estimated: running the model again is its filter
        return lambda y, h, m, p: fit[model](y, h, m)

    F = ForecastModel
    return {
        F.NAIVE: rerun(F.NAIVE),
        F.SEASONAL_NAIVE: rerun(F.SEASONAL_NAIVE),
        F.CROSTON: rerun(F.CROSTON),
        F.SBA: rerun(F.SBA),
        F.MOVING_AVERAGE: lambda y, h, m, p: naive.moving_average_refilter(y, h, p),
        F.SES: ets(F.SES, smoothing.SES_SPEC),
        F.HOLT: ets(F.HOLT, smoothing.HOLT_SPEC),
        F.DAMPED_HOLT: ets(F.DAMPED_HOLT, smoothing.DAMPED_SPEC),
        F.HOLT_WINTERS_ADDITIVE: ets(F.HOLT_WINTERS_ADDITIVE, HW_ADDITIVE_SPEC),
        F.HOLT_WINTERS_MULTIPLICATIVE: ets(F.HOLT_WINTERS_MULTIPLICATIVE, HW_MULTIPLICATIVE_SPEC),
        F.CROSTON_OPTIMIZED: lambda y, h, m, p: intermittent.croston_optimized_refilter(y, h, p),
        F.TSB: lambda y, h, m, p: intermittent.tsb_refilter(y, h, p),
        F.ADIDA: lambda y, h, m, p: aggregation.adida_refilter(y, h, p),
    }


def available_models() -> tuple[ForecastModel, ...]:
    """Models ``fit_predict`` can run, in enum order."""
    table = _table()
    return tuple(m for m in ForecastModel if m in table)


def _warm_table() -> dict[ForecastModel, tuple[tuple[str, ...], _Refilter]]:
    """Models whose fit can start from earlier parameters: (parameters needed, kernel)."""
    from stockpilot.core.forecast.models import intermittent, smoothing

    F = ForecastModel
    return {
        F.SES: (
            ("alpha", "initial_level"),
            lambda y, h, m, p: smoothing.ses_forecast(y, h, warm_start=p),
        ),
        F.HOLT: (
            ("alpha", "beta", "initial_level"),
            lambda y, h, m, p: smoothing.holt_forecast(y, h, warm_start=p),
        ),
        F.DAMPED_HOLT: (
            ("alpha", "beta", "phi", "initial_level"),
            lambda y, h, m, p: smoothing.damped_holt_forecast(y, h, warm_start=p),
        ),
        F.TSB: (
            ("alpha_d", "alpha_p"),
            lambda y, h, m, p: intermittent.tsb_forecast(y, h, warm_start=p),
        ),
    }


def fit_predict(
    model: ForecastModel | str,
    y: FloatArray,
    h: int,
    *,
    season_length: int = 1,
    warm_start: Mapping[str, FloatArray] | None = None,
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
    warm_start
        ``params`` of an earlier fit of the same model, row for row (e.g. on a shorter part
        of the same series). SES, Holt, damped Holt and TSB then estimate each row with a
        short local search from its earlier parameters instead of a grid search (rows
        with missing parameters get the full search); other models ignore it.

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
    arr = np.asarray(y, dtype=np.float64)
    warm = _warm_table().get(key) if warm_start is not None else None
    if warm is None or warm_start is None or arr.ndim != 2:
        return table[key](arr, h, season_length)
    names, kernel = warm
    n = arr.shape[0]
    if any(k not in warm_start for k in names):
        return table[key](arr, h, season_length)
    cols = np.stack([np.asarray(warm_start[k], dtype=np.float64).reshape(n) for k in names])
    usable: np.ndarray = np.asarray(np.isfinite(cols).all(axis=0), dtype=bool)
    if usable.all():
        return kernel(arr, h, season_length, warm_start)
    if not usable.any():
        return table[key](arr, h, season_length)
    given = {k: np.asarray(warm_start[k], dtype=np.float64).reshape(n)[usable] for k in names}
    hot = kernel(np.ascontiguousarray(arr[usable]), h, season_length, given)
    cold = table[key](np.ascontiguousarray(arr[~usable]), h, season_length)
    return _stack_rows(usable, hot, cold)


def _stack_rows(first: np.ndarray, a: PanelForecast, b: PanelForecast) -> PanelForecast:
    """One result from ``a`` (the rows where ``first``) and ``b`` (the other rows)."""
    n = first.size

    def put(x: np.ndarray, z: np.ndarray) -> np.ndarray:
        out = np.empty((n, *x.shape[1:]), dtype=np.result_type(x, z))
        out[first] = x
        out[~first] = z
        return out

    keys = list(dict.fromkeys([*a.params, *b.params]))
    na, nb = int(first.sum()), n - int(first.sum())
    return PanelForecast(
        model=a.model,
        mean=put(a.mean, b.mean),
        fitted=put(a.fitted, b.fitted),
        residual_sd=put(a.residual_sd, b.residual_sd),
        params={
            k: put(
                np.asarray(a.params.get(k, np.full(na, np.nan)), dtype=np.float64),
                np.asarray(b.params.get(k, np.full(nb, np.nan)), dtype=np.float64),
            )
            for k in keys
        },
        failed=put(
            a.failed if a.failed.size == na else np.zeros(na, dtype=bool),
            b.failed if b.failed.size == nb else np.zeros(nb, dtype=bool),
        ),
    )


def refilter(
    model: ForecastModel | str,
    y: FloatArray,
    h: int,
    params: Mapping[str, FloatArray],
    *,
    season_length: int = 1,
) -> PanelForecast | None:
    """Run ``model`` on every row of ``y`` with the parameters of an earlier fit.

    Nothing is estimated: the smoothing constants, initial level, moving-average window or
    aggregation level of each row are taken from ``params`` (the ``params`` of an earlier
    :func:`fit_predict` result of the same model, row for row, typically on a shorter part
    of the same series) and only the model's filter runs, which costs one pass over the
    data instead of an optimization. Models without estimated parameters (naive, seasonal
    naive, Croston, SBA) simply run again.

    Parameters
    ----------
    model
        A :class:`~stockpilot.core.forecast.base.ForecastModel` or its string value.
    y
        (N, T) float64 demand matrix; leading NaNs mark series not launched yet.
    h
        Forecast horizon in periods.
    params
        Per-row parameters, each an (N,) array; a row with NaN parameters is not run.
    season_length
        Periods per season :math:`m` (seasonal models).

    Returns
    -------
    PanelForecast or None
        ``None`` when the model cannot be rerun from parameters (automatic ETS and ARIMA,
        IMAPA, combination: fit them instead). Rows without usable parameters hold NaN
        forecasts and are flagged ``failed``.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[3.0, 5.0, 4.0, 6.0, 5.0, 7.0]])
    >>> early = fit_predict("ses", y[:, :4], 1)
    >>> later = refilter("ses", y, 1, early.params)
    >>> bool(later.params["alpha"][0] == early.params["alpha"][0])
    True
    """
    try:
        key = ForecastModel(model)
    except ValueError:
        raise choice_error("refilter", "model", model, [m.value for m in ForecastModel]) from None
    table = _refilter_table()
    if key not in table:
        return None
    return table[key](np.asarray(y, dtype=np.float64), h, season_length, params)
