"""time-series batch index as BRIN on PostgreSQL

Batch ids grow with insertion order, so a BRIN index finds a batch at a fraction of a
b-tree's maintenance cost during a bulk COPY (measured: b-tree 5.8 s, BRIN 4.9 s, none
4.4 s for 3M rows). SQLite keeps its b-tree.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 22:58:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME_SERIES = ("demand", "on_hand")


def _recreate(using: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TIME_SERIES:
        op.drop_index(f"ix_{table}_batch_id", table_name=table)
        op.create_index(f"ix_{table}_batch_id", table, ["batch_id"], postgresql_using=using)


def upgrade() -> None:
    _recreate("brin")


def downgrade() -> None:
    _recreate("btree")
