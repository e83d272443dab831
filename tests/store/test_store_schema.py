"""The store matches the canonical schema, and migrations create exactly the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, BigInteger, Boolean, Date, Engine, Float, String, inspect

from stockpilot.errors import InvalidParameterError
from stockpilot.schema import ENTITIES, ColumnType
from stockpilot.store.db import create_store_engine, dialect_of
from stockpilot.store.migrations import current_revision, head_revision
from stockpilot.store.models import CANONICAL_TABLES, Base, QuarantineRecord, canonical_table

EXPECTED_SQL_TYPES = {
    ColumnType.STRING: String,
    ColumnType.FLOAT: Float,
    ColumnType.INT: BigInteger,
    ColumnType.DATE: Date,
    ColumnType.BOOL: Boolean,
}


def test_every_canonical_entity_has_a_table_with_its_typed_columns() -> None:
    assert set(CANONICAL_TABLES) == set(ENTITIES)
    for name, spec in ENTITIES.items():
        table = canonical_table(name)
        stored = [c.name for c in table.columns if c.name not in ("id", "batch_id")]
        assert stored == list(spec.column_names), name
        for column in spec.columns:
            sql_column = table.c[column.name]
            assert isinstance(sql_column.type, EXPECTED_SQL_TYPES[column.kind]), (name, column)
            assert sql_column.nullable is (not column.required), (name, column.name)
        assert not table.c.batch_id.nullable


def test_quarantine_keeps_reason_provenance_and_raw_values() -> None:
    columns = QuarantineRecord.__table__.c
    for name in ("batch_id", "entity", "reason", "detail", "source_file", "row_number"):
        assert name in columns
    assert isinstance(columns["raw"].type, JSON)
    for name in ("status", "released_at", "released_by", "correction"):
        assert name in columns


def test_unknown_entity_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterError, match="'items'"):
        canonical_table("itemz")


def test_unsupported_url_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidParameterError, match="STOCKPILOT_DATABASE_URL"):
        create_store_engine("mysql://root@localhost/db")


def test_upgrade_from_empty_creates_exactly_the_models(engine: Engine) -> None:
    """No drift: after `alembic upgrade head` autogenerate finds nothing to change."""
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)


def test_sqlite_runs_with_wal_and_foreign_keys(engine: Engine) -> None:
    if dialect_of(engine) != "sqlite":
        pytest.skip("SQLite pragmas only")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    """The first revision's downgrade removes every table; upgrading restores them."""
    from alembic import command

    from stockpilot.store.migrations import alembic_config, upgrade

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set(Base.metadata.tables)


def test_statuses_and_progress_are_checked_by_the_database(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    from stockpilot.store.db import session_factory
    from stockpilot.store.models import PlanningRun, RunStep, utcnow

    sessions = session_factory(engine)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(PlanningRun(status="done", created_at=utcnow(), settings={}))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        run = PlanningRun(status="queued", created_at=utcnow(), settings={})
        run.steps = [RunStep(ordinal=1, name="x", status="pending", progress=1.5)]
        session.add(run)
