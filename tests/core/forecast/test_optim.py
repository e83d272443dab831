"""The vectorized box searches of the smoothing models (core/forecast/models/_optim.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.optimize import rosen

from stockpilot.core.forecast.models._optim import (
    BoxOptimum,
    RowObjective,
    grid_points,
    minimize_box,
    polish_simplex,
)

LOWER = np.array([-2.0, -1.0])
UPPER = np.array([2.0, 3.0])


def _rosenbrock(shift: NDArray[np.float64]) -> RowObjective:
    """Rosenbrock's banana valley per series, its minimum moved to (1, 1) + shift[i]."""

    def f(x: NDArray[np.float64], rows: NDArray[np.intp]) -> NDArray[np.float64]:
        z = x - shift[rows, None, :]
        return np.asarray(rosen(np.moveaxis(z, -1, 0)), dtype=np.float64)

    return f


def test_simplex_polish_reaches_the_bottom_of_rosenbrocks_valley() -> None:
    """The classic curved valley (Rosenbrock 1960) where a compass search crawls: from the
    compass optimum the polish reaches the minimum, for every series at once."""
    shift = np.array([[0.0, 0.0], [0.3, -0.2], [-0.5, 0.4]])
    f = _rosenbrock(shift)
    every = np.arange(3)
    compass = minimize_box(
        lambda x: f(x, every),
        3,
        lower=LOWER,
        upper=UPPER,
        grid=grid_points([np.linspace(-2, 2, 5), np.linspace(-1, 3, 5)]),
        iterations=4,
    )
    assert (compass.value > 1e-3).any()  # the compass search alone stops short
    polished = polish_simplex(
        f, compass, lower=LOWER, upper=UPPER, size=np.array([0.2, 0.2]), iterations=400,
        tolerance=1e-14,
    )  # fmt: skip
    np.testing.assert_allclose(polished.x, 1.0 + shift, atol=1e-3)
    assert (polished.value < 1e-6).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-0.8, 0.8), st.floats(-0.8, 0.8), st.floats(-2, 2), st.floats(-1, 3)),
        min_size=1,
        max_size=6,
    )
)
def test_polish_never_worse_and_each_series_as_if_alone(
    cases: list[tuple[float, float, float, float]],
) -> None:
    arr = np.array(cases)
    shift, x0 = arr[:, :2], arr[:, 2:]
    f = _rosenbrock(shift)
    start = BoxOptimum(x=x0, value=f(x0[:, None, :], np.arange(len(cases)))[:, 0])
    kw = {"lower": LOWER, "upper": UPPER, "size": np.array([0.1, 0.1]), "iterations": 60}
    together = polish_simplex(f, start, **kw)
    assert (together.value <= start.value).all()
    assert ((together.x >= LOWER) & (together.x <= UPPER)).all()
    for i in range(len(cases)):
        fi = _rosenbrock(shift[i : i + 1])
        alone = polish_simplex(fi, BoxOptimum(x=x0[i : i + 1], value=start.value[i : i + 1]), **kw)
        np.testing.assert_array_equal(alone.x[0], together.x[i])
