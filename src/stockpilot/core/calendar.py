"""Calendar facts of planning buckets on ``datetime64[D]`` arrays.

A bucket is labelled by its first day: the day itself, the ISO-week Monday, or the first of
the month. These tests tell what bucket a set of dates describes and where a bucket ends;
the panel (an extract that ends inside its last bucket), the events (which buckets an
event touches) and the CLI (the bucket of a demand file) share them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.vocab import Bucket

Days = NDArray[np.datetime64]

__all__ = ["bucket_ends", "days", "firsts_of_month", "is_monday", "month_ends", "one_weekday"]


def days(values: ArrayLike) -> Days:
    """``values`` as a flat ``datetime64[D]`` array."""
    return np.asarray(values).astype("datetime64[D]").reshape(-1)


def firsts_of_month(d: Days) -> bool:
    """Whether every day is the first of its month.

    >>> firsts_of_month(days(["2024-01-01", "2024-03-01"])), firsts_of_month(days(["2024-01-02"]))
    (True, False)
    """
    return bool(np.array_equal(d, d.astype("datetime64[M]").astype("datetime64[D]")))


def month_ends(d: Days) -> bool:
    """Whether every day is the last of its month.

    >>> month_ends(days(["2024-02-29", "2024-03-31"])), month_ends(days(["2023-02-28", "2023-03-30"]))
    (True, False)
    """
    return bool(
        np.array_equal(
            d, bucket_ends(d.astype("datetime64[M]").astype("datetime64[D]"), Bucket.MONTH)
        )
    )


def _weekday(d: Days) -> NDArray[np.int64]:
    """0 for Monday .. 6 for Sunday (1970-01-01 was a Thursday)."""
    return np.asarray((d.astype(np.int64) + 3) % 7, dtype=np.int64)


def one_weekday(d: Days) -> bool:
    """Whether every day falls on the same weekday.

    >>> one_weekday(days(["2024-01-07", "2024-01-14"])), one_weekday(days(["2024-01-07", "2024-01-08"]))
    (True, False)
    """
    w = _weekday(d)
    return bool(w.size == 0 or np.all(w == w[0]))


def is_monday(day: np.datetime64) -> bool:
    """Whether ``day`` is a Monday (the start of an ISO week)."""
    return bool(_weekday(days([day]))[0] == 0)


def bucket_ends(starts: Days, bucket: Bucket) -> Days:
    """Last day of each bucket starting at ``starts``: the day itself, the start + 6 days,
    or the last day of the start's month.

    >>> bucket_ends(days(["2024-02-01"]), Bucket.MONTH).tolist()
    [datetime.date(2024, 2, 29)]
    """
    if bucket is Bucket.MONTH:
        next_month = (starts.astype("datetime64[M]") + 1).astype("datetime64[D]")
        return np.asarray(next_month - np.timedelta64(1, "D"), dtype="datetime64[D]")
    if bucket is Bucket.WEEK:
        return np.asarray(starts + np.timedelta64(6, "D"), dtype="datetime64[D]")
    return starts.copy()
