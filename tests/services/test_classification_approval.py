"""Classification criteria: approved versions are stored in the audit trail and used by runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stockpilot.core.classify import ClassificationConfig
from stockpilot.errors import ConfigurationError, InvalidParameterError, WorkflowError
from stockpilot.services import imports
from stockpilot.services.audit import verify_audit_chain
from stockpilot.services.classification import (
    active_config,
    approve_config,
    criteria_availability,
)
from stockpilot.settings import Settings
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


def _import_items(store: SessionFactory, folder: Path, rows: str) -> None:
    folder.mkdir()
    (folder / "items.csv").write_text(rows)
    outcome = imports.import_folder(
        store, folder, as_of=date(2026, 11, 2), settings=Settings(home=folder)
    )
    assert outcome.status.value != "rejected", outcome.message


def test_criteria_the_data_cannot_supply_are_rejected_at_approval(
    store: SessionFactory, tmp_path: Path
) -> None:
    # Regression: this config was approved, then every `stockpilot plan` failed in classify.
    impossible = {"version": 2, "abc_criteria": {"margin": 0.3, "order_lines": 0.2, "shelf": 0.5}}
    with pytest.raises(ConfigurationError) as caught:
        approve_config(store, impossible, approved_by="sop", reason="agreed")
    message = str(caught.value)
    assert "'shelf' is not a criterion stockpilot computes" in message
    assert "'margin' needs item selling prices (items.price)" in message
    assert "Criteria available from the stored data: ['annual_value', 'volume', 'order_lines']" in (
        message
    )
    with store() as session:
        assert not active_config(session).is_approved  # nothing was approved

    _import_items(store, tmp_path / "cost_only", "item_id,unit_cost\nA,2.0\nB,3.0\n")
    margin = {"version": 2, "abc_criteria": {"margin": 0.5, "volume": 0.5}}
    with pytest.raises(ConfigurationError, match="none of the 2 stored item record"):
        approve_config(store, margin, approved_by="sop", reason="agreed")
    # A criterion with weight 0 needs no data.
    approve_config(
        store,
        {"version": 2, "abc_criteria": {"margin": 0.0, "volume": 1.0}},
        approved_by="sop",
        reason="volume only until prices are loaded",
    )
    _import_items(store, tmp_path / "priced", "item_id,unit_cost,price\nA,2.0,3.5\nB,3.0,\n")
    approved = approve_config(
        store, {**margin, "version": 3}, approved_by="sop", reason="prices loaded"
    )
    assert dict(approved.abc_criteria) == {"margin": 0.5, "volume": 0.5}
    with store() as session:
        assert criteria_availability(session).available == (
            "annual_value",
            "volume",
            "order_lines",
            "margin",
        )
