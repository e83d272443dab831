"""Source mappings parse into frozen dataclasses; every mistake names file, key and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stockpilot.errors import ConfigurationError
from stockpilot.io.mapping import (
    SourceMapping,
    channel_authority,
    load_mapping,
    load_mappings,
    parse_mapping,
)
from stockpilot.vocab import Bucket

ERP = """
source: erp
file: ../extracts/erp_sales.csv
entity: demand
bucket: month
date_format: "%Y-%m"
columns:
  MATNR: source_code
  WERKS: location_id
  PERIOD: date
  QTY: quantity
  DISTR_CHAN: channel
codes:
  column: source_code
  source_system: erp
uom:
  column: UOM
  factors: {EA: 1, DZ: 12}
value_map:
  channel: {WHOLESALE: wholesale, RETAIL: retail}
authoritative_for: [wholesale]
freshness_days: 45
"""


def _spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"source": "pos", "entity": "demand", "bucket": "day"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_full_mapping_file_parses(tmp_path: Path) -> None:
    path = tmp_path / "erp.yaml"
    path.write_text(ERP)
    mapping = load_mapping(path)
    assert mapping.source == "erp"
    assert mapping.bucket is Bucket.MONTH
    assert mapping.columns["MATNR"] == "source_code"
    assert mapping.codes is not None and mapping.codes.source_system == "erp"
    assert mapping.uom is not None and mapping.uom.factors["DZ"] == 12.0
    assert mapping.value_map["channel"]["WHOLESALE"] == "wholesale"
    assert mapping.authoritative_for == ("wholesale",)
    assert mapping.freshness_days == 45
    assert mapping.origin == str(path)
    with pytest.raises(AttributeError):
        mapping.source = "x"  # type: ignore[misc]


def test_file_resolves_relative_to_the_mapping_then_the_folder(tmp_path: Path) -> None:
    (tmp_path / "extracts").mkdir()
    (tmp_path / "mappings").mkdir()
    (tmp_path / "extracts" / "erp_sales.csv").write_text("a\n")
    path = tmp_path / "mappings" / "erp.yaml"
    path.write_text(ERP)
    assert load_mapping(path).resolve_file().name == "erp_sales.csv"
    inline = parse_mapping(_spec(file="extracts/erp_sales.csv"))
    assert inline.resolve_file(tmp_path).name == "erp_sales.csv"
    with pytest.raises(ConfigurationError, match=r"key 'file' = 'nope.csv' does not exist"):
        parse_mapping(_spec(file="nope.csv")).resolve_file(tmp_path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colums": {}}, r"unknown key\(s\) \['colums'\].*Valid keys: source, file"),
        ({"bucket": "fortnight"}, r"'bucket' = 'fortnight'.*Valid buckets: day, week, month"),
        ({"entity": "sales"}, r"'entity' = 'sales' is not a canonical entity.*demand"),
        ({"source": None}, r"key 'source' must be a non-empty string"),
        ({"columns": {"QTY": "qty"}}, r"'columns.QTY' maps to 'qty'.*Valid columns: item_id"),
        (
            {"columns": {"A": "quantity", "B": "quantity"}},
            r"several source columns onto \['quantity'\]",
        ),
        ({"date_format": "dd.mm.yyyy"}, r"'date_format' must be a strftime format"),
        ({"uom": {"column": "U", "factors": {"DZ": 0}}}, r"'uom.factors.DZ' must be a number > 0"),
        ({"uom": {"column": "U"}}, r"'uom.factors' must be a non-empty table"),
        ({"uom": {"factor": 2}}, r"unknown key\(s\) \['factor'\] in 'uom'"),
        ({"codes": {"col": "x"}}, r"unknown key\(s\) \['col'\] in 'codes'"),
        ({"freshness_days": -1}, r"'freshness_days' must be an integer >= 0. Got -1"),
        ({"authoritative_for": [1]}, r"'authoritative_for' must be a list of channel names"),
        ({"constants": {"shop": "x"}}, r"'constants.shop' maps to 'shop'"),
    ],
)
def test_mapping_errors_are_precise(changes: dict[str, Any], message: str) -> None:
    spec = _spec(**changes)
    if "source" in changes and changes["source"] is None:
        spec.pop("source", None)
    with pytest.raises(ConfigurationError, match=message) as info:
        parse_mapping(spec, origin="mappings/pos.yaml")
    assert str(info.value).startswith("mappings/pos.yaml: ")


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="must be a YAML mapping"):
        parse_mapping(["source", "erp"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: [erp\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_mapping(bad)
    with pytest.raises(ConfigurationError, match="mapping file not found"):
        load_mapping(tmp_path / "missing.yaml")


def test_channel_shorthand_and_inline_code_table() -> None:
    mapping = parse_mapping(
        _spec(channel="retail", codes={"column": "EAN", "table": {"400": "SKU-1"}})
    )
    assert mapping.constants["channel"] == "retail"
    assert mapping.codes is not None and dict(mapping.codes.table or {}) == {"400": "SKU-1"}
    assert mapping.codes.source_system == "pos"


def test_authority_is_unique_per_channel(tmp_path: Path) -> None:
    erp = parse_mapping(_spec(source="erp", authoritative_for=["wholesale"]), origin="erp.yaml")
    pos = parse_mapping(_spec(authoritative_for=["retail"]), origin="pos.yaml")
    assert dict(channel_authority([erp, pos])) == {"wholesale": "erp", "retail": "pos"}
    rival = parse_mapping(_spec(source="crm", authoritative_for="retail"), origin="crm.yaml")
    with pytest.raises(ConfigurationError, match=r"crm.yaml.*'retail'.*pos.yaml"):
        channel_authority([erp, pos, rival])


def test_load_mappings_expands_a_folder_and_rejects_a_repeated_source(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("source: erp\nbucket: month\n")
    (tmp_path / "b.yml").write_text("source: pos\n")
    found = load_mappings([tmp_path])
    assert [m.source for m in found] == ["erp", "pos"]
    assert all(isinstance(m, SourceMapping) for m in found)
    (tmp_path / "c.yaml").write_text("source: pos\n")
    with pytest.raises(ConfigurationError, match=r"declare source \['pos'\]"):
        load_mappings([tmp_path])
