"""The planning cycle end to end: two runs a month apart, artifacts, exceptions, report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from _planning import plan_folder

from stockpilot.io.demo.extracts import write_demo
from stockpilot.services import runs
from stockpilot.services.planning import (
    last_complete_bucket,
)
from stockpilot.settings import Settings
from stockpilot.store.db import open_store
from stockpilot.vocab import Bucket
from stockpilot.web.run_report import write_run_report


def test_last_complete_bucket() -> None:
    assert last_complete_bucket(date(2026, 11, 2), Bucket.WEEK) == date(2026, 10, 26)  # Monday
    assert last_complete_bucket(date(2026, 11, 4), Bucket.WEEK) == date(2026, 10, 26)
    assert last_complete_bucket(date(2026, 11, 1), Bucket.MONTH) == date(2026, 10, 1)
    assert last_complete_bucket(date(2026, 11, 15), Bucket.MONTH) == date(2026, 10, 1)
    assert last_complete_bucket(date(2026, 11, 15), Bucket.DAY) == date(2026, 11, 14)


def test_two_runs_a_month_apart(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, horizon=8)
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    first = write_demo(tmp_path / "nov", items=40, weeks=40, seed=5, as_of=date(2026, 11, 2))
    run1 = plan_folder(factory, first.path, date(2026, 11, 2), settings)
    assert run1.status.value == "succeeded" and run1.published
    names = [s.name for s in run1.steps]
    assert names == [
        "ingest",
        "validate",
        "snapshot",
        "classify",
        "exceptions",
        "forecast",
        "policy",
        "network",
        "simulate",
        "publish",
    ]
    exceptions = next(s for s in run1.steps if s.name == "exceptions")
    assert "no published plan yet" in (exceptions.message or "")
    network = runs.read_artifact(factory, run1.id, "network")
    simulation = runs.read_artifact(factory, run1.id, "simulation")
    assert network is not None and {"safety_stock", "stock_role"} <= set(network.columns)
    assert simulation is not None
    assert simulation["simulated_fill_rate"].drop_nulls().is_between(0, 1).all()
    assert simulation["replay_fill_rate"].drop_nulls().is_between(0, 1).all()
    # Forward check: sized for its own forecast, the plan delivers about what it promises.
    weights = simulation["demand"].fill_null(0.0)
    pooled = (simulation["simulated_fill_rate"].fill_null(0.0) * weights).sum() / weights.sum()
    assert pooled > 0.85
    policies = runs.read_published(factory, "policies")
    keys = ["item_id", "location_id"]
    # The placement is handed to the policy engine: every stage of every item network has
    # a policy (upstream stages included), and each demand series is simulated.
    assert set(policies.select(keys).iter_rows()) == set(network.select(keys).iter_rows())
    assert set(simulation.select(keys).iter_rows()) <= set(policies.select(keys).iter_rows())
    staged = policies.join(network, on=keys).filter(pl.len().over("item_id") > 1)
    assert staged.height > 0
    # Each stage protects its net replenishment time (+ its location's feed delay) ...
    delay = staged.group_by("location_id").agg(
        (pl.col("lead_time") - pl.col("net_lead_time")).min().alias("lo"),
        (pl.col("lead_time") - pl.col("net_lead_time")).max().alias("hi"),
    )
    assert ((delay["hi"] - delay["lo"]).abs() < 1e-9).all() and (delay["lo"] >= 0).all()
    # ... and a flow-through stage holds nothing.
    flow = staged.filter(pl.col("stock_role") == "flow_through")
    assert flow.height > 0 and (flow["order_up_to"] == 0).all()
    assert flow["explanation"].str.contains("flow-through").all()
    decoupling = staged.filter(pl.col("stock_role") == "decoupling")
    assert decoupling["explanation"].str.contains("net replenishment time").all()
    # The stages' policies are also simulated together, network by network.
    networked = simulation.filter(pl.col("network_fill_rate").is_not_null())
    assert networked.height > 0 and networked["network_fill_rate"].is_between(0, 1).all()
    simulate = next(s for s in run1.steps if s.name == "simulate")
    assert "through the item networks" in (simulate.message or "")
    # every event override of the run, as the audit trail holds it, exportable
    forecast_message = next(s for s in run1.steps if s.name == "forecast").message or ""
    logged = int(forecast_message.split(" event overrides")[0].split(", ")[-1])
    overrides = runs.read_artifact(factory, run1.id, "overrides")
    assert overrides is not None and overrides.height == logged > 0
    assert {"old_value", "new_value", "author", "reason", "changed_at_utc", "event_id"} <= set(
        overrides.columns
    )
    assert overrides["author"].str.len_chars().min() > 0

    later = write_demo(tmp_path / "dec", items=40, weeks=40, seed=5, as_of=date(2026, 12, 7))
    run2 = plan_folder(factory, later.path, date(2026, 12, 7), settings)
    assert run2.status.value == "succeeded" and run2.published
    exceptions = next(s for s in run2.steps if s.name == "exceptions")
    assert f"against run {run1.id}'s forecasts" in (exceptions.message or "")
    flags = runs.read_artifact(factory, run2.id, "exceptions")
    assert flags is not None
    # The first plan's forecasts scored against the weeks since: per series, with classes.
    scored = runs.read_artifact(factory, run2.id, "accuracy")
    assert scored is not None and scored.height > 0
    assert {"wape", "mase", "bias", "fva_statistical", "fva_override", "abc"} <= set(scored.columns)
    assert "accuracy over" in (exceptions.message or "")
    # the pooled WAPE of the message is the artifact's: each series' error over the
    # periods it was scored on
    pooled = float((scored["mae"].fill_nan(0.0) * scored["periods"]).sum()) / float(
        scored["actual"].sum()
    )
    assert f"WAPE {pooled:.3f}" in (exceptions.message or "")
    # runs a month apart monitor 5 weeks: the message says which rule could not fire
    assert "persistent_bias cannot fire" in (exceptions.message or "")
    # every limit the run used is in the message (planning.md)
    assert "level_shift_relative 0.3, level_shift_z 3" in (exceptions.message or "")
    assert {"item_id", "location_id", "rule", "reason"} <= set(flags.columns)
    # The first plan stays intact in the store; the second is now the published one.
    assert runs.get_run(factory, run1.id).published is False

    page = write_run_report(
        factory, run2.id, tmp_path / "report.html", settings=settings
    ).read_text()
    for section in (
        "Service check",
        "Forecast exceptions",
        "Where the network holds safety stock",
        "Accuracy of the last plan",
    ):
        assert section in page


def test_a_one_bucket_horizon_plans_end_to_end(tmp_path: Path) -> None:
    """Regression: horizons 1 and 2 failed the simulate step (its warm-up of 2 buckets
    left nothing to count)."""
    settings = Settings(home=tmp_path, horizon=1)
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    folder = write_demo(tmp_path / "one", items=15, weeks=30, seed=3, as_of=date(2026, 11, 2))
    run = plan_folder(factory, folder.path, date(2026, 11, 2), settings)
    assert run.status.value == "succeeded", [(s.name, s.message) for s in run.steps]
    simulate = next(s for s in run.steps if s.name == "simulate")
    assert "forecast paths (20 x 1 buckets)" in (simulate.message or "")


def test_a_later_run_says_which_quarantined_future_records_its_history_now_misses(
    tmp_path: Path,
) -> None:
    """Regression: a run a month later on the same import folder planned on a history
    without the demand the first import had quarantined as future_date (the second import
    of the same content changes nothing), with no word of it."""
    settings = Settings(home=tmp_path, horizon=4)
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    folder = write_demo(tmp_path / "d", items=12, weeks=30, seed=4, as_of=date(2026, 11, 2))
    early = plan_folder(factory, folder.path, date(2026, 10, 5), settings)
    validate = next(s for s in early.steps if s.name == "validate")
    assert "now lie inside the history" not in (validate.message or "")
    later = plan_folder(factory, folder.path, date(2026, 11, 2), settings)
    message = next(s for s in later.steps if s.name == "validate").message or ""
    assert "record(s) quarantined as future_date now lie inside the history" in message
    assert " demand, " in message  # the demand of the weeks since 2026-10-05, among others
    assert "stockpilot quarantine release --as-of 2026-11-02" in message
