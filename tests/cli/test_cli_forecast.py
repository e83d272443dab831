"""``stockpilot forecast`` through typer's CliRunner on a fresh app."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from typer.testing import CliRunner, Result

from stockpilot.cli.forecast import CALIBRATION_COLUMNS, register


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


def _write_monthly_demand(path: Path, months: int = 36) -> None:
    """Four series on the first of each month, Poisson means 100, 40, 8 and 60."""
    rng = np.random.default_rng(11)
    rows = [
        (item, "DC1", date(2023 + m // 12, m % 12 + 1, 1).isoformat(), int(rng.poisson(lam)))
        for item, lam in (("A", 100.0), ("B", 40.0), ("C", 8.0), ("D", 60.0))
        for m in range(months)
    ]
    pl.DataFrame(
        rows, schema=["item_id", "location_id", "date", "quantity"], orient="row"
    ).write_csv(path)


def test_forecast_infers_a_monthly_bucket_and_says_so(tmp_path: Path) -> None:
    """Regression: a 36-month file was forecast in weekly buckets (means about a quarter)."""
    demand = tmp_path / "monthly.csv"
    _write_monthly_demand(demand)
    out = tmp_path / "f.csv"
    args = ["forecast", "--demand", str(demand), "--horizon", "3", "--out", str(out)]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert "(month buckets, inferred from the dates)" in res.output
    f = pl.read_csv(out)
    assert f.filter(pl.col("item_id") == "A")["period_start"].to_list() == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    ]
    assert 85 < f.filter(pl.col("item_id") == "A")["mean"].mean() < 115  # type: ignore[operator]
    weekly = CliRunner().invoke(_app(), [*args, "--bucket", "week"])
    assert weekly.exit_code == 0, weekly.output
    assert "(week buckets, given)" in weekly.output
    assert pl.read_csv(out).filter(pl.col("item_id") == "A")["mean"].mean() < 40  # type: ignore[operator]
    bad = CliRunner().invoke(_app(), [*args, "--bucket", "quarter"])
    assert bad.exit_code == 1 and "'day', 'week', 'month'" in " ".join(bad.output.split())


def test_forecast_calibrate_prints_and_writes_the_calibration(tmp_path: Path) -> None:
    """4 series x 8 backtest months = 32 actuals: only q50 (16 expected above) may move."""
    demand = tmp_path / "monthly.csv"
    _write_monthly_demand(demand)
    out, calib = tmp_path / "f.csv", tmp_path / "calibration.parquet"
    res = CliRunner().invoke(
        _app(),
        [
            "forecast",
            "--demand",
            str(demand),
            "--horizon",
            "8",
            "--quantiles",
            "0.5,0.9,0.95,0.999",
            "--calibrate",
            "--calibration-out",
            str(calib),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Backtest calibration" in res.output and "q99.9" in res.output
    table = pl.read_parquet(calib)
    assert table.columns == list(CALIBRATION_COLUMNS)
    assert table["n_observations"].unique().to_list() == [32]
    asked = table.filter(pl.col("asked"))
    assert asked["level"].to_list() == [0.5, 0.9, 0.95, 0.999]
    assert asked["level_used"].to_list()[1:] == [0.9, 0.95, 0.999]
    # shares are multiples of 1/32 and non-decreasing in the level
    shares = table["observed_share"].to_numpy()
    assert np.allclose(shares * 32, np.round(shares * 32)) and (np.diff(shares) >= 0).all()
    assert table.filter(~pl.col("asked"))["level_used"].null_count() == table.height - 4
    assert pl.read_csv(out).columns[-4:] == ["q50", "q90", "q95", "q99.9"]


def test_calibration_out_needs_calibrate(tmp_path: Path) -> None:
    demand = tmp_path / "monthly.csv"
    _write_monthly_demand(demand)
    res = CliRunner().invoke(
        _app(),
        [
            "forecast",
            "--demand",
            str(demand),
            "--horizon",
            "3",
            "--calibration-out",
            str(tmp_path / "c.csv"),
            "--out",
            str(tmp_path / "f.csv"),
        ],
    )
    assert res.exit_code == 1 and "--calibrate" in res.output
    assert not (tmp_path / "f.csv").exists()


def test_forecast_items_file_gives_new_items_their_analogue(tmp_path: Path) -> None:
    """``--items``: item C, sold for 3 weeks only, borrows A's history (half of it); an
    items file with an unknown analogue is refused with the line and the reason."""
    demand = tmp_path / "demand.csv"
    _write_daily_demand(demand)
    start = date(2024, 1, 1)
    new = pl.DataFrame(
        {
            "item_id": "C",
            "location_id": "DC1",
            "date": [(start + timedelta(days=d)).isoformat() for d in range(189, 210)],
            "quantity": 1,
        }
    )
    with demand.open("a") as fh:
        fh.write(new.write_csv(include_header=False))
    items = tmp_path / "items.csv"
    items.write_text(
        "item_id,unit_cost,analogue_item_id,analogue_factor\nA,2,,\nB,3,,\nC,4,A,0.5\n"
    )
    diag = tmp_path / "diag.csv"
    out = tmp_path / "f.csv"
    args = ["forecast", "--demand", str(demand), "--horizon", "2", "--out", str(out)]
    r = CliRunner().invoke(_app(), [*args, "--items", str(items), "--diagnostics", str(diag)])
    assert r.exit_code == 0, r.output
    d = pl.read_csv(diag).filter(pl.col("item_id") == "C").row(0, named=True)
    assert d["analogue_item_id"] == "A" and d["analogue_factor"] == 0.5
    assert d["borrowed_periods"] == 189  # daily buckets: A from day 0, C from day 189
    bad = tmp_path / "bad_items.csv"
    bad.write_text("item_id,unit_cost,analogue_item_id\nA,2,\nC,4,GHOST\n")
    r = CliRunner().invoke(_app(), [*args, "--items", str(bad)])
    assert r.exit_code == 1
    assert "line 3 unknown_key" in r.output and "GHOST" in r.output


def _write_two_season_demand(path: Path) -> None:
    """Weekly items W0..W14 peaking in winter and S0..S14 peaking in summer."""
    weeks, start = 95, date(2023, 1, 2)
    t = np.arange(weeks)
    rng = np.random.default_rng(11)
    rows = []
    for prefix, peak in (("W", 48), ("S", 22)):
        wave = 1.0 + 0.6 * np.cos(2 * np.pi * (t % 52 - peak) / 52)
        for i in range(15):
            qty = np.round(rng.uniform(20, 60) * wave * rng.gamma(30.0, 1 / 30.0, weeks))
            rows += [
                (f"{prefix}{i}", "DC1", (start + timedelta(weeks=int(k))).isoformat(), q)
                for k, q in zip(t, qty, strict=True)
            ]
    pl.DataFrame(
        rows, schema=["item_id", "location_id", "date", "quantity"], orient="row"
    ).write_csv(path)


def test_forecast_season_groups_follow_the_items_category(tmp_path: Path) -> None:
    """Two categories of weekly items, one peaking in winter, one in summer: each takes
    its own group seasonal index (``group_season`` in the diagnostics); with
    ``--season-group-by none`` the two waves pooled together cancel out."""
    demand = tmp_path / "demand.csv"
    _write_two_season_demand(demand)
    items = tmp_path / "items.csv"
    items.write_text(
        "item_id,unit_cost,category\n"
        + "".join(f"W{i},2,scarves\nS{i},2,swimwear\n" for i in range(15))
    )
    diag = tmp_path / "diag.csv"
    args = ["forecast", "--demand", str(demand), "--horizon", "13", "--items", str(items)]
    args += ["--out", str(tmp_path / "f.csv"), "--diagnostics", str(diag)]
    groups = tmp_path / "groups.csv"
    r = CliRunner().invoke(_app(), [*args, "--season-groups-out", str(groups)])
    assert r.exit_code == 0, r.output
    assert pl.read_csv(diag)["group_season"].all()
    assert "group seasonal index: applied to 2 of 2 season groups (scarves -" in r.output
    table = pl.read_csv(groups)
    assert table.columns == [
        "season_group",
        "series",
        "applied",
        "gain",
        "raw_error",
        "adjusted_error",
        "period_start",
        "index",
    ]
    assert table.height == 26 and table["applied"].all() and (table["series"] == 15).all()
    r = CliRunner().invoke(_app(), [*args, "--season-group-by", "none"])
    assert r.exit_code == 0, r.output
    assert not pl.read_csv(diag)["group_season"].any()
    assert "applied to 0 of 1 season groups" in r.output
    r = CliRunner().invoke(_app(), [*args, "--season-group-by", "brnad"])
    assert r.exit_code == 1 and "--season-group-by" in r.output and "brnad" in r.output


def test_season_group_by_is_checked_against_the_columns_of_the_items_file(
    tmp_path: Path,
) -> None:
    """Regression: the gate adds every standard items column (empty), so ``brand``, absent
    from the file, pooled every series silently, while ``season_code``, really in the
    file but not a standard column, was refused."""
    demand = tmp_path / "demand.csv"
    _write_two_season_demand(demand)
    items = tmp_path / "items.csv"
    items.write_text(
        "item_id,unit_cost,season_code\n"
        + "".join(f"W{i},2,winter\nS{i},2,summer\n" for i in range(15))
    )
    args = ["forecast", "--demand", str(demand), "--horizon", "13", "--items", str(items)]
    args += ["--out", str(tmp_path / "f.csv")]
    r = CliRunner().invoke(_app(), [*args, "--season-group-by", "season_code"])
    assert r.exit_code == 0, r.output
    assert "applied to 2 of 2 season groups (" in r.output
    assert "winter" in r.output and "summer" in r.output
    r = CliRunner().invoke(_app(), [*args, "--season-group-by", "brand"])
    assert r.exit_code == 1
    message = " ".join(r.output.split())
    assert "'brand' is not in the items file" in message
    assert "its columns are item_id, unit_cost, season_code" in message


def test_error_messages_keep_text_in_square_brackets(tmp_path: Path) -> None:
    """Regression: errors went through rich markup, so 'Got [nan].' printed as 'Got .'."""
    demand = tmp_path / "demand.csv"
    _write_daily_demand(demand)
    args = ["forecast", "--demand", str(demand), "--horizon", "2", "--quantiles", "nan"]
    res = CliRunner().invoke(_app(), [*args, "--out", str(tmp_path / "f.csv")])
    assert res.exit_code == 1
    assert "floats in [0.5, 1). Got [nan]." in " ".join(res.output.split())


def test_demand_rows_with_a_missing_key_date_or_quantity_are_an_error(tmp_path: Path) -> None:
    """Regression: such rows were dropped silently and a 'NaN' quantity passed as a number;
    all problems come in one message with their counts and file lines."""
    demand = tmp_path / "demand.csv"
    demand.write_text(
        "item_id,location_id,date,quantity\n"
        "A,L,2024-01-01,5\n"
        "A,,2024-01-08,5\n"  # line 3
        ",L,2024-01-15,5\n"  # line 4
        "A,L,,5\n"  # line 5
        "A,L,2024-01-29,\n"  # line 6
        "A,L,2024-02-05,NaN\n"  # line 7
        "A,L,2024-02-12,inf\n"  # line 8
        "A,L,2024-02-19,5\n"
    )
    out = tmp_path / "f.csv"
    res = CliRunner().invoke(
        _app(), ["forecast", "--demand", str(demand), "--horizon", "2", "--out", str(out)]
    )
    assert res.exit_code == 1
    message = " ".join(res.output.split())
    assert "1 empty item_id(s) at file lines [4]" in message
    assert "1 empty location_id(s) at file lines [3]" in message
    assert "1 empty date(s) at file lines [5]" in message
    assert "1 empty quantity(s) at file lines [6]" in message
    assert "2 NaN or infinite quantities at file lines [7, 8]" in message
    assert not out.exists()


def test_forecast_reads_a_sunday_dated_weekly_file_in_weeks_ending_on_those_sundays(
    tmp_path: Path,
) -> None:
    """Regression: a weekly export dated Sunday was forecast in day buckets. Each Sunday
    counts in the ISO week ending on it (its Monday is 6 days earlier); the summary says so."""
    last_sunday = date(2024, 6, 30)
    rows = [
        ("A", "DC1", (last_sunday - timedelta(weeks=k)).isoformat(), 10 + k % 3) for k in range(60)
    ]
    demand = tmp_path / "weekly_sunday.csv"
    pl.DataFrame(
        rows, schema=["item_id", "location_id", "date", "quantity"], orient="row"
    ).write_csv(demand)
    out = tmp_path / "f.csv"
    res = CliRunner().invoke(
        _app(), ["forecast", "--demand", str(demand), "--horizon", "2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    message = " ".join(res.output.split())
    assert "(week buckets, inferred from the dates; every date is a Sunday" in message
    assert "one week early for weeks starting on Sunday" in message
    # the last week, Monday 2024-06-24 to Sunday 2024-06-30, is history: forecasts start after
    assert pl.read_csv(out)["period_start"].to_list() == ["2024-07-01", "2024-07-08"]
    assert 9 < pl.read_csv(out)["mean"].mean() < 13  # type: ignore[operator]


def test_forecast_reads_a_month_end_dated_file_in_months(tmp_path: Path) -> None:
    """Regression: a monthly export dated at month end was forecast in day buckets."""
    ends = pl.date_range(date(2022, 1, 31), date(2023, 12, 31), "1mo", eager=True)
    ends = ends.dt.month_end()
    demand = tmp_path / "monthly_end.csv"
    pl.DataFrame(
        {"item_id": "A", "location_id": "DC1", "date": ends.cast(pl.String), "quantity": 50}
    ).write_csv(demand)
    out = tmp_path / "f.csv"
    res = CliRunner().invoke(
        _app(), ["forecast", "--demand", str(demand), "--horizon", "2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "(month buckets, inferred from the dates)" in res.output
    f = pl.read_csv(out)
    assert f["period_start"].to_list() == ["2024-01-01", "2024-02-01"]
    assert f["mean"].to_list() == pytest.approx([50.0, 50.0])


def _run_on_a_year(tmp_path: Path, options: list[str]) -> tuple[Result, Path]:
    """``forecast`` of 12 months of demand, 2 periods ahead, with ``options``."""
    demand = tmp_path / "monthly.csv"
    _write_monthly_demand(demand, months=12)
    out = tmp_path / "f.csv"
    args = ["forecast", "--demand", str(demand), "--horizon", "2", "--out", str(out)]
    return CliRunner().invoke(_app(), [*args, *options]), out


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--lead-time", "inf"),
        ("--lead-time", "nan"),
        ("--lead-time", "-1"),
        ("--review-period", "-1"),
        ("--review-period", "inf"),
        ("--lead-time-sd", "-1"),
        ("--lead-time-sd", "nan"),
    ],
)
def test_lead_time_options_must_be_finite_and_non_negative(
    tmp_path: Path, option: str, value: str
) -> None:
    """Regression: --lead-time-sd -1 was written to the output; --lead-time inf or nan
    gave inf or garbage quantiles with a numpy RuntimeWarning."""
    lead_time = [] if option == "--lead-time" else ["--lead-time", "2"]
    res, out = _run_on_a_year(tmp_path, [*lead_time, f"{option}={value}"])
    assert res.exit_code == 1
    assert f"The '{option}' option must be a finite number >= 0" in " ".join(res.output.split())
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [("--review-period", "1"), ("--lead-time-sd", "0.5"), ("--lead-time-out", "lt.csv")],
)
def test_lead_time_companion_options_need_lead_time(
    tmp_path: Path, option: str, value: str
) -> None:
    """Regression: without --lead-time these options were silently ignored."""
    res, out = _run_on_a_year(tmp_path, [option, value])
    assert res.exit_code == 1
    assert f"The '{option}' option needs '--lead-time'" in " ".join(res.output.split())
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "name"),
    [("--out", "f.txt"), ("--diagnostics", "d.json"), ("--season-groups-out", "g")],
)
def test_unsupported_output_suffix_is_refused_before_reading(
    tmp_path: Path, option: str, name: str
) -> None:
    """Regression: an unsupported --out suffix was refused only after the whole forecast
    ran. The demand file does not even exist: the output paths are checked first."""
    args = ["forecast", "--demand", str(tmp_path / "absent.csv"), "--horizon", "2"]
    outputs = {"--out": "f.csv", option: name}
    paths = [x for o, n in outputs.items() for x in (o, str(tmp_path / n))]
    res = CliRunner().invoke(_app(), [*args, *paths])
    assert res.exit_code == 1
    message = " ".join(res.output.split())
    assert f"The '{option}' option must name a file ending in .csv, .parquet or .xlsx" in message
    assert "absent.csv" not in message


def test_items_file_matching_no_or_some_demand_items_is_a_warning(tmp_path: Path) -> None:
    """Regression: an items file whose item_ids match none (or only some) of the demand's
    was ignored silently; the run goes on, with a warning giving both counts."""
    demand = tmp_path / "monthly.csv"
    _write_monthly_demand(demand, months=12)  # items A, B, C, D at DC1
    out = tmp_path / "f.csv"
    args = ["forecast", "--demand", str(demand), "--horizon", "2", "--out", str(out)]
    items = tmp_path / "items.csv"
    items.write_text("item_id,unit_cost\nX1,2\nX2,3\nX3,4\n")
    res = CliRunner().invoke(_app(), [*args, "--items", str(items)])
    assert res.exit_code == 0, res.output
    message = " ".join(res.output.split())
    assert "warning: the items file" in message
    assert "has no row for 4 of 4 demand series" in message
    assert "3 of its 3 rows match no demand item_id" in message
    items.write_text("item_id,unit_cost\nA,2\nX2,3\n")
    res = CliRunner().invoke(_app(), [*args, "--items", str(items)])
    assert res.exit_code == 0, res.output
    message = " ".join(res.output.split())
    assert "has no row for 3 of 4 demand series" in message
    assert "1 of its 2 rows match no demand item_id" in message
    items.write_text("item_id,unit_cost\nA,2\nB,2\nC,2\nD,2\n")
    res = CliRunner().invoke(_app(), [*args, "--items", str(items)])
    assert res.exit_code == 0 and "warning" not in res.output


def test_a_demand_file_ending_mid_week_leaves_that_week_out_unless_end_is_given(
    tmp_path: Path,
) -> None:
    """Regression: 20 weeks and 3 days of 10 a day forecast 50 a week (the 3-day week,
    30, summed as a whole one) and the forecast skipped the rest of that week."""
    start = date(2024, 1, 1)
    demand = tmp_path / "daily.csv"
    pl.DataFrame(
        {
            "item_id": "A",
            "location_id": "L",
            "date": [(start + timedelta(days=k)).isoformat() for k in range(7 * 20 + 3)],
            "quantity": 10,
        }
    ).write_csv(demand)
    out = tmp_path / "f.csv"
    args = ["forecast", "--demand", str(demand), "--horizon", "2", "--bucket", "week"]
    res = CliRunner().invoke(_app(), [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "ends on 2024-05-22, inside the week of 2024-05-20" in text
    assert "(3 record(s)) is left out" in text
    f = pl.read_csv(out, try_parse_dates=True)
    assert f["period_start"].to_list() == [date(2024, 5, 20), date(2024, 5, 27)]
    assert f["mean"].to_list() == pytest.approx([70.0, 70.0])
    kept = CliRunner().invoke(_app(), [*args, "--end", "2024-05-22", "--out", str(out)])
    assert kept.exit_code == 0 and "left out" not in kept.output
    assert pl.read_csv(out, try_parse_dates=True)["period_start"][0] == date(2024, 5, 27)
    bad = CliRunner().invoke(_app(), [*args, "--end", "22/05/2024", "--out", str(out)])
    assert bad.exit_code == 1 and "'--end' option must be a date" in bad.output


def test_padded_codes_in_the_demand_file_are_one_series(tmp_path: Path) -> None:
    """ERP exports pad codes to a fixed width: ' A ' and 'A' were two series."""
    demand = tmp_path / "padded.csv"
    start = date(2024, 1, 1)
    rows = [
        (" A " if k % 2 else "A", "DC1 ", (start + timedelta(weeks=k)).isoformat(), 5)
        for k in range(20)
    ]
    pl.DataFrame(
        rows, schema=["item_id", "location_id", "date", "quantity"], orient="row"
    ).write_csv(demand)
    out = tmp_path / "f.csv"
    res = CliRunner().invoke(
        _app(), ["forecast", "--demand", str(demand), "--horizon", "2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    f = pl.read_csv(out)
    assert f["item_id"].unique().to_list() == ["A"] and f["location_id"].unique().to_list() == [
        "DC1"
    ]
    assert f["mean"].to_list() == pytest.approx([5.0, 5.0])
