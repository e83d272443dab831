"""Benchmark: demand CSV -> reader + validation gate -> store, against polars' bare read.

Generates (once, cached in ``benchmarks/_work/``) a demand CSV of ``--rows`` rows
(default 10 million: 10,000 item-locations x 1,000 days, a sprinkle of dirty rows),
then measures in the same run:

1. ``polars.read_csv`` of the file with inferred types (the peer: the bare read);
2. stockpilot's reader (every value as text, with provenance) plus the validation gate
   (types, required values, impossible values, future dates, unknown keys against
   10,000 known items, duplicates, freshness, robust-z outliers per series);
3. the bulk write of the accepted rows into SQLite and, when
   ``STOCKPILOT_TEST_POSTGRES_URL`` is set, PostgreSQL (COPY), through the store's
   ``write_entity``.

Goals (issue #2 section 9): gate <= 3x the bare read; PostgreSQL write of 10M rows < 60 s.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py [--rows 10000000] [--skip-store]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from stockpilot.io.gate import GateOptions, validate
from stockpilot.io.readers import read_file

WORK = Path(__file__).resolve().parent / "_work"
AS_OF = date(2026, 11, 2)
LOCATIONS = 10


def make_csv(rows: int, seed: int = 11) -> Path:
    """Write (once) a canonical demand CSV with ``rows`` rows and ~0.01 % dirty rows."""
    path = WORK / f"demand_{rows}.csv"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    days = max(1, min(1000, rows // 1000))
    series = -(-rows // days)
    rng = np.random.default_rng(seed)
    idx = np.arange(rows)
    series_id = idx // days
    day = idx % days
    items = np.char.add("SKU-", np.char.zfill((series_id // LOCATIONS).astype(str), 6))
    locs = np.char.add("L", (series_id % LOCATIONS).astype(str))
    start = np.datetime64(AS_OF - timedelta(days=days))
    qty = rng.poisson(5.0, rows).astype(np.float64)
    frame = pl.DataFrame(
        {
            "item_id": items,
            "location_id": locs,
            "date": (start + day.astype("timedelta64[D]")),
            "quantity": qty,
            "source": "erp",
            "channel": "wholesale",
        }
    ).with_columns(pl.col("date").cast(pl.Date), pl.col("quantity").cast(pl.String))
    dirty = rng.choice(rows, size=max(1, rows // 10_000), replace=False)
    bad = pl.Series(["-3", "x", "", "1e9"] * (len(dirty) // 4 + 1))[: len(dirty)]
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(pl.Series(dirty).implode()))
        .then(pl.int_range(pl.len()).replace_strict(dirty, bad, default=None))
        .otherwise(pl.col("quantity"))
        .alias("quantity")
    )
    frame.write_csv(path)
    print(f"generated {path} ({rows:,} rows, {series:,} series x {days} days)")
    return path


def _timed(label: str, fn, rows: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    print(f"{label:<38}{seconds:>9.2f} s {rows / seconds:>14,.0f} rows/s")
    return seconds, out


def _store_write(url: str, accepted: pl.DataFrame) -> float:
    """Write the accepted rows as one import batch (one transaction), then remove it.

    The schema comes from the store's migrations; the batch is deleted afterwards (its
    rows cascade) so the benchmark leaves a shared test database as it found it.
    """
    from sqlalchemy import delete

    from stockpilot.store import repositories as repo
    from stockpilot.store.db import create_store_engine, session_factory
    from stockpilot.store.migrations import upgrade
    from stockpilot.store.models import ImportBatch, canonical_table, utcnow

    engine = create_store_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    t0 = time.perf_counter()
    with factory() as session, session.begin():
        batch = ImportBatch(
            content_sha256=os.urandom(32).hex(),
            source_files=["bench_ingest"],
            started_at=utcnow(),
            status="loaded",
        )
        session.add(batch)
        session.flush()
        batch_id = batch.id
        repo.write_entity(session, "demand", accepted, batch_id)
    seconds = time.perf_counter() - t0
    with factory() as session, session.begin():
        session.execute(
            delete(canonical_table("demand")).where(
                canonical_table("demand").c.batch_id == batch_id
            )
        )
        session.execute(delete(ImportBatch).where(ImportBatch.id == batch_id))
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument(
        "--postgres-url", default=None, help="default: $STOCKPILOT_TEST_POSTGRES_URL"
    )
    args = parser.parse_args()
    rows = args.rows
    path = make_csv(rows)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, polars {pl.__version__}; date {date.today()}; "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"file: {path.name}, {path.stat().st_size / 1e6:,.0f} MB")
    schema = {
        "item_id": pl.String,
        "location_id": pl.String,
        "date": pl.Date,
        "quantity": pl.Float64,
        "source": pl.String,
        "channel": pl.String,
    }
    # The peer: a typed read that turns bad values into silent nulls (what the gate avoids).
    bare, _ = _timed(
        "polars read_csv (typed, bare)",
        lambda: pl.read_csv(path, schema=schema, ignore_errors=True),
        rows,
    )
    n_items = -(-rows // max(1, min(1000, rows // 1000))) // LOCATIONS + 1
    known = {
        "items": [f"SKU-{i:06d}" for i in range(n_items)],
        "locations": [f"L{i}" for i in range(LOCATIONS)],
    }
    options = GateOptions(as_of=AS_OF, freshness_days=30)
    read_s, raw = _timed(
        "stockpilot reader (all text)", lambda: read_file(path, entity="demand"), rows
    )
    gate_s, result = _timed(
        "stockpilot gate",
        lambda: validate({"demand": raw}, options=options, known_keys=known),  # type: ignore[dict-item]
        rows,
    )
    total = read_s + gate_s
    print(f"{'reader + gate':<38}{total:>9.2f} s {rows / total:>14,.0f} rows/s")
    print(f"ratio (reader + gate) / bare read: {total / bare:.2f}x (goal <= 3x)")
    report = result.report  # type: ignore[attr-defined]
    print(
        f"rows in {report.rows_in:,} = loaded {report.rows_loaded:,} + quarantined "
        f"{report.rows_quarantined:,}; by reason "
        + ", ".join(f"{r.value} {n:,}" for r, n in report.by_reason.items())
    )
    if args.skip_store:
        return
    accepted = result.accepted["demand"]  # type: ignore[attr-defined]
    sqlite = WORK / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
    rows_ok = accepted.height
    seconds = _store_write(f"sqlite:///{sqlite}", accepted)
    print(
        f"{'store write SQLite (one batch)':<38}{seconds:>9.2f} s {rows_ok / seconds:>14,.0f} rows/s"
    )
    url = args.postgres_url or os.environ.get("STOCKPILOT_TEST_POSTGRES_URL")
    if url:
        seconds = _store_write(url, accepted)
        print(
            f"{'store write PostgreSQL (COPY)':<38}{seconds:>9.2f} s "
            f"{rows_ok / seconds:>14,.0f} rows/s (goal < 60 s at 10M)"
        )
    else:
        print("PostgreSQL skipped: STOCKPILOT_TEST_POSTGRES_URL is not set")


if __name__ == "__main__":
    main()
