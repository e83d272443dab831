"""Automatic exponential smoothing: fit every sensible ETS spec to all series, keep the
lowest AICc per series.

Candidates (Hyndman et al. 2008, sec. 7.2; Hyndman & Khandakar 2008, *J. Stat. Softw.*
27(3), sec. 2): error A or M, trend N, A or Ad, season N (and, when ``season_length > 1``,
A or M). As in R's ``forecast::ets`` the numerically unstable A,*,M combinations are
excluded; multiplicative-error and multiplicative-season specs need strictly positive data;
seasonal specs need two full seasons.

Estimation per spec: :func:`._state_space.fit_ets` (maximum likelihood with sigma
concentrated out; heuristic, not optimized, initial states). AICc (Hyndman et al. 2008,
eq. 7.2) counts smoothing parameters, initial states and sigma. Differences from R's
``ets`` / statsforecast's ``AutoETS``: initial states are not estimated (they are set from
the first observations / first two seasons), the parameter search is a grid + compass
search rather than Nelder-Mead, and there is no admissibility (forecastability) check
beyond the box :math:`0<\\alpha<1`, :math:`0<\\beta<\\alpha`, :math:`0<\\gamma<1-\\alpha`,
:math:`0.8 \\le \\phi \\le 0.98`.

Rows where no spec can be fitted (fewer than about 6 observations) fall back to SES
(or naive) and are flagged ``failed``.
"""

from __future__ import annotations

import numpy as np

from stockpilot.core.forecast.base import (
    FloatArray,
    ForecastModel,
    PanelForecast,
    first_observation,
    make_result,
    threads_by_size,
    validate_panel,
)
from stockpilot.core.forecast.models._state_space import EtsFit, EtsSpec, Season, fit_ets
from stockpilot.core.forecast.models.smoothing import ses_forecast


def candidate_specs(*, seasonal: bool) -> tuple[EtsSpec, ...]:
    """The ETS specs searched by :func:`auto_ets_forecast`, labelled E,T,S (e.g. ``MAdN``)."""
    trends = ((False, False), (True, False), (True, True))
    seasons = (Season.NONE, Season.ADDITIVE, Season.MULTIPLICATIVE) if seasonal else (Season.NONE,)
    specs = []
    for mult_err in (False, True):
        for trend, damped in trends:
            for season in seasons:
                if not mult_err and season == Season.MULTIPLICATIVE:
                    continue  # A,*,M: unstable (Hyndman et al. 2008, sec. 2.5.1)
                specs.append(
                    EtsSpec(
                        trend=trend, damped=damped, season=season, multiplicative_error=mult_err
                    )
                )
    return tuple(specs)


#: Integer code of every spec label, reported per series in ``params["spec"]``.
SPEC_CODES: dict[str, int] = {s.label(): i for i, s in enumerate(candidate_specs(seasonal=True))}


@threads_by_size
def auto_ets_forecast(y: FloatArray, h: int, *, season_length: int = 1) -> PanelForecast:
    """ETS with the spec chosen per series by AICc.

    Parameters
    ----------
    y
        (N, T) demand; leading NaNs for late starts.
    h
        Horizon.
    season_length
        :math:`m`; seasonal specs are tried only when ``m > 1``.

    Returns
    -------
    PanelForecast
        ``params``: ``alpha``, ``beta``, ``gamma``, ``phi`` (NaN where the chosen spec has
        no such component; ``phi`` is 1 for an undamped trend), ``aicc`` and ``spec`` (code
        in :data:`SPEC_CODES`; :func:`spec_label` maps it back to e.g. ``"MAdN"``).
    """
    y = validate_panel(y, h, season_length, owner="auto_ets_forecast")
    m = int(season_length)
    start = first_observation(y)
    n = y.shape[0]
    fits: list[EtsFit] = [
        fit_ets(y, start, h, spec=spec, season_length=m) for spec in candidate_specs(seasonal=m > 1)
    ]
    aicc = np.stack([f.aicc() for f in fits], axis=0)  # (S, N)
    best = np.argmin(aicc, axis=0)
    rows = np.arange(n)
    best_aicc = aicc[best, rows]
    mean = np.stack([f.mean for f in fits], axis=0)[best, rows]
    fitted = np.stack([f.fitted for f in fits], axis=0)[best, rows]
    ok = np.isfinite(best_aicc) & np.isfinite(mean).all(axis=1)
    bad = np.flatnonzero(~ok)
    if bad.size:
        fallback = ses_forecast(np.ascontiguousarray(y[bad]), h)
        mean[bad] = fallback.mean
        fitted[bad] = fallback.fitted

    def pick(name: str, applies: list[bool]) -> FloatArray:
        vals = np.stack(
            [
                getattr(f, name) if a else np.full(n, np.nan)
                for f, a in zip(fits, applies, strict=True)
            ]
        )
        return np.where(ok, vals[best, rows], np.nan)

    specs = [f.spec for f in fits]
    params = {
        "alpha": pick("alpha", [True] * len(specs)),
        "beta": pick("beta", [s.trend for s in specs]),
        "gamma": pick("gamma", [s.season != Season.NONE for s in specs]),
        "phi": pick("phi", [s.trend for s in specs]),
        "aicc": np.where(ok, best_aicc, np.nan),
        "spec": np.where(
            ok, np.array([SPEC_CODES[s.label()] for s in specs], dtype=np.float64)[best], np.nan
        ),
    }
    return make_result(
        ForecastModel.AUTO_ETS, y, mean=mean, fitted=fitted, params=params, failed=~ok
    )


def spec_label(code: float) -> str:
    """ETS label (``"AAdN"`` etc.) of a ``params["spec"]`` code; ``""`` for NaN."""
    if not np.isfinite(code):
        return ""
    labels = {v: k for k, v in SPEC_CODES.items()}
    return labels[int(code)]
