"""Events as the planning run reads them: kinds in any case, and a word on events that
reach the horizon but change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from stockpilot.core.forecast.events import AdjustmentType, EventKind
from stockpilot.engine.forecasting import Forecaster
from stockpilot.services.planning import _unmatched_events, events_from_frame
from stockpilot.vocab import Bucket

START = date(2026, 1, 5)  # a Monday


def _events(*rows: tuple[str, str, date, date, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "start_date": [r[2] for r in rows],
            "end_date": [r[3] for r in rows],
            "item_id": [r[4] for r in rows],
            "category": [None] * len(rows),
            "location_id": ["L"] * len(rows),
            "uplift_pct": [50.0] * len(rows),
            "quantity": [None] * len(rows),
            "author": ["ann"] * len(rows),
            "reason": ["flyer"] * len(rows),
        },
        schema_overrides={"category": pl.String, "quantity": pl.Float64},
    )


def test_event_kinds_are_read_in_any_case_and_a_launch_is_other() -> None:
    horizon = START + timedelta(weeks=30)
    got = events_from_frame(
        _events(
            ("P", "Promotion", horizon, horizon, "A"),
            ("L", "launch", horizon, horizon, "A"),
        )
    )
    assert [e.kind for e in got] == [EventKind.PROMOTION, EventKind.OTHER]
    assert got[0].adjustment is AdjustmentType.UPLIFT_PCT and got[0].value == 0.5


def test_events_in_the_horizon_that_change_nothing_are_named() -> None:
    weeks = 30
    demand = pl.DataFrame(
        {
            "item_id": "A",
            "location_id": "L",
            "period": [START + timedelta(weeks=k) for k in range(weeks)],
            "quantity": np.arange(weeks, dtype=float) % 5 + 3,
        }
    )
    first_future = START + timedelta(weeks=weeks)
    last_day = first_future + timedelta(weeks=4, days=-1)  # the last forecast week's Sunday
    rows = _events(
        ("HIT", "promotion", first_future, first_future, "A"),
        ("GHOST", "promotion", first_future, first_future, "Z"),  # no series of Z
        ("LATE", "promotion", last_day, last_day, "Z"),  # the last week's Sunday
        ("PAST", "promotion", START, START, "Z"),  # before the horizon: not reported
    )
    events = events_from_frame(rows)
    result = Forecaster(horizon=4, bucket="week", events=events).fit(demand).predict()
    assert {r.event_id for r in result.overrides} == {"HIT"}
    note = _unmatched_events(events, result, Bucket.WEEK)
    assert note == " (2 event(s) in the horizon matched no forecast series: GHOST, LATE)"
