"""The classification criteria agreed across functions: approved, versioned, audited.

Sales, procurement and finance agree on the ABC/XYZ criteria; an approved version is
stored in the append-only audit trail (action ``classification.approve``) with who
approved it, when and why. Planning runs classify with the newest approved version and
record which one they used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stockpilot.core.classify import ABCCriterion, ClassificationConfig
from stockpilot.errors import ConfigurationError, WorkflowError, parameter_error
from stockpilot.services.audit import append_audit
from stockpilot.store.db import SessionFactory
from stockpilot.store.models import AuditEntry, canonical_table

ACTION = "classification.approve"


@dataclass(frozen=True)
class CriteriaAvailability:
    """Which ABC criteria the stored data can supply, and why the others cannot.

    Attributes
    ----------
    available
        Criteria a planning run can compute from the stored data.
    unavailable
        Criterion -> what it needs that the data lack.
    """

    available: tuple[str, ...]
    unavailable: dict[str, str]


def criteria_availability(session: Session) -> CriteriaAvailability:
    """The ABC criteria (:class:`~stockpilot.core.classify.ABCCriterion`) the store supports.

    ``annual_value``, ``volume`` and ``order_lines`` come from demand and the required
    unit cost, so they are always available; ``margin`` needs a selling price
    (``items.price``) on at least one stored item.
    """
    items = canonical_table("items")
    stored, priced = session.execute(
        select(func.count(), func.count(items.c.price)).select_from(items)
    ).one()
    unavailable: dict[str, str] = {}
    if priced == 0:
        unavailable[ABCCriterion.MARGIN.value] = (
            "item selling prices (items.price); none of the "
            f"{stored} stored item record(s) has one"
            + ("" if stored else ": import items with a 'price' column first")
        )
    available = tuple(c.value for c in ABCCriterion if c.value not in unavailable)
    return CriteriaAvailability(available, unavailable)


def check_criteria(session: Session, config: ClassificationConfig) -> None:
    """Refuse criteria a planning run could not compute, listing all problems at once.

    Raises
    ------
    ConfigurationError
        When ``config.abc_criteria`` names a criterion outside
        :class:`~stockpilot.core.classify.ABCCriterion`, or gives a positive weight to one
        the stored data cannot supply. The message lists the criteria that are available.
    """
    known = {c.value for c in ABCCriterion}
    supply = criteria_availability(session)
    problems = [
        f"'{name}' is not a criterion stockpilot computes"
        for name in sorted(config.abc_criteria)
        if name not in known
    ]
    problems += [
        f"'{name}' needs {supply.unavailable[name]}"
        for name, weight in sorted(config.abc_criteria.items())
        if weight > 0 and name in supply.unavailable
    ]
    if problems:
        raise ConfigurationError(
            f"Classification version {config.version} cannot be approved: "
            + "; ".join(problems)
            + f". Criteria available from the stored data: {list(supply.available)}. "
            "Change 'abc_criteria' to use only those (weights are normalised)."
        )


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

    The version must be newer than the active one (versions only move forward), a
    reason is required (the audit row says why the criteria changed), and every ABC
    criterion must be one a planning run can compute from the stored data
    (:func:`check_criteria`), so an approved version never stops a run.
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
        check_criteria(session, draft)
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
