"""The demo company: deterministic, scalable, realistic, with planted defects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from stockpilot.errors import InvalidParameterError
from stockpilot.io.demo.company import PATTERNS, generate_company
from stockpilot.io.demo.extracts import PLANTED_DEFECTS, write_demo
from stockpilot.schema import ENTITIES


def test_same_seed_same_company() -> None:
    a = generate_company(items=60, weeks=40, seed=3)
    b = generate_company(items=60, weeks=40, seed=3)
    c = generate_company(items=60, weeks=40, seed=4)
    assert a.weekly.equals(b.weekly)
    assert a.receipts.equals(b.receipts)
    assert not a.weekly.equals(c.weekly)


def test_default_size_is_about_two_thousand_item_locations() -> None:
    company = generate_company()
    assert 1_700 <= company.n_item_locations <= 2_400


def test_scales_with_items() -> None:
    small = generate_company(items=100, weeks=52)
    large = generate_company(items=2_000, weeks=52)
    ratio = large.n_item_locations / small.n_item_locations
    assert 12 < ratio < 28


def test_every_demand_pattern_and_lifecycle_is_present() -> None:
    company = generate_company(items=400)
    assert set(company.items["_pattern"].unique()) == set(PATTERNS)
    assert {"new", "active", "phase_out"} <= set(company.items["lifecycle_flag"].unique())


def test_network_two_business_units_share_one_warehouse() -> None:
    locations = generate_company(items=50, weeks=40).locations
    shared = locations.filter(pl.col("business_units").str.contains(";"))
    assert shared.height == 1
    assert shared["type"][0] == "warehouse"
    assert set(locations["type"]) == {"plant", "warehouse", "dc", "store"}
    assert locations.filter(pl.col("type") == "dc").height == 2


def test_suppliers_have_lead_time_variability_on_time_and_defects() -> None:
    company = generate_company(items=300, weeks=60)
    lead = company.receipts.join(company.purchase_orders, on="po_id").with_columns(
        (pl.col("receipt_date") - pl.col("order_date")).dt.total_days().alias("lt"),
        (pl.col("receipt_date") <= pl.col("due_date")).alias("on_time"),
    )
    per_supplier = lead.group_by("supplier_id").agg(
        pl.col("lt").std().alias("sd"), pl.col("on_time").mean().alias("otd")
    )
    assert (per_supplier["sd"] > 0).all()
    assert 0.3 < lead["on_time"].mean() < 1.0  # type: ignore[operator]
    assert company.receipts["quantity_rejected"].sum() > 0
    assert (company.receipts["receipt_date"] <= company.as_of).all()


def test_promotions_and_shutdown_events() -> None:
    company = generate_company(items=200, weeks=60)
    kinds = set(company.events["kind"])
    assert {"promotion", "shutdown"} <= kinds
    plant = company.weekly.filter(
        (pl.col("location_id") == "PLANT-01")
        & (pl.col("week").dt.month() == 12)
        & (pl.col("week").dt.day() >= 18)
    )
    assert plant.height == 0 or plant["quantity"].sum() == 0


def test_rejects_tiny_company() -> None:
    with pytest.raises(InvalidParameterError, match="'items' parameter"):
        generate_company(items=3)


def test_written_folder_has_every_file_and_planted_defect(tmp_path: Path) -> None:
    demo = write_demo(tmp_path / "demo", items=60, weeks=40)
    names = {p.relative_to(demo.path).as_posix() for p in demo.files}
    for entity in ENTITIES:
        if entity != "demand":
            assert f"{entity}.csv" in names
    for file, _reason in PLANTED_DEFECTS:
        assert file in names
    assert {m.stem for m in demo.mappings} == {"erp", "pos", "crm", "legacy_wms"}
    items = pl.read_csv(demo.path / "items.csv", infer_schema=False)
    assert "SKU-BADCOST" in items["item_id"].to_list()
    # The extracts carry the true demand once per authoritative channel.
    crm = pl.read_csv(demo.path / "extracts" / "crm_orders.csv", infer_schema=False)
    online = demo.company.weekly.filter(pl.col("channel") == "online")["quantity"].sum()
    crm_total = crm["ORDERED_QTY"].cast(pl.Float64, strict=False).sum()
    assert np.isclose(crm_total, online)
