"""create the stockpilot store

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 22:01:39.220369
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("approver", sa.String(length=128), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_log_prev_hash")),
    )
    op.create_table(
        "business_units",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_unit_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_units")),
        comment="Business units (legal or management entities) that own stock and safety-stock budgets.",
    )
    with op.batch_alter_table("business_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_business_units_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_business_units_business_unit_id"), ["business_unit_id"], unique=False
        )

    op.create_table(
        "change_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("old", sa.JSON(), nullable=False),
        sa.Column("new", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("approver", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'applied', 'rejected')", name=op.f("ck_change_requests_status")
        ),
        sa.CheckConstraint(
            "approver IS NULL OR approver <> author",
            name=op.f("ck_change_requests_approver_not_author"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    op.create_table(
        "code_mappings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_system", sa.String(), nullable=False),
        sa.Column("source_code", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("factor", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_mappings")),
        comment="Crosswalk from source-system codes (ERP, POS, acquired companies) to canonical items.",
    )
    with op.batch_alter_table("code_mappings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_mappings_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_code_mappings_source_system_source_code"),
            ["source_system", "source_code"],
            unique=False,
        )

    op.create_table(
        "cycle_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("system_quantity", sa.Float(precision=53), nullable=False),
        sa.Column("counted_quantity", sa.Float(precision=53), nullable=False),
        sa.Column("reason_code", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_counts")),
        comment="Cycle counts: system vs counted quantity.",
    )
    with op.batch_alter_table("cycle_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cycle_counts_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cycle_counts_item_id_location_id_date"),
            ["item_id", "location_id", "date"],
            unique=False,
        )

    op.create_table(
        "demand",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(precision=53), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("is_return", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand")),
        comment="Demand history (sales orders, shipments or consumption) per item, location and date.",
    )
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=True),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("location_id", sa.String(), nullable=True),
        sa.Column("uplift_pct", sa.Float(precision=53), nullable=True),
        sa.Column("quantity", sa.Float(precision=53), nullable=True),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        comment="Known events that change demand: promotions, shutdowns, launches.",
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_event_id"), ["event_id"], unique=False)

    op.create_table(
        "fiscal_calendar",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("close_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_calendar")),
        comment="Fiscal periods and their close dates.",
    )
    with op.batch_alter_table("fiscal_calendar", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fiscal_calendar_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fiscal_calendar_period"), ["period"], unique=False)

    op.create_table(
        "import_batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_files", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_in", sa.BigInteger(), nullable=False),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "status IN ('loaded', 'partial', 'rejected')", name=op.f("ck_import_batches_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
        sa.UniqueConstraint("content_sha256", name=op.f("uq_import_batches_content_sha256")),
    )
    op.create_table(
        "items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("unit_cost", sa.Float(precision=53), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("subcategory", sa.String(), nullable=True),
        sa.Column("brand", sa.String(), nullable=True),
        sa.Column("uom", sa.String(), nullable=True),
        sa.Column("price", sa.Float(precision=53), nullable=True),
        sa.Column("shelf_life_days", sa.BigInteger(), nullable=True),
        sa.Column("pack_size", sa.Float(precision=53), nullable=True),
        sa.Column("lifecycle_flag", sa.String(), nullable=True),
        sa.Column("launch_date", sa.Date(), nullable=True),
        sa.Column("obsolete", sa.Boolean(), nullable=True),
        sa.Column("replenishment_type", sa.String(), nullable=True),
        sa.Column("demand_source", sa.String(), nullable=True),
        sa.Column("business_unit_id", sa.String(), nullable=True),
        sa.Column("holding_cost_rate", sa.Float(precision=53), nullable=True),
        sa.Column("order_cost", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        comment="Stock-keeping items (products, parts, materials) with their master data.",
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_item_id"), ["item_id"], unique=False)

    op.create_table(
        "locations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("business_unit_id", sa.String(), nullable=True),
        sa.Column("business_units", sa.String(), nullable=True),
        sa.Column("parent_location_id", sa.String(), nullable=True),
        sa.Column("review_capability", sa.String(), nullable=True),
        sa.Column("data_latency_hours", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        comment="Places that hold or move stock: plants, distribution centres, warehouses, stores.",
    )
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_locations_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_locations_location_id"), ["location_id"], unique=False)

    op.create_table(
        "on_hand",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(precision=53), nullable=False),
        sa.Column("cost_basis", sa.String(), nullable=True),
        sa.Column("unit_value", sa.Float(precision=53), nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_on_hand")),
        comment="Stock on hand snapshots.",
    )
    with op.batch_alter_table("on_hand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_on_hand_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "purchase_orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("po_id", sa.String(), nullable=False),
        sa.Column("supplier_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.Float(precision=53), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        comment="Purchase order lines, open and closed.",
    )
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_orders_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_purchase_orders_po_id"), ["po_id"], unique=False)

    op.create_table(
        "receipts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("po_id", sa.String(), nullable=False),
        sa.Column("receipt_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(precision=53), nullable=False),
        sa.Column("asn_date", sa.Date(), nullable=True),
        sa.Column("quantity_rejected", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        comment="Goods receipts against purchase orders (lead-time and quality history).",
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_receipts_po_id_receipt_date"), ["po_id", "receipt_date"], unique=False
        )

    op.create_table(
        "snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
        sa.UniqueConstraint("content_sha256", name=op.f("uq_snapshots_content_sha256")),
    )
    op.create_table(
        "supplier_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("supplier_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("lead_time_days", sa.Float(precision=53), nullable=True),
        sa.Column("moq", sa.Float(precision=53), nullable=True),
        sa.Column("pack_size", sa.Float(precision=53), nullable=True),
        sa.Column("price", sa.Float(precision=53), nullable=True),
        sa.Column("price_breaks", sa.String(), nullable=True),
        sa.Column("primary", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_items")),
        comment="What each supplier sells: lead time, MOQ, pack size and price.",
    )
    with op.batch_alter_table("supplier_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_items_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supplier_items_supplier_id_item_id"),
            ["supplier_id", "item_id"],
            unique=False,
        )

    op.create_table(
        "suppliers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("supplier_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("order_weekdays", sa.String(), nullable=True),
        sa.Column("vmi", sa.Boolean(), nullable=True),
        sa.Column("capacity_per_week", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        comment="Suppliers with their calendars, VMI terms and capacity.",
    )
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppliers_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_suppliers_supplier_id"), ["supplier_id"], unique=False)

    op.create_table(
        "planning_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_planning_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_planning_runs_snapshot_id_snapshots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_runs")),
    )
    with op.batch_alter_table("planning_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planning_runs_status"), ["status"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("row_number", sa.BigInteger(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("values", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=128), nullable=True),
        sa.Column("correction", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'released', 'discarded')", name=op.f("ck_quarantine_status")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_quarantine_batch_id_import_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_quarantine_status_entity"), ["status", "entity"], unique=False
        )

    op.create_table(
        "snapshot_batches",
        sa.Column(
            "snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_snapshot_batches_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["snapshots.id"],
            name=op.f("fk_snapshot_batches_snapshot_id_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "batch_id", name=op.f("pk_snapshot_batches")),
    )
    op.create_table(
        "forecasts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("mean", sa.Float(precision=53), nullable=False),
        sa.Column("q50", sa.Float(precision=53), nullable=True),
        sa.Column("q80", sa.Float(precision=53), nullable=True),
        sa.Column("q90", sa.Float(precision=53), nullable=True),
        sa.Column("q95", sa.Float(precision=53), nullable=True),
        sa.Column("q98", sa.Float(precision=53), nullable=True),
        sa.Column("q99", sa.Float(precision=53), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'published')", name=op.f("ck_forecasts_status")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["planning_runs.id"],
            name=op.f("fk_forecasts_run_id_planning_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
    )
    with op.batch_alter_table("forecasts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forecasts_run_id_item_id_location_id"),
            ["run_id", "item_id", "location_id"],
            unique=False,
        )

    op.create_table(
        "policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("review_period", sa.Float(precision=53), nullable=True),
        sa.Column("lead_time", sa.Float(precision=53), nullable=True),
        sa.Column("reorder_point", sa.Float(precision=53), nullable=True),
        sa.Column("order_quantity", sa.Float(precision=53), nullable=True),
        sa.Column("order_up_to", sa.Float(precision=53), nullable=True),
        sa.Column("safety_stock", sa.Float(precision=53), nullable=True),
        sa.Column("service_type", sa.String(length=16), nullable=True),
        sa.Column("service_target", sa.Float(precision=53), nullable=True),
        sa.Column("expected_service", sa.Float(precision=53), nullable=True),
        sa.Column("lot_sizing", sa.String(length=32), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'published')", name=op.f("ck_policies_status")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["planning_runs.id"],
            name=op.f("fk_policies_run_id_planning_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
    )
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_policies_run_id_item_id_location_id"),
            ["run_id", "item_id", "location_id"],
            unique=False,
        )

    op.create_table(
        "published_plans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=128), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["planning_runs.id"], name=op.f("fk_published_plans_run_id_planning_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_plans")),
    )
    with op.batch_alter_table("published_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_published_plans_run_id"), ["run_id"], unique=False)

    op.create_table(
        "run_steps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed', 'skipped')",
            name=op.f("ck_run_steps_status"),
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name=op.f("ck_run_steps_progress")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["planning_runs.id"],
            name=op.f("fk_run_steps_run_id_planning_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_steps")),
        sa.UniqueConstraint("run_id", "ordinal", name=op.f("uq_run_steps_run_id_ordinal")),
    )


def downgrade() -> None:
    op.drop_table("run_steps")
    with op.batch_alter_table("published_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_published_plans_run_id"))

    op.drop_table("published_plans")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policies_run_id_item_id_location_id"))

    op.drop_table("policies")
    with op.batch_alter_table("forecasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecasts_run_id_item_id_location_id"))

    op.drop_table("forecasts")
    op.drop_table("snapshot_batches")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_status_entity"))
        batch_op.drop_index(batch_op.f("ix_quarantine_batch_id"))

    op.drop_table("quarantine")
    with op.batch_alter_table("planning_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planning_runs_status"))

    op.drop_table("planning_runs")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppliers_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_suppliers_batch_id"))

    op.drop_table("suppliers")
    with op.batch_alter_table("supplier_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_items_supplier_id_item_id"))
        batch_op.drop_index(batch_op.f("ix_supplier_items_batch_id"))

    op.drop_table("supplier_items")
    op.drop_table("snapshots")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_po_id_receipt_date"))
        batch_op.drop_index(batch_op.f("ix_receipts_batch_id"))

    op.drop_table("receipts")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_orders_po_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_orders_batch_id"))

    op.drop_table("purchase_orders")
    with op.batch_alter_table("on_hand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_on_hand_batch_id"))

    op.drop_table("on_hand")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_locations_location_id"))
        batch_op.drop_index(batch_op.f("ix_locations_batch_id"))

    op.drop_table("locations")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_item_id"))
        batch_op.drop_index(batch_op.f("ix_items_batch_id"))

    op.drop_table("items")
    op.drop_table("import_batches")
    with op.batch_alter_table("fiscal_calendar", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fiscal_calendar_period"))
        batch_op.drop_index(batch_op.f("ix_fiscal_calendar_batch_id"))

    op.drop_table("fiscal_calendar")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_event_id"))
        batch_op.drop_index(batch_op.f("ix_events_batch_id"))

    op.drop_table("events")
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_batch_id"))

    op.drop_table("demand")
    with op.batch_alter_table("cycle_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycle_counts_item_id_location_id_date"))
        batch_op.drop_index(batch_op.f("ix_cycle_counts_batch_id"))

    op.drop_table("cycle_counts")
    with op.batch_alter_table("code_mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_mappings_source_system_source_code"))
        batch_op.drop_index(batch_op.f("ix_code_mappings_batch_id"))

    op.drop_table("code_mappings")
    op.drop_table("change_requests")
    with op.batch_alter_table("business_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_business_units_business_unit_id"))
        batch_op.drop_index(batch_op.f("ix_business_units_batch_id"))

    op.drop_table("business_units")
    op.drop_table("audit_log")
