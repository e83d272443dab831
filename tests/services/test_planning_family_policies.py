"""A planning run on the demo company (which has a small bill of materials): every stage
of every product family gets a policy line on its dependent demand, and the simulate step
runs the families as assembly networks and reports their fill rate."""

from __future__ import annotations

import json
import math
import re
from datetime import date

import polars as pl
import pytest
from _planning import plan_folder

from stockpilot.io.demo.extracts import write_demo
from stockpilot.services import runs
from stockpilot.settings import Settings
from stockpilot.store.db import SessionFactory, open_store
from stockpilot.store.repositories import read_plan_rows

AS_OF = date(2026, 11, 2)
KEYS = ["item_id", "location_id"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SessionFactory, runs.RunSummary]:
    tmp_path = tmp_path_factory.mktemp("family_run")
    folder = write_demo(tmp_path / "data", items=40, weeks=40, seed=5, as_of=AS_OF).path
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    run = plan_folder(factory, folder, AS_OF, Settings(home=tmp_path, horizon=8))
    assert run.status.value == "succeeded", [s.message for s in run.steps]
    return factory, run


def test_every_family_stage_has_a_policy_line_on_its_dependent_demand(
    demo_run: tuple[SessionFactory, runs.RunSummary],
) -> None:
    factory, run = demo_run
    placement = runs.read_artifact(factory, run.id, "network")
    details = runs.read_artifact(factory, run.id, "policy_details")
    assert placement is not None and details is not None
    with factory() as session:
        policies = read_plan_rows(session, "policies", run.id)
    family = placement.filter(pl.col("family_id").is_not_null())
    assert family["family_id"].n_unique() >= 1
    lines = family.join(policies, on=KEYS, how="left")
    assert lines["policy"].null_count() == 0, lines.filter(pl.col("policy").is_null())
    # Flow-through stages pass orders on: base stock 0.
    flow = lines.filter(pl.col("stock_role") == "flow_through")
    assert (flow["order_up_to"] == 0.0).all() and (flow["policy"] == "base_stock").all()
    # A component's stage at the assembly location serves at least quantity_per x the
    # echelon demand of each assembly it goes into (compared where both lines average
    # the forecast over the same window, ceil(lead time + review period) buckets).
    lines_by_stage = policies.join(details.select(*KEYS, "demand_mean"), on=KEYS)
    line = {(r["item_id"], r["location_id"]): r for r in lines_by_stage.iter_rows(named=True)}

    def window(stage: tuple[str, str]) -> float:
        return math.ceil(line[stage]["lead_time"] + line[stage]["review_period"])

    lanes = family.filter(pl.col("bom_components").is_not_null())
    compared = 0
    for parent, location, components in lanes.select(*KEYS, "bom_components").iter_rows():
        for component in json.loads(components):
            up, down = (component["component_item_id"], location), (parent, location)
            if window(up) == window(down):
                need = component["quantity_per"] * line[down]["demand_mean"]
                assert line[up]["demand_mean"] >= need - 1e-9, (up, down)
                compared += 1
    assert compared >= 1


def test_simulate_step_runs_the_families_and_reports_their_fill_rate(
    demo_run: tuple[SessionFactory, runs.RunSummary],
) -> None:
    factory, run = demo_run
    message = next(s for s in run.steps if s.name == "simulate").message or ""
    found = re.search(
        r"through the product families \((\d+) families, (\d+) stages, (\d+) customer lines\): "
        r"([0-9.]+)",
        message,
    )
    assert found, message
    families, stages, lines, fill = found.groups()
    assert int(families) >= 1 and int(stages) >= int(families) and int(lines) >= 1
    assert 0.0 <= float(fill) <= 1.0
    simulated = runs.read_artifact(factory, run.id, "simulation")
    assert simulated is not None
    in_family = simulated.filter(pl.col("family_id").is_not_null())
    assert in_family.height == int(lines)
    assert in_family["network_fill_rate"].null_count() == 0


def test_network_artifact_carries_every_family_stage_simulated(
    demo_run: tuple[SessionFactory, runs.RunSummary],
) -> None:
    factory, run = demo_run
    placement = runs.read_artifact(factory, run.id, "network")
    assert placement is not None
    family = placement.filter(pl.col("family_id").is_not_null())
    # Components and upstream stages have no customers of their own, but a simulated
    # stage fill rate (all requests, the assemblies' orders included) and stock.
    assert family["simulated_on_hand"].null_count() == 0
    # (A stage that received no request on the paths has no fill rate.)
    rates = family.filter(pl.col("stock_role") == "decoupling")["simulated_stage_fill_rate"]
    assert rates.drop_nulls().len() > rates.len() // 2
    assert rates.drop_nulls().is_between(0.0, 1.0).all()
