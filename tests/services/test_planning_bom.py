"""The planning run's network step with bills of material: rows in force, the stages
components need, and product families in the placement."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from _planning import plan_folder

from stockpilot.engine.network import optimize_network_stock
from stockpilot.io.demo.extracts import write_demo
from stockpilot.services import runs
from stockpilot.services.planning import (
    _with_ancestors,
    _with_bom_stages,
    bom_in_force,
)
from stockpilot.settings import Settings
from stockpilot.store.db import open_store
from stockpilot.store.repositories import read_plan_rows
from stockpilot.vocab import Bucket

LOCATIONS = pl.DataFrame(
    {
        "location_id": ["PLANT", "DC", "S1"],
        "parent": [None, "PLANT", "DC"],
        "type": ["plant", "dc", "store"],
    }
)
AS_OF = date(2026, 11, 2)


def _bom(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "parent_item_id": pl.String,
            "component_item_id": pl.String,
            "quantity_per": pl.Float64,
            "location_id": pl.String,
            "assembly_lead_time_days": pl.Float64,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
        },
        orient="row",
    )


def test_rows_in_force_on_the_as_of_date_latest_version_wins() -> None:
    bom = _bom(
        [
            ("BIKE", "FRAME", 1.0, "PLANT", 14.0, None, None),
            ("BIKE", "WHEEL", 2.0, "PLANT", None, date(2025, 1, 1), date(2026, 6, 30)),
            ("BIKE", "WHEEL", 3.0, "PLANT", None, date(2026, 7, 1), None),  # the new version
            ("BIKE", "BELL", 1.0, "PLANT", None, date(2027, 1, 1), None),  # not yet
            ("BIKE", "LAMP", 1.0, "PLANT", None, None, date(2026, 1, 1)),  # expired
        ]
    )
    used = bom_in_force(bom, AS_OF, Bucket.WEEK)
    assert used.rows() == [
        ("BIKE", "FRAME", 1.0, "PLANT", 2.0),
        ("BIKE", "WHEEL", 3.0, "PLANT", None),
    ]


def test_components_get_stages_at_the_assembly_location_level_by_level() -> None:
    sold = pl.DataFrame({"item_id": ["BIKE"], "location_id": ["S1"]})
    nodes = _with_ancestors(sold, LOCATIONS)
    bom = bom_in_force(
        _bom(
            [
                ("BIKE", "FRAME", 1.0, None, None, None, None),  # at the top: PLANT
                ("FRAME", "TUBE", 3.0, "PLANT", None, None, None),  # a subassembly's part
                ("BIKE", "BELL", 1.0, "DC", None, None, None),  # fitted at the DC
                ("ORPHAN", "TUBE", 1.0, "PLANT", None, None, None),  # nothing to plan
                ("FRAME", "TUBE", 9.0, None, None, None, None),  # same lane: the row above wins
            ]
        ),
        AS_OF,
        Bucket.WEEK,
    )
    stages, used, left_out = _with_bom_stages(nodes, bom, LOCATIONS)
    assert sorted(stages.rows()) == [
        ("BELL", "DC"),
        ("BELL", "PLANT"),
        ("BIKE", "DC"),
        ("BIKE", "PLANT"),
        ("BIKE", "S1"),
        ("FRAME", "PLANT"),
        ("TUBE", "PLANT"),
    ]
    assert sorted(used.select("parent_item_id", "component_item_id", "location_id").rows()) == [
        ("BIKE", "BELL", "DC"),
        ("BIKE", "FRAME", "PLANT"),
        ("FRAME", "TUBE", "PLANT"),
    ]
    assert used.filter(pl.col("component_item_id") == "TUBE")["quantity_per"].to_list() == [3.0]
    assert left_out == 2
    # The stages and rows make one family: BIKE at the store needs bells, frames, tubes.
    frame = stages.with_columns(
        lead_time=pl.lit(1.0),
        demand_mean=pl.when(pl.col("location_id") == "S1").then(10.0).otherwise(0.0),
        demand_sd=pl.when(pl.col("location_id") == "S1").then(3.0).otherwise(0.0),
        holding_cost=pl.lit(1.0),
    )
    placement = optimize_network_stock(frame, LOCATIONS, bom=used)
    assert placement.height == 7
    assert placement["gsm_method"].unique().to_list() == ["tree_dp"]


def test_a_run_plans_a_component_that_sells_nowhere_with_its_family(tmp_path: Path) -> None:
    folder = write_demo(tmp_path / "data", items=40, weeks=40, seed=5, as_of=AS_OF).path
    with (folder / "items.csv").open("a") as items:
        items.write("PART-X,1.25,Demo part,electrical,EA,,,1.0,active,false,buy,BU-IND,0.25,,,\n")
    bom = pl.read_csv(folder / "bill_of_materials.csv", infer_schema=False)
    parent = bom["parent_item_id"][0]
    with (folder / "bill_of_materials.csv").open("a") as rows:
        rows.write(f"{parent},PART-X,4,,\n")
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    run = plan_folder(factory, folder, AS_OF, Settings(home=tmp_path, horizon=8))
    assert run.status.value == "succeeded", [s.message for s in run.steps]
    network = next(s for s in run.steps if s.name == "network")
    assert "5 bill-of-materials lanes join 7 items into product families" in (network.message or "")
    placement = runs.read_artifact(factory, run.id, "network")
    assert placement is not None
    part = placement.filter(pl.col("item_id") == "PART-X")
    assert part.select("location_id", "family_id").rows() == [("PLANT-01", f"family:{parent}")]
    lanes = placement.filter((pl.col("item_id") == parent) & (pl.col("location_id") == "PLANT-01"))[
        "bom_components"
    ][0]
    assert {"component_item_id": "PART-X", "quantity_per": 4.0} in json.loads(lanes)
    # The component that sells nowhere gets a policy line on its dependent demand:
    # 4 x the echelon demand of its parent's stage at the plant.
    with factory() as session:
        policies = read_plan_rows(session, "policies", run.id)
    assert policies.filter(pl.col("item_id") == "PART-X")["location_id"].to_list() == ["PLANT-01"]
    details = runs.read_artifact(factory, run.id, "policy_details")
    assert details is not None
    at_plant = (pl.col("item_id").is_in(["PART-X", parent])) & (pl.col("location_id") == "PLANT-01")
    lines = policies.filter(at_plant).join(
        details.filter(at_plant).select("item_id", "location_id", "demand_mean"),
        on=["item_id", "location_id"],
    )
    line = {r["item_id"]: r for r in lines.iter_rows(named=True)}
    # Both lines average the forecast over the same window (lead time + review period).
    assert {line[i]["lead_time"] + line[i]["review_period"] for i in line} == {
        line[parent]["lead_time"] + line[parent]["review_period"]
    }
    assert line["PART-X"]["demand_mean"] == pytest.approx(4.0 * line[parent]["demand_mean"])
