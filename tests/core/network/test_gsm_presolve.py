"""Presolve of the guaranteed-service model: stages without cost quote 0 and lose lanes."""

from __future__ import annotations

import numpy as np
import pytest
from _random_networks import brute_force_cost, random_dag
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from stockpilot.core.network import Edge, Network, Node
from stockpilot.core.network.gsm_milp import gsm_milp
from stockpilot.core.network.gsm_presolve import _drop_zero_weight_stages
from stockpilot.core.network.gsm_tree import gsm_cost


def _with_free_stages(net: Network, rng: np.random.Generator) -> Network:
    """The same network with some stages free (holding cost 0 or no demand at a sink,
    which frees its exclusive suppliers too) and lane lead times 0-2."""
    return Network(
        nodes=tuple(
            Node(
                nd.node_id,
                processing_time=nd.processing_time,
                holding_cost=0.0 if rng.random() < 0.3 else nd.holding_cost,
                demand_sd=0.0 if rng.random() < 0.3 else nd.demand_sd,
                external_inbound_cst=float(rng.integers(0, 2)),
                external_outbound_cst=nd.external_outbound_cst,
            )
            for nd in net.nodes
        ),
        edges=tuple(
            Edge(e.upstream, e.downstream, lead_time=int(rng.integers(0, 3))) for e in net.edges
        ),
        z=net.z,
    )


def _weight(net: Network) -> NDArray[np.float64]:
    arr = net.arrays()
    return arr.holding_cost * arr.z * arr.net_demand_sd


def test_free_stage_quotes_zero_and_its_lanes_become_inbound_times() -> None:
    """Hand case: raw -> end and tool -> end (lane 3), raw -> tool; tool has no holding
    cost. Presolved, tool is isolated with S <= 0 and end's inbound time is at least 3."""
    net = Network(
        nodes=(
            Node("raw", processing_time=2, holding_cost=1.0),
            Node("tool", processing_time=4, holding_cost=0.0),
            Node(
                "end", processing_time=1, holding_cost=3.0, demand_sd=1.0, external_outbound_cst=0
            ),
        ),
        edges=(Edge("raw", "end"), Edge("raw", "tool"), Edge("tool", "end", lead_time=3)),
        z=1.0,
    )
    arr = net.arrays()
    pre = _drop_zero_weight_stages(arr, _weight(net))
    assert not arr.is_tree and pre.is_tree
    assert pre.edge_upstream.tolist() == [0]
    assert pre.edge_downstream.tolist() == [2]
    assert pre.external_inbound_cst.tolist() == [0.0, 0.0, 3.0]
    assert pre.external_outbound_cst[1] == 0.0
    # By hand: SI_end = max(S_raw, 3) >= 3 whatever raw quotes, so raw quotes its whole
    # time (S_raw = 2, no stock) and end pays 3 sqrt(3 + 1) = 6.
    assert brute_force_cost(pre) == pytest.approx(brute_force_cost(net)) == pytest.approx(6.0)


def test_network_without_free_stages_is_returned_as_is() -> None:
    net = random_dag(np.random.default_rng(1), 5)
    arr = net.arrays()
    assert _drop_zero_weight_stages(arr, _weight(net)) is arr


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 6))
def test_presolve_keeps_the_optimum(seed: int, n: int) -> None:
    """Property: the presolved network has the original's enumerated optimum, and
    gsm_milp (which solves the presolved network) proves it on the original network."""
    rng = np.random.default_rng(seed)
    net = _with_free_stages(random_dag(rng, n), rng)
    best = brute_force_cost(net)
    pre = _drop_zero_weight_stages(net.arrays(), _weight(net))
    assert brute_force_cost(pre) == pytest.approx(best, rel=1e-9, abs=1e-9)
    sol = gsm_milp(net, mip_rel_gap=1e-9)
    assert sol.optimal
    assert sol.total_cost == pytest.approx(best, rel=1e-6, abs=1e-9)
    s = np.asarray(list(sol.service_times().values()))
    assert gsm_cost(net, s) == pytest.approx(sol.total_cost, rel=1e-9, abs=1e-12)
