"""Source extracts of the demo company, as three systems would export them.

- **ERP** (``erp_sales.csv``): monthly shipments by material number, wholesale and
  internal channels, plus a copy of store deliveries (retail) that the POS supersedes;
  fasteners are booked in dozens.
- **POS** (``pos_sales.csv``): daily store sales by EAN, returns flagged.
- **CRM** (``crm_orders.csv``): weekly online orders under the codes of an acquired
  company, dates written day.month.year.
- **Legacy WMS** (``legacy_wms.csv``): a feed that stopped months ago (stale).

Each extract has a YAML mapping in ``mappings/``. A handful of dirty records of every
kind the validation gate must catch are planted and listed in :data:`PLANTED_DEFECTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from stockpilot.io.demo.company import PLANT, DemoCompany, generate_company

CANONICAL_FILES = (
    "business_units",
    "items",
    "locations",
    "suppliers",
    "supplier_items",
    "purchase_orders",
    "receipts",
    "on_hand",
    "cycle_counts",
    "fiscal_calendar",
    "events",
)

# (file, reason code the gate should give) for every planted dirty record.
PLANTED_DEFECTS: tuple[tuple[str, str], ...] = (
    ("items.csv", "invalid_value"),  # unit cost 0
    ("items.csv", "duplicate"),
    ("items.csv", "invalid_type"),  # unit cost "n/a"
    ("on_hand.csv", "invalid_value"),  # negative on hand
    ("on_hand.csv", "unknown_key"),  # unknown location
    ("receipts.csv", "invalid_value"),  # zero quantity received
    ("extracts/erp_sales.csv", "unknown_key"),  # material without crosswalk
    ("extracts/erp_sales.csv", "future_date"),
    ("extracts/erp_sales.csv", "invalid_value"),  # negative quantity, not a return
    ("extracts/erp_sales.csv", "invalid_type"),  # quantity "12,5x"
    ("extracts/pos_sales.csv", "duplicate"),
    ("extracts/pos_sales.csv", "unknown_key"),  # store ST-99
    ("extracts/pos_sales.csv", "outlier"),
    ("extracts/crm_orders.csv", "missing_value"),
    ("extracts/legacy_wms.csv", "stale_source"),
)


@dataclass(frozen=True)
class DemoFolder:
    """What :func:`write_demo` wrote."""

    path: Path
    company: DemoCompany
    files: tuple[Path, ...]
    mappings: tuple[Path, ...]


def erp_code(item_ids: pl.Expr) -> pl.Expr:
    return pl.lit("1") + item_ids.str.slice(4).str.zfill(8)


def pos_code(item_ids: pl.Expr) -> pl.Expr:
    return pl.lit("40") + item_ids.str.slice(4).str.zfill(11)


def crm_code(item_ids: pl.Expr) -> pl.Expr:
    return pl.lit("ACQ-") + item_ids.str.slice(4).str.zfill(6).str.reverse()


def code_mappings(items: pl.DataFrame) -> pl.DataFrame:
    """Crosswalk rows for the three systems (ERP, POS, acquired company's CRM).

    Units are converted by the ERP mapping's UOM column, so every factor is 1.
    """
    systems = (("erp", erp_code), ("pos", pos_code), ("crm", crm_code))
    return pl.concat(
        items.select(
            pl.lit(system).alias("source_system"),
            code(pl.col("item_id")).alias("source_code"),
            "item_id",
            pl.lit(1.0).alias("factor"),
        )
        for system, code in systems
    )


def _erp(company: DemoCompany) -> pl.DataFrame:
    weekly = company.weekly.filter(pl.col("channel") != "online").join(
        company.items.select("item_id", "category"), on="item_id"
    )
    # The ERP books fasteners in dozens when a line is whole dozens, else in each.
    fasteners = (pl.col("category") == "fasteners") & (pl.col("quantity") % 12 == 0)
    return (
        weekly.with_columns(
            (pl.col("week") + pl.duration(days=3)).dt.truncate("1mo").alias("month")
        )
        .group_by("item_id", "category", "location_id", "channel", "month")
        .agg(pl.col("quantity").sum())
        .sort("item_id", "location_id", "channel", "month")
        .select(
            erp_code(pl.col("item_id")).alias("MATNR"),
            pl.col("location_id").alias("WERKS"),
            pl.col("month").dt.strftime("%Y-%m").alias("PERIOD"),
            pl.when(fasteners)
            .then(pl.col("quantity") / 12.0)
            .otherwise(pl.col("quantity"))
            .round(4)
            .alias("QTY"),
            pl.when(fasteners).then(pl.lit("DZ")).otherwise(pl.lit("EA")).alias("UOM"),
            pl.col("channel").str.to_uppercase().alias("DISTR_CHAN"),
        )
    )


def _pos(company: DemoCompany, rng: np.random.Generator) -> pl.DataFrame:
    retail = company.weekly.filter((pl.col("channel") == "retail") & (pl.col("quantity") > 0))
    qty = retail["quantity"].to_numpy().astype(np.int64)
    split = rng.multinomial(qty, np.array([0.12, 0.12, 0.13, 0.14, 0.17, 0.20, 0.12]))
    n = retail.height
    row = np.repeat(np.arange(n), 7)
    day = np.tile(np.arange(7), n)
    units = split.reshape(-1)
    keep = units > 0
    days = retail["week"].to_numpy()[row[keep]] + day[keep].astype("timedelta64[D]")
    sales = retail.select("item_id", "location_id")[row[keep]].with_columns(
        pl.Series("SALE_DATE", days).cast(pl.Date), pl.Series("UNITS", units[keep].astype(float))
    )
    # A few customer returns (negative, flagged).
    returns = sales.sample(
        n=max(1, sales.height // 200), seed=int(rng.integers(0, 2**31))
    ).with_columns((-pl.col("UNITS").clip(upper_bound=2)).alias("UNITS"))
    both = pl.concat(
        [
            sales.with_columns(pl.lit("S").alias("TYPE")),
            returns.with_columns(pl.lit("R").alias("TYPE")),
        ]
    ).sort("location_id", "SALE_DATE", "item_id")
    return both.select(
        pos_code(pl.col("item_id")).alias("EAN"),
        pl.col("location_id").alias("STORE"),
        pl.col("SALE_DATE").dt.strftime("%Y-%m-%d"),
        "UNITS",
        "TYPE",
    )


def _crm(company: DemoCompany) -> pl.DataFrame:
    online = company.weekly.filter((pl.col("channel") == "online") & (pl.col("quantity") > 0))
    return online.sort("week", "item_id").select(
        crm_code(pl.col("item_id")).alias("ACQ_SKU"),
        pl.col("location_id").alias("SHIP_FROM"),
        pl.col("week").dt.strftime("%d.%m.%Y").alias("WEEK_START"),
        pl.col("quantity").alias("ORDERED_QTY"),
    )


def _legacy(company: DemoCompany) -> pl.DataFrame:
    old = company.as_of - timedelta(days=150)
    items = company.items["item_id"].head(5)
    return pl.DataFrame(
        {
            "item_id": items,
            "location_id": "WH-SHARED",
            "date": [(old - timedelta(days=7 * k)).isoformat() for k in range(items.len())],
            "quantity": [3.0, 1.0, 4.0, 1.0, 5.0][: items.len()],
        }
    )


def _outlier_slot(pos: pl.DataFrame, as_of: date) -> tuple[str, str, str]:
    """A busy store-item and a recent day on which it sold nothing (for the planted spike).

    The spike must not share its day with a real sale, or the gate would (rightly) call
    it a duplicate of that record rather than an outlier.
    """
    sales = pos.filter(pl.col("TYPE") == "S")
    busy = sales.group_by("EAN", "STORE").len().sort("len", "EAN", "STORE", descending=True)
    recent = [(as_of - timedelta(days=k)).isoformat() for k in range(2, 120)]
    for ean, store, _ in busy.head(200).iter_rows():
        sold = set(sales.filter((pl.col("EAN") == ean) & (pl.col("STORE") == store))["SALE_DATE"])
        free = [d for d in recent if d not in sold]
        if free:
            return ean, store, free[0]
    ean, store, _ = busy.row(0)
    return ean, store, (as_of - timedelta(days=400)).isoformat()


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.all().cast(pl.String))


def _append(frame: pl.DataFrame, rows: list[dict[str, str | None]]) -> pl.DataFrame:
    text = _as_text(frame)
    extra = pl.DataFrame(rows, schema={c: pl.String for c in text.columns})
    return pl.concat([text, extra])


def _mappings(as_of: date) -> dict[str, dict[str, object]]:
    return {
        "erp": {
            "source": "erp",
            "file": "../extracts/erp_sales.csv",
            "entity": "demand",
            "bucket": "month",
            "date_format": "%Y-%m",
            "columns": {
                "MATNR": "source_code",
                "WERKS": "location_id",
                "PERIOD": "date",
                "QTY": "quantity",
                "DISTR_CHAN": "channel",
            },
            "codes": {"column": "source_code", "source_system": "erp"},
            "uom": {"column": "UOM", "factors": {"EA": 1, "DZ": 12}},
            "value_map": {
                "channel": {"WHOLESALE": "wholesale", "RETAIL": "retail", "INTERNAL": "internal"}
            },
            "authoritative_for": ["wholesale", "internal"],
            "freshness_days": 45,
        },
        "pos": {
            "source": "pos",
            "file": "../extracts/pos_sales.csv",
            "entity": "demand",
            "bucket": "day",
            "date_format": "%Y-%m-%d",
            "columns": {
                "EAN": "source_code",
                "STORE": "location_id",
                "SALE_DATE": "date",
                "UNITS": "quantity",
                "TYPE": "is_return",
            },
            "codes": {"column": "source_code", "source_system": "pos"},
            "value_map": {"is_return": {"S": False, "R": True}},
            "constants": {"channel": "retail"},
            "authoritative_for": ["retail"],
            "freshness_days": 3,
        },
        "crm": {
            "source": "crm",
            "file": "../extracts/crm_orders.csv",
            "entity": "demand",
            "bucket": "week",
            "date_format": "%d.%m.%Y",
            "columns": {
                "ACQ_SKU": "source_code",
                "SHIP_FROM": "location_id",
                "WEEK_START": "date",
                "ORDERED_QTY": "quantity",
            },
            "codes": {"column": "source_code", "source_system": "crm"},
            "constants": {"channel": "online"},
            "authoritative_for": ["online"],
            "freshness_days": 10,
        },
        "legacy_wms": {
            "source": "legacy_wms",
            "file": "../extracts/legacy_wms.csv",
            "entity": "demand",
            "bucket": "day",
            "constants": {"channel": "transfer"},
            "authoritative_for": ["transfer"],
            "freshness_days": 30,
        },
    }


def demo_bill_of_materials(items: pl.DataFrame) -> pl.DataFrame:
    """A small product structure: the first two made items are assembled at the plant,
    each from two bought items (one and two units per unit), one row with an assembly
    time. Enough for the planning run's network step to build product families."""
    made = items.filter(pl.col("replenishment_type") == "make")["item_id"].head(2).to_list()
    bought = items.filter(pl.col("replenishment_type") == "buy")["item_id"].head(4).to_list()
    rows = [
        (parent, bought[2 * k + j], float(j + 1), PLANT, "7" if j == 0 else None)
        for k, parent in enumerate(made)
        for j in range(2)
        if 2 * k + j < len(bought)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "parent_item_id": pl.String,
            "component_item_id": pl.String,
            "quantity_per": pl.Float64,
            "location_id": pl.String,
            "assembly_lead_time_days": pl.String,
        },
        orient="row",
    )


def write_demo(
    folder: Path,
    *,
    items: int = 850,
    weeks: int = 104,
    seed: int = 7,
    as_of: date | None = None,
) -> DemoFolder:
    """Generate the demo company and write it as an import folder.

    The folder holds one canonical CSV per entity, the source extracts in ``extracts/``,
    their mappings in ``mappings/`` and ``stockpilot.yaml`` (the data's as-of date and
    planning bucket), with the dirty records listed in :data:`PLANTED_DEFECTS`.
    """
    company = generate_company(items=items, weeks=weeks, seed=seed, as_of=as_of)
    rng = np.random.default_rng(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "extracts").mkdir(exist_ok=True)
    (folder / "mappings").mkdir(exist_ok=True)
    written: list[Path] = []

    tables = {name: getattr(company, name) for name in CANONICAL_FILES}
    tables["items"] = tables["items"].drop("_pattern")
    tables["suppliers"] = tables["suppliers"].select(pl.exclude("^_.*$"))
    tables["code_mappings"] = code_mappings(company.items)
    tables["bill_of_materials"] = demo_bill_of_materials(company.items)
    first_item = tables["items"].row(0, named=True)
    tables["items"] = _append(
        tables["items"],
        [
            {"item_id": "SKU-BADCOST", "unit_cost": "0", "category": "tools", "uom": "EA"},
            {**{k: None if v is None else str(v) for k, v in first_item.items()}},
            {"item_id": "SKU-NACOST", "unit_cost": "n/a", "category": "tools", "uom": "EA"},
        ],
    )
    first_stock = tables["on_hand"].row(0, named=True)
    tables["on_hand"] = _append(
        tables["on_hand"],
        [
            {
                "item_id": "SKU-000002",
                "location_id": "DC-NORTH",
                "date": first_stock["date"].isoformat(),
                "quantity": "-4",
            },
            {
                "item_id": "SKU-000003",
                "location_id": "DC-EAST",
                "date": first_stock["date"].isoformat(),
                "quantity": "10",
            },
        ],
    )
    first_receipt = tables["receipts"].row(0, named=True)
    tables["receipts"] = _append(
        tables["receipts"],
        [
            {
                "po_id": first_receipt["po_id"],
                "receipt_date": (first_receipt["receipt_date"] + timedelta(days=1)).isoformat(),
                "quantity": "0",
            }
        ],
    )
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.write_csv(path)
        written.append(path)

    next_month = (company.as_of.replace(day=1) + timedelta(days=40)).strftime("%Y-%m")
    erp = _append(
        _erp(company),
        [
            {
                "MATNR": "199999999",
                "WERKS": "DC-NORTH",
                "PERIOD": "2026-06",
                "QTY": "5",
                "UOM": "EA",
                "DISTR_CHAN": "WHOLESALE",
            },
            {
                "MATNR": "100000005",
                "WERKS": "DC-NORTH",
                "PERIOD": next_month,
                "QTY": "7",
                "UOM": "EA",
                "DISTR_CHAN": "WHOLESALE",
            },
            {
                "MATNR": "100000006",
                "WERKS": "DC-SOUTH",
                "PERIOD": "2026-05",
                "QTY": "-3",
                "UOM": "EA",
                "DISTR_CHAN": "WHOLESALE",
            },
            {
                "MATNR": "100000007",
                "WERKS": "DC-SOUTH",
                "PERIOD": "2026-05",
                "QTY": "12,5x",
                "UOM": "EA",
                "DISTR_CHAN": "WHOLESALE",
            },
        ],
    )
    pos = _pos(company, rng)
    spike_ean, spike_store, spike_day = _outlier_slot(pos, company.as_of)
    dup = pos.row(0, named=True)
    pos = _append(
        pos,
        [
            {k: None if v is None else str(v) for k, v in dup.items()},
            {
                "EAN": dup["EAN"],
                "STORE": "ST-99",
                "SALE_DATE": dup["SALE_DATE"],
                "UNITS": "2",
                "TYPE": "S",
            },
            {
                "EAN": spike_ean,
                "STORE": spike_store,
                "SALE_DATE": spike_day,
                "UNITS": "10000",
                "TYPE": "S",
            },
        ],
    )
    crm = _crm(company)
    crm_first = crm.row(0, named=True)
    crm = _append(
        crm,
        [
            {
                "ACQ_SKU": crm_first["ACQ_SKU"],
                "SHIP_FROM": "WH-SHARED",
                "WEEK_START": "02.02.2026",
                "ORDERED_QTY": None,
            }
        ],
    )
    for name, frame in (
        ("erp_sales", erp),
        ("pos_sales", pos),
        ("crm_orders", crm),
        ("legacy_wms", _as_text(_legacy(company))),
    ):
        path = folder / "extracts" / f"{name}.csv"
        frame.write_csv(path)
        written.append(path)

    mapping_paths = []
    for name, spec in _mappings(company.as_of).items():
        path = folder / "mappings" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        mapping_paths.append(path)
    manifest = {
        "as_of": company.as_of.isoformat(),
        "planning_bucket": "week",
        "seed": seed,
        "items": items,
    }
    (folder / "stockpilot.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return DemoFolder(folder, company, tuple(written), tuple(mapping_paths))
