"""Forecast accuracy, bias and value added, per series and aggregated per group.

All functions take (N, h) matrices of actuals and forecasts (NaN where a value is
missing; such cells are ignored) and return one value per series. Scaled metrics also take
the (N, T) in-sample history that defines the scale (leading NaN allowed).

Definitions follow the M5 competition guidelines (Makridakis, Spiliotis and Assimakopoulos,
"The M5 competition: Background, organization, and implementation", IJF 38(4), 2022,
appendix: RMSSE eq. (1), SPL eq. (3)) and Hyndman and Koehler (2006), "Another look at
measures of forecast accuracy", IJF 22(4) (MASE). A series whose scale is 0 (a constant
history) gets NaN for its scaled metrics; aggregates skip NaN and report how many series
they used. The scale is taken over the history as given: every recorded zero counts, as
NaN does not. The M5 data start each series at its first sale; pass NaN for the periods
before an item's launch to get that scale (explicit leading zeros lower it).

Actuals, forecasts and histories must not hold infinite values (an
:class:`~stockpilot.errors.InvalidDataError` names the rows); the history of a scaled
metric has one row per series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.errors import InvalidDataError, parameter_error

FloatArray = NDArray[np.float64]

__all__ = [
    "AccuracyReport",
    "FVAReport",
    "GroupedMetric",
    "accuracy",
    "aggregate_by",
    "bias",
    "coverage",
    "difference_scales",
    "forecast_value_added",
    "mae",
    "mase",
    "pinball_loss",
    "relative_bias",
    "rmsse",
    "scale_abs",
    "scale_sq",
    "scaled_pinball_loss",
    "tracking_signal",
    "wape",
]


def _finite_or_missing(x: FloatArray, owner: str, what: str) -> FloatArray:
    """``x`` where no value is infinite (NaN marks a missing value), else an error naming
    the rows."""
    rows = np.flatnonzero(np.isinf(x).any(axis=1))
    if rows.size:
        raise InvalidDataError(
            f"{owner}: {what} holds infinite values in {rows.size} row(s), e.g. rows "
            f"{rows[:5].tolist()}; use NaN for a missing value."
        )
    return x


def _pair(actual: ArrayLike, forecast: ArrayLike, owner: str) -> tuple[FloatArray, FloatArray]:
    a = np.atleast_2d(np.asarray(actual, dtype=np.float64))
    f = np.atleast_2d(np.asarray(forecast, dtype=np.float64))
    if a.shape != f.shape:
        raise InvalidDataError(
            f"{owner}: actual and forecast must have the same (N, h) shape; "
            f"got {a.shape} and {f.shape}."
        )
    return _finite_or_missing(a, owner, "actual"), _finite_or_missing(f, owner, "forecast")


def _history(insample: ArrayLike, n: int, owner: str) -> FloatArray:
    """The (N, T) history of a scaled metric of ``n`` series (one row per series)."""
    y = np.atleast_2d(np.asarray(insample, dtype=np.float64))
    if y.ndim != 2 or y.shape[0] != n:
        raise InvalidDataError(
            f"{owner}: the history must have one row per series ({n}); got shape {y.shape}."
        )
    return _finite_or_missing(y, owner, "the history")


def _nanmean_rows(x: FloatArray) -> FloatArray:
    ok = ~np.isnan(x)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(ok, x, 0.0).sum(axis=1) / n, np.nan)


def _check_level(level: float, owner: str) -> float:
    if not 0.0 < float(level) < 1.0:
        raise parameter_error(owner, "level", "a float in (0, 1)", level)
    return float(level)


def difference_scales(
    insample: ArrayLike, *, season_length: int = 1
) -> tuple[FloatArray, FloatArray]:
    """Both scales of the history in one pass: the mean absolute (MASE) and the mean
    squared (RMSSE) ``season_length``-step difference over observed pairs (NaN where none).

    >>> a, s = difference_scales([[0.0, 2.0, 1.0]])
    >>> a.tolist(), s.tolist()
    ([1.5], [2.5])
    """
    y = np.atleast_2d(np.asarray(insample, dtype=np.float64))
    if isinstance(season_length, bool) or int(season_length) < 1:
        raise parameter_error(
            "difference_scales", "season_length", "an integer >= 1", season_length
        )
    return _difference_scales(np.ascontiguousarray(y), int(season_length))


@numba.njit(cache=True)
def _difference_scales(y: FloatArray, m: int) -> tuple[FloatArray, FloatArray]:
    n, t_len = y.shape
    mean_abs = np.full(n, np.nan)
    mean_sq = np.full(n, np.nan)
    for i in range(n):
        s_abs = 0.0
        s_sq = 0.0
        count = 0
        for t in range(m, t_len):
            d = y[i, t] - y[i, t - m]
            if not np.isnan(d):
                s_abs += abs(d)
                s_sq += d * d
                count += 1
        if count > 0:
            mean_abs[i] = s_abs / count
            mean_sq[i] = s_sq / count
    return mean_abs, mean_sq


def scale_abs(insample: ArrayLike, *, season_length: int = 1) -> FloatArray:
    """MASE scale: mean absolute ``season_length``-step difference of the history.

    :math:`\\frac{1}{n-m}\\sum_{t=m+1}^{n}|y_t - y_{t-m}|` over observed periods.
    """
    return difference_scales(insample, season_length=season_length)[0]


def scale_sq(insample: ArrayLike, *, season_length: int = 1) -> FloatArray:
    """RMSSE scale: mean squared ``season_length``-step difference of the history."""
    return difference_scales(insample, season_length=season_length)[1]


def _safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def mae(actual: ArrayLike, forecast: ArrayLike) -> FloatArray:
    """Mean absolute error per series, :math:`\\frac1h\\sum|y_t-\\hat y_t|`.

    >>> mae([[1.0, 2.0]], [[2.0, 2.0]]).tolist()
    [0.5]
    """
    a, f = _pair(actual, forecast, "mae")
    return _nanmean_rows(np.abs(a - f))


def wape(actual: ArrayLike, forecast: ArrayLike) -> FloatArray:
    """Weighted absolute percentage error per series, :math:`\\sum|e_t| / \\sum|y_t|`.

    >>> wape([[2.0, 2.0]], [[1.0, 2.0]]).tolist()
    [0.25]
    """
    a, f = _pair(actual, forecast, "wape")
    ok = ~np.isnan(a - f)
    err = np.where(ok, np.abs(a - f), 0.0).sum(axis=1)
    return _safe_div(err, np.where(ok, np.abs(a), 0.0).sum(axis=1))


def bias(actual: ArrayLike, forecast: ArrayLike) -> FloatArray:
    """Mean error forecast minus actual per series (positive = over-forecast).

    >>> bias([[1.0, 3.0]], [[2.0, 4.0]]).tolist()
    [1.0]
    """
    a, f = _pair(actual, forecast, "bias")
    return _nanmean_rows(f - a)


def relative_bias(actual: ArrayLike, forecast: ArrayLike) -> FloatArray:
    """:math:`\\sum(\\hat y_t - y_t) / \\sum y_t` per series (NaN when actuals sum to 0)."""
    a, f = _pair(actual, forecast, "relative_bias")
    ok = ~np.isnan(a - f)
    return _safe_div(np.where(ok, f - a, 0.0).sum(axis=1), np.where(ok, a, 0.0).sum(axis=1))


def mase(
    actual: ArrayLike, forecast: ArrayLike, insample: ArrayLike, *, season_length: int = 1
) -> FloatArray:
    """Mean absolute scaled error (Hyndman and Koehler 2006, eq. 4).

    >>> mase([[3.0]], [[1.0]], [[0.0, 1.0, 0.0]]).tolist()
    [2.0]
    """
    a, f = _pair(actual, forecast, "mase")
    history = _history(insample, a.shape[0], "mase")
    return _safe_div(mae(a, f), scale_abs(history, season_length=season_length))


def rmsse(
    actual: ArrayLike, forecast: ArrayLike, insample: ArrayLike, *, season_length: int = 1
) -> FloatArray:
    """Root mean squared scaled error (M5 guidelines eq. 1).

    :math:`\\sqrt{\\frac{1}{h}\\sum(y_t-\\hat y_t)^2 / \\frac{1}{n-1}\\sum(y_t-y_{t-1})^2}`.

    >>> rmsse([[2.0, 2.0]], [[0.0, 0.0]], [[0.0, 2.0, 0.0]]).tolist()
    [1.0]
    """
    a, f = _pair(actual, forecast, "rmsse")
    history = _history(insample, a.shape[0], "rmsse")
    mse = _nanmean_rows((a - f) ** 2)
    return np.sqrt(_safe_div(mse, scale_sq(history, season_length=season_length)))


def pinball_loss(actual: ArrayLike, quantile: ArrayLike, level: float) -> FloatArray:
    """Mean pinball (quantile) loss per series at ``level`` u.

    :math:`\\frac1h\\sum (y-q)u\\,1\\{y\\ge q\\} + (q-y)(1-u)\\,1\\{q>y\\}`.

    >>> pinball_loss([[10.0, 0.0]], [[8.0, 2.0]], 0.9).tolist()
    [1.0]
    """
    u = _check_level(level, "pinball_loss")
    a, q = _pair(actual, quantile, "pinball_loss")
    d = a - q
    return _nanmean_rows(np.where(d >= 0, u * d, (u - 1.0) * d))


def scaled_pinball_loss(
    actual: ArrayLike, quantile: ArrayLike, insample: ArrayLike, level: float
) -> FloatArray:
    """Scaled pinball loss (M5 uncertainty competition, eq. 3): pinball / mean |Δy| in sample."""
    loss = pinball_loss(actual, quantile, level)
    return _safe_div(loss, scale_abs(_history(insample, loss.size, "scaled_pinball_loss")))


def coverage(actual: ArrayLike, quantile: ArrayLike) -> FloatArray:
    """Share of actuals at or below the quantile, per series (calibration of one level).

    >>> coverage([[1.0, 5.0]], [[2.0, 2.0]]).tolist()
    [0.5]
    """
    a, q = _pair(actual, quantile, "coverage")
    ok = ~np.isnan(a - q)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (ok & (a <= q)).sum(axis=1) / n, np.nan)


def tracking_signal(actual: ArrayLike, forecast: ArrayLike) -> FloatArray:
    """Tracking signal per series: cumulative error over mean absolute deviation.

    :math:`TS = \\sum (y_t-\\hat y_t) / MAD`, MAD = mean :math:`|y_t - \\hat y_t|`
    (Silver, Pyke and Thomas 2017, section 4.8.1). It lies in [-n, n]; a common limit is
    +/- 4 to 6. Positive = under-forecast. NaN when every error is 0.

    >>> tracking_signal([[2.0, 2.0, 2.0]], [[1.0, 1.0, 1.0]]).tolist()
    [3.0]
    """
    a, f = _pair(actual, forecast, "tracking_signal")
    e = a - f
    ok = ~np.isnan(e)
    cum = np.where(ok, e, 0.0).sum(axis=1)
    return _safe_div(cum, _nanmean_rows(np.abs(e)))


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class GroupedMetric:
    """One metric aggregated per group (class, author, ...): labels, values and counts."""

    labels: NDArray[Any]
    values: FloatArray
    counts: NDArray[np.int64]


def aggregate_by(
    values: ArrayLike, groups: Sequence[Any] | NDArray[Any], *, weights: ArrayLike | None = None
) -> GroupedMetric:
    """Weighted mean of a per-series metric within each group, skipping NaN.

    With ``weights = sum |y|`` per series, aggregating per-series WAPE gives the group
    WAPE :math:`\\sum|e| / \\sum|y|` exactly.

    >>> g = aggregate_by([1.0, 3.0, np.nan, 5.0], ["A", "A", "B", "B"])
    >>> g.labels.tolist(), g.values.tolist(), g.counts.tolist()
    (['A', 'B'], [2.0, 5.0], [2, 1])
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    g = np.asarray(groups).reshape(-1)
    if g.size != v.size:
        raise InvalidDataError(f"aggregate_by: {v.size} values but {g.size} group labels.")
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    labels, inv = np.unique(g, return_inverse=True)
    ok = ~np.isnan(v) & ~np.isnan(w)
    num = np.bincount(inv, weights=np.where(ok, v * w, 0.0), minlength=labels.size)
    den = np.bincount(inv, weights=np.where(ok, w, 0.0), minlength=labels.size)
    counts = np.bincount(inv, weights=ok.astype(np.float64), minlength=labels.size)
    ratio = _safe_div(num.astype(np.float64), den.astype(np.float64))
    return GroupedMetric(labels, ratio, counts.astype(np.int64))


@dataclass(frozen=True)
class AccuracyReport:
    """Per-series accuracy of one forecast over a holdout (arrays of length N)."""

    mae: FloatArray
    wape: FloatArray
    mase: FloatArray
    rmsse: FloatArray
    bias: FloatArray
    relative_bias: FloatArray
    tracking_signal: FloatArray
    abs_actual: FloatArray
    abs_error: FloatArray
    scored: NDArray[np.int64]

    def by_group(self, groups: Sequence[Any] | NDArray[Any]) -> dict[str, GroupedMetric]:
        """Every metric aggregated per group: WAPE pooled (the group's sum of absolute
        errors over its sum of absolute actuals, over every series with a scored period,
        those without demand included), the others the plain mean over the series where
        they are defined."""
        out = {}
        for name in ("mae", "mase", "rmsse", "bias", "relative_bias", "tracking_signal"):
            out[name] = aggregate_by(getattr(self, name), groups)
        g = np.asarray(groups).reshape(-1)
        if g.size != self.abs_error.size:
            raise InvalidDataError(
                f"by_group: {self.abs_error.size} series but {g.size} group labels."
            )
        labels, inv = np.unique(g, return_inverse=True)
        used = self.scored > 0
        error = np.bincount(inv, weights=np.where(used, self.abs_error, 0.0), minlength=labels.size)
        volume = np.bincount(
            inv, weights=np.where(used, self.abs_actual, 0.0), minlength=labels.size
        )
        series = np.bincount(inv, weights=used.astype(np.float64), minlength=labels.size)
        wape_of_group = _safe_div(error.astype(np.float64), volume.astype(np.float64))
        out["wape"] = GroupedMetric(labels, wape_of_group, series.astype(np.int64))
        return out


def accuracy(
    actual: ArrayLike, forecast: ArrayLike, insample: ArrayLike, *, season_length: int = 1
) -> AccuracyReport:
    """All point-forecast metrics of this module for N series in one report."""
    a, f = _pair(actual, forecast, "accuracy")
    ok = ~np.isnan(a - f)  # the periods scored: an actual and a forecast
    return AccuracyReport(
        mae=mae(a, f),
        wape=wape(a, f),
        mase=mase(a, f, insample, season_length=season_length),
        rmsse=rmsse(a, f, insample, season_length=season_length),
        bias=bias(a, f),
        relative_bias=relative_bias(a, f),
        tracking_signal=tracking_signal(a, f),
        abs_actual=np.where(ok, np.abs(a), 0.0).sum(axis=1),
        abs_error=np.where(ok, np.abs(a - f), 0.0).sum(axis=1),
        scored=ok.sum(axis=1).astype(np.int64),
    )


@dataclass(frozen=True)
class FVAReport:
    """Forecast value added (Gilliland 2010, *The Business Forecasting Deal*, ch. 7).

    Per series MAE of the naive, statistical and (where given) overridden forecast;
    ``fva_statistical = mae_naive - mae_statistical`` (positive: the model adds value over
    the naive forecast) and ``fva_override = mae_statistical - mae_override`` (positive:
    the person's override improved the forecast; NaN where there is no override).
    """

    mae_naive: FloatArray
    mae_statistical: FloatArray
    mae_override: FloatArray
    fva_statistical: FloatArray
    fva_override: FloatArray
    by_author: GroupedMetric | None


def forecast_value_added(
    actual: ArrayLike,
    naive: ArrayLike,
    statistical: ArrayLike,
    overridden: ArrayLike | None = None,
    *,
    authors: Sequence[str | None] | NDArray[Any] | None = None,
) -> FVAReport:
    """Forecast value added of the statistical forecast and of overrides, per series.

    Parameters
    ----------
    actual, naive, statistical, overridden
        (N, h) matrices; ``overridden`` equals ``statistical`` where nobody changed it.
    authors
        (N,) author of the override of each series (``None`` / ``""`` when none); gives
        ``by_author``, the mean ``fva_override`` per author.

    Examples
    --------
    >>> r = forecast_value_added([[10.0]], [[6.0]], [[9.0]], [[10.0]], authors=["ann"])
    >>> r.fva_statistical.tolist(), r.fva_override.tolist(), r.by_author.values.tolist()
    ([3.0], [1.0], [1.0])
    """
    m_naive = mae(actual, naive)
    m_stat = mae(actual, statistical)
    m_over = np.full_like(m_stat, np.nan)
    fva_over = np.full_like(m_stat, np.nan)
    if overridden is not None:
        _, stat = _pair(actual, statistical, "forecast_value_added")
        _, over = _pair(actual, overridden, "forecast_value_added")
        changed = ~((stat == over) | (np.isnan(stat) & np.isnan(over))).all(axis=1)
        m_over = mae(actual, over)
        # no override, no value added by one (NaN, as in the report's definition)
        fva_over = np.where(changed, m_stat - m_over, np.nan)
    by_author = None
    if authors is not None:
        who = _author_labels(authors, m_stat.size)
        has = who != ""
        if has.any():
            by_author = aggregate_by(fva_over[has], who[has])
    return FVAReport(m_naive, m_stat, m_over, m_naive - m_stat, fva_over, by_author)


def _author_labels(authors: Sequence[Any] | NDArray[Any], n: int) -> NDArray[np.str_]:
    """(n,) author names, "" where none is given (None, NaN, pandas' NA, blank)."""
    given = list(authors)
    if len(given) != n:
        raise InvalidDataError(
            f"forecast_value_added: {len(given)} authors for {n} series; give one per series "
            "(None where nobody overrode it)."
        )

    def name(a: Any) -> str:
        if a is None or type(a).__name__ in ("NAType", "NaTType"):
            return ""
        if isinstance(a, float) and np.isnan(a):
            return ""
        return str(a).strip()

    return np.asarray([name(a) for a in given], dtype=str)
