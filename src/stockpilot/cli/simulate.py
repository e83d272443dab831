"""``stockpilot simulate``: check the service that inventory policies deliver on real demand.

Usage::

    stockpilot simulate --policies policies.csv --demand demand.csv [--bucket week] \\
        [--periods 52] [--warmup 0] [--seed 1] [--lost-sales] --out service.csv

``policies.csv`` follows the policies exchange format (``item_id, location_id, policy,
review_period, lead_time, reorder_point, order_quantity, order_up_to``, optionally
``lead_time_sd``; other columns are ignored; lead times and review periods in planning
buckets). Rows with ``lead_time_sd > 0`` get random lead times, normal around
``lead_time`` and rounded to whole buckets (at least 0), drawn from ``--seed``. ``demand.csv`` is canonical
long demand (``item_id, location_id, date, quantity``, any bucket), harmonized to the
planning bucket: ``--bucket``, else inferred from the dates as ``stockpilot policy`` does
(:func:`stockpilot.cli.files.infer_bucket`); the summary line names the bucket used, which
must be the bucket of the policies' lead times and review periods. Every policy is replayed against its own demand history (the last
``--periods`` buckets), starting with stock at its order-up-to level (s + Q for ``s_Q``).
The output has one row per item-location: ``fill_rate, cycle_service_level, ready_rate,
average_on_hand, average_backorders, average_lost_sales, orders_placed, periods``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import polars as pl
import polars.selectors as cs
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stockpilot.cli.common import print_error, print_warning
from stockpilot.cli.files import planning_bucket, read_demand, week_dates_note
from stockpilot.engine.panel import to_panel
from stockpilot.errors import InvalidDataError, InvalidParameterError, StockpilotError, choice_error
from stockpilot.io.buckets import harmonize_demand
from stockpilot.io.readers import read_table_file
from stockpilot.io.writers import write_table
from stockpilot.vocab import PolicyType

_err = Console(stderr=True)
KEYS = ["item_id", "location_id"]
NUMERIC = (
    "review_period",
    "lead_time",
    "lead_time_sd",
    "reorder_point",
    "order_quantity",
    "order_up_to",
)


def _numbers(raw: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, list[str]]:
    """Cast the numeric policy columns, collecting every unreadable value."""
    problems: list[str] = []
    casts: list[pl.Expr | pl.Series] = []
    for name in NUMERIC:
        if name not in raw.columns:
            casts.append(pl.lit(None, dtype=pl.Float64).alias(name))
            continue
        values = raw[name].cast(pl.Float64, strict=False)
        bad = values.is_null() & raw[name].is_not_null() & (raw[name].str.strip_chars() != "")
        if bad.any():
            lines = (bad.arg_true() + 2).head(5).to_list()
            problems.append(f"non-numeric {name!r} at file lines {lines}")
        casts.append(values.alias(name))
    return raw.select(*[pl.col(k) for k in KEYS], pl.col("policy"), *casts), problems


def read_policies(path: Path) -> pl.DataFrame:
    """Read and validate a policies file; all problems are reported together."""
    raw = read_table_file(path)
    missing = [c for c in (*KEYS, "policy") if c not in raw.columns]
    if missing:
        raise InvalidDataError(
            f"The policies file {str(path)!r} must have columns item_id, location_id, policy "
            f"and the levels its policies use; {missing} missing (got {raw.columns})."
        )
    frame, problems = _numbers(raw, path)
    valid = [p.value for p in PolicyType]
    bad_policy = ~frame["policy"].is_in(valid)
    if bad_policy.any():
        first = frame.filter(bad_policy)["policy"].head(1).item()
        problems.append(str(choice_error("policies file", "policy", first, valid)))
    needs = {
        "order_up_to": ["base_stock", "R_S", "s_S", "R_s_S"],
        "reorder_point": ["s_S", "R_s_S", "s_Q"],
        "order_quantity": ["s_Q"],
    }
    for column, policies in needs.items():
        gap = frame["policy"].is_in(policies) & frame[column].is_null()
        if gap.any():
            lines = (gap.arg_true() + 2).head(5).to_list()
            problems.append(f"{int(gap.sum())} row(s) without {column!r} (file lines {lines})")
    negative = frame["lead_time"].fill_null(0) < 0
    if negative.any():
        problems.append(
            f"negative 'lead_time' at file lines {(negative.arg_true() + 2).head(5).to_list()}"
        )
    negative_sd = frame["lead_time_sd"].fill_null(0) < 0
    if negative_sd.any():
        lines = (negative_sd.arg_true() + 2).head(5).to_list()
        problems.append(f"negative 'lead_time_sd' at file lines {lines}")
    short = frame["review_period"].fill_null(1) < 1
    if short.any():
        problems.append(
            f"'review_period' below 1 at file lines {(short.arg_true() + 2).head(5).to_list()}"
        )
    dup = frame.select(KEYS).is_duplicated()
    if dup.any():
        problems.append(f"{int(dup.sum())} duplicated item_id/location_id row(s)")
    if problems:
        raise InvalidDataError(f"The policies file {str(path)!r} has " + "; ".join(problems) + ".")
    return frame


def simulate_policies(
    policies: pl.DataFrame,
    demand: pl.DataFrame,
    *,
    bucket: str,
    periods: int | None = None,
    warmup: int = 0,
    seed: int | None = None,
    lost_sales: bool = False,
) -> tuple[pl.DataFrame, list[str]]:
    """Replay each policy on its item-location's demand; returns the service table and warnings."""
    warnings: list[str] = []
    panel = to_panel(harmonize_demand(demand, bucket=bucket), bucket=bucket)
    values = panel.values
    if periods is not None:
        if periods < 1:
            raise InvalidParameterError(
                f"The '--periods' option must be an integer >= 1. Got {periods}."
            )
        values = values[:, -periods:]
    keyed = panel.keys.with_row_index("row").join(
        policies, on=KEYS, how="inner", maintain_order="left"
    )
    no_demand = policies.join(panel.keys, on=KEYS, how="anti")
    if no_demand.height:
        sample = no_demand.select(pl.concat_str(KEYS, separator="/")).to_series().head(5).to_list()
        warnings.append(
            f"{no_demand.height} policy row(s) have no demand and were skipped (e.g. {sample})"
        )
    if keyed.height == 0:
        raise InvalidDataError(
            "No policy matches an item_id/location_id of the demand file; nothing to simulate."
        )
    lead = keyed["lead_time"].fill_null(0).to_numpy()
    whole = np.ceil(lead - 1e-9)
    if np.any(whole != lead):
        warnings.append(
            f"{int(np.sum(whole != lead))} fractional lead time(s) rounded up to whole buckets"
        )
    lead_sd = keyed["lead_time_sd"].fill_null(0).to_numpy()
    lead_arg: np.ndarray | Callable[[np.random.Generator, tuple[int, int]], np.ndarray]
    lead_arg = whole.astype(np.int64)
    if np.any(lead_sd > 0):
        # random lead times: normal around the planned lead time, rounded, at least 0
        def lead_arg(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
            draws = np.rint(rng.normal(lead[:, None], lead_sd[:, None], size=shape))
            return np.where(lead_sd[:, None] > 0, np.maximum(draws, 0), whole[:, None])

    raw_review = keyed["review_period"].fill_null(1).to_numpy()
    review = np.ceil(raw_review - 1e-9)
    if np.any(review != raw_review):
        warnings.append(
            f"{int(np.sum(review != raw_review))} fractional review period(s) rounded up to "
            "whole buckets"
        )
    horizon = values.shape[1]
    if not 0 <= warmup < horizon:
        raise InvalidParameterError(
            f"The '--warmup' option must be in [0, {horizon - 1}] (periods simulated). Got {warmup}."
        )
    from stockpilot.core.simulation import simulate_single_echelon

    res = simulate_single_echelon(
        values[keyed["row"].to_numpy()],
        policy=keyed["policy"].to_list(),
        reorder_point=keyed["reorder_point"].to_numpy(),
        order_quantity=keyed["order_quantity"].to_numpy(),
        order_up_to=keyed["order_up_to"].to_numpy(),
        review_period=review.astype(np.int64),
        lead_time=lead_arg,
        backorders=not lost_sales,
        warmup=warmup,
        seed=seed,
    )
    out = keyed.select(*KEYS, "policy").with_columns(
        pl.Series("fill_rate", res.fill_rate),
        pl.Series("cycle_service_level", res.cycle_service_level),
        pl.Series("ready_rate", res.ready_rate),
        pl.Series("average_on_hand", res.average_on_hand),
        pl.Series("average_backorders", res.average_backorders),
        pl.Series("average_lost_sales", res.average_lost_sales),
        pl.Series("orders_placed", res.orders_placed),
        pl.Series("periods", res.measured_periods),
    )
    return out.with_columns(cs.float().fill_nan(None)), warnings


def run_simulate(
    *,
    policies: Annotated[Path, typer.Option("--policies", help="Policies file (exchange format).")],
    demand: Annotated[Path, typer.Option("--demand", help="Canonical long demand file.")],
    out: Annotated[Path, typer.Option("--out", help="Service file (.csv, .parquet, .xlsx).")],
    bucket: Annotated[
        str | None,
        typer.Option("--bucket", help="Planning bucket: day, week or month (default: inferred)."),
    ] = None,
    periods: Annotated[
        int | None, typer.Option("--periods", help="Simulate the last T buckets (default: all).")
    ] = None,
    warmup: Annotated[
        int, typer.Option("--warmup", help="Buckets simulated but not measured.")
    ] = 0,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    lost_sales: Annotated[
        bool, typer.Option("--lost-sales", help="Unmet demand is lost (default: backordered).")
    ] = False,
) -> None:
    """Simulate policies on demand history and report the service they deliver."""
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=_err,
            transient=True,
        ) as bar:
            task = bar.add_task("reading policies and demand", total=None)
            policy_frame = read_policies(policies)
            demand_frame = read_demand(demand)
            chosen = planning_bucket("stockpilot simulate", bucket, demand_frame["date"])
            bar.update(task, description=f"simulating {policy_frame.height} policies")
            table, warnings = simulate_policies(
                policy_frame,
                demand_frame,
                bucket=chosen,
                periods=periods,
                warmup=warmup,
                seed=seed,
                lost_sales=lost_sales,
            )
            bar.update(task, description="writing")
            write_table(table, out)
    except StockpilotError as exc:
        print_error(str(exc))
        raise typer.Exit(1) from None
    except OSError as exc:
        print_error(f"cannot read or write a file: {exc}")
        raise typer.Exit(1) from None
    for message in warnings:
        print_warning(message)
    fill = table["fill_rate"].drop_nulls()
    median = fill.median() if fill.len() else None
    summary = f"; median fill rate {float(median):.3f}" if isinstance(median, float) else ""
    how = "given" if bucket is not None else "inferred from the dates"
    note = week_dates_note(demand_frame["date"], chosen)
    how += f"; {note}" if note else ""
    typer.echo(
        f"{table.height} item-locations simulated ({chosen.value} buckets, {how}){summary}; "
        f"wrote {out}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""
    app.command("simulate")(run_simulate)
