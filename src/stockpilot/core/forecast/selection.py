"""Method selection: candidates by lifecycle, pattern and history; winner by rolling origin.

The rule (documented in docs/forecasting.md, section "Selection rule"):

1. **No history / no demand.** A series without any observation forecasts 0; a series
   whose observed history holds no demand forecasts 0 with the ``moving_average`` method.
2. **Short history.** A series with fewer than ``min_train + eval_horizon`` observed
   periods cannot be tested out of sample: it gets the simple method of its pattern
   (``short_smooth`` or ``short_intermittent``) and says so.
3. **Candidates.** Otherwise the candidate set follows the Syntetos-Boylan pattern:
   ``intermittent_models`` for intermittent and lumpy series (Croston family, TSB, ADIDA,
   IMAPA), ``smooth_models`` for smooth and erratic ones; series at ``end_of_life`` use
   ``end_of_life_models`` (methods that decay or stay flat). Smooth and end-of-life groups
   include ``tsb_fixed`` (:class:`FixedModel`: TSB with the conventional constants 0.1).
   Members of ``growth_only_models`` (default none; e.g. damped Holt) are candidates of
   smooth series in the growth stage only, which then form groups of their own ("smooth
   growth"). Seasonal models
   (``seasonal_models``) join only when ``season_length > 1`` and every training window
   used holds at least two full seasons; where the origins together judge less than one
   season (``n_origins x eval_horizon < season_length``: 2 x 13 weeks of a 52-week year),
   the history before the earliest origin must also pass the M4 seasonality test at
   ``seasonality_level`` (:func:`~stockpilot.core.forecast.seasonality.seasonality_test`,
   3 seasons and a significant autocorrelation at lag m). Models not available in the
   registry are skipped.
4. **Rolling origin.** Each candidate runs on all series of its group in one call per
   origin. Origins are the ``n_origins`` forecast origins ``T - eval_horizon * k``,
   k = 1..n_origins; a series contributes an origin only when its training window there
   holds at least ``min_train`` observations. A candidate's parameters are estimated for a
   series at the earliest origin where it is scored and reused at the later origins,
   where only the filter runs (:func:`~stockpilot.core.forecast.registry.refilter`; never
   at earlier origins, so no forecast sees data after its origin). The score is the mean
   squared error (or the mean absolute error) over all its origins and horizon steps:
   out-of-sample only, never the in-sample fit.
5. **Winner.** The lowest score wins; a candidate must beat the earlier (simpler)
   candidates by more than ``tolerance`` (relative) to be preferred. In smooth groups an
   ``ensemble`` candidate (mean of the group's candidates, scored on the same origins)
   joins (intermittent groups: ``ensemble_intermittent``, off by default). In every group a
   series keeps its own winner only when it beats the group-best candidate (lowest mean
   scaled score over the group) by 30 % (``group_tolerance_smooth``,
   ``group_tolerance_intermittent``); otherwise the group-best wins. The winner is refitted
   on the full history. A series that keeps its own winner forecasts ``(1 - w)`` x its
   winner's forecast ``+ w`` x the group-best's (``group_shrinkage`` w = 0.3; none when the
   group tolerance is 0), and the spread is learned on the same blend at the origins.
6. **Spread** (``learn_spread``, default on). Measured choices and their figures are in
   docs/forecasting.md ("Learned spread" and after) and docs/benchmarks/forecast.md.

   a. *Base.* Quantiles of a tested series are normal with
      ``sd_path[j] = c * residual_sd * sqrt(1 + g * (j - 1))``. ``residual_sd`` is the
      winner's in-sample one-step residual sd on the full history, its squared errors
      weighted by recency with a half-life of ``spread_half_life`` (2) evaluation horizons
      (:func:`~stockpilot.core.forecast.base.weighted_residual_sd`; ``None``: unweighted).
      A fit without one-step errors (ADIDA with a single bucket) takes the sd of the
      history around its flat forecast.
   b. *Choice of (c, g).* Per demand pattern with at least ``spread_pattern_min`` (100)
      tested series of a candidate group, and per group for the rest, (c, g) on the grids
      ``SPREAD_GRID`` x ``GROWTH_GRID`` minimises, **per level** of ``SPREAD_LEVELS`` (0.9
      and 0.95), the mean scaled pinball loss at that level. Other levels interpolate the
      multiplier in z between the learned ones, or take the nearest
      (``SelectionResult.sd_paths``). At most ``SPREAD_SAMPLE`` (5,000) series are scored,
      picked by their data, not their position.
   c. *Origins scored.* The rolling origins, and the **annual origin**: one year
      (``periods_per_year``) before the forecast origin, the same season last year, unless
      a rolling origin is already there (``annual_spread_origin``). There only each series'
      winner and partner are fitted, on the two years before it with the grid search
      alone; the method choice never sees it. Each origin uses the winner's forecast and
      residual sd fitted before it (out of sample), scored against the actuals with
      outliers capped as in rule 7 (a one-off spike in an origin window must not set the
      width of every period; the residual sd still holds it).
   d. *Whole units.* A series counted in whole units (every observed value a whole
      number) is issued quantiles rounded up to the next whole unit
      (:func:`~stockpilot.core.forecast.quantiles.period_quantiles`), and its (c, g) is
      scored on those rounded quantiles.
   e. *Count families.* In intermittent groups the count family of each pattern (Poisson /
      negative binomial with the same mean and residual variance) is scored too, per
      level. At the levels where it is lower, those series keep the pattern's family with
      the residual sd it was scored with (``level_distribution``, ``count_sd``), e.g. the
      negative binomial's 0.9 quantile of 0 for a rare demand beside a learned normal at
      0.95.
   f. *End of life.* End-of-life groups are not learned (their origins lie in the final run
      of zeros, which cannot tell whether demand resumes): normal with the (c, g) learned
      for the most series of the other groups of the call (c = 1, g = 0 if none); a zero
      forecast keeps that spread (censored normal). An end-of-life series that sold
      regularly (demand in at least ``end_of_life_regular_share`` (0.5) of the periods from
      its first observation to its last demand; ``None`` turns this off) stopped in a way
      unlike its history, e.g. a stock-out: if demand resumes it comes at the size it had,
      so the base of its spread is the root mean square of that active demand
      (recency-weighted from the last demand,
      :func:`~stockpilot.core.forecast.spread.active_demand`) where it is larger than the
      residual sd.
   g. *Not learned* (or ``learn_spread=False``): ``sd`` is the root mean square of the
      winner's rolling-origin RMSE and its in-sample residual sd, ``sd_path`` scales it by
      the group's horizon profile, and the family follows the demand pattern.
      ``distribution`` records ``"normal"`` where learned, ``""`` elsewhere.
7. **Outlier correction** (``outlier_k``, default 3; ``None`` turns it off). The models
   estimate their level on the history with each series' values above
   ``median + k * max(1.4826 MAD, median / 2)`` of its positive values capped at that limit
   (:func:`~stockpilot.core.forecast.outliers.cap_outliers`); at each rolling origin the
   limit comes from the training window before it. Rolling-origin errors and residual sds
   are measured on the actual history: a spike must not move the level, but it is demand
   the quantiles must cover (only the choice of (c, g), rule 6, scores capped actuals). ``outliers_capped`` counts the periods
   corrected per series, and the reason says so.
8. **Group seasonal index** (``group_season``, default on; season_length > 1). Items
   with too little history for a season of their own often share their group's: one
   multiplicative index per phase is pooled over the series of each ``season_groups``
   label (e.g. the item category; all series of the call when ``None``)
   (:mod:`~stockpilot.core.forecast.group_season`: each series divided by its mean,
   ratios to the centred moving average of one season, averaged per phase; smoothed over
   ``group_season_smoothing`` neighbouring phases, by default one week on each side for
   weekly buckets), for groups of at least ``group_season_min_series`` (10) series with
   demand. It applies only when it forecasts better out of sample: at the
   rolling origins, ``tsb_fixed`` on the history divided by the index estimated before the
   earliest origin must cut the group's summed squared scaled error by at least
   ``group_season_min_gain`` (10 %) against ``tsb_fixed`` on the history as it is. Then
   rules 1-7 run on the adjusted history: the rolling and annual origins see the history
   divided by the index of the test (known before the earliest origin), the winners are
   refitted on the history divided by the index re-estimated on the full history, and
   their means and spreads are multiplied by that index in the forecast periods
   (``season_factor``); each reason says so, with the gain.

Each series records its winner and a short reason, e.g.
``"tsb: lowest rolling-origin MSE 0.412 over 3 origins x 6 steps among 7 intermittent
candidates (runner-up sba 0.430)"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.classify import demand_pattern, lifecycle_stage
from stockpilot.core.forecast.base import (
    ForecastModel,
    PanelForecast,
    deferred_residual_sd,
    finite_checked,
    nonnegative,
    observation_count,
    residual_sd,
    validate_panel,
    weighted_residual_sd,
)
from stockpilot.core.forecast.group_season import (
    GROUP_SEASON_MIN_GAIN,
    GROUP_SEASON_MIN_SERIES,
    GroupSeason,
    group_season,
)
from stockpilot.core.forecast.metrics import difference_scales
from stockpilot.core.forecast.models._optim import limited_search, without_polish
from stockpilot.core.forecast.origin_errors import OriginErrors
from stockpilot.core.forecast.outliers import cap_outliers
from stockpilot.core.forecast.quantiles import distribution_for_pattern, whole_unit_series
from stockpilot.core.forecast.registry import available_models, fit_predict, refilter
from stockpilot.core.forecast.seasonality import seasonality_test
from stockpilot.core.forecast.spread import (
    SPREAD_LEVELS,
    LevelSpread,
    OriginRecord,
    active_demand,
    largest_spread,
    learn_spread,
    level_weights,
    spread_units,
)
from stockpilot.errors import InvalidDataError, StockpilotError, choice_error, parameter_error
from stockpilot.vocab import DemandPattern, LifecycleStage

FloatArray = NDArray[np.float64]

__all__ = [
    "Candidate",
    "Criterion",
    "FixedModel",
    "SeasonGroupResult",
    "SelectionConfig",
    "SelectionResult",
    "select_and_forecast",
]


class Criterion(StrEnum):
    MSE = "mse"
    MAE = "mae"


class FixedModel(StrEnum):
    """Candidates that run a registry model with fixed, conventional constants.

    ``tsb_fixed``: TSB with alpha_d = alpha_p = ``TSB_FIXED_ALPHA`` (0.1, the conventional
    constant of the Croston family; statsforecast's ``TSB(0.1, 0.1)``). Optimising the two
    constants per series by one-step in-sample error chases recent noise and level spikes;
    over a horizon of 6-13 periods the slow fixed constants are often the better forecast.
    """

    TSB_FIXED = "tsb_fixed"


TSB_FIXED_ALPHA = 0.1

Candidate = ForecastModel | FixedModel
M = ForecastModel


@dataclass(frozen=True)
class SelectionConfig:
    """Options of the selection rule (see the module docstring)."""

    n_origins: int = 2
    eval_horizon: int | None = None
    min_train: int = 8
    criterion: Criterion = Criterion.MSE
    tolerance: float = 0.0
    group_tolerance_smooth: float = 0.3
    group_tolerance_intermittent: float = 0.3
    group_shrinkage: float = 0.3
    ensemble_smooth: bool = True
    ensemble_intermittent: bool = False
    learn_spread: bool = True
    spread_pattern_min: int = 100
    outlier_k: float | None = 3.0
    spread_half_life: float | None = 2.0
    end_of_life_regular_share: float | None = 0.5
    annual_spread_origin: bool = True
    seasonality_level: float | None = 0.9
    group_season: bool = True
    group_season_min_gain: float = GROUP_SEASON_MIN_GAIN
    group_season_min_series: int = GROUP_SEASON_MIN_SERIES
    max_history: int | None = None
    group_season_smoothing: int | None = None
    smooth_models: tuple[Candidate, ...] = (
        M.MOVING_AVERAGE,
        M.SES,
        M.DAMPED_HOLT,
        M.TSB,
        FixedModel.TSB_FIXED,
    )
    intermittent_models: tuple[Candidate, ...] = (
        M.MOVING_AVERAGE,
        M.SES,
        M.SBA,
        M.TSB,
        M.ADIDA,
    )
    end_of_life_models: tuple[Candidate, ...] = (
        M.MOVING_AVERAGE,
        M.SES,
        M.TSB,
        FixedModel.TSB_FIXED,
    )
    growth_only_models: tuple[Candidate, ...] = ()
    seasonal_models: tuple[Candidate, ...] = (
        M.SEASONAL_NAIVE,
        M.HOLT_WINTERS_ADDITIVE,
        M.HOLT_WINTERS_MULTIPLICATIVE,
    )
    short_smooth: tuple[Candidate, ...] = (M.SES, M.MOVING_AVERAGE, M.NAIVE)
    short_intermittent: tuple[Candidate, ...] = (M.TSB, M.MOVING_AVERAGE, M.NAIVE)

    def __post_init__(self) -> None:
        owner = "SelectionConfig"
        if self.n_origins < 1:
            raise parameter_error(owner, "n_origins", "an integer >= 1", self.n_origins)
        if self.eval_horizon is not None and self.eval_horizon < 1:
            raise parameter_error(
                owner, "eval_horizon", "an integer >= 1 or None", self.eval_horizon
            )
        if self.min_train < 2:
            raise parameter_error(owner, "min_train", "an integer >= 2", self.min_train)
        for name in ("group_tolerance_smooth", "group_tolerance_intermittent", "group_shrinkage"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise parameter_error(owner, name, "a float in [0, 1)", getattr(self, name))
        if self.spread_pattern_min < 0:
            raise parameter_error(
                owner, "spread_pattern_min", "an integer >= 0", self.spread_pattern_min
            )
        share = self.end_of_life_regular_share
        if share is not None and not 0.0 < share <= 1.0:
            raise parameter_error(
                owner, "end_of_life_regular_share", "a float in (0, 1] or None", share
            )
        if self.tolerance < 0:
            raise parameter_error(owner, "tolerance", "a float >= 0", self.tolerance)
        if not 0.0 <= self.group_season_min_gain < 1.0:
            raise parameter_error(
                owner, "group_season_min_gain", "a float in [0, 1)", self.group_season_min_gain
            )
        if isinstance(self.group_season_min_series, bool) or self.group_season_min_series < 1:
            raise parameter_error(
                owner, "group_season_min_series", "an integer >= 1", self.group_season_min_series
            )
        history = self.max_history
        if history is not None and (isinstance(history, bool) or history < self.min_train):
            raise parameter_error(
                owner, "max_history", f"an integer >= min_train ({self.min_train}) or None", history
            )
        smoothing = self.group_season_smoothing
        if smoothing is not None and (isinstance(smoothing, bool) or int(smoothing) < 0):
            raise parameter_error(
                owner, "group_season_smoothing", "an integer >= 0 or None", smoothing
            )
        level = self.seasonality_level
        if level is not None and not 0.0 < level < 1.0:
            raise parameter_error(owner, "seasonality_level", "a float in (0, 1) or None", level)
        for name in ("outlier_k", "spread_half_life"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise parameter_error(owner, name, "a positive number or None", value)
        try:
            Criterion(self.criterion)
        except ValueError:
            raise choice_error(
                owner, "criterion", self.criterion, [c.value for c in Criterion]
            ) from None


@dataclass(frozen=True)
class SeasonGroupResult:
    """Rule 8 for one group of series: its label, size and test (with the index where
    it applies)."""

    label: str
    series: int
    season: GroupSeason


@dataclass(frozen=True)
class SelectionResult:
    """Per-series outcome of selection (arrays in input row order).

    Attributes
    ----------
    model
        (N,) winning model (value of :class:`ForecastModel`).
    reason
        (N,) why it won.
    mean
        (N, h) forecasts of the winner refitted on the full history, clipped at 0.
    sd
        (N,) spread for quantiles: root mean square of ``oos_sd`` and ``residual_sd``.
    oos_sd
        (N,) root mean squared rolling-origin error of the winner (NaN if untested).
    oos_bias
        (N,) mean out-of-sample error forecast minus actual of the winner (NaN if untested).
    n_origins_used
        (N,) origins that scored the series (0: not tested out of sample).
    pattern, lifecycle
        (N,) classes used to pick the candidates.
    candidates
        Every model scored for some series, the columns of ``scores``.
    scores
        (N, C) rolling-origin score per candidate (NaN: not a candidate of that series).
    failed
        (N,) True where the winner's kernel flagged a fallback on the full history.
    horizon_profile
        (N, h) relative error growth over the horizon of the series' group: the root mean
        scaled squared rolling-origin error of the winners at each step, normalised to a
        mean square of 1 over the steps (1 for untested series; the last step's value
        beyond the evaluation horizon). ``sd_path`` = ``sd`` x profile. Where the spread
        was learned (rule 6): ``c x sqrt(1 + g j)`` of the highest learned level divided
        by its first step (``sd`` holds the first step).
    level_scale
        (N, h, L) multiplier of each learned level (``spread_levels``) relative to
        ``sd_path`` (1 where no spread was learned); :meth:`sd_paths` gives the spread of
        any level.
    spread_levels
        (L,) levels whose (c, g) the spread learning chose (:data:`SPREAD_LEVELS`).
    level_distribution
        (N, L) ``"normal"`` where the learned normal spread applies at the level, ``""``
        where the series keeps its pattern's family with ``count_sd`` there
        (:meth:`level_families`).
    count_sd
        (N,) the sd of the pattern's family: where a spread was learned, the residual sd
        the count family was scored with (at its levels, flat over the horizon); ``sd``
        (the default spread) where nothing was learned.
    residual_sd
        (N,) in-sample one-step residual sd of the winner on the full history.
    distribution
        (N,) distribution family learned for the series' group (``"normal"``), or ``""``
        where none was learned (then the family follows the demand pattern).
    outliers_capped
        (N,) periods of the full history capped for the level estimate (rule 7).
    seasonal
        (N,) True where the series was tested among the seasonal candidates (rule 3: two
        seasons at the earliest origin and, where the origins judge less than a season,
        the seasonality test passed).
    season_factor
        (N, h) group seasonal index of each forecast period (rule 8) that ``mean``, ``sd``
        and ``horizon_profile`` include; ones where no index was applied. Where one was,
        the rolling-origin figures (``oos_sd``, ``oos_bias``, ``scores``) and
        ``residual_sd`` are those of the seasonally adjusted history.
    season_groups
        The test of rule 8 for each group of series, applied or not (empty when the rule
        is off or the panel has no season).
    """

    model: NDArray[np.str_]
    reason: NDArray[np.str_]
    mean: FloatArray
    sd: FloatArray
    oos_sd: FloatArray
    oos_bias: FloatArray
    n_origins_used: NDArray[np.int64]
    pattern: NDArray[np.str_]
    lifecycle: NDArray[np.str_]
    candidates: tuple[str, ...]
    scores: FloatArray
    failed: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    horizon_profile: FloatArray = field(default_factory=lambda: np.ones((0, 0)))
    level_scale: FloatArray = field(default_factory=lambda: np.ones((0, 0, 0)))
    spread_levels: tuple[float, ...] = SPREAD_LEVELS
    level_distribution: NDArray[np.str_] = field(
        default_factory=lambda: np.zeros((0, 0), dtype="<U20")
    )
    count_sd: FloatArray = field(default_factory=lambda: np.zeros(0))
    residual_sd: FloatArray = field(default_factory=lambda: np.zeros(0))
    distribution: NDArray[np.str_] = field(default_factory=lambda: np.zeros(0, dtype="<U20"))
    outliers_capped: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    seasonal: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    season_factor: FloatArray = field(default_factory=lambda: np.ones((0, 0)))
    season_groups: tuple[SeasonGroupResult, ...] = ()

    @property
    def sd_path(self) -> FloatArray:
        """(N, h) spread per horizon step: ``sd`` times the group's horizon profile (for a
        learned spread, that of the highest learned level)."""
        if self.horizon_profile.shape != self.mean.shape:
            return np.repeat(self.sd[:, None], self.mean.shape[1], axis=1)
        return self.sd[:, None] * self.horizon_profile

    def sd_paths(self, levels: ArrayLike) -> FloatArray:
        """(N, h, K) spread per horizon step for each of the ``levels``: ``sd_path`` times
        the learned ratio of the level's multiplier (rule 6), interpolated in z between the
        learned levels and the nearest one outside them (1 where no spread was learned)."""
        base = self.sd_path
        lv = np.asarray(levels, dtype=np.float64).reshape(-1)
        if self.level_scale.shape[:2] != base.shape:
            return np.repeat(base[:, :, None], lv.size, axis=2)
        weights = level_weights(self.spread_levels, lv)  # (K, L)
        ratio = self.level_scale @ weights.T  # (N, h, K)
        fam = self.level_distribution
        if fam.shape == (base.shape[0], len(self.spread_levels)):
            # a normal and a count level are not interpolated: the nearer one applies
            mixed = (fam != fam[:, :1]).any(axis=1)
            if mixed.any():
                nearest = np.eye(len(self.spread_levels))[weights.argmax(axis=1)]
                ratio[mixed] = self.level_scale[mixed] @ nearest.T
        return base[:, :, None] * ratio

    def pattern_families(self, *, lumpy_empirical: bool = False) -> NDArray[np.str_]:
        """(N,) family of each series' demand pattern
        (:func:`~stockpilot.core.forecast.quantiles.distribution_for_pattern`, with the
        default spread ``count_sd``)."""
        sd = self.count_sd if self.count_sd.shape == self.sd.shape else self.sd
        return distribution_for_pattern(
            self.pattern, self.mean[:, 0], sd**2, lumpy_empirical=lumpy_empirical
        )

    def families(self, *, lumpy_empirical: bool = False) -> NDArray[np.str_]:
        """(N,) family per series: ``"normal"`` where a spread was learned, else the
        pattern's (:meth:`pattern_families`)."""
        own = self.pattern_families(lumpy_empirical=lumpy_empirical)
        return np.where(self.distribution != "", self.distribution, own)

    def level_families(
        self, levels: ArrayLike, *, lumpy_empirical: bool = False
    ) -> NDArray[np.str_]:
        """(N, K) family of each series at each of the ``levels``: ``"normal"`` where the
        spread was learned at the nearest learned level, else the pattern's
        (:meth:`pattern_families`); for :func:`~stockpilot.core.forecast.quantiles.period_quantiles`
        with :meth:`sd_paths`."""
        lv = np.asarray(levels, dtype=np.float64).reshape(-1)
        own = self.pattern_families(lumpy_empirical=lumpy_empirical)
        fam = self.level_distribution
        if fam.shape != (own.size, len(self.spread_levels)):
            mixed = np.where(self.distribution != "", self.distribution, own)
            return np.repeat(mixed[:, None], lv.size, axis=1)
        nearest = level_weights(self.spread_levels, lv).argmax(axis=1)
        return np.where(fam[:, nearest] == "normal", "normal", own[:, None])


def _first_available(models: Sequence[Candidate], avail: set[Candidate]) -> Candidate:
    for m in models:
        if m in avail:
            return m
    return M.NAIVE


def _available() -> set[Candidate]:
    """Registry models plus the fixed-constant variants of the available ones."""
    avail: set[Candidate] = set(available_models())
    if M.TSB in avail:
        avail.add(FixedModel.TSB_FIXED)
    return avail


def _candidate(name: str) -> Candidate:
    return FixedModel(name) if name in FixedModel.__members__.values() else M(name)


def _safe_fit(
    model: Candidate,
    y: FloatArray,
    h: int,
    season_length: int,
    warm_start: dict[str, FloatArray] | None = None,
    *,
    actual: FloatArray | None = None,
    half_life: float | None = None,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None:
    """Fit one model on rows (from ``warm_start``, earlier parameters of the rows, where the
    model can); ``None`` when the kernel rejects the whole call. ``actual``: the history
    before outlier correction, which the residual sd is measured against; ``half_life``:
    recency weighting of that sd (periods; :func:`_spread`)."""
    try:
        if model == FixedModel.TSB_FIXED:
            from stockpilot.core.forecast.models.intermittent import tsb_forecast

            pf = tsb_forecast(y, h, alpha_d=TSB_FIXED_ALPHA, alpha_p=TSB_FIXED_ALPHA)
        else:
            pf = fit_predict(model, y, h, season_length=season_length, warm_start=warm_start)
    except StockpilotError:
        return None
    failed = pf.failed if pf.failed.size == y.shape[0] else np.zeros(y.shape[0], dtype=bool)
    spread = _spread(pf, y, actual, half_life)
    return nonnegative(pf.mean), spread, failed


def _spread(
    pf: PanelForecast, y: FloatArray, actual: FloatArray | None, half_life: float | None
) -> FloatArray:
    """Residual sd of a fit on ``y``: against ``actual`` (the history before outlier
    correction) when given, else ``y``, recency-weighted with ``half_life`` periods when
    given (selection rules 6-7); the kernel's own when neither applies.

    A fit without in-sample one-step errors (ADIDA on a series whose mean interval leaves
    fewer than two buckets) would have no sd, so no learned spread, and would fall back to
    the count law of its pattern, whose upper quantiles are 0 for a series with a rare
    demand. It gets the sd of the history around its flat forecast (its first step) instead,
    weighted in the same way: the spread of a method that predicts a constant level.
    """
    target = y if actual is None else actual  # the same missing values as y
    if pf.fitted.shape != target.shape:
        return pf.residual_sd
    # computed here from the fitted values: the kernels' own residual sd is deferred
    # (base.deferred_residual_sd) in the selection
    sd = (
        residual_sd(target, pf.fitted)
        if half_life is None
        else weighted_residual_sd(target, pf.fitted, half_life)
    )
    gap = np.isnan(sd) & np.isfinite(pf.mean[:, 0])
    if gap.any():
        flat = np.ascontiguousarray(np.broadcast_to(pf.mean[gap, :1], target[gap].shape))
        sd[gap] = (
            residual_sd(target[gap], flat)
            if half_life is None
            else weighted_residual_sd(target[gap], flat, half_life)
        )
    return sd


#: Compass iterations of the estimation at a rolling origin (the full fit uses 4-6): the
#: origin's parameters only score the candidate and seed the winner's warm-started refit,
#: which searches further on the full history. 2 and 4 gave the same RMSSE and SPL (within
#: 0.001) on the six benchmark data sets, 0 (grid only) did not; 1 (2026-11-25) the same
#: again on both validation windows (RMSSE within 0.0006, SPL within 0.0003, carparts
#: 0.6790 -> 0.6784 and 0.7640 -> 0.7635) at 5-8 % less CPU on M5 CA_1.
ORIGIN_SEARCH_ITERATIONS = 1


def _fit_origin(
    model: Candidate,
    y: FloatArray,
    h: int,
    season_length: int,
    params: dict[str, FloatArray],
    *,
    actual: FloatArray | None = None,
    half_life: float | None = None,
    iterations: int = ORIGIN_SEARCH_ITERATIONS,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_], dict[str, FloatArray]] | None:
    """One candidate at one rolling origin. Rows with parameters from an earlier origin
    (``params``, NaN where none) rerun the model's filter with them (no estimation); the
    other rows are fitted with ``iterations`` compass iterations. Returns
    the clipped forecasts, residual sd, fallback flags and the parameters per row (NaN
    where a fallback was used); ``None`` when the kernel rejects the whole call. Fixed
    models (``tsb_fixed``) estimate nothing: they just run. ``actual`` as in
    :func:`_safe_fit`."""
    if isinstance(model, FixedModel):
        fixed = _safe_fit(model, y, h, season_length, actual=actual, half_life=half_life)
        return None if fixed is None else (*fixed, {})
    n = y.shape[0]
    try:
        pf = None
        if any(np.isfinite(v).any() for v in params.values()):
            pf = refilter(model, y, h, params, season_length=season_length)
        if pf is None:
            with limited_search(iterations):
                pf = fit_predict(model, y, h, season_length=season_length)
            sd = _spread(pf, y, actual, half_life)
            mean, failed, par = pf.mean, _flags(pf, n), dict(pf.params)
        else:
            sd = _spread(pf, y, actual, half_life).copy()
            mean, failed = pf.mean.copy(), _flags(pf, n)
            par = {k: np.asarray(v, dtype=np.float64).copy() for k, v in pf.params.items()}
            fresh = ~np.isfinite(mean).all(axis=1)
            if fresh.any():
                with limited_search(iterations):
                    part = fit_predict(model, y[fresh], h, season_length=season_length)
                mean[fresh] = part.mean
                sd[fresh] = _spread(
                    part, y[fresh], None if actual is None else actual[fresh], half_life
                )
                failed[fresh] = _flags(part, int(fresh.sum()))
                for k, v in part.params.items():
                    par.setdefault(k, np.full(n, np.nan))[fresh] = v
    except StockpilotError:
        return None
    par = {k: np.where(failed, np.nan, v) for k, v in par.items()}
    return nonnegative(mean), sd, failed, par


def _flags(pf: PanelForecast, n: int) -> NDArray[np.bool_]:
    """Fallback flags of a kernel result (all False when the kernel reports none)."""
    return pf.failed.copy() if pf.failed.size == n else np.zeros(n, dtype=bool)


def select_and_forecast(
    y: ArrayLike,
    h: int,
    *,
    season_length: int = 1,
    periods_per_year: int | None = None,
    config: SelectionConfig | None = None,
    patterns: ArrayLike | None = None,
    lifecycle: ArrayLike | None = None,
    season_groups: ArrayLike | None = None,
) -> SelectionResult:
    """Choose a method per series by rolling-origin error and forecast ``h`` periods.

    Parameters
    ----------
    y
        (N, T) demand, NaN before each series' first observation.
    h
        Forecast horizon in periods.
    season_length
        Periods per season m (12 monthly, 52 weekly; 1 = no seasonal candidates).
    periods_per_year
        Periods in a year (12 monthly, 52 weekly, 364 daily), for the annual origin of
        the spread (rule 6); ``None``: ``season_length`` where it is above 1, else no
        annual origin.
    config
        :class:`SelectionConfig`.
    patterns, lifecycle
        (N,) demand patterns and lifecycle stages; computed with
        :func:`stockpilot.core.classify.demand_pattern` / ``lifecycle_stage`` when omitted.
    season_groups
        (N,) labels of the groups that share a seasonal index (rule 8), e.g. the item
        category; ``None``: all series form one group.

    Examples
    --------
    >>> r = select_and_forecast(np.full((2, 30), 4.0), 3)
    >>> r.mean.tolist()
    [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    """
    # the grid + compass optimum of each fit, without the simplex polish: thousands of
    # series are fitted several times here (docs/forecasting-models.md, "Optimizer")
    # the panel is checked once here; its parts go to many kernel calls
    arr = validate_panel(y, h, season_length, owner="select_and_forecast")
    with without_polish(), deferred_residual_sd(), finite_checked():
        return _select_and_forecast(
            arr,
            h,
            season_length=season_length,
            periods_per_year=periods_per_year,
            config=config,
            patterns=patterns,
            lifecycle=lifecycle,
            season_groups=season_groups,
        )


def _select_and_forecast(
    arr: FloatArray,
    h: int,
    *,
    season_length: int,
    periods_per_year: int | None,
    config: SelectionConfig | None,
    patterns: ArrayLike | None,
    lifecycle: ArrayLike | None,
    season_groups: ArrayLike | None = None,
) -> SelectionResult:
    """:func:`select_and_forecast` of a panel ``arr`` that ``validate_panel`` checked
    (its shape, ``h`` and ``season_length`` included)."""
    cfg = SelectionConfig() if config is None else config
    if periods_per_year is not None and (
        isinstance(periods_per_year, bool) or int(periods_per_year) < 1
    ):
        raise parameter_error(
            "select_and_forecast", "periods_per_year", "an integer >= 1 or None", periods_per_year
        )
    n, t = arr.shape
    pat = (
        demand_pattern(arr).patterns
        if patterns is None
        else np.asarray(patterns).astype(str).reshape(-1)
    )
    life = (
        lifecycle_stage(arr) if lifecycle is None else np.asarray(lifecycle).astype(str).reshape(-1)
    )
    if pat.size != n or life.size != n:
        raise InvalidDataError(
            f"select_and_forecast: {pat.size} patterns / {life.size} stages for {n} series."
        )
    for name, values, vocabulary in (
        ("patterns", pat, DemandPattern),
        ("lifecycle", life, LifecycleStage),
    ):
        unknown = sorted(set(values.tolist()) - {v.value for v in vocabulary})
        if unknown:
            raise choice_error(
                "select_and_forecast", name, unknown[0], [v.value for v in vocabulary]
            )
    if cfg.max_history is not None and t > cfg.max_history:
        # classes above are of the whole history; the fits see its most recent part
        arr = np.ascontiguousarray(arr[:, t - cfg.max_history :])
        t = cfg.max_history
    groups = None if season_groups is None else np.asarray(season_groups).astype(str).reshape(-1)
    if groups is not None and groups.size != n:
        raise InvalidDataError(
            f"select_and_forecast: {groups.size} season groups for {n} series; give one "
            "label per series."
        )
    avail = _available()
    eval_h = int(cfg.eval_horizon or h)
    n_obs = observation_count(arr)
    first = t - n_obs  # leading NaNs only (kernels treat inner NaNs as missing)
    needed = cfg.min_train + eval_h

    intermittent = np.isin(pat, [DemandPattern.INTERMITTENT.value, DemandPattern.LUMPY.value])
    eol = life == LifecycleStage.END_OF_LIFE.value
    no_demand = (pat == DemandPattern.NO_DEMAND.value) | (np.nansum(arr, axis=1) <= 0)
    empty = n_obs == 0
    short = (n_obs < needed) & ~empty & ~no_demand

    # Origins shared by all series: train on [:, :end], score on [:, end:end + eval_h].
    origin_ends = [t - eval_h * k for k in range(1, cfg.n_origins + 1) if t - eval_h * k >= 2]
    annual_end = _annual_origin(t, origin_ends, season_length, periods_per_year, cfg)
    # rule 8: a season shared by the group is taken out of the history before any fit
    season = _group_seasons(arr, origin_ends, eval_h, h, season_length, cfg, groups)
    origin_arr = arr
    if season.history is not None and season.origin_history is not None:
        # the origins see the index estimated before the earliest of them; the final fit
        # the index of the whole history
        origin_arr = arr / season.origin_history
        arr = arr / season.history
    seasonal_ok = np.zeros(n, dtype=bool)
    if season_length > 1 and origin_ends:
        earliest = min(origin_ends)
        seasonal_ok = (earliest - first) >= 2 * season_length
        if cfg.seasonality_level is not None and len(origin_ends) * eval_h < season_length:
            # the origins cannot judge a whole season: the history must show one (rule 3);
            # only smooth groups take seasonal candidates
            asked = seasonal_ok & ~intermittent & ~eol
            seasonal_ok = asked.copy()
            seasonal_ok[asked] = seasonality_test(
                origin_arr[asked, :earliest], season_length, level=cfg.seasonality_level
            )

    model_out = np.full(n, M.NAIVE.value, dtype="<U32")
    reason_out = np.full(n, "", dtype=object)
    mean_out = np.zeros((n, h))
    sd_out = np.full(n, np.nan)
    profile_out = np.ones((n, h))
    level_out = np.ones((n, h, len(SPREAD_LEVELS)))
    level_family_out = np.full((n, len(SPREAD_LEVELS)), "", dtype="<U20")
    resid_out = np.full(n, np.nan)
    bias_out = np.full(n, np.nan)
    used_out = np.zeros(n, dtype=np.int64)
    failed_out = np.zeros(n, dtype=bool)
    dist_out = np.full(n, "", dtype="<U20")

    # ---- groups by candidate set
    group_key = np.full(n, "", dtype=object)
    seasonal_out = np.zeros(n, dtype=bool)
    sets: dict[str, tuple[Candidate, ...]] = {}
    growth = life == LifecycleStage.GROWTH.value
    plan = [
        ("end-of-life", cfg.end_of_life_models, eol),
        ("intermittent", cfg.intermittent_models, intermittent & ~eol),
        ("smooth", cfg.smooth_models, ~intermittent & ~eol),
    ]
    steady = tuple(m for m in cfg.smooth_models if m not in cfg.growth_only_models)
    if len(steady) < len(cfg.smooth_models):
        # trend models are candidates of growing series only: they form groups of their own
        plan[2] = ("smooth", steady, ~intermittent & ~eol & ~growth)
        plan.append(("smooth growth", cfg.smooth_models, ~intermittent & ~eol & growth))
    for label, base, extra_mask in plan:
        for seasonal in (False, True) if label.startswith("smooth") else (None,):
            rows = extra_mask & ~short & ~empty & ~no_demand
            if seasonal is not None:
                rows &= seasonal_ok == seasonal
            if not rows.any():
                continue
            models = tuple(m for m in base if m in avail)
            if seasonal:
                models += tuple(m for m in cfg.seasonal_models if m in avail and m not in models)
            key = f"{label}{' seasonal' if seasonal else ''}"
            if not models:
                models = (_first_available((M.MOVING_AVERAGE, M.NAIVE), avail),)
            sets[key] = models
            group_key[rows] = key
            if seasonal:
                seasonal_out |= rows

    all_candidates: list[str] = []
    for key, models in sets.items():
        use_ens = _group_options(key, cfg)[0] and len(models) > 1
        names = [m.value for m in models] + ([ENSEMBLE] if use_ens else [])
        for name in names:
            if name not in all_candidates:
                all_candidates.append(name)
    scores = np.full((n, len(all_candidates)), np.nan)
    # rule 7: models estimate their level on the history with outliers capped; errors and
    # residual spreads are measured on the actual history
    capped_out = np.zeros(n, dtype=np.int64)
    fit_arr = arr
    limit_out = np.full(n, np.inf)
    origin_fit: dict[int, FloatArray] = {}
    origin_capped = origin_arr
    if cfg.outlier_k is not None:
        capped = cap_outliers(arr, cfg.outlier_k)
        fit_arr, capped_out, limit_out = capped.values, capped.capped, capped.limit
        origin_capped = (
            fit_arr if origin_arr is arr else cap_outliers(origin_arr, cfg.outlier_k).values
        )
        # at each origin, the limits of the window before it: nothing after the origin
        origin_fit = {
            end: cap_outliers(origin_arr[:, :end], cfg.outlier_k).values
            for end in [*origin_ends, *([] if annual_end is None else [annual_end])]
        }

    # end-of-life groups last: they borrow the spread learned on the other groups
    learned_spreads: list[tuple[LevelSpread, int]] = []
    for key, models in sorted(sets.items(), key=lambda kv: kv[0].startswith("end-of-life")):
        rows = np.flatnonzero(group_key == key)
        learned_spread = _select_group(
            key=key,
            models=models,
            rows=rows,
            arr=arr,
            fit_arr=fit_arr,
            origin_arr=origin_arr,
            origin_capped=origin_capped,
            origin_fit=origin_fit,
            first=first,
            origin_ends=origin_ends,
            annual_end=annual_end,
            h=h,
            eval_h=eval_h,
            season_length=season_length,
            cfg=cfg,
            avail=avail,
            all_candidates=all_candidates,
            out=_Out(
                model_out,
                reason_out,
                mean_out,
                sd_out,
                bias_out,
                used_out,
                failed_out,
                scores,
                profile_out,
                level_out,
                level_family_out,
                resid_out,
                dist_out,
            ),
            pattern=pat[rows],
            borrowed=largest_spread(learned_spreads),
        )
        if learned_spread is not None:
            learned_spreads.append(learned_spread)

    # ---- short, empty and no-demand series
    for label, mask, choices in (
        ("short intermittent", short & intermittent, cfg.short_intermittent),
        ("short smooth", short & ~intermittent, cfg.short_smooth),
    ):
        if not mask.any():
            continue
        chosen = _first_available(choices, avail)
        raw = arr[mask] if cfg.outlier_k is not None else None
        hl = _half_life(cfg, eval_h)
        fit = _safe_fit(chosen, fit_arr[mask], h, season_length, actual=raw, half_life=hl)
        if fit is None:
            chosen = _first_available((M.MOVING_AVERAGE, M.NAIVE), avail)
            fit = _safe_fit(chosen, fit_arr[mask], h, season_length, actual=raw, half_life=hl)
            assert fit is not None
        mean_out[mask] = fit[0]
        resid_out[mask] = fit[1]
        sd_out[mask] = fit[1]
        failed_out[mask] = fit[2]
        model_out[mask] = chosen.value
        obs = n_obs[mask]
        reason_out[mask] = [
            f"{chosen.value}: {label.split()[1]} series with {k} observed periods, fewer than "
            f"the {needed} needed for an out-of-sample test; simple method"
            for k in obs.tolist()
        ]
    zero = (empty | no_demand) & ~short
    if zero.any():
        zero_model = _first_available((M.MOVING_AVERAGE, M.NAIVE), avail)
        model_out[zero] = zero_model.value
        mean_out[zero] = 0.0
        sd_out[zero] = 0.0
        reason_out[zero & empty] = f"{zero_model.value}: no observation; forecast 0"
        reason_out[zero & ~empty] = (
            f"{zero_model.value}: no demand in the observed history; forecast 0"
        )

    # sd: never NaN (a single observation has no error spread: use the mean level)
    # Spread for quantiles: root mean square of the out-of-sample RMSE and the in-sample
    # residual sd (the first alone is noisy with few origins and optimistic for the winner
    # of a selection; the second alone misses multi-step error). Measured in
    # docs/benchmarks/forecast.md.
    oos_sd = sd_out.copy()
    both = np.isfinite(sd_out) & np.isfinite(resid_out)
    sd_out = np.where(both, np.sqrt(0.5 * sd_out**2 + 0.5 * resid_out**2), sd_out)
    learned = (dist_out != "") & np.isfinite(resid_out)
    profile_out[(dist_out != "") & ~learned] = 1.0
    level_out[~learned] = 1.0
    level_family_out[~learned] = ""
    dist_out[~learned] = ""
    # learned spread: sd_path = residual sd x (c x growth profile); sd = the first step
    sd_out = np.where(learned, resid_out * profile_out[:, 0], sd_out)
    if learned.any():
        profile_out[learned] /= profile_out[learned, :1]
    sd_out = np.where(np.isnan(sd_out), resid_out, sd_out)
    sd_out = np.where(np.isnan(sd_out), np.sqrt(np.clip(mean_out[:, 0], 0, None)), sd_out)
    # The count family's spread: at the count levels of a learned spread, the residual sd
    # it was scored with (spread.learn_spread), flat over the horizon; the default elsewhere
    count_sd = np.where(learned, resid_out, sd_out)
    mixed = learned[:, None] & (level_family_out == "")
    if mixed.any():
        at = mixed.any(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = count_sd[at, None] / (sd_out[at, None] * profile_out[at])
        ratio = np.nan_to_num(ratio, nan=1.0, posinf=1.0)
        level_out[at] = np.where(mixed[at][:, None, :], ratio[:, :, None], level_out[at])
    corrected = capped_out > 0
    reason_out[corrected] = [
        f"{r}; {c} outlier period{'s' if c > 1 else ''} above {lim:.4g} capped for the level"
        for r, c, lim in zip(
            reason_out[corrected], capped_out[corrected], limit_out[corrected], strict=True
        )
    ]
    result = SelectionResult(
        model=model_out,
        reason=reason_out.astype(str),
        mean=mean_out,
        sd=sd_out,
        oos_sd=oos_sd,
        horizon_profile=profile_out,
        level_scale=level_out,
        level_distribution=level_family_out,
        count_sd=count_sd,
        residual_sd=resid_out,
        oos_bias=bias_out,
        n_origins_used=used_out,
        pattern=pat,
        lifecycle=life,
        candidates=tuple(all_candidates),
        scores=scores,
        failed=failed_out,
        distribution=dist_out,
        outliers_capped=capped_out,
        seasonal=seasonal_out,
        season_factor=np.ones((n, h)),
    )
    return _reseasonalized(result, season, tested=n_obs > 0)


@dataclass(frozen=True)
class _SeasonAdjustment:
    """Rule 8 for a panel: the group index of every period of every series."""

    history: FloatArray | None  # (N, T) index of the history; None where no group applied
    origin_history: FloatArray | None  # (N, T) the index estimated before the earliest origin
    forecast: FloatArray  # (N, h) index of the forecast periods (ones where not applied)
    gain: FloatArray  # (N,) the test's relative error fall where applied, else NaN
    groups: tuple[SeasonGroupResult, ...] = ()


def _group_seasons(  # noqa: PLR0917 (the panel's calendar and options)
    arr: FloatArray,
    origin_ends: list[int],
    eval_h: int,
    h: int,
    season_length: int,
    cfg: SelectionConfig,
    season_groups: NDArray[np.str_] | None,
) -> _SeasonAdjustment:
    """Rule 8: the group seasonal index of each group of series (``season_groups``, one
    group when ``None``) and whether it applies, tested with ``tsb_fixed`` at the rolling
    origins."""
    n, t = arr.shape
    if not cfg.group_season or season_length < 2 or n == 0:
        return _SeasonAdjustment(None, None, np.ones((n, h)), np.full(n, np.nan))
    from stockpilot.core.forecast.models.intermittent import tsb_origin_forecasts

    def reference(
        history: FloatArray, ends: NDArray[np.int64], divisor: FloatArray | None
    ) -> FloatArray:
        return tsb_origin_forecasts(
            history, ends, alpha_d=TSB_FIXED_ALPHA, alpha_p=TSB_FIXED_ALPHA, divisor=divisor
        )

    names, labels = np.array([""]), np.zeros(n, dtype=np.int64)
    if season_groups is not None:
        names, labels = np.unique(season_groups, return_inverse=True)
        labels = labels.reshape(-1)
    tested: list[SeasonGroupResult] = []
    applied: list[tuple[NDArray[np.intp], GroupSeason]] = []
    for label in range(int(labels.max()) + 1):
        rows = np.flatnonzero(labels == label)
        found = group_season(
            arr[rows],
            season_length,
            origin_ends,
            eval_h,
            reference,
            smoothing=cfg.group_season_smoothing,
            min_gain=cfg.group_season_min_gain,
            min_series=cfg.group_season_min_series,
        )
        tested.append(SeasonGroupResult(str(names[label]), int(rows.size), found))
        if found.applied:
            applied.append((rows, found))
    forecast = np.ones((n, h))
    gain = np.full(n, np.nan)
    if not applied:
        return _SeasonAdjustment(None, None, forecast, gain, tuple(tested))
    history, origin_history = np.ones((n, t)), np.ones((n, t))
    for rows, found in applied:
        history[rows] = found.factors(0, t)
        origin_history[rows] = found.origin_factors(0, t)
        forecast[rows] = found.factors(t, t + h)
        gain[rows] = found.gain
    return _SeasonAdjustment(history, origin_history, forecast, gain, tuple(tested))


def _reseasonalized(
    result: SelectionResult, season: _SeasonAdjustment, *, tested: NDArray[np.bool_]
) -> SelectionResult:
    """``result`` (forecasts of the seasonally adjusted history) times the group index of
    the forecast periods: the means, and the spread at every level (a quantile of ``s x Z``
    is ``s`` times that of ``Z``)."""
    if season.history is None:
        return replace(result, season_groups=season.groups)
    factor = season.forecast
    first = factor[:, :1]
    noted = tested & np.isfinite(season.gain)
    reason = result.reason.astype(object)
    reason[noted] = [
        f"{r}; history adjusted by the group seasonal index (rolling-origin error of "
        f"tsb_fixed {-100.0 * g:+.0f} %)"
        for r, g in zip(reason[noted].tolist(), season.gain[noted].tolist(), strict=True)
    ]
    return replace(
        result,
        reason=reason.astype(str),
        mean=result.mean * factor,
        sd=result.sd * first[:, 0],
        horizon_profile=result.horizon_profile * (factor / first),
        count_sd=result.count_sd * first[:, 0],
        season_factor=factor,
        season_groups=season.groups,
    )


ENSEMBLE = "ensemble"


def _group_options(key: str, cfg: SelectionConfig) -> tuple[bool, float]:
    """(ensemble candidate?, group tolerance) of a candidate group."""
    if key.startswith("smooth"):
        return cfg.ensemble_smooth, cfg.group_tolerance_smooth
    return cfg.ensemble_intermittent, cfg.group_tolerance_intermittent


@dataclass(frozen=True)
class _Out:
    """Output arrays filled group by group (views into the result)."""

    model: NDArray[np.str_]
    reason: NDArray[np.object_]
    mean: FloatArray
    sd: FloatArray
    bias: FloatArray
    used: NDArray[np.int64]
    failed: NDArray[np.bool_]
    scores: FloatArray
    profile: FloatArray
    level_scale: FloatArray
    level_family: NDArray[np.str_]
    residual_sd: FloatArray
    distribution: NDArray[np.str_]


def _fit_named(
    name: str,
    models: tuple[Candidate, ...],
    y: FloatArray,
    h: int,
    season_length: int,
    *,
    warm: dict[str, dict[str, FloatArray]] | None = None,
    actual: FloatArray | None = None,
    half_life: float | None = None,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None:
    """Fit one candidate (a model, or the ensemble = mean of the group's models); ``warm``:
    earlier parameters of the rows per model, to start the estimation from (a model) or to
    rerun the members with (the ensemble, :func:`_fit_origin`); ``actual`` and ``half_life``
    as in :func:`_safe_fit`."""
    w = warm or {}

    def fit(model: Candidate) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None:
        warm_start = w.get(model.value)
        return _safe_fit(model, y, h, season_length, warm_start, actual=actual, half_life=half_life)

    if name != ENSEMBLE:
        return fit(_candidate(name))

    def member(model: Candidate) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None:
        res = _fit_origin(
            model,
            y,
            h,
            season_length,
            w.get(model.value, {}),
            actual=actual,
            half_life=half_life,
        )
        return None if res is None else res[:3]

    # The members are rerun with their parameters from the earliest origin (filter only;
    # rows without them are estimated): averaging five forecasts damps what the re-estimation
    # would change (validation windows: RMSSE and SPL within 0.0002, hospital window 2
    # RMSSE 0.9519 -> 0.9499) at a sixth less CPU on M5, where the ensemble wins most smooth
    # series.
    return _ensemble_of([member(m) for m in models], y.shape[0])


def _ensemble_of(
    fits: list[tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None], n: int
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None:
    """The ensemble of its members' fits (``None``: a member the kernel rejected): mean
    forecast, mean residual sd, and a fallback flag where any member fell back."""
    done = [f for f in fits if f is not None]
    if not done:
        return None
    mean = np.mean([f[0] for f in done], axis=0)
    sd = np.nanmean(np.array([f[1] for f in done]), axis=0) if n else np.zeros(0)
    failed = np.any([f[2] for f in done], axis=0)
    return mean, sd, failed


#: The annual origin (rule 6) fits each series' winner on this many years of history before
#: it, with the grid search alone: a quarter of the selection's CPU on M5 CA_1 otherwise,
#: where the partner of most series is the ensemble (five fits per series). Validation
#: windows 1 + 2 and the real holdout of the six data sets: every figure within 0.0012 of
#: the full-history fit with the compass search (mean log change +0.008 %), at 1.15x
#: instead of 1.31x the CPU of the selection without the annual origin on M5 CA_1
#: (docs/benchmarks/forecast.md, "Session 6").
ANNUAL_TRAIN_YEARS = 2
ANNUAL_SEARCH_ITERATIONS = 0


def _fresh_fit(  # noqa: PLR0917 (one fit's inputs)
    model: Candidate,
    y: FloatArray,
    actual: FloatArray | None,
    h: int,
    season_length: int,
    half_life: float | None,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None:
    """Forecasts, residual sd and fallback flags of ``model`` estimated on ``y`` alone with
    the grid search (:data:`ANNUAL_SEARCH_ITERATIONS`); ``None`` if the kernel rejects it."""
    fitted = _fit_origin(
        model,
        y,
        h,
        season_length,
        {},
        actual=actual,
        half_life=half_life,
        iterations=ANNUAL_SEARCH_ITERATIONS,
    )
    return None if fitted is None else fitted[:3]


def _annual_origin(
    t: int,
    origin_ends: list[int],
    season_length: int,
    periods_per_year: int | None,
    cfg: SelectionConfig,
) -> int | None:
    """End of the training window of the annual origin of the spread (rule 6): one year
    before the forecast origin, or ``None`` (turned off, no year length, too little
    history, or already a rolling origin, as with 6- and 12-month horizons)."""
    year = periods_per_year if periods_per_year is not None else season_length
    if not cfg.annual_spread_origin or not cfg.learn_spread or year is None or year <= 1:
        return None
    end = t - int(year)
    if end < 2 or end in origin_ends:
        return None
    return end


def _annual_record(
    *,
    names: list[str],
    models: tuple[Candidate, ...],
    train: FloatArray,
    actual_train: FloatArray | None,
    scored: FloatArray,
    eligible: NDArray[np.bool_],
    win: NDArray[np.int64],
    partner: NDArray[np.int64],
    eval_h: int,
    season_length: int,
    half_life: float | None,
    window: int,
) -> OriginRecord | None:
    """The spread-learning record (:data:`~stockpilot.core.forecast.spread.OriginRecord`)
    of the annual origin: each eligible series' winner, and its shrinkage partner, fitted
    on ``train`` (the data before that origin) alone (fresh parameters; the rolling
    origins' parameters saw later data) and forecast ``eval_h`` periods; ``scored`` holds
    the actuals after the origin as the spread learning scores them. Only the methods that
    won or partner a series are fitted, on the last ``window`` periods of ``train`` with the grid search
    alone (:data:`ANNUAL_SEARCH_ITERATIONS`). Series whose winner or partner cannot be
    fitted there are left out."""
    rows = np.flatnonzero(eligible)
    if rows.size == 0:
        return None
    recent = slice(max(train.shape[1] - window, 0), None)
    train = np.ascontiguousarray(train[:, recent])
    actual_train = None if actual_train is None else np.ascontiguousarray(actual_train[:, recent])
    fcs: dict[int, tuple[FloatArray, FloatArray]] = {}
    ok = np.ones(rows.size, dtype=bool)
    for j, name in enumerate(names):
        need = (win[rows] == j) | (partner[rows] == j)
        if not need.any():
            continue
        at = rows[need]
        data = (train[at], None if actual_train is None else actual_train[at])
        if name == ENSEMBLE:
            fits = [_fresh_fit(m, *data, eval_h, season_length, half_life) for m in models]
            res = _ensemble_of(fits, at.size)
        else:
            res = _fresh_fit(_candidate(name), *data, eval_h, season_length, half_life)
        fc = np.full((rows.size, eval_h), np.nan)
        sd = np.full(rows.size, np.nan)
        if res is not None:
            fc[need], sd[need] = res[0], res[1]
        ok &= ~need | (np.isfinite(fc).all(axis=1) & np.isfinite(sd))
        fcs[j] = (fc, sd)
    if not ok.any():
        return None
    mask = np.zeros(eligible.size, dtype=bool)
    mask[rows[ok]] = True
    return mask, scored[rows[ok]], {j: (fc[ok], sd[ok]) for j, (fc, sd) in fcs.items()}


def _select_group(
    *,
    key: str,
    models: tuple[Candidate, ...],
    rows: NDArray[np.intp],
    arr: FloatArray,
    fit_arr: FloatArray,
    origin_arr: FloatArray,
    origin_capped: FloatArray,
    origin_fit: dict[int, FloatArray],
    first: NDArray[np.int64],
    origin_ends: list[int],
    annual_end: int | None,
    h: int,
    eval_h: int,
    season_length: int,
    cfg: SelectionConfig,
    avail: set[Candidate],
    all_candidates: list[str],
    out: _Out,
    pattern: NDArray[np.str_],
    borrowed: LevelSpread | None = None,
) -> tuple[LevelSpread, int] | None:
    """Rolling-origin scores, winner, refit and reasons for one group of series; returns
    the learned spread (c, g, series) when one was learned."""
    sub = arr[rows]
    sub_fit = fit_arr[rows]
    # the history the rolling origins see (rule 8: adjusted by the index known before them)
    seen, seen_capped = origin_arr[rows], origin_capped[rows]
    hl = _half_life(cfg, eval_h)
    actual_full = None if cfg.outlier_k is None else sub
    sub_first = first[rows]
    ensemble, group_tolerance = _group_options(key, cfg)
    use_ens = ensemble and len(models) > 1
    names = [m.value for m in models] + ([ENSEMBLE] if use_ens else [])
    k = len(names)
    errors = OriginErrors.zeros(rows.size, k, eval_h)
    origins = np.zeros(rows.size, dtype=np.int64)
    broken: set[str] = set()
    # per origin: rows scored, actuals, and each candidate's forecasts and residual sd
    kept: list[OriginRecord] = []

    # Parameters of each candidate per series, estimated at the earliest origin where the
    # series is scored and reused (filter only) at the later ones: never at earlier ones.
    stored: list[dict[str, FloatArray]] = [{} for _ in models]
    for end in sorted(origin_ends):
        ok_rows = (end - sub_first) >= cfg.min_train
        if not ok_rows.any():
            continue
        origins += ok_rows
        raw_train = seen[ok_rows, :end]
        train = origin_fit[end][rows[ok_rows]] if origin_fit else raw_train
        actual_train = raw_train if origin_fit else None
        actual = seen[ok_rows, end : end + eval_h]
        ens_sum = np.zeros((int(ok_rows.sum()), eval_h))
        ens_sd = np.zeros(int(ok_rows.sum()))
        ens_n = 0
        fcs: dict[int, tuple[FloatArray, FloatArray]] = {}
        # the spread is learned against the actuals with outliers capped (rule 6): one
        # spike in an origin window must not set the width of every period
        kept.append((ok_rows, seen_capped[ok_rows, end : end + eval_h], fcs))
        for j, model in enumerate(models):
            if model.value in broken:
                continue
            given = {name: v[ok_rows] for name, v in stored[j].items()}
            res = _fit_origin(
                model, train, eval_h, season_length, given, actual=actual_train, half_life=hl
            )
            if res is None:
                broken.add(model.value)
                continue
            for name, v in res[3].items():
                keep = stored[j].setdefault(name, np.full(rows.size, np.nan))
                keep[ok_rows] = np.where(np.isnan(keep[ok_rows]), v, keep[ok_rows])
            errors.add(j, ok_rows, res[0], actual)
            if cfg.learn_spread:
                fcs[j] = (res[0], res[1])
            ens_sum += res[0]
            ens_sd += np.nan_to_num(res[1])
            ens_n += 1
        if use_ens and ens_n:
            errors.add(k - 1, ok_rows, ens_sum / ens_n, actual)
            if cfg.learn_spread:
                fcs[k - 1] = (ens_sum / ens_n, ens_sd / ens_n)
    mse, mae, mbias = errors.means()
    for j, name in enumerate(names):
        if name in broken:
            mse[:, j] = np.nan
            mae[:, j] = np.nan
    crit = mse if cfg.criterion == Criterion.MSE else mae
    own = _pick(crit, cfg.tolerance)
    win = own.copy()
    tested: NDArray[np.bool_] = np.asarray(~np.isnan(crit).all(axis=1), dtype=bool)
    # Group-best model: lowest mean scaled score over the group's tested series. A series
    # keeps its own winner only when it beats the group-best by group_tolerance.
    scale_abs, scale_sq = difference_scales(sub)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = scale_sq if cfg.criterion == Criterion.MSE else scale_abs
        rel = crit / np.where(scale > 0, scale, np.nan)[:, None]
        finite = np.isfinite(rel)
        group_score = np.where(
            finite.any(axis=0), np.where(finite, rel, 0.0).sum(axis=0) / finite.sum(axis=0), np.inf
        )
    gbest = int(np.argmin(group_score)) if np.isfinite(group_score).any() else -1
    if gbest >= 0 and group_tolerance > 0:
        own_val = crit[np.arange(rows.size), own]
        g_val = crit[:, gbest]
        keep_own = ~(own_val >= (1.0 - group_tolerance) * g_val)  # NaN g_val keeps own
        win = np.where(keep_own, own, gbest)
    cols = np.array([all_candidates.index(nm) for nm in names], dtype=np.intp)
    out.scores[np.ix_(rows, cols)] = crit
    default = _first_available(
        cfg.short_intermittent if key.startswith("intermittent") else cfg.short_smooth, avail
    )
    winners = np.where(tested, np.asarray(names, dtype=object)[win], default.value).astype(str)
    # Rule 5: a series that keeps its own winner is shrunk toward the group-best forecast;
    # the group-best is refitted for those series in the same call as for its own winners.
    partner = np.full(rows.size, -1, dtype=np.int64)
    if gbest >= 0 and group_tolerance > 0 and cfg.group_shrinkage > 0:
        partner = np.where(tested & (win != gbest), gbest, -1)
    shrunk = partner >= 0
    partner_mean: FloatArray | None = None
    refits = list(np.unique(winners))
    if shrunk.any() and names[gbest] not in refits:
        refits.append(names[gbest])
    for wm in refits:
        sel = winners == wm
        with_partner = shrunk.any() and wm == names[gbest]
        fit_rows = sel | shrunk if with_partner else sel
        # refit on the full history, starting from the parameters of the earliest origin
        warm = {
            m.value: {p: v[fit_rows] for p, v in stored[j].items()} for j, m in enumerate(models)
        }
        fit = _fit_named(
            str(wm),
            tuple(m for m in models if m.value not in broken),
            sub_fit[fit_rows],
            h,
            season_length,
            warm=warm,
            actual=actual_full[fit_rows] if actual_full is not None else None,
            half_life=hl,
        )
        if with_partner:
            if fit is None:  # the group-best's full-history call failed: no shrinkage
                partner[:] = -1
            else:
                local = np.flatnonzero(fit_rows)
                partner_mean = nonnegative(fit[0][shrunk[local]])
                keep = sel[local]
                fit = (fit[0][keep], fit[1][keep], fit[2][keep])
            if not sel.any():
                continue
        if fit is None:  # the full-history call failed: fall back, say so
            fb = _first_available((M.MOVING_AVERAGE, M.NAIVE), avail)
            fit = _safe_fit(fb, sub_fit[sel], h, season_length, half_life=hl)
            assert fit is not None
            out.failed[rows[sel]] = True
        out.mean[rows[sel]] = nonnegative(fit[0])
        out.failed[rows[sel]] |= fit[2]
        in_sd = fit[1]
        out.residual_sd[rows[sel]] = in_sd
        if wm in names:
            j = names.index(str(wm))
            oos_sd = np.sqrt(mse[sel, j])
            out.sd[rows[sel]] = np.where(np.isnan(oos_sd), in_sd, oos_sd)
            out.bias[rows[sel]] = mbias[sel, j]
        else:
            out.sd[rows[sel]] = in_sd
    if partner_mean is not None and (partner >= 0).any():
        w = cfg.group_shrinkage
        out.mean[rows[shrunk]] = (1.0 - w) * out.mean[rows[shrunk]] + w * partner_mean
    out.model[rows] = winners
    out.used[rows] = origins
    # Horizon profile of the group: scaled squared error of each series' winner per step.
    with np.errstate(invalid="ignore", divide="ignore"):
        at_win = (np.arange(rows.size), win)
        w_sq = errors.squared_step[at_win] / errors.count_step[at_win]
        w_rel = w_sq / np.where(scale > 0, scale, np.nan)[:, None]
        use = tested & np.isfinite(w_rel).all(axis=1)
        if use.sum() >= 10:
            per_step = w_rel[use].mean(axis=0)
            norm = per_step.mean()
            if norm > 0 and np.isfinite(norm):
                prof = np.sqrt(per_step / norm)
                full = np.concatenate([prof, np.full(max(h - eval_h, 0), prof[-1])])[:h]
                out.profile[rows[tested]] = full[None, :]
    learned: LevelSpread | None = None
    learned_n = 0
    regular: _RegularSellers | None = None
    if cfg.learn_spread:
        spreads: list[tuple[NDArray[np.bool_], LevelSpread | None]] = []
        if key.startswith("end-of-life"):
            # The origins of an end-of-life series lie in its final run of zeros, so they
            # cannot tell whether demand resumes (a stock-out or a pause): no learning; the
            # full-history residual sd with the (c, g) learned for the most series of the
            # other groups (c = 1, g = 0 when there is none).
            if tested.sum():
                spreads.append(
                    (tested, borrowed.normal_only() if borrowed else LevelSpread.uniform(1.0, 0.0))
                )
            regular = _regular_sellers(sub, tested, out.residual_sd[rows], cfg, eval_h)
        else:
            whole_units = whole_unit_series(sub)
            if annual_end is not None:
                annual = _annual_record(
                    names=names,
                    models=models,
                    train=origin_fit[annual_end][rows] if origin_fit else seen[:, :annual_end],
                    actual_train=seen[:, :annual_end] if origin_fit else None,
                    scored=seen_capped[:, annual_end : annual_end + eval_h],
                    eligible=tested & ((annual_end - sub_first) >= cfg.min_train),
                    win=win,
                    partner=partner,
                    eval_h=eval_h,
                    season_length=season_length,
                    half_life=hl,
                    window=ANNUAL_TRAIN_YEARS * (arr.shape[1] - annual_end),
                )
                if annual is not None:
                    kept.append(annual)
            for unit, apply_to in spread_units(pattern, tested, cfg.spread_pattern_min):
                learned_unit = learn_spread(
                    kept,
                    win,
                    unit,
                    scale_abs,
                    eval_h=eval_h,
                    count_patterns=pattern if key.startswith("intermittent") else None,
                    partner=partner,
                    partner_weight=cfg.group_shrinkage,
                    whole_units=whole_units,
                )
                spreads.append((apply_to, learned_unit))
        for apply_to, unit_spread in spreads:
            if unit_spread is None:  # the default spread and the pattern's family
                continue
            learned_rows = rows[apply_to]
            out.distribution[learned_rows] = "normal"
            # profile = c * growth of the highest level; select_and_forecast turns it into
            # sd = residual sd, horizon_profile = c * growth (sd_path = residual sd x c x
            # growth); the other levels ride on it as ratios (level_scale)
            normal = np.asarray(unit_spread.normal_levels)
            mults = unit_spread.multipliers(h)  # (levels, h)
            ref = mults[normal][-1]  # the highest level where the normal won
            out.profile[learned_rows] = ref[None, :]
            # count levels are filled with the default spread by select_and_forecast
            out.level_scale[learned_rows] = (mults / ref).T[None, :, :]
            out.level_family[learned_rows] = np.where(normal, "normal", "")[None, :]
        if regular is not None:
            # end-of-life regular sellers: the spread of their active demand where larger than
            # the residual sd (the factor rides on the profile; residual_sd keeps its meaning)
            out.profile[rows[regular.rows]] *= regular.factor[:, None]
        done = [(int(m.sum()), sp) for m, sp in spreads if sp is not None]
        if done:
            learned_n, learned = max(done, key=lambda t: t[0])
    n_cand = k - len(broken)
    crit_name = cfg.criterion.upper()
    members = "+".join(m.value for m in models if m.value not in broken)
    # runner-up of each series: its best scored candidate other than the winner
    order = np.argsort(np.where(np.isnan(crit), np.inf, crit), axis=1, kind="stable")
    scored = (order != win[:, None]) & ~np.isnan(np.take_along_axis(crit, order, axis=1))
    runners = np.where(scored.any(axis=1), order[np.arange(rows.size), scored.argmax(axis=1)], -1)
    # the parts shared by many series are formatted once per group, and the per-series
    # values read from lists (Python floats format as numpy's do), not numpy scalars
    untested = (
        f"{default.value}: no rolling origin with {cfg.min_train} training periods; "
        f"simple {key.split(maxsplit=1)[0]} default"
    )
    labels = [nm if nm != ENSEMBLE else f"ensemble (mean of {members})" for nm in names]
    shrink_txt = (
        f"; forecast shrunk {cfg.group_shrinkage:.0%} toward the group-best {names[gbest]}"
        if gbest >= 0
        else ""
    )
    wheres: dict[int, str] = {}
    crit_rows = crit.tolist()
    for i, is_tested, w, o, n_origins, runner, mate, scores in zip(
        rows.tolist(),
        tested.tolist(),
        win.tolist(),
        own.tolist(),
        origins.tolist(),
        runners.tolist(),
        partner.tolist(),
        crit_rows,
        strict=True,
    ):
        if not is_tested:
            out.reason[i] = untested
            continue
        label = labels[w]
        where = wheres.get(n_origins)
        if where is None:
            where = wheres[n_origins] = (
                f"over {n_origins} origins x {eval_h} steps among {n_cand} {key} candidates"
            )
        if w == o:
            runner_txt = f" (runner-up {names[runner]} {scores[runner]:.4g})" if runner >= 0 else ""
            out.reason[i] = (
                f"{label}: lowest rolling-origin {crit_name} {scores[w]:.4g} {where}"
                f"{runner_txt}{shrink_txt if mate >= 0 else ''}"
            )
        else:
            out.reason[i] = (
                f"{label}: best of the {key} group by scaled rolling-origin {crit_name}; this "
                f"series' own best {names[o]} ({scores[o]:.4g} vs {scores[w]:.4g}) "
                f"was not {group_tolerance:.0%} better {where}"
            )
    if regular is not None:
        share = cfg.end_of_life_regular_share
        for i in rows[regular.rows].tolist():
            out.reason[i] = (
                f"{out.reason[i]}; spread of its demand while it sold (demand in at least "
                f"{share:.0%} of those periods: a stop that may be a stock-out)"
            )
    if learned is None or key.startswith("end-of-life"):
        return None
    return learned, learned_n


@dataclass(frozen=True)
class _RegularSellers:
    """End-of-life series of a group that sold regularly (positions in the group) and the
    factor from their residual sd to the spread of their active demand."""

    rows: NDArray[np.bool_]
    factor: FloatArray


def _regular_sellers(
    sub: FloatArray,
    tested: NDArray[np.bool_],
    resid: FloatArray,
    cfg: SelectionConfig,
    eval_h: int,
) -> _RegularSellers | None:
    """Rule 6, end-of-life: tested series with demand in at least
    ``end_of_life_regular_share`` of their active periods (None: off) take the root mean
    square of their active demand (:func:`~stockpilot.core.forecast.spread.active_demand`)
    as the base of their spread, where it is larger than the residual sd."""
    share = cfg.end_of_life_regular_share
    if share is None or not tested.any():
        return None
    demand = active_demand(sub, _half_life(cfg, eval_h))
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = demand.rms / resid
        rows = tested & (demand.share >= share) & (resid > 0) & (factor > 1.0)
    rows &= np.isfinite(factor)
    return _RegularSellers(rows, factor[rows]) if rows.any() else None


def _half_life(cfg: SelectionConfig, eval_h: int) -> float | None:
    """Half-life of the residual-sd weights in periods (``None``: unweighted)."""
    return None if cfg.spread_half_life is None else cfg.spread_half_life * eval_h


def _pick(crit: FloatArray, tolerance: float) -> NDArray[np.int64]:
    """Column of the best score per row; a later column must beat earlier ones by
    ``tolerance`` (relative)."""
    n, c = crit.shape
    best = np.zeros(n, dtype=np.int64)
    best_val = np.full(n, np.inf)
    for j in range(c):
        v = crit[:, j]
        better = ~np.isnan(v) & (v < best_val * (1.0 - tolerance) - 1e-12)
        first_valid = np.isinf(best_val) & ~np.isnan(v)
        take = better | first_valid
        best = np.where(take, j, best)
        best_val = np.where(take, v, best_val)
    return best
