"""Ingest: mappings applied to ERP, POS and CRM extracts, harmonized and combined."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from stockpilot.errors import ConfigurationError, InvalidDataError
from stockpilot.io.ingest import (
    apply_mapping,
    combine_sources,
    planning_demand,
    prepare_import,
    validate_import,
)
from stockpilot.io.mapping import parse_mapping
from stockpilot.io.readers import read_frame

AS_OF = date(2026, 2, 28)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n")


@pytest.fixture
def company(tmp_path: Path) -> Path:
    """A folder with masters, three extracts with their own codes and buckets, and mappings.

    Item A sells wholesale (ERP, monthly, in dozens for one row), retail (POS, daily;
    the ERP also books the store deliveries: POS is the authority) and online (CRM,
    weekly, codes of an acquired company, dates day.month.year).
    """
    _write(tmp_path / "items.csv", "item_id,unit_cost\nA,2\nB,5")
    _write(tmp_path / "locations.csv", "location_id\nDC\nST1")
    _write(
        tmp_path / "code_mappings.csv",
        "source_system,source_code,item_id,factor\nerp,1001,A,\nerp,1002,B,\npos,400-A,A,\n"
        "pos,400-B,B,",
    )
    _write(
        tmp_path / "extracts" / "erp.csv",
        "MATNR,WERKS,PERIOD,QTY,UOM,CHAN\n"
        "1001,DC,2026-01,31,EA,W\n"  # 31 units over January's 31 days
        "1001,DC,2026-02,2,DZ,W\n"  # 24 units over February's 28 days
        "1001,ST1,2026-01,99,EA,R\n"  # store deliveries: POS is authoritative for retail
        "1009,DC,2026-01,5,EA,W\n"  # no crosswalk
        "1002,DC,2026-01,4,BOX,W",  # unknown unit
    )
    _write(
        tmp_path / "extracts" / "pos.csv",
        "EAN,STORE,DAY,UNITS,TYPE\n"
        "400-A,ST1,2026-01-05,3,S\n"
        "400-A,ST1,2026-01-06,2,S\n"
        "400-A,ST1,2026-01-07,-1,R\n"
        "400-B,ST1,2026-01-12,4,S",
    )
    _write(
        tmp_path / "extracts" / "crm.csv",
        "SKU,FROM,WEEK,QTY\nACQ-A,DC,05.01.2026,7\nACQ-A,DC,12.01.2026,1\nACQ-A,DC,31.02.2026,1",
    )
    mappings = {
        "erp": {
            "source": "erp",
            "file": "../extracts/erp.csv",
            "bucket": "month",
            "date_format": "%Y-%m",
            "columns": {
                "MATNR": "source_code",
                "WERKS": "location_id",
                "PERIOD": "date",
                "QTY": "quantity",
                "CHAN": "channel",
            },
            "codes": {"column": "source_code", "source_system": "erp"},
            "uom": {"column": "UOM", "factors": {"EA": 1, "DZ": 12}},
            "value_map": {"channel": {"W": "wholesale", "R": "retail"}},
            "authoritative_for": ["wholesale"],
            "freshness_days": 45,
        },
        "pos": {
            "source": "pos",
            "file": "../extracts/pos.csv",
            "bucket": "day",
            "columns": {
                "EAN": "source_code",
                "STORE": "location_id",
                "DAY": "date",
                "UNITS": "quantity",
                "TYPE": "is_return",
            },
            "codes": {"column": "EAN"},
            "value_map": {"is_return": {"S": False, "R": True}},
            "channel": "retail",
            "authoritative_for": ["retail"],
            "freshness_days": 60,
        },
        "crm": {
            "source": "crm",
            "file": "../extracts/crm.csv",
            "bucket": "week",
            "date_format": "%d.%m.%Y",
            "columns": {
                "SKU": "source_code",
                "FROM": "location_id",
                "WEEK": "date",
                "QTY": "quantity",
            },
            "codes": {"column": "SKU", "table": {"ACQ-A": "A"}},
            "constants": {"channel": "online"},
            "authoritative_for": ["online"],
            "freshness_days": 60,
        },
    }
    for name, spec in mappings.items():
        _write(tmp_path / "mappings" / f"{name}.yaml", yaml.safe_dump(spec))
    return tmp_path


def test_three_sources_map_harmonize_and_combine_without_double_counting(company: Path) -> None:
    prepared = prepare_import(company, mappings=[company / "mappings"])
    result = validate_import(prepared, as_of=AS_OF)
    assert result.report.reconciles

    bad = result.quarantine.sort("source_file", "row_number")
    assert bad.select("source_file", "row_number", "reason").rows() == [
        ("extracts/crm.csv", 4, "invalid_type"),  # 31.02.2026 is no date
        ("extracts/erp.csv", 5, "unknown_key"),
        ("extracts/erp.csv", 6, "invalid_value"),
    ]
    assert "1009 of system 'erp' has no code_mappings entry" in bad["detail"][1]
    assert "unit of measure 'BOX' has no factor" in bad["detail"][2]
    assert json.loads(bad["raw"][1])["MATNR"] == "1009"  # raw keeps the source columns

    demand = result.accepted["demand"]
    erp = demand.filter(pl.col("source") == "erp").sort("date", "location_id")
    assert erp["quantity"].to_list() == [31.0, 99.0, 24.0]  # the DZ row became 24 units
    assert erp["date"].to_list() == [date(2026, 1, 1), date(2026, 1, 1), date(2026, 2, 1)]
    pos = demand.filter(pl.col("source") == "pos")
    assert pos["is_return"].to_list() == [False, False, True, False]
    assert set(pos["channel"]) == {"retail"}

    weekly = planning_demand(
        demand,
        bucket="week",
        source_buckets=prepared.source_buckets(),
        authority=prepared.authority(),
    )
    # Authoritative sources only: ERP wholesale 31 + 24, POS retail 3 + 2 - 1 + 4, CRM 7 + 1.
    assert weekly["quantity"].sum() == pytest.approx(55 + 8 + 8)
    a_dc = weekly.filter((pl.col("item_id") == "A") & (pl.col("location_id") == "DC"))
    by_week = dict(zip(a_dc["period"], a_dc["quantity"], strict=True))
    # Week of Mon 2026-01-05: 7 ERP days (1/day) + CRM 7.
    assert by_week[date(2026, 1, 5)] == pytest.approx(7 + 7)
    # Week of Mon 2025-12-29 holds Jan 1-4 of the ERP month: 4 units.
    assert by_week[date(2025, 12, 29)] == pytest.approx(4)
    # Week of Mon 2026-01-26: Jan 26-31 (6 x 1) and Feb 1 (24 / 28).
    assert by_week[date(2026, 1, 26)] == pytest.approx(6 + 24 / 28)
    a_st1 = weekly.filter((pl.col("item_id") == "A") & (pl.col("location_id") == "ST1"))
    assert a_st1["quantity"].to_list() == [pytest.approx(4.0)]  # the ERP's 99 is not counted


def test_combine_sources_refuses_to_guess_between_overlapping_sources() -> None:
    demand = pl.DataFrame(
        {"source": ["erp", "pos", "crm"], "channel": ["retail", "retail", "online"]}
    ).with_columns(pl.lit(1.0).alias("quantity"))
    with pytest.raises(InvalidDataError, match=r"channel 'retail' from \['erp', 'pos'\]"):
        combine_sources(demand, {})
    kept = combine_sources(demand, {"retail": "erp"})
    assert kept["source"].to_list() == ["erp", "crm"]


def test_mapping_errors_surface_at_prepare(company: Path) -> None:
    rival = company / "mappings" / "rival.yaml"
    rival.write_text("source: rival\nauthoritative_for: [retail]\nfile: x.csv\n")
    with pytest.raises(ConfigurationError, match="already claims"):
        prepare_import(company, mappings=[company / "mappings"])


def test_missing_mapped_column_names_the_key(company: Path) -> None:
    mapping = parse_mapping(
        {"source": "pos", "codes": {"column": "EAN"}, "columns": {"STORE": "location_id"}},
        origin="pos.yaml",
    )
    raw = read_frame(pl.DataFrame({"STORE": ["ST1"]}), entity="demand")
    with pytest.raises(
        ConfigurationError, match=r"pos.yaml: key 'codes.column' names column 'EAN'"
    ):
        apply_mapping(raw, mapping)


@pytest.mark.parametrize("suffix", ["parquet", "xlsx"])
def test_extract_in_parquet_or_excel(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame(
        {"EAN": ["400-A"], "STORE": ["ST1"], "DAY": [date(2026, 1, 5)], "UNITS": [3.0]}
    )
    path = tmp_path / f"pos.{suffix}"
    if suffix == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_excel(path)
    mapping = parse_mapping(
        {
            "source": "pos",
            "file": str(path),
            "columns": {"STORE": "location_id", "DAY": "date", "UNITS": "quantity"},
            "codes": {"column": "EAN", "table": {"400-A": "A"}},
            "channel": "retail",
        }
    )
    prepared = prepare_import(None, mappings=[mapping])
    result = validate_import(prepared, as_of=AS_OF, freshness_days=None)
    demand = result.accepted["demand"]
    assert demand.select("item_id", "location_id", "date", "quantity", "channel").rows() == [
        ("A", "ST1", date(2026, 1, 5), 3.0, "retail")
    ]


def test_on_hand_extract_is_judged_by_its_own_freshness_limit(tmp_path: Path) -> None:
    _write(tmp_path / "items.csv", "item_id,unit_cost\nA,2")
    _write(tmp_path / "locations.csv", "location_id\nDC")
    _write(tmp_path / "extracts" / "wms.csv", "SKU,SITE,SNAP,QTY\nA,DC,2026-02-01,5")
    mapping = {
        "source": "wms",
        "entity": "on_hand",
        "file": "extracts/wms.csv",
        "columns": {"SKU": "item_id", "SITE": "location_id", "SNAP": "date", "QTY": "quantity"},
        "freshness_days": 7,
    }
    prepared = prepare_import(tmp_path, mappings=[parse_mapping(mapping)])
    assert prepared.source_freshness()["extracts/wms.csv"] == 7
    result = validate_import(prepared, as_of=AS_OF)  # 27 days after the snapshot
    assert result.quarantine.select("reason", "source_file", "row_number").rows() == [
        ("stale_source", "extracts/wms.csv", 2)
    ]
    (stale,) = result.report.stale_sources
    assert (stale.entity, stale.source, stale.freshness_days) == ("on_hand", "extracts/wms.csv", 7)
