"""``stockpilot forecast`` through typer's CliRunner on a fresh app."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import typer
from typer.testing import CliRunner

from stockpilot.cli.forecast import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        """Nothing."""

    return app


def _write_daily_demand(path: Path) -> None:
    rng = np.random.default_rng(2)
    start = date(2024, 1, 1)
    rows = [
        (item, "DC1", (start + timedelta(days=d)).isoformat(), int(rng.poisson(lam)))
        for item, lam in (("A", 3.0), ("B", 0.1))
        for d in range(7 * 30)
    ]
    pl.DataFrame(
        rows, schema=["item_id", "location_id", "date", "quantity"], orient="row"
    ).write_csv(path)


def test_forecast_command_writes_exchange_format_and_lead_time_file(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    _write_daily_demand(demand)
    out = tmp_path / "forecasts.csv"
    res = CliRunner().invoke(
        _app(),
        [
            "forecast",
            "--demand",
            str(demand),
            "--horizon",
            "4",
            "--quantiles",
            "0.5,0.9,0.95",
            "--lead-time",
            "2",
            "--bucket",
            "week",
            "--out",
            str(out),
            "--diagnostics",
            str(tmp_path / "diag.csv"),
            "--calibrate",
        ],
    )
    assert res.exit_code == 0, res.output
    f = pl.read_csv(out)
    assert f.columns == [
        "item_id",
        "location_id",
        "period_start",
        "model",
        "mean",
        "q50",
        "q90",
        "q95",
    ]
    assert f.height == 8
    assert f["period_start"].min() == "2024-07-29"  # the Monday after 30 weeks of data
    lt = pl.read_csv(tmp_path / "forecasts_lead_time.csv")
    assert lt.height == 2 and {"ltd_mean", "q95"} <= set(lt.columns)
    diag = pl.read_csv(tmp_path / "diag.csv")
    assert diag["reason"].str.len_chars().min() > 10  # type: ignore[operator]


def test_forecast_command_reports_errors_on_stderr(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    _write_daily_demand(demand)
    res = CliRunner().invoke(
        _app(),
        [
            "forecast",
            "--demand",
            str(demand),
            "--horizon",
            "4",
            "--quantiles",
            "0.5,high",
            "--out",
            str(tmp_path / "f.csv"),
        ],
    )
    assert res.exit_code == 1
    assert "--quantiles" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,location_id,day,quantity\nA,L,2024-01-01,1\n")
    res = CliRunner().invoke(
        _app(),
        ["forecast", "--demand", str(bad), "--horizon", "2", "--out", str(tmp_path / "g.csv")],
    )
    assert res.exit_code == 1 and "date" in res.output
    assert not (tmp_path / "g.csv").exists()
