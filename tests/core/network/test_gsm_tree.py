"""Exact tree DP of the guaranteed-service model (Graves and Willems 2000)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from _random_networks import brute_force_cost, random_tree
from graves_willems_2000 import BATTERY, BULLDOZER
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.network import Edge, Network, Node
from stockpilot.core.network.gsm_tree import gsm_cost, gsm_tree
from stockpilot.core.network.willems import willems_network
from stockpilot.errors import InvalidParameterError


def _chain(text: str, rate: float) -> Network:
    return willems_network(csv.reader(io.StringIO(text)), holding_rate=rate)


def test_graves_willems_2000_bulldozer() -> None:
    """Bulldozer (Graves and Willems 2000, section 5.1): optimum 632,775 at 30 % holding."""
    sol = gsm_tree(_chain(BULLDOZER, 0.30))
    assert sol.total_cost == pytest.approx(632_775, abs=1.0)
    s = sol.service_times()
    # Safety stock only where the paper places it: final assembly quotes 0, ...
    assert s["Final_Assembly"] == 0
    holders = {nid for nid, ss in zip(sol.node_ids, sol.safety_stock, strict=True) if ss > 0}
    assert holders == {
        "Case",
        "Case&Frame",
        "Fans",
        "Final_Assembly",
        "Frame_Assembly",
        "Pin_Assembly",
    }


def test_graves_willems_2000_battery() -> None:
    """Battery supply chain (Graves and Willems 2000, section 5.2): 853,077 at 25 %."""
    sol = gsm_tree(_chain(BATTERY, 0.25))
    assert sol.total_cost == pytest.approx(853_077, abs=1.0)
    caps = {n.node_id: n.external_outbound_cst for n in _chain(BATTERY, 0.25).nodes}
    for nid, s in sol.service_times().items():
        if caps[nid] is not None:
            assert s <= caps[nid]


def test_snyder_shen_2019_example_6_5() -> None:
    """Snyder and Shen (2019), Example 6.5: optimal CSTs (0, 0, 0, 1), cost 8.2779."""
    net = Network(
        nodes=(
            Node("1", processing_time=2, holding_cost=1, external_inbound_cst=1),
            Node("2", processing_time=1, holding_cost=3, demand_sd=1, external_outbound_cst=0),
            Node("3", processing_time=1, holding_cost=2),
            Node("4", processing_time=1, holding_cost=3, demand_sd=1, external_outbound_cst=1),
        ),
        edges=(Edge("1", "3"), Edge("3", "2"), Edge("3", "4")),
        z=1.0,
    )
    sol = gsm_tree(net)
    assert sol.total_cost == pytest.approx(8.277916867529369, rel=1e-12)
    assert sol.service_times() == {"1": 0, "2": 0, "3": 0, "4": 1}


def test_solution_fields_are_consistent() -> None:
    net = random_tree(np.random.default_rng(3), 12)
    sol = gsm_tree(net)
    arr = net.arrays()
    assert np.allclose(
        sol.net_lead_time,
        sol.inbound_service_time + arr.processing_time - sol.committed_service_time,
    )
    assert np.allclose(sol.base_stock, arr.net_demand_mean * sol.net_lead_time + sol.safety_stock)
    assert sol.total_cost == pytest.approx(gsm_cost(net, sol.committed_service_time))


def test_rejects_non_trees_and_fractional_times() -> None:
    diamond = Network(
        nodes=(Node("a"), Node("b"), Node("c"), Node("d", demand_sd=1)),
        edges=(Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d")),
    )
    with pytest.raises(InvalidParameterError, match="gsm_milp"):
        gsm_tree(diamond)
    fractional = Network(nodes=(Node("a", processing_time=1.5, demand_sd=1),))
    with pytest.raises(InvalidParameterError, match="processing_time"):
        gsm_tree(fractional)


def test_fractional_sla_cap_is_refused_and_solved_by_optimize_service_times() -> None:
    """A cap of 1.5 on the integer grid would be floored to 1 (a worse, silently wrong
    optimum); the tree DP and its batched twin refuse it, optimize_service_times solves it on
    the half-period grid and uses the cap exactly."""
    from stockpilot.core.network.gsm_batch import gsm_tree_batch
    from stockpilot.core.network.gsm_milp import optimize_service_times

    net = Network(
        nodes=(
            Node("plant", processing_time=2, holding_cost=1.0),
            Node("store", processing_time=1, holding_cost=2.0, demand_mean=5, demand_sd=2,
                 external_outbound_cst=1.5),
        ),
        edges=(Edge("plant", "store"),),
    )  # fmt: skip
    with pytest.raises(InvalidParameterError, match="external_outbound_cst"):
        gsm_tree(net)
    with pytest.raises(InvalidParameterError, match="external_outbound_cst"):
        gsm_tree_batch(
            net,
            processing_time=[2.0, 1.0],
            holding_cost=[1.0, 2.0],
            demand_mean=[0.0, 5.0],
            demand_sd=[0.0, 2.0],
        )
    sol = optimize_service_times(net)
    assert sol.committed_service_time[1] == pytest.approx(1.5)
    floored = optimize_service_times(
        Network(
            nodes=(net.nodes[0], Node("store", processing_time=1, holding_cost=2.0, demand_mean=5,
                                      demand_sd=2, external_outbound_cst=1.0)),
            edges=net.edges,
        )
    )  # fmt: skip
    assert sol.total_cost < floored.total_cost


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 4))
def test_tree_dp_matches_brute_force(seed: int, n: int) -> None:
    """Property: on tiny random trees the DP equals enumeration of every service time."""
    net = random_tree(np.random.default_rng(seed), n, max_time=2)
    sol = gsm_tree(net)
    assert sol.total_cost == pytest.approx(brute_force_cost(net), rel=1e-9, abs=1e-9)
    arr = net.arrays()
    assert np.all(sol.committed_service_time <= arr.external_outbound_cst)
    assert np.all(sol.net_lead_time >= 0)
