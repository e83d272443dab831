"""Assembly-network simulator with random lead times and supplier defects (issue 5, point 5).

simulate_assembly_network takes the lead-time samplers of simulate_network (per lane and
per outside supply) and scraps defective units on receipt with the rule of
single_echelon.scrap_defects. These tests check it against simulate_network on serial
chains (exactly, when both draw the same numbers in the same order; in distribution
otherwise), against a base-stock sizing for the inflated demand ``D / (1 - d)``, and for
seeding and the unchanged constant-lead-time path.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.policy.leadtime_demand import lead_time_demand
from stockpilot.core.policy.policies import base_stock_service
from stockpilot.core.simulation.multi_echelon import (
    NetworkSimulationResult,
    _scrap_units,
    simulate_assembly_network,
    simulate_network,
)
from stockpilot.core.simulation.single_echelon import scrap_defects
from stockpilot.errors import InvalidParameterError

# serial chain: node 0 (customers) <- node 1 <- node 2 <- outside supplier
CHAIN_LANES = [[1, 0], [2, 1]]
CHAIN_POLICY = {
    "policy": ["s_S", "base_stock", "s_Q"],
    "reorder_point": [8.0, np.nan, 25.0],
    "order_quantity": [np.nan, np.nan, 30.0],
    "order_up_to": [16.0, 14.0, np.nan],
}
NO_LANES = np.empty((0, 2), dtype=np.int64)


def _chain_demand(n: int, horizon: int, seed: int) -> np.ndarray:
    d = np.zeros((n, 3, horizon))
    d[:, 0, :] = np.random.default_rng(seed).poisson(4.0, size=(n, horizon))
    return d


def _lead_sampler(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    """Lead times 0, 1, 2 or 3 periods, uniformly: shipments cross."""
    return rng.integers(0, 4, size=shape)


def test_compiled_scrap_draws_the_same_numbers_as_scrap_defects() -> None:
    """The kernel's scalar scrap rule is scrap_defects, draw for draw (zeros draw nothing)."""
    arriving = np.random.default_rng(0).integers(0, 40, size=500).astype(np.float64)
    arriving[::7] += 0.25  # fractional remainders lose their expected share
    rate = 0.15
    expected = scrap_defects(arriving, np.full(arriving.size, rate), np.random.default_rng(9))
    rng = np.random.default_rng(9)
    got = np.array([_scrap_units(float(x), rate, rng) for x in arriving])
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("lost", [False, True])
def test_serial_chain_equals_simulate_network_with_the_same_draws(lost: bool) -> None:
    """One replication, shared lead-time paths, defects at every stage: same numbers.

    Both simulators then draw the defects from the same seed in the same order (period by
    period; node 0, 1, 2 here, which are lane 0, lane 1 and node 2's outside supply), so
    every measure agrees to rounding (1e-9): the lanes' bookkeeping sums differently.
    """
    horizon = 3000
    d = _chain_demand(1, horizon, seed=4)
    lead = np.random.default_rng(8).integers(0, 4, size=(1, 3, horizon))
    defects = [0.05, 0.1, 0.2]
    a = simulate_network(
        d,
        supplier=[1, 2, -1],
        lead_time=lead,
        defect_rate=defects,
        backorders=not lost,
        warmup=20,
        seed=123,
        **CHAIN_POLICY,
    )
    b = simulate_assembly_network(
        d,
        lanes=CHAIN_LANES,
        lane_lead_time=lead[:, [0, 1], :],  # lane e feeds node e
        supply_lead_time=lead,
        defect_rate=defects[:2],
        supply_defect_rate=[0.0, 0.0, defects[2]],
        backorders=not lost,
        warmup=20,
        seed=123,
        **CHAIN_POLICY,
    )
    assert np.nanmin(a.fill_rate) < 0.99  # shortages happen: the comparison has teeth
    for name in a.__dataclass_fields__:
        np.testing.assert_allclose(
            getattr(b, name), getattr(a, name), rtol=1e-9, atol=1e-9, err_msg=name
        )


def test_serial_chain_agrees_with_simulate_network_in_distribution() -> None:
    """Many replications, the same sampler and defect rates, different draws.

    The two simulators draw in a different order (replication by replication here, period
    by period in simulate_network), so only the distributions agree: the replication means
    of fill rate and average on hand must be within 4 standard errors of the difference
    (300 replications x 800 periods each).
    """
    n, horizon = 300, 800
    d = _chain_demand(n, horizon, seed=6)
    a = simulate_network(
        d,
        supplier=[1, 2, -1],
        lead_time=_lead_sampler,
        defect_rate=[0.05, 0.1, 0.2],
        warmup=50,
        seed=1,
        **CHAIN_POLICY,
    )
    b = simulate_assembly_network(
        d,
        lanes=CHAIN_LANES,
        lane_lead_time=_lead_sampler,
        supply_lead_time=_lead_sampler,
        defect_rate=[0.05, 0.1],
        supply_defect_rate=[0.0, 0.0, 0.2],
        warmup=50,
        seed=2,
        **CHAIN_POLICY,
    )
    for name in ("fill_rate", "average_on_hand", "average_backorders", "average_shipped"):
        x, y = getattr(a, name), getattr(b, name)
        se = np.sqrt(x.var(axis=0, ddof=1) / n + y.var(axis=0, ddof=1) / n)
        diff = np.abs(x.mean(axis=0) - y.mean(axis=0))
        assert np.all(diff <= 4 * se + 1e-12), (name, diff, se)
    assert a.fill_rate[:, 0].mean() < 0.97  # random lead times and defects do bite


def _base_stock_for_fill_rate(mean: float, sd: float, lead: int, target: float) -> float:
    """Periodic base stock for a fill rate, normal demand, shortage n_{L+1}(S) - n_L(S)."""
    ltd = lead_time_demand([mean], [sd], [float(lead)], review_period=1.0)
    lead_only = lead_time_demand([mean], [sd], [float(lead)], review_period=0.0)
    policy = base_stock_service(ltd, [mean], target, lead_time_only=lead_only)
    return float(policy.order_up_to[0])


def test_defects_need_the_inflated_demand() -> None:
    """Store with Poisson(10) demand, lead time 2, its only supplier ships 20 % defects.

    Sized for the inflated demand D / (1 - d) = 12.5 per period (sd sqrt(10) / 0.8), the
    base stock reaches its 95 % fill rate (within 0.01); sized for D it falls far short.
    The outside supplier ships D / (1 - d) per period on average.
    """
    demand, defect, lead, target = 10.0, 0.2, 2, 0.95
    d = np.random.default_rng(11).poisson(demand, size=(200, 1, 600)).astype(np.float64)
    sized = {
        "inflated": _base_stock_for_fill_rate(
            demand / (1 - defect), np.sqrt(demand) / (1 - defect), lead, target
        ),
        "plain": _base_stock_for_fill_rate(demand, np.sqrt(demand), lead, target),
    }
    fill = {}
    for key, level in sized.items():
        res = simulate_assembly_network(
            d,
            lanes=NO_LANES,
            supply_lead_time=lead,
            supply_defect_rate=defect,
            policy="base_stock",
            order_up_to=level,
            warmup=50,
            seed=3,
        )
        fill[key] = float(res.customer_fill_rate.mean())
        assert res.average_shipped.mean() == pytest.approx(demand / (1 - defect), rel=0.01)
    assert fill["inflated"] == pytest.approx(target, abs=0.01)
    assert fill["plain"] < target - 0.1


def test_scrapped_component_reorders_only_that_component() -> None:
    """Node 2 assembles 1 unit of node 0 and 2 of node 1; lane 1 ships 10 % defects.

    The kits cancelled by scrapped units of component 1 leave their component-0 units as
    spares, used by the next orders: component 0 flows at the demand rate (2 per period),
    component 1 at 2 x 2 / 0.9.
    """
    d = np.zeros((40, 3, 800))
    d[:, 2, :] = np.random.default_rng(5).poisson(2.0, size=(40, 800))
    res = simulate_assembly_network(
        d,
        lanes=[[0, 2], [1, 2]],
        bom_quantity=[1, 2],
        lane_lead_time=[1, 2],
        supply_lead_time=[1, 0, 0],
        defect_rate=[0.0, 0.1],
        policy="base_stock",
        order_up_to=[6.0, 12.0, 9.0],
        warmup=50,
        seed=8,
    )
    shipped = res.average_shipped.mean(axis=0)
    assert shipped[0] == pytest.approx(2.0, rel=0.02)
    assert shipped[1] == pytest.approx(4.0 / 0.9, rel=0.02)
    assert np.all(res.average_on_hand >= 0)


def _random_chain_run(seed: int | np.random.Generator) -> NetworkSimulationResult:
    return simulate_assembly_network(
        _chain_demand(20, 300, seed=1),
        lanes=CHAIN_LANES,
        lane_lead_time=_lead_sampler,
        supply_lead_time=_lead_sampler,
        defect_rate=0.1,
        supply_defect_rate=0.1,
        seed=seed,
        **CHAIN_POLICY,
    )


def test_same_seed_same_results_different_seed_different() -> None:
    first, again, other = _random_chain_run(7), _random_chain_run(7), _random_chain_run(8)
    generator = _random_chain_run(np.random.default_rng(7))
    for name in first.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name), err_msg=name)
        np.testing.assert_array_equal(getattr(first, name), getattr(generator, name))
    assert not np.array_equal(first.average_on_hand, other.average_on_hand)


def test_bad_random_inputs_name_the_parameter() -> None:
    d = _chain_demand(2, 10, seed=0)
    with pytest.raises(InvalidParameterError, match=r"lane_lead_time.*simulate_assembly_network"):
        simulate_assembly_network(
            d,
            lanes=CHAIN_LANES,
            lane_lead_time=lambda rng, shape: np.zeros((3, 3)),
            **CHAIN_POLICY,
        )
    with pytest.raises(InvalidParameterError, match="supply_lead_time"):
        simulate_assembly_network(
            d,
            lanes=CHAIN_LANES,
            supply_lead_time=lambda rng, shape: np.full(shape, 1.5),
            **CHAIN_POLICY,
        )
    with pytest.raises(InvalidParameterError, match="supply_defect_rate"):
        simulate_assembly_network(
            d,
            lanes=CHAIN_LANES,
            supply_defect_rate=1.0,
            **CHAIN_POLICY,
        )
    with pytest.raises(InvalidParameterError, match="defect_rate"):
        simulate_assembly_network(
            d,
            lanes=CHAIN_LANES,
            defect_rate=[0.1, 0.1, 0.1],
            **CHAIN_POLICY,
        )


@settings(max_examples=25, deadline=None)
@given(
    lane_lead=st.lists(st.integers(0, 3), min_size=3, max_size=3),
    supply_lead=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    bom=st.lists(st.sampled_from([1.0, 2.0, 0.5]), min_size=3, max_size=3),
    up_to=st.lists(st.floats(0.0, 30.0), min_size=4, max_size=4),
    seed=st.integers(0, 2**16),
    lost=st.booleans(),
)
def test_degenerate_sampler_and_zero_defects_equal_the_constant_path(
    *,
    lane_lead: list[int],
    supply_lead: list[int],
    bom: list[float],
    up_to: list[float],
    seed: int,
    lost: bool,
) -> None:
    """A sampler returning the constants and zero defect rates change nothing, bit for bit."""
    lanes = [[0, 2], [1, 2], [2, 3]]
    d = np.zeros((3, 4, 60))
    d[:, 3, :] = np.random.default_rng(seed).poisson(3.0, size=(3, 60))
    common = {
        "lanes": lanes,
        "bom_quantity": bom,
        "policy": "base_stock",
        "order_up_to": up_to,
        "backorders": not lost,
    }
    plain = simulate_assembly_network(
        d,
        lane_lead_time=lane_lead,
        supply_lead_time=supply_lead,
        **common,
    )
    lane_arr, supply_arr = np.array(lane_lead), np.array(supply_lead)
    sampled = simulate_assembly_network(
        d,
        lane_lead_time=lambda rng, shape: np.broadcast_to(lane_arr[None, :, None], shape),
        supply_lead_time=lambda rng, shape: np.broadcast_to(supply_arr[None, :, None], shape),
        defect_rate=0.0,
        supply_defect_rate=np.zeros(4),
        seed=seed,
        **common,
    )
    for name in plain.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(sampled, name), getattr(plain, name), err_msg=name)
