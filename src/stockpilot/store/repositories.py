"""Data access for the store. Repositories never commit: the calling service owns the
transaction, so a use case is all or nothing.

Time series (and every other frame) go in and out in bulk: ``COPY ... FROM STDIN`` /
``COPY (...) TO STDOUT`` through psycopg on PostgreSQL, batched ``executemany`` inserts
on SQLite; reads land in polars frames. Nothing here loops over rows through the ORM.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Select, Table, delete, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from stockpilot.errors import InvalidDataError
from stockpilot.schema import entity
from stockpilot.store.db import dialect_of
from stockpilot.store.models import (
    FORECAST_QUANTILES,
    ForecastRow,
    PolicyRow,
    QuarantineRecord,
    canonical_table,
)

__all__ = [
    "FORECAST_COLUMNS",
    "POLICY_COLUMNS",
    "QUARANTINE_COLUMNS",
    "bulk_insert",
    "count_rows",
    "delete_plan_rows",
    "plan_table",
    "read_entity",
    "read_frame",
    "read_plan_rows",
    "set_plan_status",
    "write_entity",
    "write_plan_rows",
    "write_quarantine",
]

SQLITE_BATCH_ROWS = 20_000
COPY_CHUNK_ROWS = 200_000

FORECAST_COLUMNS: dict[str, type[pl.DataType]] = {
    "item_id": pl.String,
    "location_id": pl.String,
    "period_start": pl.Date,
    "model": pl.String,
    "mean": pl.Float64,
    **dict.fromkeys(FORECAST_QUANTILES, pl.Float64),
}
POLICY_COLUMNS: dict[str, type[pl.DataType]] = {
    "item_id": pl.String,
    "location_id": pl.String,
    "policy": pl.String,
    "review_period": pl.Float64,
    "lead_time": pl.Float64,
    "reorder_point": pl.Float64,
    "order_quantity": pl.Float64,
    "order_up_to": pl.Float64,
    "safety_stock": pl.Float64,
    "service_type": pl.String,
    "service_target": pl.Float64,
    "expected_service": pl.Float64,
    "lot_sizing": pl.String,
    "explanation": pl.String,
}
QUARANTINE_COLUMNS: dict[str, type[pl.DataType]] = {
    "entity": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "source_file": pl.String,
    "row_number": pl.Int64,
    "raw": pl.String,  # JSON text of the raw values as read
    "values": pl.String,  # JSON text of the canonical values (what corrections edit)
}
_PLAN_TABLES: Mapping[str, tuple[Table, dict[str, type[pl.DataType]]]] = {
    "forecasts": (ForecastRow.__table__, FORECAST_COLUMNS),  # type: ignore[dict-item]
    "policies": (PolicyRow.__table__, POLICY_COLUMNS),  # type: ignore[dict-item]
}


# ------------------------------------------------------------------------- primitives


def _conform(
    frame: pl.DataFrame, columns: Mapping[str, type[pl.DataType]], *, owner: str
) -> pl.DataFrame:
    """Select ``columns`` in order with their types; absent optional columns become null."""
    exprs = []
    for name, dtype in columns.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=True))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    try:
        return frame.select(exprs)
    except pl.exceptions.InvalidOperationError as exc:
        raise InvalidDataError(
            f"{owner}: a column cannot be converted to its stored type ({exc}). "
            "Pass frames that went through the validation gate."
        ) from exc


def bulk_insert(session: Session, table: Table, frame: pl.DataFrame) -> int:
    """Insert every row of ``frame`` into ``table`` in bulk; return the number of rows.

    The frame's column names must be columns of ``table``. On PostgreSQL the rows are
    streamed with ``COPY table (cols) FROM STDIN (FORMAT csv)`` on the session's own
    connection (so they belong to its transaction); on SQLite they are inserted with
    ``executemany`` in batches of :data:`SQLITE_BATCH_ROWS`.
    """
    if frame.height == 0:
        return 0
    unknown = [c for c in frame.columns if c not in table.c]
    if unknown:
        raise InvalidDataError(
            f"Columns {unknown} are not columns of table {table.name!r}; "
            f"valid columns are {list(table.c.keys())}."
        )
    if dialect_of(session) == "postgresql":
        _copy_in(session, table, frame)
    else:
        _executemany(session, table, frame)
    return frame.height


def _copy_in(session: Session, table: Table, frame: pl.DataFrame) -> None:
    dbapi = session.connection().connection.driver_connection
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, frame.columns))
    )
    try:
        # A queued writer sends each chunk from a worker thread while polars renders the
        # next one.
        with (
            dbapi.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy,
        ):
            for chunk in frame.iter_slices(COPY_CHUNK_ROWS):
                copy.write(chunk.write_csv(include_header=False))
    except psycopg.errors.IntegrityError as exc:
        # Same exception family as the SQLite path, so callers catch one kind.
        raise sa_exc.IntegrityError(f"COPY {table.name}", None, exc) from exc
    except psycopg.Error as exc:
        raise sa_exc.DBAPIError(f"COPY {table.name}", None, exc) from exc


def _executemany(session: Session, table: Table, frame: pl.DataFrame) -> None:
    # Straight to the sqlite3 driver with tuples: SQLAlchemy's per-value bind processing
    # would cost more than the insert. Values take the form SQLAlchemy itself stores in
    # SQLite (ISO dates, 0/1 booleans, JSON as text), so the ORM reads them back alike.
    conversions = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            conversions.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            conversions.append(pl.col(name).cast(pl.Int8))
        else:
            conversions.append(pl.col(name))
    ready = frame.select(conversions)
    columns = ", ".join(_quote(c) for c in ready.columns)
    marks = ", ".join("?" for _ in ready.columns)
    statement = f"INSERT INTO {_quote(table.name)} ({columns}) VALUES ({marks})"
    dbapi = session.connection().connection.driver_connection
    try:
        for chunk in ready.iter_slices(SQLITE_BATCH_ROWS):
            dbapi.executemany(statement, chunk.rows())  # type: ignore[union-attr]
    except sqlite3.IntegrityError as exc:
        raise sa_exc.IntegrityError(statement, None, exc) from exc
    except sqlite3.Error as exc:
        raise sa_exc.DBAPIError(statement, None, exc) from exc


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def read_frame(
    session: Session, statement: Select[Any], schema: Mapping[str, type[pl.DataType]]
) -> pl.DataFrame:
    """Run ``statement`` and return its rows as a polars frame typed by ``schema``.

    PostgreSQL streams ``COPY (statement) TO STDOUT (FORMAT csv)``; SQLite fetches all
    rows at once through the sqlite3 driver (no per-value SQLAlchemy processing).
    """
    names = list(schema)
    if dialect_of(session) == "postgresql":
        compiled = statement.compile(
            dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
        )
        dbapi = session.connection().connection.driver_connection
        buffer = io.BytesIO()
        copy_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(sql.SQL(str(compiled)))
        with dbapi.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
            for block in copy:
                buffer.write(block)
        if buffer.tell() == 0:
            return pl.DataFrame(schema=dict(schema))
        buffer.seek(0)
        raw = pl.read_csv(
            buffer,
            has_header=False,
            new_columns=names,
            schema_overrides={n: pl.String for n in names},
        )
        return raw.select(_from_text(n, dtype) for n, dtype in schema.items())
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    stored = {
        name: pl.String if dtype == pl.Date else pl.Int64 if dtype == pl.Boolean else dtype
        for name, dtype in schema.items()
    }
    raw = pl.DataFrame(rows, schema=stored, orient="row", infer_schema_length=None)
    return raw.select(
        pl.col(name).str.to_date("%Y-%m-%d")
        if dtype == pl.Date
        else pl.col(name).cast(pl.Boolean)
        if dtype == pl.Boolean
        else pl.col(name)
        for name, dtype in schema.items()
    )


def _from_text(name: str, dtype: type[pl.DataType]) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.Boolean:
        return column.replace_strict({"t": True, "f": False}, return_dtype=pl.Boolean)
    if dtype == pl.String:
        return column
    if dtype == pl.Date:
        return column.str.to_date("%Y-%m-%d")
    return column.cast(dtype, strict=True)


def count_rows(session: Session, table: Table, **equal: Any) -> int:
    """``SELECT count(*) FROM table WHERE col = value ...`` (small helper for services)."""
    statement = select(func.count()).select_from(table)
    for name, value in equal.items():
        statement = statement.where(table.c[name] == value)
    return int(session.execute(statement).scalar_one())


# -------------------------------------------------------------------- canonical data


def write_entity(session: Session, entity_name: str, frame: pl.DataFrame, batch_id: int) -> int:
    """Bulk-write accepted canonical records of ``entity_name`` for import ``batch_id``.

    ``frame`` holds canonical columns (from the validation gate); optional columns it
    lacks are stored as NULL; columns outside the canonical model are not stored.
    """
    spec = entity(entity_name)
    conformed = _conform(frame, spec.polars_schema(), owner=f"write_entity({entity_name!r})")
    conformed = conformed.with_columns(pl.lit(batch_id, dtype=pl.Int64).alias("batch_id"))
    return bulk_insert(session, canonical_table(entity_name), conformed)


def read_entity(
    session: Session, entity_name: str, batch_ids: Sequence[int] | None = None
) -> pl.DataFrame:
    """Read canonical records of ``entity_name`` as a typed polars frame.

    Parameters
    ----------
    batch_ids : sequence of int, optional
        Only records loaded by these import batches (a snapshot's batches). When one
        natural key (:attr:`stockpilot.schema.Entity.key`) was loaded by several
        batches, the record of the newest batch wins. ``None`` reads every batch.
    """
    spec = entity(entity_name)
    table = canonical_table(entity_name)
    schema: dict[str, type[pl.DataType]] = {"batch_id": pl.Int64, **spec.polars_schema()}
    statement = select(*(table.c[name] for name in schema)).order_by(table.c.batch_id, table.c.id)
    if batch_ids is not None:
        if not batch_ids:
            return pl.DataFrame(schema=spec.polars_schema())
        statement = statement.where(table.c.batch_id.in_(list(batch_ids)))
    frame = read_frame(session, statement, schema)
    if frame.get_column("batch_id").n_unique() > 1:
        # Within one batch the gate already removed duplicate keys.
        frame = frame.unique(subset=list(spec.key), keep="last", maintain_order=True)
    return frame.drop("batch_id")


def write_quarantine(session: Session, batch_id: int, frame: pl.DataFrame) -> int:
    """Bulk-write quarantined records (columns of :data:`QUARANTINE_COLUMNS`)."""
    conformed = _conform(frame, QUARANTINE_COLUMNS, owner="write_quarantine").with_columns(
        pl.lit(batch_id, dtype=pl.Int64).alias("batch_id"),
        pl.lit("open").alias("status"),
    )
    return bulk_insert(session, QuarantineRecord.__table__, conformed)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- plan outputs


def plan_table(kind: str) -> Table:
    """The table of plan outputs ``kind`` (``forecasts`` or ``policies``)."""
    return _plan_table(kind)[0]


def _plan_table(kind: str) -> tuple[Table, dict[str, type[pl.DataType]]]:
    try:
        return _PLAN_TABLES[kind]
    except KeyError:
        from stockpilot.errors import choice_error

        raise choice_error("plan outputs", "kind", kind, _PLAN_TABLES) from None


def write_plan_rows(
    session: Session, kind: str, run_id: int, frame: pl.DataFrame, *, status: str = "proposed"
) -> int:
    """Bulk-write plan outputs (``kind`` = ``forecasts`` or ``policies``) of a run."""
    table, columns = _plan_table(kind)
    conformed = _conform(frame, columns, owner=f"write_plan_rows({kind!r})").with_columns(
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"), pl.lit(status).alias("status")
    )
    return bulk_insert(session, table, conformed)


def read_plan_rows(
    session: Session,
    kind: str,
    run_id: int,
    *,
    statuses: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Read a run's forecasts or policies (with ``id`` and ``status``) into polars."""
    table, columns = _plan_table(kind)
    schema: dict[str, type[pl.DataType]] = {"id": pl.Int64, **columns, "status": pl.String}
    statement = (
        select(*(table.c[name] for name in schema))
        .where(table.c.run_id == run_id)
        .order_by(table.c.id)
    )
    if statuses is not None:
        statement = statement.where(table.c.status.in_(list(statuses)))
    return read_frame(session, statement, schema)


def delete_plan_rows(session: Session, kind: str, run_id: int, *, status: str) -> int:
    """Delete a run's ``kind`` rows that have ``status``; return how many went."""
    table, _ = _plan_table(kind)
    result = session.execute(
        delete(table).where(table.c.run_id == run_id, table.c.status == status)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_plan_status(
    session: Session, kind: str, run_id: int, *, from_statuses: Iterable[str], to: str
) -> int:
    """Move a run's ``kind`` rows from any of ``from_statuses`` to ``to``."""
    table, _ = _plan_table(kind)
    result = session.execute(
        table.update()
        .where(table.c.run_id == run_id, table.c.status.in_(list(from_statuses)))
        .values(status=to)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
