"""``stockpilot policy`` through typer's CliRunner on a fresh app."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from stockpilot.cli.policy import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # keeps "policy" a sub-command
        pass

    return app


def _demand(path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [
        (item, "S1", (date(2023, 1, 1) + timedelta(days=d)).isoformat(), float(rng.poisson(lam)))
        for item, lam in (("A", 3.0), ("B", 0.2))
        for d in range(200)
    ]
    pl.DataFrame(
        rows, schema=["item_id", "location_id", "date", "quantity"], orient="row"
    ).write_csv(path)


def test_policy_command_writes_policies_and_erp_layout(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    _demand(demand)
    items = tmp_path / "items.csv"
    pl.DataFrame(
        {"item_id": ["A"], "lead_time": ["3"], "unit_cost": ["4"], "order_cost": ["30"]}
    ).write_csv(items)
    out, erp = tmp_path / "policies.csv", tmp_path / "erp.csv"
    result = CliRunner().invoke(
        _app(),
        [
            "policy",
            "--demand",
            str(demand),
            "--items",
            str(items),
            "--bucket",
            "week",
            "--service-target",
            "0.9",
            "--out",
            str(out),
            "--erp-out",
            str(erp),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 policies (week buckets)" in result.output
    policies = pl.read_csv(out)
    assert policies["item_id"].to_list() == ["A", "B"]
    assert policies["lead_time"].to_list() == [3.0, 1.0]
    assert policies["service_target"].to_list() == [0.9, 0.9]
    assert pl.read_csv(erp).columns[-3:] == ["min_qty", "max_qty", "safety_stock"]


def test_policy_command_infers_the_bucket(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    _demand(demand)
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(_app(), ["policy", "--demand", str(demand), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(day buckets)" in result.output


def test_policy_command_errors_go_to_stderr_with_exit_1(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    _demand(demand)
    result = CliRunner().invoke(
        _app(),
        [
            "policy",
            "--demand",
            str(demand),
            "--service-type",
            "type2",
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert result.exit_code == 1
    assert "service_type" in result.output and "fill_rate" in result.output
    missing = CliRunner().invoke(
        _app(), ["policy", "--demand", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "p.csv")]
    )
    assert missing.exit_code == 1


def test_policy_command_writes_lot_sizing_defect_moq_and_push_pull_columns(
    tmp_path: Path,
) -> None:
    """Item A (mean ~21/week, 5 % defects, costed) and slow item B (mean ~1.4/week) with an
    MOQ of 200 (> 6 weeks of demand): B gets an MOQ recommendation, A none; A's lot is its
    EOQ grossed up by 1/0.95; every line carries push/pull and its reason."""
    demand = tmp_path / "demand.csv"
    _demand(demand)
    items = tmp_path / "items.csv"
    pl.DataFrame(
        {
            "item_id": ["A", "B"],
            "unit_cost": ["52", "10"],
            "order_cost": ["50", "20"],
            "moq": ["", "200"],
            "defect_rate": ["0.05", ""],
            "customer_tolerance": ["0", "3"],
        }
    ).write_csv(items)
    out, erp = tmp_path / "policies.csv", tmp_path / "erp.csv"
    args = ["policy", "--demand", str(demand), "--items", str(items), "--bucket", "week"]
    result = CliRunner().invoke(_app(), [*args, "--out", str(out), "--erp-out", str(erp)])
    assert result.exit_code == 0, result.output
    from stockpilot.engine.policies import ERP_EXPORT_COLUMNS, EXTRA_COLUMNS, POLICY_COLUMNS

    policies = pl.read_csv(out)
    assert policies.columns == [*POLICY_COLUMNS, *EXTRA_COLUMNS]
    assert tuple(pl.read_csv(erp).columns) == ERP_EXPORT_COLUMNS
    a, b = policies.row(0, named=True), policies.row(1, named=True)
    # A: EOQ sqrt(2 A D / h) with h = 0.25/week, rounded up to a whole unit, then / 0.95.
    eoq = np.ceil(np.sqrt(2 * 50 * a["demand_mean"] / 0.25))
    assert a["lot_sizing_rule"] == "eoq"
    assert a["order_quantity"] == pytest.approx(eoq / 0.95)
    assert a["defect_rate"] == 0.05
    assert not a["moq_recommendation"]  # empty for lines that are no MOQ exception
    assert b["moq_recommendation"] in {"order_moq", "lower_moq", "make_to_order"}
    assert b["moq_coverage_periods"] == pytest.approx(200 / b["demand_mean"])
    assert "MOQ 200" in b["moq_reason"]
    assert b["push_pull"] == "pull" and "customers wait 3" in b["push_pull_reason"]
    assert a["push_pull"] in {"push", "push_pull"} and a["push_pull_reason"]


def test_policy_command_rejects_a_non_positive_moq_coverage(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    _demand(demand)
    args = ["policy", "--demand", str(demand), "--moq-max-coverage", "0"]
    result = CliRunner().invoke(_app(), [*args, "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 1
    assert "moq_max_coverage" in result.output


def _monthly_demand(path: Path) -> None:
    """48 months: item S triples in November and December, item F is flat."""
    rng = np.random.default_rng(3)
    rows = [
        (
            item,
            "DC1",
            date(2022 + m // 12, m % 12 + 1, 1).isoformat(),
            float(rng.poisson(base * (3.0 if item == "S" and m % 12 >= 10 else 1.0))),
        )
        for item, base in (("S", 50.0), ("F", 30.0))
        for m in range(48)
    ]
    pl.DataFrame(
        rows, schema=["item_id", "location_id", "date", "quantity"], orient="row"
    ).write_csv(path)


def _seasonal_forecast(path: Path) -> pl.DataFrame:
    """Exchange-format forecast for 2026 (quantile columns included, as written by forecast)."""
    months = [date(2026, m, 1) for m in range(1, 13)]
    s_mean = [150.0 if d.month >= 11 else 50.0 for d in months]
    frame = pl.DataFrame(
        {
            "item_id": ["S"] * 12 + ["F"] * 12,
            "location_id": ["DC1"] * 24,
            "period_start": [d.isoformat() for d in months] * 2,
            "model": ["seasonal_naive"] * 24,
            "mean": s_mean + [30.0] * 12,
            "q50": s_mean + [30.0] * 12,
            "q90": [1.3 * x for x in s_mean] + [37.0] * 12,
        }
    )
    frame.write_csv(path)
    return frame


def test_policy_writes_time_phased_levels_from_a_forecast_file(tmp_path: Path) -> None:
    from stockpilot.engine.panel import to_panel
    from stockpilot.engine.policies import (
        TIME_PHASED_COLUMNS,
        PolicyOptions,
        compute_time_phased_policies,
    )
    from stockpilot.io.buckets import harmonize_demand

    demand, fc = tmp_path / "demand.csv", tmp_path / "forecasts.csv"
    _monthly_demand(demand)
    forecast = _seasonal_forecast(fc)
    items = tmp_path / "items.csv"
    pl.DataFrame({"item_id": ["S"], "lead_time": ["2"]}).write_csv(items)
    out, phased = tmp_path / "policies.csv", tmp_path / "phased.csv"
    result = CliRunner().invoke(
        _app(),
        [
            "policy",
            "--demand",
            str(demand),
            "--items",
            str(items),
            "--forecast",
            str(fc),
            "--time-phased",
            str(phased),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "24 time-phased levels (2 item-locations x 12 periods)" in result.output
    table = pl.read_csv(phased, try_parse_dates=True)
    assert tuple(table.columns) == TIME_PHASED_COLUMNS
    assert table.height == 24
    s = table.filter(pl.col("item_id") == "S")
    assert s["lead_time"].unique().to_list() == [2.0]  # the items file applies
    level = s["order_up_to"].to_list()
    # the level ahead of the peak protects the peak: September covers Sep-Nov (L + R = 3)
    assert level[8] > level[0] and level[9] > level[8]
    f = table.filter(pl.col("item_id") == "F")["order_up_to"].to_list()
    assert len(set(f)) == 1  # flat forecast, flat level
    # the same numbers as the engine on the same inputs (history spread, as no sd is given)
    panel = to_panel(
        harmonize_demand(pl.read_csv(demand, try_parse_dates=True), bucket="month"), bucket="month"
    )
    expected = compute_time_phased_policies(
        forecast.with_columns(pl.col("period_start").str.to_date()),
        panel=panel,
        items=pl.DataFrame({"item_id": ["S"], "lead_time": [2.0]}),
        options=PolicyOptions(),
    )
    assert table.sort("item_id", "period_start")["order_up_to"].to_list() == (
        expected.sort("item_id", "period_start")["order_up_to"].to_list()
    )


def test_time_phased_option_errors(tmp_path: Path) -> None:
    demand, fc = tmp_path / "demand.csv", tmp_path / "forecasts.csv"
    _monthly_demand(demand)
    _seasonal_forecast(fc)
    base = ["policy", "--demand", str(demand), "--out", str(tmp_path / "p.csv")]
    alone = CliRunner().invoke(_app(), [*base, "--time-phased", str(tmp_path / "t.csv")])
    assert alone.exit_code == 1 and "stockpilot forecast" in alone.output
    unused = CliRunner().invoke(_app(), [*base, "--forecast", str(fc)])
    assert unused.exit_code == 1 and "time_phased" in unused.output
    weekly = CliRunner().invoke(
        _app(),
        [
            *base,
            "--bucket",
            "week",
            "--forecast",
            str(fc),
            "--time-phased",
            str(tmp_path / "t.csv"),
        ],
    )
    assert weekly.exit_code == 1
    assert "month buckets" in " ".join(weekly.output.split())
    bad = tmp_path / "bad.csv"
    pl.read_csv(fc).with_columns(
        pl.when(pl.col("item_id") == "F")
        .then(pl.lit("x"))
        .otherwise(pl.col("mean").cast(pl.String))
        .alias("mean")
    ).write_csv(bad)
    unreadable = CliRunner().invoke(
        _app(), [*base, "--forecast", str(bad), "--time-phased", str(tmp_path / "t.csv")]
    )
    assert unreadable.exit_code == 1
    assert "12 missing or unreadable mean(s)" in " ".join(unreadable.output.split())
    assert not (tmp_path / "t.csv").exists() and not (tmp_path / "p.csv").exists()


def test_policy_command_leaves_an_incomplete_last_week_out(tmp_path: Path) -> None:
    """200 days from Sunday 2023-01-01 end on Wednesday 2023-07-19: that week holds 3
    days per item, which summed as a whole week would lower the mean and raise the sd."""
    demand = tmp_path / "demand.csv"
    _demand(demand)
    out = tmp_path / "p.csv"
    args = ["policy", "--demand", str(demand), "--bucket", "week", "--out", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "ends on 2023-07-19, inside the week of 2023-07-17" in text
    assert "(6 record(s)) is left out" in text
