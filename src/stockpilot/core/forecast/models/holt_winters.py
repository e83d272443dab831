"""Holt-Winters seasonal methods, additive and multiplicative, optimized per series.

Additive (FPP3 eq. 8.6; Hyndman et al. 2008, Table 2.1, model A,A,A):
:math:`\\hat y_{t+h|t} = \\ell_t + h b_t + s_{t+h-m(k+1)}`,
:math:`\\ell_t = \\alpha(y_t - s_{t-m}) + (1-\\alpha)(\\ell_{t-1} + b_{t-1})`,
:math:`b_t = \\beta^*(\\ell_t - \\ell_{t-1}) + (1-\\beta^*)b_{t-1}`,
:math:`s_t = \\gamma(y_t - \\ell_{t-1} - b_{t-1}) + (1-\\gamma)s_{t-m}`.

Multiplicative (FPP3 eq. 8.7, model A,A,M): :math:`\\hat y_{t+h|t} = (\\ell_t + h b_t)
s_{t+h-m(k+1)}` with :math:`y_t / s_{t-m}` and :math:`y_t / (\\ell_{t-1} + b_{t-1})` in
place of the differences.

Both need at least two full seasons (:math:`2m` observations) for the initial states
(first-season mean and seasonal indices, trend from the first two seasonal means) and
minimise the one-step SSE over :math:`(\\alpha, \\beta^*, \\gamma^*)`.

Fallbacks (row flagged ``failed``): fewer than :math:`2m` observations -> damped Holt
(itself SES/naive when shorter still); multiplicative with any non-positive value ->
additive Holt-Winters.
"""

from __future__ import annotations

import numpy as np

from stockpilot.core.forecast.base import (
    FloatArray,
    ForecastModel,
    PanelForecast,
    first_observation,
    threads_by_size,
    validate_panel,
)
from stockpilot.core.forecast.models._state_space import EtsSpec, Season, fit_ets
from stockpilot.core.forecast.models.smoothing import damped_holt_forecast, merge_fallback
from stockpilot.errors import parameter_error

HW_ADDITIVE_SPEC = EtsSpec(trend=True, damped=False, season=Season.ADDITIVE)
HW_MULTIPLICATIVE_SPEC = EtsSpec(trend=True, damped=False, season=Season.MULTIPLICATIVE)


@threads_by_size
def holt_winters_forecast(
    y: FloatArray, h: int, *, season_length: int, multiplicative: bool = False
) -> PanelForecast:
    """Holt-Winters additive or multiplicative method for all rows of ``y``.

    Parameters
    ----------
    y
        (N, T) demand; leading NaNs for late starts.
    h
        Horizon.
    season_length
        :math:`m`, at least 2 (12 monthly, 52 weekly, 7 daily).
    multiplicative
        Multiplicative seasonality (needs strictly positive data).

    Returns
    -------
    PanelForecast
        ``params``: ``alpha``, ``beta`` (:math:`\\alpha\\beta^*`), ``gamma``
        (:math:`(1-\\alpha)\\gamma^*`).
    """
    owner = "holt_winters_forecast"
    y = validate_panel(y, h, season_length, owner=owner)
    if int(season_length) < 2:
        raise parameter_error(
            owner,
            "season_length",
            "an integer >= 2",
            season_length,
            hint="Use Holt or damped Holt for non-seasonal series.",
        )
    m = int(season_length)
    start = first_observation(y)
    additive = fit_ets(y, start, h, spec=HW_ADDITIVE_SPEC, season_length=m)
    add_result = merge_fallback(
        ForecastModel.HOLT_WINTERS_ADDITIVE, y, additive, lambda rows: damped_holt_forecast(rows, h)
    )
    if not multiplicative:
        return add_result
    mult = fit_ets(y, start, h, spec=HW_MULTIPLICATIVE_SPEC, season_length=m)
    result = merge_fallback(ForecastModel.HOLT_WINTERS_MULTIPLICATIVE, y, mult, add_result)
    # rows where the additive model stood in carry the additive parameters
    stand_in = result.failed
    params = {
        k: np.where(stand_in, add_result.params.get(k, np.nan), v) for k, v in result.params.items()
    }
    return PanelForecast(
        model=result.model,
        mean=result.mean,
        fitted=result.fitted,
        residual_sd=result.residual_sd,
        params=params,
        failed=result.failed,
    )
