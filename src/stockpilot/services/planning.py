"""The planning cycle as registered run steps.

``ingest -> validate -> snapshot -> classify -> forecast -> policy -> network ->
simulate -> publish``, each a plain function of the :class:`RunContext`, registered in a
:class:`StepRegistry` and executed by :func:`stockpilot.services.runs.execute_run` (which
records progress and timings and marks the run failed when a step raises).

Data flow between steps goes through ``context.state`` (in memory) and the store
(forecasts and policies as ``proposed`` rows; publish makes them the plan).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from stockpilot.core.calendar import bucket_ends, days
from stockpilot.core.classify import ABCCriterion, ClassificationConfig, classify
from stockpilot.core.forecast.events import (
    AdjustmentType,
    EventKind,
    EventScope,
    ForecastEvent,
)
from stockpilot.core.forecast.exceptions import ExceptionRules
from stockpilot.core.review import choose_review_type
from stockpilot.core.supplier import (
    clean_receipt_records,
    effective_lead_time,
    supplier_performance,
)
from stockpilot.engine.accuracy import plan_accuracy
from stockpilot.engine.echelon import (
    echelon_forecast,
    echelon_map,
    echelon_note,
    echelon_panel,
    echelon_parameters,
    multi_location_nodes,
    pass_through_flow_stages,
    pass_through_supply_variability,
    simulate_family_networks,
    simulate_stage_networks,
)
from stockpilot.engine.forecasting import (
    Forecaster,
    ForecastResult,
    item_inputs,
    review_queue,
)
from stockpilot.engine.network import (
    FamilyNetwork,
    build_family_networks,
    network_inputs,
    optimize_network_stock,
)
from stockpilot.engine.panel import Panel, to_panel
from stockpilot.engine.policies import POLICY_COLUMNS, PolicyOptions, compute_policies
from stockpilot.engine.simulation import simulate_policy_lines
from stockpilot.errors import InvalidDataError
from stockpilot.io.gate import HISTORY_DATES, Reason
from stockpilot.io.ingest import planning_demand
from stockpilot.services import imports
from stockpilot.services.audit import append_audit
from stockpilot.services.classification import active_config
from stockpilot.services.runs import (
    RunContext,
    StepRegistry,
    publish_step,
    revise_policies,
    save_artifact,
    save_forecasts,
    save_policies,
    snapshot_step,
)
from stockpilot.settings import Settings
from stockpilot.store.db import SessionFactory
from stockpilot.store.models import (
    AuditEntry,
    ImportBatch,
    PublishedPlan,
    QuarantineRecord,
    QuarantineStatus,
)
from stockpilot.store.repositories import read_plan_rows
from stockpilot.vocab import BUCKET_DAYS, PERIODS_PER_YEAR, Bucket

FORECAST_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
#: Forecast buckets the simulate step does not count while stock settles.
SIMULATION_WARMUP = 2


@dataclass(frozen=True)
class PlanOptions:
    """Choices of one planning run (everything else comes from :class:`Settings`).

    Attributes
    ----------
    as_of
        The date the data describe; the last complete planning bucket before it ends the
        history.
    import_folder, mappings
        When given, the ``ingest`` step imports this folder first (with these source
        mappings); otherwise the run plans on what is stored.
    service_targets
        Fill-rate target per ABC class.
    transfer_lead_time
        Lead time between a location and its parent, in planning buckets.
    make_lead_time
        Production lead time of made items, in planning buckets.
    simulate_periods
        Buckets of recent history the proposed policies are replayed on.
    simulate_replications
        Demand paths drawn from each series' forecast for the forward service check.
    report_folder
        Where run artefacts (network placement) are written; ``None`` keeps them in memory.
    """

    as_of: date
    import_folder: Path | None = None
    mappings: tuple[Path, ...] = ()
    service_targets: Mapping[str, float] = field(
        default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90}
    )
    transfer_lead_time: float = 1.0
    make_lead_time: float = 2.0
    simulate_periods: int = 52
    simulate_replications: int = 20
    actor: str = "planner"
    report_folder: Path | None = None


def last_complete_bucket(as_of: date, bucket: Bucket) -> date:
    """Start of the last bucket that ends before ``as_of``."""
    day = as_of - timedelta(days=1)
    if bucket is Bucket.WEEK:
        start = day - timedelta(days=day.weekday())
        return start if start + timedelta(days=6) <= day else start - timedelta(days=7)
    if bucket is Bucket.MONTH:
        start = day.replace(day=1)
        next_month = (start + timedelta(days=32)).replace(day=1)
        return (
            start
            if next_month - timedelta(days=1) <= day
            else (start - timedelta(days=1)).replace(day=1)
        )
    return day


# --------------------------------------------------------------------- the steps


def _state(context: RunContext) -> dict[str, Any]:
    return context.state


def make_ingest_step(session_factory: SessionFactory, options: PlanOptions) -> Any:
    """The ``ingest`` step: import ``options.import_folder`` when one is given."""

    def ingest(context: RunContext) -> None:
        if options.import_folder is None:
            context.progress(1.0, "no folder given: planning on the stored batches")
            return
        outcome = imports.import_folder(
            session_factory,
            options.import_folder,
            mappings=options.mappings,
            as_of=options.as_of,
            settings=context.settings,
            actor=options.actor,
        )
        _state(context)["import"] = outcome
        context.progress(1.0, outcome.message)

    return ingest


def source_declarations(session: Session) -> tuple[dict[str, Bucket], dict[str, str]]:
    """Source buckets and channel authorities declared by the mappings of stored batches."""
    buckets: dict[str, Bucket] = {}
    authority: dict[str, str] = {}
    for batch in session.query(ImportBatch).order_by(ImportBatch.id):
        sources = (batch.counts or {}).get("sources", {})
        for name, spec in sources.items():
            buckets[name] = Bucket(spec["bucket"])
            for channel in spec.get("authoritative_for", []):
                authority[channel] = name
    return buckets, authority


def validate_step(context: RunContext) -> None:
    """The ``validate`` step: the gate's verdict on the data this run will read.

    The gate itself runs inside every import (nothing reaches the store unchecked); this
    step refuses to plan when no batch loaded records and reports what is quarantined.
    """
    batches = context.session.query(ImportBatch).all()
    loaded = [b for b in batches if b.rows_loaded > 0]
    if not loaded:
        raise InvalidDataError(
            "No import batch loaded any records; import data first "
            "(stockpilot import DIR) and check its quarantine report."
        )
    rows_in = sum(b.rows_in for b in batches)
    quarantined = sum(b.rows_quarantined for b in batches)
    context.progress(
        1.0,
        f"{len(loaded)} batch(es) with data; {rows_in} rows in, {quarantined} quarantined"
        + _now_in_history(context.session, _state(context)["as_of"]),
    )


def _now_in_history(session: Session, as_of: date) -> str:
    """A note on open records quarantined as ``future_date`` that this run's ``as_of``
    has caught up with: their demand is missing from the history this run plans on (an
    import judged them against an earlier date), else ""."""
    records = session.execute(
        select(QuarantineRecord.id, QuarantineRecord.entity, QuarantineRecord.values).where(
            QuarantineRecord.status == QuarantineStatus.OPEN.value,
            QuarantineRecord.reason == Reason.FUTURE_DATE.value,
        )
    ).all()
    due: dict[str, list[int]] = {}
    for record_id, entity, values in records:
        for column in HISTORY_DATES.get(entity, ()):
            text = (values or {}).get(column)
            try:
                day = date.fromisoformat(str(text)[:10])
            except ValueError:
                continue
            if day <= as_of:
                due.setdefault(entity, []).append(int(record_id))
                break
    if not due:
        return ""
    counts = ", ".join(f"{len(ids)} {entity}" for entity, ids in sorted(due.items()))
    first = sorted(i for ids in due.values() for i in ids)[:3]
    return (
        f"; {counts} record(s) quarantined as future_date now lie inside the history as of "
        f"{as_of}, so this run plans without them: release them with `stockpilot quarantine "
        f"release --as-of {as_of} ID ...` (ids {', '.join(map(str, first))}"
        f"{', ...' if sum(map(len, due.values())) > len(first) else ''}; "
        "`stockpilot quarantine list` shows all)"
    )


def _planning_panel(context: RunContext) -> Panel:
    """Authoritative demand in the planning bucket, as a panel ending before ``as_of``."""
    settings = context.settings
    demand = context.read_entity("demand")
    if demand.height == 0:
        raise InvalidDataError(
            "The snapshot holds no demand records; import demand (stockpilot import DIR) "
            "before planning."
        )
    buckets, authority = source_declarations(context.session)
    planning = planning_demand(
        demand, bucket=settings.planning_bucket, source_buckets=buckets, authority=authority
    )
    as_of: date = _state(context)["as_of"]
    end = last_complete_bucket(as_of, settings.planning_bucket)
    # Returns are netted into their bucket; a bucket whose returns exceed its sales is
    # zero demand, not negative demand (the surplus is stock, not a forecastable quantity).
    planning = planning.filter(pl.col("period") <= end).with_columns(
        pl.col("quantity").clip(lower_bound=0.0)
    )
    panel = to_panel(planning, bucket=settings.planning_bucket, end=end)
    _state(context).update(planning_demand=planning, panel=panel, authority=authority)
    return panel


def _computable_config(
    config: ClassificationConfig,
) -> tuple[ClassificationConfig, tuple[str, ...]]:
    """``config`` restricted to the ABC criteria a run computes, and the names dropped.

    Approval rejects other criteria (:func:`stockpilot.services.classification.approve_config`);
    a version approved before that check existed must still not stop the run, so its
    unknown criteria are dropped (and reported) and the rest keep their agreed weights.
    """
    known = {c.value for c in ABCCriterion}
    dropped = tuple(sorted(k for k, w in config.abc_criteria.items() if k not in known and w > 0))
    if not dropped:
        return config, ()
    kept = {k: w for k, w in config.abc_criteria.items() if k in known and w > 0}
    return replace(config, abc_criteria=kept or {ABCCriterion.ANNUAL_VALUE.value: 1.0}), dropped


def classify_step(context: RunContext) -> None:
    """The ``classify`` step: ABC on the approved criteria, XYZ, pattern, lifecycle.

    Every criterion the approved version weights is computed from the snapshot
    (:func:`stockpilot.core.classify.abc_criteria`): annual consumption value (unit cost),
    volume, order lines (buckets with demand in the last year) and margin (item price
    minus unit cost; an item without a price has margin 0, and the step says how many).
    Items the master declares ``phase_out``, ``discontinued`` or obsolete are at end of
    life.
    """
    panel = _planning_panel(context)
    items = context.read_entity("items")
    master = item_inputs(items, panel.keys)
    per_year = PERIODS_PER_YEAR[panel.bucket]
    config, dropped = _computable_config(active_config(context.session))
    # The forecast step classifies with the same (computable) criteria.
    _state(context)["classification_config"] = config
    result = classify(
        panel.values,
        config=config,
        periods_per_year=per_year,
        unit_value=np.nan_to_num(master.unit_cost, nan=0.0),
        unit_price=master.unit_price,
        end_of_life_flag=master.end_of_life_flag,
    )
    classes = panel.keys.with_columns(
        pl.Series("abc", np.asarray(result.abc.classes).astype(str)),
        pl.Series("xyz", np.asarray(result.xyz.classes).astype(str)),
        pl.Series("pattern", np.asarray(result.pattern.patterns).astype(str)),
        pl.Series("lifecycle", np.asarray(result.lifecycle).astype(str)),
    )
    _state(context)["classes"] = classes
    _state(context)["abc_criteria"] = panel.keys.with_columns(
        *(pl.Series(name, result.criteria[name]) for name in sorted(config.abc_criteria)),
        pl.Series("abc_score", result.abc.score),
    )
    counts = classes.group_by("abc").len().sort("abc")
    summary = ", ".join(f"{a}: {n}" for a, n in counts.iter_rows())
    weights = ", ".join(f"{k} {w:g}" for k, w in config.abc_criteria.items())
    notes = [f"ABC on {weights}"]
    if ABCCriterion.MARGIN.value in config.abc_criteria and master.missing_price:
        notes.append(f"{master.missing_price} item-location(s) without a price have margin 0")
    if dropped:
        notes.append(
            f"criteria {list(dropped)} cannot be computed and were left out "
            "(approve a new version without them)"
        )
    flagged = int(master.end_of_life_flag.sum())
    if flagged:
        notes.append(f"{flagged} flagged end of life by the item master")
    context.progress(
        1.0,
        f"{panel.n_series} item-locations x {panel.n_periods} buckets; ABC {summary}; "
        + (
            f"criteria v{config.version} approved by {config.approved_by}"
            if config.is_approved
            else "default criteria (no approved version yet)"
        )
        + f" ({'; '.join(notes)})",
    )


def exception_rules(settings: Settings) -> ExceptionRules:
    """The forecast tolerance rules of a run, from the ``exception_*`` settings.

    Each ``STOCKPILOT_EXCEPTION_<RULE>`` variable (or ``stockpilot plan
    --exception-limit rule=value``) sets the :class:`ExceptionRules` field of that name;
    ``off`` switches an optional rule off.
    """
    return ExceptionRules(
        window=settings.exception_window,
        max_error=settings.exception_max_error,
        tracking_signal_limit=settings.exception_tracking_signal_limit,
        bias_run=settings.exception_bias_run,
        level_shift_window=settings.exception_level_shift_window,
        level_shift_relative=settings.exception_level_shift_relative,
        level_shift_z=settings.exception_level_shift_z,
    )


def _describe_rules(rules: ExceptionRules) -> str:
    def limit(value: float | None) -> str:
        return "off" if value is None else f"{value:g}"

    return (
        f"window {rules.window}, max_error {limit(rules.max_error)}, "
        f"tracking_signal_limit {limit(rules.tracking_signal_limit)}, "
        f"bias_run {limit(rules.bias_run)}, level_shift_window {limit(rules.level_shift_window)}, "
        f"level_shift_relative {limit(rules.level_shift_relative)}, "
        f"level_shift_z {limit(rules.level_shift_z)}"
    )


def exceptions_step(context: RunContext) -> None:
    """The ``exceptions`` step: the published plan's forecasts against what happened since.

    Series whose error, tracking signal, bias or level shift is beyond tolerance are
    flagged with the reason, for review before the new forecasts are trusted. The
    tolerances come from the settings (:func:`exception_rules`).
    """
    rules = exception_rules(context.settings)
    planning: pl.DataFrame = _state(context)["planning_demand"]
    previous = context.session.execute(
        select(PublishedPlan.run_id).order_by(PublishedPlan.id.desc()).limit(1)
    ).scalar_one_or_none()
    if previous is None:
        context.progress(1.0, "no published plan yet: nothing to monitor")
        return
    forecasts = read_plan_rows(context.session, "forecasts", previous)
    last = planning["period"].max()
    monitored = forecasts.filter(pl.col("period_start") <= last)
    if monitored.height == 0:
        context.progress(1.0, f"plan of run {previous} has no forecast periods with actuals yet")
        return
    with warnings.catch_warnings(record=True) as caught:
        # rules a short window keeps from firing: said in the step's message
        warnings.simplefilter("always", UserWarning)
        flags = review_queue(
            planning, monitored, bucket=context.settings.planning_bucket, rules=rules
        )
    inactive = "; ".join(
        str(w.message).removeprefix("review_queue: ")
        for w in caught
        if issubclass(w.category, UserWarning)
    )
    _state(context)["exceptions"] = flags
    series = flags.select("item_id", "location_id").n_unique() if flags.height else 0
    fired = ", ".join(f"{r} {n}" for r, n in flags.group_by("rule").len().sort("rule").iter_rows())
    # Accuracy and forecast value added of the published forecasts, per series, class and
    # override author (the statistical value of an overridden bucket is in the audit trail).
    scored = plan_accuracy(
        planning,
        monitored,
        bucket=context.settings.planning_bucket,
        overrides=_overrides_of(context.session, previous),
        classes=_state(context).get("classes"),
    )
    accuracy_note = ""
    if scored.periods:
        table = scored.per_series
        actual = max(float(table["actual"].to_numpy().sum()), 1e-12)
        # pooled: each series' absolute error over the periods it was scored on
        errors = np.nan_to_num(table["mae"].to_numpy()) * table["periods"].to_numpy()
        wape = float(errors.sum()) / actual
        rel_bias = (float(table["forecast"].to_numpy().sum()) - actual) / actual
        fva = float(np.nanmean(table["fva_statistical"].to_numpy()))
        accuracy_note = (
            f"; accuracy over {scored.periods} buckets: WAPE {wape:.3f}, bias {rel_bias:+.3f}, "
            f"value added over naive (MAE) {fva:+.3g}"
        )
        if scored.by_author.height:
            accuracy_note += ", overrides: " + ", ".join(
                f"{who} {fva:+.3g}" for who, _, fva in scored.by_author.iter_rows()
            )
        save_artifact(context, "accuracy", table)
    context.progress(
        0.9,
        f"{series} series flagged against run {previous}'s forecasts"
        + (f" ({fired})" if fired else "")
        + accuracy_note
        + f"; limits: {_describe_rules(rules)}"
        + (f"; {inactive}" if inactive else ""),
    )
    save_artifact(context, "exceptions", flags)


def _overrides_of(session: Session, run_id: int) -> pl.DataFrame:
    """The forecast overrides the planning run ``run_id`` logged: per bucket the value
    before the override (``statistical``) and its author."""
    prefix = f"run {run_id}|"
    entries = session.execute(
        select(AuditEntry.actor, AuditEntry.key, AuditEntry.old)
        .where(AuditEntry.action == "forecast.override", AuditEntry.key.startswith(prefix))
        # in the order they were made: a cell's first override holds the statistical value
        .order_by(AuditEntry.id)
    ).all()
    schema = {
        "item_id": pl.String,
        "location_id": pl.String,
        "period_start": pl.Date,
        "statistical": pl.Float64,
        "author": pl.String,
    }
    rows = []
    for actor, key, old in entries:
        _, item, location, period = str(key).split("|", 3)
        value = (old or {}).get("mean")
        if value is not None:
            rows.append((item, location, date.fromisoformat(period[:10]), float(value), actor))
    return pl.DataFrame(rows, schema=schema, orient="row")


def events_from_frame(events: pl.DataFrame) -> tuple[ForecastEvent, ...]:
    """Canonical ``events`` rows as forecast events (promotion uplift, shutdown zero)."""
    out: list[ForecastEvent] = []
    for row in events.iter_rows(named=True):
        # the gate admits promotion, shutdown, launch and other, in any case; a launch is
        # applied as an "other" event
        given = str(row["kind"]).strip().lower()
        kind = EventKind(given) if given in set(EventKind) else EventKind.OTHER
        if kind == EventKind.SHUTDOWN:
            adjustment, value = AdjustmentType.ZERO, 0.0
        elif row.get("quantity") is not None:
            adjustment, value = AdjustmentType.ABSOLUTE, float(row["quantity"])
        elif row.get("uplift_pct") is not None:
            adjustment, value = AdjustmentType.UPLIFT_PCT, float(row["uplift_pct"]) / 100.0
        else:
            continue
        hierarchy = {"category": (row["category"],)} if row.get("category") else {}
        out.append(
            ForecastEvent(
                event_id=row["event_id"],
                kind=EventKind(kind),
                start=row["start_date"],
                end=row["end_date"],
                adjustment=adjustment,
                value=value,
                scope=EventScope(
                    item_ids=(row["item_id"],) if row.get("item_id") else None,
                    location_ids=(row["location_id"],) if row.get("location_id") else None,
                    hierarchy=hierarchy,
                ),
                author=row.get("author") or "unknown",
                reason=row.get("reason") or f"{kind} event",
            )
        )
    return tuple(out)


def forecast_step(context: RunContext) -> None:
    """The ``forecast`` step: automatic method per series, quantiles, events applied."""
    settings = context.settings
    planning: pl.DataFrame = _state(context)["planning_demand"]
    panel: Panel = _state(context)["panel"]
    items = context.read_entity("items")
    events = events_from_frame(context.read_entity("events"))
    forecaster = Forecaster(
        horizon=settings.horizon,
        bucket=settings.planning_bucket,
        levels=FORECAST_LEVELS,
        events=events,
        classification=_state(context)["classification_config"],
        attributes=items.select("item_id", "category"),
        items=items,
        season_group_by=settings.season_group_by,
        end=panel.periods[-1].astype(date) if panel.n_periods else None,
    )
    result = forecaster.fit(planning.rename({"period": "date"})).predict()
    _state(context)["forecast"] = result
    models = result.diagnostics.group_by("model").len().sort("len", descending=True).head(3)
    top = ", ".join(f"{m} {n}" for m, n in models.iter_rows())
    # Progress is committed on its own connection: report before this step's transaction
    # takes the write lock (SQLite has one writer).
    borrowed = int((result.diagnostics["borrowed_periods"] > 0).sum())
    analogues = f"; {borrowed} new series on analogue history" if borrowed else ""
    seasonal = int(result.diagnostics["group_season"].sum())
    grouped = f"; {seasonal} series on their category's seasonal index" if seasonal else ""
    context.progress(
        0.9,
        f"{result.forecasts.height} forecast rows, {len(result.overrides)} event overrides"
        f"{_unmatched_events(events, result, settings.planning_bucket)}; methods: {top}{analogues}{grouped}",
    )
    save_forecasts(context, result.forecasts)
    # Which method each series uses and why (the rule's reason), kept with the run.
    save_artifact(context, "forecast_selection", result.diagnostics)
    if result.season_groups is not None:
        # each category's group seasonal index and its out-of-sample test (rule 8)
        save_artifact(context, "season_groups", result.season_groups)
    save_artifact(context, "overrides", _override_table(result))
    for record in result.overrides:
        append_audit(
            context.session,
            actor=record.author,
            action="forecast.override",
            entity="forecasts",
            key=f"run {context.run_id}|{record.item_id}|{record.location_id}|{record.period_start}",
            old={"mean": record.old_value},
            new={"mean": record.new_value},
            reason=f"{record.event_id}: {record.reason}" if record.event_id else record.reason,
        )


def _override_table(result: ForecastResult) -> pl.DataFrame:
    """Every forecast cell an event changed: old and new value, who, why, when, which
    event (empty, with its columns, when no event changed any)."""
    return pl.DataFrame(
        [
            (
                r.item_id,
                r.location_id,
                r.period_start,
                r.old_value,
                r.new_value,
                r.author,
                r.reason,
                r.timestamp.replace(tzinfo=None),
                r.event_id,
            )
            for r in result.overrides
        ],
        schema={
            "item_id": pl.String,
            "location_id": pl.String,
            "period_start": pl.Date,
            "old_value": pl.Float64,
            "new_value": pl.Float64,
            "author": pl.String,
            "reason": pl.String,
            "changed_at_utc": pl.Datetime("us"),
            "event_id": pl.String,
        },
        orient="row",
    )


def _unmatched_events(
    events: Sequence[ForecastEvent], result: ForecastResult, bucket: Bucket
) -> str:
    """A note on the events whose dates reach the forecast periods but that changed no
    forecast cell (their item or category has no series at their location), else ""."""
    periods = result.forecasts["period_start"].to_list()
    if not periods:
        return ""
    first = min(periods)
    last = bucket_ends(days([max(periods)]), bucket)[0].astype(date)
    reaching = [e for e in events if e.end >= first and e.start <= last]
    used = {r.event_id for r in result.overrides}
    idle = sorted(e.event_id for e in reaching if e.event_id not in used)
    if not idle:
        return ""
    shown = ", ".join(idle[:5]) + (", ..." if len(idle) > 5 else "")
    return f" ({len(idle)} event(s) in the horizon matched no forecast series: {shown})"


def _lead_times(context: RunContext, bucket: Bucket) -> pl.DataFrame:
    """Per bought item: lead-time mean/sd in buckets from receipts, on-time and defect rates."""
    supplier_items = context.read_entity("supplier_items")
    orders = context.read_entity("purchase_orders")
    receipts = context.read_entity("receipts")
    history = receipts.join(orders, on="po_id", how="inner", suffix="_po")
    if supplier_items.height == 0:
        return pl.DataFrame(
            schema={
                "item_id": pl.String,
                "supplier_id": pl.String,
                "moq": pl.Float64,
                "pack_size": pl.Float64,
                "price_breaks": pl.String,
                "lead_time": pl.Float64,
                "lead_time_sd": pl.Float64,
                "on_time_rate": pl.Float64,
                "defect_rate": pl.Float64,
                "lead_time_basis": pl.String,
            }
        )
    suppliers = sorted(set(supplier_items["supplier_id"]) | set(history["supplier_id"]))
    item_codes = sorted(set(supplier_items["item_id"]) | set(history["item_id"]))
    s_code = {s: i for i, s in enumerate(suppliers)}
    i_code = {s: i for i, s in enumerate(item_codes)}
    days = BUCKET_DAYS[bucket]
    quoted = supplier_items["lead_time_days"].fill_null(np.nan).to_numpy()
    if history.height:
        cleaning = clean_receipt_records(
            supplier=history["supplier_id"].replace_strict(s_code).to_numpy(),
            item=history["item_id"].replace_strict(i_code).to_numpy(),
            order_date=history["order_date"].to_numpy(),
            receipt_date=history["receipt_date"].to_numpy(),
            quantity=history["quantity"].to_numpy(),
            due_date=history["due_date"].to_numpy(),
            quantity_rejected=history["quantity_rejected"].fill_null(0.0).to_numpy(),
        )
        # Receipts that fail a row check (e.g. received before ordered) are left out of the
        # statistics; the planning run goes on and the count is reported.
        _state(context)["receipts_dropped"] = len(cleaning.reasons)
        effective = effective_lead_time(
            supplier_performance(cleaning.records),
            supplier_items["supplier_id"].replace_strict(s_code).to_numpy(),
            supplier_items["item_id"].replace_strict(i_code).to_numpy(),
            period_days=days,
            default_mean_days=quoted,
        )
        mean, sd = effective.mean, effective.sd
        on_time, defects = effective.on_time_rate, effective.defect_rate
        basis = list(effective.source)
    else:
        mean, sd = quoted / days, np.zeros(len(quoted))
        on_time, defects = np.full(len(quoted), np.nan), np.zeros(len(quoted))
        basis = ["quoted"] * len(quoted)
    return (
        supplier_items.select("item_id", "supplier_id", "moq", "pack_size", "price_breaks")
        .with_columns(
            pl.Series("lead_time", mean),
            pl.Series("lead_time_sd", sd),
            pl.Series("on_time_rate", on_time),
            pl.Series("defect_rate", defects),
            pl.Series("lead_time_basis", basis),
        )
        .unique("item_id", keep="first")
    )


def policy_parameters(
    context: RunContext, options: PlanOptions, keys: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per item-location policy inputs from master data, suppliers and review capability.

    ``keys`` (``item_id, location_id``) defaults to the planning panel's series; the
    network step passes the stages of the item networks. ``information_delay`` (buckets of
    feed latency, already inside ``lead_time``) is returned too.
    """
    settings = context.settings
    bucket = settings.planning_bucket
    panel: Panel = _state(context)["panel"]
    classes: pl.DataFrame = _state(context)["classes"]
    items = context.read_entity("items")
    locations = context.read_entity("locations")
    review = choose_review_type(
        locations["review_capability"].fill_null("daily_batch").to_numpy(),
        latency_hours=locations["data_latency_hours"].fill_null(0.0).to_numpy(),
        bucket=bucket,
    )
    days = BUCKET_DAYS[bucket]
    location_review = locations.select(
        "location_id",
        pl.col("type").alias("location_type"),
        pl.Series("review_period", np.maximum(review.review_period, 1.0)),
        pl.Series("information_delay", review.information_delay_days / days),
    )
    if "supply" not in _state(context):
        # the network step places stock with the same lead times
        _state(context)["supply"] = _lead_times(context, bucket)
    supply = _state(context)["supply"]
    frame = (
        (panel.keys if keys is None else keys)
        .join(classes, on=["item_id", "location_id"], how="left")
        .join(
            items.select(
                "item_id",
                "unit_cost",
                "holding_cost_rate",
                "order_cost",
                "shelf_life_days",
                "replenishment_type",
                pl.col("pack_size").alias("item_pack"),
            ),
            on="item_id",
            how="left",
        )
        .join(location_review, on="location_id", how="left")
        .join(supply, on="item_id", how="left")
    )
    ordering = pl.col("location_type").is_in(["warehouse", "plant"])
    bought = pl.col("replenishment_type") == "buy"
    targets = options.service_targets
    return frame.select(
        "item_id",
        "location_id",
        pl.when(ordering & bought & pl.col("lead_time").is_not_null())
        .then(pl.col("lead_time"))
        .when(ordering)
        .then(pl.lit(options.make_lead_time))
        .otherwise(pl.lit(options.transfer_lead_time))
        .add(pl.col("information_delay").fill_null(0.0))
        .alias("lead_time"),
        pl.when(ordering & bought)
        .then(pl.col("lead_time_sd"))
        .otherwise(0.0)
        .fill_null(0.0)
        .alias("lead_time_sd"),
        pl.col("review_period").fill_null(1.0),
        "unit_cost",
        "holding_cost_rate",
        "order_cost",
        pl.when(ordering & bought).then(pl.col("moq")).otherwise(0.0).fill_null(0.0).alias("moq"),
        # the supplier's quantity discounts apply where the item is bought
        pl.when(ordering & bought).then(pl.col("price_breaks")).alias("price_breaks"),
        pl.coalesce(
            pl.when(ordering & bought).then(pl.col("pack_size")), pl.col("item_pack"), pl.lit(1.0)
        ).alias("pack_size"),
        (pl.col("shelf_life_days") / days).alias("shelf_life"),
        pl.col("abc")
        .replace_strict(dict(targets), default=targets.get("C", 0.9), return_dtype=pl.Float64)
        .alias("service_target"),
        # Rejection rate from receipts inflates the lot and the safety stock (issue #4, s. 5).
        pl.when(ordering & bought)
        .then(pl.col("defect_rate"))
        .otherwise(0.0)
        .fill_null(0.0)
        .fill_nan(0.0)
        .clip(0.0, 0.95)
        .alias("defect_rate"),
        pl.col("information_delay").fill_null(0.0),
    )


def make_policy_step(options: PlanOptions) -> Any:
    def policy(context: RunContext) -> None:
        """The ``policy`` step: reorder points and order quantities from the forecasts."""
        panel: Panel = _state(context)["panel"]
        params = policy_parameters(context, options)
        policies = compute_policies(
            panel, items=params, forecast=_forecast_with_sd(context), options=PolicyOptions()
        )
        _state(context).update(policies=policies, policy_parameters=params)
        mix = policies.group_by("policy").len().sort("len", descending=True)
        context.progress(
            0.9,
            f"{policies.height} policies: " + ", ".join(f"{p} {n}" for p, n in mix.iter_rows()),
        )
        # The store names the exchange format's ``lot_sizing_rule`` column ``lot_sizing``.
        save_policies(context, policies.rename({"lot_sizing_rule": "lot_sizing"}))
        save_artifact(context, "policy_details", _policy_details(policies))

    return policy


def _policy_details(policies: pl.DataFrame) -> pl.DataFrame:
    """The policy lines' columns beyond the exchange format (kept as a run artifact)."""
    extra = [c for c in policies.columns if c not in POLICY_COLUMNS]
    return policies.select("item_id", "location_id", *extra)


def _forecast_with_sd(context: RunContext) -> pl.DataFrame:
    """The run's forecast rows with each series' one-step error sd."""
    result = _state(context)["forecast"]
    sd = result.diagnostics.select("item_id", "location_id", "sd")
    return result.forecasts.join(sd, on=["item_id", "location_id"], how="left")


def _multi_echelon_policies(
    context: RunContext,
    options: PlanOptions,
    placement: pl.DataFrame,
    locations: pl.DataFrame,
    bom: pl.DataFrame,
    *,
    supply: pl.DataFrame,
) -> pl.DataFrame:
    """Policies of every stage of the multi-location item networks and of the product
    families, sized for the net replenishment times of the placement
    (:mod:`stockpilot.engine.echelon`); a family stage's demand adds, through the bill of
    materials, ``quantity_per`` x the echelon demand of each assembly it goes into. Items
    held at one location and in no bill of materials keep the policies of the policy
    step.

    ``supply`` holds the supplier's lead-time sd and defect rate on the supply stages (top
    of a bought item's network): each stage is sized for those of its own supply plus
    those passed on by the flow-through stages upstream
    (:func:`~stockpilot.engine.echelon.pass_through_supply_variability`), the same
    variability the simulate step draws on the supply stages."""
    single: pl.DataFrame = _state(context)["policies"]
    in_family = pl.concat([bom["parent_item_id"], bom["component_item_id"]]).unique()
    stages = pl.concat(
        [
            multi_location_nodes(placement),
            placement.filter(pl.col("item_id").is_in(in_family.implode())),
        ]
    ).unique(["item_id", "location_id"], maintain_order=True)
    if stages.height == 0:
        return single
    panel: Panel = _state(context)["panel"]
    keys = stages.select("item_id", "location_id")
    mapping = echelon_map(panel.keys, keys, locations, bom=bom)
    variability = pass_through_supply_variability(stages, supply, locations, bom=bom)
    params = echelon_parameters(
        policy_parameters(context, options, keys),
        stages,
        mapping,
        supply_variability=variability,
    )
    staged = compute_policies(
        echelon_panel(panel, mapping, keys),
        items=params,
        forecast=echelon_forecast(_forecast_with_sd(context), mapping),
        options=PolicyOptions(),
    )
    staged = (
        pass_through_flow_stages(staged, stages)
        .join(
            echelon_note(stages, mapping, bom=bom, supply_variability=variability),
            on=["item_id", "location_id"],
            how="left",
        )
        .with_columns(
            pl.concat_str("explanation", "echelon_note", separator="; ").alias("explanation")
        )
        .drop("echelon_note")
    )
    kept = single.join(keys, on=["item_id", "location_id"], how="anti")
    return pl.concat([kept, staged.select(single.columns)]).sort("item_id", "location_id")


def _with_ancestors(item_locations: pl.DataFrame, locations: pl.DataFrame) -> pl.DataFrame:
    """Add every upstream location of each item-location (no own demand) to the item's network."""
    parents = locations.select("location_id", "parent").filter(pl.col("parent").is_not_null())
    frontier = item_locations.select("item_id", "location_id")
    found = [frontier]
    for _ in range(locations.height):  # a chain is at most as long as the location list
        frontier = (
            frontier.join(parents, on="location_id")
            .select("item_id", pl.col("parent").alias("location_id"))
            .unique()
        )
        if frontier.height == 0:
            break
        found.append(frontier)
    return pl.concat(found).unique(maintain_order=True)


def bom_in_force(bom: pl.DataFrame, as_of: date, bucket: Bucket) -> pl.DataFrame:
    """The bill-of-materials rows valid on ``as_of``, one per parent, component and
    location (the latest ``valid_from`` wins), with the assembly time in whole buckets
    (``assembly_lead_time``)."""
    valid = (pl.col("valid_from").is_null() | (pl.col("valid_from") <= as_of)) & (
        pl.col("valid_to").is_null() | (pl.col("valid_to") >= as_of)
    )
    return (
        bom.filter(valid)
        .sort("parent_item_id", "component_item_id", "location_id", "valid_from", nulls_last=False)
        .unique(["parent_item_id", "component_item_id", "location_id"], keep="last")
        .sort("parent_item_id", "component_item_id", "location_id")
        .select(
            "parent_item_id",
            "component_item_id",
            "quantity_per",
            "location_id",
            (pl.col("assembly_lead_time_days") / BUCKET_DAYS[bucket])
            .round(0)
            .alias("assembly_lead_time"),
        )
    )


def _with_bom_stages(
    nodes: pl.DataFrame, bom: pl.DataFrame, locations: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Add the stages the bill of materials needs: each component at its parent's
    assembly location (and that location's upstream locations), level by level, so a
    subassembly that sells nowhere still gets its own components.

    Returns the stages, the BOM rows used (every ``location_id`` filled in: a blank one
    assembles at the top of the parent's network) and the number of rows left out: the
    parent has no stage at the assembly location (nothing to plan there), or the row's
    lane is given by another row (a row naming its location wins over a blank one).
    """
    # Rows naming their location come first, so they win over a blank-location row that
    # resolves to the same lane.
    pending = (
        bom.with_row_index("_bom_row")
        .with_columns(pl.col("location_id").cast(pl.String))
        .sort(pl.col("location_id").is_null(), maintain_order=True)
    )
    used = pending.head(0)
    parent_of = dict(
        zip(locations["location_id"].to_list(), locations["parent"].to_list(), strict=True)
    )
    for _ in range(bom.height + 1):  # every pass settles at least one level of the structure
        held: dict[str, set[str]] = {}
        for item, loc in nodes.select("item_id", "location_id").iter_rows():
            held.setdefault(item, set()).add(loc)
        roots = {
            item: sorted(loc for loc in locs if parent_of.get(loc) not in locs)
            for item, locs in held.items()
        }
        ready = pending.filter(pl.col("parent_item_id").is_in(list(held)))
        if ready.height == 0:
            break
        pending = pending.filter(~pl.col("parent_item_id").is_in(list(held)))
        held_pairs = {(item, loc) for item, locs in held.items() for loc in locs}
        placed = pl.DataFrame(
            [
                {**row, "location_id": place}
                for row in ready.iter_rows(named=True)
                for place in (
                    [row["location_id"]]
                    if row["location_id"] is not None
                    else roots[row["parent_item_id"]]
                )
                if (row["parent_item_id"], place) in held_pairs
            ],
            schema=used.schema,
        )
        used = pl.concat([used, placed.select(used.columns)])
        components = placed.select(pl.col("component_item_id").alias("item_id"), "location_id")
        nodes = _with_ancestors(
            pl.concat([nodes, components]).unique(maintain_order=True), locations
        )
    used = used.unique(
        ["parent_item_id", "component_item_id", "location_id"], keep="first", maintain_order=True
    )
    left_out = bom.height - used["_bom_row"].n_unique()
    return nodes, used.drop("_bom_row"), left_out


def _network_artifact(
    placement: pl.DataFrame, frame: pl.DataFrame, locations: pl.DataFrame, bom: pl.DataFrame
) -> pl.DataFrame:
    """The placement with every stage's network inputs beside it, so the run's networks
    can be rebuilt and exported (``stockpilot network export``)."""
    inputs = network_inputs(frame, locations, bom=bom)
    return placement.join(inputs, on=["item_id", "location_id"], how="left")


def make_network_step(options: PlanOptions) -> Any:
    def network(context: RunContext) -> None:
        """The ``network`` step: guaranteed-service safety-stock placement per item.

        Each item's network is its stocking locations plus their upstream locations;
        demand enters where the item sells; the top location is replenished by the
        supplier (its lead time from receipts) or by production.
        """
        bucket = context.settings.planning_bucket
        policies: pl.DataFrame = _state(context)["policies"]
        locations = context.read_entity("locations").select(
            "location_id", pl.col("parent_location_id").alias("parent"), "type"
        )
        items = context.read_entity("items").select(
            "item_id", "unit_cost", "holding_cost_rate", "replenishment_type"
        )
        supply: pl.DataFrame = _state(context)["supply"].select(
            "item_id", "lead_time", "lead_time_sd", "defect_rate"
        )
        nodes = _with_ancestors(policies.select("item_id", "location_id"), locations)
        # Items linked by bills of material are planned as product families: components
        # get a stage at the assembly location that feeds the parent's stage there.
        bom = bom_in_force(context.read_entity("bill_of_materials"), options.as_of, bucket)
        nodes, bom, bom_left_out = _with_bom_stages(nodes, bom, locations)
        per_year = PERIODS_PER_YEAR[bucket]
        has_parent = pl.col("parent").is_not_null()
        frame = (
            nodes.join(locations, on="location_id", how="left")
            .join(
                policies.select("item_id", "location_id", "demand_mean", "demand_sd"),
                on=["item_id", "location_id"],
                how="left",
            )
            .join(items, on="item_id", how="left")
            .join(supply, on="item_id", how="left")
            .select(
                "item_id",
                "location_id",
                pl.when(has_parent)
                .then(pl.lit(options.transfer_lead_time))
                .when(pl.col("replenishment_type") == "buy")
                .then(pl.col("lead_time").fill_null(options.make_lead_time))
                .otherwise(pl.lit(options.make_lead_time))
                .round(0)
                .clip(lower_bound=0.0)
                .alias("lead_time"),
                pl.col("demand_mean").fill_nan(0.0).fill_null(0.0),
                pl.col("demand_sd").fill_nan(0.0).fill_null(0.0),
                pl.col("unit_cost").fill_null(0.0),
                (pl.col("holding_cost_rate").fill_null(0.25) / per_year).alias("holding_rate"),
                # The supplier's lead-time sd and defect rate on the supply stage (the
                # top of a bought item's network) for the simulate step; internal lanes
                # have fixed transport times.
                *(
                    pl.when(~has_parent & (pl.col("replenishment_type") == "buy"))
                    .then(pl.col(name))
                    .otherwise(0.0)
                    .fill_null(0.0)
                    .fill_nan(0.0)
                    .clip(0.0, bound)
                    .alias(name)
                    for name, bound in (("lead_time_sd", None), ("defect_rate", 0.95))
                ),
            )
        )
        supply_variability = frame.select("item_id", "location_id", "lead_time_sd", "defect_rate")
        frame = frame.drop("lead_time_sd", "defect_rate")
        placement = optimize_network_stock(frame, locations, bom=bom)
        _state(context)["network"] = placement
        _state(context)["network_bom"] = bom
        # Every stage gets a policy and is simulated, the components a bill of materials
        # adds included (their demand is the dependent demand of their assemblies).
        _state(context)["network_stages"] = frame.select(
            "item_id", "location_id", "lead_time"
        ).join(supply_variability, on=["item_id", "location_id"], how="left")
        _state(context)["network_families"] = (
            build_family_networks(frame, locations, bom) if bom.height else ()
        )
        _state(context)["locations"] = locations
        decoupled = placement.filter(pl.col("stock_role") == "decoupling")
        artifact = _network_artifact(placement, frame, locations, bom)
        _state(context)["network_artifact"] = artifact
        save_artifact(context, "network", artifact)
        # The placement is handed to the policy engine: every stage's policy protects its
        # net replenishment time, and upstream stages get policies of their own.
        policies = _multi_echelon_policies(
            context, options, placement, locations, bom, supply=supply_variability
        )
        _state(context)["policies"] = policies
        revise_policies(context, policies.rename({"lot_sizing_rule": "lot_sizing"}))
        save_artifact(context, "policy_details", _policy_details(policies))
        where = decoupled["location_id"].value_counts().sort("count", descending=True).head(3)
        families = (
            f"; {bom.height} bill-of-materials lanes join "
            f"{pl.concat([bom['parent_item_id'], bom['component_item_id']]).n_unique()} items "
            "into product families"
            + (
                f" ({bom_left_out} row(s) left out: no stage of the parent at the assembly "
                "location, or a lane another row already gives)"
                if bom_left_out
                else ""
            )
            if bom.height or bom_left_out
            else ""
        )
        context.progress(
            1.0,
            f"{placement['item_id'].n_unique()} item networks, {placement.height} nodes; "
            f"{decoupled.height} hold safety stock (most at "
            + ", ".join(f"{loc} {n}" for loc, n in where.iter_rows())
            + ")"
            + families,
        )

    return network


def _forecast_paths(
    context: RunContext, keys: pl.DataFrame, replications: int, seed: int
) -> NDArray[np.float64]:
    """Demand paths drawn from each series' forecast: gamma with the forecast mean per
    period and the series' one-step error sd (the spread the policies were sized for)."""
    result = _state(context)["forecast"]
    wide = (
        result.forecasts.select("item_id", "location_id", "period_start", "mean")
        .sort("period_start")
        .pivot(on="period_start", index=["item_id", "location_id"], values="mean")
    )
    aligned = keys.join(wide, on=["item_id", "location_id"], how="left", maintain_order="left")
    mean = np.nan_to_num(aligned.drop("item_id", "location_id").to_numpy().astype(np.float64))
    sd = (
        keys.join(
            result.diagnostics.select("item_id", "location_id", "sd"),
            on=["item_id", "location_id"],
            how="left",
            maintain_order="left",
        )["sd"]
        .fill_null(0.0)
        .fill_nan(0.0)
        .to_numpy()
    )
    mean = np.repeat(np.maximum(mean, 0.0), replications, axis=0)
    var = np.repeat(sd**2, replications)[:, None] + 1e-12
    positive = mean > 0
    shape = np.where(positive, mean**2 / var, 1.0)
    scale = np.where(positive, var / np.where(positive, mean, 1.0), 0.0)
    return np.random.default_rng(seed).gamma(shape, scale)


def _per_series(
    values: NDArray[np.float64], weights: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    """Demand-weighted mean over the replications of each series."""
    v = np.nan_to_num(values).reshape(n, -1)
    w = np.nan_to_num(weights).reshape(n, -1)
    total = w.sum(axis=1)
    return np.where(total > 0, (v * w).sum(axis=1) / np.where(total > 0, total, 1.0), np.nan)


def _pooled(fill: NDArray[np.float64], demand: NDArray[np.float64]) -> float:
    """Demand-weighted mean of per-line fill rates (lines without a figure count 0 weight)."""
    weights = np.where(np.isfinite(fill), np.nan_to_num(demand), 0.0)
    return float(np.nansum(fill * weights) / max(weights.sum(), 1e-12))


def _network_fill_note(
    simulated: pl.DataFrame,
    forward_demand: NDArray[np.float64],
    networked: pl.DataFrame,
    assembled: pl.DataFrame,
) -> str:
    """The simulate step's words on the network simulations: the demand-weighted fill
    rate of the customer lines run through item networks and through product families."""
    fill = simulated["network_fill_rate"].to_numpy()
    in_net = simulated["network_fill_rate"].is_not_null().to_numpy()
    in_family = simulated["family_id"].is_not_null().to_numpy()
    note = ""
    items = in_net & ~in_family
    if networked.height:
        note += (
            f"; through the item networks ({int(items.sum())} lines): "
            f"{_pooled(fill, np.where(items, forward_demand, 0.0)):.3f}"
        )
    if assembled.height:
        lines = in_net & in_family
        note += (
            f"; through the product families ({assembled['family_id'].n_unique()} families, "
            f"{assembled.height} stages, {int(lines.sum())} customer lines): "
            f"{_pooled(fill, np.where(lines, forward_demand, 0.0)):.3f}"
        )
    return note


def _supply_stage_note(
    stages: pl.DataFrame, networked: pl.DataFrame, families: Sequence[FamilyNetwork]
) -> str:
    """The simulate step's words on the supply stages of the networks that drew the
    supplier's random lead times and defects."""
    in_family = [
        (item, loc)
        for family in families
        for item, loc in zip(family.stage_items, family.stage_locations, strict=True)
    ]
    family_stages = stages.join(
        pl.DataFrame(
            {"item_id": [i for i, _ in in_family], "location_id": [loc for _, loc in in_family]},
            schema={"item_id": pl.String, "location_id": pl.String},
        ),
        on=["item_id", "location_id"],
        how="semi",
    )
    counts = [
        (
            int((frame["lead_time_sd"] > 0).sum()),
            int((frame["defect_rate"] > 0).sum()),
        )
        for frame in (networked, family_stages)
    ]
    return (
        f" (network supply stages: {counts[0][0]} random lead times, {counts[0][1]} defect "
        f"rates; family supply stages: {counts[1][0]}, {counts[1][1]})"
    )


def make_simulate_step(options: PlanOptions) -> Any:
    def simulate(context: RunContext) -> None:
        """The ``simulate`` step: check that the proposed policies deliver their service.

        Two checks: **forward**, on demand paths drawn from each series' forecast (does
        the policy deliver the promised fill rate if the forecast is right?), and
        **replay**, on the last ``simulate_periods`` buckets of actual history (how
        would it have fared on what really happened, seasonality and shifts included?).

        Both run under the uncertainty the policies were sized for
        (:func:`~stockpilot.engine.simulation.simulate_policy_lines`): each order's lead
        time is drawn with the line's ``lead_time`` mean and ``lead_time_sd`` (receipts),
        and received units are scrapped at its ``defect_rate``. The replay draws them too:
        the history gives the demand but not which order would have taken how long, and a
        fixed lead time would credit the policy with a reliability its supplier's receipts
        do not show (the replay is one path per line, so it carries that sampling noise).
        The item networks and product families draw the supplier's lead time and defects on
        their supply stages. Lines and stages without variability simulate exactly as
        before. Draws are seeded (forward 0, replay 1): a re-run gives the same figures.
        """
        panel: Panel = _state(context)["panel"]
        policies: pl.DataFrame = _state(context)["policies"]
        aligned = panel.keys.join(
            policies, on=["item_id", "location_id"], how="left", maintain_order="left"
        )
        n, reps = panel.n_series, options.simulate_replications
        paths = _forecast_paths(context, panel.keys, reps, seed=0)
        # the first buckets are not counted (stock settles from its starting level), but a
        # short horizon keeps at least its last bucket
        warmup = min(SIMULATION_WARMUP, max(context.settings.horizon - 1, 0))
        lines = simulate_policy_lines(aligned, paths, repeat=reps, warmup=warmup, seed=0)
        forward = lines.result
        forward_fill = _per_series(forward.fill_rate, forward.total_demand, n)
        forward_demand = np.nan_to_num(forward.total_demand).reshape(n, -1).sum(axis=1)
        replay = simulate_policy_lines(
            aligned, panel.values[:, -options.simulate_periods :], seed=1
        ).result
        classes: pl.DataFrame = _state(context)["classes"]
        simulated = (
            aligned.select("item_id", "location_id", "service_target", "expected_service")
            .with_columns(
                pl.Series("simulated_fill_rate", forward_fill),
                pl.Series(
                    "average_on_hand", _per_series(forward.average_on_hand, np.ones(n * reps), n)
                ),
                pl.Series("demand", forward_demand),
                pl.Series("replay_fill_rate", replay.fill_rate),
                pl.Series("replay_demand", replay.total_demand),
                # the uncertainty simulated on the line (0: fixed lead time, no defects)
                pl.Series("simulated_lead_time_sd", lines.lead_time_sd),
                pl.Series("simulated_defect_rate", lines.defect_rate),
            )
            .join(classes.select("item_id", "location_id", "abc"), on=["item_id", "location_id"])
        )
        # The same forecast paths through whole item networks: each stage's policy runs
        # together with its supplier's, so a store waits when its DC is out.
        stages: pl.DataFrame | None = _state(context).get("network_stages")
        network_note = ""
        uncertainty_note = (
            f"; {lines.random_lead_time_lines} lines with random lead times, "
            f"{lines.defect_lines} with defect rates"
        )
        if stages is not None:
            # Product families run as assembly networks (an assembly waits for its
            # scarcest component); the other multi-location items as item networks.
            families: tuple[FamilyNetwork, ...] = _state(context).get("network_families", ())
            in_family = [item for family in families for item in family.item_ids]
            multi = stages.filter(pl.len().over("item_id") > 1, ~pl.col("item_id").is_in(in_family))
            networked = simulate_stage_networks(
                multi,
                policies,
                _state(context)["locations"],
                demand_keys=panel.keys,
                demand=paths,
                replications=reps,
                warmup=warmup,
            )
            assembled = simulate_family_networks(
                families,
                policies,
                demand_keys=panel.keys,
                demand=paths,
                replications=reps,
                warmup=warmup,
                supply=stages,
            )
            _state(context)["family_simulation"] = assembled
            uncertainty_note += _supply_stage_note(stages, multi, families)
            simulated = simulated.join(
                pl.concat(
                    [
                        networked.select(
                            "item_id",
                            "location_id",
                            pl.lit(None, dtype=pl.String).alias("family_id"),
                            "network_fill_rate",
                        ),
                        assembled.select(
                            "item_id", "location_id", "family_id", "network_fill_rate"
                        ),
                    ]
                ),
                on=["item_id", "location_id"],
                how="left",
            )
            network_note = _network_fill_note(simulated, forward_demand, networked, assembled)
            artifact: pl.DataFrame | None = _state(context).get("network_artifact")
            if artifact is not None:
                # Every stage's simulated service and stock beside its placement, the
                # stages without customers (upstream locations, components) included.
                by_stage = pl.concat(
                    [
                        frame.select(
                            "item_id",
                            "location_id",
                            pl.col("network_stage_fill_rate").alias("simulated_stage_fill_rate"),
                            pl.col("network_on_hand").alias("simulated_on_hand"),
                        )
                        for frame in (networked, assembled)
                    ]
                )
                save_artifact(
                    context,
                    "network",
                    artifact.join(by_stage, on=["item_id", "location_id"], how="left"),
                )
        _state(context)["simulation"] = simulated

        target = _pooled(aligned["service_target"].to_numpy(), forward_demand)
        context.progress(
            0.9,
            f"forecast paths ({reps} x {paths.shape[1]} buckets): fill rate "
            f"{_pooled(forward_fill, forward_demand):.3f} vs target {target:.3f}{network_note}; "
            f"replay of the last {replay.measured_periods.max()} buckets: "
            f"{_pooled(replay.fill_rate, replay.total_demand):.3f}{uncertainty_note}",
        )
        save_artifact(context, "simulation", simulated)

    return simulate


def planning_registry(session_factory: SessionFactory, options: PlanOptions) -> StepRegistry:
    """Every step of the planning cycle, in order."""
    registry = StepRegistry()
    registry.register("ingest", make_ingest_step(session_factory, options))
    registry.register("validate", validate_step)
    registry.register("snapshot", snapshot_step)
    registry.register("classify", classify_step)
    registry.register("exceptions", exceptions_step, order=45)
    registry.register("forecast", forecast_step)
    registry.register("policy", make_policy_step(options))
    registry.register("network", make_network_step(options))
    registry.register("simulate", make_simulate_step(options))
    registry.register("publish", publish_step)
    return registry


def initial_state(options: PlanOptions) -> dict[str, Any]:
    return {"as_of": options.as_of, "actor": options.actor}


__all__ = [
    "PlanOptions",
    "classify_step",
    "events_from_frame",
    "exception_rules",
    "exceptions_step",
    "forecast_step",
    "initial_state",
    "last_complete_bucket",
    "make_network_step",
    "planning_registry",
    "policy_parameters",
    "validate_step",
]
