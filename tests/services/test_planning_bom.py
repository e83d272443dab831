"""The planning run's network step with bills of material: rows in force, the stages
components need, and product families in the placement."""

from __future__ import annotations

from datetime import date

import polars as pl

from stockpilot.engine.network import optimize_network_stock
from stockpilot.services.planning import _with_ancestors, _with_bom_stages, bom_in_force
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
