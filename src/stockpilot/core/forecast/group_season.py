"""Group seasonal index: one multiplicative season profile pooled over the series of a call.

An item with less than two years of history cannot estimate a season of its own, yet it
usually shares the season of its group: every costume-jewellery item peaks before
Christmas. Estimating one index from the group and applying it to each item is the
classic remedy (Withycombe 1989, "Forecasting with combined seasonal indices",
International Journal of Forecasting 5(4); Dekker, van Donselaar and Ouwehand 2004,
"How to use aggregation and combined forecasting to improve seasonal demand forecasts",
IJPE 90(2); Chen and Boylan 2007, "Use of individual and group seasonal indices in
subaggregate demand forecasting", JORS 58(12)). The item's history is divided by the
index of each period, any non-seasonal method forecasts the adjusted history, and its
forecasts (and their spread) are multiplied by the index of the forecast periods.

**Estimate** (:func:`group_seasonal_index`). Each series is divided by its own mean, so
every series weighs the same whatever its volume; the pooled series is the mean of those
ratios per period. Each pooled value is divided by its centred moving average of one
season (classical ratio-to-moving-average decomposition; the first and last half season
take the nearest centred value), the ratios are averaged per phase (period ``t`` has
phase ``t mod m``), smoothed over ``smoothing``
neighbouring phases on each side (circularly), floored at :data:`INDEX_FLOOR` and scaled to
a mean of 1. Smoothing matters for weekly buckets: holidays and events move by a week
between years (the 52-week year also drifts by a day or two), so the peak of one year
spills into the neighbouring weeks of the next; on the two jewelry validation windows
smoothing over one week on each side gave RMSSE 0.645 / 1.032 against 1.075 / 0.910
without (docs/forecasting.md, selection rule 8).

**Decision** (:func:`group_season`). The index is applied only where it forecasts better
out of sample: at each rolling origin a reference method (the selection passes its
``tsb_fixed``) forecasts the history as it is and the history adjusted by the index
estimated *before the earliest origin*, and the group's sum of squared errors, each
series scaled by its RMSSE scale, must fall by at least ``min_gain`` (10 %). Only then is
the index re-estimated on the full history and applied; the selection's rolling origins
keep the index of the test (``GroupSeason.origin_index``), so no origin's score sees the
periods it is scored on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.forecast.metrics import difference_scales
from stockpilot.errors import InvalidDataError, parameter_error

FloatArray = NDArray[np.float64]

__all__ = [
    "GROUP_SEASON_MIN_GAIN",
    "GROUP_SEASON_MIN_SERIES",
    "INDEX_FLOOR",
    "GroupSeason",
    "default_smoothing",
    "group_season",
    "group_seasonal_index",
]

#: Smallest index of a phase: demand in a period that is nearly always empty (a shutdown
#: week) must not be scaled up more than tenfold when the history is adjusted.
INDEX_FLOOR = 0.1

#: Relative fall of the group's rolling-origin error the index must bring to be applied.
#: On the validation windows of the six benchmark data sets it brought 39-64 % on jewelry
#: (weekly, a strong year-end peak, about two years of history), 1.3-1.6 % on hospital
#: (applied anyway, its window 1 got worse: RMSSE 0.8928 -> 0.8991) and under 0.3 % on
#: the M5 stores.
GROUP_SEASON_MIN_GAIN = 0.1

#: Series with demand a group needs before its index is estimated: a "group" index of one
#: or two series is their own season from a year or so of history, where a one-off spike
#: (a bulk order) becomes a peak repeated next year; rule 3 asks two seasons and a
#: significance test of a series' own season. Ten, as the spread learning asks of a group
#: (:func:`~stockpilot.core.forecast.spread.learn_spread`).
GROUP_SEASON_MIN_SERIES = 10

#: A flat-forecast method at several origins: (history (N, T), origin ends (K,), divisor
#: of each period (T,) or None) -> (N, K) forecasts of the history divided by the divisor.
Reference = Callable[[FloatArray, NDArray[np.int64], FloatArray | None], FloatArray]


def default_smoothing(season_length: int) -> int:
    """Phases on each side the index is smoothed over: 1 for weekly or finer seasons of a
    year (m >= 52), whose holidays move by a bucket between years; 0 for months, quarters
    and the days of a week.

    >>> default_smoothing(52), default_smoothing(12), default_smoothing(7)
    (1, 0, 0)
    """
    return 1 if season_length >= 52 else 0


def group_seasonal_index(
    y: ArrayLike, season_length: int, *, smoothing: int = 0, min_series: int = 1
) -> FloatArray | None:
    """Multiplicative seasonal index (m,) pooled over the rows of ``y`` (N, T).

    Entry ``p`` applies to every period ``t`` with ``t mod m == p`` (columns counted from
    the first column of ``y``); the index has a mean of 1. ``None`` when the pooled
    history holds less than one full season or fewer than ``min_series`` rows have
    positive demand.

    Parameters
    ----------
    y
        (N, T) demand, NaN where a series is not observed.
    season_length
        Periods per season m (52 weekly, 12 monthly).
    smoothing
        Phases on each side of each phase averaged into it (circularly).
    min_series
        Rows with positive demand needed.

    Examples
    --------
    Two series with the same season, one ten times the other:

    >>> y = np.array([[1.0, 3.0] * 3, [10.0, 30.0] * 3])
    >>> group_seasonal_index(y, 2).tolist()
    [0.5, 1.5]
    """
    arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    m = _season(season_length, "group_seasonal_index")
    if isinstance(smoothing, bool) or int(smoothing) < 0:
        raise parameter_error("group_seasonal_index", "smoothing", "an integer >= 0", smoothing)
    if arr.ndim != 2:
        raise InvalidDataError(f"group_seasonal_index: y must be (N, T); got {arr.shape}.")
    pooled, rows = _pooled_ratios(np.ascontiguousarray(arr))
    if rows == 0 or rows < min_series:
        return None
    index = _phase_means(pooled, m)
    if index is None:
        return None
    k = min(int(smoothing), (m - 1) // 2)  # a window of at most one season, centred
    if k:
        padded = np.concatenate([index[-k:], index, index[:k]])
        index = np.convolve(padded, np.full(2 * k + 1, 1.0 / (2 * k + 1)), mode="valid")
    index = np.maximum(index / index.mean(), INDEX_FLOOR)
    return index / index.mean()


@numba.njit(cache=True)
def _pooled_ratios(y: FloatArray) -> tuple[FloatArray, int]:
    """Mean over the rows with positive demand of ``y / row mean`` per column (NaN where
    no such row is observed), and the number of those rows."""
    n, t_len = y.shape
    sums = np.zeros(t_len)
    counts = np.zeros(t_len)
    rows = 0
    for i in range(n):
        total = 0.0
        count = 0
        for t in range(t_len):
            v = y[i, t]
            if not np.isnan(v):
                total += v
                count += 1
        if count == 0 or total <= 0.0:
            continue
        rows += 1
        level = total / count
        for t in range(t_len):
            v = y[i, t]
            if not np.isnan(v):
                sums[t] += v / level
                counts[t] += 1.0
    pooled = np.full(t_len, np.nan)
    for t in range(t_len):
        if counts[t] > 0:
            pooled[t] = sums[t] / counts[t]
    return pooled, rows


def _season(season_length: object, owner: str) -> int:
    if (
        isinstance(season_length, bool)
        or not isinstance(season_length, (int, np.integer))
        or season_length < 2
    ):
        raise parameter_error(owner, "season_length", "an integer >= 2", season_length)
    return int(season_length)


def _phase_means(pooled: FloatArray, m: int) -> FloatArray | None:
    """Mean ratio of ``pooled`` to its centred moving average of one season, per phase.

    The centred average is the textbook one (an m-term average for odd m, a 2 x m average
    for even m, as R's ``decompose``); the first and last periods, where it does not fit,
    take the nearest centred value. ``None`` when ``pooled`` spans fewer than ``m + 1``
    periods between its first and last value (``m`` for odd m).
    """
    known = np.flatnonzero(np.isfinite(pooled))
    weights = np.full(m + 1 - m % 2, 1.0 / m)
    if m % 2 == 0:
        weights[[0, -1]] = 0.5 / m
    if known.size == 0 or known[-1] - known[0] + 1 < weights.size:
        return None
    first, last = int(known[0]), int(known[-1])
    span = pooled[first : last + 1]
    finite = np.isfinite(span)
    # a missing pooled period (no series observed) drops out with its weight
    total = np.convolve(np.where(finite, span, 0.0), weights, mode="valid")
    weight = np.convolve(finite.astype(np.float64), weights, mode="valid")
    trend = np.divide(total, weight, out=np.full(total.size, np.nan), where=weight > 0)
    half = weights.size // 2
    centre = np.clip(np.arange(span.size) - half, 0, trend.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = span / trend[centre]
    good = np.isfinite(ratio)
    phase = np.arange(first, last + 1)[good] % m
    sums = np.bincount(phase, weights=ratio[good], minlength=m)
    counts = np.bincount(phase, minlength=m)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)


@dataclass(frozen=True)
class GroupSeason:
    """Whether a group seasonal index applies to a panel, and the evidence.

    Attributes
    ----------
    index
        (m,) the index estimated on the full history where applied; ones otherwise.
    applied
        True when the index cut the rolling-origin error by at least the gain asked.
    raw_error, adjusted_error
        The group's sum of squared scaled rolling-origin errors of the reference method
        on the history as it is and adjusted (NaN where the test could not run).
    origin_index
        (m,) the index the test used, estimated on the history before the earliest origin
        (where applied; ``None`` otherwise): what a forecast made at the rolling origins
        can know.
    """

    index: FloatArray
    applied: bool
    raw_error: float
    adjusted_error: float
    origin_index: FloatArray | None = None

    @property
    def gain(self) -> float:
        """Relative fall of the rolling-origin error with the index (NaN if untested)."""
        if not (np.isfinite(self.raw_error) and self.raw_error > 0):
            return float("nan")
        return 1.0 - self.adjusted_error / self.raw_error

    def factors(self, start: int, stop: int) -> FloatArray:
        """Index of the periods ``start .. stop - 1`` (columns of the panel; the forecast
        periods follow the last column)."""
        return _periods(self.index, start, stop)

    def origin_factors(self, start: int, stop: int) -> FloatArray:
        """:meth:`factors` of ``origin_index`` (of ``index`` where the test did not apply)."""
        return _periods(self.index if self.origin_index is None else self.origin_index, start, stop)


def _periods(index: FloatArray, start: int, stop: int) -> FloatArray:
    """``index`` (one value per phase) of the periods ``start .. stop - 1``."""
    return index[np.arange(start, stop) % index.size]


def group_season(
    y: ArrayLike,
    season_length: int,
    origins: Sequence[int],
    eval_h: int,
    reference: Reference,
    *,
    smoothing: int | None = None,
    min_gain: float = GROUP_SEASON_MIN_GAIN,
    min_series: int = GROUP_SEASON_MIN_SERIES,
) -> GroupSeason:
    """Decide out of sample whether the group seasonal index of ``y`` improves forecasts.

    Parameters
    ----------
    y
        (N, T) demand of the group, NaN where not observed.
    season_length
        Periods per season m.
    origins
        Rolling-origin ends: the reference is fitted on ``y[:, :o]`` and scored on the
        next ``eval_h`` periods. The index of the test is estimated on the history before
        the earliest origin, so no forecast sees the periods it is scored on.
    eval_h
        Periods scored after each origin.
    reference
        The flat-forecast method of the test at every origin (:data:`Reference`).
    smoothing
        Phases on each side of the index smoothing; ``None``: :func:`default_smoothing`.
    min_gain
        Relative fall of the error needed to apply the index.
    min_series
        Series with demand before the earliest origin needed to estimate the index
        (:data:`GROUP_SEASON_MIN_SERIES`); fewer: not tested, not applied.

    Examples
    --------
    A shared season of period 4, every series flat apart from it:

    >>> def last_value(x, ends, divisor):
    ...     z = x if divisor is None else x / divisor
    ...     return z[:, ends - 1]
    >>> y = np.tile([5.0, 10.0, 20.0, 5.0], (3, 6)) * np.array([[1.0], [2.0], [3.0]])
    >>> gs = group_season(y, 4, [20, 22], 2, last_value, min_series=3)
    >>> gs.applied, gs.index.round(2).tolist()
    (True, [0.5, 1.0, 2.0, 0.5])
    """
    arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    m = _season(season_length, "group_season")
    width = default_smoothing(m) if smoothing is None else smoothing
    if not 0.0 <= min_gain < 1.0:
        raise parameter_error("group_season", "min_gain", "a float in [0, 1)", min_gain)
    ones = np.ones(m)
    nan = float("nan")
    ends = sorted(int(o) for o in origins if 0 < int(o) < arr.shape[1])
    if not ends or eval_h < 1:
        return GroupSeason(ones, False, nan, nan)
    trial = group_seasonal_index(arr[:, : ends[0]], m, smoothing=width, min_series=min_series)
    if trial is None:
        return GroupSeason(ones, False, nan, nan)
    _, scale = difference_scales(arr[:, : ends[0]])
    rows = np.isfinite(scale) & (scale > 0)
    if not rows.any():
        return GroupSeason(ones, False, nan, nan)
    hist, sq_scale = arr[rows], scale[rows, None]
    at = np.asarray(ends, dtype=np.int64)
    plain = reference(hist, at, None)
    seasonal = reference(hist, at, _periods(trial, 0, arr.shape[1]))
    raw = adjusted = 0.0
    for k, end in enumerate(ends):
        stop = min(end + eval_h, arr.shape[1])
        actual = hist[:, end:stop]
        season = _periods(trial, end, stop)
        raw += float(np.nansum((plain[:, k, None] - actual) ** 2 / sq_scale))
        adjusted += float(np.nansum((seasonal[:, k, None] * season - actual) ** 2 / sq_scale))
    applied = raw > 0 and adjusted < (1.0 - min_gain) * raw
    if not applied:
        return GroupSeason(ones, False, raw, adjusted)
    full = group_seasonal_index(arr, m, smoothing=width)
    return GroupSeason(trial if full is None else full, True, raw, adjusted, trial)
