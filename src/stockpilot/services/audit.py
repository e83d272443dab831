"""The audit trail and change requests.

Every audited change appends one row to ``audit_log`` in the same transaction as the
change itself. Each row stores ``prev_hash`` (the hash of the row before it) and
``hash = sha256(prev_hash + canonical JSON of the row)``, so editing, deleting or
reordering any row breaks the chain from there on; :func:`verify_audit_chain` finds the
first broken row. ``prev_hash`` is unique, so two writers can never fork the chain (on
PostgreSQL an advisory lock also serializes appenders).

A person's change to a plan value is a :class:`~stockpilot.store.models.ChangeRequest`
(old, new, reason, author); it is applied only when someone other than the author
approves it, and both steps are audited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from stockpilot.errors import NotFoundError, WorkflowError, choice_error, parameter_error
from stockpilot.store.db import SessionFactory, dialect_of
from stockpilot.store.models import (
    AuditEntry,
    ChangeRequest,
    ChangeStatus,
    PolicyRow,
    utcnow,
)

__all__ = [
    "GENESIS_HASH",
    "AuditVerification",
    "append_audit",
    "approve_change",
    "reject_change",
    "request_change",
    "verify_audit_chain",
]

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_ID = 0x5370_4175_6469_74  # "SpAudit": serializes appenders on PostgreSQL

# Plan values a person may change through a change request: entity -> (model, fields).
CHANGEABLE: Mapping[str, tuple[type[PolicyRow], frozenset[str]]] = {
    "policies": (
        PolicyRow,
        frozenset(
            {
                "reorder_point",
                "order_quantity",
                "order_up_to",
                "safety_stock",
                "review_period",
                "service_target",
                "policy",
                "lot_sizing",
            }
        ),
    ),
}


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so what is hashed is exactly what the database returns."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _row_hash(
    *,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    key: str | None,
    old: Any,
    new: Any,
    reason: str | None,
    approver: str | None,
) -> str:
    payload = json.dumps(
        {
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "entity": entity,
            "key": key,
            "old": old,
            "new": new,
            "reason": reason,
            "approver": approver,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    key: str | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    approver: str | None = None,
) -> AuditEntry:
    """Append one row to the audit chain inside the caller's transaction.

    Parameters
    ----------
    session : Session
        The session of the change being audited; the row commits or rolls back with it.
    actor : str
        Who made the change (user name or ``system``).
    action : str
        What happened (``import``, ``quarantine.release``, ``plan.publish``, ...).
    entity, key : str
        What was changed (table or concept, and the record key as text).
    old, new : JSON-serializable, optional
        Values before and after (dates and decimals are stored as text).
    reason, approver : str, optional
        Why, and who approved it when that is not the actor.

    Returns
    -------
    AuditEntry
        The new row (flushed, so it has its id).
    """
    if not actor or not actor.strip():
        raise parameter_error("append_audit", "actor", "a non-empty user name", actor)
    if dialect_of(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    else:
        # Take SQLite's write lock before reading the last hash, so no other writer can
        # append between our read and our insert (a no-op UPDATE starts the write).
        session.execute(text("UPDATE audit_log SET id = id WHERE 0 = 1"))
    last = session.execute(
        select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev_hash = last or GENESIS_HASH
    at = utcnow()
    fields: dict[str, Any] = {
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "key": key,
        "old": _jsonable(old),
        "new": _jsonable(new),
        "reason": reason,
        "approver": approver,
    }
    entry = AuditEntry(**fields, prev_hash=prev_hash, hash=_row_hash(prev_hash=prev_hash, **fields))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditVerification:
    """Outcome of :func:`verify_audit_chain`.

    Attributes
    ----------
    ok : bool
        True when every row's hash matches its content and its predecessor.
    rows_checked : int
        Rows examined (all of them when ``ok``).
    first_bad_id : int or None
        Id of the first row that does not verify.
    problem : str or None
        What is wrong with that row.
    """

    ok: bool
    rows_checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify_audit_chain(session: Session) -> AuditVerification:
    """Recompute the hash chain of ``audit_log`` and report the first broken row.

    A row is broken when its ``prev_hash`` is not the previous row's ``hash`` (a row
    was deleted, inserted or reordered) or its ``hash`` does not match its content
    (a value was edited).
    """
    expected_prev = GENESIS_HASH
    checked = 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
    for row in rows:
        checked += 1
        if row.prev_hash != expected_prev:
            return AuditVerification(
                False,
                checked,
                row.id,
                f"audit row {row.id}: prev_hash does not match the hash of the row before "
                "it (a row was deleted, inserted or reordered).",
            )
        recomputed = _row_hash(
            prev_hash=row.prev_hash,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity=row.entity,
            key=row.key,
            old=row.old,
            new=row.new,
            reason=row.reason,
            approver=row.approver,
        )
        if recomputed != row.hash:
            return AuditVerification(
                False,
                checked,
                row.id,
                f"audit row {row.id}: content does not match its hash (the row was edited).",
            )
        expected_prev = row.hash
    return AuditVerification(True, checked)


# -------------------------------------------------------------------- change requests


def request_change(
    session_factory: SessionFactory,
    *,
    entity: str,
    record_id: int,
    new: Mapping[str, Any],
    reason: str,
    author: str,
) -> ChangeRequest:
    """File a change request against one plan record (status ``pending``).

    The old values are read from the record now, so the approver sees what changes.
    """
    model, fields = _changeable(entity)
    bad = sorted(set(new) - fields)
    if not new or bad:
        raise choice_error(f"request_change({entity!r})", "new", bad or new, sorted(fields))
    if not reason or not reason.strip():
        raise parameter_error("request_change", "reason", "a non-empty explanation", reason)
    with session_factory.begin() as session:
        record = session.get(model, record_id)
        if record is None:
            raise NotFoundError(f"No {entity} record with id {record_id}.")
        old = {name: getattr(record, name) for name in new}
        change = ChangeRequest(
            entity=entity,
            record_id=record_id,
            old=_jsonable(old),
            new=_jsonable(dict(new)),
            reason=reason,
            author=author,
            status=ChangeStatus.PENDING.value,
            created_at=utcnow(),
        )
        session.add(change)
        session.flush()
        append_audit(
            session,
            actor=author,
            action="change.request",
            entity=entity,
            key=str(record_id),
            old=old,
            new=dict(new),
            reason=reason,
        )
    return change


def approve_change(
    session_factory: SessionFactory, change_id: int, *, approver: str
) -> ChangeRequest:
    """Approve and apply a pending change request; the approver must not be its author."""
    with session_factory.begin() as session:
        change = _pending(session, change_id)
        if approver == change.author:
            raise WorkflowError(
                f"Change request {change_id} was written by {approver!r}; a change needs an "
                "approver other than its author. Ask a colleague to approve it."
            )
        model, _ = _changeable(change.entity)
        record = session.get(model, change.record_id)
        if record is None:
            raise NotFoundError(f"No {change.entity} record with id {change.record_id}.")
        current = _jsonable({name: getattr(record, name) for name in change.new})
        if current != change.old:
            raise WorkflowError(
                f"Change request {change_id}: the record changed since the request "
                f"(requested from {change.old}, now {current}). File a new request."
            )
        for name, value in change.new.items():
            setattr(record, name, value)
        change.status = ChangeStatus.APPLIED.value
        change.approver = approver
        change.decided_at = utcnow()
        append_audit(
            session,
            actor=change.author,
            action="change.apply",
            entity=change.entity,
            key=str(change.record_id),
            old=change.old,
            new=change.new,
            reason=change.reason,
            approver=approver,
        )
    return change


def reject_change(
    session_factory: SessionFactory, change_id: int, *, approver: str, reason: str
) -> ChangeRequest:
    """Reject a pending change request (the record is left as it is)."""
    with session_factory.begin() as session:
        change = _pending(session, change_id)
        change.status = ChangeStatus.REJECTED.value
        change.approver = approver
        change.decided_at = utcnow()
        append_audit(
            session,
            actor=approver,
            action="change.reject",
            entity=change.entity,
            key=str(change.record_id),
            old=change.old,
            new=change.new,
            reason=reason,
        )
    return change


def _pending(session: Session, change_id: int) -> ChangeRequest:
    change = session.get(ChangeRequest, change_id)
    if change is None:
        raise NotFoundError(f"No change request with id {change_id}.")
    if change.status != ChangeStatus.PENDING.value:
        raise WorkflowError(
            f"Change request {change_id} is {change.status!r}; only pending requests can be "
            "approved or rejected."
        )
    return change


def _changeable(entity: str) -> tuple[type[PolicyRow], frozenset[str]]:
    try:
        return CHANGEABLE[entity]
    except KeyError:
        raise choice_error("change request", "entity", entity, CHANGEABLE) from None
