"""Analogue (like-item) history for new items.

A new item has too little history for any method to be tested out of sample. Planners then
name an established item it resembles (its analogue: the predecessor it replaces, or a
sibling in the range) and how much demand they expect relative to it. The analogue's history,
scaled, stands in for the periods before the new item's launch; the new item's own
observations are kept from its launch on. The combined history then goes through the usual
classification and selection, so the new item gets the method, spread and quantiles its
analogue's demand supports (SAP calls this like-modelling; Slim4 and ToolsGroup have the
same idea as "reference items").

The scale of a row is the planner's ``factor`` where given; otherwise, once the new item has
``min_overlap`` observed periods in which its analogue was observed too, the ratio of the two
items' demand over those periods; otherwise 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.errors import InvalidDataError, parameter_error

FloatArray = NDArray[np.float64]

__all__ = ["BorrowedHistory", "borrow_history"]


@dataclass(frozen=True)
class BorrowedHistory:
    """History of every row with the analogue's periods before launch filled in.

    Attributes
    ----------
    values
        (N, T) demand: each row's own observations, and before its first one the scaled
        analogue history where the row has an analogue.
    factor
        (N,) scale applied (NaN where the row has no analogue).
    estimated
        (N,) True where the factor was estimated from the overlap, not given.
    borrowed
        (N,) periods filled from the analogue.
    """

    values: FloatArray
    factor: FloatArray
    estimated: NDArray[np.bool_]
    borrowed: NDArray[np.int64]


def borrow_history(
    y: ArrayLike,
    analogue: ArrayLike,
    factor: ArrayLike | None = None,
    *,
    min_overlap: int = 4,
) -> BorrowedHistory:
    """Fill each row's periods before its first observation from its analogue's history.

    Parameters
    ----------
    y
        (N, T) demand; NaN before each series' first observation (not launched yet).
    analogue
        (N, T) demand of each row's analogue over the same periods; a row of NaN means the
        row has no analogue (it is returned unchanged).
    factor
        (N,) expected demand relative to the analogue; NaN (or ``None`` for all) to estimate
        it from the overlap.
    min_overlap
        Periods where both are observed needed to estimate the factor (else 1).

    Examples
    --------
    >>> nan = float("nan")
    >>> r = borrow_history([[nan, nan, 4.0, 6.0]], [[10.0, 12.0, 8.0, 12.0]], [0.5])
    >>> r.values.tolist(), r.borrowed.tolist()
    ([[5.0, 6.0, 4.0, 6.0]], [2])
    """
    arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    ref = np.atleast_2d(np.asarray(analogue, dtype=np.float64))
    if arr.ndim != 2 or ref.shape != arr.shape:
        raise InvalidDataError(
            f"borrow_history: y and analogue must be (N, T) of one shape; got {arr.shape} "
            f"and {ref.shape}."
        )
    n, t = arr.shape
    given = np.full(n, np.nan) if factor is None else np.asarray(factor, dtype=np.float64)
    if given.shape != (n,):
        raise InvalidDataError(f"borrow_history: factor must have {n} values; got {given.shape}.")
    if np.any(given[np.isfinite(given)] < 0):
        raise parameter_error("borrow_history", "factor", "values >= 0 (or NaN)", given)
    if isinstance(min_overlap, bool) or int(min_overlap) < 1:
        raise parameter_error("borrow_history", "min_overlap", "an integer >= 1", min_overlap)
    observed = ~np.isnan(arr)
    first = np.where(observed.any(axis=1), observed.argmax(axis=1), t)
    before = np.arange(t)[None, :] < first[:, None]
    has_ref: NDArray[np.bool_] = np.asarray((~np.isnan(ref)).any(axis=1), dtype=bool)
    both = observed & ~np.isnan(ref)
    overlap = both.sum(axis=1)
    own_sum = np.where(both, arr, 0.0).sum(axis=1)
    ref_sum = np.where(both, ref, 0.0).sum(axis=1)
    with np.errstate(over="ignore"):  # a ratio beyond the float range is not an estimate
        raw_ratio = own_sum / np.where(ref_sum > 0, ref_sum, 1.0)
    can_estimate = (overlap >= int(min_overlap)) & (ref_sum > 0) & np.isfinite(raw_ratio)
    estimated = has_ref & np.isnan(given) & can_estimate
    ratio = np.where(can_estimate, raw_ratio, 1.0)
    used = np.where(np.isnan(given), ratio, given)
    used = np.where(has_ref, used, np.nan)
    fill = before & has_ref[:, None] & ~np.isnan(ref)
    values = np.where(fill, ref * np.where(has_ref, used, 0.0)[:, None], arr)
    return BorrowedHistory(values, used, estimated, fill.sum(axis=1).astype(np.int64))
