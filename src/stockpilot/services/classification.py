"""The classification criteria agreed across functions: approved, versioned, audited.

Sales, procurement and finance agree on the ABC/XYZ criteria; an approved version is
stored in the append-only audit trail (action ``classification.approve``) with who
approved it, when and why. Planning runs classify with the newest approved version and
record which one they used.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stockpilot.core.classify import ClassificationConfig
from stockpilot.errors import WorkflowError, parameter_error
from stockpilot.services.audit import append_audit
from stockpilot.store.db import SessionFactory
from stockpilot.store.models import AuditEntry

ACTION = "classification.approve"


def active_config(session: Session) -> ClassificationConfig:
    """The newest approved configuration, or the built-in default (an unapproved draft)."""
    entry = (
        session.execute(
            select(AuditEntry).where(AuditEntry.action == ACTION).order_by(AuditEntry.id.desc())
        )
        .scalars()
        .first()
    )
    if entry is None or entry.new is None:
        return ClassificationConfig()
    return ClassificationConfig.from_dict(entry.new)


def approve_config(
    session_factory: SessionFactory,
    config: ClassificationConfig | dict[str, Any],
    *,
    approved_by: str,
    reason: str,
) -> ClassificationConfig:
    """Approve ``config`` as the next version and store it in the audit trail.

    The version must be newer than the active one (versions only move forward), and a
    reason is required: the audit row says why the criteria changed.
    """
    if not reason or not reason.strip():
        raise parameter_error("approve_config", "reason", "a non-empty explanation", reason)
    draft = (
        config
        if isinstance(config, ClassificationConfig)
        else ClassificationConfig.from_dict(config)
    )
    with session_factory.begin() as session:
        current = active_config(session)
        if current.is_approved and draft.version <= current.version:
            raise WorkflowError(
                f"Classification version {draft.version} is not newer than the approved "
                f"version {current.version} (approved by {current.approved_by} at "
                f"{current.approved_at:%Y-%m-%d %H:%M} UTC). Set 'version: {current.version + 1}'."
            )
        approved = draft.approve(approved_by)
        append_audit(
            session,
            actor=approved_by,
            action=ACTION,
            entity="classification_config",
            key=f"version {approved.version}",
            old=current.to_dict() if current.is_approved else None,
            new=approved.to_dict(),
            reason=reason,
        )
    return approved
