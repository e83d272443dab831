"""Events and overrides adjust forecasts with audit records; history cleansing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from stockpilot.core.forecast.events import (
    AdjustmentType,
    EventKind,
    EventScope,
    ForecastEvent,
    apply_events,
    cleanse_history,
    event_mask,
    manual_override,
)
from stockpilot.errors import InvalidDataError, InvalidParameterError

PERIODS = np.array(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"], dtype="datetime64[D]")
ITEMS = ["A", "A", "B"]
LOCS = ["L1", "L2", "L1"]
NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def _event(**kw: object) -> ForecastEvent:
    base: dict[str, object] = dict(
        event_id="E",
        kind=EventKind.PROMOTION,
        start=date(2024, 1, 8),
        end=date(2024, 1, 14),
        adjustment=AdjustmentType.UPLIFT_PCT,
        value=0.5,
        author="ann",
        reason="flyer",
    )
    base.update(kw)
    return ForecastEvent(**base)  # type: ignore[arg-type]


def test_uplift_absolute_and_shutdown_by_scope() -> None:
    fc = np.full((3, 4), 10.0)
    events = [
        _event(scope=EventScope(item_ids=("A",))),  # +50 % in week 2 for A at L1, L2
        _event(
            event_id="S",
            kind=EventKind.SHUTDOWN,
            adjustment=AdjustmentType.ZERO,
            start=date(2024, 1, 10),
            end=date(2024, 1, 16),
            scope=EventScope(location_ids=("L1",)),
            reason="plant shutdown",
        ),
        _event(
            event_id="X",
            adjustment=AdjustmentType.ABSOLUTE,
            value=3.0,
            start=date(2024, 1, 22),
            end=date(2024, 1, 22),
            scope=EventScope(hierarchy={"category": ("toys",)}),
            reason="allocation",
        ),
    ]
    r = apply_events(
        fc,
        events,
        item_ids=ITEMS,
        location_ids=LOCS,
        periods=PERIODS,
        attributes={"category": ["toys", "toys", "food"]},
        now=NOW,
    )
    assert r.values.tolist() == [
        [10.0, 0.0, 0.0, 3.0],  # shutdown wins over the promotion in week 2 (applied last)
        [10.0, 15.0, 10.0, 3.0],
        [10.0, 0.0, 0.0, 10.0],
    ]
    # records: 2 uplift + 2 absolute + 4 shutdown cells (A/L1 w2 15->0 recorded too)
    assert len(r.records) == 8
    rec = next(x for x in r.records if x.event_id == "S" and x.item_id == "A")
    assert (rec.old_value, rec.new_value, rec.author) == (15.0, 0.0, "ann")
    assert rec.reason == "shutdown: plant shutdown" and rec.timestamp == NOW
    assert rec.period_start == date(2024, 1, 8)


def test_event_requires_author_reason_and_valid_dates() -> None:
    with pytest.raises(InvalidParameterError, match="author"):
        _event(author=" ")
    with pytest.raises(InvalidParameterError, match="'end' parameter"):
        _event(end=date(2024, 1, 1))
    with pytest.raises(InvalidDataError, match="hierarchy level 'brand'"):
        event_mask(
            _event(scope=EventScope(hierarchy={"brand": ("x",)})),
            item_ids=ITEMS,
            location_ids=LOCS,
            periods=PERIODS,
        )


def test_manual_override_logs_old_and_new() -> None:
    r = manual_override(
        np.full((3, 4), 2.0),
        rows=[1],
        cols=[3],
        new_values=[9.0],
        author="bo",
        reason="tender won",
        item_ids=ITEMS,
        location_ids=LOCS,
        periods=PERIODS,
        now=NOW,
    )
    assert r.values[1, 3] == 9.0 and r.changed.sum() == 1
    (rec,) = r.records
    assert (rec.item_id, rec.location_id, rec.period_start) == ("A", "L2", date(2024, 1, 22))
    assert (rec.old_value, rec.new_value) == (2.0, 9.0)


def test_cleanse_history_removes_promotion_from_baseline() -> None:
    y = np.array([[np.nan, 10.0, 10.0, 30.0, 10.0, 10.0], [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]])
    mask = np.zeros_like(y, dtype=bool)
    mask[0, 3] = True
    mask[0, 0] = True  # not observed: stays NaN
    c = cleanse_history(y, mask, radius=2)
    assert c.values[0, 3] == 10.0
    assert np.isnan(c.values[0, 0])
    assert c.replaced.sum() == 1
    np.testing.assert_array_equal(c.values[1], y[1])
    # with no unaffected neighbour the series mean of unaffected periods is used
    y2 = np.array([[2.0, 50.0, 50.0, 50.0, 4.0]])
    m2 = np.array([[False, True, True, True, False]])
    assert cleanse_history(y2, m2, radius=1).values[0, 2] == 3.0


# --- kind / adjustment vocabularies -------------------------------------------------------

WEEK_OF_2025_01_06 = np.array(["2025-01-06"], dtype="datetime64[D]")


def _apply_one(event: ForecastEvent, periods: np.ndarray = WEEK_OF_2025_01_06) -> np.ndarray:
    fc = np.full((1, periods.size), 10.0)
    r = apply_events(fc, [event], item_ids=["A"], location_ids=["L"], periods=periods, now=NOW)
    return r.values


@pytest.mark.parametrize("adjustment", ["uplift", "UPLIFT_PCT", "Zero", 2, None])
def test_unknown_adjustment_is_rejected_listing_valid_values(adjustment: object) -> None:
    # an unknown adjustment used to fall into the shutdown branch and zero the forecast
    with pytest.raises(InvalidParameterError, match="'adjustment' parameter") as err:
        _event(adjustment=adjustment)
    for valid in ("'uplift_pct'", "'absolute'", "'zero'"):
        assert valid in str(err.value)


@pytest.mark.parametrize("kind", ["promo", "PROMOTION", AdjustmentType.ZERO, 1])
def test_unknown_kind_is_rejected_listing_valid_values(kind: object) -> None:
    with pytest.raises(InvalidParameterError, match="'kind' parameter") as err:
        _event(kind=kind)
    for valid in ("'promotion'", "'shutdown'", "'price_change'", "'other'"):
        assert valid in str(err.value)


def test_string_kind_and_adjustment_are_converted_and_applied() -> None:
    # a plain-string kind used to crash apply_events with AttributeError ('str'.value)
    week = {"start": date(2025, 1, 6), "end": date(2025, 1, 12)}
    ev = _event(kind="promotion", adjustment="uplift_pct", **week)
    assert ev.kind is EventKind.PROMOTION and ev.adjustment is AdjustmentType.UPLIFT_PCT
    r = apply_events(
        [[10.0]], [ev], item_ids=["A"], location_ids=["L"], periods=WEEK_OF_2025_01_06, now=NOW
    )
    assert r.values.tolist() == [[15.0]]
    assert r.records[0].reason == "promotion: flyer"
    shutdown = _event(kind="shutdown", adjustment="zero", **week)
    assert _apply_one(shutdown).tolist() == [[0.0]]


@pytest.mark.parametrize(
    ("adjustment", "value"),
    [
        (AdjustmentType.UPLIFT_PCT, float("inf")),
        (AdjustmentType.ABSOLUTE, float("inf")),
        (AdjustmentType.UPLIFT_PCT, float("nan")),
        (AdjustmentType.ABSOLUTE, float("nan")),
        (AdjustmentType.ZERO, float("inf")),
    ],
)
def test_non_finite_value_is_rejected(adjustment: AdjustmentType, value: float) -> None:
    with pytest.raises(InvalidParameterError, match=r"'value' parameter.*finite"):
        _event(adjustment=adjustment, value=value)


def test_uplift_of_minus_100_percent_or_less_and_negative_quantity_stay_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="uplift > -1"):
        _event(value=-1.0)
    with pytest.raises(InvalidParameterError, match=">= 0"):
        _event(adjustment=AdjustmentType.ABSOLUTE, value=-2.0)


# --- bucket ends: a bucket is hit when it shares any day with the event -------------------


def test_single_weekly_bucket_is_hit_by_a_midweek_event() -> None:
    # Wed-Thu of the week of Monday 6 January 2025; one period used to be taken as one day
    ev = _event(start=date(2025, 1, 8), end=date(2025, 1, 9))
    assert _apply_one(ev).tolist() == [[15.0]]


def test_last_monthly_bucket_is_hit_by_an_event_on_its_last_days() -> None:
    # March's end used to be taken as 1 March + 28 days (the February gap) = 29 March
    months = np.array(["2025-01-01", "2025-02-01", "2025-03-01"], dtype="datetime64[D]")
    ev = _event(start=date(2025, 3, 30), end=date(2025, 3, 31))
    assert _apply_one(ev, months).tolist() == [[10.0, 10.0, 15.0]]


def test_last_weekly_bucket_is_hit_on_its_sunday_with_a_gap_in_the_periods() -> None:
    # the gap before the last week is two weeks; the last week still ends on its Sunday
    weeks = np.array(["2025-01-06", "2025-01-13", "2025-01-27"], dtype="datetime64[D]")
    on_sunday = _event(start=date(2025, 2, 2), end=date(2025, 2, 2))
    after = _event(start=date(2025, 2, 3), end=date(2025, 2, 9))
    assert _apply_one(on_sunday, weeks).tolist() == [[10.0, 10.0, 15.0]]
    assert _apply_one(after, weeks).tolist() == [[10.0, 10.0, 10.0]]
    # an interior bucket ends on its own Sunday, not the day before the next start
    in_gap = _event(start=date(2025, 1, 20), end=date(2025, 1, 26))
    assert _apply_one(in_gap, weeks).tolist() == [[10.0, 10.0, 10.0]]


def test_daily_buckets_are_hit_only_on_their_day() -> None:
    days = np.array(["2025-01-06", "2025-01-07", "2025-01-08"], dtype="datetime64[D]")
    ev = _event(start=date(2025, 1, 8), end=date(2025, 1, 9))
    assert _apply_one(ev, days).tolist() == [[10.0, 10.0, 15.0]]


@pytest.mark.parametrize(
    ("start", "bucket", "hit_on"),
    [
        ("2025-03-01", "month", date(2025, 3, 31)),  # a Saturday the 1st: a month
        ("2025-01-06", "week", date(2025, 1, 12)),  # a Monday: an ISO week
        ("2025-01-08", "day", date(2025, 1, 8)),  # any other day: a day
    ],
)
def test_single_period_bucket_defaults_by_its_start(start: str, bucket: str, hit_on: date) -> None:
    one = np.array([start], dtype="datetime64[D]")
    assert _apply_one(_event(start=hit_on, end=hit_on), one).tolist() == [[15.0]]
    after = hit_on + (date(2025, 1, 2) - date(2025, 1, 1))
    assert _apply_one(_event(start=after, end=after), one).tolist() == [[10.0]]


def test_bucket_argument_settles_an_ambiguous_single_period() -> None:
    # Monday 1 September 2025 starts a month, an ISO week and a day
    one = np.array(["2025-09-01"], dtype="datetime64[D]")
    ev = _event(start=date(2025, 9, 3), end=date(2025, 9, 3))
    mask = {
        b: event_mask(ev, item_ids=["A"], location_ids=["L"], periods=one, bucket=b)[0, 0]
        for b in ("day", "week", "month")
    }
    assert mask == {"day": False, "week": True, "month": True}
    late = _event(start=date(2025, 9, 30), end=date(2025, 9, 30))
    r = apply_events(
        [[10.0]], [late], item_ids=["A"], location_ids=["L"], periods=one, bucket="month", now=NOW
    )
    assert r.values.tolist() == [[15.0]]
    r = apply_events(
        [[10.0]], [late], item_ids=["A"], location_ids=["L"], periods=one, bucket="week", now=NOW
    )
    assert r.values.tolist() == [[10.0]]


def test_unknown_bucket_is_rejected_listing_valid_values() -> None:
    with pytest.raises(InvalidParameterError, match=r"'bucket' parameter.*'day', 'week', 'month'"):
        event_mask(_event(), item_ids=["A"], location_ids=["L"], periods=PERIODS, bucket="quarter")


def test_uninferable_bucket_asks_for_the_bucket_argument() -> None:
    every_third_day = np.array(["2025-01-06", "2025-01-09", "2025-01-12"], dtype="datetime64[D]")
    with pytest.raises(InvalidDataError, match="bucket="):
        event_mask(_event(), item_ids=["A"], location_ids=["L"], periods=every_third_day)
    event_mask(_event(), item_ids=["A"], location_ids=["L"], periods=every_third_day, bucket="day")


def test_period_ends_give_the_buckets_and_exclude_the_bucket_argument() -> None:
    two_weeks = np.array(["2025-01-06"], dtype="datetime64[D]")
    ends = np.array(["2025-01-19"], dtype="datetime64[D]")
    ev = _event(start=date(2025, 1, 15), end=date(2025, 1, 15))
    kw = {"item_ids": ["A"], "location_ids": ["L"], "periods": two_weeks}
    assert event_mask(ev, period_ends=ends, **kw).tolist() == [[True]]
    with pytest.raises(InvalidParameterError, match="'bucket' parameter"):
        event_mask(ev, period_ends=ends, bucket="week", **kw)


def test_a_scope_given_one_code_as_a_string_matches_that_code() -> None:
    scope = EventScope(item_ids="A", hierarchy={"category": "food"})
    assert scope.item_ids == ("A",) and scope.hierarchy == {"category": ("food",)}
    assert EventScope(location_ids=["L1", "L2"]).location_ids == ("L1", "L2")
