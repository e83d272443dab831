"""``stockpilot network optimize`` through typer's CliRunner on a fresh app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

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
