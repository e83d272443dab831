"""GSM on general acyclic networks by MILP (HiGHS), and decoupling points."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from _random_networks import brute_force_cost, random_dag, random_tree, times_scaled
from graves_willems_2000 import BATTERY, BULLDOZER
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.network import Edge, Network, Node
from stockpilot.core.network.decoupling import StockRole, decoupling_points
from stockpilot.core.network.gsm_milp import gsm_milp, optimize_service_times
from stockpilot.core.network.gsm_tree import GSMMethod, gsm_tree
from stockpilot.core.network.willems import willems_network
from stockpilot.errors import InvalidParameterError


@pytest.mark.parametrize(
    ("text", "rate", "published"), [(BULLDOZER, 0.30, 632_775), (BATTERY, 0.25, 853_077)]
)
def test_graves_willems_2000_examples_by_milp(text: str, rate: float, published: int) -> None:
    """The MILP proves the published optima of Graves and Willems (2000) too."""
    net = willems_network(csv.reader(io.StringIO(text)), holding_rate=rate)
    sol = gsm_milp(net)
    assert sol.optimal and sol.method is GSMMethod.MILP
    assert sol.total_cost == pytest.approx(published, abs=1.0)


def test_diamond_hand_enumerated() -> None:
    """Hand case: a diamond (two paths from raw to end) is no tree; enumeration agrees."""
    net = Network(
        nodes=(
            Node("raw", processing_time=2, holding_cost=1.0),
            Node("a", processing_time=1, holding_cost=2.0),
            Node("b", processing_time=3, holding_cost=2.0),
            Node(
                "end", processing_time=1, holding_cost=4.0, demand_sd=1.0, external_outbound_cst=0
            ),
        ),
        edges=(Edge("raw", "a"), Edge("raw", "b"), Edge("a", "end"), Edge("b", "end")),
        z=1.0,
    )
    sol = gsm_milp(net)
    # S = (2, 3, 5, 0): every stage flows through, end covers tau = 5 + 1 = 6 alone.
    assert sol.total_cost == pytest.approx(4 * np.sqrt(6))
    assert sol.total_cost == pytest.approx(brute_force_cost(net))
    assert decoupling_points(sol).stocking_nodes == ("end",)


def test_service_level_caps_are_honoured() -> None:
    net = Network(
        nodes=(
            Node("dc", processing_time=5, holding_cost=1.0),
            Node(
                "store", processing_time=1, holding_cost=1.5, demand_sd=2.0, external_outbound_cst=2
            ),
        ),
        edges=(Edge("dc", "store", lead_time=2),),
    )
    sol = gsm_milp(net)
    assert sol.committed_service_time[1] <= 2
    assert sol.total_cost == pytest.approx(gsm_tree(net).total_cost)


def test_fractional_times_are_solved_with_proof() -> None:
    """With fractional times the adaptive breakpoints still close the gap exactly."""
    net = Network(
        nodes=(
            Node("a", processing_time=2.5, holding_cost=1.0),
            Node(
                "b",
                processing_time=1.25,
                holding_cost=2.0,
                demand_sd=1.0,
                external_outbound_cst=0.5,
            ),
        ),
        edges=(Edge("a", "b", lead_time=0.5),),
    )
    sol = gsm_milp(net)
    assert sol.optimal
    assert sol.mip_gap <= 1e-6
    # Hand check (cost concave in S_a, so S_a is 0 or 2.5): S_a = 0 gives tau = (2.5, 1.25),
    # S_a = 2.5 gives tau_b = 2.5 + 0.5 + 1.25 - 0.5 = 3.75 held at b alone.
    both = 1.645 * (np.sqrt(2.5) + 2 * np.sqrt(1.25))
    only_b = 1.645 * 2 * np.sqrt(3.75)
    assert sol.total_cost == pytest.approx(min(both, only_b), rel=1e-9)


def test_bad_options_are_rejected() -> None:
    net = Network(nodes=(Node("a", demand_sd=1.0, processing_time=1, holding_cost=1.0),))
    with pytest.raises(InvalidParameterError, match="resolution"):
        gsm_milp(net, resolution=0)
    with pytest.raises(InvalidParameterError, match="mip_rel_gap"):
        gsm_milp(net, mip_rel_gap=2)


def test_dispatcher_picks_the_tree_dp() -> None:
    net = random_tree(np.random.default_rng(0), 8)
    assert optimize_service_times(net).method is GSMMethod.TREE_DP
    diamond = random_dag(np.random.default_rng(1), 6)
    if not diamond.is_tree():
        assert optimize_service_times(diamond).method is GSMMethod.MILP


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 14))
def test_milp_equals_tree_dp_on_random_trees(seed: int, n: int) -> None:
    """Property: the MILP and the exact tree DP agree on random trees."""
    net = random_tree(np.random.default_rng(seed), n)
    assert gsm_milp(net).total_cost == pytest.approx(gsm_tree(net).total_cost, rel=1e-6, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 5))
def test_milp_equals_brute_force_on_random_dags(seed: int, n: int) -> None:
    """Property: on small acyclic networks the MILP finds the enumerated optimum."""
    net = random_dag(np.random.default_rng(seed), n)
    sol = gsm_milp(net)
    assert sol.optimal
    assert sol.total_cost == pytest.approx(brute_force_cost(net), rel=1e-6, abs=1e-9)
    roles = decoupling_points(sol).role
    assert all(
        (r is StockRole.DECOUPLING) == (t > 1e-9)
        for r, t in zip(roles, sol.net_lead_time, strict=True)
    )


def test_fixed_grid_formulation_matches_tree_dp() -> None:
    """The fixed-grid MILP (refine=False) is exact at integer net lead times too."""
    for seed in range(3):
        net = random_tree(np.random.default_rng(seed), 9)
        sol = gsm_milp(net, refine=False)
        assert sol.optimal
        assert sol.total_cost == pytest.approx(gsm_tree(net).total_cost, rel=1e-6)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 5))
def test_lagrangian_bound_brackets_the_optimum(seed: int, n: int) -> None:
    """Property: the Lagrangian forest bound never exceeds the brute-force optimum, and its
    repaired DP solutions are feasible with an exact cost at least the optimum."""
    import time

    from stockpilot.core.network.gsm_lagrangian import _lagrangian_bound
    from stockpilot.core.network.gsm_milp import _max_replenishment
    from stockpilot.core.network.gsm_tree import gsm_cost

    net = random_dag(np.random.default_rng(seed), n)
    arr = net.arrays()
    weight = arr.holding_cost * arr.z * arr.net_demand_sd
    lower, s, cost = _lagrangian_bound(
        arr,
        weight=weight,
        maxrep=_max_replenishment(arr),
        upper=float("inf"),
        deadline=time.perf_counter() + 5,
    )
    best = brute_force_cost(net)
    assert lower <= best + 1e-9
    assert cost >= best - 1e-9
    assert gsm_cost(net, s) == pytest.approx(cost)


def _with_half_caps(net: Network) -> Network:
    """The same network with every finite SLA cap raised by 0.5 (integer times kept)."""
    return Network(
        nodes=tuple(
            Node(
                nd.node_id,
                processing_time=nd.processing_time,
                holding_cost=nd.holding_cost,
                demand_sd=nd.demand_sd,
                external_inbound_cst=nd.external_inbound_cst,
                external_outbound_cst=None
                if nd.external_outbound_cst is None
                else nd.external_outbound_cst + 0.5,
            )
            for nd in net.nodes
        ),
        edges=net.edges,
        z=net.z,
    )


def test_fractional_cap_with_integer_times_is_an_optimal_service_time() -> None:
    """Regression: integer times but a cap of 2.5 at ``end`` (h = 4). Quoting S_end = 2.5
    (tau_end = 3.5) beats the integer grid's S_end = 2; an integer-grid bound that floors
    the cap would claim the wrong solution optimal. Doubling every time and cap gives an
    integer instance whose optimum is sqrt(2) times this one."""
    net = Network(
        nodes=(
            Node("raw", processing_time=2, holding_cost=1.0),
            Node("a", processing_time=1, holding_cost=2.0),
            Node("b", processing_time=3, holding_cost=2.0),
            Node(
                "end",
                processing_time=1,
                holding_cost=4.0,
                demand_sd=1.0,
                external_outbound_cst=2.5,
            ),
        ),
        edges=(Edge("raw", "a"), Edge("raw", "b"), Edge("a", "end"), Edge("b", "end")),
        z=1.0,
    )
    expected = brute_force_cost(times_scaled(net, 2.0)) / np.sqrt(2.0)
    sol = gsm_milp(net)
    assert sol.optimal
    assert sol.total_cost == pytest.approx(expected, rel=1e-6)
    assert sol.service_times()["end"] == pytest.approx(2.5)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 4), tree=st.booleans())
def test_half_integer_caps_match_the_doubled_integer_instance(
    seed: int, n: int, tree: bool
) -> None:
    """Property: with integer times and caps ending in .5, the solver's optimum (tree DP
    dispatch or MILP) is the brute-force optimum of the doubled instance over sqrt(2)."""
    rng = np.random.default_rng(seed)
    base = random_tree(rng, n) if tree else random_dag(rng, n)
    net = _with_half_caps(base)
    expected = brute_force_cost(times_scaled(net, 2.0)) / np.sqrt(2.0)
    for sol in (optimize_service_times(net), gsm_milp(net)):
        assert sol.optimal
        assert sol.total_cost == pytest.approx(expected, rel=1e-6, abs=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 5), factor=st.sampled_from([0.5, 0.2, 3.0]))
def test_times_on_a_fractional_or_coarse_grid_match_brute_force(
    seed: int, n: int, factor: float
) -> None:
    """Property: with every time and cap a multiple of 0.5, 0.2 or 3 (the forest DP then
    runs on that grid), gsm_milp proves the brute-force optimum of the integer instance
    times sqrt(factor)."""
    base = random_dag(np.random.default_rng(seed), n)
    sol = gsm_milp(times_scaled(base, factor))
    assert sol.optimal
    expected = brute_force_cost(base) * np.sqrt(factor)
    assert sol.total_cost == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_lanes_beyond_a_spanning_forest_are_counted() -> None:
    """A tree has none, the diamond one, and two separate triangles two."""
    from stockpilot.core.network.gsm_milp import _lanes_beyond_forest

    assert _lanes_beyond_forest(random_tree(np.random.default_rng(0), 7).arrays()) == 0

    def triangle(tag: str) -> tuple[tuple[Node, ...], tuple[Edge, ...]]:
        nodes = tuple(
            Node(f"{tag}{k}", processing_time=1, holding_cost=1.0, demand_sd=float(k == 2))
            for k in range(3)
        )
        edges = (Edge(f"{tag}0", f"{tag}1"), Edge(f"{tag}1", f"{tag}2"), Edge(f"{tag}0", f"{tag}2"))
        return nodes, edges

    (na, ea), (nb, eb) = triangle("a"), triangle("b")
    assert _lanes_beyond_forest(Network(nodes=na, edges=ea).arrays()) == 1
    assert _lanes_beyond_forest(Network(nodes=na + nb, edges=ea + eb).arrays()) == 2
