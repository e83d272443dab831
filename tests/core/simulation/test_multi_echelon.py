"""Network simulator: hand-computed flows, Clark-Scarf/Chen-Zheng costs and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.network.network import Edge, Network, Node
from stockpilot.core.network.ssm import serial_base_stock_levels
from stockpilot.core.simulation import (
    assembly_topology,
    network_topology,
    simulate_single_echelon,
)
from stockpilot.core.simulation.multi_echelon import (
    network_depths,
    simulate_assembly_network,
    simulate_network,
)
from stockpilot.errors import InvalidDataError, InvalidParameterError


@pytest.mark.parametrize("engine", ["compiled", "arrays"])
def test_hand_computed_two_stage_chain(engine: str) -> None:
    """Retailer (node 0, S = 7, L = 1) fed by a warehouse (node 1, S = 4, L = 0).

    Demand 3 per period. Period 0: the retailer ends with 4 and orders 3; the warehouse
    ships 3 (due in period 2), keeps 1 and orders 3 from outside (due in period 1). From
    period 1 on both end every period with 1 on hand; 6 units are in transit to the
    retailer (3 in period 0) and 3 to the warehouse.
    """
    demand = np.array([[3.0] * 6, [0.0] * 6])
    res = simulate_network(
        demand,
        supplier=[1, -1],
        policy="base_stock",
        order_up_to=[7.0, 4.0],
        lead_time=[1, 0],
        engine=engine,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(res.average_on_hand[0], [(4 + 5 * 1) / 6, 1.0])
    np.testing.assert_allclose(res.average_in_transit[0], [(3 + 5 * 6) / 6, 3.0])
    np.testing.assert_allclose(res.average_shipped[0], [3.0, 3.0])
    np.testing.assert_array_equal(res.fill_rate[0], [1.0, 1.0])
    np.testing.assert_array_equal(res.orders_placed[0], [6, 6])
    assert np.isnan(res.customer_fill_rate[0, 1])


@pytest.mark.parametrize("engine", ["compiled", "arrays"])
def test_hand_computed_upstream_shortage_delays_the_retailer(engine: str) -> None:
    """Warehouse S = 0: each retailer order waits one period for the warehouse's own order.

    Retailer S = 6, L = 0, demand 2 per period. Period 0: retailer ends with 4, orders 2;
    the warehouse has nothing, owes 2 and orders 2 (arrives period 1), ships in period 1
    what the retailer ordered in period 0, and so on: the retailer's effective lead time
    becomes 1 period longer and it ends every later period with 2 on hand.
    """
    demand = np.array([[2.0] * 5, [0.0] * 5])
    res = simulate_network(
        demand,
        supplier=[1, -1],
        policy="base_stock",
        order_up_to=[6.0, 0.0],
        lead_time=[0, 0],
        engine=engine,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(res.average_on_hand[0], [(4 + 4 * 2) / 5, 0.0])
    # the warehouse owes 2 units at the end of every period
    np.testing.assert_allclose(res.average_backorders[0], [0.0, 2.0])
    assert res.fill_rate[0, 0] == 1.0
    assert res.fill_rate[0, 1] == 0.0


def test_snyder_shen_2019_example_6_1_simulated_cost_matches_chen_zheng() -> None:
    """Simulating the optimal echelon base-stock policy of Example 6.1 gives its cost.

    Example 6.1: h = (3, 2, 2) (local h' = 7, 4, 2), L = (1, 1, 2), p = 37.12, N(5, 1).
    In the simulator an order reaches the next stage L - 1 periods after the period it is
    shipped (see the event order), and the cost is h'_j on hand + h'_{j+1} in transit to j
    + p customer backorders per period.
    """
    sol = serial_base_stock_levels(
        echelon_holding_cost=[3, 2, 2],
        lead_time=[1, 1, 2],
        stockout_cost=37.12,
        demand_mean=5,
        demand_sd=1,
    )
    rng = np.random.default_rng(2)
    n, horizon = 600, 800
    demand = np.zeros((n, 3, horizon))
    demand[:, 0, :] = np.maximum(rng.normal(5.0, 1.0, size=(n, horizon)), 0.0)
    res = simulate_network(
        demand,
        supplier=[1, 2, -1],
        policy="base_stock",
        order_up_to=sol.local_base_stock,
        lead_time=[0, 0, 1],
        warmup=20,
    )
    cost = res.holding_and_backorder_cost(
        holding_cost=[7.0, 4.0, 2.0],
        in_transit_holding_cost=[4.0, 2.0, 0.0],
        backorder_cost=[37.12, 0, 0],
    )
    assert np.mean(cost) == pytest.approx(sol.expected_cost, rel=0.004)


def test_shang_song_2003_row_1_by_simulation() -> None:
    """Simulating the published optimum of Shang and Song (2003) Table 1 row 1 gives 12.688.

    Take one period = 0.25 time units: Poisson(4) demand per period and one period of lead
    time per stage (simulator lead time 0). Echelon levels (8, 13, 18, 22) are local levels
    (8, 5, 5, 4); local holding costs h' = (1, 0.75, 0.5, 0.25) per unit time, p = 9; the
    cost per unit time is the cost per period divided by 0.25.
    """
    rng = np.random.default_rng(12)
    n, horizon = 400, 1500
    demand = np.zeros((n, 4, horizon))
    demand[:, 0, :] = rng.poisson(4.0, size=(n, horizon))
    res = simulate_network(
        demand,
        supplier=[1, 2, 3, -1],
        policy="base_stock",
        order_up_to=[8.0, 5.0, 5.0, 4.0],
        lead_time=0,
        warmup=20,
    )
    local = np.array([1.0, 0.75, 0.5, 0.25])
    per_period = res.holding_and_backorder_cost(
        holding_cost=local * 0.25,
        in_transit_holding_cost=np.r_[local[1:], 0.0] * 0.25,
        backorder_cost=[9 * 0.25, 0, 0, 0],
    )
    assert np.mean(per_period) / 0.25 == pytest.approx(12.688, rel=0.005)


def test_network_topology_from_the_network_model() -> None:
    net = Network(
        nodes=(
            Node("plant", processing_time=2, external_inbound_cst=1),
            Node("dc"),
            Node("s1", demand_mean=5, demand_sd=2),
            Node("s2", demand_mean=3, demand_sd=1),
        ),
        edges=(
            Edge("plant", "dc", lead_time=3),
            Edge("dc", "s1", lead_time=1),
            Edge("dc", "s2", lead_time=2.5),
        ),
    )
    topo = network_topology(net)
    assert topo.node_ids == ("plant", "dc", "s1", "s2")
    np.testing.assert_array_equal(topo.supplier, [-1, 0, 1, 1])
    np.testing.assert_array_equal(topo.lead_time, [2, 2, 0, 2])
    np.testing.assert_array_equal(topo.demand_mean, [0, 0, 5, 3])
    assembly = Network(
        nodes=(Node("a"), Node("b"), Node("c", demand_mean=1)),
        edges=(Edge("a", "c"), Edge("b", "c")),
    )
    with pytest.raises(InvalidDataError, match="assembly"):
        network_topology(assembly)
    topo_a = assembly_topology(
        Network(
            nodes=(
                Node("a", processing_time=2),
                Node("b"),
                Node("c", processing_time=1, demand_mean=1),
            ),
            edges=(Edge("a", "c", quantity=1, lead_time=1), Edge("b", "c", quantity=2)),
        )
    )
    np.testing.assert_array_equal(topo_a.lanes, [[0, 2], [1, 2]])
    np.testing.assert_array_equal(topo_a.bom_quantity, [1, 2])
    np.testing.assert_array_equal(topo_a.lane_lead_time, [1, 0])
    np.testing.assert_array_equal(topo_a.supply_lead_time, [1, 0, 0])


def test_single_node_network_equals_single_echelon() -> None:
    rng = np.random.default_rng(8)
    demand = rng.poisson(4.0, size=(30, 200)).astype(float)
    for lost in (False, True):
        kw = {"policy": "s_Q", "reorder_point": 9.0, "order_quantity": 12.0, "lead_time": 2}
        single = simulate_single_echelon(demand, backorders=not lost, **kw)  # type: ignore[arg-type]
        net = simulate_network(demand[:, None, :], supplier=[-1], backorders=not lost, **kw)  # type: ignore[arg-type]
        np.testing.assert_allclose(net.fill_rate[:, 0], single.fill_rate)
        np.testing.assert_allclose(net.average_on_hand[:, 0], single.average_on_hand)
        np.testing.assert_allclose(net.average_lost_sales[:, 0], single.average_lost_sales)
        np.testing.assert_allclose(net.cycle_service_level[:, 0], single.cycle_service_level)


def test_distribution_network_conserves_flow_and_is_symmetric() -> None:
    """One warehouse (node 0) and three identical retailers: what flows in flows out."""
    rng = np.random.default_rng(4)
    n, horizon = 200, 400
    demand = np.zeros((n, 4, horizon))
    demand[:, 1:, :] = rng.poisson(5.0, size=(n, 3, horizon))
    res = simulate_network(
        demand,
        supplier=[-1, 0, 0, 0],
        policy=["s_Q", "base_stock", "base_stock", "base_stock"],
        reorder_point=[30.0, np.nan, np.nan, np.nan],
        order_quantity=[40.0, np.nan, np.nan, np.nan],
        order_up_to=[np.nan, 14.0, 14.0, 14.0],
        lead_time=[3, 1, 1, 1],
        warmup=20,
    )
    flow = res.average_shipped.mean(axis=0)
    assert flow[0] == pytest.approx(flow[1:].sum(), rel=0.02)
    assert flow[1:].sum() == pytest.approx(15.0, rel=0.02)
    fill = res.customer_fill_rate[:, 1:].mean(axis=0)
    assert np.ptp(fill) < 0.01
    assert np.all((res.fill_rate[:, 1:] >= 0) & (res.fill_rate[:, 1:] <= 1))


@pytest.mark.parametrize("lost", [False, True])
def test_compiled_and_array_engines_agree(lost: bool) -> None:
    """Same model in two kernels: a distribution network with mixed policies."""
    rng = np.random.default_rng(0)
    demand = np.zeros((40, 5, 250))
    demand[:, [0, 2, 3, 4], :] = rng.poisson(3.0, size=(40, 4, 250))
    kw = {
        "supplier": [-1, 0, 0, 1, 1],
        "policy": ["s_Q", "R_s_S", "base_stock", "R_S", "s_S"],
        "reorder_point": [25.0, 10.0, np.nan, np.nan, 4.0],
        "order_quantity": [30.0, np.nan, np.nan, np.nan, np.nan],
        "order_up_to": [np.nan, 30.0, 10.0, 14.0, 12.0],
        "review_period": [1, 2, 1, 3, 1],
        "lead_time": lambda g, shape: g.integers(0, 4, size=shape),
        "backorders": not lost,
        "warmup": 10,
        "seed": 11,
    }
    compiled = simulate_network(demand, engine="compiled", **kw)  # type: ignore[arg-type]
    arrays = simulate_network(demand, engine="arrays", **kw)  # type: ignore[arg-type]
    for name in compiled.__dataclass_fields__:
        np.testing.assert_allclose(
            getattr(compiled, name), getattr(arrays, name), rtol=1e-12, atol=1e-12, err_msg=name
        )


def test_random_lead_times_and_defects_are_reproducible() -> None:
    demand = np.zeros((20, 2, 150))
    demand[:, 0, :] = np.random.default_rng(0).poisson(3.0, size=(20, 150))

    def run(seed: int) -> np.ndarray:
        res = simulate_network(
            demand,
            supplier=[1, -1],
            policy=["s_S", "R_S"],
            reorder_point=[5.0, np.nan],
            order_up_to=[12.0, 20.0],
            review_period=[1, 2],
            lead_time=lambda rng, shape: rng.integers(0, 3, size=shape),
            defect_rate=[0.05, 0.0],
            seed=seed,
        )
        return np.stack([res.fill_rate, res.average_on_hand])

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


@settings(max_examples=40, deadline=None)
@given(
    retail=st.integers(0, 20),
    upstream=st.integers(0, 15),
    extra=st.integers(1, 10),
    lead=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    seed=st.integers(0, 1000),
)
def test_property_more_upstream_stock_never_hurts_a_serial_retailer(
    retail: int, upstream: int, extra: int, lead: tuple[int, int], seed: int
) -> None:
    demand = np.zeros((3, 2, 40))
    demand[:, 0, :] = np.random.default_rng(seed).poisson(3.0, size=(3, 40))
    kw = {"supplier": [1, -1], "policy": "base_stock", "lead_time": list(lead)}
    low = simulate_network(demand, order_up_to=[float(retail), float(upstream)], **kw)  # type: ignore[arg-type]
    high = simulate_network(demand, order_up_to=[float(retail), float(upstream + extra)], **kw)  # type: ignore[arg-type]
    ok = ~np.isnan(low.fill_rate[:, 0])
    assert np.all(high.fill_rate[ok, 0] >= low.fill_rate[ok, 0] - 1e-12)
    assert np.all((low.fill_rate[ok, 0] >= 0) & (low.fill_rate[ok, 0] <= 1))


def test_network_depths_and_validation() -> None:
    np.testing.assert_array_equal(network_depths([1, 2, -1]), [2, 1, 0])
    np.testing.assert_array_equal(network_depths([-1, 0, 0, 1]), [0, 1, 1, 2])
    with pytest.raises(InvalidDataError, match="cycle"):
        network_depths([1, 0])
    with pytest.raises(InvalidDataError, match="supplier"):
        network_depths([5, -1])
    with pytest.raises(InvalidParameterError, match="'order_up_to'"):
        simulate_network(np.ones((2, 4)), supplier=[1, -1], policy="base_stock")
    with pytest.raises(InvalidParameterError, match="'auto', 'compiled', 'arrays'"):
        simulate_network(
            np.ones((1, 4)), supplier=[-1], policy="base_stock", order_up_to=1.0, engine="gpu"
        )  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'supplier'"):
        simulate_network(np.ones((2, 4)), supplier=[-1], policy="base_stock", order_up_to=1.0)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 5),
    levels=st.lists(st.integers(0, 15), min_size=3, max_size=3),
    lead=st.lists(st.integers(0, 3), min_size=3, max_size=3),
    lost=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_property_distribution_results_follow_their_replication(
    n: int, levels: list[int], lead: list[int], lost: bool, seed: int
) -> None:
    """Reversing the replications reverses the results; service measures stay in [0, 1]."""
    demand = np.zeros((n, 3, 30))
    demand[:, 1:, :] = np.random.default_rng(seed).poisson(2.0, size=(n, 2, 30))
    kw = {
        "supplier": [-1, 0, 0],
        "policy": "base_stock",
        "order_up_to": [float(v) for v in levels],
        "lead_time": lead,
        "backorders": not lost,
    }
    res = simulate_network(demand, **kw)  # type: ignore[arg-type]
    rev = simulate_network(demand[::-1], **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(rev.fill_rate[::-1], res.fill_rate)
    np.testing.assert_array_equal(rev.average_on_hand[::-1], res.average_on_hand)
    for name in ("fill_rate", "customer_fill_rate", "cycle_service_level", "ready_rate"):
        values = getattr(res, name)
        ok = ~np.isnan(values)
        assert np.all((values[ok] >= 0) & (values[ok] <= 1)), name


@pytest.mark.parametrize("lost", [False, True])
def test_assembly_kernel_equals_network_kernel_without_assembly(lost: bool) -> None:
    """On a serial chain and a distribution network, lanes give the same numbers."""
    rng = np.random.default_rng(21)
    serial = np.zeros((30, 3, 200))
    serial[:, 0, :] = rng.poisson(4.0, size=(30, 200))
    common = {"backorders": not lost, "warmup": 5}
    a = simulate_network(
        serial,
        supplier=[1, 2, -1],
        policy=["s_S", "base_stock", "s_Q"],
        reorder_point=[6.0, np.nan, 20.0],
        order_quantity=[np.nan, np.nan, 25.0],
        order_up_to=[12.0, 8.0, np.nan],
        lead_time=[1, 0, 2],
        **common,  # type: ignore[arg-type]
    )
    b = simulate_assembly_network(
        serial,
        lanes=[[1, 0], [2, 1]],
        lane_lead_time=[1, 0],
        supply_lead_time=[0, 0, 2],
        policy=["s_S", "base_stock", "s_Q"],
        reorder_point=[6.0, np.nan, 20.0],
        order_quantity=[np.nan, np.nan, 25.0],
        order_up_to=[12.0, 8.0, np.nan],
        **common,  # type: ignore[arg-type]
    )
    dist = np.zeros((30, 4, 200))
    dist[:, 1:, :] = rng.poisson(3.0, size=(30, 3, 200))
    c = simulate_network(
        dist,
        supplier=[-1, 0, 0, 0],
        policy="base_stock",
        order_up_to=[15.0, 6.0, 8.0, 7.0],
        lead_time=[2, 1, 0, 1],
        **common,  # type: ignore[arg-type]
    )
    d = simulate_assembly_network(
        dist,
        lanes=[[0, 1], [0, 2], [0, 3]],
        lane_lead_time=[1, 0, 1],
        supply_lead_time=2,
        policy="base_stock",
        order_up_to=[15.0, 6.0, 8.0, 7.0],
        **common,  # type: ignore[arg-type]
    )
    for x, y in ((a, b), (c, d)):
        for name in x.__dataclass_fields__:
            np.testing.assert_allclose(
                getattr(x, name), getattr(y, name), rtol=1e-12, atol=1e-12, err_msg=name
            )


def test_hand_computed_assembly() -> None:
    """Node 2 assembles 1 unit of node 0 and 2 of node 1; demand 1 per period at node 2.

    Levels S = (1, 2, 2), all lead times 0. Period 0: node 2 ends with 1 and orders 1 kit;
    node 0 ships 1, node 1 ships 2 (arriving in period 1) and both reorder from outside.
    From period 1 on, node 2 assembles 1 unit each period and ends with 1; nodes 0 and 1
    end with nothing; 1 + 2 component units are in transit to node 2 at every period end.
    """
    demand = np.zeros((3, 6))
    demand[2] = 1.0
    res = simulate_assembly_network(
        demand,
        lanes=[[0, 2], [1, 2]],
        bom_quantity=[1, 2],
        policy="base_stock",
        order_up_to=[1.0, 2.0, 2.0],
    )
    np.testing.assert_allclose(res.average_on_hand[0], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(res.average_in_transit[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(res.fill_rate[0], [1.0, 1.0, 1.0])
    # Poisson demand: what flows into the components is the bill of materials times demand
    rng = np.random.default_rng(5)
    random_demand = np.zeros((50, 3, 400))
    random_demand[:, 2, :] = rng.poisson(2.0, size=(50, 400))
    flow = simulate_assembly_network(
        random_demand,
        lanes=[[0, 2], [1, 2]],
        bom_quantity=[1, 2],
        lane_lead_time=[1, 2],
        supply_lead_time=[1, 0, 0],
        policy="base_stock",
        order_up_to=[6.0, 10.0, 8.0],
        warmup=20,
    )
    shipped = flow.average_shipped.mean(axis=0)
    assert shipped[0] == pytest.approx(2.0, rel=0.02)
    assert shipped[1] == pytest.approx(4.0, rel=0.02)
    assert shipped[2] == pytest.approx(6.0, rel=0.02)  # 1 + 2 component units per unit
    with pytest.raises(InvalidDataError, match="cycle"):
        simulate_assembly_network(
            np.ones((2, 3)), lanes=[[0, 1], [1, 0]], policy="base_stock", order_up_to=1.0
        )
