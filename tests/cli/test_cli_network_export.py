"""``stockpilot network export``: the networks of a planning run, BOM families included,
as network JSON files that ``network optimize`` solves to the run's own placement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from stockpilot.cli.common import STATE
from stockpilot.cli.main import app
from stockpilot.io.demo.extracts import write_demo

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("STOCKPILOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STOCKPILOT_DATABASE_URL", raising=False)
    STATE.settings = None
    yield tmp_path
    STATE.settings = None


def invoke(*args: str) -> tuple[int, str]:
    STATE.settings = None
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        return 1, f"{result.output}\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.output


def test_export_writes_item_and_family_networks_that_solve_to_the_run_placement(
    home: Path,
) -> None:
    folder = write_demo(home / "data", items=40, weeks=40, seed=11).path
    bom = pl.read_csv(folder / "bill_of_materials.csv")
    assert bom.height == 4
    code, out = invoke("network", "export", "--out", str(home / "none"))
    assert code == 1 and "No plan is published yet" in out
    assert invoke("import", str(folder))[0] == 0
    code, out = invoke("plan", "--as-of", "2026-11-02")
    assert code == 0, out
    code, out = invoke("network", "export", "--out", str(home / "nets"))
    assert code == 0, out
    assert "2 product families" in out
    files = sorted(p.name for p in (home / "nets").glob("*.json"))
    families = [f for f in files if f.startswith("family_")]
    assert len(families) == 2
    code, _ = invoke("export", "network", "--out", str(home / "placement.csv"))
    assert code == 0
    placement = pl.read_csv(home / "placement.csv", infer_schema_length=None)
    assert len(files) == placement.filter(pl.col("family_id").is_null())[
        "item_id"
    ].n_unique() + len(families)
    for name in families:
        data = json.loads((home / "nets" / name).read_text())
        parent = data["name"].removeprefix("family:")
        lanes = [e for e in data["edges"] if isinstance(e, list) and len(e) == 3]
        # the BOM lane with two units per parent, from the component's plant stage
        assert any(e[1] == f"{parent}@PLANT-01" and e[2] == 2.0 for e in lanes)
        code, out = invoke(
            "network",
            "optimize",
            "--network",
            str(home / "nets" / name),
            "--out",
            str(home / "solved.json"),
        )
        assert code == 0, out
        solved = json.loads((home / "solved.json").read_text())
        rows = placement.filter(pl.col("family_id") == data["name"])
        assert len(solved["nodes"]) == rows.height
        run_cost = float((rows["safety_stock"] * rows["holding_cost"]).sum())
        assert solved["total_cost"] == pytest.approx(run_cost, rel=1e-9, abs=1e-9)
    component = bom["component_item_id"][1]
    code, out = invoke(
        "network", "export", "--run", "1", "--item", component, "--out", str(home / "one")
    )
    assert code == 0, out
    (only,) = list((home / "one").glob("*.json"))
    assert only.name.startswith("family_")
    code, out = invoke("network", "export", "--item", "NO-SUCH", "--out", str(home / "x"))
    assert code == 1 and "no network holding item 'NO-SUCH'" in out
