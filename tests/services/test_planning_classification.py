"""The classify and exceptions steps of a planning run (issue 3, sections 1 and 5).

Regression tests for: an approved multi-criteria ABC configuration crashed the run
("abc_multi_criteria ... Missing: ['margin', 'order_lines']"); the item master's lifecycle
flags never reached classification; the exception tolerances could not be configured.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from stockpilot.core.classify import abc_classify
from stockpilot.core.forecast.exceptions import ExceptionRules
from stockpilot.engine.panel import Panel
from stockpilot.io.demo.extracts import DemoFolder, write_demo
from stockpilot.services import imports, runs
from stockpilot.services.audit import append_audit
from stockpilot.services.classification import ACTION, approve_config
from stockpilot.services.planning import (
    PlanOptions,
    classify_step,
    exception_rules,
    exceptions_step,
    forecast_step,
    initial_state,
    make_ingest_step,
    planning_registry,
    validate_step,
)
from stockpilot.settings import Settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory, open_store

NOV = date(2026, 11, 2)
DEC = date(2026, 12, 7)


@pytest.fixture(scope="module")
def november(tmp_path_factory: pytest.TempPathFactory) -> DemoFolder:
    return write_demo(tmp_path_factory.mktemp("nov"), items=30, weeks=60, seed=5, as_of=NOV)


def _options(folder: DemoFolder, as_of: date) -> PlanOptions:
    return PlanOptions(as_of=as_of, import_folder=folder.path, mappings=folder.mappings)


def _run(
    factory: SessionFactory,
    registry: runs.StepRegistry,
    options: PlanOptions,
    settings: Settings,
) -> tuple[runs.RunSummary, dict[str, Any]]:
    state = initial_state(options)
    run_id = runs.create_run(factory, registry)
    summary = runs.execute_run(factory, run_id, registry, settings=settings, state=state)
    return summary, state


def _monitoring_registry(factory: SessionFactory, options: PlanOptions) -> runs.StepRegistry:
    """Ingest to exceptions only: what the exception rules need, without re-planning."""
    registry = runs.StepRegistry()
    registry.register("ingest", make_ingest_step(factory, options))
    registry.register("validate", validate_step)
    registry.register("snapshot", runs.snapshot_step)
    registry.register("classify", classify_step)
    registry.register("exceptions", exceptions_step, order=45)
    return registry


def _message(summary: runs.RunSummary, step: str) -> str:
    return next(s.message or "" for s in summary.steps if s.name == step)


def test_approved_multi_criteria_config_plans_and_the_classes_follow_it(
    tmp_path: Path, november: DemoFolder
) -> None:
    settings = Settings(home=tmp_path, horizon=4)
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    imports.import_folder(
        factory, november.path, mappings=november.mappings, as_of=NOV, settings=settings
    )
    weights = {"margin": 0.3, "order_lines": 0.2, "volume": 0.5}
    approve_config(
        factory,
        {"version": 2, "abc_criteria": weights, "abc_cutoffs": [0.6, 0.9]},
        approved_by="sop.board",
        reason="sales, procurement and finance agreed",
    )
    options = _options(november, NOV)
    summary, state = _run(factory, planning_registry(factory, options), options, settings)
    assert summary.status.value == "succeeded", summary.error_message
    message = _message(summary, "classify")
    assert "criteria v2 approved by sop.board" in message
    assert "ABC on margin 0.3, order_lines 0.2, volume 0.5" in message

    # The criteria, recomputed here from the run's panel and the stored item master.
    panel: Panel = state["panel"]
    with factory() as session:
        items = repo.read_entity(session, "items")
    master = panel.keys.join(items, on="item_id", how="left", maintain_order="left")
    cost = master["unit_cost"].to_numpy()
    price = master["price"].fill_null(np.nan).to_numpy()
    recent = panel.values[:, -52:]
    volume = np.nansum(recent, axis=1) / np.maximum((~np.isnan(recent)).sum(axis=1), 1) * 52
    lines = (np.nan_to_num(recent) > 0).sum(axis=1)
    margin = np.where(np.isnan(price), 0.0, volume * (price - cost))
    got = state["abc_criteria"]
    assert got.select("item_id", "location_id").equals(panel.keys)
    np.testing.assert_allclose(got["volume"].to_numpy(), volume)
    np.testing.assert_allclose(got["order_lines"].to_numpy(), lines)
    np.testing.assert_allclose(got["margin"].to_numpy(), margin)
    assert (lines > 0).any() and (lines < 52).any()  # the criterion separates series

    shares = {"margin": np.clip(margin, 0, None), "order_lines": lines, "volume": volume}
    score = sum(w * shares[k] / shares[k].sum() for k, w in weights.items())
    expected = abc_classify(score, cutoffs=(0.6, 0.9)).classes
    classes = state["classes"]["abc"].to_numpy().astype(str)
    assert classes.tolist() == expected.tolist()
    # ... and the agreed criteria matter: value alone ranks the series differently.
    by_value = abc_classify(volume * cost, cutoffs=(0.6, 0.9)).classes
    assert (classes != by_value).any()

    # Item-master lifecycle flags reach classification and the forecaster's selection.
    flagged = (
        master["lifecycle_flag"].is_in(["phase_out", "discontinued"]).fill_null(False)
        | master["obsolete"].fill_null(False)
    ).to_numpy()
    still_selling = np.nansum(panel.values[:, -12:], axis=1) > 0
    assert (flagged & still_selling).any(), "the demo has flagged items that still sell"
    lifecycle = state["classes"]["lifecycle"].to_numpy().astype(str)
    assert (lifecycle[flagged] == "end_of_life").all()
    diagnostics = state["forecast"].diagnostics
    assert diagnostics.select("item_id", "location_id").equals(panel.keys)
    assert (diagnostics["lifecycle"].to_numpy()[flagged] == "end_of_life").all()


def test_a_legacy_approved_criterion_the_run_cannot_compute_does_not_stop_it(
    tmp_path: Path, november: DemoFolder
) -> None:
    settings = Settings(home=tmp_path, horizon=4)
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    # Written as an approval before approve-time checks existed would have stored it.
    with factory.begin() as session:
        append_audit(
            session,
            actor="finance.lead",
            action=ACTION,
            entity="classification_config",
            key="version 2",
            old=None,
            new={
                "version": 2,
                "abc_criteria": {"annual_value": 0.6, "shelf_space": 0.4},
                "approved_by": "finance.lead",
                "approved_at": "2026-10-01T09:00:00+00:00",
            },
            reason="legacy",
        )
    options = _options(november, NOV)
    registry = _monitoring_registry(factory, options)
    registry.register("forecast", forecast_step)
    summary, state = _run(factory, registry, options, settings)
    assert summary.status.value == "succeeded", summary.error_message
    message = _message(summary, "classify")
    assert "['shelf_space'] cannot be computed and were left out" in message
    assert "ABC on annual_value 0.6" in message
    assert dict(state["classification_config"].abc_criteria) == {"annual_value": 0.6}


def test_exception_settings_default_to_the_rules_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert exception_rules(Settings(home=tmp_path)) == ExceptionRules()
    monkeypatch.setenv("STOCKPILOT_EXCEPTION_BIAS_RUN", "off")
    monkeypatch.setenv("STOCKPILOT_EXCEPTION_MAX_ERROR", "0.25")
    rules = exception_rules(Settings(home=tmp_path))
    assert rules.bias_run is None and rules.max_error == 0.25


def test_configured_exception_limits_change_the_flags(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, november: DemoFolder
) -> None:
    settings = Settings(home=tmp_path, horizon=8)
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    first = _options(november, NOV)
    published, _ = _run(factory, planning_registry(factory, first), first, settings)
    assert published.published
    december = write_demo(tmp_path_factory.mktemp("dec"), items=30, weeks=60, seed=5, as_of=DEC)
    later = _options(december, DEC)

    def flags(**limits: Any) -> tuple[str, pl.DataFrame]:
        configured = settings.model_copy(update=limits)
        summary, state = _run(factory, _monitoring_registry(factory, later), later, configured)
        assert summary.status.value == "succeeded", summary.error_message
        return _message(summary, "exceptions"), state["exceptions"]

    _, default = flags()
    strict_message, strict = flags(
        exception_max_error=0.05, exception_tracking_signal_limit=0.5, exception_bias_run=2
    )
    off_message, off = flags(
        exception_max_error=None,
        exception_tracking_signal_limit=None,
        exception_bias_run=None,
        exception_level_shift_window=None,
    )
    assert default.height > 0
    assert strict.height > default.height
    error = strict.filter(pl.col("rule") == "error")
    assert error.height > 0 and (error["limit"] == 0.05).all()
    assert (strict.filter(pl.col("rule") == "tracking_signal")["limit"] == 0.5).all()
    assert "max_error 0.05, tracking_signal_limit 0.5, bias_run 2" in strict_message
    assert off.height == 0
    assert off_message.startswith("0 series flagged") and "max_error off" in off_message
