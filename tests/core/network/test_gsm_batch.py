"""GSM on many trees of one shape at once: row by row the optimum of ``gsm_tree``."""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pytest
from _random_networks import random_dag, random_tree
from graves_willems_2000 import BULLDOZER
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.network import Network
from stockpilot.core.network.gsm_batch import gsm_tree_batch
from stockpilot.core.network.gsm_tree import gsm_tree
from stockpilot.core.network.willems import willems_network
from stockpilot.errors import InvalidParameterError


def _variant(shape: Network, rng: np.random.Generator) -> Network:
    """The same stages and lanes with other times, costs, demand and caps."""
    nodes = []
    for node in shape.nodes:
        sink = node.demand_sd > 0
        nodes.append(
            dataclasses.replace(
                node,
                processing_time=int(rng.integers(0, 5)),
                holding_cost=float(rng.uniform(0.1, 4.0)),
                demand_mean=float(rng.uniform(0, 30)) if sink else 0.0,
                demand_sd=float(rng.uniform(0.5, 6)) if sink else 0.0,
                external_outbound_cst=float(rng.integers(0, 4)) if sink else None,
            )
        )
    return Network(nodes=tuple(nodes), edges=shape.edges, z=shape.z)


def _columns(nets: list[Network]) -> dict[str, np.ndarray]:
    arrays = [net.arrays() for net in nets]
    return {
        "processing_time": np.array([a.processing_time for a in arrays]),
        "holding_cost": np.array([a.holding_cost for a in arrays]),
        "demand_mean": np.array([a.demand_mean for a in arrays]),
        "demand_sd": np.array([a.demand_sd for a in arrays]),
        "external_outbound_cst": np.array([a.external_outbound_cst for a in arrays]),
    }


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 9), st.integers(1, 6))
def test_each_row_is_the_tree_dp_optimum(seed: int, n: int, batch: int) -> None:
    rng = np.random.default_rng(seed)
    shape = random_tree(rng, n)
    nets = [_variant(shape, rng) for _ in range(batch)]
    out = gsm_tree_batch(shape, **_columns(nets))
    for row, net in enumerate(nets):
        ref = gsm_tree(net)
        assert out.total_cost[row] == pytest.approx(ref.total_cost, rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(out.safety_stock[row].sum(), ref.safety_stock.sum(), atol=1e-9)
        # the solution is feasible: inbound covers every supplier, caps hold, tau >= 0
        arr = net.arrays()
        s, si = out.committed_service_time[row], out.inbound_service_time[row]
        assert (s <= arr.external_outbound_cst + 1e-9).all() and (s >= 0).all()
        assert (si[arr.edge_downstream] >= s[arr.edge_upstream] + arr.edge_lead_time - 1e-9).all()
        assert (out.net_lead_time[row] >= 0).all()


def test_graves_willems_2000_bulldozer_in_a_batch() -> None:
    net = willems_network(csv.reader(io.StringIO(BULLDOZER)), holding_rate=0.3)
    cols = _columns([net, net])
    out = gsm_tree_batch(net, **cols)
    assert out.total_cost.tolist() == pytest.approx([gsm_tree(net).total_cost] * 2, rel=1e-12)
    assert round(float(out.total_cost[0])) == 632_775


def test_rows_are_independent_of_each_other() -> None:
    rng = np.random.default_rng(3)
    shape = random_tree(rng, 7)
    nets = [_variant(shape, rng) for _ in range(5)]
    cols = _columns(nets)
    whole = gsm_tree_batch(shape, **cols)
    flipped = gsm_tree_batch(shape, **{k: v[::-1] for k, v in cols.items()})
    np.testing.assert_allclose(flipped.total_cost[::-1], whole.total_cost)
    np.testing.assert_allclose(flipped.net_lead_time[::-1], whole.net_lead_time)


def test_bad_shapes_and_values_are_named() -> None:
    rng = np.random.default_rng(1)
    shape = random_tree(rng, 4)
    cols = _columns([shape])
    with pytest.raises(InvalidParameterError, match="holding_cost"):
        gsm_tree_batch(shape, **{**cols, "holding_cost": cols["holding_cost"][:, :2]})
    with pytest.raises(InvalidParameterError, match="integral"):
        gsm_tree_batch(shape, **{**cols, "processing_time": cols["processing_time"] + 0.5})
    with pytest.raises(InvalidParameterError, match="tree"):
        gsm_tree_batch(random_dag(np.random.default_rng(2), 8), **_columns([shape]))
