"""Import service: one transaction, idempotent by content hash, quarantine workflow."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from stockpilot.errors import NotFoundError, WorkflowError
from stockpilot.services.audit import verify_audit_chain
from stockpilot.services.imports import (
    discard,
    import_folder,
    import_frames,
    list_batches,
    list_quarantine,
    release,
)
from stockpilot.settings import Settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory
from stockpilot.store.models import (
    AuditEntry,
    BatchStatus,
    ImportBatch,
    QuarantineRecord,
    canonical_table,
)

AS_OF = date(2026, 2, 20)
SETTINGS = Settings(database_url="sqlite://")


def clean_tables() -> dict[str, pl.DataFrame]:
    items = pl.DataFrame({"item_id": ["A", "B", "C"], "unit_cost": ["2.5", "4", "10"]})
    locations = pl.DataFrame({"location_id": ["DC1", "S1"], "type": ["dc", "store"]})
    demand = pl.DataFrame(
        {
            "item_id": ["A", "A", "B", "C"],
            "location_id": ["DC1", "DC1", "S1", "S1"],
            "date": ["2026-02-02", "2026-02-09", "2026-02-09", "2026-02-16"],
            "quantity": ["3", "5", "1.5", "7"],
        }
    )
    return {"items": items, "locations": locations, "demand": demand}


def dirty_tables() -> dict[str, pl.DataFrame]:
    tables = clean_tables()
    tables["items"] = pl.DataFrame(
        {"item_id": ["A", "B", "C", "D"], "unit_cost": ["2.5", "4", "10", "-1"]}
    )
    tables["demand"] = pl.DataFrame(
        {
            "item_id": ["A", "A", "B", "ZZZ"],
            "location_id": ["DC1", "DC1", "S1", "S1"],
            "date": ["2026-02-02", "2026-02-09", "2026-02-09", "2026-02-16"],
            "quantity": ["3", "5", "1.5", "7"],
        }
    )
    return tables


def count(sessions: SessionFactory, entity: str) -> int:
    with sessions() as session:
        return repo.count_rows(session, canonical_table(entity))


def n_rows(sessions: SessionFactory, model: type) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_clean_import_loads_every_record_in_one_batch(sessions: SessionFactory) -> None:
    outcome = import_frames(sessions, clean_tables(), as_of=AS_OF, settings=SETTINGS)
    assert outcome.status is BatchStatus.LOADED
    assert not outcome.already_imported
    assert outcome.report is not None
    assert (outcome.report.rows_in, outcome.report.rows_loaded) == (9, 9)
    assert count(sessions, "items") == 3
    assert count(sessions, "demand") == 4
    with sessions() as session:
        demand = repo.read_entity(session, "demand", [outcome.batch_id])
        batch = session.get(ImportBatch, outcome.batch_id)
        assert batch is not None and batch.finished_at is not None
        assert batch.counts["entities"]["demand"]["rows_loaded"] == 4
    assert demand.get_column("quantity").to_list() == [3.0, 5.0, 1.5, 7.0]
    assert demand.schema["date"] == pl.Date


def test_same_batch_twice_is_one_batch(sessions: SessionFactory) -> None:
    first = import_frames(sessions, clean_tables(), as_of=AS_OF, settings=SETTINGS)
    second = import_frames(sessions, clean_tables(), as_of=AS_OF, settings=SETTINGS)
    assert second.already_imported
    assert second.batch_id == first.batch_id
    assert "nothing changed" in second.message
    assert n_rows(sessions, ImportBatch) == 1
    assert count(sessions, "demand") == 4
    assert n_rows(sessions, AuditEntry) == 1


def test_changed_content_is_a_new_batch(sessions: SessionFactory) -> None:
    import_frames(sessions, clean_tables(), as_of=AS_OF, settings=SETTINGS)
    tables = clean_tables()
    tables["demand"] = tables["demand"].with_columns(pl.lit("9").alias("quantity"))
    outcome = import_frames(sessions, tables, as_of=AS_OF, settings=SETTINGS)
    assert not outcome.already_imported
    assert n_rows(sessions, ImportBatch) == 2
    with sessions() as session:
        latest = repo.read_entity(session, "demand")
    # The newest batch wins for the same natural key.
    assert latest.get_column("quantity").to_list() == [9.0, 9.0, 9.0, 9.0]


def test_failure_after_half_the_rows_leaves_no_partial_batch(sessions: SessionFactory) -> None:
    """An exception injected after the first entities were bulk-written rolls back all."""
    written: list[str] = []

    def explode(entity: str, rows: int) -> None:
        written.append(entity)
        if entity == "locations":
            raise RuntimeError("disk full (injected)")

    with pytest.raises(RuntimeError, match="injected"):
        import_frames(
            sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS, after_entity_write=explode
        )
    assert written == ["items", "locations"]
    for model in (ImportBatch, QuarantineRecord, AuditEntry):
        assert n_rows(sessions, model) == 0
    for entity in ("items", "locations", "demand"):
        assert count(sessions, entity) == 0
    # The content hash is not burnt: the same batch imports cleanly afterwards.
    outcome = import_frames(sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS)
    assert not outcome.already_imported
    assert outcome.status is BatchStatus.PARTIAL


def test_dirty_import_quarantines_with_reasons_and_reconciles(sessions: SessionFactory) -> None:
    outcome = import_frames(sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS)
    assert outcome.report is not None and outcome.report.reconciles
    assert outcome.status is BatchStatus.PARTIAL
    open_records = list_quarantine(sessions)
    assert sorted(zip(open_records["entity"], open_records["reason"], strict=True)) == [
        ("demand", "unknown_key"),
        ("items", "invalid_value"),
    ]
    assert open_records.get_column("row_number").to_list() == [5, 5]
    rows_in = outcome.report.rows_in
    assert (
        rows_in
        == count(sessions, "items")
        + count(sessions, "locations")
        + count(sessions, "demand")
        + open_records.height
    )


def test_release_with_correction_loads_the_record_and_audits(sessions: SessionFactory) -> None:
    import_frames(sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS)
    bad_item = list_quarantine(sessions, entity="items")
    record_id = int(bad_item["id"][0])
    outcome = release(
        sessions,
        [record_id],
        {record_id: {"unit_cost": "3.75"}},
        actor="ana",
        as_of=AS_OF,
        settings=SETTINGS,
    )
    assert outcome.released_ids == (record_id,)
    assert outcome.still_failing.height == 0
    with sessions() as session:
        items = repo.read_entity(session, "items")
        record = session.get(QuarantineRecord, record_id)
        assert record is not None
        assert (record.status, record.released_by) == ("released", "ana")
        assert record.correction == {"unit_cost": "3.75"}
        actions = session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars()
        assert list(actions) == ["import", "quarantine.release"]
        assert verify_audit_chain(session).ok
    assert items.filter(pl.col("item_id") == "D")["unit_cost"].to_list() == [3.75]
    with pytest.raises(WorkflowError, match="not open"):
        release(sessions, [record_id], actor="ana", as_of=AS_OF, settings=SETTINGS)


def test_release_without_fix_keeps_the_record_open(sessions: SessionFactory) -> None:
    import_frames(sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS)
    bad_demand = list_quarantine(sessions, entity="demand")
    record_id = int(bad_demand["id"][0])
    outcome = release(sessions, [record_id], actor="ana", as_of=AS_OF, settings=SETTINGS)
    assert outcome.batch_id is None
    assert outcome.still_failing["id"].to_list() == [record_id]
    assert outcome.still_failing["reason"].to_list() == ["unknown_key"]
    assert list_quarantine(sessions, entity="demand").height == 1
    assert discard(sessions, [record_id], actor="ana", reason="test item") == 1
    assert list_quarantine(sessions, entity="demand").height == 0
    assert list_quarantine(sessions, status="discarded").height == 1


def test_import_folder_is_idempotent_on_file_content(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    for name, frame in clean_tables().items():
        frame.write_csv(tmp_path / f"{name}.csv")
    first = import_folder(sessions, tmp_path, as_of=AS_OF, settings=SETTINGS)
    again = import_folder(sessions, tmp_path, as_of=AS_OF, settings=SETTINGS)
    assert first.status is BatchStatus.LOADED and again.already_imported
    with sessions() as session:
        batch = session.get(ImportBatch, first.batch_id)
        assert batch is not None
        assert batch.source_files == ["demand.csv", "items.csv", "locations.csv"]
    (tmp_path / "demand.csv").write_text(
        (tmp_path / "demand.csv").read_text().replace(",7\n", ",8\n")
    )
    changed = import_folder(sessions, tmp_path, as_of=AS_OF, settings=SETTINGS)
    assert not changed.already_imported and changed.batch_id != first.batch_id


def test_release_refuses_unknown_ids_and_stray_corrections(sessions: SessionFactory) -> None:
    import_frames(sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS)
    record_id = int(list_quarantine(sessions, entity="items")["id"][0])
    with pytest.raises(NotFoundError, match="999999"):
        release(sessions, [999_999], actor="ana", as_of=AS_OF, settings=SETTINGS)
    with pytest.raises(ValueError, match="corrections"):
        release(
            sessions,
            [record_id],
            {record_id + 1000: {"unit_cost": "1"}},
            actor="ana",
            as_of=AS_OF,
            settings=SETTINGS,
        )
    with pytest.raises(ValueError, match="reason"):
        discard(sessions, [record_id], actor="ana", reason=" ")
    # Nothing changed: the record is still open.
    assert list_quarantine(sessions, entity="items")["id"].to_list() == [record_id]


def test_list_quarantine_filters(sessions: SessionFactory) -> None:
    outcome = import_frames(sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS)
    assert list_quarantine(sessions, reason="unknown_key")["entity"].to_list() == ["demand"]
    assert list_quarantine(sessions, batch_id=outcome.batch_id).height == 2
    assert list_quarantine(sessions, batch_id=outcome.batch_id + 1).height == 0
    assert list_quarantine(sessions, limit=1).height == 1
    assert list_quarantine(sessions, status=None).height == 2


def test_list_batches_newest_first(sessions: SessionFactory) -> None:
    first = import_frames(sessions, clean_tables(), as_of=AS_OF, settings=SETTINGS)
    second = import_frames(sessions, dirty_tables(), as_of=AS_OF, settings=SETTINGS, actor="ben")
    history = list_batches(sessions)
    assert [b.id for b in history] == [second.batch_id, first.batch_id]
    assert history[0].status is BatchStatus.PARTIAL and history[0].actor == "ben"
    assert all(b.reconciles for b in history)
    assert history[1].rows_loaded == 9 and history[1].source_files == ("<frames>",)
    assert len(list_batches(sessions, limit=1)) == 1
