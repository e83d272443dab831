"""The audit trail is a hash chain: any edit, deletion or reordering is detected."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from stockpilot.errors import WorkflowError
from stockpilot.services.audit import (
    GENESIS_HASH,
    append_audit,
    approve_change,
    reject_change,
    request_change,
    verify_audit_chain,
)
from stockpilot.store.db import SessionFactory, session_factory
from stockpilot.store.models import AuditEntry, ChangeRequest, PlanningRun, PolicyRow, utcnow


def write_chain(sessions: SessionFactory, n: int) -> list[int]:
    ids = []
    for i in range(n):
        with sessions.begin() as session:
            entry = append_audit(
                session,
                actor=f"user{i % 3}",
                action="policy.edit",
                entity="policies",
                key=f"item{i}@DC1",
                old={"reorder_point": i, "as_of": date(2026, 1, 1)},
                new={"reorder_point": i + 1.5},
                reason="review",
            )
            ids.append(entry.id)
    return ids


def test_untouched_chain_verifies(sessions: SessionFactory) -> None:
    write_chain(sessions, 5)
    with sessions() as session:
        result = verify_audit_chain(session)
        first = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().first()
    assert result.ok and result.rows_checked == 5
    assert first is not None and first.prev_hash == GENESIS_HASH
    assert first.at.tzinfo is not None


def test_edited_value_is_detected(sessions: SessionFactory) -> None:
    ids = write_chain(sessions, 5)
    with sessions.begin() as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.id == ids[2]).values(new={"reorder_point": 999})
        )
    with sessions() as session:
        result = verify_audit_chain(session)
    assert not result.ok
    assert result.first_bad_id == ids[2]
    assert result.problem is not None and "edited" in result.problem


def test_deleted_row_is_detected(sessions: SessionFactory) -> None:
    ids = write_chain(sessions, 5)
    with sessions.begin() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
    with sessions() as session:
        result = verify_audit_chain(session)
    assert not result.ok
    assert result.first_bad_id == ids[2]
    assert result.problem is not None and "deleted" in result.problem


def test_chain_cannot_fork(sessions: SessionFactory) -> None:
    """Two rows may never claim the same predecessor (unique prev_hash)."""
    write_chain(sessions, 1)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            AuditEntry(
                at=utcnow(),
                actor="mallory",
                action="x",
                entity="x",
                prev_hash=GENESIS_HASH,
                hash="f" * 64,
            )
        )


def test_audit_row_rolls_back_with_its_change(sessions: SessionFactory) -> None:
    with pytest.raises(RuntimeError), sessions.begin() as session:
        append_audit(session, actor="ana", action="x", entity="policies")
        raise RuntimeError("the change failed")
    with sessions() as session:
        assert verify_audit_chain(session).rows_checked == 0


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    values=st.lists(
        st.dictionaries(
            st.text(min_size=1, max_size=5),
            st.one_of(
                st.integers(-(2**40), 2**40),
                st.floats(allow_nan=False, allow_infinity=False),
                st.text(max_size=10),
                st.none(),
            ),
            max_size=4,
        ),
        min_size=1,
        max_size=4,
    ),
    victim=st.integers(min_value=0, max_value=3),
)
def test_any_stored_json_verifies_and_any_edit_is_caught(
    engine: Engine, values: list[dict[str, object]], victim: int
) -> None:
    sessions = session_factory(engine)
    with engine.begin() as connection:
        connection.execute(delete(AuditEntry))
    ids = []
    for value in values:
        with sessions.begin() as session:
            ids.append(append_audit(session, actor="ana", action="a", entity="e", new=value).id)
    with sessions() as session:
        assert verify_audit_chain(session).ok
    target = ids[victim % len(ids)]
    with sessions.begin() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == target).values(reason="tampered"))
    with sessions() as session:
        assert verify_audit_chain(session).first_bad_id == target


def _policy(sessions: SessionFactory) -> int:
    with sessions.begin() as session:
        run = PlanningRun(status="succeeded", created_at=utcnow(), settings={})
        session.add(run)
        session.flush()
        row = PolicyRow(
            run_id=run.id, item_id="A", location_id="DC1", policy="s_Q", reorder_point=10.0
        )
        session.add(row)
        session.flush()
        return row.id


def test_change_request_needs_an_approver_other_than_the_author(
    sessions: SessionFactory,
) -> None:
    policy_id = _policy(sessions)
    change = request_change(
        sessions,
        entity="policies",
        record_id=policy_id,
        new={"reorder_point": 14.0},
        reason="supplier unreliable in Q1",
        author="ana",
    )
    assert change.old == {"reorder_point": 10.0}
    with pytest.raises(WorkflowError, match="other than its author"):
        approve_change(sessions, change.id, approver="ana")
    applied = approve_change(sessions, change.id, approver="ben")
    assert (applied.status, applied.approver) == ("applied", "ben")
    with sessions() as session:
        policy = session.get(PolicyRow, policy_id)
        assert policy is not None and policy.reorder_point == 14.0
        trail = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert [(a.action, a.approver) for a in trail] == [
            ("change.request", None),
            ("change.apply", "ben"),
        ]
        assert trail[-1].old == {"reorder_point": 10.0}
        assert trail[-1].new == {"reorder_point": 14.0}
        assert verify_audit_chain(session).ok
    with pytest.raises(WorkflowError, match="pending"):
        reject_change(sessions, change.id, approver="ben", reason="late")


def test_change_request_rejects_unknown_fields(sessions: SessionFactory) -> None:
    policy_id = _policy(sessions)
    with pytest.raises(ValueError, match="reorder_point"):
        request_change(
            sessions,
            entity="policies",
            record_id=policy_id,
            new={"item_id": "B"},
            reason="x",
            author="ana",
        )


def test_concurrent_appenders_keep_one_chain(sessions: SessionFactory) -> None:
    """Writers appending at the same time serialize; the chain stays linear and valid."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def writer(name: str) -> None:
        try:
            barrier.wait()
            for i in range(8):
                with sessions.begin() as session:
                    append_audit(session, actor=name, action="x", entity="e", key=str(i))
        except BaseException as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with sessions() as session:
        result = verify_audit_chain(session)
    assert result.ok and result.rows_checked == 24


def test_database_refuses_self_approval(sessions: SessionFactory) -> None:
    """Four eyes is also a CHECK constraint, so no code path can approve its own change."""
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            ChangeRequest(
                entity="policies",
                record_id=1,
                old={},
                new={},
                reason="r",
                author="ana",
                approver="ana",
                status="applied",
                created_at=utcnow(),
            )
        )
