"""Classification criteria: approved versions are stored in the audit trail and used by runs."""

from __future__ import annotations

import pytest

from stockpilot.core.classify import ClassificationConfig
from stockpilot.errors import InvalidParameterError, WorkflowError
from stockpilot.services.audit import verify_audit_chain
from stockpilot.services.classification import active_config, approve_config
from stockpilot.store.db import SessionFactory, open_store


@pytest.fixture
def store() -> SessionFactory:
    return open_store("sqlite://")


def test_default_is_an_unapproved_draft(store: SessionFactory) -> None:
    with store() as session:
        config = active_config(session)
    assert config == ClassificationConfig()
    assert not config.is_approved


def test_approved_version_is_active_and_audited(store: SessionFactory) -> None:
    draft = ClassificationConfig(version=2, abc_cutoffs=(0.7, 0.9))
    approved = approve_config(
        store, draft.to_dict(), approved_by="finance.lead", reason="S&OP 2026-11"
    )
    assert approved.is_approved and approved.approved_by == "finance.lead"
    with store() as session:
        active = active_config(session)
        assert active.version == 2 and active.abc_cutoffs == (0.7, 0.9)
        assert active.approved_by == "finance.lead" and active.approved_at is not None
        assert verify_audit_chain(session).ok


def test_versions_only_move_forward(store: SessionFactory) -> None:
    approve_config(store, ClassificationConfig(version=2), approved_by="a", reason="first")
    with pytest.raises(WorkflowError, match="not newer than the approved version 2"):
        approve_config(store, ClassificationConfig(version=2), approved_by="b", reason="again")
    approve_config(store, ClassificationConfig(version=3), approved_by="b", reason="second")
    with store() as session:
        assert active_config(session).version == 3


def test_a_reason_is_required(store: SessionFactory) -> None:
    with pytest.raises(InvalidParameterError, match="'reason' parameter"):
        approve_config(store, ClassificationConfig(version=2), approved_by="a", reason=" ")
