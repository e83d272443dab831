"""An import killed with SIGKILL in the middle of its bulk write leaves nothing behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select, text

from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory, dialect_of
from stockpilot.store.models import AuditEntry, ImportBatch, QuarantineRecord, canonical_table

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import date, timedelta

    import polars as pl

    from stockpilot.services.imports import import_frames
    from stockpilot.settings import Settings
    from stockpilot.store import repositories
    from stockpilot.store.db import create_store_engine, session_factory

    url, marker = sys.argv[1], sys.argv[2]
    original = repositories.bulk_insert

    def half_then_die(session, table, frame):
        if table.name != "demand":
            return original(session, table, frame)
        original(session, table, frame.head(frame.height // 2))
        session.flush()
        with open(marker, "w") as handle:
            handle.write(str(frame.height // 2))
        os.kill(os.getpid(), signal.SIGKILL)

    repositories.bulk_insert = half_then_die
    n_items, n_weeks = 200, 50
    start = date(2025, 1, 6)
    items = pl.DataFrame({"item_id": [f"I{i}" for i in range(n_items)], "unit_cost": ["1"] * n_items})
    locations = pl.DataFrame({"location_id": ["L1"]})
    demand = pl.DataFrame(
        {
            "item_id": [f"I{i}" for i in range(n_items) for _ in range(n_weeks)],
            "location_id": "L1",
            "date": [str(start + timedelta(weeks=w)) for _ in range(n_items) for w in range(n_weeks)],
            "quantity": [str(1 + (i * w) % 7) for i in range(n_items) for w in range(n_weeks)],
        }
    )
    sessions = session_factory(create_store_engine(url))
    as_of = start + timedelta(weeks=n_weeks)
    import_frames(sessions, {"items": items, "locations": locations, "demand": demand},
                  as_of=as_of, settings=Settings())
    sys.exit("the import was not killed")
    """
)


def test_sigkill_during_bulk_write_leaves_no_partial_batch(
    sessions: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marker = tmp_path / "half_written"
    child = subprocess.run(
        [sys.executable, str(script), database_url, str(marker)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    # The child really was in the middle of the demand write when it died.
    assert int(marker.read_text()) == 5000
    with sessions() as session:
        for model in (ImportBatch, QuarantineRecord, AuditEntry):
            assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0
        for entity in ("items", "locations", "demand"):
            assert repo.count_rows(session, canonical_table(entity)) == 0
        if dialect_of(session) == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
