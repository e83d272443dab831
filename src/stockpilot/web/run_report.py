"""Build the HTML report of a planning run from what the store holds."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import select

from stockpilot.io.ingest import planning_demand
from stockpilot.services import runs
from stockpilot.services.planning import source_declarations
from stockpilot.settings import Settings, load_settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory
from stockpilot.store.models import ImportBatch, QuarantineRecord, Snapshot
from stockpilot.web.report import ReportData, StepLine, render_report


def _import_counts(batches: list[ImportBatch]) -> pl.DataFrame:
    rows = []
    for batch in batches:
        for entity, counts in (batch.counts or {}).get("entities", {}).items():
            rows.append(
                (
                    batch.id,
                    entity,
                    counts["rows_in"],
                    counts["rows_loaded"],
                    counts["rows_quarantined"],
                )
            )
    return pl.DataFrame(
        rows, schema=["batch", "entity", "rows_in", "loaded", "quarantined"], orient="row"
    )


def build_report_data(
    session_factory: SessionFactory, run_id: int, *, settings: Settings | None = None
) -> ReportData:
    """Everything the run report shows, read from the store."""
    config = settings or load_settings()
    summary = runs.get_run(session_factory, run_id)
    with session_factory() as session:
        snapshot = session.get(Snapshot, summary.snapshot_id) if summary.snapshot_id else None
        batch_ids = snapshot.batch_ids if snapshot else ()
        batches = list(
            session.execute(select(ImportBatch).where(ImportBatch.id.in_(batch_ids))).scalars()
        )
        table = QuarantineRecord.__table__
        reasons = session.execute(
            select(table.c.reason, table.c.entity).where(table.c.batch_id.in_(batch_ids))
        ).all()
        policies = repo.read_plan_rows(session, "policies", run_id)
        forecasts = repo.read_plan_rows(session, "forecasts", run_id)
        if snapshot is not None:
            buckets, authority = source_declarations(session)
            demand = repo.read_entity(session, "demand", batch_ids)
            history = planning_demand(
                demand, bucket=config.planning_bucket, source_buckets=buckets, authority=authority
            )
        else:
            history = pl.DataFrame(
                schema={
                    "item_id": pl.String,
                    "location_id": pl.String,
                    "period": pl.Date,
                    "quantity": pl.Float64,
                }
            )
    reason_counts = (
        pl.DataFrame(reasons, schema=["reason", "entity"], orient="row")
        .group_by("reason", "entity")
        .len()
        .sort("len", descending=True)
        .rename({"len": "rows"})
    )
    highlights = [
        ("item-locations planned", f"{policies.select('item_id', 'location_id').n_unique():,}"),
        ("rows quarantined", f"{sum(b.rows_quarantined for b in batches):,}"),
    ]
    if forecasts.height:
        highlights.append(("forecast rows", f"{forecasts.height:,}"))
    simulation = runs.read_artifact(session_factory, run_id, "simulation")
    service = None
    if simulation is not None and simulation.height:
        weight = pl.col("demand").fill_null(0.0)
        service = (
            simulation.group_by("abc")
            .agg(
                pl.len().alias("lines"),
                pl.col("service_target").mean().alias("target"),
                ((pl.col("expected_service").fill_null(0.0) * weight).sum() / weight.sum()).alias(
                    "expected"
                ),
                (
                    (pl.col("simulated_fill_rate").fill_null(0.0) * weight).sum() / weight.sum()
                ).alias("simulated"),
                (
                    (
                        pl.col("replay_fill_rate").fill_null(0.0)
                        * pl.col("replay_demand").fill_null(0.0)
                    ).sum()
                    / pl.col("replay_demand").fill_null(0.0).sum()
                ).alias("replay"),
                pl.col("average_on_hand").sum().alias("average_on_hand_units"),
            )
            .sort("abc")
        )
    network = runs.read_artifact(session_factory, run_id, "network")
    network_summary = None
    if network is not None and network.height:
        network_summary = (
            network.group_by("location_id")
            .agg(
                pl.len().alias("item_nodes"),
                (pl.col("stock_role") == "decoupling").sum().alias("holding_safety_stock"),
                pl.col("safety_stock").sum().alias("safety_stock_units"),
            )
            .sort("safety_stock_units", descending=True)
        )
    accuracy = runs.read_artifact(session_factory, run_id, "accuracy")
    accuracy_by_class = accuracy_by_author = None
    if accuracy is not None and accuracy.height:
        accuracy_by_class = (
            accuracy.with_columns(pl.col("abc").fill_null("unclassified"))
            .group_by("abc")
            .agg(
                pl.len().alias("series"),
                (pl.col("mae").fill_nan(None) * pl.col("periods")).sum().alias("_err"),
                pl.col("actual").sum().alias("_actual"),
                pl.col("forecast").sum().alias("_forecast"),
                pl.col("fva_statistical").fill_nan(None).mean().alias("fva_statistical"),
            )
            .with_columns(
                (pl.col("_err") / pl.col("_actual")).alias("wape"),
                ((pl.col("_forecast") - pl.col("_actual")) / pl.col("_actual")).alias("bias"),
            )
            .select("abc", "series", "wape", "bias", "fva_statistical")
            .sort("abc")
        )
        accuracy_by_author = (
            accuracy.filter(pl.col("override_author").fill_null("") != "")
            .group_by("override_author")
            .agg(
                pl.len().alias("series"),
                pl.col("fva_override").fill_nan(None).mean().alias("fva_override"),
            )
            .sort("override_author")
        )
    return ReportData(
        title="stockpilot planning run",
        run_id=str(summary.id),
        status=summary.status.value,
        created_at=summary.created_at,
        steps=[StepLine(s.name, s.status, s.duration_s, s.message) for s in summary.steps],
        import_counts=_import_counts(batches),
        quarantine_reasons=reason_counts,
        policies=policies.drop([c for c in ("id", "run_id") if c in policies.columns]),
        history=history,
        forecasts=forecasts,
        highlights=highlights,
        error=summary.error_message,
        service_by_class=service,
        exceptions=runs.read_artifact(session_factory, run_id, "exceptions"),
        network=network_summary,
        accuracy_by_class=accuracy_by_class,
        accuracy_by_author=accuracy_by_author,
    )


def write_run_report(
    session_factory: SessionFactory,
    run_id: int,
    path: Path,
    *,
    settings: Settings | None = None,
) -> Path:
    """Render the run report to ``path`` (a standalone HTML file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build_report_data(session_factory, run_id, settings=settings)
    path.write_text(render_report(data), encoding="utf-8")
    return path
