"""Exact cost-optimal (R, Q) under normal demand (Axsäter 2015, Section 6.1.2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from stockpilot.core.policy.policies import (
    s_q_cost_optimal_exact_normal,
    s_q_cost_optimal_normal,
)
from stockpilot.errors import InvalidParameterError

# (h, b1, A, mu, sigma, L): Axsäter Example 6.1, Snyder & Shen Example 5.6, a case with
# Q small against sigma_L (where n(R + Q) matters) and one with a short lead time.
CASES = [
    (2.0, 20.0, 100.0, 50.0, 20.0, 4.0),
    (0.225, 7.5, 8.0, 1300.0, 150.0, 1.0 / 12.0),
    (1.0, 9.0, 5.0, 10.0, 12.0, 3.0),
    (3.0, 40.0, 250.0, 400.0, 60.0, 0.25),
]


def _exact_cost(x: np.ndarray, case: tuple[float, ...], *, integrate_loss: bool = False) -> float:
    """Independent transcription of C(R, Q) = h (R + Q/2 - mu L) + (h + b1) B + A mu / Q.

    B, the time-average backorders, is the mean of the loss n(y) over the inventory position
    y in (R, R + Q]: the second-order loss in closed form (Snyder & Shen 2019, eq. C.23) or,
    with ``integrate_loss``, the integral of n itself.
    """
    h, b1, a, mu, sd, lt = case
    r, q = float(x[0]), float(x[1])
    if q <= 0:
        return float(np.inf)
    m, s = mu * lt, sd * np.sqrt(lt)

    def loss(y: float) -> float:
        z = (y - m) / s
        return float(s * (stats.norm.pdf(z) - z * special.ndtr(-z)))

    def second(y: float) -> float:
        z = (y - m) / s
        return float(s * s * 0.5 * ((z * z + 1) * special.ndtr(-z) - z * stats.norm.pdf(z)))

    if integrate_loss:
        area = float(integrate.quad(loss, r, r + q, epsabs=1e-12, epsrel=1e-12)[0])
    else:
        area = second(r) - second(r + q)
    return h * (r + q / 2.0 - m) + (h + b1) * area / q + a * mu / q


@pytest.mark.parametrize("case", CASES)
def test_optimum_equals_a_direct_minimization_of_the_exact_cost(case: tuple[float, ...]) -> None:
    h, b1, a, mu, sd, lt = case
    p = s_q_cost_optimal_exact_normal(h, b1, a, mu, sd, lead_time=lt)
    r, q, cost = float(p.reorder_point[0]), float(p.order_quantity[0]), float(p.expected_cost[0])
    point = np.array([r, q])
    assert cost == pytest.approx(_exact_cost(point, case, integrate_loss=True), rel=1e-9)
    best = optimize.minimize(
        _exact_cost,
        np.array([mu * lt, np.sqrt(2 * a * mu / h)]),
        args=(case,),
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20_000},
    )
    assert cost <= best.fun + 1e-9 * abs(best.fun)
    scale = max(1.0, q)
    assert r == pytest.approx(best.x[0], abs=1e-4 * scale)
    assert q == pytest.approx(best.x[1], abs=1e-4 * scale)


def test_never_costlier_than_the_loss_function_approximation() -> None:
    h, b1, a, mu, sd, lt = (np.array(col) for col in zip(*CASES, strict=True))
    exact = s_q_cost_optimal_exact_normal(h, b1, a, mu, sd, lead_time=lt)
    approx = s_q_cost_optimal_normal(h, b1, a, mu, sd, lead_time=lt)
    # Both report the exact cost C(R, Q) at their own (R, Q).
    assert np.all(exact.expected_cost <= approx.expected_cost + 1e-9)
    # Where Q is small against sigma_L the approximation is measurably worse.
    assert approx.expected_cost[2] - exact.expected_cost[2] > 1e-3


def test_given_order_quantity_gives_the_best_reorder_point() -> None:
    h, b1, a, mu, sd, lt = CASES[0]
    q = 70.71
    p = s_q_cost_optimal_exact_normal(h, b1, a, mu, sd, lead_time=lt, order_quantity=q)
    assert float(p.order_quantity[0]) == q
    r = float(p.reorder_point[0])
    grid = np.linspace(r - 5.0, r + 5.0, 2001)
    costs = [_exact_cost(np.array([x, q]), CASES[0]) for x in grid]
    assert abs(grid[int(np.argmin(costs))] - r) <= 0.005 + 1e-9
    # A zero order cost is allowed when Q is given.
    zero = s_q_cost_optimal_exact_normal(h, b1, 0.0, mu, sd, lead_time=lt, order_quantity=q)
    assert float(zero.reorder_point[0]) == pytest.approx(r, abs=1e-9)


def test_vectorized_over_series_matches_one_at_a_time() -> None:
    cols = [np.array(col) for col in zip(*CASES, strict=True)]
    many = s_q_cost_optimal_exact_normal(*cols[:5], lead_time=cols[5])
    for i, case in enumerate(CASES):
        one = s_q_cost_optimal_exact_normal(*case[:5], lead_time=case[5])
        assert float(many.reorder_point[i]) == pytest.approx(float(one.reorder_point[0]), abs=1e-6)
        assert float(many.order_quantity[i]) == pytest.approx(
            float(one.order_quantity[0]), abs=1e-6
        )


def test_deterministic_demand_gives_the_eoq_with_planned_backorders() -> None:
    """sigma = 0: Q = sqrt(2 A mu (h + b1) / (h b1)), R = mu L - Q h / (h + b1)."""
    h, b1, a, mu, lt = 2.0, 20.0, 100.0, 50.0, 4.0
    p = s_q_cost_optimal_exact_normal(h, b1, a, mu, 0.0, lead_time=lt)
    q = np.sqrt(2 * a * mu * (h + b1) / (h * b1))
    assert float(p.order_quantity[0]) == pytest.approx(q, rel=1e-6)
    assert float(p.reorder_point[0]) == pytest.approx(mu * lt - q * h / (h + b1), abs=1e-5)
    assert float(p.expected_cost[0]) == pytest.approx(np.sqrt(2 * a * mu * h * b1 / (h + b1)))


def test_invalid_inputs_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="fixed_cost"):
        s_q_cost_optimal_exact_normal(2.0, 20.0, 0.0, 50.0, 20.0, lead_time=4.0)
    with pytest.raises(InvalidParameterError, match="holding_cost"):
        s_q_cost_optimal_exact_normal(-1.0, 20.0, 100.0, 50.0, 20.0, lead_time=4.0)
    with pytest.raises(InvalidParameterError, match="order_quantity"):
        s_q_cost_optimal_exact_normal(
            2.0, 20.0, 100.0, 50.0, 20.0, lead_time=4.0, order_quantity=0.0
        )
