"""Bulk write and read of canonical records (COPY on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from stockpilot.errors import InvalidDataError
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory, session_factory
from stockpilot.store.models import ImportBatch, canonical_table, utcnow


def new_batch(sessions: SessionFactory, tag: str) -> int:
    with sessions.begin() as session:
        batch = ImportBatch(
            content_sha256=tag.ljust(64, "0"),
            source_files=[],
            started_at=utcnow(),
            rows_in=0,
            rows_loaded=0,
            rows_quarantined=0,
            counts={},
            status="loaded",
        )
        session.add(batch)
        session.flush()
        return batch.id


def demand_frame(n_series: int, n_weeks: int) -> pl.DataFrame:
    start = date(2024, 1, 1)
    return pl.DataFrame(
        {
            "item_id": [f"I{i:05d}" for i in range(n_series) for _ in range(n_weeks)],
            "location_id": "DC1",
            "date": [start + timedelta(weeks=w) for _ in range(n_series) for w in range(n_weeks)],
            "quantity": [
                float((i * 31 + w * 7) % 13) / 3 for i in range(n_series) for w in range(n_weeks)
            ],
            "source": None,
            "channel": "retail",
            "is_return": False,
        },
        schema={
            "item_id": pl.String,
            "location_id": pl.String,
            "date": pl.Date,
            "quantity": pl.Float64,
            "source": pl.String,
            "channel": pl.String,
            "is_return": pl.Boolean,
        },
    )


def test_bulk_roundtrip_is_exact(sessions: SessionFactory) -> None:
    frame = demand_frame(300, 52)
    batch_id = new_batch(sessions, "a")
    with sessions.begin() as session:
        assert repo.write_entity(session, "demand", frame, batch_id) == frame.height
    with sessions() as session:
        back = repo.read_entity(session, "demand", [batch_id])
    assert_frame_equal(back, frame)


def test_repository_does_not_commit(sessions: SessionFactory) -> None:
    batch_id = new_batch(sessions, "b")
    with sessions() as session:
        repo.write_entity(session, "demand", demand_frame(3, 4), batch_id)
        session.rollback()
    with sessions() as session:
        assert repo.count_rows(session, canonical_table("demand")) == 0


def test_newest_batch_wins_and_snapshot_batches_are_respected(sessions: SessionFactory) -> None:
    old, new = new_batch(sessions, "old"), new_batch(sessions, "new")
    first = demand_frame(2, 3)
    second = first.head(2).with_columns(pl.lit(99.0).alias("quantity"))
    with sessions.begin() as session:
        repo.write_entity(session, "demand", first, old)
        repo.write_entity(session, "demand", second, new)
    with sessions() as session:
        only_old = repo.read_entity(session, "demand", [old])
        both = repo.read_entity(session, "demand", [old, new])
        nothing = repo.read_entity(session, "demand", [])
    assert_frame_equal(only_old, first)
    assert both.height == first.height
    assert both.filter(pl.col("quantity") == 99.0).height == 2
    assert nothing.height == 0 and nothing.columns == first.columns


def test_missing_required_value_is_refused_by_the_database(sessions: SessionFactory) -> None:
    batch_id = new_batch(sessions, "c")
    frame = demand_frame(1, 2).with_columns(pl.lit(None, dtype=pl.Float64).alias("quantity"))
    with pytest.raises(IntegrityError, match=r"(?i)null"), sessions.begin() as session:
        repo.write_entity(session, "demand", frame, batch_id)


def test_untyped_column_is_reported(sessions: SessionFactory) -> None:
    batch_id = new_batch(sessions, "d")
    frame = demand_frame(1, 2).with_columns(pl.lit("many").alias("quantity"))
    with pytest.raises(InvalidDataError, match="validation gate"), sessions.begin() as session:
        repo.write_entity(session, "demand", frame, batch_id)


texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=12,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            texts,
            st.one_of(st.none(), texts),
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.one_of(st.none(), st.booleans()),
            st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_values_roundtrip(engine: Engine, rows: list[tuple[object, ...]]) -> None:
    """Quotes, commas, newlines, unicode, empty vs null strings, extreme floats survive."""
    sessions = session_factory(engine)
    table = canonical_table("demand")
    with engine.begin() as connection:
        connection.execute(delete(table))
    frame = pl.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "location_id": "L",
            "date": [r[4] for r in rows],
            "quantity": [r[2] for r in rows],
            "source": [r[1] for r in rows],
            "channel": None,
            "is_return": [r[3] for r in rows],
        },
        schema={
            "item_id": pl.String,
            "location_id": pl.String,
            "date": pl.Date,
            "quantity": pl.Float64,
            "source": pl.String,
            "channel": pl.String,
            "is_return": pl.Boolean,
        },
    )
    batch_id = new_batch(sessions, uuid.uuid4().hex)
    with sessions.begin() as session:
        repo.write_entity(session, "demand", frame, batch_id)
    with sessions() as session:
        raw = repo.read_frame(
            session,
            canonical_table("demand")
            .select()
            .where(table.c.batch_id == batch_id)
            .order_by(table.c.id),
            {"id": pl.Int64, "batch_id": pl.Int64, **{c: frame.schema[c] for c in frame.columns}},
        )
    assert_frame_equal(raw.drop("id", "batch_id"), frame)
