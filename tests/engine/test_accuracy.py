"""Accuracy and forecast value added of a published plan (hand-computed cases)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from stockpilot.engine.accuracy import plan_accuracy
from stockpilot.errors import InvalidDataError
from stockpilot.vocab import Bucket

MONDAY = date(2026, 1, 5)


def _week(k: int) -> date:
    return MONDAY + timedelta(weeks=k)


def _demand() -> pl.DataFrame:
    rows = []
    for item, values in (("A", [10, 10, 10, 12, 12, 8]), ("B", [5, 5, 5, 5, 7, 9])):
        rows += [
            {"item_id": item, "location_id": "L", "period": _week(k), "quantity": float(v)}
            for k, v in enumerate(values)
        ]
    return pl.DataFrame(rows)


def _forecasts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["A", "A", "B", "B", "A"],
            "location_id": ["L"] * 5,
            "period_start": [
                _week(4),
                _week(5),
                _week(4),
                _week(5),
                _week(6),
            ],  # week 6: no actual yet
            "mean": [11.0, 11.0, 8.0, 8.0, 11.0],
        }
    )


def test_hand_computed_accuracy_and_value_added() -> None:
    """A: forecast 11, 11 vs actual 12, 8; naive (last actual) 12. MAE 2, naive MAE 2,
    WAPE 4 / 20. B: statistical 5, 5 overridden by ann to 8, 8 vs actual 7, 9: MAE 1,
    statistical MAE 3 (override adds 2), naive 5 -> naive MAE 3 (statistical adds 0)."""
    overrides = pl.DataFrame(
        {
            "item_id": ["B", "B"],
            "location_id": ["L", "L"],
            "period_start": [_week(4), _week(5)],
            "statistical": [5.0, 5.0],
            "author": ["ann", "ann"],
        }
    )
    classes = pl.DataFrame({"item_id": ["A", "B"], "location_id": ["L", "L"], "abc": ["A", "B"]})
    res = plan_accuracy(
        _demand(), _forecasts(), bucket=Bucket.WEEK, overrides=overrides, classes=classes
    )
    assert res.periods == 2
    a, b = res.per_series.row(0, named=True), res.per_series.row(1, named=True)
    assert (a["mae"], a["mae_naive"], a["fva_statistical"]) == (2.0, 2.0, 0.0)
    assert a["wape"] == pytest.approx(0.2)
    assert math.isnan(a["fva_override"])  # no override
    assert (b["mae"], b["fva_override"], b["override_author"]) == (1.0, 2.0, "ann")
    assert b["fva_statistical"] == 0.0 and b["bias"] == 0.0
    # MASE of A: MAE 2 over the mean absolute one-step change of its history (2/3)
    assert a["mase"] == pytest.approx(2.0 / (2.0 / 3.0))
    assert res.by_author.rows() == [("ann", 1, 2.0)]
    assert res.by_class["abc"].to_list() == ["A", "B"]
    assert res.by_class.filter(pl.col("abc") == "B")["wape"][0] == pytest.approx(2.0 / 16.0)


def test_nothing_to_score_before_the_plan_has_actuals() -> None:
    late = _forecasts().with_columns(pl.col("period_start") + timedelta(weeks=10))
    assert plan_accuracy(_demand(), late, bucket=Bucket.WEEK).periods == 0


def test_duplicate_forecast_rows_are_an_error_naming_them() -> None:
    """A row fed twice was summed: A's forecast of week 4 read as 22."""
    doubled = pl.concat([_forecasts(), _forecasts().head(1)])
    with pytest.raises(InvalidDataError, match=r"1 \(item_id, location_id, period_start\)") as e:
        plan_accuracy(_demand(), doubled, bucket=Bucket.WEEK)
    assert f"(A, L, {_week(4)})" in str(e.value)


def test_missing_or_null_forecast_bucket_is_not_scored_as_zero() -> None:
    """A has no forecast for week 5 (no row, or a null mean): it was scored as a forecast
    of 0 (MAE (1 + 8) / 2 = 4.5). Only week 4 is scored: 11 vs 12, MAE 1, WAPE 1 / 12."""
    week_5_of_a = (pl.col("item_id") == "A") & (pl.col("period_start") == _week(5))
    missing = _forecasts().filter(~week_5_of_a)
    null = _forecasts().with_columns(
        pl.when(week_5_of_a).then(None).otherwise(pl.col("mean")).alias("mean")
    )
    for frame in (missing, null):
        a = plan_accuracy(_demand(), frame, bucket=Bucket.WEEK).per_series.row(0, named=True)
        assert (a["periods"], a["actual"], a["forecast"], a["mae"]) == (1, 12.0, 11.0, 1.0)
        assert a["wape"] == pytest.approx(1.0 / 12.0)
        assert a["mae_naive"] == 0.0  # naive 12 vs 12, on the scored week only


def test_overrides_of_other_series_do_not_zero_the_statistical_forecast() -> None:
    """Overrides of A in week 5 and of B in week 4: A's week 4 has no override row, and
    the pivot sum read its statistical value as 0 (MAE 8, value added 6). Statistical
    11, 12 vs actual 12, 8: MAE 2.5; override 11, 11: MAE 2, value added 0.5."""
    overrides = pl.DataFrame(
        {
            "item_id": ["A", "B"],
            "location_id": ["L", "L"],
            "period_start": [_week(5), _week(4)],
            "statistical": [12.0, 5.0],
            "author": ["ann", "bob"],
        }
    )
    res = plan_accuracy(_demand(), _forecasts(), bucket=Bucket.WEEK, overrides=overrides)
    a = res.per_series.row(0, named=True)
    assert a["fva_override"] == pytest.approx(0.5)


def test_a_series_overridden_by_two_authors_is_credited_the_same_way_every_time() -> None:
    """Regression: on a tie the author came from polars' mode (either one, run to run). The
    author of most cells wins; on a tie the one who overrode first (audit order)."""

    def credited(authors: list[str]) -> str:
        overrides = pl.DataFrame(
            {
                "item_id": ["B"] * len(authors),
                "location_id": ["L"] * len(authors),
                "period_start": [_week(4), _week(5), _week(4)][: len(authors)],
                "statistical": [5.0] * len(authors),
                "author": authors,
            }
        )
        res = plan_accuracy(_demand(), _forecasts(), bucket=Bucket.WEEK, overrides=overrides)
        return str(res.per_series.filter(pl.col("item_id") == "B")["override_author"][0])

    for _ in range(5):
        assert credited(["bob", "ann"]) == "bob"  # one cell each: bob overrode first
        assert credited(["ann", "bob"]) == "ann"
    assert credited(["bob", "ann", "ann"]) == "ann"  # ann holds two of the cells
