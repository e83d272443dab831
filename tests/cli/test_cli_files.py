"""Files and bucket rule shared by the stand-alone analytics commands."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from stockpilot.cli.files import infer_bucket, week_dates_note
from stockpilot.vocab import Bucket


def _every(start: date, days: int, n: int = 6) -> pl.Series:
    return pl.Series([start + timedelta(days=days * k) for k in range(n)])


@pytest.mark.parametrize("start", [date(2024, 1, 7), date(2024, 1, 3), date(2024, 1, 6)])
def test_infer_bucket_reads_weekly_dates_on_any_one_weekday_as_weeks(start: date) -> None:
    """Regression: weekly exports dated Sunday (or Wednesday, Saturday) were read as days."""
    assert infer_bucket(_every(start, 7)) is Bucket.WEEK


def test_infer_bucket_reads_month_end_dates_as_months() -> None:
    """Regression: monthly exports dated at month end were read as days."""
    ends = pl.Series([date(2023, 11, 30), date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29)])
    assert infer_bucket(ends) is Bucket.MONTH
    assert infer_bucket(pl.Series([date(2024, 1, 1), date(2024, 2, 1)])) is Bucket.MONTH


def test_infer_bucket_keeps_single_dates_and_mixed_weekdays_as_before() -> None:
    assert infer_bucket(pl.Series([date(2024, 1, 1)])) is Bucket.WEEK  # one Monday
    assert infer_bucket(pl.Series([date(2024, 1, 7)])) is Bucket.DAY  # one Sunday
    assert infer_bucket(pl.Series([date(2024, 1, 31)])) is Bucket.DAY  # one month end
    assert infer_bucket(_every(date(2024, 1, 1), 1)) is Bucket.DAY
    assert infer_bucket(pl.Series([date(2024, 1, 31), date(2024, 2, 15)])) is Bucket.DAY


def test_week_dates_note_says_where_sunday_weeks_land() -> None:
    sundays = _every(date(2024, 1, 7), 7)
    note = week_dates_note(sundays, Bucket.WEEK)
    assert "every date is a Sunday" in note and "one week early" in note
    assert week_dates_note(_every(date(2024, 1, 1), 7), Bucket.WEEK) == ""
    assert week_dates_note(sundays, Bucket.DAY) == ""
