"""The canonical data model: the contract between stockpilot and the outside world.

Every entity is a long, tidy table; keys are strings. Each :class:`Entity` lists its
columns with type, unit, meaning and whether it is required, and the key that makes a
row unique (used by the validation gate to find duplicates and by the store as the
natural key). ``docs/data-model.md`` is generated from this module and a test keeps the
two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import polars as pl

from stockpilot.errors import choice_error


class ColumnType(StrEnum):
    STRING = "string"
    FLOAT = "float"
    INT = "int"
    DATE = "date"
    BOOL = "bool"


POLARS_TYPES: Mapping[ColumnType, type[pl.DataType]] = MappingProxyType(
    {
        ColumnType.STRING: pl.String,
        ColumnType.FLOAT: pl.Float64,
        ColumnType.INT: pl.Int64,
        ColumnType.DATE: pl.Date,
        ColumnType.BOOL: pl.Boolean,
    }
)


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnType
    required: bool
    unit: str
    description: str

    @property
    def polars_type(self) -> type[pl.DataType]:
        return POLARS_TYPES[self.kind]


@dataclass(frozen=True)
class Entity:
    """One canonical table."""

    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Foreign keys: column -> referenced entity (whose single-column key it must match).
    references: Mapping[str, str]
    # Time series entities are large and written in bulk.
    time_series: bool = False

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise choice_error(f"entity {self.name!r}", "column", name, self.column_names)

    def polars_schema(self) -> dict[str, type[pl.DataType]]:
        return {c.name: c.polars_type for c in self.columns}


S, F, INT, D, B = (
    ColumnType.STRING,
    ColumnType.FLOAT,
    ColumnType.INT,
    ColumnType.DATE,
    ColumnType.BOOL,
)


def _c(
    name: str, type_: ColumnType, unit: str, description: str, *, required: bool = False
) -> Column:
    return Column(name, type_, required, unit, description)


_ENTITIES: tuple[Entity, ...] = (
    Entity(
        "business_units",
        "Business units (legal or management entities) that own stock and safety-stock budgets.",
        ("business_unit_id",),
        (
            _c("business_unit_id", S, "-", "Business unit code.", required=True),
            _c("name", S, "-", "Display name."),
            _c("currency", S, "ISO 4217", "Reporting currency."),
        ),
        MappingProxyType({}),
    ),
    Entity(
        "items",
        "Stock-keeping items (products, parts, materials) with their master data.",
        ("item_id",),
        (
            _c("item_id", S, "-", "Canonical item code.", required=True),
            _c(
                "unit_cost",
                F,
                "currency/unit",
                "Standard cost per base unit; must be > 0.",
                required=True,
            ),
            _c("description", S, "-", "Item description."),
            _c("category", S, "-", "Hierarchy level 1 (e.g. product family)."),
            _c("subcategory", S, "-", "Hierarchy level 2."),
            _c("brand", S, "-", "Hierarchy level 3 / brand."),
            _c("uom", S, "-", "Base unit of measure (e.g. EA, KG)."),
            _c("price", F, "currency/unit", "List selling price per base unit."),
            _c("shelf_life_days", INT, "days", "Shelf life; stock older than this is scrapped."),
            _c("pack_size", F, "units", "Selling / handling pack multiple."),
            _c(
                "lifecycle_flag",
                S,
                "-",
                "Declared lifecycle: new, active, phase_out, discontinued.",
            ),
            _c("launch_date", D, "date", "First date the item could sell."),
            _c("obsolete", B, "-", "True when the item is flagged obsolete."),
            _c("replenishment_type", S, "-", "make, buy or transfer."),
            _c("demand_source", S, "-", "Authoritative demand source system for this item."),
            _c("business_unit_id", S, "-", "Owning business unit."),
            _c("holding_cost_rate", F, "1/year", "Annual holding cost as a share of unit cost."),
            _c("order_cost", F, "currency/order", "Fixed cost per replenishment order (setup)."),
            _c(
                "analogue_item_id",
                S,
                "-",
                "Established item whose history stands in for this one's before its launch "
                "(like-item forecasting of new items).",
            ),
            _c(
                "analogue_factor",
                F,
                "-",
                "Expected demand relative to the analogue item, >= 0 (blank: estimated from "
                "the periods both sold, else 1).",
            ),
        ),
        MappingProxyType({"business_unit_id": "business_units", "analogue_item_id": "items"}),
    ),
    Entity(
        "locations",
        "Places that hold or move stock: plants, distribution centres, warehouses, stores.",
        ("location_id",),
        (
            _c("location_id", S, "-", "Location code.", required=True),
            _c("name", S, "-", "Display name."),
            _c("type", S, "-", "plant, dc, warehouse or store."),
            _c("business_unit_id", S, "-", "Owning business unit (blank when shared)."),
            _c("business_units", S, "-", "Semicolon-separated business units sharing the site."),
            _c("parent_location_id", S, "-", "Location that replenishes this one."),
            _c(
                "review_capability",
                S,
                "-",
                "ERP review capability: real_time, daily_batch or weekly_batch.",
            ),
            _c(
                "data_latency_hours",
                F,
                "hours",
                "Delay between a transaction and its arrival in the plan data.",
            ),
        ),
        MappingProxyType({"business_unit_id": "business_units", "parent_location_id": "locations"}),
    ),
    Entity(
        "demand",
        "Demand history (sales orders, shipments or consumption) per item, location and date.",
        ("item_id", "location_id", "date", "source", "channel", "is_return"),
        (
            _c("item_id", S, "-", "Item code.", required=True),
            _c("location_id", S, "-", "Location code.", required=True),
            _c(
                "date",
                D,
                "date",
                "Start of the source bucket (day, ISO-week Monday or month start).",
                required=True,
            ),
            _c(
                "quantity",
                F,
                "base units",
                "Demand quantity; negative only when is_return.",
                required=True,
            ),
            _c("source", S, "-", "Source system (erp, pos, crm, ...)."),
            _c("channel", S, "-", "Sales channel (wholesale, retail, online, ...)."),
            _c("is_return", B, "-", "True for customer returns (negative quantity allowed)."),
        ),
        MappingProxyType({"item_id": "items", "location_id": "locations"}),
        time_series=True,
    ),
    Entity(
        "on_hand",
        "Stock on hand snapshots.",
        ("item_id", "location_id", "date"),
        (
            _c("item_id", S, "-", "Item code.", required=True),
            _c("location_id", S, "-", "Location code.", required=True),
            _c("date", D, "date", "Snapshot date.", required=True),
            _c("quantity", F, "base units", "Quantity on hand; must be >= 0.", required=True),
            _c("cost_basis", S, "-", "standard or actual."),
            _c("unit_value", F, "currency/unit", "Value per unit on that cost basis."),
            _c("receipt_date", D, "date", "Receipt date of the oldest lot (for ageing)."),
        ),
        MappingProxyType({"item_id": "items", "location_id": "locations"}),
        time_series=True,
    ),
    Entity(
        "suppliers",
        "Suppliers with their calendars, VMI terms and capacity.",
        ("supplier_id",),
        (
            _c("supplier_id", S, "-", "Supplier code.", required=True),
            _c("name", S, "-", "Display name."),
            _c("country", S, "ISO 3166", "Country of shipment."),
            _c("order_weekdays", S, "-", "Weekdays the supplier accepts orders, e.g. Mon;Thu."),
            _c("vmi", B, "-", "True when the supplier manages the inventory (VMI)."),
            _c("capacity_per_week", F, "base units/week", "Supplier capacity across items."),
        ),
        MappingProxyType({}),
    ),
    Entity(
        "supplier_items",
        "What each supplier sells: lead time, MOQ, pack size and price.",
        ("supplier_id", "item_id"),
        (
            _c("supplier_id", S, "-", "Supplier code.", required=True),
            _c("item_id", S, "-", "Item code.", required=True),
            _c("lead_time_days", F, "days", "Quoted lead time."),
            _c("moq", F, "base units", "Minimum order quantity."),
            _c("pack_size", F, "base units", "Order multiple."),
            _c("price", F, "currency/unit", "Purchase price."),
            _c("price_breaks", S, "-", "Quantity discounts 'qty:price;qty:price'."),
            _c("primary", B, "-", "True for the preferred source."),
        ),
        MappingProxyType({"supplier_id": "suppliers", "item_id": "items"}),
    ),
    Entity(
        "bill_of_materials",
        "Bills of material: the components consumed to assemble one unit of a parent item.",
        ("parent_item_id", "component_item_id", "location_id", "valid_from"),
        (
            _c("parent_item_id", S, "-", "Item that is assembled.", required=True),
            _c("component_item_id", S, "-", "Item consumed by the assembly.", required=True),
            _c(
                "quantity_per",
                F,
                "component units/parent unit",
                "Units of the component per unit of the parent; must be > 0.",
                required=True,
            ),
            _c(
                "location_id",
                S,
                "-",
                "Where the assembly happens (the parent item's stocking location at the "
                "plant); blank: at the top of the parent item's network.",
            ),
            _c(
                "assembly_lead_time_days",
                F,
                "days",
                "Time to assemble the parent once its components are available; "
                "blank: the parent's own lead time there.",
            ),
            _c("valid_from", D, "date", "First day the row applies (blank: always)."),
            _c("valid_to", D, "date", "Last day the row applies (blank: open-ended)."),
        ),
        MappingProxyType(
            {
                "parent_item_id": "items",
                "component_item_id": "items",
                "location_id": "locations",
            }
        ),
    ),
    Entity(
        "purchase_orders",
        "Purchase order lines, open and closed.",
        ("po_id",),
        (
            _c("po_id", S, "-", "Purchase order line id.", required=True),
            _c("supplier_id", S, "-", "Supplier code.", required=True),
            _c("item_id", S, "-", "Item code.", required=True),
            _c("location_id", S, "-", "Receiving location.", required=True),
            _c("quantity", F, "base units", "Ordered quantity; must be > 0.", required=True),
            _c("order_date", D, "date", "Date the order was placed.", required=True),
            _c("due_date", D, "date", "Confirmed due date.", required=True),
            _c("status", S, "-", "open or closed."),
        ),
        MappingProxyType(
            {"supplier_id": "suppliers", "item_id": "items", "location_id": "locations"}
        ),
    ),
    Entity(
        "receipts",
        "Goods receipts against purchase orders (lead-time and quality history).",
        ("po_id", "receipt_date"),
        (
            _c("po_id", S, "-", "Purchase order line id.", required=True),
            _c("receipt_date", D, "date", "Date goods were received.", required=True),
            _c("quantity", F, "base units", "Quantity received; must be > 0.", required=True),
            _c("asn_date", D, "date", "Date of the advance shipping notice."),
            _c("quantity_rejected", F, "base units", "Quantity rejected at inspection."),
        ),
        MappingProxyType({"po_id": "purchase_orders"}),
    ),
    Entity(
        "events",
        "Known events that change demand: promotions, shutdowns, launches.",
        ("event_id",),
        (
            _c("event_id", S, "-", "Event id.", required=True),
            _c("kind", S, "-", "promotion, shutdown, launch or other.", required=True),
            _c("start_date", D, "date", "First day of the event.", required=True),
            _c("end_date", D, "date", "Last day of the event.", required=True),
            _c("item_id", S, "-", "Item in scope (blank = all items of the hierarchy scope)."),
            _c("category", S, "-", "Hierarchy scope (blank = all)."),
            _c("location_id", S, "-", "Location in scope (blank = all)."),
            _c("uplift_pct", F, "%", "Demand uplift in percent (promotion)."),
            _c(
                "quantity",
                F,
                "base units/period",
                "Absolute demand per period instead of an uplift.",
            ),
            _c("author", S, "-", "Who entered the event."),
            _c("reason", S, "-", "Why."),
        ),
        MappingProxyType({"item_id": "items", "location_id": "locations"}),
    ),
    Entity(
        "cycle_counts",
        "Cycle counts: system vs counted quantity.",
        ("item_id", "location_id", "date"),
        (
            _c("item_id", S, "-", "Item code.", required=True),
            _c("location_id", S, "-", "Location code.", required=True),
            _c("date", D, "date", "Count date.", required=True),
            _c("system_quantity", F, "base units", "Quantity the system held.", required=True),
            _c(
                "counted_quantity",
                F,
                "base units",
                "Quantity counted; must be >= 0.",
                required=True,
            ),
            _c("reason_code", S, "-", "Root cause of the difference."),
        ),
        MappingProxyType({"item_id": "items", "location_id": "locations"}),
    ),
    Entity(
        "fiscal_calendar",
        "Fiscal periods and their close dates.",
        ("period",),
        (
            _c("period", S, "-", "Fiscal period label, e.g. FY26-P01.", required=True),
            _c("start_date", D, "date", "First day.", required=True),
            _c("end_date", D, "date", "Last day.", required=True),
            _c("close_date", D, "date", "Day the books close.", required=True),
        ),
        MappingProxyType({}),
    ),
    Entity(
        "code_mappings",
        "Crosswalk from source-system codes (ERP, POS, acquired companies) to canonical items.",
        ("source_system", "source_code"),
        (
            _c("source_system", S, "-", "Source system name.", required=True),
            _c("source_code", S, "-", "Code in that system.", required=True),
            _c("item_id", S, "-", "Canonical item code.", required=True),
            _c("factor", F, "base units/source unit", "Multiply source quantities by this."),
        ),
        MappingProxyType({"item_id": "items"}),
    ),
)

ENTITIES: Mapping[str, Entity] = MappingProxyType({e.name: e for e in _ENTITIES})

# Dependency order for loading (referenced entities first).
LOAD_ORDER: tuple[str, ...] = (
    "business_units",
    "items",
    "locations",
    "suppliers",
    "supplier_items",
    "bill_of_materials",
    "code_mappings",
    "fiscal_calendar",
    "demand",
    "on_hand",
    "purchase_orders",
    "receipts",
    "events",
    "cycle_counts",
)


def entity(name: str) -> Entity:
    """Return the canonical entity called ``name`` with a helpful error otherwise."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise choice_error("schema", "entity", name, ENTITIES) from None
