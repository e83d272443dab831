"""``stockpilot simulate`` on small files, through typer's CliRunner."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from stockpilot.cli.simulate import register


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        """Placeholder."""

    return application


def _demand(path: Path) -> Path:
    """Item A: 2 units a day for 10 days; item B: 4 units a day for 10 days."""
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(10)]
    frame = pl.DataFrame(
        {
            "item_id": ["A"] * 10 + ["B"] * 10,
            "location_id": ["L1"] * 20,
            "date": [d.isoformat() for d in days] * 2,
            "quantity": [2.0] * 10 + [4.0] * 10,
        }
    )
    frame.write_csv(path)
    return path


def _policies(path: Path, rows: list[dict[str, object]]) -> Path:
    pl.DataFrame(rows).write_csv(path)
    return path


def test_simulate_hand_computed(app: typer.Typer, tmp_path: Path) -> None:
    """A: base stock S = 5, L = 1 with demand 2 a day ends day 0 with 3, then 1 every day.

    B: S = 6, L = 1 with demand 4: day 0 fills 4 and ends with 2; day 1 fills 2 of 4; from
    then on each receipt of 4 first clears the 2 backordered units, leaving 2 of the day's
    4: fill rate (4 + 9 x 2) / 40, 2 units backordered at the end of days 1-9.
    """
    policies = _policies(
        tmp_path / "policies.csv",
        [
            {
                "item_id": "A",
                "location_id": "L1",
                "policy": "base_stock",
                "lead_time": 1,
                "review_period": 1,
                "order_up_to": 5,
            },
            {
                "item_id": "B",
                "location_id": "L1",
                "policy": "base_stock",
                "lead_time": 1,
                "review_period": 1,
                "order_up_to": 6,
            },
        ],
    )
    out = tmp_path / "service.csv"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--policies",
            str(policies),
            "--demand",
            str(_demand(tmp_path / "d.csv")),
            "--bucket",
            "day",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out).sort("item_id")
    a = table.row(0, named=True)
    assert a["fill_rate"] == 1.0
    assert a["average_on_hand"] == pytest.approx((3 + 9 * 1) / 10)
    assert a["periods"] == 10
    # B: net inventory S - (demand of the last 2 days) = 6 - 8 = -2 from day 1 on, so every
    # day from day 1 fills 4 - 2 = 2 of 4 (the receipt first clears 2 backorders).
    b = table.row(1, named=True)
    assert b["fill_rate"] == pytest.approx((4 + 9 * 2) / 40)
    assert b["average_backorders"] == pytest.approx(9 * 2 / 10)
    assert set(table.columns) >= {
        "fill_rate",
        "cycle_service_level",
        "average_on_hand",
        "average_backorders",
    }

    lost = CliRunner().invoke(
        app,
        [
            "simulate",
            "--policies",
            str(policies),
            "--demand",
            str(tmp_path / "d.csv"),
            "--bucket",
            "day",
            "--lost-sales",
            "--periods",
            "5",
            "--out",
            str(out),
        ],
    )
    assert lost.exit_code == 0, lost.output
    b_lost = pl.read_csv(out).sort("item_id").row(1, named=True)
    assert b_lost["average_backorders"] == 0.0
    assert b_lost["periods"] == 5
    assert b_lost["average_lost_sales"] > 0


def test_simulate_reports_bad_policies_together(app: typer.Typer, tmp_path: Path) -> None:
    policies = _policies(
        tmp_path / "policies.csv",
        [
            {
                "item_id": "A",
                "location_id": "L1",
                "policy": "sQ",
                "lead_time": 1,
                "order_up_to": 5,
                "reorder_point": None,
            },
            {
                "item_id": "B",
                "location_id": "L1",
                "policy": "s_S",
                "lead_time": 1,
                "order_up_to": 6,
                "reorder_point": None,
            },
        ],
    )
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--policies",
            str(policies),
            "--demand",
            str(_demand(tmp_path / "d.csv")),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 1
    message = result.output
    assert "'base_stock', 's_Q'" in message
    assert "'reorder_point'" in message


def test_simulate_skips_policies_without_demand_and_rounds_lead_times(
    app: typer.Typer, tmp_path: Path
) -> None:
    policies = _policies(
        tmp_path / "policies.csv",
        [
            {
                "item_id": "A",
                "location_id": "L1",
                "policy": "s_Q",
                "lead_time": 0.5,
                "reorder_point": 3,
                "order_quantity": 10,
            },
            {
                "item_id": "Z",
                "location_id": "L9",
                "policy": "base_stock",
                "lead_time": 1,
                "reorder_point": None,
                "order_quantity": None,
            },
        ],
    )
    out = tmp_path / "o.csv"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--policies",
            str(policies),
            "--demand",
            str(_demand(tmp_path / "d.csv")),
            "--bucket",
            "day",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1  # Z uses base_stock without order_up_to: reported
    policies = _policies(
        tmp_path / "policies.csv",
        [
            {
                "item_id": "A",
                "location_id": "L1",
                "policy": "s_Q",
                "lead_time": 0.5,
                "reorder_point": 3,
                "order_quantity": 10,
                "order_up_to": None,
            },
            {
                "item_id": "Z",
                "location_id": "L9",
                "policy": "base_stock",
                "lead_time": 1,
                "reorder_point": None,
                "order_quantity": None,
                "order_up_to": 4,
            },
        ],
    )
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--policies",
            str(policies),
            "--demand",
            str(tmp_path / "d.csv"),
            "--bucket",
            "day",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no demand" in result.output
    assert "rounded up" in result.output
    table = pl.read_csv(out)
    assert table["item_id"].to_list() == ["A"]


def test_simulate_missing_file_column(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "policies.csv"
    pl.DataFrame({"item_id": ["A"], "policy": ["base_stock"]}).write_csv(bad)
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--policies",
            str(bad),
            "--demand",
            str(_demand(tmp_path / "d.csv")),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 1
    assert "location_id" in result.output


def test_simulate_random_lead_times_from_lead_time_sd(app: typer.Typer, tmp_path: Path) -> None:
    """lead_time_sd > 0 draws lead times from --seed: same seed, same file; S = 5 with a
    fixed lead time of 1 fills item A completely, random lead times (sd 1.5) do not."""
    demand = _demand(tmp_path / "d.csv")

    def run(sd: float, seed: int, name: str) -> pl.DataFrame:
        policies = _policies(
            tmp_path / f"p_{name}.csv",
            [
                {
                    "item_id": "A",
                    "location_id": "L1",
                    "policy": "base_stock",
                    "lead_time": 1,
                    "lead_time_sd": sd,
                    "order_up_to": 5,
                }
            ],
        )
        out = tmp_path / f"o_{name}.csv"
        result = CliRunner().invoke(
            app,
            [
                "simulate",
                "--policies",
                str(policies),
                "--demand",
                str(demand),
                "--bucket",
                "day",
                "--seed",
                str(seed),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        return pl.read_csv(out)

    fixed = run(0.0, 1, "fixed")
    random_a = run(1.5, 2, "a")
    random_b = run(1.5, 2, "b")
    assert fixed["fill_rate"].item() == 1.0
    assert random_a.equals(random_b)
    assert random_a["fill_rate"].item() < 1.0


def _monthly_demand(path: Path) -> Path:
    """36 months of item M: 100 units on the first of each month, 200 in every December."""
    months = [date(2023 + m // 12, m % 12 + 1, 1) for m in range(36)]
    pl.DataFrame(
        {
            "item_id": ["M"] * 36,
            "location_id": ["L1"] * 36,
            "date": [d.isoformat() for d in months],
            "quantity": [200.0 if d.month == 12 else 100.0 for d in months],
        }
    ).write_csv(path)
    return path


def test_simulate_infers_the_monthly_bucket(app: typer.Typer, tmp_path: Path) -> None:
    """Regression: monthly demand was replayed in weekly buckets (153 periods, fill rate 1).

    Base stock S = 150, lead time 0: every month starts at 150, so the 33 months of 100 are
    filled and the three Decembers of 200 fill 150 each.
    """
    demand = _monthly_demand(tmp_path / "monthly.csv")
    policies = _policies(
        tmp_path / "policies.csv",
        [
            {
                "item_id": "M",
                "location_id": "L1",
                "policy": "base_stock",
                "lead_time": 0,
                "review_period": 1,
                "order_up_to": 150,
            }
        ],
    )
    out = tmp_path / "service.csv"
    args = ["simulate", "--policies", str(policies), "--demand", str(demand), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "(month buckets, inferred from the dates)" in result.output
    row = pl.read_csv(out).row(0, named=True)
    assert row["periods"] == 36
    assert row["fill_rate"] == pytest.approx((33 * 100 + 3 * 150) / (33 * 100 + 3 * 200))
    weekly = CliRunner().invoke(app, [*args, "--bucket", "week"])
    assert weekly.exit_code == 0, weekly.output
    assert "(week buckets, given)" in weekly.output
    assert pl.read_csv(out)["periods"].item() > 150
