"""The platform commands as a new user would run them: demo, import, plan, runs, quarantine, db."""

from __future__ import annotations

import subprocess
import sys
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


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo") / "data", items=40, weeks=40, seed=11).path


def invoke(*args: str) -> tuple[int, str]:
    STATE.settings = None
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        return 1, f"{result.output}\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.output


def test_help_lists_every_command() -> None:
    code, out = invoke("--help")
    assert code == 0
    for command in ("demo", "import", "plan", "runs", "quarantine", "db", "forecast", "policy"):
        assert command in out


def test_db_upgrade_creates_the_schema(home: Path) -> None:
    code, out = invoke("db", "upgrade")
    assert code == 0, out
    assert "(empty) ->" in out
    code, out = invoke("db", "upgrade")
    assert code == 0 and "(empty)" not in out


def test_import_plan_runs_and_quarantine(home: Path, demo_folder: Path) -> None:
    code, out = invoke("import", str(demo_folder))
    assert code == 0, out
    assert "rows in = rows loaded + rows quarantined: yes" in out
    assert "duplicate" in out and "unknown_key" in out

    code, out = invoke("import", str(demo_folder))
    assert code == 0 and "already holds this content" in out

    code, out = invoke("plan", "--as-of", "2026-11-02", "--report", str(home / "r.html"))
    assert code == 0, out
    assert "succeeded" in out and "(published)" in out
    page = (home / "r.html").read_text()
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js embedded: works offline
    assert "Import reconciliation" in page and "Proposed policies" in page

    code, out = invoke("runs", "list")
    assert code == 0 and "succeeded" in out
    code, out = invoke("runs", "show", "1")
    assert code == 0
    for step in ("ingest", "validate", "snapshot", "forecast", "policy", "network", "publish"):
        assert step in out

    code, out = invoke("export", "policies", "--out", str(home / "erp.csv"), "--erp")
    assert code == 0, out
    erp = pl.read_csv(home / "erp.csv")
    assert {"item_id", "location_id", "min_qty", "max_qty"} <= set(erp.columns)
    assert erp.height > 0 and (erp["max_qty"] >= erp["min_qty"]).all()
    code, out = invoke("export", "forecasts", "--run", "1", "--out", str(home / "f.parquet"))
    assert code == 0, out
    assert pl.read_parquet(home / "f.parquet")["mean"].min() >= 0  # type: ignore[operator]
    policies = pl.read_csv(home / "erp.csv")
    keys = ["item_id", "location_id"]
    forecast_keys = set(pl.read_parquet(home / "f.parquet").select(keys).iter_rows())
    policy_keys = set(policies.select(keys).iter_rows())
    # every forecast series has its policy; upstream stages of the networks have theirs too
    assert policies.height == len(policy_keys) and forecast_keys < policy_keys

    # The run's review outputs: why each series' method won, the policy lines' details.
    code, out = invoke("export", "forecast_selection", "--out", str(home / "sel.csv"))
    assert code == 0, out
    selection = pl.read_csv(home / "sel.csv")
    assert {"model", "reason"} <= set(selection.columns)
    assert set(selection.select(keys).iter_rows()) == forecast_keys
    assert selection["reason"].str.len_chars().min() > 10  # type: ignore[operator]
    code, out = invoke("export", "policy_details", "--run", "1", "--out", str(home / "pd.csv"))
    assert code == 0, out
    details = pl.read_csv(home / "pd.csv")
    assert {"push_pull", "push_pull_reason", "lot_sizing_reason"} <= set(details.columns)
    assert set(details.select(keys).iter_rows()) == policy_keys
    code, out = invoke("export", "nonsense", "--out", str(home / "x.csv"))
    assert code == 1 and "forecast_selection" in out

    code, out = invoke("quarantine", "list", "--entity", "items", "--reason", "invalid_value")
    assert code == 0
    assert "items.csv" in out and "invalid_value" in out


def test_release_a_corrected_record(home: Path, demo_folder: Path) -> None:
    from stockpilot.services.imports import list_quarantine
    from stockpilot.store.db import open_store

    assert invoke("import", str(demo_folder))[0] == 0
    factory = open_store(f"sqlite:///{home / 'home' / 'stockpilot.db'}")
    bad_cost = list_quarantine(factory, entity="items", reason="invalid_value")
    record = int(bad_cost["id"][0])
    code, out = invoke(
        "quarantine", "release", str(record), "--set", "unit_cost=4.5", "--as-of", "2026-11-02"
    )
    assert code == 0, out
    assert "released 1 record" in out
    assert record not in list_quarantine(factory)["id"].to_list()
    code, out = invoke("quarantine", "release", str(record))
    assert code == 1


def test_bad_input_gives_a_clear_error_and_exit_code_1(home: Path) -> None:
    cmd = [sys.executable, "-m", "stockpilot", "import", str(home / "missing")]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "stockpilot", "--debug", "import", str(home / "missing")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_plan_without_data_fails_cleanly(home: Path) -> None:
    code, out = invoke("plan", "--as-of", "2026-11-02")
    assert code == 1
    assert "No import batch loaded any records" in out


def test_demo_end_to_end(home: Path) -> None:
    out_dir = home / "demo"
    code, out = invoke("demo", "--out", str(out_dir), "--items", "30", "--weeks", "40")
    assert code == 0, out
    assert "succeeded" in out
    assert (out_dir / "report.html").is_file()
    assert (out_dir / "data" / "stockpilot.yaml").is_file()


def test_classification_criteria_show_and_approve(home: Path, demo_folder: Path) -> None:
    code, out = invoke("classification", "show")
    assert code == 0 and "no version approved yet" in out
    criteria = home / "criteria.yaml"
    criteria.write_text(out.split("\n", 1)[1].replace("version: 1", "version: 2"))
    code, out = invoke(
        "classification", "approve", str(criteria), "--by", "sop.board", "--reason", "agreed"
    )
    assert code == 0, out
    assert "version 2 approved by sop.board" in out
    assert invoke("import", str(demo_folder))[0] == 0
    code, out = invoke("plan", "--as-of", "2026-11-02")
    assert code == 0, out
    from stockpilot.services.runs import get_run
    from stockpilot.store.db import open_store

    run = get_run(open_store(f"sqlite:///{home / 'home' / 'stockpilot.db'}"), 1)
    classify = next(step for step in run.steps if step.name == "classify")
    assert "criteria v2 approved by sop.board" in (classify.message or "")


def test_multi_criteria_approval_is_checked_against_the_data_and_then_plans(
    home: Path, demo_folder: Path
) -> None:
    # Regression: an approved margin/order-lines config made every `plan` fail in classify.
    criteria = home / "criteria.yaml"
    criteria.write_text("version: 2\nabc_criteria:\n  margin: 0.3\n  order_lines: 0.2\n")
    code, out = invoke(
        "classification", "approve", str(criteria), "--by", "sop.board", "--reason", "agreed"
    )
    assert code == 1
    assert "'margin' needs item selling prices" in out
    assert "['annual_value', 'volume', 'order_lines']" in out
    assert invoke("import", str(demo_folder))[0] == 0
    code, out = invoke(
        "classification", "approve", str(criteria), "--by", "sop.board", "--reason", "agreed"
    )
    assert code == 0, out
    code, out = invoke("plan", "--as-of", "2026-11-02")
    assert code == 0, out
    from stockpilot.services.runs import get_run
    from stockpilot.store.db import open_store

    run = get_run(open_store(f"sqlite:///{home / 'home' / 'stockpilot.db'}"), 1)
    assert run.status.value == "succeeded"
    classify = next(step for step in run.steps if step.name == "classify")
    assert "ABC on margin 0.3, order_lines 0.2" in (classify.message or "")


def test_plan_exception_limits_are_validated_and_recorded(home: Path, demo_folder: Path) -> None:
    code, out = invoke("plan", "--exception-limit", "max_eror=0.3")
    assert code == 1
    assert "rule one of bias_run, level_shift_relative, level_shift_window" in out
    code, out = invoke("plan", "--exception-limit", "max_error=-1")
    assert code == 1 and "max_error: Input should be greater than 0" in out
    # a rule given twice was the last one silently; off on a rule that cannot be off
    # said "None"
    twice = ["--exception-limit", "max_error=0.3", "--exception-limit", "max_error=0.9"]
    code, out = invoke("plan", *twice)
    assert code == 1 and "sets max_error twice" in " ".join(out.split())
    code, out = invoke("plan", "--exception-limit", "window=off")
    assert code == 1 and "(got off)" in out and "None" not in out
    assert invoke("import", str(demo_folder))[0] == 0
    code, out = invoke(
        "plan",
        "--as-of",
        "2026-11-02",
        "--exception-limit",
        "max_error=off",
        "--exception-limit",
        "bias_run=3",
    )
    assert code == 0, out
    from stockpilot.store.db import open_store
    from stockpilot.store.models import PlanningRun

    with open_store(f"sqlite:///{home / 'home' / 'stockpilot.db'}")() as session:
        recorded = session.get(PlanningRun, 1)
        assert recorded is not None
        assert recorded.settings["exception_max_error"] is None
        assert recorded.settings["exception_bias_run"] == 3
        assert recorded.settings["exception_tracking_signal_limit"] == 4.0
