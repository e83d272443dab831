"""Time buckets: map dates onto planning-bucket starts and harmonize demand.

Buckets are labelled by their first day: the day itself, the ISO-week Monday, or the
first of the month. Demand recorded in a coarser source bucket than the planning bucket
(a monthly ERP extract planned weekly) is spread evenly over the days it covers before it
is re-aggregated, so no quantity is created or lost.
"""

from __future__ import annotations

import polars as pl

from stockpilot.engine.panel import as_bucket
from stockpilot.errors import InvalidDataError
from stockpilot.vocab import Bucket

_ORDER = {Bucket.DAY: 0, Bucket.WEEK: 1, Bucket.MONTH: 2}
DEMAND_KEYS = ("item_id", "location_id")


def bucket_start(expr: pl.Expr, bucket: Bucket | str) -> pl.Expr:
    """Expression giving the first day of the bucket that contains ``expr`` (a date)."""
    bucket = as_bucket(bucket)
    if bucket is Bucket.DAY:
        return expr
    if bucket is Bucket.WEEK:
        return expr.dt.truncate("1w")  # polars weeks start on Monday (ISO)
    return expr.dt.truncate("1mo")


def bucket_end(expr: pl.Expr, bucket: Bucket | str) -> pl.Expr:
    """Expression giving the last day of the bucket that starts at ``expr``."""
    bucket = as_bucket(bucket)
    if bucket is Bucket.DAY:
        return expr
    if bucket is Bucket.WEEK:
        return expr + pl.duration(days=6)
    return expr.dt.month_end()


def _require(df: pl.DataFrame, columns: tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidDataError(
            f"{where}: required column(s) {missing} are missing; got columns {df.columns}. "
            "Rename them with a source mapping or add them to the file."
        )


def harmonize_demand(
    df: pl.DataFrame,
    *,
    bucket: Bucket | str,
    source_bucket: Bucket | str | None = None,
    extra_keys: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Aggregate canonical demand to planning-bucket starts.

    Parameters
    ----------
    df
        Long demand with ``item_id, location_id, date, quantity`` (``date`` the start of
        the source bucket).
    bucket
        The planning bucket (``day``, ``week`` or ``month``).
    source_bucket
        Bucket of the source records. When it is coarser than ``bucket``, each record is
        spread evenly over the days of its source bucket first. ``None`` treats dates as
        points in time (no spreading).
    extra_keys
        Further grouping columns kept in the output (e.g. ``source``, ``channel``).

    Returns
    -------
    polars.DataFrame
        ``item_id, location_id, *extra_keys, period, quantity`` sorted by key and period.
        The total quantity equals the input total.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> d = pl.DataFrame({"item_id": ["A", "A"], "location_id": ["L", "L"],
    ...                   "date": [date(2024, 1, 2), date(2024, 1, 5)], "quantity": [1.0, 2.0]})
    >>> harmonize_demand(d, bucket="week")["quantity"].to_list()
    [3.0]
    """
    bucket = as_bucket(bucket)
    _require(df, (*DEMAND_KEYS, "date", "quantity"), "harmonize_demand")
    frame = df.with_columns(pl.col("date").cast(pl.Date), pl.col("quantity").cast(pl.Float64))
    if source_bucket is not None and _ORDER[as_bucket(source_bucket)] > _ORDER[bucket]:
        src = as_bucket(source_bucket)
        start = bucket_start(pl.col("date"), src)
        frame = (
            frame.with_columns(start.alias("_start"))
            .with_columns(bucket_end(pl.col("_start"), src).alias("_end"))
            .with_columns(
                ((pl.col("_end") - pl.col("_start")).dt.total_days() + 1).alias("_days"),
                pl.date_ranges(pl.col("_start"), pl.col("_end"), "1d").alias("date"),
            )
            .with_columns(pl.col("quantity") / pl.col("_days"))
            .explode("date")
            .drop("_start", "_end", "_days")
        )
    keys = [*DEMAND_KEYS, *extra_keys]
    return (
        frame.with_columns(bucket_start(pl.col("date"), bucket).alias("period"))
        .group_by([*keys, "period"])
        .agg(pl.col("quantity").sum())
        .sort([*keys, "period"])
    )
