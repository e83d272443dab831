"""Frame-level network step: item-location rows + location parents -> GSM -> rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from stockpilot.core.network.gsm_milp import optimize_service_times
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


def _many_items(seed: int) -> pl.DataFrame:
    """Items at varied location sets, with their own lead times, demand and costs."""
    rng = np.random.default_rng(seed)
    sets = [["PLANT", "DC", "S1", "S2"], ["PLANT", "DC", "S1"], ["DC", "S2"], ["S1"]]
    rows = []
    for k in range(40):
        for loc in sets[k % len(sets)]:
            store = loc.startswith("S")
            rows.append(
                {
                    "item_id": f"I{k:02d}",
                    "location_id": loc,
                    "lead_time": float(rng.integers(0, 6)),
                    "demand_mean": float(rng.uniform(0, 20)) if store else 0.0,
                    "demand_sd": float(rng.uniform(0.1, 6)) if store else 0.0,
                    "unit_cost": float(rng.uniform(1, 10)),
                    "holding_rate": 0.02,
                }
            )
    return pl.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_items_solved_together_by_shape_equal_items_solved_one_by_one(seed: int) -> None:
    rows = _many_items(seed)
    together = optimize_network_stock(rows, LOCATIONS)
    built = build_item_networks(rows, LOCATIONS)
    alone = {
        item: optimize_service_times(net)
        for item, net in zip(built.item_ids, built.networks, strict=True)
    }
    costs = (
        together.join(rows, on=["item_id", "location_id"])
        .group_by("item_id")
        .agg((pl.col("safety_stock") * pl.col("unit_cost") * pl.col("holding_rate")).sum())
        .sort("item_id")
    )
    for item, cost in costs.iter_rows():
        assert cost == pytest.approx(alone[item].total_cost, rel=1e-9, abs=1e-12)
    assert (together["gsm_method"] == "tree_dp").all()
    assert together.height == rows.height


def test_fractional_lead_times_fall_back_to_the_milp_per_item() -> None:
    rows = _rows().with_columns(
        pl.when(pl.col("item_id") == "A")
        .then(pl.col("lead_time") + 0.5)
        .otherwise(pl.col("lead_time"))
    )
    out = optimize_network_stock(rows, LOCATIONS)
    methods = dict(out.group_by("item_id").agg(pl.col("gsm_method").first()).iter_rows())
    assert methods == {"A": "milp", "B": "tree_dp"}
    net_a = build_item_networks(rows, LOCATIONS).networks[0]
    cost_a = (
        out.filter(pl.col("item_id") == "A")
        .join(rows, on=["item_id", "location_id"])
        .select((pl.col("safety_stock") * pl.col("unit_cost") * pl.col("holding_rate")).sum())
        .item()
    )
    assert cost_a == pytest.approx(optimize_service_times(net_a).total_cost, rel=1e-6)


def test_negative_lead_time_is_named() -> None:
    with pytest.raises(InvalidDataError, match="lead_time must be a number >= 0"):
        optimize_network_stock(_rows().with_columns(lead_time=pl.lit(-1.0)), LOCATIONS)


def test_fractional_sla_caps_fall_back_to_the_milp_and_are_honoured() -> None:
    """A store promising 1.5 buckets: the whole-bucket tree DP would floor the cap to 1 and
    miss the optimum; the item goes to the MILP, whose optimum uses the cap exactly."""
    rows = _rows().with_columns(
        max_service_time=pl.when(pl.col("location_id") == "S1")
        .then(1.5)
        .when(pl.col("location_id") == "S2")
        .then(0.0)
        .otherwise(None)
    )
    out = optimize_network_stock(rows, LOCATIONS)
    a = out.filter(pl.col("item_id") == "A").sort("location_id")
    assert a["gsm_method"].unique().to_list() == ["milp"]
    s1 = a.filter(pl.col("location_id") == "S1").row(0, named=True)
    assert s1["committed_service_time"] <= 1.5 + 1e-9
    floored = optimize_network_stock(
        rows.with_columns(pl.col("max_service_time").floor()), LOCATIONS
    ).filter(pl.col("item_id") == "A")

    def cost(frame: pl.DataFrame) -> float:
        return float(
            frame.join(rows, on=["item_id", "location_id"])
            .select((pl.col("safety_stock") * pl.col("unit_cost") * pl.col("holding_rate")).sum())
            .item()
        )

    # the looser cap can only help, and the MILP finds the network's own optimum
    assert cost(a) <= cost(floored) * (1 + 1e-9)
    net_a = build_item_networks(rows, LOCATIONS).networks[0]
    assert cost(a) == pytest.approx(optimize_service_times(net_a).total_cost, rel=1e-6)
