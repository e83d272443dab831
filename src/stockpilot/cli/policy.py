"""``stockpilot policy``: inventory policies from a demand history.

Usage::

    stockpilot policy --demand demand.csv [--items items.csv] [--bucket week]
        [--lead-time L] [--lead-time-sd S] [--review-period R]
        [--service-type fill_rate|cycle_service] [--service-target 0.95]
        [--history-periods N] [--locations locations.csv] [--moq-max-coverage 6]
        --out policies.csv [--erp-out erp.csv]
        [--forecast forecasts.csv --time-phased time_phased.csv]

``demand.csv`` is canonical long demand (``item_id, location_id, date, quantity``); it is
harmonized to the planning bucket (``--bucket``, default: inferred from the dates by
:func:`stockpilot.cli.files.infer_bucket`, shared with ``forecast`` and ``simulate``: all
firsts, or all last days, of a month -> month, all on one weekday -> week, else day).
Periods and lead times are in that bucket. ``items.csv`` may carry per-item (or per item-location) columns that override
the flags: ``lead_time, lead_time_sd, review_period, unit_cost, holding_cost_rate,
order_cost, moq, pack_size, max_order_qty, shelf_life, service_target, service_type,
policy, stockout_cost``, and for sections 5-7 of issue #4 ``defect_rate`` (rejection rate in
[0, 1): lot and safety stock grossed up by 1/(1 - p)), ``customer_tolerance`` (buckets customers
wait: push/pull rule), ``lower_moq, lower_moq_premium, make_to_order_premium,
obsolescence_rate`` (MOQ-exception options). ``locations.csv`` (``location_id,
review_capability`` and optionally ``latency_hours, cycle_days, customer_tolerance``) applies
the continuous-vs-periodic review rule of ``stockpilot.core.review``. The output follows the
policies exchange format (docs/policies.md): the DESIGN.md section 3 columns, then the extra
columns (lot-sizing reason, defect rate, MOQ exception, push/pull); ``--erp-out`` also writes
the ERP import layout (reorder point, order quantity, min/max), unchanged.

``--time-phased FILE`` also writes time-phased (R, S) levels for seasonal items (issue #4
section 9): one row per item-location and forecast period
(:data:`~stockpilot.engine.policies.TIME_PHASED_COLUMNS`), from
:func:`~stockpilot.engine.policies.compute_time_phased_policies` with the same items file and
options. It needs ``--forecast FILE``, the output of ``stockpilot forecast`` (``item_id,
location_id, period_start, mean`` and optionally ``sd``; quantile columns are ignored) in the
planning bucket. The forecast is an input rather than computed here so that the levels
follow the forecast that was reviewed, and a forecast is configured in one place (its own
command). Where the forecast has no ``sd`` the demand history's spread per bucket is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from stockpilot.cli.common import print_error, print_warning
from stockpilot.cli.files import (
    complete_buckets,
    infer_bucket,
    planning_bucket,
    read_demand,
    read_forecast,
    week_dates_note,
)
from stockpilot.engine.panel import to_panel
from stockpilot.errors import InvalidDataError, StockpilotError, choice_error, parameter_error
from stockpilot.io.buckets import harmonize_demand
from stockpilot.io.readers import read_table_file
from stockpilot.io.writers import write_table
from stockpilot.vocab import ServiceType

_err = Console(stderr=True)


def read_items(path: Path) -> pl.DataFrame:
    """Per-item parameters; numeric columns are checked, all bad values reported together."""
    raw = read_table_file(path)
    if "item_id" not in raw.columns:
        raise InvalidDataError(
            f"The items file {str(path)!r} needs an 'item_id' column; got {raw.columns}."
        )
    keep = [c for c in raw.columns if not c.startswith("_")]
    frame = raw.select(keep)
    problems: list[str] = []
    from stockpilot.engine.policies import ITEM_PARAMETER_COLUMNS

    for name in ITEM_PARAMETER_COLUMNS:
        if name not in frame.columns:
            continue
        text = frame[name]
        values = text.cast(pl.Float64, strict=False)
        bad = values.is_null() & text.is_not_null() & (text.str.strip_chars() != "")
        if bad.any():
            lines = (bad.arg_true() + 2).head(5).to_list()
            problems.append(f"non-numeric {name!r} at file lines {lines}")
        frame = frame.with_columns(values.alias(name))
    if problems:
        raise InvalidDataError(f"The items file {str(path)!r} has " + "; ".join(problems) + ".")
    return frame


def run_policy(
    *,
    demand: Annotated[Path, typer.Option(help="Canonical long demand (CSV/Parquet/Excel).")],
    out: Annotated[Path, typer.Option(help="Policies file to write (.csv/.parquet/.xlsx).")],
    items: Annotated[
        Path | None, typer.Option(help="Per-item parameters overriding the flags.")
    ] = None,
    bucket: Annotated[
        str | None, typer.Option(help="Planning bucket: day, week or month (default: inferred).")
    ] = None,
    lead_time: Annotated[float, typer.Option(help="Lead time in buckets.")] = 1.0,
    lead_time_sd: Annotated[float, typer.Option(help="Lead-time standard deviation.")] = 0.0,
    review_period: Annotated[float, typer.Option(help="Review period in buckets.")] = 1.0,
    service_type: Annotated[
        str, typer.Option(help="fill_rate (type 2) or cycle_service (type 1).")
    ] = ServiceType.FILL_RATE.value,
    service_target: Annotated[float, typer.Option(help="Target in (0, 1).")] = 0.95,
    locations: Annotated[
        Path | None,
        typer.Option(
            help="location_id, review_capability[, latency_hours, cycle_days]: review rule."
        ),
    ] = None,
    history_periods: Annotated[
        int | None, typer.Option(help="Use only the last N buckets of history.")
    ] = None,
    moq_max_coverage: Annotated[
        float,
        typer.Option(help="An MOQ covering more buckets of demand than this is an exception."),
    ] = 6.0,
    erp_out: Annotated[
        Path | None, typer.Option(help="Also write the ERP import layout here.")
    ] = None,
    forecast: Annotated[
        Path | None,
        typer.Option(help="Forecasts file ('stockpilot forecast' output) for --time-phased."),
    ] = None,
    time_phased: Annotated[
        Path | None,
        typer.Option(help="Also write per-period order-up-to levels here (needs --forecast)."),
    ] = None,
) -> None:
    """Compute reorder points, order quantities and order-up-to levels per item-location."""
    from stockpilot.engine.policies import (
        PolicyOptions,
        compute_policies,
        compute_time_phased_policies,
        erp_export,
    )

    phased = None
    try:
        if time_phased is not None and forecast is None:
            raise parameter_error(
                "stockpilot policy",
                "forecast",
                "a forecasts file when --time-phased is given",
                None,
                hint="Make one with 'stockpilot forecast --demand ... --out forecasts.csv'.",
            )
        if forecast is not None and time_phased is None:
            raise parameter_error(
                "stockpilot policy",
                "time_phased",
                "an output file when --forecast is given (only time-phased levels use it)",
                None,
            )
        if service_type not in [s.value for s in ServiceType]:
            raise choice_error("stockpilot policy", "service_type", service_type, list(ServiceType))
        if not moq_max_coverage > 0:
            raise parameter_error(
                "stockpilot policy", "moq_max_coverage", "a float > 0", moq_max_coverage
            )
        frame = read_demand(demand)
        chosen = planning_bucket("stockpilot policy", bucket, frame["date"])
        frame, partial_note = complete_buckets(
            frame, chosen, None, hint="statistics use the complete buckets before it"
        )
        if partial_note:
            print_warning(partial_note)
        harmonized = harmonize_demand(frame, bucket=chosen)
        panel = to_panel(harmonized, bucket=chosen)
        item_frame = read_items(items) if items is not None else None
        options = PolicyOptions(
            lead_time=lead_time,
            lead_time_sd=lead_time_sd,
            review_period=review_period,
            service_type=ServiceType(service_type),
            service_target=service_target,
            history_periods=history_periods,
            moq_max_coverage=moq_max_coverage,
        )
        with _err.status(f"computing policies for {panel.n_series} item-locations"):
            location_frame = None
            if locations is not None:
                location_frame = read_table_file(locations).select(
                    pl.exclude("_source_file", "_row_number")
                )
            policies = compute_policies(
                panel, items=item_frame, options=options, locations=location_frame
            )
        if forecast is not None and time_phased is not None:
            forecast_frame = read_forecast(forecast)
            forecast_bucket = infer_bucket(forecast_frame["period_start"])
            if forecast_frame["period_start"].n_unique() > 1 and forecast_bucket != chosen:
                raise InvalidDataError(
                    f"The forecast file {str(forecast)!r} is in {forecast_bucket.value} buckets "
                    f"but the policies are planned in {chosen.value} buckets; forecast with "
                    f"'--bucket {chosen.value}' or plan with '--bucket {forecast_bucket.value}'."
                )
            with _err.status("computing time-phased levels"):
                phased = compute_time_phased_policies(
                    forecast_frame, panel=panel, items=item_frame, options=options
                )
        write_table(policies, out)
        if erp_out is not None:
            write_table(erp_export(policies), erp_out)
        if phased is not None and time_phased is not None:
            write_table(phased, time_phased)
    except StockpilotError as exc:
        print_error(str(exc))
        raise typer.Exit(1) from None
    except OSError as exc:
        print_error(f"cannot read or write a file: {exc}")
        raise typer.Exit(1) from None
    note = week_dates_note(frame["date"], chosen)
    typer.echo(
        f"{policies.height} policies ({chosen.value} buckets{'; ' + note if note else ''}) "
        f"written to {out}" + (f"; ERP layout to {erp_out}" if erp_out is not None else "")
    )
    if phased is not None:
        n_series = phased.select("item_id", "location_id").n_unique()
        typer.echo(
            f"{phased.height} time-phased levels ({n_series} item-locations x "
            f"{phased.height // max(n_series, 1)} periods) written to {time_phased}"
        )


def register(app: typer.Typer) -> None:
    """Add the ``policy`` command to ``app``."""
    app.command("policy")(run_policy)
