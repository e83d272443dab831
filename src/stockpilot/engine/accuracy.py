"""Accuracy of a published plan's forecasts against what happened since.

The planning run measures the forecasts it published last time before it makes new ones:
per series MAE, WAPE, MASE, RMSSE, bias and tracking signal over the buckets that now
have actuals, and the **forecast value added** (Gilliland 2010) of the statistical
forecast over the naive one (the last actual before the forecast began) and of people's
overrides over the statistical forecast. The statistical value of an overridden bucket is
the ``old`` value its override recorded in the audit trail. Results come per series, per
ABC class and per override author (:func:`plan_accuracy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.core.forecast.metrics import accuracy, aggregate_by, forecast_value_added
from stockpilot.engine.panel import KEYS, to_panel
from stockpilot.errors import InvalidDataError
from stockpilot.vocab import Bucket

__all__ = ["PlanAccuracy", "plan_accuracy"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PlanAccuracy:
    """``per_series`` (one row per monitored series), ``by_class`` and ``by_author``
    (one row per ABC class / override author) frames; ``periods`` monitored."""

    per_series: pl.DataFrame
    by_class: pl.DataFrame
    by_author: pl.DataFrame
    periods: int


def _matrix(
    frame: pl.DataFrame,
    keys: pl.DataFrame,
    periods: list[date],
    value: str,
    aggregate: Literal["sum", "first"],
) -> FloatArray:
    """``value`` per key (rows) and period (columns): rows of one cell summed, or the
    first taken; NaN for a key without the period column. A pivot sum reads a cell
    without any row (or a null) as 0, so values that may be missing take ``first``."""
    wide = keys.join(
        frame.pivot(
            on="period_start", index=list(KEYS), values=value, aggregate_function=aggregate
        ),
        on=list(KEYS),
        how="left",
        maintain_order="left",
    )
    cols = [str(p) for p in periods]
    present = [c for c in cols if c in wide.columns]
    out = np.full((keys.height, len(cols)), np.nan)
    for j, c in enumerate(cols):
        if c in present:
            out[:, j] = wide[c].cast(pl.Float64).to_numpy()
    return out


def _check_unique_forecasts(forecasts: pl.DataFrame) -> None:
    """One forecast row per series and bucket: duplicates would be summed."""
    twice = (
        forecasts.group_by(*KEYS, "period_start")
        .len()
        .filter(pl.col("len") > 1)
        .sort(*KEYS, "period_start")
    )
    if twice.height:
        shown = ", ".join(
            f"({item}, {location}, {period})"
            for item, location, period, _ in twice.head(5).iter_rows()
        )
        raise InvalidDataError(
            f"plan_accuracy: {twice.height} (item_id, location_id, period_start) forecast "
            f"key(s) have more than one row, e.g. {shown}; summing them would double the "
            "forecast. Give one forecast row per series and period."
        )


def plan_accuracy(
    demand: pl.DataFrame,
    forecasts: pl.DataFrame,
    *,
    bucket: Bucket,
    overrides: pl.DataFrame | None = None,
    classes: pl.DataFrame | None = None,
) -> PlanAccuracy:
    """Accuracy and forecast value added of published forecasts.

    Parameters
    ----------
    demand
        ``item_id, location_id, period, quantity`` in planning buckets (history and the
        buckets since the plan; a bucket without a row had no demand).
    forecasts
        The plan's ``item_id, location_id, period_start, mean`` (after overrides), one row
        per series and bucket; only buckets up to the last demand bucket are scored. A
        bucket a series has no forecast for (no row, or a null/NaN ``mean``) is left out of
        its metrics, not scored as a forecast of 0.
    bucket
        The planning bucket.
    overrides
        ``item_id, location_id, period_start, statistical, author``: the forecast before a
        person's (or an event's) override of that bucket, and who made it.
    classes
        ``item_id, location_id, abc`` for the per-class summary.

    Returns
    -------
    PlanAccuracy
        ``per_series`` holds ``periods`` (the buckets scored for the series), the summed
        ``actual`` and ``forecast`` over them, and the metrics.

    Raises
    ------
    InvalidDataError
        When a column is missing or a series has two forecast rows for one bucket (the
        message counts them and names the first).
    """
    missing = [c for c in (*KEYS, "period", "quantity") if c not in demand.columns]
    missing += [c for c in (*KEYS, "period_start", "mean") if c not in forecasts.columns]
    if missing:
        raise InvalidDataError(f"plan_accuracy: missing column(s) {missing}.")
    _check_unique_forecasts(forecasts)
    last = demand["period"].max()
    scored = forecasts.filter(pl.col("period_start") <= last)
    empty = PlanAccuracy(pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), 0)
    if scored.height == 0 or last is None:
        return empty
    periods = sorted(set(scored["period_start"].to_list()))
    start = periods[0]
    keys = scored.select(KEYS).unique().sort(KEYS)
    actual_rows = demand.filter(pl.col("period") >= start).rename({"period": "period_start"})
    published = _matrix(scored, keys, periods, "mean", "first")
    # a bucket without a demand row had no demand; one without a forecast (no row, or a
    # null/NaN mean) was not forecast and is left out of every metric
    forecast_given = ~np.isnan(published)
    actual = np.where(
        forecast_given,
        np.nan_to_num(_matrix(actual_rows, keys, periods, "quantity", "sum")),
        np.nan,
    )
    statistical = published.copy()
    author = np.full(keys.height, "", dtype=object)
    if overrides is not None and overrides.height:
        stat = _matrix(overrides, keys, periods, "statistical", "first")
        statistical = np.where(np.isnan(stat), published, stat)
        # the author of most of the series' overridden cells; on a tie the one who
        # overrode first (the rows come in the audit trail's order)
        who = (
            overrides.with_row_index("_order")
            .group_by([*KEYS, "author"])
            .agg(pl.len().alias("_cells"), pl.col("_order").min().alias("_first"))
            .sort(["_cells", "_first"], descending=[True, False])
            .group_by(KEYS, maintain_order=True)
            .agg(pl.col("author").first())
            .join(keys, on=list(KEYS), how="right")
        )
        author = (
            keys.join(who, on=list(KEYS), how="left", maintain_order="left")["author"]
            .fill_null("")
            .to_numpy()
        )
    history = demand.filter(pl.col("period") < start)
    insample = np.full((keys.height, 1), np.nan)
    if history.height:
        panel = to_panel(history, bucket=bucket)
        aligned = keys.join(
            panel.keys.with_row_index("_row"), on=list(KEYS), how="left", maintain_order="left"
        )["_row"]
        rows = aligned.fill_null(-1).to_numpy()
        insample = np.where(rows[:, None] >= 0, panel.values[np.maximum(rows, 0)], np.nan)
    observed = ~np.isnan(insample)
    last_idx = np.where(
        observed.any(axis=1), insample.shape[1] - 1 - observed[:, ::-1].argmax(axis=1), -1
    )
    naive_level = np.where(
        last_idx >= 0, insample[np.arange(keys.height), np.maximum(last_idx, 0)], np.nan
    )
    naive = np.where(forecast_given, np.nan_to_num(naive_level)[:, None], np.nan)
    forecast = published
    statistical = np.where(forecast_given, np.nan_to_num(statistical), np.nan)
    report = accuracy(actual, forecast, insample)
    fva = forecast_value_added(actual, naive, statistical, forecast, authors=list(author))
    with np.errstate(invalid="ignore"):
        overridden = np.any(np.abs(statistical - forecast) > 1e-12, axis=1)
    per_series = keys.with_columns(
        pl.Series("periods", forecast_given.sum(axis=1)),
        pl.Series("actual", np.where(forecast_given, np.nan_to_num(actual), 0.0).sum(axis=1)),
        pl.Series("forecast", np.nansum(forecast, axis=1)),
        pl.Series("mae", report.mae),
        pl.Series("wape", report.wape),
        pl.Series("mase", report.mase),
        pl.Series("rmsse", report.rmsse),
        pl.Series("bias", report.bias),
        pl.Series("tracking_signal", report.tracking_signal),
        pl.Series("mae_naive", fva.mae_naive),
        pl.Series("fva_statistical", fva.fva_statistical),
        pl.Series("fva_override", np.where(overridden, fva.fva_override, np.nan)),
        pl.Series("override_author", np.where(overridden, author, "").astype(str)),
    )
    if classes is not None and {"abc", *KEYS} <= set(classes.columns):
        per_series = per_series.join(
            classes.select(*KEYS, "abc"), on=list(KEYS), how="left", maintain_order="left"
        )
    else:
        per_series = per_series.with_columns(abc=pl.lit(None, dtype=pl.String))
    label = per_series["abc"].fill_null("unclassified").to_numpy().astype(str)
    grouped = report.by_group(label)
    fva_class = aggregate_by(fva.fva_statistical, label)
    by_class = pl.DataFrame(
        {
            "abc": grouped["wape"].labels.astype(str),
            "series": grouped["wape"].counts,
            "wape": grouped["wape"].values,
            "mase": grouped["mase"].values,
            "rmsse": grouped["rmsse"].values,
            "bias": grouped["bias"].values,
            "fva_statistical": fva_class.values,
        }
    )
    has = overridden & (author != "")
    if has.any():
        by = aggregate_by(
            np.where(overridden, fva.fva_override, np.nan)[has], author[has].astype(str)
        )
        by_author = pl.DataFrame(
            {"author": by.labels.astype(str), "series": by.counts, "fva_override": by.values}
        )
    else:
        by_author = pl.DataFrame(
            schema={"author": pl.String, "series": pl.Int64, "fva_override": pl.Float64}
        )
    return PlanAccuracy(per_series, by_class, by_author, len(periods))
