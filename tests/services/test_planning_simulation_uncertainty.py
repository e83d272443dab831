"""The simulate step checks the policies under the uncertainty they were sized for: each
line's orders draw random lead times (the receipts' mean and sd) and lose the supplier's
defect rate, the networks' supply stages likewise; the step says how many did, the
simulation artifact records what each line drew, and a re-run gives the same figures."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from _planning import plan_folder

from stockpilot.io.demo.extracts import write_demo
from stockpilot.services import runs
from stockpilot.settings import Settings
from stockpilot.store.db import SessionFactory, open_store

AS_OF = date(2026, 11, 2)
KEYS = ["item_id", "location_id"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("uncertainty")
    return write_demo(tmp_path / "data", items=40, weeks=40, seed=5, as_of=AS_OF).path


def _run(folder: Path, home: Path) -> tuple[SessionFactory, runs.RunSummary]:
    factory = open_store(f"sqlite:///{home / 'plan.db'}")
    run = plan_folder(factory, folder, AS_OF, Settings(home=home, horizon=8))
    assert run.status.value == "succeeded", [s.message for s in run.steps]
    return factory, run


def test_simulate_step_draws_the_lines_lead_time_sd_and_defects_and_says_so(
    folder: Path, tmp_path: Path
) -> None:
    factory, run = _run(folder, tmp_path)
    message = next(s for s in run.steps if s.name == "simulate").message or ""
    found = re.search(r"(\d+) lines with random lead times, (\d+) with defect rates", message)
    assert found, message
    simulated = runs.read_artifact(factory, run.id, "simulation")
    details = runs.read_artifact(factory, run.id, "policy_details")
    assert simulated is not None and details is not None
    # each line drew exactly its policy row's sd and defect rate
    rows = simulated.join(details.select(*KEYS, "lead_time_sd", "defect_rate"), on=KEYS, how="left")
    assert (rows["simulated_lead_time_sd"] == rows["lead_time_sd"].fill_null(0.0)).all()
    assert (rows["simulated_defect_rate"] == rows["defect_rate"].fill_null(0.0)).all()
    random_lines = int((simulated["simulated_lead_time_sd"] > 0).sum())
    defect_lines = int((simulated["simulated_defect_rate"] > 0).sum())
    assert (int(found[1]), int(found[2])) == (random_lines, defect_lines)
    assert random_lines > 0 and defect_lines > 0  # the demo's suppliers vary and reject
    networks = re.search(
        r"network supply stages: (\d+) random lead times, (\d+) defect rates; "
        r"family supply stages: (\d+), (\d+)",
        message,
    )
    assert networks, message
    assert int(networks[1]) > 0 and int(networks[2]) > 0

    # The same data planned again: the same simulated figures, draw for draw.
    other = tmp_path / "again"
    other.mkdir()
    factory2, run2 = _run(folder, other)
    again = runs.read_artifact(factory2, run2.id, "simulation")
    assert again is not None
    columns = ["simulated_fill_rate", "replay_fill_rate", "network_fill_rate"]
    assert (
        again.sort(KEYS)
        .select(*KEYS, *columns)
        .equals(simulated.sort(KEYS).select(*KEYS, *columns))
    )
