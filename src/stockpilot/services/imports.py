"""Import use cases: read, validate, and load a batch in ONE transaction.

``import_folder`` / ``import_frames`` send the inputs through the validation gate
(:mod:`stockpilot.io.gate`) and then, in a single transaction, write the batch row,
the accepted records (in bulk) and the quarantined ones, plus an audit row. Any failure
rolls everything back, so a batch is either wholly in the store or not at all.

The SHA-256 of the inputs' content identifies a batch: importing the same content again
changes nothing and says so (:attr:`ImportOutcome.already_imported`).

Quarantined records can be listed, corrected and released (they pass the gate again and
are loaded as a new batch, so earlier snapshots stay as they were) or discarded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stockpilot.errors import InvalidDataError, NotFoundError, WorkflowError, parameter_error
from stockpilot.io.gate import GateOptions, GateResult, ImportReport, Tables, revalidate, validate
from stockpilot.io.ingest import prepare_import
from stockpilot.io.readers import TABLE_SUFFIXES
from stockpilot.schema import ENTITIES, LOAD_ORDER
from stockpilot.services.audit import append_audit
from stockpilot.settings import Settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory
from stockpilot.store.models import (
    BatchStatus,
    ImportBatch,
    QuarantineRecord,
    QuarantineStatus,
    canonical_table,
    utcnow,
)

__all__ = [
    "BatchSummary",
    "ImportOutcome",
    "ReleaseOutcome",
    "content_sha256",
    "discard",
    "import_folder",
    "import_frames",
    "known_keys",
    "list_batches",
    "list_quarantine",
    "release",
]

# Hook for tests and callers that want to watch the write (never used to swallow errors).
AfterEntityWrite = Callable[[str, int], None]


@dataclass(frozen=True)
class ImportOutcome:
    """Result of one import.

    Attributes
    ----------
    batch_id : int
        The batch row (the existing one when the content was imported before).
    content_sha256 : str
        Hash of the inputs that identifies the batch.
    status : BatchStatus
        ``loaded``, ``partial`` (some records quarantined) or ``rejected`` (none loaded).
    already_imported : bool
        True when this content was imported before and nothing changed now.
    report : ImportReport or None
        The gate's reconciled counts (``None`` for a repeated import: the gate did
        not run; the stored counts are on the batch row).
    """

    batch_id: int
    content_sha256: str
    status: BatchStatus
    already_imported: bool
    report: ImportReport | None

    @property
    def message(self) -> str:
        if self.already_imported:
            return (
                f"Batch {self.batch_id} already holds this content "
                f"(sha256 {self.content_sha256[:12]}); nothing changed."
            )
        assert self.report is not None
        return (
            f"Batch {self.batch_id} {self.status.value}: {self.report.rows_in} rows in = "
            f"{self.report.rows_loaded} loaded + {self.report.rows_quarantined} quarantined."
        )


@dataclass(frozen=True)
class ReleaseOutcome:
    """Result of :func:`release`.

    Attributes
    ----------
    batch_id : int or None
        Batch that loaded the released records (``None`` when none passed the gate).
    released_ids : tuple of int
        Quarantine records now ``released`` and loaded.
    still_failing : polars.DataFrame
        Records that failed the gate again (``id``, ``entity``, ``reason``, ``detail``);
        they stay ``open``.
    """

    batch_id: int | None
    released_ids: tuple[int, ...]
    still_failing: pl.DataFrame


# ----------------------------------------------------------------------- hashing


def content_sha256(files: Iterable[Path], *, extra: Iterable[bytes] = ()) -> str:
    """SHA-256 over file names and bytes (sorted by name) plus ``extra`` blobs."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: (p.name, str(p))):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    for blob in extra:
        digest.update(blob + b"\0")
    return digest.hexdigest()


def _frames_sha256(tables: Tables) -> str:
    digest = hashlib.sha256()
    for name in sorted(tables):
        value: Any = tables[name]
        parts = value if isinstance(value, Sequence) else [value]
        digest.update(name.encode() + b"\0")
        for part in parts:
            frame = getattr(part, "frame", part)
            if not isinstance(frame, pl.DataFrame):
                frame = pl.from_pandas(frame)
            digest.update(",".join(frame.columns).encode() + b"\n")
            digest.update(frame.write_csv(include_header=False).encode())
            digest.update(b"\0")
    return digest.hexdigest()


# ------------------------------------------------------------------------ imports


def known_keys(session: Session) -> dict[str, pl.Series]:
    """Keys already in the store for every entity referenced by another one."""
    referenced = {ref for spec in ENTITIES.values() for ref in spec.references.values()}
    keys: dict[str, pl.Series] = {}
    for name in sorted(referenced):
        (key,) = ENTITIES[name].key
        column = canonical_table(name).c[key]
        values = session.execute(select(column).distinct()).scalars().all()
        keys[name] = pl.Series(name, values, dtype=pl.String)
    return keys


def import_folder(
    session_factory: SessionFactory,
    folder: Path | str,
    *,
    mappings: Sequence[Path | str] = (),
    as_of: date,
    settings: Settings,
    actor: str = "system",
    after_entity_write: AfterEntityWrite | None = None,
) -> ImportOutcome:
    """Import a folder of canonical files (CSV, Parquet, .xlsx; one per entity).

    Parameters
    ----------
    session_factory : sessionmaker
        From :func:`stockpilot.store.db.session_factory`.
    folder : path
        Folder holding ``items.csv``, ``demand.parquet``, ... (see docs/data-model.md).
    mappings : sequence of path, optional
        YAML source mappings (files, or folders holding them) of the ERP, POS and CRM
        extracts; the extracts and the mapping texts are part of the content hash. The
        hash covers the inputs only: the same files imported again with another
        ``as_of`` or other thresholds are still the same batch (a no-op).
    as_of : date
        The date the data describe (future dates and freshness are judged from it).
    settings : Settings
        Outlier and freshness thresholds.
    actor : str, default "system"
        Recorded on the batch and in the audit trail.
    after_entity_write : callable, optional
        Called as ``(entity, rows)`` after each entity's bulk write, inside the
        transaction (progress reporting; an exception it raises rolls back the import).

    Returns
    -------
    ImportOutcome
        Batch id, status and the reconciled :class:`~stockpilot.io.gate.ImportReport`.
    """
    folder = Path(folder)
    yaml_files = _mapping_files([Path(m) for m in mappings])
    with session_factory() as session:
        crosswalk = repo.read_entity(session, "code_mappings")
    prepared = prepare_import(
        folder, mappings=yaml_files, code_mappings=crosswalk if crosswalk.height else None
    )
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES and not p.name.startswith((".", "~$"))
    ]
    files.extend(m.resolve_file(folder) for m in prepared.mappings)
    files.extend(yaml_files)
    return _import(
        session_factory,
        prepared.tables,
        digest=content_sha256(files),
        source_files=sorted({p.name for p in files}),
        options=GateOptions.from_settings(
            settings, as_of=as_of, source_freshness=prepared.source_freshness()
        ),
        actor=actor,
        after_entity_write=after_entity_write,
        sources={
            m.source: {
                "entity": m.entity,
                "bucket": m.bucket.value,
                "authoritative_for": list(m.authoritative_for),
                "freshness_days": m.freshness_days,
            }
            for m in prepared.mappings
        },
    )


def _mapping_files(paths: Sequence[Path]) -> list[Path]:
    """YAML mapping files named directly or found in a named folder."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def import_frames(
    session_factory: SessionFactory,
    tables: Tables,
    *,
    as_of: date,
    settings: Settings,
    actor: str = "system",
    label: str = "<frames>",
    after_entity_write: AfterEntityWrite | None = None,
) -> ImportOutcome:
    """Import in-memory tables (polars / pandas frames or ``RawTable`` per entity).

    Same transaction and idempotency rules as :func:`import_folder`; the content hash
    is taken over the frames' values. ``label`` is recorded as the source file.
    """
    return _import(
        session_factory,
        tables,
        digest=_frames_sha256(tables),
        source_files=[label],
        options=GateOptions.from_settings(settings, as_of=as_of),
        actor=actor,
        after_entity_write=after_entity_write,
    )


def _existing(session_factory: SessionFactory, digest: str) -> ImportBatch | None:
    with session_factory() as session:
        return session.execute(
            select(ImportBatch).where(ImportBatch.content_sha256 == digest)
        ).scalar_one_or_none()


def _repeat(batch: ImportBatch) -> ImportOutcome:
    return ImportOutcome(batch.id, batch.content_sha256, BatchStatus(batch.status), True, None)


def _status(rows_loaded: int, rows_quarantined: int) -> BatchStatus:
    if rows_quarantined == 0:
        return BatchStatus.LOADED
    return BatchStatus.PARTIAL if rows_loaded else BatchStatus.REJECTED


def _import(
    session_factory: SessionFactory,
    tables: Tables,
    *,
    digest: str,
    source_files: list[str],
    options: GateOptions,
    actor: str,
    after_entity_write: AfterEntityWrite | None,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> ImportOutcome:
    previous = _existing(session_factory, digest)
    if previous is not None:
        return _repeat(previous)
    started = utcnow()
    with session_factory() as session:
        keys = known_keys(session)
    gate = validate(tables, options=options, known_keys=keys)
    report = gate.report
    status = _status(report.rows_loaded, report.rows_quarantined)
    try:
        with session_factory.begin() as session:
            batch = ImportBatch(
                content_sha256=digest,
                source_files=source_files,
                started_at=started,
                rows_in=report.rows_in,
                rows_loaded=report.rows_loaded,
                rows_quarantined=report.rows_quarantined,
                # The source declarations travel with the batch: planning reads each
                # source's bucket and channel authority from here.
                counts={**_counts_json(report), "sources": dict(sources or {})},
                status=status.value,
                actor=actor,
            )
            session.add(batch)
            session.flush()
            _write_gate_result(session, gate, batch.id, after_entity_write)
            batch.finished_at = utcnow()
            append_audit(
                session,
                actor=actor,
                action="import",
                entity="import_batches",
                key=str(batch.id),
                new={
                    "content_sha256": digest,
                    "status": status.value,
                    "rows_in": report.rows_in,
                    "rows_loaded": report.rows_loaded,
                    "rows_quarantined": report.rows_quarantined,
                },
            )
            batch_id = batch.id
    except IntegrityError:
        # Someone imported the same content concurrently: theirs is the batch.
        concurrent = _existing(session_factory, digest)
        if concurrent is None:
            raise
        return _repeat(concurrent)
    return ImportOutcome(batch_id, digest, status, False, report)


def _write_gate_result(
    session: Session,
    gate: GateResult,
    batch_id: int,
    after_entity_write: AfterEntityWrite | None,
) -> None:
    for name in LOAD_ORDER:
        frame = gate.accepted.get(name)
        if frame is None or frame.height == 0:
            continue
        rows = repo.write_entity(session, name, frame, batch_id)
        if after_entity_write is not None:
            after_entity_write(name, rows)
    if gate.quarantine.height:
        repo.write_quarantine(session, batch_id, gate.quarantine)


def _counts_json(report: ImportReport) -> dict[str, Any]:
    return {
        "as_of": report.as_of.isoformat(),
        "entities": {
            c.entity: {
                "rows_in": c.rows_in,
                "rows_loaded": c.rows_loaded,
                "rows_quarantined": c.rows_quarantined,
                "by_reason": {str(k): v for k, v in c.by_reason.items()},
            }
            for c in report.entities
        },
        "stale_sources": [
            {"entity": s.entity, "source": s.source, "rows": s.rows} for s in report.stale_sources
        ],
    }


# --------------------------------------------------------------------- quarantine

_QUARANTINE_LIST_SCHEMA: dict[str, type[pl.DataType]] = {
    "id": pl.Int64,
    "batch_id": pl.Int64,
    "entity": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "source_file": pl.String,
    "row_number": pl.Int64,
    "status": pl.String,
}


def list_quarantine(
    session_factory: SessionFactory,
    *,
    status: QuarantineStatus | str | None = QuarantineStatus.OPEN,
    entity: str | None = None,
    reason: str | None = None,
    batch_id: int | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """Quarantined records (newest batch first) with their reason and provenance.

    Returns a polars frame with ``id, batch_id, entity, reason, detail, source_file,
    row_number, status, raw`` (``raw`` as JSON text).
    """
    table = QuarantineRecord.__table__
    statement = select(*(table.c[n] for n in _QUARANTINE_LIST_SCHEMA), table.c["raw"])
    if status is not None:
        statement = statement.where(table.c.status == QuarantineStatus(status).value)
    if entity is not None:
        statement = statement.where(table.c.entity == entity)
    if reason is not None:
        statement = statement.where(table.c.reason == reason)
    if batch_id is not None:
        statement = statement.where(table.c.batch_id == batch_id)
    statement = statement.order_by(table.c.batch_id.desc(), table.c.id)
    if limit is not None:
        statement = statement.limit(limit)
    with session_factory() as session:
        rows = session.execute(statement).all()
    schema: dict[str, type[pl.DataType]] = {**_QUARANTINE_LIST_SCHEMA, "raw": pl.String}
    data = [(*row[:-1], None if row[-1] is None else json.dumps(row[-1])) for row in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def _open_records(session: Session, record_ids: Sequence[int]) -> list[QuarantineRecord]:
    records = (
        session.execute(
            select(QuarantineRecord)
            .where(QuarantineRecord.id.in_(list(record_ids)))
            .order_by(QuarantineRecord.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    found = {r.id for r in records}
    missing = [i for i in record_ids if i not in found]
    if missing:
        raise NotFoundError(f"No quarantine records with ids {missing}.")
    closed = [(r.id, r.status) for r in records if r.status != QuarantineStatus.OPEN.value]
    if closed:
        raise WorkflowError(
            f"Quarantine records {closed} are not open; only open records can be released "
            "or discarded."
        )
    return list(records)


def release(
    session_factory: SessionFactory,
    record_ids: Sequence[int],
    corrections: Mapping[int, Mapping[str, str | None]] | None = None,
    *,
    actor: str,
    as_of: date,
    settings: Settings,
) -> ReleaseOutcome:
    """Correct and release quarantined records.

    The records (with ``corrections``: record id -> {canonical column: new text value})
    pass the validation gate again (:func:`stockpilot.io.gate.revalidate`) against the
    keys already in the store. In one transaction the records that pass are loaded as a
    new batch, their quarantine rows are marked ``released`` (who, when, correction)
    and an audit row is written. Records that fail again stay ``open`` and are returned
    with their new reasons.
    """
    if not record_ids:
        raise parameter_error("release", "record_ids", "a non-empty list of ids", record_ids)
    corrections = dict(corrections or {})
    unknown = sorted(set(corrections) - set(record_ids))
    if unknown:
        raise parameter_error(
            "release", "corrections", "keyed by ids listed in record_ids", unknown
        )
    options = GateOptions.from_settings(settings, as_of=as_of)
    with session_factory.begin() as session:
        records = _open_records(session, record_ids)
        frame = pl.DataFrame(
            {
                "entity": [r.entity for r in records],
                "source_file": [r.source_file for r in records],
                "row_number": [r.row_number for r in records],
                "raw": [None if r.raw is None else json.dumps(r.raw) for r in records],
                "values": [None if r.values is None else json.dumps(r.values) for r in records],
            },
            schema={
                "entity": pl.String,
                "source_file": pl.String,
                "row_number": pl.Int64,
                "raw": pl.String,
                "values": pl.String,
            },
        )
        ordered = [corrections.get(r.id) for r in records]
        gate = revalidate(frame, ordered, options=options, known_keys=known_keys(session))
        failing = _still_failing(records, gate)
        failed_ids = set(failing.get_column("id").to_list())
        passed = [r for r in records if r.id not in failed_ids]
        if not passed:
            return ReleaseOutcome(None, (), failing)
        now = utcnow()
        digest_source = json.dumps(
            {
                "release": [r.id for r in passed],
                "corrections": {str(k): v for k, v in corrections.items()},
            },
            sort_keys=True,
        )
        batch = ImportBatch(
            content_sha256=hashlib.sha256(digest_source.encode()).hexdigest(),
            source_files=sorted({r.source_file or "" for r in passed}),
            started_at=now,
            finished_at=now,
            rows_in=len(passed),
            rows_loaded=len(passed),
            rows_quarantined=0,
            counts={"released_from": sorted({r.batch_id for r in passed})},
            status=BatchStatus.LOADED.value,
            actor=actor,
        )
        session.add(batch)
        session.flush()
        for name in LOAD_ORDER:
            accepted = gate.accepted.get(name)
            if accepted is not None and accepted.height:
                repo.write_entity(session, name, accepted, batch.id)
        released = [r.id for r in passed]
        session.execute(
            update(QuarantineRecord)
            .where(QuarantineRecord.id.in_(released))
            .values(status=QuarantineStatus.RELEASED.value, released_at=now, released_by=actor)
        )
        for record in passed:
            if record.id in corrections:
                record.correction = dict(corrections[record.id])
        append_audit(
            session,
            actor=actor,
            action="quarantine.release",
            entity="quarantine",
            key=",".join(map(str, released)),
            old={str(r.id): {"reason": r.reason, "values": r.values} for r in passed},
            new={"batch_id": batch.id, "corrections": {str(k): v for k, v in corrections.items()}},
        )
        batch_id = batch.id
    return ReleaseOutcome(batch_id, tuple(released), failing)


def _still_failing(records: Sequence[QuarantineRecord], gate: GateResult) -> pl.DataFrame:
    """Map records the gate quarantined again back to their quarantine ids."""
    by_position = {(r.entity, r.source_file, r.row_number): r.id for r in records}
    if len(by_position) != len(records):
        raise InvalidDataError(
            "release: two selected records share entity, source file and row number; "
            "release them separately."
        )
    again = gate.quarantine
    ids = [
        by_position[(row["entity"], row["source_file"], row["row_number"])]
        for row in again.iter_rows(named=True)
    ]
    return pl.DataFrame(
        {
            "id": pl.Series(ids, dtype=pl.Int64),
            "entity": again.get_column("entity"),
            "reason": again.get_column("reason"),
            "detail": again.get_column("detail"),
        }
    )


def discard(
    session_factory: SessionFactory, record_ids: Sequence[int], *, actor: str, reason: str
) -> int:
    """Mark open quarantine records ``discarded`` (kept for the record, never loaded)."""
    if not reason or not reason.strip():
        raise parameter_error("discard", "reason", "a non-empty explanation", reason)
    with session_factory.begin() as session:
        records = _open_records(session, record_ids)
        now = utcnow()
        for record in records:
            record.status = QuarantineStatus.DISCARDED.value
            record.released_at = now
            record.released_by = actor
        append_audit(
            session,
            actor=actor,
            action="quarantine.discard",
            entity="quarantine",
            key=",".join(str(r.id) for r in records),
            old={str(r.id): r.reason for r in records},
            reason=reason,
        )
    return len(records)


# ------------------------------------------------------------------------ history


@dataclass(frozen=True)
class BatchSummary:
    """One stored import batch (the import history)."""

    id: int
    content_sha256: str
    status: BatchStatus
    source_files: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    actor: str | None

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_loaded + self.rows_quarantined


def list_batches(session_factory: SessionFactory, *, limit: int = 50) -> tuple[BatchSummary, ...]:
    """The newest import batches first, with their reconciled counts."""
    if limit < 1:
        raise parameter_error("list_batches", "limit", "an int >= 1", limit)
    with session_factory() as session:
        batches = (
            session.execute(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit))
            .scalars()
            .all()
        )
        return tuple(
            BatchSummary(
                b.id,
                b.content_sha256,
                BatchStatus(b.status),
                tuple(str(f) for f in b.source_files),
                b.started_at,
                b.finished_at,
                b.rows_in,
                b.rows_loaded,
                b.rows_quarantined,
                b.actor,
            )
            for b in batches
        )
