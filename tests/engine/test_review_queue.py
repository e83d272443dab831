"""review_queue: forecasts against actuals from frames, one row per flag."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from stockpilot.core.forecast.exceptions import ExceptionRules
from stockpilot.engine.forecasting import review_queue
from stockpilot.errors import InvalidDataError

WEEKS = [date(2024, 1, 1) + timedelta(weeks=k) for k in range(12)]


def _actuals(quantity: float = 10.0) -> pl.DataFrame:
    return pl.DataFrame({"item_id": "A", "location_id": "L", "period": WEEKS, "quantity": quantity})


def _forecasts(mean: float = 10.0, item: str = "A") -> pl.DataFrame:
    return pl.DataFrame(
        {"item_id": item, "location_id": "L", "period_start": WEEKS[6:], "mean": mean}
    )


def test_duplicate_forecast_rows_are_an_error_naming_them() -> None:
    """The same frame fed twice was summed: a perfect forecast of 10 read as 20, flagged."""
    fc = _forecasts()
    with pytest.raises(InvalidDataError, match=r"6 \(item_id, location_id, period_start\)") as e:
        review_queue(_actuals(), pl.concat([fc, fc]), bucket="week")
    assert "(A, L, 2024-02-12)" in str(e.value)


def test_missing_null_and_nan_forecast_cells_are_all_not_forecast() -> None:
    """Forecast 6 against actual 10 with week 8 not forecast: a missing row counted as a
    forecast of 0 (WAPE 47 %), a null one was ignored. Each is now left out: WAPE 40 %
    over the 5 forecast weeks."""
    fc = _forecasts(6.0)
    at_week_8 = pl.col("period_start") == WEEKS[8]
    variants = {
        "missing": fc.filter(~at_week_8),
        "null": fc.with_columns(
            pl.when(at_week_8).then(None).otherwise(pl.col("mean")).alias("mean")
        ),
        "nan": fc.with_columns(
            pl.when(at_week_8).then(float("nan")).otherwise(pl.col("mean")).alias("mean")
        ),
    }
    rules = ExceptionRules(max_error=0.3, level_shift_window=None)
    for name, frame in variants.items():
        q = review_queue(_actuals(), frame, bucket="week", rules=rules)
        error = q.filter(pl.col("rule") == "error")
        assert error["value"].to_list() == [pytest.approx(0.4)], name
        assert "over 5 of the last 6 periods" in error["reason"][0], name


def test_missing_forecast_week_does_not_raise_a_tracking_signal_flag() -> None:
    """A perfect forecast with one week missing was flagged (tracking signal +6)."""
    fc = _forecasts().filter(pl.col("period_start") != WEEKS[8])
    assert review_queue(_actuals(), fc, bucket="week").height == 0


def test_series_with_forecasts_but_no_actual_records_has_zero_actuals() -> None:
    """B was forecast 10 a week and sold nothing (no records in the covered weeks): it was
    dropped silently; it is the case the zero-actual error rule exists for."""
    fc = pl.concat([_forecasts(), _forecasts(item="B")])
    q = review_queue(_actuals(), fc, bucket="week")
    assert set(q["item_id"].to_list()) == {"B"}
    assert q.filter(pl.col("rule") == "error")["value"].to_list() == [float("inf")]


def test_no_actuals_are_invented_outside_the_periods_the_actuals_cover() -> None:
    """Forecasts for weeks after the last actual record are not monitored."""
    later = _forecasts(item="B").with_columns(pl.col("period_start") + timedelta(weeks=6))
    assert review_queue(_actuals(), later, bucket="week").height == 0


def test_pandas_forecasts_and_text_dates_are_read() -> None:
    fc = _forecasts(30.0)
    expected = review_queue(_actuals(), fc, bucket="week")
    assert expected.height > 0
    text = fc.with_columns(pl.col("period_start").cast(pl.String))
    for frame in (fc.to_pandas(), text, text.to_pandas()):
        assert review_queue(_actuals(), frame, bucket="week").equals(expected)


def test_short_window_warns_of_rules_that_cannot_fire() -> None:
    """Three monitored weeks: the tracking signal is at most 3 and the bias run needs 6."""
    fc = _forecasts().filter(pl.col("period_start") >= WEEKS[9])
    with pytest.warns(UserWarning) as caught:
        review_queue(_actuals(), fc, bucket="week", rules=ExceptionRules(window=3))
    messages = " | ".join(str(w.message) for w in caught)
    assert "tracking_signal cannot fire" in messages
    assert "persistent_bias cannot fire" in messages
