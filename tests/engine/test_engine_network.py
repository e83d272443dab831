"""Frame-level network step: item-location rows + location parents -> GSM -> rows."""

from __future__ import annotations

import polars as pl
import pytest

from stockpilot.engine.network import build_item_networks, optimize_network_stock
from stockpilot.errors import InvalidDataError

LOCATIONS = pl.DataFrame(
    {
        "location_id": ["PLANT", "DC", "S1", "S2"],
        "parent": [None, "PLANT", "DC", "DC"],
        "type": ["plant", "dc", "store", "store"],
    }
)


def _rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["A", "A", "A", "A", "B"],
            "location_id": ["PLANT", "DC", "S1", "S2", "S1"],
            "lead_time": [4.0, 2.0, 1.0, 1.0, 3.0],
            "demand_mean": [0.0, 0.0, 10.0, 6.0, 2.0],
            "demand_sd": [0.0, 0.0, 3.0, 4.0, 1.0],
            "unit_cost": [5.0, 6.0, 8.0, 8.0, 1.0],
            "holding_rate": [0.02] * 5,
        }
    )


def test_build_item_networks_links_parents_present_for_the_item() -> None:
    built = build_item_networks(_rows(), LOCATIONS)
    assert built.item_ids == ("A", "B")
    net_a, net_b = built.networks
    assert {(e.upstream, e.downstream) for e in net_a.edges} == {
        ("PLANT", "DC"),
        ("DC", "S1"),
        ("DC", "S2"),
    }
    assert net_b.edges == ()  # S1's parent DC does not stock B
    arr = net_a.arrays()
    assert arr.net_demand_sd[net_a.index["DC"]] == pytest.approx(5.0)
    assert net_a.node("S1").external_outbound_cst == 0


def test_optimize_network_stock_returns_one_row_per_item_location() -> None:
    out = optimize_network_stock(_rows(), LOCATIONS)
    assert out.height == 5
    assert set(out["stock_role"].unique()) <= {"decoupling", "flow_through"}
    stores = out.filter(pl.col("location_id").is_in(["S1", "S2"]))
    assert (stores["committed_service_time"] == 0).all()
    # B at S1 alone: no upstream, so it covers its whole lead time of 3 buckets.
    b = out.filter(pl.col("item_id") == "B").row(0, named=True)
    assert b["net_lead_time"] == 3.0
    assert b["safety_stock"] == pytest.approx(1.645 * 1.0 * 3**0.5)


def test_missing_columns_are_listed() -> None:
    with pytest.raises(InvalidDataError) as info:
        build_item_networks(_rows().drop("demand_sd", "unit_cost"), LOCATIONS.drop("parent"))
    text = str(info.value)
    assert "demand_sd" in text and "holding_cost" in text and "parent" in text
