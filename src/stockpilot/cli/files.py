"""Files read by the stand-alone analytics commands (forecast, policy, simulate).

Also the planning-bucket rule they share: ``--bucket`` when given, else inferred from the
demand dates (:func:`infer_bucket`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from stockpilot.core.calendar import days, firsts_of_month, is_monday, month_ends, one_weekday
from stockpilot.engine.panel import incomplete_bucket_left_out
from stockpilot.errors import InvalidDataError, InvalidParameterError, choice_error
from stockpilot.io.gate import GateOptions, validate
from stockpilot.io.readers import PROVENANCE, read_table_file
from stockpilot.io.writers import FORMATS
from stockpilot.vocab import Bucket

KEYS = ("item_id", "location_id")


def _file_lines(bad: pl.Series) -> list[int]:
    """The first five file lines (header on line 1) where ``bad`` is true."""
    return (bad.arg_true() + 2).head(5).to_list()


def read_demand(path: Path) -> pl.DataFrame:
    """Canonical long demand with typed ``date`` and ``quantity``.

    Every row needs an item_id, location_id, date and a finite quantity >= 0: empty cells,
    unreadable values and NaN or infinite quantities are reported together (count and first
    file lines) as one error; no row is dropped.
    """
    raw = read_table_file(path)
    missing = [c for c in (*KEYS, "date", "quantity") if c not in raw.columns]
    if missing:
        raise InvalidDataError(
            f"The demand file {str(path)!r} must have columns item_id, location_id, date, "
            f"quantity; {missing} missing (got {raw.columns})."
        )
    frame = raw.select(
        # ERP exports pad codes to a fixed width: " A " and "A" are one item
        *[pl.col(k).str.strip_chars() for k in KEYS],
        pl.col("date").str.strip_chars().str.to_date(strict=False).alias("date"),
        pl.col("quantity").cast(pl.Float64, strict=False).alias("quantity"),
    )
    empty = {
        name: raw[name].str.strip_chars().fill_null("") == ""
        for name in (*KEYS, "date", "quantity")
    }
    problems = [
        f"{int(bad.sum())} empty {name}(s) at file lines {_file_lines(bad)} (required)"
        for name, bad in empty.items()
        if bad.any()
    ]
    for name, hint in (("date", "use YYYY-MM-DD"), ("quantity", "numbers >= 0")):
        bad = frame[name].is_null() & ~empty[name]
        if bad.any():
            problems.append(
                f"{int(bad.sum())} unreadable {name}(s) at file lines {_file_lines(bad)} ({hint})"
            )
    quantity = frame["quantity"]
    not_finite = ~quantity.is_finite().fill_null(True)
    if not_finite.any():
        problems.append(
            f"{int(not_finite.sum())} NaN or infinite quantities at file lines "
            f"{_file_lines(not_finite)} (numbers >= 0)"
        )
    negative = ((quantity < 0) & quantity.is_finite()).fill_null(False)
    if negative.any():
        problems.append(
            f"{int(negative.sum())} negative quantities at file lines {_file_lines(negative)}"
        )
    if problems:
        raise InvalidDataError(f"The demand file {str(path)!r} has " + "; ".join(problems) + ".")
    return frame


def read_items(path: Path, *, group_by: str | None = None) -> pl.DataFrame:
    """Canonical item master, typed by the validation gate; any rejected row is an error
    naming its line and reason (the stand-alone commands do not quarantine).

    ``group_by`` (``forecast --season-group-by``) must be a column of the file as read: the
    gate adds every standard column it lacks (empty), which would silently pool every
    series. A column the gate does not know is carried from the file, joined on item_id.
    """
    raw = read_table_file(path)
    if group_by is not None and group_by not in raw.columns:
        columns = [c for c in raw.columns if c not in PROVENANCE]
        raise InvalidDataError(
            f"The '--season-group-by' column {group_by!r} is not in the items file "
            f"{str(path)!r}; its columns are {', '.join(columns)}. Name one of them, or "
            "'none' for one group of all series."
        )
    result = validate({"items": raw}, options=GateOptions(as_of=date.today(), freshness_days=None))
    bad = result.quarantine
    if bad.height:
        shown = "; ".join(
            f"line {row} {reason}: {detail}"
            for row, reason, detail in bad.select("row_number", "reason", "detail").head(5).rows()
        )
        raise InvalidDataError(
            f"The items file {str(path)!r} has {bad.height} rejected row(s): {shown}."
        )
    items = result.accepted["items"]
    if group_by is None or group_by in items.columns:
        return items
    carried = raw.select(
        pl.col("item_id").str.strip_chars(),
        pl.col(group_by).str.strip_chars().replace("", None),
    ).unique("item_id", keep="last", maintain_order=True)
    return items.join(carried, on="item_id", how="left", maintain_order="left")


def read_forecast(path: Path) -> pl.DataFrame:
    """Forecasts in exchange format (``stockpilot forecast --out``): typed, all problems at once.

    Keeps ``item_id, location_id, period_start, mean`` and ``sd`` when present; the quantile
    columns are not needed by the time-phased policies.
    """
    raw = read_table_file(path)
    missing = [c for c in (*KEYS, "period_start", "mean") if c not in raw.columns]
    if missing:
        raise InvalidDataError(
            f"The forecast file {str(path)!r} must have columns item_id, location_id, "
            f"period_start, mean (the output of 'stockpilot forecast'); {missing} missing "
            f"(got {raw.columns})."
        )
    numbers: list[str] = [c for c in ("mean", "sd") if c in raw.columns]
    start = raw["period_start"]
    parsed = start.str.to_date(strict=False) if start.dtype == pl.String else start.cast(pl.Date)
    frame = raw.select(
        *[pl.col(k).cast(pl.String) for k in KEYS],
        parsed.alias("period_start"),
        *[pl.col(c).cast(pl.Float64, strict=False) for c in numbers],
    )
    problems = []
    checks: list[tuple[str, pl.Series, str]] = [
        ("period_start", frame["period_start"].is_null(), "use YYYY-MM-DD")
    ]
    for name in numbers:
        value = frame[name]
        checks.append((name, value.is_null() | value.is_nan() | (value < 0), "numbers >= 0"))
    for name, bad, hint in checks:
        if bad.any():
            lines = (bad.arg_true() + 2).head(5).to_list()
            problems.append(
                f"{int(bad.sum())} missing or unreadable {name}(s) at file lines {lines} ({hint})"
            )
    dup = frame.select(*KEYS, "period_start").is_duplicated()
    if dup.any():
        problems.append(f"{int(dup.sum())} rows repeat an item_id/location_id/period_start")
    if problems:
        raise InvalidDataError(f"The forecast file {str(path)!r} has " + "; ".join(problems) + ".")
    return frame


def check_output_path(option: str, path: Path) -> None:
    """Refuse an output file of ``option`` whose suffix no writer knows, before any work.

    >>> check_output_path("--out", Path("f.txt"))
    Traceback (most recent call last):
    ...
    stockpilot.errors.InvalidParameterError: The '--out' option must name a file ending in .csv, .parquet or .xlsx. Got 'f.txt'.
    """
    if path.suffix.lower().lstrip(".") not in FORMATS:
        suffixes = [f".{f}" for f in FORMATS]
        raise InvalidParameterError(
            f"The {option!r} option must name a file ending in {', '.join(suffixes[:-1])} or "
            f"{suffixes[-1]}. Got {str(path)!r}."
        )


def infer_bucket(dates: pl.Series) -> Bucket:
    """The planning bucket the dates of a demand file are in.

    Month when there is more than one distinct date and every date is the first of its
    month, or every date the last day of its month; week when there is more than one
    distinct date and all fall on the same weekday (or the only date is a Monday); else day.

    >>> from datetime import date
    >>> infer_bucket(pl.Series([date(2024, 1, 1), date(2024, 2, 1)])).value
    'month'
    >>> infer_bucket(pl.Series([date(2024, 1, 31), date(2024, 2, 29)])).value
    'month'
    >>> infer_bucket(pl.Series([date(2024, 1, 7), date(2024, 1, 14)])).value  # Sundays
    'week'
    >>> infer_bucket(pl.Series([date(2024, 1, 1), date(2024, 1, 2)])).value
    'day'
    """
    d = dates.drop_nulls()
    if d.len() == 0:
        return Bucket.DAY
    stamps = days(d.to_physical().to_numpy().astype("datetime64[D]"))
    several = bool(np.any(stamps != stamps[0]))
    if several and (firsts_of_month(stamps) or month_ends(stamps)):
        return Bucket.MONTH
    if one_weekday(stamps) and (several or is_monday(stamps[0])):
        return Bucket.WEEK
    return Bucket.DAY


def week_dates_note(dates: pl.Series, bucket: Bucket) -> str:
    """What weekly buckets make of dates that all fall on one weekday other than Monday.

    A week bucket is the ISO week, Monday to Sunday, labelled by its Monday
    (:func:`stockpilot.io.buckets.bucket_start`); each date counts in the week containing
    it. Empty when the bucket is not a week or the dates are not all on one other weekday.

    >>> from datetime import date
    >>> week_dates_note(pl.Series([date(2024, 1, 1), date(2024, 1, 8)]), Bucket.WEEK)
    ''
    """
    weekdays = dates.drop_nulls().dt.weekday().unique()
    if bucket is not Bucket.WEEK or weekdays.len() != 1 or weekdays[0] == 1:
        return ""
    weekday = int(weekdays[0])
    day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[
        weekday - 1
    ]
    if weekday == 7:
        return (
            "every date is a Sunday, counted in the ISO week (Monday to Sunday) ending on it: "
            "right for weeks ending on Sunday, one week early for weeks starting on Sunday"
        )
    return (
        f"every date is a {day}, counted in the ISO week (Monday to Sunday) containing it: "
        f"{weekday} of the 7 days of a week ending on {day} and {8 - weekday} of a week "
        f"starting on {day} lie in that week"
    )


def planning_bucket(command: str, override: str | None, dates: pl.Series) -> Bucket:
    """The ``--bucket`` of ``command`` when given (validated), else :func:`infer_bucket`."""
    if override is None:
        return infer_bucket(dates)
    if override not in [b.value for b in Bucket]:
        raise choice_error(command, "bucket", override, [b.value for b in Bucket])
    return Bucket(override)


def complete_buckets(
    demand: pl.DataFrame, bucket: Bucket, end: date | None, *, hint: str
) -> tuple[pl.DataFrame, str]:
    """``demand`` without its last bucket when the file does not cover that bucket to its
    end (an extract run mid-week: summed as a whole bucket it reads as a fall in demand),
    and a warning saying so (``hint``: how to keep it); with ``end``, the rows after it
    are left out instead and the last bucket is kept."""
    if end is not None:
        return demand.filter(pl.col("date") <= end), ""
    partial, note = incomplete_bucket_left_out(
        demand["date"], bucket, hint=hint, ending="the demand file ends on"
    )
    if partial is None:
        return demand, ""
    return demand.filter(pl.col("date") < partial), note
