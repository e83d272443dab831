"""Planning runs: ordered steps with persisted progress, failure handling, atomic publish."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import select, update

from stockpilot.errors import NotFoundError, WorkflowError
from stockpilot.services import audit
from stockpilot.services.audit import verify_audit_chain
from stockpilot.services.imports import import_frames
from stockpilot.services.runs import (
    RunContext,
    StepRegistry,
    approve_outputs,
    create_run,
    create_snapshot,
    execute_run,
    fail,
    get_run,
    list_runs,
    publish,
    publish_step,
    published_run_id,
    read_published,
    save_forecasts,
    save_policies,
    snapshot_step,
)
from stockpilot.settings import Settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory
from stockpilot.store.models import PlanningRun, RunStep, Snapshot
from stockpilot.vocab import RunStatus

AS_OF = date(2026, 2, 20)
SETTINGS = Settings(database_url="sqlite://")


def load_data(sessions: SessionFactory, quantity: str = "4") -> int:
    tables = {
        "items": pl.DataFrame({"item_id": ["A", "B"], "unit_cost": ["2", "3"]}),
        "locations": pl.DataFrame({"location_id": ["DC1"]}),
        "demand": pl.DataFrame(
            {
                "item_id": ["A", "B"],
                "location_id": ["DC1", "DC1"],
                "date": ["2026-02-09", "2026-02-16"],
                "quantity": [quantity, "6"],
            }
        ),
    }
    return import_frames(sessions, tables, as_of=AS_OF, settings=SETTINGS).batch_id


def forecast_step(context: RunContext) -> None:
    demand = context.read_entity("demand")
    level = float(context.state.get("level", 1.0))
    forecasts = demand.select(
        "item_id",
        "location_id",
        pl.lit(date(2026, 2, 23)).alias("period_start"),
        pl.lit("naive").alias("model"),
        (pl.col("quantity") * level).alias("mean"),
        (pl.col("quantity") * level * 1.5).alias("q95"),
    )
    context.progress(0.5, "half way")
    context.state["seen_progress"] = _stored_progress(context)
    save_forecasts(context, forecasts)


def _stored_progress(context: RunContext) -> float:
    """Read the step's progress through a different connection than the step's own."""
    factory = context.state["sessions"]
    with factory() as other:
        step = other.execute(
            select(RunStep).where(RunStep.run_id == context.run_id, RunStep.name == "forecast")
        ).scalar_one()
        return float(step.progress)


def policy_step(context: RunContext) -> None:
    if context.state.get("break_policy"):
        raise ValueError("lead time missing for item B at DC1 (injected)")
    forecasts = repo.read_plan_rows(context.session, "forecasts", context.run_id)
    save_policies(
        context,
        forecasts.select(
            "item_id",
            "location_id",
            pl.lit("base_stock").alias("policy"),
            pl.col("q95").alias("order_up_to"),
            (pl.col("q95") - pl.col("mean")).alias("safety_stock"),
            pl.lit("cycle_service").alias("service_type"),
            pl.lit(0.95).alias("service_target"),
            pl.lit("q95 of the naive forecast").alias("explanation"),
        ),
    )


def registry(*, with_publish: bool = True) -> StepRegistry:
    steps = StepRegistry()
    steps.register("snapshot", snapshot_step)
    steps.register("forecast", forecast_step)
    steps.register("policy", policy_step)
    if with_publish:
        steps.register("publish", publish_step)
    return steps


def run_once(sessions: SessionFactory, steps: StepRegistry, **state: object) -> int:
    run_id = create_run(sessions, steps, settings={"horizon": 4})
    execute_run(sessions, run_id, steps, settings=SETTINGS, state={"sessions": sessions, **state})
    return run_id


def test_registry_orders_steps_and_refuses_ambiguity() -> None:
    steps = registry()
    steps.register("abc_check", lambda ctx: None, order=45)
    assert [s.name for s in steps.steps()] == [
        "snapshot",
        "abc_check",
        "forecast",
        "policy",
        "publish",
    ]
    with pytest.raises(WorkflowError, match="already registered"):
        steps.register("forecast", forecast_step)
    with pytest.raises(ValueError, match="order"):
        steps.register("mystery", forecast_step)


def test_run_executes_steps_in_order_and_persists_progress(sessions: SessionFactory) -> None:
    load_data(sessions)
    seen: list[tuple[str, float]] = []
    steps = registry()
    run_id = create_run(sessions, steps)
    assert get_run(sessions, run_id).status is RunStatus.QUEUED
    state: dict[str, object] = {"sessions": sessions}
    summary = execute_run(
        sessions,
        run_id,
        steps,
        settings=SETTINGS,
        state=state,
        on_progress=lambda name, fraction, _msg: seen.append((name, fraction)),
    )
    assert summary.status is RunStatus.SUCCEEDED
    assert summary.snapshot_id is not None and summary.published
    assert [(s.name, s.status, s.progress) for s in summary.steps] == [
        ("snapshot", "succeeded", 1.0),
        ("forecast", "succeeded", 1.0),
        ("policy", "succeeded", 1.0),
        ("publish", "succeeded", 1.0),
    ]
    assert all(s.duration_s is not None and s.duration_s >= 0 for s in summary.steps)
    assert summary.started_at <= summary.finished_at
    # Progress was committed while the step ran: another connection saw 0.5.
    assert state["seen_progress"] == 0.5
    assert ("forecast", 0.5) in seen
    assert published_run_id(sessions) == run_id
    policies = read_published(sessions, "policies")
    assert policies.sort("item_id")["order_up_to"].to_list() == [6.0, 9.0]
    assert set(policies["status"]) == {"published"}
    assert [r.id for r in list_runs(sessions)] == [run_id]


def test_failed_run_leaves_the_published_plan_untouched(sessions: SessionFactory) -> None:
    load_data(sessions)
    good = run_once(sessions, registry())
    before = read_published(sessions, "policies")
    steps = registry()
    bad = create_run(sessions, steps)
    with pytest.raises(ValueError, match="injected"):
        execute_run(
            sessions,
            bad,
            steps,
            settings=SETTINGS,
            state={"sessions": sessions, "break_policy": True, "level": 10.0},
        )
    failed = get_run(sessions, bad)
    assert failed.status is RunStatus.FAILED
    assert failed.error_message is not None and "lead time missing" in failed.error_message
    assert [(s.name, s.status) for s in failed.steps] == [
        ("snapshot", "succeeded"),
        ("forecast", "succeeded"),
        ("policy", "failed"),
        ("publish", "pending"),
    ]
    assert "injected" in (failed.steps[2].message or "")
    assert published_run_id(sessions) == good
    assert read_published(sessions, "policies").equals(before)
    with sessions() as session:
        leftovers = repo.read_plan_rows(session, "forecasts", bad)
    assert set(leftovers["status"]) == {"proposed"}


def test_publish_is_atomic(sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    load_data(sessions)
    first = run_once(sessions, registry())
    second = run_once(sessions, registry(with_publish=False), level=2.0)
    assert published_run_id(sessions) == first

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable (injected)")

    monkeypatch.setattr(audit, "append_audit", broken_audit)
    with pytest.raises(RuntimeError, match="injected"):
        publish(sessions, second, actor="ana")
    monkeypatch.undo()
    assert published_run_id(sessions) == first
    with sessions() as session:
        rows = repo.read_plan_rows(session, "policies", second)
    assert set(rows["status"]) == {"proposed"}
    publish(sessions, second, actor="ana")
    assert published_run_id(sessions) == second
    assert read_published(sessions, "policies").sort("item_id")["order_up_to"].to_list() == [
        12.0,
        18.0,
    ]
    with sessions() as session:
        assert verify_audit_chain(session).ok


def test_rerun_replaces_only_proposed_rows(sessions: SessionFactory) -> None:
    load_data(sessions)
    steps = registry(with_publish=False)
    run_id = create_run(sessions, steps)
    with pytest.raises(ValueError, match="injected"):
        execute_run(
            sessions,
            run_id,
            steps,
            settings=SETTINGS,
            state={"sessions": sessions, "break_policy": True},
        )
    assert (
        approve_outputs(
            sessions, run_id, kind="forecasts", item_locations=[("A", "DC1")], actor="ana"
        )
        == 1
    )
    summary = execute_run(
        sessions, run_id, steps, settings=SETTINGS, state={"sessions": sessions, "level": 3.0}
    )
    assert summary.status is RunStatus.SUCCEEDED and summary.error_message is None
    with sessions() as session:
        forecasts = repo.read_plan_rows(session, "forecasts", run_id).sort("item_id")
    assert forecasts.select("item_id", "mean", "status").rows() == [
        ("A", 4.0, "approved"),  # approved before the re-run: kept
        ("B", 18.0, "proposed"),  # still proposed: replaced by the re-run
    ]
    publish(sessions, run_id, actor="ana")
    assert set(read_published(sessions, "forecasts")["status"]) == {"published"}


def test_only_queued_or_failed_runs_execute(sessions: SessionFactory) -> None:
    load_data(sessions)
    run_id = run_once(sessions, registry())
    with pytest.raises(WorkflowError, match="succeeded"):
        execute_run(sessions, run_id, registry(), settings=SETTINGS)
    with pytest.raises(WorkflowError, match="already succeeded"):
        fail(sessions, run_id, "worker lost")
    with pytest.raises(NotFoundError, match="runs list"):
        get_run(sessions, 10_000)


def test_fail_marks_a_queued_run(sessions: SessionFactory) -> None:
    run_id = create_run(sessions, registry())
    fail(sessions, run_id, "worker lost")
    summary = get_run(sessions, run_id)
    assert (summary.status, summary.error_message) == (RunStatus.FAILED, "worker lost")


def test_snapshots_are_immutable_and_versioned(sessions: SessionFactory) -> None:
    first_batch = load_data(sessions, quantity="4")
    with sessions.begin() as session:
        first = create_snapshot(session).id
        assert create_snapshot(session).id == first  # same batches, same version
    load_data(sessions, quantity="40")
    with sessions.begin() as session:
        second = create_snapshot(session).id
    assert second != first
    with sessions() as session:
        old = session.get(Snapshot, first)
        new = session.get(Snapshot, second)
        assert old is not None and new is not None
        assert old.batch_ids == (first_batch,)
        old_demand = repo.read_entity(session, "demand", old.batch_ids)
        new_demand = repo.read_entity(session, "demand", new.batch_ids)
    assert old_demand.sort("item_id")["quantity"].to_list() == [4.0, 6.0]
    assert new_demand.sort("item_id")["quantity"].to_list() == [40.0, 6.0]


def test_progress_after_writing_does_not_wait_for_its_own_lock(sessions: SessionFactory) -> None:
    """On SQLite a step that wrote outputs and then reports progress must not block on the
    single-writer lock its own transaction holds (regression guard)."""
    load_data(sessions)

    def write_then_report(context: RunContext) -> None:
        forecast_step(context)
        context.progress(0.9, "written, finishing")

    steps = StepRegistry()
    steps.register("snapshot", snapshot_step)
    steps.register("forecast", write_then_report)
    run_id = create_run(sessions, steps)
    summary = execute_run(sessions, run_id, steps, settings=SETTINGS, state={"sessions": sessions})
    assert summary.status is RunStatus.SUCCEEDED
    assert summary.steps[1].progress == 1.0


def test_outputs_saved_in_partitions_all_survive(sessions: SessionFactory) -> None:
    """Within one execution, later saves append; a re-run replaces them once."""
    load_data(sessions)

    def partitioned(context: RunContext) -> None:
        demand = context.read_entity("demand").sort("item_id")
        for part in demand.iter_slices(1):
            save_forecasts(
                context,
                part.select(
                    "item_id",
                    "location_id",
                    pl.lit(date(2026, 2, 23)).alias("period_start"),
                    pl.lit("naive").alias("model"),
                    (pl.col("quantity") * context.state.get("scale", 1.0)).alias("mean"),
                ),
            )

    steps = StepRegistry()
    steps.register("snapshot", snapshot_step)
    steps.register("forecast", partitioned)
    run_id = create_run(sessions, steps)
    execute_run(sessions, run_id, steps, settings=SETTINGS)
    with sessions() as session:
        first = repo.read_plan_rows(session, "forecasts", run_id)
    assert first.sort("item_id")["mean"].to_list() == [4.0, 6.0]
    with sessions.begin() as session:  # make the run re-runnable
        session.execute(update(PlanningRun).where(PlanningRun.id == run_id).values(status="failed"))
    execute_run(sessions, run_id, steps, settings=SETTINGS, state={"scale": 10.0})
    with sessions() as session:
        again = repo.read_plan_rows(session, "forecasts", run_id)
    assert again.sort("item_id")["mean"].to_list() == [40.0, 60.0]


def test_failing_publish_step_fails_the_run_and_keeps_the_old_plan(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_data(sessions)
    good = run_once(sessions, registry())
    steps = registry()
    run_id = create_run(sessions, steps)

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable (injected)")

    monkeypatch.setattr(audit, "append_audit", broken_audit)
    with pytest.raises(RuntimeError, match="injected"):
        execute_run(
            sessions, run_id, steps, settings=SETTINGS, state={"sessions": sessions, "level": 5.0}
        )
    monkeypatch.undo()
    summary = get_run(sessions, run_id)
    assert summary.status is RunStatus.FAILED and not summary.published
    assert summary.steps[-1].name == "publish" and summary.steps[-1].status == "failed"
    assert published_run_id(sessions) == good
    with sessions() as session:
        rows = repo.read_plan_rows(session, "policies", run_id)
    assert set(rows["status"]) == {"proposed"}
    assert read_published(sessions, "policies").sort("item_id")["order_up_to"].to_list() == [
        6.0,
        9.0,
    ]
