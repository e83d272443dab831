"""``stockpilot forecast``: forecasts and quantiles from a canonical demand file.

Usage::

    stockpilot forecast --demand demand.csv --horizon 13 --quantiles 0.5,0.9,0.95 \\
        --lead-time 2 [--bucket week] [--calibrate [--calibration-out calib.csv]] \\
        --out forecasts.csv

``demand.csv`` is canonical long demand (``item_id, location_id, date, quantity``; any
bucket), harmonized to the planning bucket: ``--bucket``, else inferred from the dates as
``stockpilot policy`` does (:func:`stockpilot.cli.files.infer_bucket`); the summary line
names the bucket used. The output follows the forecasts exchange format
(``item_id, location_id, period_start, model, mean, q50, q90, ...``). With ``--lead-time``
a second file, ``<out stem>_lead_time<suffix>`` (or ``--lead-time-out``), holds the
quantiles of demand over lead time plus review period, one row per series
(``--lead-time``, ``--review-period`` and ``--lead-time-sd`` finite and >= 0; the last two
and ``--lead-time-out`` need ``--lead-time``). Output suffixes are checked before the demand
is read. With
``--diagnostics`` a third holds the chosen model and the reason per series. Series of
items in the same ``category`` of ``--items`` (``--season-group-by``) share a group
seasonal index where it forecasts better out of sample; a summary line says where it was
applied and ``--season-groups-out`` writes each group's test and index.

With ``--calibrate`` the backtest calibration is printed: per level asked, the share of
backtest actuals at or below the quantile at that nominal level, the number of actuals,
and the level the ``q..`` column was computed at (the calibrated level, see
docs/forecasting.md). ``--calibration-out`` writes every backtested level
(:data:`CALIBRATION_COLUMNS`).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from stockpilot.cli.common import print_error, print_warning
from stockpilot.cli.files import (
    check_output_path,
    complete_buckets,
    planning_bucket,
    read_demand,
    read_items,
    week_dates_note,
)
from stockpilot.errors import InvalidParameterError, StockpilotError
from stockpilot.io.buckets import harmonize_demand
from stockpilot.io.writers import write_table

if TYPE_CHECKING:
    from stockpilot.engine.forecasting import ForecastResult

_err = Console(stderr=True)
_out = Console()

#: Columns of ``--calibration-out``: one row per backtested level. ``asked`` marks the
#: levels of ``--quantiles``; ``level_used`` is the level their column was computed at.
CALIBRATION_COLUMNS = ("level", "observed_share", "n_observations", "asked", "level_used")


def _levels(text: str) -> tuple[float, ...]:
    try:
        levels = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InvalidParameterError(
            f"The '--quantiles' option must be a comma-separated list of levels such as "
            f"0.5,0.9,0.95. Got {text!r}."
        ) from None
    if not levels:
        raise InvalidParameterError("The '--quantiles' option needs at least one level. Got ''.")
    return levels


def _check_lead_time_options(
    lead_time: float | None,
    review_period: float | None,
    lead_time_sd: float | None,
    lead_time_out: Path | None,
) -> None:
    """Lead-time options are finite numbers >= 0, and the others need ``--lead-time``."""
    numbers = {
        "--lead-time": lead_time,
        "--review-period": review_period,
        "--lead-time-sd": lead_time_sd,
    }
    for option, value in numbers.items():
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InvalidParameterError(
                f"The {option!r} option must be a finite number >= 0 (planning buckets). "
                f"Got {value:g}."
            )
    if lead_time is None:
        # like --calibration-out without --calibrate: silently ignored otherwise
        alone = {
            "--review-period": None if review_period is None else f"{review_period:g}",
            "--lead-time-sd": None if lead_time_sd is None else f"{lead_time_sd:g}",
            "--lead-time-out": None if lead_time_out is None else repr(str(lead_time_out)),
        }
        for option, shown in alone.items():
            if shown is not None:
                raise InvalidParameterError(
                    f"The {option!r} option needs '--lead-time' (it applies to the demand "
                    f"over the lead time). Got {option} {shown} alone."
                )


def calibration_table(result: ForecastResult) -> pl.DataFrame:
    """Backtest calibration of ``result`` as a frame of :data:`CALIBRATION_COLUMNS`."""
    report = result.calibration
    if report is None:
        raise InvalidParameterError("calibration_table needs a result made with calibrate=True.")
    used = dict(zip(result.levels, result.levels_used or result.levels, strict=True))
    # the report's grid holds the asked levels exactly (they are added to it)
    levels = [float(x) for x in report.levels]
    return pl.DataFrame(
        {
            "level": levels,
            "observed_share": [float(x) for x in report.observed],
            "n_observations": [report.n_observations] * len(levels),
            "asked": [lv in used for lv in levels],
            "level_used": [used.get(lv) for lv in levels],
        },
        schema_overrides={"level_used": pl.Float64},
    )


def _print_calibration(table: pl.DataFrame) -> None:
    from stockpilot.core.forecast.quantiles import quantile_column

    asked = table.filter(pl.col("asked"))
    view = Table(
        title="Backtest calibration",
        caption="observed share: actuals at or below the quantile at the nominal level",
    )
    for name in ("column", "level", "observed share", "count", "level used"):
        view.add_column(name, justify="right")
    for row in asked.iter_rows(named=True):
        view.add_row(
            quantile_column(row["level"]),
            f"{row['level']:g}",
            f"{row['observed_share']:.3f}",
            str(row["n_observations"]),
            f"{row['level_used']:.4f}",
        )
    _out.print(view)
    moved = asked.filter((pl.col("level_used") - pl.col("level")).abs() > 1e-12)
    if moved.height:
        _out.print(
            "Calibrated: a column whose level used differs holds the quantile at that level, "
            "the one the backtest says covers the column's nominal share (e.g. "
            f"{quantile_column(moved['level'][0])} computed at level "
            f"{moved['level_used'][0]:.4f}).",
            highlight=False,
        )
    else:
        _out.print("Every column is the quantile at its nominal level.", highlight=False)


def run_forecast(
    *,
    demand: Annotated[Path, typer.Option("--demand", help="Canonical long demand file.")],
    horizon: Annotated[int, typer.Option("--horizon", help="Periods to forecast.")],
    out: Annotated[Path, typer.Option("--out", help="Forecasts file (.csv, .parquet, .xlsx).")],
    quantiles: Annotated[
        str, typer.Option("--quantiles", help="Comma-separated levels in [0.5, 1).")
    ] = "0.5,0.9,0.95",
    lead_time: Annotated[
        float | None, typer.Option("--lead-time", help="Lead time in planning buckets.")
    ] = None,
    review_period: Annotated[
        float | None,
        typer.Option(
            "--review-period", help="With --lead-time: review period in buckets (default 0)."
        ),
    ] = None,
    lead_time_sd: Annotated[
        float | None,
        typer.Option(
            "--lead-time-sd",
            help="With --lead-time: standard deviation of the lead time (default 0).",
        ),
    ] = None,
    lead_time_out: Annotated[
        Path | None,
        typer.Option("--lead-time-out", help="With --lead-time: lead-time-demand quantiles file."),
    ] = None,
    diagnostics: Annotated[
        Path | None, typer.Option("--diagnostics", help="Per-series model and reason file.")
    ] = None,
    bucket: Annotated[
        str | None,
        typer.Option("--bucket", help="Planning bucket: day, week or month (default: inferred)."),
    ] = None,
    season_length: Annotated[
        int | None, typer.Option("--season-length", help="Periods per season (default by bucket).")
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Learn distribution families and level calibration from a backtest (slower).",
        ),
    ] = False,
    calibration_out: Annotated[
        Path | None,
        typer.Option(
            "--calibration-out", help="With --calibrate: write the calibration (.csv, .parquet)."
        ),
    ] = None,
    items: Annotated[
        Path | None,
        typer.Option(
            "--items",
            help="Canonical item master: unit cost and price (ABC), lifecycle flags, "
            "analogue_item_id / analogue_factor (new items borrow their analogue's history) "
            "and the category (the groups of the group seasonal index).",
        ),
    ] = None,
    season_group_by: Annotated[
        str,
        typer.Option(
            "--season-group-by",
            help="Item-master column grouping the series that share a seasonal index "
            "(selection rule 8); 'none': all series form one group.",
        ),
    ] = "category",
    end: Annotated[
        str | None,
        typer.Option(
            "--end",
            help="Last day of the history (YYYY-MM-DD). Without it, a last bucket the demand "
            "file does not cover to its end (an extract run mid-week) is left out.",
        ),
    ] = None,
    season_groups_out: Annotated[
        Path | None,
        typer.Option(
            "--season-groups-out",
            help="Write each season group's test and index per forecast period "
            "(.csv, .parquet, .xlsx).",
        ),
    ] = None,
) -> None:
    """Forecast every item-location of a demand file, with quantiles."""
    try:
        levels = _levels(quantiles)
        history_end = _end_date(end)
        group_by = None if season_group_by.lower() == "none" else season_group_by
        if calibration_out is not None and not calibrate:
            raise InvalidParameterError(
                "The '--calibration-out' option needs '--calibrate' (the calibration comes "
                f"from its backtest). Got --calibration-out {str(calibration_out)!r} alone."
            )
        _check_lead_time_options(lead_time, review_period, lead_time_sd, lead_time_out)
        outputs = {
            "--out": out,
            "--lead-time-out": lead_time_out,
            "--diagnostics": diagnostics,
            "--season-groups-out": season_groups_out,
            "--calibration-out": calibration_out,
        }
        for option, path in outputs.items():
            if path is not None:
                check_output_path(option, path)
        # the numerical stack, on use only (after the checks of the options, which are quick)
        from stockpilot.engine.forecasting import DEFAULT_SEASON_GROUP_BY, Forecaster

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=_err,
            transient=True,
        ) as bar:
            task = bar.add_task("reading demand", total=None)
            raw = read_demand(demand)
            # the default column may be absent (one group); one named must be in the file
            named = None if group_by == DEFAULT_SEASON_GROUP_BY else group_by
            master, unmatched = None, ""
            if items is not None:
                master = read_items(items, group_by=named)
                unmatched = _unmatched_items(raw, master, items)
            chosen = planning_bucket("stockpilot forecast", bucket, raw["date"])
            raw, partial_note = complete_buckets(
                raw, chosen, history_end, hint="it is forecast instead; give --end to keep it"
            )
            frame = harmonize_demand(raw, bucket=chosen)
            bar.update(
                task, description=f"forecasting {frame.n_unique(['item_id', 'location_id'])} series"
            )
            result = (
                Forecaster(
                    horizon=horizon,
                    bucket=chosen,
                    levels=levels,
                    lead_time=lead_time,
                    review_period=0.0 if review_period is None else review_period,
                    lead_time_sd=0.0 if lead_time_sd is None else lead_time_sd,
                    season_length=season_length,
                    calibrate=calibrate,
                    items=master,
                    season_group_by=group_by,
                    end=history_end,
                )
                .fit(frame)
                .predict()
            )
            bar.update(task, description="writing")
            write_table(result.forecasts, out)
            written = [out]
            if result.lead_time is not None:
                lt_path = lead_time_out or out.with_name(f"{out.stem}_lead_time{out.suffix}")
                write_table(result.lead_time, lt_path)
                written.append(lt_path)
            if diagnostics is not None:
                write_table(result.diagnostics, diagnostics)
                written.append(diagnostics)
            if season_groups_out is not None and result.season_groups is not None:
                write_table(result.season_groups, season_groups_out)
                written.append(season_groups_out)
            calibration = calibration_table(result) if result.calibration is not None else None
            if calibration is not None and calibration_out is not None:
                write_table(calibration, calibration_out)
                written.append(calibration_out)
    except StockpilotError as exc:
        print_error(str(exc))
        raise typer.Exit(1) from None
    except OSError as exc:
        print_error(f"cannot read or write a file: {exc}")
        raise typer.Exit(1) from None
    if calibration is not None:
        _print_calibration(calibration)
    elif calibrate:
        print_warning(
            "the history is too short for a calibration backtest "
            f"(more than {horizon} periods plus the minimum training length are needed); "
            "quantiles are at their nominal levels"
            + ("; no calibration file written" if calibration_out is not None else "")
            + "."
        )
    n_series = result.diagnostics.height
    how = "given" if bucket is not None else "inferred from the dates"
    note = week_dates_note(raw["date"], chosen)
    how += f"; {note}" if note else ""
    typer.echo(
        f"{n_series} series x {horizon} periods forecast ({chosen.value} buckets, "
        f"{how}); wrote " + ", ".join(str(p) for p in written)
    )
    if unmatched:
        print_warning(unmatched)
    for text in (partial_note, *result.notes):
        if text:
            print_warning(text)
    if result.season_groups is not None:
        typer.echo(_season_summary(result.season_groups))


def _end_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameterError(
            f"The '--end' option must be a date YYYY-MM-DD. Got {text!r}."
        ) from None


def _unmatched_items(demand: pl.DataFrame, items: pl.DataFrame, path: Path) -> str:
    """A warning when demand series and item rows do not all match by item_id, else ""."""
    series = demand.select("item_id", "location_id").unique()
    without = series.filter(~pl.col("item_id").is_in(items["item_id"].implode())).height
    unused = items.filter(~pl.col("item_id").is_in(demand["item_id"].unique().implode())).height
    if not without and not unused:
        return ""
    return (
        f"the items file {str(path)!r} has no row for {without} of {series.height} demand "
        f"series (they are forecast without item-master data) and {unused} of its "
        f"{items.height} rows match no demand item_id."
    )


def _season_summary(groups: pl.DataFrame) -> str:
    """One line on the group seasonal indices: where applied, with the test's gain."""
    per_group = groups.unique("season_group", keep="first", maintain_order=True)
    applied = per_group.filter(pl.col("applied"))
    named = ", ".join(
        f"{g or '(all series)'} {-100.0 * gain:+.0f} %"
        for g, gain in zip(applied["season_group"], applied["gain"], strict=True)
    )
    return (
        f"group seasonal index: applied to {applied.height} of {per_group.height} season "
        "groups" + (f" ({named}; rolling-origin error of tsb_fixed)" if named else "")
    )


def register(app: typer.Typer) -> None:
    """Add the ``forecast`` command to ``app``."""
    app.command("forecast")(run_forecast)
