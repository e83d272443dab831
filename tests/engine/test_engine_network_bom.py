"""Product families: bills of material in the network step (canonical tables -> GSM)."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stockpilot.cli.network import register
from stockpilot.core.network import network_from_dict
from stockpilot.engine.network import (
    build_family_networks,
    build_supply_networks,
    optimize_network_stock,
    resolve_bom,
    stage_id,
)
from stockpilot.errors import InvalidDataError

HERE = Path(__file__).resolve().parent


def _graves_willems() -> ModuleType:
    path = HERE.parent / "core" / "network" / "graves_willems_2000.py"
    spec = importlib.util.spec_from_file_location("graves_willems_2000_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stages(text: str) -> list[dict[str, object]]:
    """The Willems rows of a Graves-Willems example with cumulative cost per stage."""
    rows = list(csv.reader(io.StringIO(text)))[1:]
    stages = {}
    for row in rows:
        if not row:
            continue
        ups = [c for c in row[8:] if c]
        stages[row[0]] = {
            "id": row[0],
            "time": float(row[1]),
            "cap": float(row[2]) if row[2] else None,
            "added": float(row[3]),
            "mean": float(row[5]) if row[5] else 0.0,
            "sd": float(row[6]) if row[6] else 0.0,
            "ups": [(ups[k], float(ups[k + 1])) for k in range(0, len(ups), 2)],
        }

    def cumulative(sid: str) -> float:
        st_ = stages[sid]
        return float(st_["added"]) + sum(q * cumulative(u) for u, q in st_["ups"])  # type: ignore[attr-defined]

    for sid, st_ in stages.items():
        st_["unit_cost"] = cumulative(sid)
    return list(stages.values())


def _canonical(text: str, rate: float) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Item-locations, locations and BOM rows of a Graves-Willems example.

    A stage named ``<Region>_DC_<X>`` is item ``Pack_SKU_<X>`` stocked at the region's
    DC (replenished from the plant); every other stage is an item at the plant, and its
    upstream stages are its bill of materials there.
    """
    item_rows = []
    bom_rows = []
    for stage in _stages(text):
        match = re.fullmatch(r"(Central|East|West)_DC_([ABC])", str(stage["id"]))
        item, loc = (f"Pack_SKU_{match[2]}", match[1]) if match else (stage["id"], "PLANT")
        item_rows.append(
            {
                "item_id": item,
                "location_id": loc,
                "lead_time": stage["time"],
                "demand_mean": stage["mean"],
                "demand_sd": stage["sd"],
                "holding_cost": rate * float(stage["unit_cost"]),  # type: ignore[arg-type]
                "max_service_time": stage["cap"],
            }
        )
        if not match:
            for up, qty in stage["ups"]:  # type: ignore[attr-defined]
                bom_rows.append(
                    {
                        "parent_item_id": item,
                        "component_item_id": up,
                        "quantity_per": qty,
                        "location_id": "PLANT",
                    }
                )
    locations = pl.DataFrame(
        {
            "location_id": ["PLANT", "Central", "East", "West"],
            "parent": [None, "PLANT", "PLANT", "PLANT"],
            "type": ["plant", "dc", "dc", "dc"],
        }
    )
    item_locations = pl.DataFrame(
        item_rows,
        schema={
            "item_id": pl.String,
            "location_id": pl.String,
            "lead_time": pl.Float64,
            "demand_mean": pl.Float64,
            "demand_sd": pl.Float64,
            "holding_cost": pl.Float64,
            "max_service_time": pl.Float64,
        },
    )
    return item_locations, locations, pl.DataFrame(bom_rows)


def _cost(result: pl.DataFrame, item_locations: pl.DataFrame) -> float:
    joined = result.join(
        item_locations.select("item_id", "location_id", "holding_cost"),
        on=["item_id", "location_id"],
    )
    assert joined.height == result.height
    return float((joined["safety_stock"] * joined["holding_cost"]).sum())


def test_graves_willems_2000_bulldozer_from_canonical_tables() -> None:
    """Bulldozer (Graves and Willems 2000, section 5.1) as 22 items, one plant and a BOM:
    the family's optimum is the published 632,775 at 30 % holding."""
    rows, locations, bom = _canonical(_graves_willems().BULLDOZER, 0.30)
    result = optimize_network_stock(rows, locations, bom=bom)
    assert result.height == 22
    assert set(result["gsm_method"]) == {"tree_dp"}
    assert _cost(result, rows) == pytest.approx(632_775, abs=1.0)
    holders = set(result.filter(pl.col("safety_stock") > 1e-9)["item_id"])
    assert holders == {
        "Case",
        "Case&Frame",
        "Fans",
        "Final_Assembly",
        "Frame_Assembly",
        "Pin_Assembly",
    }


def test_graves_willems_2000_battery_from_canonical_tables() -> None:
    """Battery chain (Graves and Willems 2000, section 5.2): raw materials, bulk battery
    and three packed SKUs assembled at the plant and distributed to three DCs each; the
    published optimum is 853,077 at 25 % holding."""
    rows, locations, bom = _canonical(_graves_willems().BATTERY, 0.25)
    families = build_family_networks(rows, locations, bom)
    assert len(families) == 1
    assert families[0].family_id == "family:Pack_SKU_A"
    result = optimize_network_stock(rows, locations, bom=bom)
    assert result.height == 22
    assert _cost(result, rows) == pytest.approx(853_077, abs=1.0)
    dc = result.filter(pl.col("location_id") != "PLANT")
    assert dc["committed_service_time"].max() == 0


LOCATIONS = pl.DataFrame(
    {
        "location_id": ["PLANT", "DC", "S1", "S2"],
        "parent": [None, "PLANT", "DC", "DC"],
        "type": ["plant", "dc", "store", "store"],
    }
)


def _bikes() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bikes assembled at the plant from a frame and two wheels; frames also sell at the
    DC; a lamp is sold alone (no BOM)."""
    rows = pl.DataFrame(
        {
            "item_id": ["BIKE"] * 4 + ["FRAME", "FRAME", "WHEEL", "LAMP", "LAMP"],
            "location_id": ["PLANT", "DC", "S1", "S2", "PLANT", "DC", "PLANT", "DC", "S1"],
            "lead_time": [3.0, 2.0, 1.0, 1.0, 6.0, 1.0, 9.0, 4.0, 1.0],
            "demand_mean": [0.0, 0.0, 10.0, 6.0, 0.0, 2.0, 0.0, 0.0, 5.0],
            "demand_sd": [0.0, 0.0, 3.0, 4.0, 0.0, 1.5, 0.0, 0.0, 2.0],
            "unit_cost": [100.0, 104.0, 110.0, 110.0, 40.0, 42.0, 15.0, 3.0, 4.0],
            "holding_rate": [0.01] * 9,
        }
    )
    bom = pl.DataFrame(
        {
            "parent_item_id": ["BIKE", "BIKE"],
            "component_item_id": ["FRAME", "WHEEL"],
            "quantity_per": [1.0, 2.0],
            "location_id": ["PLANT", None],
            "assembly_lead_time": [2.0, None],
        }
    )
    return rows, bom


HAND_WRITTEN = {
    "name": "bikes by hand",
    "z": 1.645,
    "nodes": [
        {"id": "BIKE@PLANT", "type": "plant", "processing_time": 2, "holding_cost": 1.0},
        {"id": "BIKE@DC", "type": "dc", "processing_time": 2, "holding_cost": 1.04},
        {
            "id": "BIKE@S1",
            "type": "store",
            "processing_time": 1,
            "holding_cost": 1.1,
            "demand_mean": 10,
            "demand_sd": 3,
            "external_outbound_cst": 0,
        },
        {
            "id": "BIKE@S2",
            "type": "store",
            "processing_time": 1,
            "holding_cost": 1.1,
            "demand_mean": 6,
            "demand_sd": 4,
            "external_outbound_cst": 0,
        },
        {"id": "FRAME@PLANT", "type": "plant", "processing_time": 6, "holding_cost": 0.4},
        {
            "id": "FRAME@DC",
            "type": "dc",
            "processing_time": 1,
            "holding_cost": 0.42,
            "demand_mean": 2,
            "demand_sd": 1.5,
            "external_outbound_cst": 0,
        },
        {"id": "WHEEL@PLANT", "type": "plant", "processing_time": 9, "holding_cost": 0.15},
    ],
    "edges": [
        ["BIKE@PLANT", "BIKE@DC"],
        ["BIKE@DC", "BIKE@S1"],
        ["BIKE@DC", "BIKE@S2"],
        ["FRAME@PLANT", "FRAME@DC"],
        ["FRAME@PLANT", "BIKE@PLANT"],
        ["WHEEL@PLANT", "BIKE@PLANT", 2],
    ],
}


def _optimize_file(tmp_path: Path, data: dict[str, object], method: str) -> dict[str, object]:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # keeps typer in multi-command mode
        """Nothing."""

    src, out = tmp_path / "net.json", tmp_path / "out.json"
    src.write_text(json.dumps(data))
    result = CliRunner().invoke(
        app,
        ["network", "optimize", "--network", str(src), "--out", str(out), "--method", method],
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def test_family_equals_the_same_network_written_by_hand_and_solved_from_the_file(
    tmp_path: Path,
) -> None:
    rows, bom = _bikes()
    result = optimize_network_stock(rows, LOCATIONS, bom=bom)
    solved = _optimize_file(tmp_path, HAND_WRITTEN, "auto")
    family = result.filter(pl.col("item_id") != "LAMP")
    by_stage = {n["id"]: n for n in solved["nodes"]}  # type: ignore[attr-defined]
    for rec in family.iter_rows(named=True):
        node = by_stage[stage_id(rec["item_id"], rec["location_id"])]
        assert rec["safety_stock"] == pytest.approx(node["safety_stock"], abs=1e-9)
        assert rec["committed_service_time"] == node["committed_service_time"]
    cost = _cost(family, rows.with_columns(holding_cost=pl.col("unit_cost") * 0.01))
    assert cost == pytest.approx(solved["total_cost"], abs=1e-9)
    assert set(family["gsm_method"]) == {"tree_dp"}
    # The family network built from the tables is the hand-written one.
    (built,) = build_family_networks(rows, LOCATIONS, bom)
    hand = network_from_dict(HAND_WRITTEN)
    assert {n.node_id for n in built.network.nodes} == {n.node_id for n in hand.nodes}
    for node in hand.nodes:
        mine = built.network.node(node.node_id)
        assert mine.node_type == node.node_type
        assert mine.external_outbound_cst == node.external_outbound_cst
        for field in ("processing_time", "holding_cost", "demand_mean", "demand_sd"):
            assert getattr(mine, field) == pytest.approx(getattr(node, field), abs=1e-12)
    assert {(e.upstream, e.downstream, e.quantity) for e in built.network.edges} == {
        (e.upstream, e.downstream, e.quantity) for e in hand.edges
    }


def test_component_demand_is_derived_through_the_bill_of_materials() -> None:
    rows, bom = _bikes()
    (family,) = build_family_networks(rows, LOCATIONS, bom)
    arr = family.network.arrays()
    idx = family.network.index
    # WHEEL@PLANT serves two wheels per bike: mean 2 * 16, sd 2 * sqrt(3^2 + 4^2).
    assert arr.net_demand_mean[idx["WHEEL@PLANT"]] == pytest.approx(32.0)
    assert arr.net_demand_sd[idx["WHEEL@PLANT"]] == pytest.approx(10.0)
    # FRAME@PLANT serves the frames sold at the DC and one per bike.
    assert arr.net_demand_mean[idx["FRAME@PLANT"]] == pytest.approx(18.0)
    assert arr.net_demand_sd[idx["FRAME@PLANT"]] == pytest.approx(np.sqrt(1.5**2 + 25.0))
    # The assembly time replaces the bike's own lead time at the plant.
    assert family.network.node("BIKE@PLANT").processing_time == 2.0


def test_a_family_that_is_not_a_tree_goes_to_the_milp_and_matches_the_file_path(
    tmp_path: Path,
) -> None:
    rows, bom = _bikes()
    # Wheels also go into frames: WHEEL feeds BIKE twice over (an undirected cycle).
    bom = pl.concat(
        [
            bom,
            pl.DataFrame(
                {
                    "parent_item_id": ["FRAME"],
                    "component_item_id": ["WHEEL"],
                    "quantity_per": [0.5],
                    "location_id": ["PLANT"],
                    "assembly_lead_time": [None],
                },
                schema=bom.schema,
            ),
        ]
    )
    result = optimize_network_stock(rows, LOCATIONS, bom=bom, time_limit=30)
    family = result.filter(pl.col("item_id") != "LAMP")
    assert set(family["gsm_method"]) == {"milp"}
    data = json.loads(json.dumps(HAND_WRITTEN))
    data["edges"].append(["WHEEL@PLANT", "FRAME@PLANT", 0.5])
    solved = _optimize_file(tmp_path, data, "milp")
    cost = _cost(family, rows.with_columns(holding_cost=pl.col("unit_cost") * 0.01))
    assert cost == pytest.approx(solved["total_cost"], abs=1e-9)


def test_items_outside_every_bom_keep_their_per_item_results() -> None:
    rows, bom = _bikes()
    with_bom = optimize_network_stock(rows, LOCATIONS, bom=bom)
    alone = optimize_network_stock(rows.filter(pl.col("item_id") == "LAMP"), LOCATIONS)
    assert with_bom.filter(pl.col("item_id") == "LAMP").equals(alone)
    without = optimize_network_stock(rows, LOCATIONS)
    assert without.select("item_id", "location_id").equals(
        with_bom.select("item_id", "location_id")
    )
    networks = build_supply_networks(rows, LOCATIONS, bom=bom)
    assert networks.items.item_ids == ("LAMP",)
    assert [f.item_ids for f in networks.families] == [("BIKE", "FRAME", "WHEEL")]


def test_bom_problems_are_reported_together_naming_the_rows() -> None:
    rows, _ = _bikes()
    bom = pl.DataFrame(
        {
            "parent_item_id": ["BIKE", "BIKE", "BIKE", "BIKE"],
            "component_item_id": ["FRAME", "LAMP", "BIKE", "FRAME"],
            "quantity_per": [1.0, 1.0, 1.0, 0.0],
            "location_id": ["PLANT", "PLANT", "PLANT", "DC"],
        }
    )
    with pytest.raises(InvalidDataError) as err:
        resolve_bom(bom, rows, LOCATIONS)
    text = str(err.value)
    assert "3 problem(s)" in text
    assert "row 2 (BIKE <- LAMP): the component item 'LAMP' has no item-location" in text
    assert "row 3 (BIKE <- BIKE): an item cannot be its own component" in text
    assert "row 4 (BIKE <- FRAME): quantity_per must be a number > 0" in text
    with pytest.raises(InvalidDataError, match="lacks column"):
        resolve_bom(bom.drop("quantity_per"), rows, LOCATIONS)


def test_a_cycle_in_the_bill_of_materials_is_refused_with_the_family_named() -> None:
    rows, bom = _bikes()
    loop = pl.DataFrame(
        {"parent_item_id": ["WHEEL"], "component_item_id": ["BIKE"], "quantity_per": [1.0]}
    )
    with pytest.raises(InvalidDataError, match=r"(?s)family:BIKE.*cycle"):
        optimize_network_stock(rows, LOCATIONS, bom=pl.concat([bom, loop], how="diagonal"))


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_family_results_do_not_depend_on_row_order(rnd) -> None:  # type: ignore[no-untyped-def]
    rows, bom = _bikes()
    expected = optimize_network_stock(rows, LOCATIONS, bom=bom)
    order = list(range(rows.height))
    rnd.shuffle(order)
    bom_order = list(range(bom.height))
    rnd.shuffle(bom_order)
    shuffled = optimize_network_stock(rows[order], LOCATIONS, bom=bom[bom_order])
    assert shuffled.equals(expected)
