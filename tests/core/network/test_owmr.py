"""OWMR approximations: exact warehouse figures, validation against the network simulator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from stockpilot.core.network.owmr import owmr_metric, owmr_optimize
from stockpilot.core.simulation import simulate_network
from stockpilot.errors import InvalidParameterError

RATES = np.array([1.0, 2.0, 3.0])
RETAILER_S = np.array([5, 8, 11])


def test_hand_computed_warehouse_and_delay() -> None:
    """S_0 = 3, L_0 = 1.5, total rate 2: D_0 ~ Poisson(3).

    E[B_0] = 3 - 3 + sum_{k<3} (3 - k) p_k = 3 p_0 + 2 p_1 + p_2 with p_k = e^-3 3^k / k!,
    W = E[B_0] / 2, and retailer i sees Poisson(lambda_i (L_i + W)).
    """
    p = stats.poisson.pmf([0, 1, 2], 3.0)
    b0 = 3 * p[0] + 2 * p[1] + p[2]
    res = owmr_metric(
        warehouse_base_stock=3,
        warehouse_lead_time=1.5,
        retailer_base_stock=[2, 4],
        retailer_lead_time=[1.0, 0.5],
        demand_rate=[0.5, 1.5],
    )
    assert res.warehouse_backorders == pytest.approx(b0)
    assert res.average_delay == pytest.approx(b0 / 2)
    assert res.warehouse_on_hand == pytest.approx(3 - 3 + b0)
    means = np.array([0.5, 1.5]) * (np.array([1.0, 0.5]) + b0 / 2)
    np.testing.assert_allclose(res.retailer_fill_rate, stats.poisson.cdf([1, 3], means))
    expected = [
        sum((k - s) * stats.poisson.pmf(k, m) for k in range(s + 1, 200))
        for s, m in zip([2, 4], means, strict=True)
    ]
    np.testing.assert_allclose(res.retailer_backorders, expected, atol=1e-10)


def test_zero_warehouse_stock_gives_a_fixed_delay_and_equal_methods() -> None:
    """With S_0 = 0 every order waits exactly L_0 at the warehouse: both methods agree."""
    kw = {
        "warehouse_base_stock": 0,
        "warehouse_lead_time": 2.0,
        "retailer_base_stock": [3, 3],
        "retailer_lead_time": 1.0,
        "demand_rate": [1.0, 2.0],
    }
    metric = owmr_metric(**kw)  # type: ignore[arg-type]
    two = owmr_metric(**kw, method="two_moment")  # type: ignore[arg-type]
    assert metric.average_delay == pytest.approx(2.0)
    np.testing.assert_allclose(metric.retailer_backorders, two.retailer_backorders, atol=1e-9)


def _simulate(warehouse_s: int) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(3)
    n, horizon = 150, 1200
    demand = np.zeros((n, 4, horizon))
    demand[:, 1:, :] = rng.poisson(RATES[None, :, None], size=(n, 3, horizon))
    res = simulate_network(
        demand,
        supplier=[-1, 0, 0, 0],
        policy="base_stock",
        order_up_to=np.r_[warehouse_s, RETAILER_S].astype(float),
        lead_time=[3, 1, 1, 1],
        warmup=50,
    )
    return (
        res.average_backorders[:, 1:].mean(axis=0),
        res.average_on_hand[:, 1:].mean(axis=0),
        float(res.average_backorders[:, 0].mean()),
    )


@pytest.mark.parametrize("warehouse_s", [6, 18])
def test_owmr_against_simulation(warehouse_s: int) -> None:
    """Simulator: warehouse lead 3, retailer lead 1 (model lead times 4 and 2, see owmr docs).

    Stated tolerances: warehouse exact (1 % sampling noise); two-moment retailer backorders
    and on-hand within 0.04 units + 6 %; METRIC never more pessimistic than the simulation
    (beyond noise) and within 0.05 units + 30 %.
    """
    sim_back, sim_on_hand, sim_warehouse = _simulate(warehouse_s)
    kw = {
        "warehouse_base_stock": warehouse_s,
        "warehouse_lead_time": 4.0,
        "retailer_base_stock": RETAILER_S,
        "retailer_lead_time": 2.0,
        "demand_rate": RATES,
    }
    metric = owmr_metric(**kw)  # type: ignore[arg-type]
    two = owmr_metric(**kw, method="two_moment")  # type: ignore[arg-type]
    assert metric.warehouse_backorders == pytest.approx(sim_warehouse, rel=0.01)
    np.testing.assert_allclose(two.retailer_backorders, sim_back, rtol=0.06, atol=0.04)
    np.testing.assert_allclose(two.retailer_on_hand, sim_on_hand, rtol=0.06, atol=0.04)
    np.testing.assert_allclose(metric.retailer_backorders, sim_back, rtol=0.30, atol=0.05)
    assert np.all(metric.retailer_backorders <= sim_back + 0.03)


@settings(max_examples=40, deadline=None)
@given(
    s0=st.integers(0, 30),
    extra=st.integers(1, 10),
    retail=st.lists(st.integers(0, 12), min_size=1, max_size=4),
    method=st.sampled_from(["metric", "two_moment"]),
)
def test_property_more_warehouse_stock_never_hurts(
    s0: int, extra: int, retail: list[int], method: str
) -> None:
    kw = {
        "warehouse_lead_time": 3.0,
        "retailer_base_stock": retail,
        "retailer_lead_time": 1.0,
        "demand_rate": 1.5,
        "method": method,
    }
    low = owmr_metric(warehouse_base_stock=s0, **kw)  # type: ignore[arg-type]
    high = owmr_metric(warehouse_base_stock=s0 + extra, **kw)  # type: ignore[arg-type]
    # The two-moment fit switches from negative binomial to Poisson where the variance falls
    # to the mean; there it can wobble by 0.1 % or 1e-6 units of expected backorders.
    assert np.all(high.retailer_backorders <= low.retailer_backorders * (1 + 1e-3) + 1e-6)
    assert np.all((low.retailer_fill_rate >= 0) & (low.retailer_fill_rate <= 1 + 1e-12))
    assert np.all(low.retailer_on_hand >= -1e-9)


def test_validation_messages() -> None:
    base = {
        "warehouse_base_stock": 1,
        "warehouse_lead_time": 1.0,
        "retailer_base_stock": [1, 1],
        "retailer_lead_time": 1.0,
        "demand_rate": 1.0,
    }
    with pytest.raises(InvalidParameterError, match="'metric', 'two_moment'"):
        owmr_metric(**base, method="exact")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'demand_rate'"):
        owmr_metric(**{**base, "demand_rate": 0.0})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'retailer_base_stock'"):
        owmr_metric(**{**base, "retailer_base_stock": [1.5, 1]})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'warehouse_base_stock'"):
        owmr_metric(**{**base, "warehouse_base_stock": -1})  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["metric", "two_moment"])
def test_owmr_optimize_matches_brute_force(method: str) -> None:
    """Enumerating every (S_0, S_1, S_2) gives the same least holding cost under the targets."""
    kw = {"warehouse_lead_time": 2.0, "retailer_lead_time": [1.0, 0.5], "demand_rate": [1.0, 2.5]}
    h0, h = 1.0, np.array([3.0, 2.0])
    target = np.array([0.9, 0.95])
    opt = owmr_optimize(
        **kw,  # type: ignore[arg-type]
        warehouse_holding_cost=h0,
        retailer_holding_cost=h,
        fill_rate_target=target,
        method=method,
    )
    best = np.inf
    for s0 in range(0, 16):
        for s1 in range(0, 9):
            for s2 in range(0, 11):
                res = owmr_metric(
                    warehouse_base_stock=s0,
                    retailer_base_stock=[s1, s2],
                    method=method,
                    **kw,  # type: ignore[arg-type]
                )
                if np.all(res.retailer_fill_rate >= target):
                    best = min(best, h0 * res.warehouse_on_hand + float(h @ res.retailer_on_hand))
    assert opt.expected_holding_cost == pytest.approx(best, rel=1e-12)
    assert np.all(opt.evaluation.retailer_fill_rate >= target)
