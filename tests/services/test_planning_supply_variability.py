"""The network step hands each stage the supplier's lead-time sd and defects that the
flow-through stages above it pass on: a planning run sizes a store behind a flow-through
chain with its supplier's sd, and one behind a stocking stage without."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from _planning import plan_folder

from stockpilot.io.demo.extracts import write_demo
from stockpilot.services import runs
from stockpilot.settings import Settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import open_store

AS_OF = date(2026, 11, 2)
KEYS = ["item_id", "location_id"]


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Every item-network stage of a small demo run: its placement, inbound lane and the
    lead-time sd, defect rate and explanation of its policy line."""
    home = tmp_path_factory.mktemp("passvar")
    folder = write_demo(home / "data", items=40, weeks=40, seed=5, as_of=AS_OF).path
    factory = open_store(f"sqlite:///{home / 'plan.db'}")
    run = plan_folder(factory, folder, AS_OF, Settings(home=home, horizon=8))
    assert run.status.value == "succeeded", [s.message for s in run.steps]
    network = runs.read_artifact(factory, run.id, "network")
    details = runs.read_artifact(factory, run.id, "policy_details")
    assert network is not None and details is not None
    with factory() as session:
        policies = repo.read_plan_rows(session, "policies", run.id).select(*KEYS, "explanation")
    return (
        network.filter(pl.col("family_id").is_null())
        .select(*KEYS, "stock_role", "supplied_from")
        .join(details.select(*KEYS, "lead_time_sd", "defect_rate"), on=KEYS, how="left")
        .join(policies, on=KEYS, how="left")
    )


def _walk_up(stages: pl.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    """Per stage, by walking up its inbound lanes one by one: the variance and good share
    of the outside supply reached through flow-through stages only (the top stage's own
    supply is what its policy line carries: nothing is above it)."""
    rows = {(r["item_id"], r["location_id"]): r for r in stages.iter_rows(named=True)}
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for (item, loc), row in rows.items():
        current = row
        while current["supplied_from"] is not None:
            up = rows[(item, current["supplied_from"])]
            if up["stock_role"] != "flow_through":
                out[(item, loc)] = (0.0, 1.0)
                break
            current = up
        else:
            sd, p = current["lead_time_sd"] or 0.0, current["defect_rate"] or 0.0
            out[(item, loc)] = (sd**2, 1.0 - p)
    return out


def test_every_stage_carries_the_supply_variability_of_its_flow_through_chain(
    stages: pl.DataFrame,
) -> None:
    expected = _walk_up(stages)
    for row in stages.iter_rows(named=True):
        var, good = expected[(row["item_id"], row["location_id"])]
        assert row["lead_time_sd"] == pytest.approx(math.sqrt(var), abs=1e-9), row
        assert row["defect_rate"] == pytest.approx(1.0 - good, abs=1e-9), row


def test_stores_behind_a_flow_through_chain_are_sized_with_the_supplier_sd_and_say_so(
    stages: pl.DataFrame,
) -> None:
    below = stages.filter(pl.col("supplied_from").is_not_null())
    passed = below.filter(pl.col("lead_time_sd") > 0)
    absorbed = below.filter(pl.col("lead_time_sd") == 0)
    # both cases occur in the demo run, so the walk above checks something either way
    assert passed.height > 0 and absorbed.height > 0
    assert passed.filter(pl.col("stock_role") == "decoupling").height > 0
    held = passed.filter(pl.col("stock_role") == "decoupling")
    assert held["explanation"].str.contains("flow-through stages upstream pass on").all()
    assert not absorbed["explanation"].str.contains("pass on their supplier").any()
