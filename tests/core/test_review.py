"""Review-type rule: hand-computed cases of the documented rule and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.review import ReviewCapability, ReviewType, choose_review_type
from stockpilot.errors import InvalidParameterError


def test_documented_rule_hand_computed_cases() -> None:
    """Hand-computed with daily buckets (limit 0.25 x 24 h = 6 h):
    real_time + 1 h latency -> age 1 h, continuous;
    hourly_batch + 2 h -> 3 h, continuous;
    hourly_batch + 8 h -> 9 h, periodic, R = 1 day;
    daily_batch + 4 h -> 28 h, periodic, R = 1 day;
    weekly_batch + 0 h -> 168 h, periodic, R = 7 days;
    real_time with a weekly order cycle -> 168 h, periodic, R = 7 days;
    daily_batch with a 3-day cycle -> 72 h, periodic, R = 3 days."""
    r = choose_review_type(
        [
            "real_time",
            "hourly_batch",
            "hourly_batch",
            "daily_batch",
            "weekly_batch",
            "real_time",
            "daily_batch",
        ],
        latency_hours=[1, 2, 8, 4, 0, 0, 2],
        cycle_days=[0, 0, 0, 0, 0, 7, 3],
        bucket="day",
    )
    assert [t.value for t in r.review_type] == [
        "continuous",
        "continuous",
        "periodic",
        "periodic",
        "periodic",
        "periodic",
        "periodic",
    ]
    np.testing.assert_allclose(r.review_period_days, [0, 0, 1, 1, 7, 7, 3])
    np.testing.assert_allclose(r.information_age_hours, [1, 3, 9, 28, 168, 168, 74])
    np.testing.assert_allclose(r.information_delay_days, np.array([1, 2, 8, 4, 0, 0, 2]) / 24)
    assert "continuous review" in r.reasons[0]
    assert "order cycle" in r.reasons[5]
    assert "periodic review every 7 day(s)" in r.reasons[4]


def test_weekly_buckets_make_daily_batches_continuous() -> None:
    """Hand-computed: weekly bucket limit 0.25 x 168 h = 42 h; a daily batch with 6 h
    latency (30 h) is continuous there, a 2-day cycle (54 h) is periodic with R = 2 days
    = 2/7 of a week."""
    r = choose_review_type(
        ["daily_batch", "daily_batch"], latency_hours=6, cycle_days=[0, 2], bucket="week"
    )
    assert r.review_type == (ReviewType.CONTINUOUS, ReviewType.PERIODIC)
    np.testing.assert_allclose(r.review_period, [0.0, 2 / 7])


def test_errors_list_valid_values() -> None:
    with pytest.raises(InvalidParameterError, match=r"'capability'.*'real_time'"):
        choose_review_type(["telepathy"])
    with pytest.raises(InvalidParameterError, match="latency_hours"):
        choose_review_type(["real_time"], latency_hours=-1)
    with pytest.raises(InvalidParameterError, match="'bucket'"):
        choose_review_type(["real_time"], bucket="fortnight")


@settings(max_examples=80, deadline=None)
@given(
    cap=st.sampled_from(list(ReviewCapability)),
    latency=st.floats(0, 200),
    extra=st.floats(0, 200),
    cycle=st.sampled_from([0.0, 1.0, 2.0, 7.0]),
    bucket=st.sampled_from(["day", "week", "month"]),
)
def test_more_latency_never_turns_periodic_into_continuous(
    *, cap: ReviewCapability, latency: float, extra: float, cycle: float, bucket: str
) -> None:
    r = choose_review_type(
        [cap, cap], latency_hours=[latency, latency + extra], cycle_days=cycle, bucket=bucket
    )
    if r.review_type[0] is ReviewType.PERIODIC:
        assert r.review_type[1] is ReviewType.PERIODIC
    periodic = np.array([t is ReviewType.PERIODIC for t in r.review_type])
    # a periodic review period covers the posting cadence and is a whole number of cycles
    assert np.all(
        r.review_period_days[periodic] * 24
        >= r.information_age_hours[periodic] - np.array([latency, latency + extra])[periodic] - 1e-9
    )
    if cycle > 0:
        ratio = r.review_period_days[periodic] / cycle
        np.testing.assert_allclose(ratio, np.round(ratio))
