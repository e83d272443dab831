"""``stockpilot network optimize`` through typer's CliRunner on a fresh app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stockpilot.cli.common import native_stdout_to_stderr
from stockpilot.cli.network import register

EXAMPLE = {
    "name": "example_6_5",
    "z": 1.0,
    "nodes": [
        {"id": "1", "processing_time": 2, "holding_cost": 1, "external_inbound_cst": 1},
        {
            "id": "2",
            "processing_time": 1,
            "holding_cost": 3,
            "demand_sd": 1,
            "external_outbound_cst": 0,
        },
        {"id": "3", "processing_time": 1, "holding_cost": 2},
        {
            "id": "4",
            "processing_time": 1,
            "holding_cost": 3,
            "demand_sd": 1,
            "external_outbound_cst": 1,
        },
    ],
    "edges": [["1", "3"], ["3", "2"], ["3", "4"]],
}


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        """Nothing."""

    return app


@pytest.mark.parametrize("method", ["auto", "tree", "milp"])
def test_optimize_writes_result_json(tmp_path: Path, method: str) -> None:
    """Snyder and Shen (2019) Example 6.5 through the CLI: cost 8.2779 by every method."""
    src = tmp_path / "net.json"
    src.write_text(json.dumps(EXAMPLE))
    out = tmp_path / "result.json"
    result = CliRunner().invoke(
        _app(),
        ["network", "optimize", "--network", str(src), "--out", str(out), "--method", method],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["total_cost"] == pytest.approx(8.277916867529369)
    assert data["optimal"] is True
    assert {n["id"]: n["committed_service_time"] for n in data["nodes"]} == {
        "1": 0,
        "2": 0,
        "3": 0,
        "4": 1,
    }
    assert set(data["decoupling_points"]) == {
        n["id"] for n in data["nodes"] if n["net_lead_time"] > 0
    }


def test_invalid_network_exits_1_with_message(tmp_path: Path) -> None:
    bad = dict(EXAMPLE, edges=[["1", "9"]])
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(bad))
    result = CliRunner().invoke(
        _app(), ["network", "optimize", "--network", str(src), "--out", str(tmp_path / "o.json")]
    )
    assert result.exit_code == 1
    assert "unknown node '9'" in result.output
    assert not (tmp_path / "o.json").exists()


def test_missing_file_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "network",
            "optimize",
            "--network",
            str(tmp_path / "no.json"),
            "--out",
            str(tmp_path / "o.json"),
        ],
    )
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_stdout_of_network_optimize_has_no_highs_banner(tmp_path: Path) -> None:
    """Regression: HiGHS printed its licence banner on stdout, corrupting piped output.

    A fresh process, so the MILP creates the process's first Highs object (the banner is
    printed then, on file descriptor 1, below Python's sys.stdout).
    """
    src = tmp_path / "net.json"
    src.write_text(json.dumps(EXAMPLE))
    out = tmp_path / "x.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "stockpilot",
            "network",
            "optimize",
            "--network",
            str(src),
            "--out",
            str(out),
            "--method",
            "milp",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "HiGHS" not in run.stdout
    assert "HiGHS" not in run.stderr  # the banner is dropped, not moved
    assert run.stdout.splitlines() == [
        f"example_6_5: total cost 8.28 (milp, optimal); safety stock at 3 of 4 nodes -> {out}"
    ]
    assert json.loads(out.read_text())["method"] == "milp"


def test_native_stdout_goes_to_stderr_without_the_banner(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with native_stdout_to_stderr():
        os.write(1, b"Running HiGHS 9.9.9: Copyright (c) under MIT licence terms\n")
        os.write(1, b"solver says hello\n")
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "solver says hello" in captured.err and "HiGHS" not in captured.err
