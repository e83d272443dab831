"""SQLAlchemy 2 models of the store.

Canonical entity tables are generated from :mod:`stockpilot.schema` (one table per
entity, one typed column per canonical column) so the store cannot drift from the
contract; every canonical row also carries the ``batch_id`` of the import that loaded
it, which is what makes snapshots immutable: a snapshot is a set of batches.

The workflow tables (batches, quarantine, runs, steps, snapshots, plan outputs,
published plans, audit log, change requests) are declared explicitly below.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from stockpilot.schema import ENTITIES, ColumnType, Entity
from stockpilot.vocab import RecordStatus, RunStatus

__all__ = [
    "CANONICAL_TABLES",
    "FORECAST_QUANTILES",
    "AuditEntry",
    "Base",
    "BatchStatus",
    "ChangeRequest",
    "ChangeStatus",
    "ForecastRow",
    "ImportBatch",
    "PlanningRun",
    "PolicyRow",
    "PublishedPlan",
    "QuarantineRecord",
    "QuarantineStatus",
    "RunStep",
    "Snapshot",
    "StepStatus",
    "canonical_table",
    "utcnow",
]


class QuarantineStatus(StrEnum):
    OPEN = "open"
    RELEASED = "released"
    DISCARDED = "discarded"


class BatchStatus(StrEnum):
    """Outcome of an import batch as stored (a batch that failed is never stored)."""

    LOADED = "loaded"  # every record loaded
    PARTIAL = "partial"  # some records quarantined, the rest loaded
    REJECTED = "rejected"  # the gate refused the batch; nothing loaded but the quarantine


class StepStatus(StrEnum):
    """Status of a planning-run step."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"  # approved by someone other than the author and applied
    REJECTED = "rejected"


def utcnow() -> datetime:
    """Timezone-aware current UTC time."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Timestamps must be timezone-aware UTC. Got naive {value!r}.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


# --------------------------------------------------------------------------- imports


class ImportBatch(Base):
    """One import: its content hash makes a re-import of the same inputs a no-op."""

    __tablename__ = "import_batches"
    __table_args__ = (_one_of("status", BatchStatus, "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source_files: Mapped[list[Any]] = mapped_column(JSON)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows_in: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(128))


class QuarantineRecord(Base):
    """A record the validation gate refused, with why, where from and its raw values."""

    __tablename__ = "quarantine"
    __table_args__ = (
        Index(None, "status", "entity"),
        _one_of("status", QuarantineStatus, "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), index=True
    )
    entity: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    source_file: Mapped[str | None] = mapped_column(Text)
    row_number: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Canonical column values as text: what a correction edits before revalidation.
    values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=QuarantineStatus.OPEN.value)
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(128))
    correction: Mapped[dict[str, Any] | None] = mapped_column(JSON)


snapshot_batches = Table(
    "snapshot_batches",
    Base.metadata,
    Column(
        "snapshot_id",
        BigId,
        ForeignKey("snapshots.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("batch_id", BigId, ForeignKey("import_batches.id"), primary_key=True),
)


class Snapshot(Base):
    """An immutable, versioned input set: the batches a planning run reads."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    batches: Mapped[list[ImportBatch]] = relationship(
        secondary=snapshot_batches, order_by=ImportBatch.id
    )

    @property
    def batch_ids(self) -> tuple[int, ...]:
        return tuple(b.id for b in self.batches)


# ---------------------------------------------------------------------- planning runs


class PlanningRun(Base):
    __tablename__ = "planning_runs"
    __table_args__ = (_one_of("status", RunStatus, "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    steps: Mapped[list[RunStep]] = relationship(
        back_populates="run", order_by="RunStep.ordinal", cascade="all, delete-orphan"
    )


class RunStep(Base):
    __tablename__ = "run_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "ordinal"),
        _one_of("status", StepStatus, "status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("planning_runs.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    run: Mapped[PlanningRun] = relationship(back_populates="steps")


# ---------------------------------------------------------------------- plan outputs

# Quantile levels stored as columns q50 .. q99 (DESIGN.md section 3 exchange format).
FORECAST_QUANTILES: Mapping[str, float] = MappingProxyType(
    {"q50": 0.5, "q80": 0.8, "q90": 0.9, "q95": 0.95, "q98": 0.98, "q99": 0.99}
)


class ForecastRow(Base):
    __tablename__ = "forecasts"
    __table_args__ = (
        Index(None, "run_id", "item_id", "location_id"),
        _one_of("status", RecordStatus, "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("planning_runs.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String)
    location_id: Mapped[str] = mapped_column(String)
    period_start: Mapped[date] = mapped_column(Date)
    model: Mapped[str] = mapped_column(String(64))
    mean: Mapped[float] = mapped_column(Float(53))
    q50: Mapped[float | None] = mapped_column(Float(53))
    q80: Mapped[float | None] = mapped_column(Float(53))
    q90: Mapped[float | None] = mapped_column(Float(53))
    q95: Mapped[float | None] = mapped_column(Float(53))
    q98: Mapped[float | None] = mapped_column(Float(53))
    q99: Mapped[float | None] = mapped_column(Float(53))
    status: Mapped[str] = mapped_column(String(16), default="proposed")


class PolicyRow(Base):
    __tablename__ = "policies"
    __table_args__ = (
        Index(None, "run_id", "item_id", "location_id"),
        _one_of("status", RecordStatus, "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("planning_runs.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String)
    location_id: Mapped[str] = mapped_column(String)
    policy: Mapped[str] = mapped_column(String(16))
    review_period: Mapped[float | None] = mapped_column(Float(53))
    lead_time: Mapped[float | None] = mapped_column(Float(53))
    reorder_point: Mapped[float | None] = mapped_column(Float(53))
    order_quantity: Mapped[float | None] = mapped_column(Float(53))
    order_up_to: Mapped[float | None] = mapped_column(Float(53))
    safety_stock: Mapped[float | None] = mapped_column(Float(53))
    service_type: Mapped[str | None] = mapped_column(String(16))
    service_target: Mapped[float | None] = mapped_column(Float(53))
    expected_service: Mapped[float | None] = mapped_column(Float(53))
    lot_sizing: Mapped[str | None] = mapped_column(String(32))
    explanation: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="proposed")


class RunArtifact(Base):
    """A run's further outputs as records: network placement, simulated service, exceptions.

    Plan rows that an ERP consumes (forecasts, policies) have their own typed tables; these
    are for review and reporting and are written once per run and kind.
    """

    __tablename__ = "run_artifacts"
    __table_args__ = (UniqueConstraint("run_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("planning_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[Any]] = mapped_column(JSON)
    data: Mapped[list[Any]] = mapped_column(JSON)


class PublishedPlan(Base):
    """Publication history; the newest row names the run whose outputs are the plan."""

    __tablename__ = "published_plans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("planning_runs.id"), index=True)
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(128))
    superseded_at: Mapped[datetime | None]


# ------------------------------------------------------------------------ governance


class AuditEntry(Base):
    """Append-only audit trail; ``hash`` chains every row to the one before."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(Text)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    approver: Mapped[str | None] = mapped_column(String(128))
    # Unique: two rows can never claim the same predecessor, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ChangeRequest(Base):
    """A person's change to a plan value: old, new, reason, author, approver (not author)."""

    __tablename__ = "change_requests"
    __table_args__ = (
        _one_of("status", ChangeStatus, "status"),
        # Four eyes, also in the database: nobody approves their own change.
        CheckConstraint("approver IS NULL OR approver <> author", name="approver_not_author"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(BigInteger)
    old: Mapped[dict[str, Any]] = mapped_column(JSON)
    new: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    approver: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.PENDING.value)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


# ---------------------------------------------------------------- canonical entities

SQL_TYPES: Mapping[ColumnType, TypeEngine[Any]] = MappingProxyType(
    {
        ColumnType.STRING: String(),
        ColumnType.FLOAT: Float(53),
        ColumnType.INT: BigInteger(),
        ColumnType.DATE: Date(),
        ColumnType.BOOL: Boolean(),
    }
)


def _canonical(entity: Entity) -> Table:
    # Master data gets an index on its natural key for lookups. Time series are read by
    # batch (a snapshot) and written in bulk, where a wide key index would cost more than
    # the COPY itself, so they are indexed by batch only.
    key_index = [c for c in entity.key if entity.column(c).required] or list(entity.key[:1])
    indexes = [] if entity.time_series else [Index(None, *key_index)]
    return Table(
        entity.name,
        Base.metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        # No FOREIGN KEY on purpose: a per-row referential check triples the cost of a
        # PostgreSQL COPY, and records are only ever written by the import service in
        # the same transaction that creates their batch row.
        Column("batch_id", BigId, nullable=False),
        *(Column(c.name, SQL_TYPES[c.kind], nullable=not c.required) for c in entity.columns),
        # Batch ids grow with insertion order, so a BRIN index (a few pages per table)
        # finds a batch on PostgreSQL at a fraction of a b-tree's cost during a COPY.
        Index(
            f"ix_{entity.name}_batch_id",
            "batch_id",
            postgresql_using="brin" if entity.time_series else "btree",
        ),
        *indexes,
        comment=entity.description,
    )


CANONICAL_TABLES: Mapping[str, Table] = MappingProxyType(
    {name: _canonical(ENTITIES[name]) for name in ENTITIES}
)


def canonical_table(name: str) -> Table:
    """The table that stores canonical entity ``name`` (see :mod:`stockpilot.schema`)."""
    from stockpilot.schema import entity

    return CANONICAL_TABLES[entity(name).name]
