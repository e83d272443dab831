"""Cost-optimal (s, Q) reorder point for a given Q, any demand family."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from stockpilot.core.policy.leadtime_demand import lead_time_demand
from stockpilot.core.policy.policies import (
    base_stock_cost_optimal,
    s_q_cost_optimal_exact_normal,
    s_q_cost_optimal_reorder_point,
)


def _ltd(family: str, mean: float, var: float):  # type: ignore[no-untyped-def]
    return lead_time_demand([mean], [np.sqrt(var)], [1.0], distribution=family)


def test_axsater_2015_example_6_1_reorder_point_at_the_eoq() -> None:
    """Axsäter (2015), Example 6.1: lead-time demand N(200, 40^2), h = 2, b1 = 20; at
    Q = 70.71 the optimal R is 224.76 (the same optimality condition as the exact normal
    (R, Q) of ``s_q_cost_optimal_exact_normal``)."""
    ltd = _ltd("normal", 200.0, 1600.0)
    ours = s_q_cost_optimal_reorder_point(ltd, [70.71], [2.0], [20.0])
    assert round(float(ours.reorder_point[0]), 2) == 224.76
    exact = s_q_cost_optimal_exact_normal(2, 20, 100, 50, 20, lead_time=4, order_quantity=70.71)
    assert ours.reorder_point[0] == pytest.approx(exact.reorder_point[0], abs=1e-6)


def _window_cost(
    pmf_support: np.ndarray, pmf: np.ndarray, s: int, *, q: int, h: float, b: float
) -> float:
    """Brute force: mean over y = s+1..s+Q of h E(y - D)^+ + b E(D - y)^+."""
    total = 0.0
    for y in range(s + 1, s + q + 1):
        over = np.clip(y - pmf_support, 0, None)
        under = np.clip(pmf_support - y, 0, None)
        total += h * (over * pmf).sum() + b * (under * pmf).sum()
    return float(total / q)


@pytest.mark.parametrize(
    "case",
    [
        ("poisson", 6.0, 6.0, 4, 1.0, 9.0),
        ("poisson", 25.0, 25.0, 30, 0.5, 4.0),
        ("poisson", 2.5, 2.5, 1, 1.0, 19.0),
        ("negative_binomial", 8.0, 30.0, 12, 1.0, 15.0),
        ("negative_binomial", 3.0, 12.0, 6, 2.0, 5.0),
    ],
)
def test_discrete_reorder_point_minimises_the_window_cost_by_enumeration(
    case: tuple[str, float, float, int, float, float],
) -> None:
    family, mean, var, q, h, b = case
    ltd = _ltd(family, mean, var)
    res = s_q_cost_optimal_reorder_point(ltd, [float(q)], [h], [b])
    support = np.arange(0, 400)
    if family == "poisson":
        pmf = stats.poisson.pmf(support, mean)
    else:
        p = mean / var
        pmf = stats.nbinom.pmf(support, mean * p / (1 - p), p)
    costs = {
        s: _window_cost(support, pmf, s, q=q, h=h, b=b) for s in range(-q - 5, int(mean * 4) + 20)
    }
    best = min(costs.values())
    s_ours = int(res.reorder_point[0])
    assert costs[s_ours] == pytest.approx(best, abs=1e-9)
    assert s_ours == min(s for s, c in costs.items() if c <= best + 1e-9)  # smallest optimum
    assert res.expected_cost[0] == pytest.approx(costs[s_ours], rel=1e-9)


def test_small_lot_tends_to_the_critical_fractile() -> None:
    ltd = _ltd("normal", 50.0, 100.0)
    tiny = s_q_cost_optimal_reorder_point(ltd, [1e-6], [1.0], [9.0])
    assert tiny.reorder_point[0] == pytest.approx(
        base_stock_cost_optimal(ltd, [1.0], [9.0]).order_up_to[0], abs=1e-4
    )


def test_gamma_rows_satisfy_the_equal_end_cost_condition() -> None:
    ltd = _ltd("gamma", 30.0, 200.0)
    res = s_q_cost_optimal_reorder_point(ltd, [25.0], [1.0], [12.0])
    s = res.reorder_point
    drop = ltd.loss(s) - ltd.loss(s + 25.0)
    assert drop[0] == pytest.approx(25.0 * 1.0 / 13.0, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["normal", "gamma", "poisson", "negative_binomial"]),
    st.floats(1.0, 60.0),
    st.floats(1.0, 40.0),
    st.floats(1.0, 40.0),
)
def test_costlier_backorders_never_lower_and_bigger_lots_never_raise_the_reorder_point(
    family: str, mean: float, q: float, b: float
) -> None:
    var = mean * 2.0 if family == "negative_binomial" else mean * 1.5
    ltd = _ltd(family, mean, mean if family == "poisson" else var)
    base = s_q_cost_optimal_reorder_point(ltd, [q], [1.0], [b]).reorder_point[0]
    dearer = s_q_cost_optimal_reorder_point(ltd, [q], [1.0], [b * 2]).reorder_point[0]
    bigger = s_q_cost_optimal_reorder_point(ltd, [q * 2], [1.0], [b]).reorder_point[0]
    assert dearer >= base - 1e-6
    assert bigger <= base + 1e-6
