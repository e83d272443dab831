"""Forecasting on long frames: classify, select per series, forecast, quantiles, events.

The Python API of the forecasting step. Input is canonical long demand
(``item_id, location_id, period`` or ``date``, ``quantity``; polars or pandas); output is a
:class:`ForecastResult` whose ``forecasts`` frame follows the exchange format of
DESIGN.md section 3 (``item_id, location_id, period_start, model, mean, q50, q90, ...``).

>>> import polars as pl
>>> from datetime import date, timedelta
>>> d = pl.DataFrame({"item_id": "A", "location_id": "L",
...                   "period": [date(2024, 1, 1) + timedelta(weeks=k) for k in range(30)],
...                   "quantity": 5.0})
>>> r = Forecaster(horizon=2, bucket="week", levels=(0.5, 0.9)).fit(d).predict()
>>> r.forecasts.columns
['item_id', 'location_id', 'period_start', 'model', 'mean', 'q50', 'q90']
>>> r.forecasts["mean"].to_list()
[5.0, 5.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.classify import (
    Classification,
    ClassificationConfig,
    aggregate_rows,
    classify,
)
from stockpilot.core.forecast.analogue import borrow_history
from stockpilot.core.forecast.events import (
    ForecastEvent,
    OverrideRecord,
    apply_events,
    cleanse_history,
    event_mask,
)
from stockpilot.core.forecast.exceptions import ExceptionRules, find_exceptions
from stockpilot.core.forecast.metrics import (
    AccuracyReport,
    accuracy,
    scaled_pinball_loss,
)
from stockpilot.core.forecast.quantiles import (
    DEFAULT_LEVELS,
    CalibrationReport,
    DistributionChoice,
    calibrated_levels,
    calibration_report,
    choose_distribution,
    distribution_for_pattern,
    in_whole_units,
    lead_time_quantiles,
    period_quantiles,
    quantile_column,
    whole_unit_series,
)
from stockpilot.core.forecast.selection import SelectionConfig, SelectionResult, select_and_forecast
from stockpilot.engine.panel import (
    Panel,
    as_bucket,
    as_dates,
    incomplete_bucket_left_out,
    last_date,
    to_panel,
)
from stockpilot.errors import InvalidDataError, parameter_error
from stockpilot.vocab import PERIODS_PER_YEAR, Bucket

__all__ = [
    "BacktestResult",
    "ForecastResult",
    "Forecaster",
    "backtest",
    "calibration_adjusted_levels",
    "classify_demand",
    "default_season_length",
    "forecast",
    "item_inputs",
    "review_queue",
]

#: Largest change of a quantile level learned by ``Forecaster(calibrate=True)``.
MAX_LEVEL_SHIFT = 0.1

#: ``Forecaster(calibrate=True)`` adjusts a level t only when the backtest expects at least
#: this many actuals above its quantile, n (1 - t) with n pooled (series, period) pairs.
#: Fewer cannot locate the level: 32 of 32 actuals under the 0.97 quantile is what a
#: calibrated 0.999 quantile gives too, yet inverting that curve asked for 0.97.
MIN_CALIBRATION_EXCEEDANCES = 10.0

_SEASON = {Bucket.DAY: 7, Bucket.WEEK: 52, Bucket.MONTH: 12}


def default_season_length(bucket: Bucket | str) -> int:
    """Periods per year-long season of a bucket: 7 (day of week), 52 (week), 12 (month)."""
    return _SEASON[as_bucket(bucket)]


#: The item-master column grouping the series of a group seasonal index by default.
DEFAULT_SEASON_GROUP_BY = "category"

#: Periods between the forecast origin and the annual origin of the spread learning
#: (selection rule 6): a year, and for days 364 so that the weekdays line up.
_ANNUAL_LAG = {Bucket.DAY: 364, Bucket.WEEK: 52, Bucket.MONTH: 12}


@dataclass(frozen=True)
class ForecastResult:
    """Forecasts of N series in exchange format, with per-series diagnostics.

    Attributes
    ----------
    forecasts
        ``item_id, location_id, period_start, model, mean, q..`` one row per series and
        horizon period (after events).
    diagnostics
        One row per series: ``model, reason, pattern, lifecycle, abc, xyz, adi, cv2,
        n_observations, sd, oos_bias, n_origins, distribution, distribution_by_level,
        seasonal_candidates, group_season, failed, cleansed_periods, outlier_periods,
        analogue_item_id, analogue_factor, borrowed_periods`` (``distribution_by_level``: the
        family of each output level, e.g. ``"q90=negative_binomial q95=normal"``;
        ``seasonal_candidates``: the seasonal models were tested (selection rule 3);
        ``group_season``: the history was adjusted by the seasonal index pooled over the
        series of its season group (selection rule 8); periods cleansed of events; periods
        capped as outliers for the level estimate; the like-item history a new series
        borrowed).
    lead_time
        ``item_id, location_id, lead_time, review_period, lead_time_sd, ltd_mean, ltd_sd,
        q..`` quantiles of demand over lead time plus review period (``None`` when no lead
        time was given).
    levels
        Quantile levels of the ``q..`` columns.
    overrides
        Audit records of every forecast cell changed by an event.
    calibration
        Backtest calibration (share of actuals at or below each quantile) when the
        forecaster was asked to calibrate; ``None`` otherwise. Its levels are a fixed grid
        plus the levels asked for.
    levels_used
        The level each ``q..`` column was computed at, in the order of ``levels``: the
        nominal level, or with ``calibrate=True`` the level the backtest says covers the
        nominal share of actuals (see :func:`calibration_adjusted_levels`). ``None`` is the
        same as ``levels``.
    season_groups
        The group seasonal index of each season group (selection rule 8), one row per group
        and forecast period: ``season_group, series, applied, gain, raw_error,
        adjusted_error, period_start, index`` (``index`` 1 where not applied; ``gain`` the
        fall of the test's rolling-origin error). ``None`` when the rule did not run (no
        season, or turned off).
    notes
        What the fit left out of the input and why, e.g. an incomplete last bucket (the
        CLI prints them).
    """

    forecasts: pl.DataFrame
    diagnostics: pl.DataFrame
    lead_time: pl.DataFrame | None
    levels: tuple[float, ...]
    overrides: tuple[OverrideRecord, ...] = ()
    calibration: CalibrationReport | None = None
    levels_used: tuple[float, ...] | None = None
    season_groups: pl.DataFrame | None = None
    notes: tuple[str, ...] = ()


def _to_polars(frame: Any, what: str = "Demand") -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(frame, pd.DataFrame):
        try:
            return pl.from_pandas(frame)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
            kinds = {str(c): pd.api.types.infer_dtype(frame[c], skipna=True) for c in frame}
            mixed = [c for c, kind in kinds.items() if kind.startswith("mixed")]
            raise InvalidDataError(
                f"{what} could not be read from the pandas DataFrame ({exc}); columns of "
                f"mixed types: {mixed}. Give each column one type (numbers, text or dates)."
            ) from None
    raise InvalidDataError(
        f"{what} must be a polars or pandas DataFrame; got {type(frame).__name__}."
    )


def _panel(demand: Any, bucket: Bucket, end: date | None) -> tuple[Panel, tuple[str, ...]]:
    """The panel of ``demand`` and notes on what was left out of it.

    Raw ``date`` records whose last bucket is not complete (an extract run mid-week) leave
    that bucket out unless ``end`` says where the history ends; ``period`` columns hold
    whole buckets already."""
    frame = _to_polars(demand)
    if "period" in frame.columns:
        column = "period"
    elif "date" in frame.columns:
        column = "date"
    else:
        raise InvalidDataError(
            "Demand needs a 'period' (bucket start) or 'date' column; got "
            f"{frame.columns}. Harmonize it with stockpilot.io.buckets.harmonize_demand."
        )
    missing = [c for c in ("item_id", "location_id", "quantity") if c not in frame.columns]
    if missing:
        raise InvalidDataError(
            f"Demand needs columns item_id, location_id, {column}, quantity; {missing} "
            f"missing (got {frame.columns})."
        )
    if frame.height == 0:
        raise InvalidDataError("Demand is empty: nothing to forecast.")
    frame = frame.with_columns(as_dates(frame[column], "Demand").alias(column))
    _check_quantity(frame)
    notes: tuple[str, ...] = ()
    if column == "date" and end is None:
        partial, note = incomplete_bucket_left_out(
            frame[column],
            bucket,
            hint="give the end of the history (Forecaster(end=...)) to keep it",
        )
        if partial is not None:
            notes, end = (note,), partial - timedelta(days=1)
    return to_panel(frame, bucket=bucket, period_column=column, end=end), notes


def _check_quantity(frame: pl.DataFrame) -> None:
    """Quantities must be finite numbers >= 0: every kind of bad value counted at once."""
    given = frame["quantity"]
    quantity = given.cast(pl.Float64, strict=False)
    problems = []
    for count, what in (
        (quantity.null_count() - given.null_count(), "non-numeric"),
        (given.null_count() + int(quantity.is_nan().sum()), "missing"),
        (int(quantity.is_infinite().sum()), "infinite"),
        (int((quantity < 0).sum()), "negative (net returns out of demand first)"),
    ):
        if count:
            problems.append(f"{count} {what}")
    if problems:
        bad = quantity.is_null() | ~quantity.is_finite() | (quantity < 0)
        raise InvalidDataError(
            "Demand 'quantity' must hold finite numbers >= 0; found "
            + ", ".join(problems)
            + f" value(s), at rows {bad.arg_true().head(5).to_list()}."
        )


#: Last day a forecast period may start on: calendar dates (polars, files, databases) end
#: with the year 9999.
_LAST_DAY = np.datetime64("9999-12-31", "D")


def _future_periods(panel: Panel, h: int) -> NDArray[np.datetime64]:
    last = panel.periods[-1]
    if panel.bucket is Bucket.MONTH:
        months = last.astype("datetime64[M]") + np.arange(1, h + 1)
        periods = months.astype("datetime64[D]")
    else:
        step = 7 if panel.bucket is Bucket.WEEK else 1
        periods = (last + np.arange(1, h + 1) * step).astype("datetime64[D]")
    if periods.size and periods[-1] > _LAST_DAY:
        raise parameter_error(
            "Forecaster",
            "horizon",
            f"a number of {panel.bucket.value}s that ends by the year 9999 (the last would "
            f"start on {periods[-1]})",
            h,
        )
    return periods


@dataclass(frozen=True)
class _Fitted:
    panel: Panel
    classification: Classification
    selection: SelectionResult
    distribution: NDArray[np.str_]
    level_distribution: NDArray[np.str_]  # (N, K): the family at each asked level
    periods: NDArray[np.datetime64]
    calibration: CalibrationReport | None
    asked_levels: NDArray[np.float64]
    cleansed: NDArray[np.bool_]
    analogue: AnalogueUse
    counted: NDArray[np.bool_]  # (N,) demand recorded in whole units
    notes: tuple[str, ...] = ()


@dataclass
class Forecaster:
    """Automatic forecaster for many series (scikit-learn style: ``fit`` then ``predict``).

    Parameters
    ----------
    horizon
        Periods to forecast, h.
    bucket
        Planning bucket (``day``, ``week``, ``month``).
    levels
        Quantile levels in [0.5, 1).
    season_length
        Periods per season; default by bucket (:func:`default_season_length`).
    lead_time, review_period, lead_time_sd
        When ``lead_time`` is given, quantiles of demand over lead time + review period are
        computed too (periods >= 0; scalars or one value per series, in the order of the
        series sorted by ``item_id, location_id``, the row order of ``diagnostics``).
    selection, classification
        Options of :func:`~stockpilot.core.forecast.selection.select_and_forecast` and
        :func:`~stockpilot.core.classify.classify`.
    events
        Known events. Their past periods are cleansed from the history before fitting
        (:func:`~stockpilot.core.forecast.events.cleanse_history`); their future periods
        adjust the forecasts (logged as overrides).
    attributes
        Hierarchy attributes for event scopes, a frame with ``item_id`` (and optionally
        ``location_id``) plus attribute columns.
    items
        Item master for classification (``item_id`` and any of ``unit_cost, price,
        lifecycle_flag, obsolete``; :func:`item_inputs`): unit cost and price feed the
        ABC criteria (``margin`` needs the price), and items declared ``phase_out``,
        ``discontinued`` or obsolete are at end of life whatever their recent demand.
    season_group_by
        The item-master column whose values group the series that share a seasonal index
        (selection rule 8), ``category`` by default; series of items without a value, and
        every series when the item master or its ``category`` column is absent or this is
        ``None``, form one group. Any other column must be in the item master.
    calibrate
        Backtest the whole procedure on the last ``horizon`` periods, learn there the
        distribution family per demand pattern (lowest scaled pinball loss) and the level
        calibration, and use both (about twice the fitting time).
    lumpy_empirical
        Bootstrap lumpy series' quantiles from their history instead of the negative
        binomial.
    seed
        Seed of the bootstrap.
    """

    horizon: int
    bucket: Bucket | str = Bucket.WEEK
    levels: Sequence[float] = DEFAULT_LEVELS
    season_length: int | None = None
    lead_time: float | ArrayLike | None = None
    review_period: float | ArrayLike = 0.0
    lead_time_sd: float | ArrayLike = 0.0
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    classification: ClassificationConfig = field(default_factory=ClassificationConfig)
    events: Sequence[ForecastEvent] = ()
    attributes: pl.DataFrame | None = None
    items: pl.DataFrame | None = None
    season_group_by: str | None = DEFAULT_SEASON_GROUP_BY
    calibrate: bool = False
    lumpy_empirical: bool = False
    seed: int = 0
    end: date | None = None

    fitted_: _Fitted | None = field(default=None, init=False, repr=False)

    def _validate(self) -> tuple[Bucket, int, NDArray[np.float64]]:
        owner = "Forecaster"
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int | np.integer):
            raise parameter_error(owner, "horizon", "a positive integer", self.horizon)
        if self.horizon < 1:
            raise parameter_error(owner, "horizon", "a positive integer", self.horizon)
        bucket = as_bucket(self.bucket)
        season = default_season_length(bucket) if self.season_length is None else self.season_length
        if int(season) < 1:
            raise parameter_error(owner, "season_length", "an integer >= 1", season)
        lv = np.asarray(self.levels, dtype=np.float64).reshape(-1)
        if lv.size == 0 or np.any(~(lv >= 0.5)) or np.any(~(lv < 1.0)):
            raise parameter_error(owner, "levels", "floats in [0.5, 1)", list(self.levels))
        group_by = self.season_group_by
        named = group_by is not None and group_by != DEFAULT_SEASON_GROUP_BY
        if named and self.items is not None and group_by not in self.items.columns:
            # the default column may be absent (one group); a column asked for by name
            # must exist, or a typo would silently pool every series
            raise parameter_error(
                owner,
                "season_group_by",
                f"a column of the item master ({', '.join(self.items.columns)}) or None",
                group_by,
            )
        return bucket, int(season), np.sort(np.unique(lv))

    def fit(self, demand: Any) -> Forecaster:
        """Build the panel, classify, select a method per series and forecast."""
        bucket, season, levels = self._validate()
        panel, notes = _panel(demand, bucket, self.end)
        future = _future_periods(panel, self.horizon)  # before any fit: a horizon is checked
        y = panel.values
        # whole units by the demand as recorded: a cleansed event or a borrowed analogue
        # history (scaled) is fractional, the series' quantiles must still be whole
        counted = whole_unit_series(y)
        cleansed = np.zeros(y.shape, dtype=bool)
        if self.events and y.size:
            # Past event periods are replaced by a local baseline before anything is fitted,
            # so promotions and shutdowns do not distort the baseline.
            items = panel.keys["item_id"].to_numpy().astype(str)
            locs = panel.keys["location_id"].to_numpy().astype(str)
            attrs = _attribute_arrays(self.attributes, panel.keys)
            mask = np.zeros(y.shape, dtype=bool)
            for ev in self.events:
                mask |= event_mask(
                    ev,
                    item_ids=items,
                    location_ids=locs,
                    periods=panel.periods,
                    attributes=attrs,
                    bucket=panel.bucket,
                )
            clean = cleanse_history(y, mask)
            y, cleansed = clean.values, clean.replaced
            panel = Panel(panel.keys, panel.periods, y, panel.bucket)
        master = item_inputs(self.items, panel.keys, season_group_by=self.season_group_by)
        # New items borrow their analogue's history before launch (like-item forecasting)
        y, analogue = analogue_history(panel, master, own_periods=PERIODS_PER_YEAR[bucket])
        if analogue.borrowed.any():
            panel = Panel(panel.keys, panel.periods, y, panel.bucket)
        cls = classify(
            y,
            config=self.classification,
            periods_per_year=PERIODS_PER_YEAR[bucket],
            unit_value=np.where(np.isnan(master.unit_cost), 1.0, master.unit_cost),
            unit_price=master.unit_price,
            end_of_life_flag=master.end_of_life_flag,
        )
        sel = select_and_forecast(
            y,
            self.horizon,
            season_length=season,
            periods_per_year=_ANNUAL_LAG[bucket],
            config=self.selection,
            patterns=cls.pattern.patterns,
            lifecycle=cls.lifecycle,
            season_groups=master.season_groups,
        )
        # "normal" where the selection learned a spread, else the pattern's family
        dist = sel.families(lumpy_empirical=self.lumpy_empirical)
        calib = None
        asked = levels
        if self.calibrate:
            learned = _backtest_calibration(
                y,
                self.horizon,
                season,
                self.selection,
                cls,
                periods_per_year=_ANNUAL_LAG[bucket],
                levels=levels,
                seed=self.seed,
                lumpy_empirical=self.lumpy_empirical,
                season_groups=master.season_groups,
            )
            if learned is not None:
                calib, choice = learned
                dist = choice.apply(cls.pattern.patterns, dist)
                asked = calibration_adjusted_levels(calib, levels)
        # the family per level where the selection chose it; the calibrated one per series
        level_dist = (
            np.repeat(dist[:, None], asked.size, axis=1)
            if calib is not None
            else sel.level_families(asked, lumpy_empirical=self.lumpy_empirical)
        )
        self.fitted_ = _Fitted(
            panel,
            cls,
            sel,
            dist,
            level_dist,
            future,
            calib,
            asked,
            cleansed,
            analogue,
            counted,
            notes,
        )
        return self

    def predict(self) -> ForecastResult:
        """Forecast frames of the fitted series (see :class:`ForecastResult`)."""
        if self.fitted_ is None:
            raise parameter_error(
                "Forecaster.predict",
                "self",
                "a fitted Forecaster",
                "unfitted",
                hint="Call fit(demand) first.",
            )
        _, _, levels = self._validate()
        f = self.fitted_
        panel, sel = f.panel, f.selection
        n, h = sel.mean.shape
        sd_paths = sel.sd_paths(f.asked_levels)  # (N, h, K): the spread of each level
        q = period_quantiles(
            sel.mean,
            sd_paths,
            f.asked_levels,
            distribution=f.level_distribution,
            history=panel.values,
            seed=self.seed,
            whole_units=f.counted,
        ).values
        mean = sel.mean
        records: tuple[OverrideRecord, ...] = ()
        if self.events:
            items = panel.keys["item_id"].to_numpy().astype(str)
            locs = panel.keys["location_id"].to_numpy().astype(str)
            adj = apply_events(
                mean,
                self.events,
                item_ids=items,
                location_ids=locs,
                periods=f.periods,
                attributes=_attribute_arrays(self.attributes, panel.keys),
                bucket=panel.bucket,
            )
            records = adj.records
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(mean > 0, adj.values / np.where(mean > 0, mean, 1.0), np.nan)
            scaled = q * ratio[..., None]
            shifted = np.broadcast_to(adj.values[..., None], q.shape)
            q = np.where(adj.changed[..., None], np.where(np.isnan(scaled), shifted, scaled), q)
            q = in_whole_units(q, f.counted, None)  # a scaled whole quantile is whole again
            mean = adj.values
        # key columns repeated by polars (no per-row Python strings), row-major (series, step)
        per_series = panel.keys.select(
            pl.col("item_id").cast(pl.String),
            pl.col("location_id").cast(pl.String),
            _text("model", sel.model),
        )
        cols: dict[str, Any] = {
            "period_start": pl.Series(np.tile(f.periods, n)).cast(pl.Date),
            "mean": mean.reshape(-1),
        }
        for j, lv in enumerate(levels):
            cols[quantile_column(float(lv))] = q[:, :, j].reshape(-1)
        forecasts = (
            per_series[np.repeat(np.arange(n), h)]
            .hstack(pl.DataFrame(cols))
            .select("item_id", "location_id", "period_start", "model", *list(cols)[1:])
        )
        lead = None
        if self.lead_time is not None:
            ltq = lead_time_quantiles(
                mean,
                sd_paths[:, 0, :],
                f.asked_levels,
                lead_time=self.lead_time,
                review_period=self.review_period,
                lead_time_sd=self.lead_time_sd,
                distribution=f.level_distribution,
                history=panel.values,
                seed=self.seed,
            )
            lt_cols: dict[str, Any] = {
                "item_id": per_series["item_id"],
                "location_id": per_series["location_id"],
                "lead_time": np.broadcast_to(np.asarray(self.lead_time, dtype=float), (n,)),
                "review_period": np.broadcast_to(np.asarray(self.review_period, dtype=float), (n,)),
                "lead_time_sd": np.broadcast_to(np.asarray(self.lead_time_sd, dtype=float), (n,)),
                "ltd_mean": ltq.mean,
                "ltd_sd": ltq.sd,
            }
            for j, lv in enumerate(levels):
                lt_cols[quantile_column(float(lv))] = ltq.values[:, j]
            lead = pl.DataFrame(lt_cols)
        return ForecastResult(
            forecasts=forecasts,
            diagnostics=_diagnostics(f, levels),
            lead_time=lead,
            levels=tuple(float(x) for x in levels),
            overrides=records,
            calibration=f.calibration,
            levels_used=tuple(float(x) for x in f.asked_levels),
            season_groups=_season_groups(f),
            notes=f.notes,
        )


def _season_groups(f: _Fitted) -> pl.DataFrame | None:
    """ForecastResult.season_groups: each group's test and index per forecast period."""
    groups = f.selection.season_groups
    if not groups:
        return None
    t, h = f.panel.n_periods, f.periods.size
    return pl.DataFrame(
        {
            "season_group": [g.label for g in groups for _ in range(h)],
            "series": np.repeat([g.series for g in groups], h),
            "applied": np.repeat([g.season.applied for g in groups], h),
            "gain": np.repeat([g.season.gain for g in groups], h),
            "raw_error": np.repeat([g.season.raw_error for g in groups], h),
            "adjusted_error": np.repeat([g.season.adjusted_error for g in groups], h),
            "period_start": pl.Series(np.tile(f.periods, len(groups))).cast(pl.Date),
            "index": np.concatenate([g.season.factors(t, t + h) for g in groups]),
        }
    )


def _attribute_arrays(
    attributes: pl.DataFrame | None, keys: pl.DataFrame
) -> Mapping[str, NDArray[Any]] | None:
    if attributes is None:
        return None
    on = [c for c in ("item_id", "location_id") if c in attributes.columns]
    if "item_id" not in on:
        raise InvalidDataError(
            f"Event attributes need an 'item_id' column; got {attributes.columns}."
        )
    joined = keys.join(attributes.unique(subset=on), on=on, how="left", maintain_order="left")
    return {
        c: joined[c].cast(pl.String).fill_null("").to_numpy()
        for c in attributes.columns
        if c not in ("item_id", "location_id")
    }


def _group_adjusted(s: SelectionResult) -> NDArray[np.bool_]:
    """(N,) True where the selection adjusted the history by the group seasonal index."""
    if s.season_factor.shape != s.mean.shape:
        return np.zeros(s.model.size, dtype=bool)
    return np.asarray((s.season_factor != 1.0).any(axis=1), dtype=bool)


def _diagnostics(f: _Fitted, levels: NDArray[np.float64]) -> pl.DataFrame:
    c, s = f.classification, f.selection
    return f.panel.keys.with_columns(
        _text("model", s.model),
        _text("reason", _with_analogue(s.reason, f.analogue)),
        _text("pattern", c.pattern.patterns),
        _text("lifecycle", c.lifecycle),
        _text("abc", c.abc.classes),
        _text("xyz", c.xyz.classes),
        pl.Series("adi", c.pattern.adi),
        pl.Series("cv2", c.pattern.cv2),
        pl.Series("n_observations", c.history_length),
        pl.Series("sd", s.sd),
        pl.Series("oos_bias", s.oos_bias),
        pl.Series("n_origins", s.n_origins_used),
        _text("distribution", f.distribution),
        _text("distribution_by_level", _by_level(f.level_distribution, levels)),
        pl.Series(
            "seasonal_candidates",
            s.seasonal if s.seasonal.size else np.zeros(s.model.size, dtype=bool),
        ),
        pl.Series("group_season", _group_adjusted(s)),
        pl.Series("failed", s.failed if s.failed.size else np.zeros(s.model.size, dtype=bool)),
        pl.Series("cleansed_periods", f.cleansed.sum(axis=1).astype(np.int64)),
        pl.Series(
            "outlier_periods",
            s.outliers_capped if s.outliers_capped.size else np.zeros(s.model.size, np.int64),
        ),
        _text("analogue_item_id", f.analogue.item_id).replace("", None),
        pl.Series("analogue_factor", f.analogue.factor),
        pl.Series("borrowed_periods", f.analogue.borrowed),
    )


def _text(name: str, values: ArrayLike | list[str]) -> pl.Series:
    """A string column from numpy text (by way of Python strings: polars reads a list of
    them several times faster than a numpy unicode array)."""
    strings = values if isinstance(values, list) else np.asarray(values).tolist()
    return pl.Series(name, strings, dtype=pl.String)


def _by_level(families: NDArray[np.str_], levels: NDArray[np.float64]) -> NDArray[np.str_]:
    """``"q90=negative_binomial q95=normal"`` per series: the family of each output level
    (a learned spread may keep the count law at one level and the normal at another)."""
    out = np.full(families.shape[0], "", dtype=object)
    for j, lv in enumerate(levels):
        sep = "" if j == 0 else " "
        out = out + f"{sep}{quantile_column(float(lv))}=" + families[:, j].astype(object)
    return out.astype(str)


def _with_analogue(reason: NDArray[np.str_], use: AnalogueUse) -> list[str]:
    """Reasons prefixed with the analogue history used (or why a declared one was not)."""
    if not use.borrowed.any() and not (use.note != "").any():
        return reason.tolist()
    out = []
    for r, item, factor, est, n, note in zip(
        reason.tolist(),
        use.item_id.tolist(),
        use.factor.tolist(),
        use.estimated.tolist(),
        use.borrowed.tolist(),
        use.note.tolist(),
        strict=True,
    ):
        if n:
            how = "estimated from the periods both sold" if est else "given"
            r = (
                f"history of analogue {item} x {factor:.3g} ({how}) for the {n} periods "
                f"before launch; {r}"
            )
        elif note:
            r = f"{note}; {r}"
        out.append(r)
    return out


_CALIBRATION_GRID = np.array(
    [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999]
)


def calibration_adjusted_levels(
    report: CalibrationReport, levels: ArrayLike
) -> NDArray[np.float64]:
    """Levels to compute the ``q..`` columns at so that each covers its nominal share.

    :func:`~stockpilot.core.forecast.quantiles.calibrated_levels` inverts the backtest
    coverage; a level t is moved only where the backtest can locate it, i.e. expects at
    least :data:`MIN_CALIBRATION_EXCEEDANCES` actuals above the quantile
    (``n_observations * (1 - t)``); other levels stay nominal. One backtest window can be
    unrepresentative (a seasonal peak), so a level moves at most :data:`MAX_LEVEL_SHIFT`;
    the result is kept in [0.5, 0.9999] and non-decreasing.

    >>> rep = CalibrationReport(
    ...     np.array([0.5, 0.9, 0.95, 0.97, 0.999]), np.array([0.6, 0.97, 0.97, 1.0, 1.0]), 32
    ... )
    >>> calibration_adjusted_levels(rep, [0.5, 0.999]).tolist()  # 0.999 unresolvable: kept
    [0.5, 0.999]
    """
    lv = np.asarray(levels, dtype=np.float64).reshape(-1)
    learned = calibrated_levels(report, lv)
    resolvable = report.n_observations * (1.0 - lv) + 1e-9 >= MIN_CALIBRATION_EXCEEDANCES
    moved = np.clip(learned, lv - MAX_LEVEL_SHIFT, lv + MAX_LEVEL_SHIFT)
    return np.maximum.accumulate(np.clip(np.where(resolvable, moved, lv), 0.5, 0.9999))


def _backtest_calibration(
    y: NDArray[np.float64],
    h: int,
    season: int,
    selection: SelectionConfig,
    cls: Classification,
    *,
    periods_per_year: int,
    levels: NDArray[np.float64],
    seed: int,
    lumpy_empirical: bool,
    season_groups: NDArray[np.str_] | None = None,
) -> tuple[CalibrationReport, DistributionChoice] | None:
    """Backtest of the whole procedure on the last ``h`` periods (None if too short).

    Learns the distribution family per demand pattern (lowest scaled pinball loss) and
    reports the calibration of the quantiles made with those families, on a fixed grid of
    levels plus the ``levels`` asked for.
    """
    if y.shape[1] <= h + selection.min_train:
        return None
    train, test = y[:, :-h], y[:, -h:]
    sel = select_and_forecast(
        train,
        h,
        season_length=season,
        periods_per_year=periods_per_year,
        config=selection,
        patterns=cls.pattern.patterns,
        lifecycle=cls.lifecycle,
        season_groups=season_groups,
    )
    choice = choose_distribution(test, sel.mean, sel.sd_path, train, cls.pattern.patterns)
    default = distribution_for_pattern(
        cls.pattern.patterns, sel.mean[:, 0], sel.sd**2, lumpy_empirical=lumpy_empirical
    )
    dist = choice.apply(cls.pattern.patterns, default)
    grid = np.union1d(_CALIBRATION_GRID, levels)
    q = period_quantiles(
        sel.mean, sel.sd_paths(grid), grid, distribution=dist, history=train, seed=seed
    )
    return calibration_report(test, q.values, grid), choice


def forecast(
    demand: Any, *, horizon: int, bucket: Bucket | str = Bucket.WEEK, **options: Any
) -> ForecastResult:
    """One call: ``Forecaster(horizon=..., bucket=..., **options).fit(demand).predict()``."""
    return Forecaster(horizon=horizon, bucket=bucket, **options).fit(demand).predict()


@dataclass(frozen=True)
class BacktestResult:
    """Accuracy of the automatic method on the last ``horizon`` periods held out.

    ``accuracy`` holds per-series metrics (rows as in ``keys``); ``calibration`` the share
    of actuals at or below each quantile; ``spl`` the scaled pinball loss per level, the
    mean over the ``spl_series`` series whose scale is defined (NaN when none: a constant
    or too short history has no scale).
    """

    keys: pl.DataFrame
    models: NDArray[np.str_]
    accuracy: AccuracyReport
    calibration: CalibrationReport
    spl: NDArray[np.float64]
    levels: tuple[float, ...]
    spl_series: int = 0


def backtest(
    demand: Any,
    *,
    horizon: int,
    bucket: Bucket | str = Bucket.WEEK,
    levels: Sequence[float] = DEFAULT_LEVELS,
    season_length: int | None = None,
    selection: SelectionConfig | None = None,
) -> BacktestResult:
    """Hold out the last ``horizon`` periods, forecast them, and score the forecasts."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise parameter_error("backtest", "horizon", "a positive integer", horizon)
    b = as_bucket(bucket)
    panel, _ = _panel(demand, b, None)
    y = panel.values
    if y.shape[1] <= horizon:
        raise InvalidDataError(
            f"backtest: {y.shape[1]} periods cannot hold out a horizon of {horizon}."
        )
    season = default_season_length(b) if season_length is None else season_length
    train, test = y[:, :-horizon], y[:, -horizon:]
    cfg = selection or SelectionConfig()
    cls = classify(train, periods_per_year=PERIODS_PER_YEAR[b])
    sel = select_and_forecast(
        train,
        horizon,
        season_length=season,
        periods_per_year=_ANNUAL_LAG[b],
        config=cfg,
        patterns=cls.pattern.patterns,
        lifecycle=cls.lifecycle,
    )
    lv = np.sort(np.asarray(levels, dtype=np.float64))
    q = period_quantiles(
        sel.mean, sel.sd_paths(lv), lv, distribution=sel.level_families(lv), history=train
    )
    acc = accuracy(test, sel.mean, train)
    per_series = np.array(
        [
            scaled_pinball_loss(test, q.values[:, :, j], train, float(level))
            for j, level in enumerate(lv)
        ]
    )  # (levels, N)
    scored = np.isfinite(per_series)
    with np.errstate(invalid="ignore"):
        spl = np.where(scored, per_series, 0.0).sum(axis=1) / scored.sum(axis=1)
    return BacktestResult(
        keys=panel.keys,
        models=sel.model,
        accuracy=acc,
        calibration=calibration_report(test, q.values, lv),
        spl=np.where(scored.any(axis=1), spl, np.nan),
        levels=tuple(float(x) for x in lv),
        spl_series=int(scored.any(axis=0).sum()),
    )


#: Declared lifecycles (``items.lifecycle_flag``) that put an item at end of life.
END_OF_LIFE_FLAGS: tuple[str, ...] = ("phase_out", "discontinued")


@dataclass(frozen=True)
class ItemInputs:
    """What classification takes from the item master, one value per series.

    Attributes
    ----------
    unit_cost
        ``items.unit_cost`` (NaN where the item is not in the master).
    unit_price
        ``items.price`` (NaN where unknown); ``None`` when the frame has no price column.
    end_of_life_flag
        True where ``items.lifecycle_flag`` is one of :data:`END_OF_LIFE_FLAGS` or
        ``items.obsolete`` is true.
    analogue_item_id, analogue_factor
        ``items.analogue_item_id`` ("" where none) and ``items.analogue_factor`` (NaN where
        blank): like-item history for new items (:func:`analogue_history`).
    season_groups
        The values of the ``season_group_by`` column ("" where blank), the groups of the
        group seasonal index; ``None`` when not asked for or the column is absent.
    """

    unit_cost: NDArray[np.float64]
    unit_price: NDArray[np.float64] | None
    end_of_life_flag: NDArray[np.bool_]
    analogue_item_id: NDArray[np.str_] = field(default_factory=lambda: np.zeros(0, dtype="<U1"))
    analogue_factor: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    season_groups: NDArray[np.str_] | None = None

    @property
    def missing_price(self) -> int:
        """Series without a known price (their margin counts as 0)."""
        return (
            self.end_of_life_flag.size
            if self.unit_price is None
            else int(np.isnan(self.unit_price).sum())
        )


def item_inputs(
    items: pl.DataFrame | None, keys: pl.DataFrame, *, season_group_by: str | None = None
) -> ItemInputs:
    """Item-master columns aligned to the series ``keys`` (a frame with ``item_id``).

    Optional columns (``unit_cost``, ``price``, ``lifecycle_flag``, ``obsolete``, and the
    ``season_group_by`` column) may be absent; what is absent is unknown (NaN, no flag, no
    group).
    """
    n = keys.height
    if items is None:
        return ItemInputs(np.full(n, np.nan), None, np.zeros(n, dtype=bool))
    items = _to_polars(items, "The item master")
    if "item_id" not in items.columns:
        raise InvalidDataError(f"items need an 'item_id' column; got {items.columns}.")
    _check_items(items)
    optional = (
        "unit_cost",
        "price",
        "lifecycle_flag",
        "obsolete",
        "analogue_item_id",
        "analogue_factor",
    )
    group_by = season_group_by if season_group_by in items.columns else None
    wanted = [c for c in optional if c in items.columns]
    if group_by is not None and group_by not in wanted and group_by != "item_id":
        wanted.append(group_by)
    joined = keys.select(pl.col("item_id").cast(pl.String)).join(
        items.select(pl.col("item_id").cast(pl.String), *wanted).unique(
            subset="item_id", keep="last", maintain_order=True
        ),
        on="item_id",
        how="left",
        maintain_order="left",
    )

    def number(column: str) -> NDArray[np.float64]:
        return joined[column].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)

    flag = np.zeros(n, dtype=bool)
    if "lifecycle_flag" in joined.columns:
        declared = joined["lifecycle_flag"].cast(pl.String).str.strip_chars().str.to_lowercase()
        flag |= declared.is_in(list(END_OF_LIFE_FLAGS)).fill_null(False).to_numpy()
    if "obsolete" in joined.columns:
        flag |= joined["obsolete"].cast(pl.Boolean).fill_null(False).to_numpy()
    analogue = (
        joined["analogue_item_id"].cast(pl.String).str.strip_chars().fill_null("").to_numpy()
        if "analogue_item_id" in joined.columns
        else np.full(n, "")
    )
    return ItemInputs(
        unit_cost=number("unit_cost") if "unit_cost" in joined.columns else np.full(n, np.nan),
        unit_price=number("price") if "price" in joined.columns else None,
        end_of_life_flag=flag,
        analogue_item_id=np.asarray(analogue, dtype=str),
        analogue_factor=(
            number("analogue_factor") if "analogue_factor" in joined.columns else np.full(n, np.nan)
        ),
        season_groups=(
            None
            if group_by is None
            else joined[group_by].cast(pl.String).fill_null("").to_numpy().astype(str)
        ),
    )


def _check_items(items: pl.DataFrame) -> None:
    """One row per item, and numbers >= 0 in the numeric columns: every problem at once,
    naming the items (the CLI and the planning run validate the file through the gate)."""
    problems = []
    ids = items["item_id"].cast(pl.String)
    repeated = ids.filter(ids.is_duplicated()).unique(maintain_order=True)
    if repeated.len():
        problems.append(
            f"{repeated.len()} item_id(s) on more than one row: {repeated.head(5).to_list()}"
        )
    for column in ("unit_cost", "price", "analogue_factor"):
        if column not in items.columns:
            continue
        given = items[column]
        value = given.cast(pl.Float64, strict=False)
        bad = (value.is_null() & given.is_not_null()) | ~value.is_finite() | (value < 0)
        bad = bad.fill_null(False)
        if bad.any():
            problems.append(
                f"{int(bad.sum())} {column} value(s) not a finite number >= 0 (items "
                f"{ids.filter(bad).head(5).to_list()})"
            )
    if problems:
        raise InvalidDataError("The item master has " + "; ".join(problems) + ".")


@dataclass(frozen=True)
class AnalogueUse:
    """Like-item history applied to the series of a panel (one value per series).

    Attributes
    ----------
    item_id
        The analogue item ("" where none was used).
    factor
        Scale applied (NaN where none).
    estimated
        True where the factor came from the periods both items sold.
    borrowed
        Periods filled from the analogue.
    note
        Why a declared analogue was not used ("" otherwise).
    """

    item_id: NDArray[np.str_]
    factor: NDArray[np.float64]
    estimated: NDArray[np.bool_]
    borrowed: NDArray[np.int64]
    note: NDArray[np.str_]


def analogue_history(
    panel: Panel, master: ItemInputs, *, own_periods: int
) -> tuple[NDArray[np.float64], AnalogueUse]:
    """Each new series' history with its analogue's (scaled) before its launch.

    A series borrows while it has fewer than ``own_periods`` observed periods of its own
    (the planning run: one year of buckets) and its item names an analogue that is stocked
    at the same location; the analogue's series at that location supplies the periods
    before the series' first observation (:func:`~stockpilot.core.forecast.analogue.
    borrow_history`). Returns the history and what was used.
    """
    keys = panel.keys
    n = keys.height
    y = panel.values
    declared = master.analogue_item_id if master.analogue_item_id.size == n else np.full(n, "")
    if not (declared != "").any():
        blank = np.full(n, "")
        none = AnalogueUse(
            blank, np.full(n, np.nan), np.zeros(n, bool), np.zeros(n, np.int64), blank
        )
        return y, none
    own = (~np.isnan(y)).sum(axis=1)
    series = keys.select(
        pl.col("item_id").cast(pl.String), pl.col("location_id").cast(pl.String)
    ).with_columns(
        analogue=pl.Series(declared, dtype=pl.String),
        wants=pl.Series((declared != "") & (own < own_periods)),
    )
    stocked = series.select(
        pl.col("item_id").alias("analogue"), "location_id", ref_row=pl.int_range(n)
    )
    found = series.join(stocked, on=["analogue", "location_id"], how="left", maintain_order="left")
    found = found.with_columns(
        ref_row=pl.when(pl.col("wants") & (pl.col("analogue") != pl.col("item_id"))).then(
            pl.col("ref_row")
        ),
        note=pl.when(~pl.col("wants"))
        .then(pl.lit(""))
        .when(pl.col("analogue") == pl.col("item_id"))
        .then(pl.format("analogue {} is the item itself; not used", "analogue"))
        .when(pl.col("ref_row").is_null())
        .then(pl.format("analogue {} has no demand at {}; not used", "analogue", "location_id"))
        .otherwise(pl.lit("")),
    )
    ref_row = found["ref_row"].fill_null(-1).to_numpy()
    ref = np.where((ref_row >= 0)[:, None], y[np.maximum(ref_row, 0)], np.nan)
    note = found["note"].to_numpy()
    factor = master.analogue_factor if master.analogue_factor.size == n else np.full(n, np.nan)
    got = borrow_history(y, ref, factor)
    used = got.borrowed > 0
    return got.values, AnalogueUse(
        item_id=np.where(used, declared, "").astype(str),
        factor=np.where(used, got.factor, np.nan),
        estimated=used & got.estimated,
        borrowed=got.borrowed,
        note=note.astype(str),
    )


def classify_demand(
    demand: Any,
    *,
    bucket: Bucket | str,
    by_item: bool = False,
    config: ClassificationConfig | None = None,
    unit_value: pl.DataFrame | None = None,
    items: pl.DataFrame | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """ABC / XYZ / demand pattern / lifecycle per item-location, or per item.

    Parameters
    ----------
    demand
        Long demand as for :class:`Forecaster`.
    bucket
        Planning bucket.
    by_item
        Classify each item across its locations (the rows of an item are summed first).
    config
        :class:`~stockpilot.core.classify.ClassificationConfig` (its ``version`` is
        reported in every row).
    unit_value
        Frame ``item_id, unit_cost`` giving the value of one unit (default 1).
    items
        Item master (``item_id`` and any of ``unit_cost, price, lifecycle_flag,
        obsolete``; see :func:`item_inputs`): unit cost when ``unit_value`` is not given,
        price for the ``margin`` criterion, and end-of-life flags for the lifecycle.

    Returns
    -------
    polars.DataFrame
        ``item_id`` (and ``location_id`` unless ``by_item``), ``abc, xyz, pattern,
        lifecycle, annual_value, abc_score, cumulative_share, cv, adi, cv2,
        n_observations, config_version``, and one column per weighted ABC criterion
        (``criterion_<name>``).
    """
    b = as_bucket(bucket)
    cfg = ClassificationConfig() if config is None else config
    panel, _ = _panel(demand, b, end)
    y = panel.values
    keys = panel.keys
    if by_item:
        labels, y = aggregate_rows(y, keys["item_id"].to_numpy().astype(str))
        keys = pl.DataFrame({"item_id": labels.astype(str)})
    master = item_inputs(items, keys)
    value = np.where(np.isnan(master.unit_cost), 1.0, master.unit_cost)
    if unit_value is not None:
        if not {"item_id", "unit_cost"} <= set(unit_value.columns):
            raise InvalidDataError(
                f"unit_value needs columns item_id, unit_cost; got {unit_value.columns}."
            )
        joined = keys.select("item_id").join(
            unit_value.select(pl.col("item_id").cast(pl.String), pl.col("unit_cost")),
            on="item_id",
            how="left",
            maintain_order="left",
        )
        value = joined["unit_cost"].cast(pl.Float64).fill_null(1.0).to_numpy()
    c = classify(
        y,
        config=cfg,
        periods_per_year=PERIODS_PER_YEAR[b],
        unit_value=value,
        unit_price=master.unit_price,
        end_of_life_flag=master.end_of_life_flag,
    )
    return keys.with_columns(
        _text("abc", c.abc.classes),
        _text("xyz", c.xyz.classes),
        _text("pattern", c.pattern.patterns),
        _text("lifecycle", c.lifecycle),
        pl.Series("annual_value", c.annual_value),
        pl.Series("abc_score", c.abc.score),
        pl.Series("cumulative_share", c.abc.cumulative_share),
        pl.Series("cv", c.xyz.cv),
        pl.Series("adi", c.pattern.adi),
        pl.Series("cv2", c.pattern.cv2),
        pl.Series("n_observations", c.history_length),
        pl.lit(c.config_version).alias("config_version"),
        *(
            pl.Series(f"criterion_{name}", c.criteria[name])
            for name in sorted(cfg.abc_criteria)
            if name in c.criteria
        ),
    )


_REVIEW_SCHEMA = {
    "item_id": pl.String,
    "location_id": pl.String,
    "rule": pl.String,
    "value": pl.Float64,
    "limit": pl.Float64,
    "reason": pl.String,
}


def _forecast_cells(forecasts: Any, bucket: Bucket, column: str) -> Panel | None:
    """The forecasts as a panel over their buckets, NaN where a series has no forecast
    (no row, or a null/NaN value); None when there are none. Two rows for one series and
    bucket are an error naming them (summing them would double the forecast)."""
    frame = _to_polars(forecasts, "review_queue forecasts")
    need = ["item_id", "location_id", "period_start", column]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise InvalidDataError(
            f"review_queue: forecasts need columns {need}; {missing} missing (got {frame.columns})."
        )
    if frame.height == 0:
        return None
    cells = frame.select(
        pl.col("item_id").cast(pl.String),
        pl.col("location_id").cast(pl.String),
        as_dates(frame["period_start"], "review_queue forecasts").alias("period"),
        pl.col(column).cast(pl.Float64).alias("quantity"),
    ).drop_nulls("period")
    if cells.height == 0:
        return None
    start: date = cells["period"].min()  # type: ignore[assignment]
    last = last_date(cells["period"])
    values = to_panel(cells, bucket=bucket, start=start, end=last)
    rows = to_panel(
        cells.with_columns(quantity=pl.lit(1.0)), bucket=bucket, start=start, end=last
    ).values
    twice = np.argwhere(rows > 1)
    if twice.size:
        shown = ", ".join(
            f"({values.keys['item_id'][int(i)]}, {values.keys['location_id'][int(i)]}, "
            f"{values.periods[int(j)]})"
            for i, j in twice[:5]
        )
        raise InvalidDataError(
            f"review_queue: {len(twice)} (item_id, location_id, period_start) forecast "
            f"key(s) have more than one row (in {bucket.value} buckets), e.g. {shown}; "
            "summing them would double the forecast. Give one forecast row per series and "
            "period."
        )
    return Panel(values.keys, values.periods, np.where(rows > 0, values.values, np.nan), bucket)


def review_queue(
    actuals: Any,
    forecasts: Any,
    *,
    bucket: Bucket | str,
    rules: ExceptionRules | None = None,
    forecast_column: str = "mean",
) -> pl.DataFrame:
    """Exception flags of the forecasts made for recent periods, one row per flag.

    Every series with a forecast is checked on the periods the actuals cover: a series
    without actual records in those periods sold nothing there (actual 0, which the
    ``error`` rule flags against a non-zero forecast); periods before the first or after
    the last actual record are not monitored. A period without a forecast for a series (no
    row, or a null/NaN value) is not forecast and does not count, like one without an
    actual in :func:`~stockpilot.core.forecast.exceptions.find_exceptions`.

    Parameters
    ----------
    actuals
        Long demand (``item_id, location_id, period`` or ``date``, ``quantity``; polars or
        pandas) covering the history and the monitored periods.
    forecasts
        Forecasts that were made for the monitored periods, in exchange format
        (``item_id, location_id, period_start`` and ``forecast_column``; polars or pandas;
        dates, date-times or YYYY-MM-DD text), one row per series and period.
    bucket
        Planning bucket.
    rules
        :class:`~stockpilot.core.forecast.exceptions.ExceptionRules`.

    Returns
    -------
    polars.DataFrame
        ``item_id, location_id, rule, value, limit, reason`` for every flag (empty when
        nothing is out of tolerance). A rule that cannot fire for lack of periods (see
        ``ExceptionReport.inactive_rules``) is named in a :class:`UserWarning`.

    Raises
    ------
    InvalidDataError
        When a column is missing, a date is unreadable, or a series has two forecast rows
        for one period (the message counts them and names the first).
    """
    b = as_bucket(bucket)
    panel, _ = _panel(actuals, b, None)
    fpanel = _forecast_cells(forecasts, b, forecast_column)
    if fpanel is None:
        return pl.DataFrame(schema=_REVIEW_SCHEMA)
    cols = np.searchsorted(panel.periods, fpanel.periods)
    inside = (cols < panel.n_periods) & (
        panel.periods[np.minimum(cols, panel.n_periods - 1)] == fpanel.periods
    )
    if not inside.any():
        return pl.DataFrame(schema=_REVIEW_SCHEMA)
    cols = cols[inside]
    a_rows = (
        fpanel.keys.join(
            panel.keys.with_row_index("_a"), on=["item_id", "location_id"], how="left"
        )["_a"]
        .fill_null(-1)
        .to_numpy()
    )
    known = a_rows >= 0
    history = np.full((fpanel.n_series, int(cols.max()) + 1), np.nan)
    history[known] = panel.values[a_rows[known], : history.shape[1]]
    # inside the periods the actuals cover, a series without a record sold nothing
    actual = np.nan_to_num(history[:, cols], nan=0.0)
    history[:, cols] = actual
    forecast_m = fpanel.values[:, inside]
    rep = find_exceptions(actual, forecast_m, history=history, rules=rules)
    for note in rep.notes:
        warnings.warn(f"review_queue: {note}", UserWarning, stacklevel=2)
    rows = [f.row for f in rep.flags]
    return fpanel.keys[rows].with_columns(
        pl.Series("rule", [f.rule.value for f in rep.flags], dtype=pl.String),
        pl.Series("value", [f.value for f in rep.flags], dtype=pl.Float64),
        pl.Series("limit", [f.limit for f in rep.flags], dtype=pl.Float64),
        pl.Series("reason", [f.reason for f in rep.flags], dtype=pl.String),
    )
