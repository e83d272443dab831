"""bill_of_materials: the canonical bills of material (assembly networks from the store)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bill_of_materials",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_item_id", sa.String(), nullable=False),
        sa.Column("component_item_id", sa.String(), nullable=False),
        sa.Column("quantity_per", sa.Float(precision=53), nullable=False),
        sa.Column("location_id", sa.String(), nullable=True),
        sa.Column("assembly_lead_time_days", sa.Float(precision=53), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_of_materials")),
        comment=(
            "Bills of material: the components consumed to assemble one unit of a parent item."
        ),
    )
    with op.batch_alter_table("bill_of_materials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_of_materials_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bill_of_materials_parent_item_id_component_item_id"),
            ["parent_item_id", "component_item_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("bill_of_materials")
