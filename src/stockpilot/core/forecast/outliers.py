"""Outlier correction of demand history before a model estimates its level.

A one-off spike (an unrecorded promotion, a bulk order, a year-end peak in a short
history) pulls a smoothing model's level up for many periods, and an out-of-sample test
whose training window ends in the spike picks the slowest model for the wrong reason.
Planning suites correct such values in the history they fit (SAP IBP and Slim4 call it
outlier correction); the actual history is kept for the error spread, because spikes are
part of the demand that safety stock must cover.

The limit of a series is robust to the spikes it looks for: over the positive observed
values ``x`` (zeros of intermittent demand are not sizes),

.. math:: L = \\operatorname{med}(x) + k \\max\\bigl(1.4826 \\operatorname{MAD}(x),\\;
          0.5 \\operatorname{med}(x)\\bigr)

(1.4826 MAD estimates the standard deviation of normal data; the floor keeps the limit
above ``(1 + k/2)`` times the median when most sizes are equal, where the MAD is 0). Values
above ``L`` are replaced by ``L``; series with fewer than :data:`MIN_POSITIVE` positive
values are left alone. Compiled, all series in one call; integer sizes (demand counts) take an exact counting
median instead of a selection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.errors import InvalidDataError, parameter_error

FloatArray = NDArray[np.float64]

__all__ = ["MIN_POSITIVE", "CappedHistory", "cap_outliers"]

#: Positive values a series needs before any of them can be called an outlier.
MIN_POSITIVE = 5
#: MAD to standard deviation under normality.
_MAD_TO_SD = 1.4826
#: Floor of the spread term, as a share of the median.
_MEDIAN_FLOOR = 0.5


@dataclass(frozen=True)
class CappedHistory:
    """History with outliers capped.

    Attributes
    ----------
    values
        (N, T) demand with every value above its series' limit replaced by the limit.
    limit
        (N,) limit per series (inf where nothing can be capped).
    capped
        (N,) number of periods capped per series.
    """

    values: FloatArray
    limit: FloatArray
    capped: NDArray[np.int64]


#: Integer sizes below this take the counting median (exact, no sort).
_COUNTING_LIMIT = 512


@numba.njit(cache=True)
def _middle(counts: NDArray[np.int64], m: int) -> float:
    """Median of m values given as counts per integer value."""
    lo_k, hi_k = (m - 1) // 2, m // 2
    cum = 0
    low = -1
    for v in range(counts.size):
        cum += counts[v]
        if low < 0 and cum > lo_k:
            low = v
        if cum > hi_k:
            return 0.5 * (low + v)
    return float(low)  # not reached: the counts sum to m


@numba.njit(cache=True)
def _median_and_mad(sizes: FloatArray, m: int, counts: NDArray[np.int64]) -> tuple[float, float]:
    """Median and MAD of ``sizes[:m]``: by counting when all are integers below
    ``_COUNTING_LIMIT`` (demand counts; deviations counted in half units), else by
    selection. ``sizes`` is overwritten."""
    small = True
    for j in range(m):
        v = sizes[j]
        if v != np.floor(v) or v >= _COUNTING_LIMIT:
            small = False
            break
    if small:
        counts[:] = 0
        for j in range(m):
            counts[int(sizes[j])] += 1
        med = _middle(counts[:_COUNTING_LIMIT], m)
        counts[:] = 0
        for j in range(m):
            counts[int(abs(2.0 * sizes[j] - 2.0 * med))] += 1
        return med, 0.5 * _middle(counts, m)
    x = sizes[:m]
    med = np.median(x)
    for j in range(m):
        sizes[j] = abs(sizes[j] - med)
    return med, np.median(sizes[:m])


@numba.njit(cache=True)
def _cap(y: FloatArray, k: float) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    n, t_len = y.shape
    values = y.copy()
    limit = np.full(n, np.inf)
    capped = np.zeros(n, dtype=np.int64)
    sizes = np.empty(t_len)
    counts = np.zeros(2 * _COUNTING_LIMIT, dtype=np.int64)
    for i in range(n):
        m = 0
        for t in range(t_len):
            # written always, kept when positive (NaN is not): no branch on whether a
            # period had demand, which is not predictable
            v = y[i, t]
            sizes[m] = v
            m += 1 if v > 0.0 else 0
        if m < MIN_POSITIVE:
            continue
        med, mad = _median_and_mad(sizes, m, counts)
        lim = med + k * max(mad * _MAD_TO_SD, _MEDIAN_FLOOR * med)
        limit[i] = lim
        for t in range(t_len):
            if y[i, t] > lim:
                values[i, t] = lim
                capped[i] += 1
    return values, limit, capped


def cap_outliers(y: ArrayLike, k: float = 3.0) -> CappedHistory:
    """Cap each series' values above ``median + k * max(1.4826 MAD, median / 2)`` of its
    positive values (module docstring).

    Parameters
    ----------
    y
        (N, T) demand; NaN marks periods not observed (kept as NaN).
    k
        Width of the limit in robust standard deviations (> 0).

    Examples
    --------
    >>> r = cap_outliers([[10.0, 12, 11, 9, 10, 60, 11, 10]])
    >>> r.values.tolist(), r.capped.tolist()
    ([[10.0, 12.0, 11.0, 9.0, 10.0, 26.25, 11.0, 10.0]], [1])
    """
    if not np.isfinite(k) or k <= 0:
        raise parameter_error("cap_outliers", "k", "a positive number", k)
    arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if arr.ndim != 2:
        raise InvalidDataError(f"cap_outliers: y must be (N, T); got {arr.shape}.")
    return CappedHistory(*_cap(np.ascontiguousarray(arr), float(k)))
