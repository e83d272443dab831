"""Forecast combination: the equal-weight mean of SES, Holt and damped Holt ("Comb S-H-D").

This is the combination benchmark of the M3 and M4 competitions (Makridakis, Spiliotis &
Assimakopoulos 2020, *Int. J. Forecasting* 36(1), "Comb" benchmark), a hard-to-beat
baseline for smooth demand (Petropoulos et al. 2022, "Forecasting: theory and practice",
sec. 2.6). Each member is optimized per series as in :mod:`.smoothing`; the combined
``fitted`` is the mean of the members' one-step forecasts.
"""

from __future__ import annotations

import numpy as np

from stockpilot.core.forecast.base import (
    FloatArray,
    ForecastModel,
    PanelForecast,
    make_result,
    threads_by_size,
    validate_panel,
)
from stockpilot.core.forecast.models.smoothing import (
    damped_holt_forecast,
    holt_forecast,
    ses_forecast,
)

MEMBERS = (ForecastModel.SES, ForecastModel.HOLT, ForecastModel.DAMPED_HOLT)


@threads_by_size
def combination_forecast(y: FloatArray, h: int) -> PanelForecast:
    """Mean of the SES, Holt and damped Holt forecasts, :math:`(\\hat y^S + \\hat y^H + \\hat y^D)/3`.

    A row is flagged ``failed`` when any member fell back (e.g. fewer than 3 observations:
    then Holt and damped Holt are themselves SES/naive and the mean equals it).
    ``params`` holds each member's ``alpha`` as ``ses_alpha``, ``holt_alpha``,
    ``damped_holt_alpha`` and the damped member's ``damped_holt_phi``.
    """
    y = validate_panel(y, h, 1, owner="combination_forecast")
    parts = [ses_forecast(y, h), holt_forecast(y, h), damped_holt_forecast(y, h)]
    mean = np.mean([p.mean for p in parts], axis=0)
    fitted = np.mean([p.fitted for p in parts], axis=0)
    failed = np.any([p.failed for p in parts], axis=0)
    params = {
        "ses_alpha": parts[0].params["alpha"],
        "holt_alpha": parts[1].params["alpha"],
        "damped_holt_alpha": parts[2].params["alpha"],
        "damped_holt_phi": parts[2].params["phi"],
    }
    return make_result(
        ForecastModel.COMBINATION, y, mean=mean, fitted=fitted, params=params, failed=failed
    )
