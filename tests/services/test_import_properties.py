"""Properties of the import service: nothing is lost, concurrent duplicates are one batch."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from stockpilot.services.imports import ImportOutcome, import_frames
from stockpilot.settings import Settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory, session_factory
from stockpilot.store.models import Base, ImportBatch, QuarantineRecord, canonical_table

AS_OF = date(2026, 2, 20)
SETTINGS = Settings(database_url="sqlite://")

cost_text = st.one_of(
    st.floats(min_value=-5, max_value=50, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.sampled_from(["", "n/a", "0", "1e3", "12,5"]),
)
item_ids = st.sampled_from(["A", "B", "C", "D", ""])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=st.lists(st.tuples(item_ids, cost_text), min_size=1, max_size=8),
    demand=st.lists(
        st.tuples(
            item_ids,
            st.sampled_from(["DC1", "XX"]),
            st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 31)),
            st.sampled_from(["3", "-2", "abc", "0", "7.5"]),
        ),
        max_size=12,
    ),
)
def test_rows_in_equals_rows_stored_plus_rows_quarantined(
    engine: Engine,
    items: list[tuple[str, str]],
    demand: list[tuple[str, str, date, str]],
) -> None:
    """Whatever the data, every input row is either a stored record or a quarantine row."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    sessions = session_factory(engine)
    tables = {
        "items": pl.DataFrame(
            {"item_id": [i for i, _ in items], "unit_cost": [c for _, c in items]},
            schema={"item_id": pl.String, "unit_cost": pl.String},
        ),
        "locations": pl.DataFrame({"location_id": ["DC1"]}),
        "demand": pl.DataFrame(
            {
                "item_id": [d[0] for d in demand],
                "location_id": [d[1] for d in demand],
                "date": [d[2].isoformat() for d in demand],
                "quantity": [d[3] for d in demand],
                # A unique marker keeps Hypothesis' examples distinct batches.
                "channel": [uuid.uuid4().hex[:6]] * len(demand),
            },
            schema={
                "item_id": pl.String,
                "location_id": pl.String,
                "date": pl.String,
                "quantity": pl.String,
                "channel": pl.String,
            },
        ),
    }
    outcome = import_frames(sessions, tables, as_of=AS_OF, settings=SETTINGS)
    assert outcome.report is not None
    rows_in = len(items) + 1 + len(demand)
    with sessions() as session:
        stored = sum(
            repo.count_rows(session, canonical_table(name))
            for name in ("items", "locations", "demand")
        )
        quarantined = session.execute(
            select(func.count()).select_from(QuarantineRecord)
        ).scalar_one()
    assert outcome.report.rows_in == rows_in
    assert rows_in == stored + quarantined
    assert outcome.report.rows_quarantined == quarantined


def test_concurrent_imports_of_the_same_content_make_one_batch(sessions: SessionFactory) -> None:
    tables = {
        "items": pl.DataFrame({"item_id": [f"I{i}" for i in range(200)], "unit_cost": "2"}),
        "locations": pl.DataFrame({"location_id": ["DC1"]}),
    }
    outcomes: list[ImportOutcome] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            outcomes.append(import_frames(sessions, tables, as_of=AS_OF, settings=SETTINGS))
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(outcomes) == 2
    assert outcomes[0].batch_id == outcomes[1].batch_id
    assert sorted(o.already_imported for o in outcomes) == [False, True]
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 1
        assert repo.count_rows(session, canonical_table("items")) == 200
