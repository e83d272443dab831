"""Benchmark: bulk write and read of demand rows through the store, against pandas.

Measures in the same run, on the same data and the same empty table:

1. stockpilot ``write_entity`` (``COPY ... FROM STDIN`` on PostgreSQL, batched
   ``executemany`` on SQLite) and ``read_entity`` (``COPY (...) TO STDOUT`` / DBAPI fetch
   into polars);
2. the peer: a straightforward pandas approach, ``DataFrame.to_sql(chunksize=20_000)``
   and ``pandas.read_sql``.

Runs on a temporary SQLite file and, when ``STOCKPILOT_TEST_POSTGRES_URL`` is set, on a
temporary PostgreSQL database (created and dropped here). Prints rows per second and the
pandas/stockpilot time ratio (> 1 means stockpilot is faster).

Usage::

    .venv/bin/python benchmarks/bench_store_bulk.py [--rows 1000000] [--skip-peer]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url

from stockpilot.store import repositories as repo
from stockpilot.store.db import create_store_engine, session_factory
from stockpilot.store.migrations import upgrade
from stockpilot.store.models import ImportBatch, canonical_table, utcnow


def demand(rows: int, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    weeks = 104
    series = -(-rows // weeks)
    index = np.arange(rows)
    return pl.DataFrame(
        {
            "item_id": pl.Series([f"SKU-{i:06d}" for i in range(series)]).gather(index // weeks),
            "location_id": pl.Series(["DC-NORTH", "DC-SOUTH", "STORE-1"]).gather(index % 3),
            "date": pl.date_range(date(2024, 1, 1), date(2025, 12, 22), "1w", eager=True).gather(
                index % weeks
            ),
            "quantity": np.round(rng.gamma(2.0, 5.0, rows), 2),
            "source": "erp",
            "channel": "wholesale",
            "is_return": False,
        }
    )


@contextmanager
def postgres_database() -> Iterator[str | None]:
    url = os.environ.get("STOCKPILOT_TEST_POSTGRES_URL")
    if not url:
        yield None
        return
    base = make_url(url)
    name = f"stockpilot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench(url: str, frame: pl.DataFrame, *, skip_peer: bool) -> None:
    engine = create_store_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    table = canonical_table("demand")
    with sessions.begin() as session:
        batch = ImportBatch(
            content_sha256="b" * 64,
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
        batch_id = batch.id

    def write_ours() -> None:
        with sessions.begin() as session:
            repo.write_entity(session, "demand", frame, batch_id)

    def read_ours() -> None:
        with sessions() as session:
            back = repo.read_entity(session, "demand", [batch_id])
        assert back.height == frame.height

    ours_write = timed(write_ours)
    ours_read = timed(read_ours)
    backend = engine.dialect.name
    n = frame.height
    print(f"{backend:10s} stockpilot write {n / ours_write:12,.0f} rows/s ({ours_write:7.2f} s)")
    print(f"{backend:10s} stockpilot read  {n / ours_read:12,.0f} rows/s ({ours_read:7.2f} s)")
    if skip_peer:
        engine.dispose()
        return
    with engine.begin() as connection:
        connection.execute(delete(table))
    peer_frame = frame.with_columns(pl.lit(batch_id).alias("batch_id")).to_pandas()

    def write_peer() -> None:
        with engine.begin() as connection:
            peer_frame.to_sql(
                "demand", connection, if_exists="append", index=False, chunksize=20_000
            )

    def read_peer() -> None:
        with engine.connect() as connection:
            back = pd.read_sql(
                text("SELECT * FROM demand WHERE batch_id = :b"), connection, params={"b": batch_id}
            )
        assert len(back) == n

    peer_write = timed(write_peer)
    peer_read = timed(read_peer)
    print(f"{backend:10s} pandas     write {n / peer_write:12,.0f} rows/s ({peer_write:7.2f} s)")
    print(f"{backend:10s} pandas     read  {n / peer_read:12,.0f} rows/s ({peer_read:7.2f} s)")
    print(
        f"{backend:10s} ratio pandas/stockpilot: write {peer_write / ours_write:5.2f}x, "
        f"read {peer_read / ours_read:5.2f}x"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}")
    print(f"rows: {args.rows:,}")
    frame = demand(args.rows)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            bench(f"sqlite:///{Path(folder) / 'bench.db'}", frame, skip_peer=args.skip_peer)
    with postgres_database() as url:
        if url is None:
            print("postgresql skipped: STOCKPILOT_TEST_POSTGRES_URL is not set")
        else:
            bench(url, frame, skip_peer=args.skip_peer)


if __name__ == "__main__":
    main()
