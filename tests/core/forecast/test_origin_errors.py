"""Rolling-origin error sums against the sums numpy gives cell by cell."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.forecast.origin_errors import OriginErrors


def test_one_origin_hand_computed() -> None:
    e = OriginErrors.zeros(2, 2, 3)
    # series 1 only, candidate 1; forecast steps beyond the actuals are ignored
    e.add(1, np.array([False, True]), np.array([[5.0, 3.0, 9.0]]), np.array([[4.0, 6.0]]))
    assert e.squared[1, 1] == 10.0  # 1 + 9
    assert e.absolute[1, 1] == 4.0
    assert e.signed[1, 1] == -2.0
    assert e.count[1, 1] == 2.0
    assert e.squared_step[1, 1].tolist() == [1.0, 9.0, 0.0]
    assert e.count_step[1, 1].tolist() == [1.0, 1.0, 0.0]
    assert not e.squared[0].any() and not e.squared[:, 0].any()
    mse, mae, bias = e.means()
    assert (mse[1, 1], mae[1, 1], bias[1, 1]) == (5.0, 2.0, -1.0)
    assert np.isnan(mse[0, 0])


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, (5, 4), elements=st.one_of(st.floats(0, 20), st.just(np.nan))),
    arrays(np.float64, (5, 4), elements=st.floats(0, 20)),
    arrays(np.bool_, 5),
    st.integers(1, 4),
)
def test_sums_over_two_origins_match_numpy(
    actual: np.ndarray, forecast: np.ndarray, rows: np.ndarray, steps: int
) -> None:
    e = OriginErrors.zeros(5, 3, 4)
    at = np.flatnonzero(rows)
    for _ in range(2):
        e.add(2, rows, forecast[at], actual[at, :steps])
    err = forecast[at, :steps] - actual[at, :steps]
    ok = ~np.isnan(err)
    e0 = np.where(ok, err, 0.0)
    np.testing.assert_allclose(e.squared[at, 2], 2 * (e0 * e0).sum(axis=1))
    np.testing.assert_allclose(e.absolute[at, 2], 2 * np.abs(e0).sum(axis=1))
    np.testing.assert_allclose(e.signed[at, 2], 2 * e0.sum(axis=1), atol=1e-12)
    np.testing.assert_array_equal(e.count[at, 2], 2 * ok.sum(axis=1))
    np.testing.assert_allclose(e.squared_step[at, 2, :steps], 2 * e0 * e0)
    np.testing.assert_array_equal(e.count_step[at, 2, :steps], 2 * ok)
    assert not e.count[~rows].any() and not e.count[:, :2].any()
