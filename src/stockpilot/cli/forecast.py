"""``stockpilot forecast``: forecasts and quantiles from a canonical demand file.

Usage::

    stockpilot forecast --demand demand.csv --horizon 13 --quantiles 0.5,0.9,0.95 \\
        --lead-time 2 --bucket week --out forecasts.csv

``demand.csv`` is canonical long demand (``item_id, location_id, date, quantity``; any
bucket), harmonized to ``--bucket``. The output follows the forecasts exchange format
(``item_id, location_id, period_start, model, mean, q50, q90, ...``). With ``--lead-time``
a second file, ``<out stem>_lead_time<suffix>`` (or ``--lead-time-out``), holds the
quantiles of demand over lead time plus review period, one row per series. With
``--diagnostics`` a third holds the chosen model and the reason per series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stockpilot.cli.files import read_demand
from stockpilot.errors import InvalidParameterError, StockpilotError
from stockpilot.io.buckets import harmonize_demand
from stockpilot.io.writers import write_table

_err = Console(stderr=True)


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
        float, typer.Option("--review-period", help="Review period in buckets (with --lead-time).")
    ] = 0.0,
    lead_time_sd: Annotated[
        float, typer.Option("--lead-time-sd", help="Standard deviation of the lead time.")
    ] = 0.0,
    lead_time_out: Annotated[
        Path | None, typer.Option("--lead-time-out", help="Lead-time-demand quantiles file.")
    ] = None,
    diagnostics: Annotated[
        Path | None, typer.Option("--diagnostics", help="Per-series model and reason file.")
    ] = None,
    bucket: Annotated[str, typer.Option("--bucket", help="day, week or month.")] = "week",
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
) -> None:
    """Forecast every item-location of a demand file, with quantiles."""
    from stockpilot.engine.forecasting import Forecaster  # the numerical stack, on use only

    try:
        levels = _levels(quantiles)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=_err,
            transient=True,
        ) as bar:
            task = bar.add_task("reading demand", total=None)
            frame = harmonize_demand(read_demand(demand), bucket=bucket)
            bar.update(
                task, description=f"forecasting {frame.n_unique(['item_id', 'location_id'])} series"
            )
            result = (
                Forecaster(
                    horizon=horizon,
                    bucket=bucket,
                    levels=levels,
                    lead_time=lead_time,
                    review_period=review_period,
                    lead_time_sd=lead_time_sd,
                    season_length=season_length,
                    calibrate=calibrate,
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
    except StockpilotError as exc:
        _err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        _err.print(f"[red]error:[/red] cannot read or write a file: {exc}", highlight=False)
        raise typer.Exit(1) from None
    n_series = result.diagnostics.height
    typer.echo(
        f"{n_series} series x {horizon} periods forecast; wrote "
        + ", ".join(str(p) for p in written)
    )


def register(app: typer.Typer) -> None:
    """Add the ``forecast`` command to ``app``."""
    app.command("forecast")(run_forecast)
