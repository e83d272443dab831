"""The network model: validation, structure, derived demand, dict round-trip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stockpilot.core.network import Edge, Network, Node, NodeType, network_from_dict
from stockpilot.errors import InvalidDataError, InvalidParameterError


def _assembly() -> Network:
    return Network(
        nodes=(
            Node("part_a", processing_time=3, holding_cost=1.0, node_type=NodeType.SUPPLIER),
            Node("part_b", processing_time=2, holding_cost=1.0, node_type=NodeType.SUPPLIER),
            Node("plant", processing_time=1, holding_cost=3.0, node_type=NodeType.PLANT),
            Node("dc1", holding_cost=4.0, demand_mean=10, demand_sd=3, external_outbound_cst=0),
            Node("dc2", holding_cost=4.0, demand_mean=5, demand_sd=4, external_outbound_cst=1),
        ),
        edges=(
            Edge("part_a", "plant", quantity=2),
            Edge("part_b", "plant"),
            Edge("plant", "dc1", lead_time=1),
            Edge("plant", "dc2"),
        ),
        name="assembly",
    )


def test_topological_order_puts_suppliers_first() -> None:
    net = _assembly()
    order = net.topological_order()
    pos = {nid: k for k, nid in enumerate(order)}
    for e in net.edges:
        assert pos[e.upstream] < pos[e.downstream]


def test_net_demand_pools_variances_through_bill_of_materials() -> None:
    """Hand-computed: plant sees 10+5 with sd 5; part_a uses 2 per unit: mean 30, sd 10."""
    arr = _assembly().arrays()
    i = {nid: k for k, nid in enumerate(arr.node_ids)}
    assert arr.net_demand_mean[i["plant"]] == 15
    assert arr.net_demand_sd[i["plant"]] == pytest.approx(5.0)
    assert arr.net_demand_mean[i["part_a"]] == 30
    assert arr.net_demand_sd[i["part_a"]] == pytest.approx(10.0)
    assert arr.external_outbound_cst[i["plant"]] == math.inf
    assert arr.is_tree


def test_tree_detection() -> None:
    diamond = Network(
        nodes=(Node("a"), Node("b"), Node("c"), Node("d")),
        edges=(Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d")),
    )
    assert not diamond.is_tree()
    assert _assembly().is_tree()


def test_validation_reports_every_problem_together() -> None:
    with pytest.raises(InvalidDataError) as info:
        Network(
            nodes=(Node("a", processing_time=-1), Node("a"), Node("b", holding_cost=math.nan)),
            edges=(Edge("a", "zz"), Edge("b", "b"), Edge("a", "b", quantity=0)),
        )
    text = str(info.value)
    for needle in ("processing_time", "more than once", "holding_cost", "'zz'", "itself", "> 0"):
        assert needle in text


def test_cycle_is_rejected() -> None:
    with pytest.raises(InvalidDataError, match="cycle"):
        Network(nodes=(Node("a"), Node("b")), edges=(Edge("a", "b"), Edge("b", "a")))


def test_dict_round_trip_and_service_level() -> None:
    net = _assembly()
    again = network_from_dict(net.to_dict())
    assert again == net
    data = net.to_dict()
    del data["z"]
    data["service_level"] = 0.95
    assert network_from_dict(data).z == pytest.approx(1.6448536, abs=1e-6)


def test_dict_errors_list_problems() -> None:
    with pytest.raises(InvalidDataError) as info:
        network_from_dict(
            {"nodes": [{"id": "a", "type": "castle", "colour": 1}, {"x": 1}], "edges": [[1]]}
        )
    text = str(info.value)
    assert "castle" in text and "colour" in text and "nodes[1]" in text and "edges[0]" in text


def test_arrays_are_index_based() -> None:
    arr = _assembly().arrays()
    assert arr.n_nodes == 5 and arr.n_edges == 4
    assert np.array_equal(arr.edge_quantity, [2.0, 1.0, 1.0, 1.0])
    assert np.array_equal(arr.edge_lead_time, [0.0, 0.0, 1.0, 0.0])


def test_node_type_accepts_its_string_value_and_lists_valid_ones() -> None:
    assert Node("x", node_type="dc").node_type is NodeType.DC  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'warehouse'"):
        Node("x", node_type="castle")  # type: ignore[arg-type]
