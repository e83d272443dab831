"""Many series as one matrix: the form every stockpilot kernel works on.

A :class:`Panel` holds N item-location series over T consecutive planning buckets as an
(N, T) float64 matrix. A series has NaN before its first observation (not launched yet)
and 0 for buckets without demand after it, so kernels can tell "no history" from "no
demand" without a Python loop per series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.core.calendar import bucket_ends, days, firsts_of_month, one_weekday
from stockpilot.errors import InvalidDataError, choice_error
from stockpilot.vocab import Bucket

KEYS = ("item_id", "location_id")


def as_bucket(value: Bucket | str) -> Bucket:
    """Coerce ``value`` to a :class:`Bucket` with a message listing valid values."""
    try:
        return Bucket(value)
    except ValueError:
        raise choice_error("panel", "bucket", value, [b.value for b in Bucket]) from None


def _ordinal(dates: pl.Series, bucket: Bucket) -> NDArray[np.int64]:
    if bucket is Bucket.MONTH:
        years = dates.dt.year().cast(pl.Int64) - 1970
        return (years * 12 + dates.dt.month().cast(pl.Int64) - 1).to_numpy()
    days = dates.cast(pl.Int64).to_numpy()
    return (days + 3) // 7 if bucket is Bucket.WEEK else days


def as_dates(values: pl.Series, where: str) -> pl.Series:
    """``values`` as calendar dates: dates as they are, date-times at their own local
    date (a time-zone-aware 2024-01-01 00:00 Europe/Berlin is 2024-01-01, not the UTC
    2023-12-31), ISO strings parsed; unreadable values are an error naming their rows."""
    dtype = values.dtype
    if dtype == pl.Date:
        return values
    if isinstance(dtype, pl.Datetime):
        local = values.dt.replace_time_zone(None) if dtype.time_zone is not None else values
        return local.dt.date()
    if dtype == pl.String:
        parsed = values.str.strip_chars().str.to_date(strict=False)
        if parsed.null_count() == values.null_count():
            return parsed
        stamps = values.str.strip_chars().str.to_datetime(strict=False, time_zone=None)
        parsed = parsed.fill_null(stamps.dt.date())
        bad = parsed.is_null() & values.is_not_null()
        if bad.any():
            raise InvalidDataError(
                f"{where}: {int(bad.sum())} unreadable date(s) in column {values.name!r} at "
                f"rows {bad.arg_true().head(5).to_list()} (e.g. {values.filter(bad)[0]!r}); "
                "use YYYY-MM-DD."
            )
        return parsed
    raise InvalidDataError(
        f"{where}: column {values.name!r} must hold dates (date, datetime or YYYY-MM-DD "
        f"text); got {dtype}."
    )


def _first_date(dates: pl.Series) -> date:
    first: date = dates.min()  # type: ignore[assignment]
    return first


def last_date(dates: pl.Series) -> date:
    """The latest of ``dates`` (a date series with at least one value)."""
    last: date = dates.max()  # type: ignore[assignment]
    return last


def _coverage_end(dates: pl.Series) -> date:
    """Last day the records of ``dates`` (no nulls) cover: a month past the last date when
    every date is a first of month, a week when every date falls on one weekday, else the
    last date itself (daily records). On the day numbers (no hashing: an M5 store has
    630,000 records)."""
    stamps = dates.to_physical().to_numpy().astype("datetime64[D]")
    last = last_date(dates)
    if not np.any(stamps != stamps[0]):
        return last
    if firsts_of_month(stamps[:1024]) and firsts_of_month(stamps):  # the head rejects fast
        return _as_date(bucket_ends(days([np.datetime64(last, "D")]), Bucket.MONTH)[0])
    if one_weekday(stamps):
        return last + timedelta(days=6)
    return last


def _as_date(day: np.datetime64) -> date:
    value: date = day.astype(date)
    return value


def incomplete_last_bucket(dates: pl.Series, bucket: Bucket | str) -> date | None:
    """Start of the last planning bucket when the records end before it does, else None.

    An extract run on a Wednesday holds three days of the current week: summed as a whole
    week it reads as a fall in demand. The records cover up to their last date, or a week
    or a month past it when they are weekly or monthly themselves (every date on one
    weekday, or a first of month).

    >>> from datetime import date
    >>> days = pl.Series([date(2024, 5, 1) + timedelta(days=k) for k in range(22)])
    >>> incomplete_last_bucket(days, "week"), incomplete_last_bucket(days[:19], "week")
    (datetime.date(2024, 5, 20), None)
    """
    bucket = as_bucket(bucket)
    d = dates.drop_nulls()
    if d.len() == 0 or bucket is Bucket.DAY:
        return None
    last = last_date(d)
    start = int(_ordinal(pl.Series([last]), bucket)[0])
    first = _starts(start, 1, bucket)
    if _coverage_end(d) < _as_date(bucket_ends(first, bucket)[0]):
        return _as_date(first[0])
    return None


def incomplete_bucket_left_out(
    dates: pl.Series, bucket: Bucket | str, *, hint: str, ending: str = "the records end on"
) -> tuple[date | None, str]:
    """The start of an incomplete last bucket of ``dates`` (:func:`incomplete_last_bucket`)
    and the sentence that says it is left out of the history: ``ending`` the last date,
    then ``hint`` (how to keep it); ``(None, "")`` when the last bucket is complete."""
    partial = incomplete_last_bucket(dates, bucket)
    if partial is None:
        return None, ""
    name = as_bucket(bucket).value
    records = int((dates >= partial).sum())
    return partial, (
        f"{ending} {last_date(dates.drop_nulls())}, inside the {name} of {partial}: "
        f"that incomplete {name} ({records} record(s)) is left out of the history, where it "
        f"would read as a fall in demand; {hint}."
    )


def _starts(first: int, count: int, bucket: Bucket) -> NDArray[np.datetime64]:
    idx = np.arange(first, first + count)
    if bucket is Bucket.MONTH:
        return (idx.astype("datetime64[M]")).astype("datetime64[D]")
    if bucket is Bucket.WEEK:
        return (idx * 7 - 3).astype("datetime64[D]")
    return idx.astype("datetime64[D]")


@dataclass(frozen=True)
class Panel:
    """N series over T consecutive buckets.

    Attributes
    ----------
    keys
        ``item_id, location_id`` (strings), one row per series, in matrix row order.
    periods
        ``datetime64[D]`` starts of the T buckets.
    values
        (N, T) float64 demand; NaN before each series' first observation.
    bucket
        The planning bucket of ``periods``.
    """

    keys: pl.DataFrame
    periods: NDArray[np.datetime64]
    values: NDArray[np.float64]
    bucket: Bucket

    @property
    def n_series(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.values.shape[1])

    def first_observed(self) -> NDArray[np.int64]:
        """Index of each series' first observed bucket (T when it has none)."""
        observed = ~np.isnan(self.values)
        first = observed.argmax(axis=1)
        return np.where(observed.any(axis=1), first, self.n_periods).astype(np.int64)

    def to_long(self, *, value_name: str = "quantity") -> pl.DataFrame:
        """Long frame ``item_id, location_id, period, <value_name>`` without leading NaNs."""
        n, t = self.values.shape
        rows = np.repeat(np.arange(n), t)
        cols = np.tile(np.arange(t), n)
        flat = self.values.reshape(-1)
        keep = ~np.isnan(flat)
        long = self.keys[rows[keep]] if n else self.keys.clear()
        return long.with_columns(
            pl.Series("period", self.periods[cols[keep]]).cast(pl.Date),
            pl.Series(value_name, flat[keep]),
        )


def _key_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, NDArray[np.int64]]:
    """The sorted distinct keys of ``frame`` and, per record, the row of its key.

    Extracts usually list a series' records together: the records are cut into runs of
    one key (a comparison with the previous record) and only the first record of each run
    is grouped. Where runs are short (records in no particular order) all records are
    grouped at once instead.
    """
    keys = frame.select(KEYS)
    change = keys.select(
        pl.any_horizontal(pl.col(c) != pl.col(c).shift() for c in KEYS).fill_null(True)
    ).to_series()
    n_runs = int(change.sum())
    if n_runs * 4 > frame.height:
        return _grouped_rows(keys)
    starts = np.flatnonzero(change.to_numpy())
    distinct, run_row = _grouped_rows(keys[starts])
    return distinct, np.repeat(run_row, np.diff(np.append(starts, frame.height)))


def _grouped_rows(keys: pl.DataFrame) -> tuple[pl.DataFrame, NDArray[np.int64]]:
    """The sorted distinct rows of ``keys`` and, per row, the index of its distinct row
    (one hash grouping instead of a distinct pass and a join)."""
    groups = keys.with_row_index("_record").group_by(KEYS).agg(pl.col("_record")).sort(KEYS)
    records = groups["_record"]
    row = np.empty(keys.height, dtype=np.int64)
    row[records.explode().to_numpy()] = np.repeat(
        np.arange(groups.height), records.list.len().to_numpy()
    )
    return groups.select(KEYS), row


def to_panel(
    demand: pl.DataFrame,
    *,
    bucket: Bucket | str,
    period_column: str = "period",
    end: date | None = None,
    start: date | None = None,
) -> Panel:
    """Build a :class:`Panel` from long demand already harmonized to ``bucket``.

    Parameters
    ----------
    demand
        ``item_id, location_id, <period_column>, quantity``; several rows for the same
        key and period are summed.
    bucket
        Bucket of ``period_column``.
    end, start
        Optional first and last bucket of the matrix (dates inside them); by default the
        range spans the data.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> d = pl.DataFrame({"item_id": ["A", "B"], "location_id": ["L", "L"],
    ...                   "period": [date(2024, 1, 1), date(2024, 3, 1)], "quantity": [2.0, 5.0]})
    >>> to_panel(d, bucket="month").values.tolist()
    [[2.0, 0.0, 0.0], [nan, nan, 5.0]]
    """
    bucket = as_bucket(bucket)
    missing = [c for c in (*KEYS, period_column, "quantity") if c not in demand.columns]
    if missing:
        raise InvalidDataError(
            f"to_panel: required column(s) {missing} are missing; got {demand.columns}."
        )
    frame = demand.select(
        pl.col("item_id").cast(pl.String),
        pl.col("location_id").cast(pl.String),
        as_dates(demand[period_column], "to_panel").alias("period"),
        pl.col("quantity").cast(pl.Float64),
    )
    keys, row = _key_rows(frame)
    if frame.height == 0:
        return Panel(keys, np.array([], dtype="datetime64[D]"), np.zeros((0, 0)), bucket)
    ordinal = _ordinal(frame["period"], bucket)
    first = int(ordinal.min()) if start is None else int(_ordinal(pl.Series([start]), bucket)[0])
    last = int(ordinal.max()) if end is None else int(_ordinal(pl.Series([end]), bucket)[0])
    if last < first:
        raise InvalidDataError(
            f"to_panel: end {end} is before the first period "
            f"{start if start is not None else _first_date(frame['period'])}."
        )
    n_periods = last - first + 1
    col = ordinal - first
    inside = (col >= 0) & (col < n_periods)
    quantity = frame["quantity"].to_numpy()
    if inside.all():  # the usual case (no window given): no gather of every record
        cell = row * n_periods + col
    else:
        cell, quantity = row[inside] * n_periods + col[inside], quantity[inside]
    size = keys.height * n_periods
    values = np.bincount(cell, weights=quantity, minlength=size).astype(np.float64, copy=False)
    values = values.reshape(keys.height, n_periods)
    # NaN before each series' first observation (by any record, even outside the window).
    first_col = np.full(keys.height, n_periods, dtype=np.int64)
    np.minimum.at(first_col, row, np.clip(col, 0, n_periods))
    values[np.arange(n_periods)[None, :] < first_col[:, None]] = np.nan
    return Panel(keys, _starts(first, n_periods, bucket), values, bucket)
