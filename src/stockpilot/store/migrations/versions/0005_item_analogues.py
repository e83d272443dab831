"""items.analogue_item_id and items.analogue_factor: like-item forecasting of new items

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analogue_item_id", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("analogue_factor", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("analogue_factor")
        batch_op.drop_column("analogue_item_id")
