"""Like-item history for new items (core/forecast/analogue.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.forecast.analogue import borrow_history
from stockpilot.errors import InvalidDataError, InvalidParameterError

NAN = np.nan


def test_given_factor_scales_the_analogue_before_launch_only() -> None:
    y = np.array([[NAN, NAN, NAN, 4.0, 6.0, 5.0]])
    ref = np.array([[10.0, 12.0, 8.0, 12.0, 10.0, 10.0]])
    r = borrow_history(y, ref, [0.5])
    assert r.values.tolist() == [[5.0, 6.0, 4.0, 4.0, 6.0, 5.0]]
    assert r.borrowed.tolist() == [3] and r.factor.tolist() == [0.5]
    assert not r.estimated[0]


def test_factor_estimated_from_the_overlap_by_hand() -> None:
    """Both sold in the last 4 periods: 4 + 6 + 5 + 5 = 20 against 12 + 10 + 10 + 8 = 40,
    so the new item sells half of its analogue: factor 0.5."""
    y = np.array([[NAN, NAN, 4.0, 6.0, 5.0, 5.0]])
    ref = np.array([[10.0, 14.0, 12.0, 10.0, 10.0, 8.0]])
    r = borrow_history(y, ref)
    assert r.factor[0] == pytest.approx(0.5) and r.estimated[0]
    np.testing.assert_allclose(r.values[0, :2], [5.0, 7.0])
    # three periods of overlap are too few: factor 1
    short = borrow_history(y[:, :5], ref[:, :5])
    assert short.factor[0] == 1.0 and not short.estimated[0]
    np.testing.assert_allclose(short.values[0, :2], [10.0, 14.0])


def test_rows_without_analogue_and_bad_input() -> None:
    y = np.array([[NAN, 3.0, 4.0], [1.0, 2.0, 3.0]])
    r = borrow_history(y, np.full(y.shape, NAN))
    np.testing.assert_array_equal(r.values, y)
    assert r.borrowed.tolist() == [0, 0] and np.isnan(r.factor).all()
    with pytest.raises(InvalidDataError):
        borrow_history(y, np.ones((1, 3)))
    with pytest.raises(InvalidParameterError):
        borrow_history(y, np.ones(y.shape), [-1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 5), st.integers(2, 30)), elements=st.floats(0, 100)
    ),
    st.data(),
)
def test_own_observations_never_change_and_borrowed_counts_add_up(
    full: np.ndarray, data: st.DataObject
) -> None:
    n, t = full.shape
    launch = np.array(data.draw(st.lists(st.integers(0, t), min_size=n, max_size=n)))
    y = np.where(np.arange(t)[None, :] >= launch[:, None], full, NAN)
    ref = full[::-1].copy()
    r = borrow_history(y, ref, np.full(n, 2.0))
    observed = ~np.isnan(y)
    np.testing.assert_array_equal(r.values[observed], y[observed])
    assert (r.borrowed == np.minimum(launch, t)).all()
    before = ~observed
    np.testing.assert_allclose(r.values[before], 2.0 * ref[before])
