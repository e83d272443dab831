"""A planning run over an import folder, as the planning-service tests run it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from stockpilot.services import runs
from stockpilot.services.planning import PlanOptions, initial_state, planning_registry
from stockpilot.settings import Settings
from stockpilot.store.db import SessionFactory


def plan_folder(
    factory: SessionFactory, folder: Path, as_of: date, settings: Settings
) -> runs.RunSummary:
    """Every planning step on ``folder`` (canonical files and their ``mappings/*.yaml``)."""
    options = PlanOptions(
        as_of=as_of,
        import_folder=folder,
        mappings=tuple(sorted((folder / "mappings").glob("*.yaml"))),
    )
    registry = planning_registry(factory, options)
    run_id = runs.create_run(factory, registry)
    return runs.execute_run(
        factory, run_id, registry, settings=settings, state=initial_state(options)
    )
