"""The Panel matrix built from long demand: keys, sums and leading NaNs, whatever the
order of the records."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.engine.panel import to_panel

START = date(2024, 1, 1)  # a Monday


def _records(order: list[tuple[str, str, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(i, loc, START + timedelta(weeks=w), q) for i, loc, w, q in order],
        schema=["item_id", "location_id", "period", "quantity"],
        orient="row",
    )


def test_records_listed_by_series_give_sorted_keys_and_sums() -> None:
    d = _records(
        [
            ("B", "L1", 0, 1.0),
            ("B", "L1", 1, 2.0),
            ("A", "L2", 1, 3.0),
            ("A", "L2", 1, 4.0),  # same key and week: summed
            ("A", "L1", 2, 5.0),
        ]
    )
    p = to_panel(d, bucket="week")
    assert p.keys.rows() == [("A", "L1"), ("A", "L2"), ("B", "L1")]
    np.testing.assert_array_equal(
        p.values, [[np.nan, np.nan, 5.0], [np.nan, 7.0, 0.0], [1.0, 2.0, 0.0]]
    )


def test_a_key_in_several_runs_is_one_series() -> None:
    # runs A, B, A: the second run of A must land on A's row, not a new one
    d = _records(
        [("A", "L", 0, 1.0), ("A", "L", 1, 1.0), ("B", "L", 0, 2.0), ("A", "L", 2, 3.0)]
        + [("C", "L", w, 1.0) for w in range(3)]
    )
    p = to_panel(d, bucket="week")
    assert p.keys["item_id"].to_list() == ["A", "B", "C"]
    np.testing.assert_array_equal(p.values[0], [1.0, 1.0, 3.0])


def test_same_item_at_two_locations_in_one_run_of_items() -> None:
    # the item repeats but the location changes: a new run
    d = _records([("A", "L1", 0, 1.0), ("A", "L2", 0, 2.0), ("A", "L1", 1, 4.0)])
    p = to_panel(d, bucket="week")
    np.testing.assert_array_equal(p.values, [[1.0, 4.0], [2.0, 0.0]])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", "D"]),
            st.sampled_from(["L1", "L2"]),
            st.integers(0, 9),
            st.floats(0, 100, allow_nan=False),
        ),
        min_size=1,
        max_size=60,
    ),
    st.randoms(use_true_random=False),
)
def test_panel_does_not_depend_on_record_order(
    records: list[tuple[str, str, int, float]], rnd: object
) -> None:
    by_key = sorted(records, key=lambda r: (r[0], r[1], r[2]))
    shuffled = list(records)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a = to_panel(_records(by_key), bucket="week")
    b = to_panel(_records(shuffled), bucket="week")
    assert a.keys.equals(b.keys)
    np.testing.assert_allclose(a.values, b.values, equal_nan=True)
    assert np.nansum(a.values) == pytest.approx(sum(r[3] for r in records))


def test_a_window_keeps_the_records_inside_and_the_start_of_each_series() -> None:
    d = _records([("A", "L", 0, 1.0), ("A", "L", 2, 2.0), ("A", "L", 4, 3.0), ("B", "L", 3, 5.0)])
    p = to_panel(d, bucket="week", start=START + timedelta(weeks=1), end=START + timedelta(weeks=3))
    assert p.n_periods == 3
    # A began before the window: observed (0) from its first column; B starts at week 3
    np.testing.assert_array_equal(p.values, [[0.0, 2.0, 0.0], [np.nan, np.nan, 5.0]])
