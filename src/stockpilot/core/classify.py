"""Demand classification: ABC, XYZ, Syntetos-Boylan demand pattern and lifecycle stage.

Every function works on all series at once: an (N, T) demand matrix (NaN before a series'
first observation, as in :class:`stockpilot.engine.panel.Panel`) and per-series vectors.
Classification per item across locations uses :func:`aggregate_rows` first (sum the rows
of one item), then the same functions.

References
----------
- Silver, E. A., Pyke, D. F., Thomas, D. J. (2017). *Inventory and Production Management
  in Supply Chains*, 4th ed., CRC Press, section 2.4 (ABC classification, Pareto curve).
- Syntetos, A. A., Boylan, J. E., Croston, J. D. (2005). On the categorization of demand
  patterns. *Journal of the Operational Research Society* 56(5), 495-503 (cut-offs
  ADI = 1.32 and CV^2 = 0.49).
- Flores, B. E., Whybark, D. C. (1986). Multiple criteria ABC analysis. *International
  Journal of Operations & Production Management* 6(3), 38-46.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.errors import InvalidDataError, parameter_error
from stockpilot.vocab import DemandPattern, LifecycleStage

__all__ = [
    "ABCClass",
    "ABCCriterion",
    "ABCResult",
    "Classification",
    "ClassificationConfig",
    "DemandPatternResult",
    "XYZClass",
    "XYZResult",
    "abc_classify",
    "abc_criteria",
    "abc_multi_criteria",
    "aggregate_rows",
    "classify",
    "demand_pattern",
    "lifecycle_stage",
    "xyz_classify",
]


class ABCClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class XYZClass(StrEnum):
    X = "X"
    Y = "Y"
    Z = "Z"


class ABCCriterion(StrEnum):
    """Criteria :func:`classify` computes itself for (multi-criteria) ABC.

    ``annual_value`` is annual quantity times unit value (cost), ``volume`` the annual
    quantity, ``order_lines`` the periods with demand in the last year, ``margin`` annual
    quantity times (unit price - unit cost); see :func:`abc_criteria`.
    """

    ANNUAL_VALUE = "annual_value"
    VOLUME = "volume"
    ORDER_LINES = "order_lines"
    MARGIN = "margin"


CONFIG_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ClassificationConfig:
    """The agreed classification criteria: versioned, with who approved them and when.

    Attributes
    ----------
    version
        Version of this configuration (increase it on every approved change).
    abc_cutoffs
        Cumulative shares of the criterion closing class A and class B, e.g. ``(0.80,
        0.95)`` for the classic 80/15/5 split.
    abc_criteria
        Criterion name -> weight for multi-criteria ABC (weights are normalised to sum
        to 1). With a single criterion it is plain ABC on annual consumption value.
    xyz_cutoffs
        Coefficient of variation of per-period demand closing class X and class Y.
    adi_cutoff, cv2_cutoff
        Syntetos-Boylan-Croston cut-offs (1.32 and 0.49 in the 2005 paper).
    new_periods
        A series with fewer observed periods than this is ``new``.
    end_of_life_periods
        A series with no demand in its last ``end_of_life_periods`` periods is
        ``end_of_life``.
    trend_window
        Length of the two windows compared for growth / decline.
    growth_threshold, decline_threshold
        Relative change of the last window's mean over the previous one above which a
        series is ``growth`` (below minus which it is ``decline``).
    approved_by, approved_at
        Who approved this version and when (timezone-aware UTC); ``None`` while draft.
    """

    version: int = 1
    abc_cutoffs: tuple[float, float] = (0.80, 0.95)
    abc_criteria: Mapping[str, float] = field(default_factory=lambda: {"annual_value": 1.0})
    xyz_cutoffs: tuple[float, float] = (0.5, 1.0)
    adi_cutoff: float = 1.32
    cv2_cutoff: float = 0.49
    new_periods: int = 6
    end_of_life_periods: int = 12
    trend_window: int = 6
    growth_threshold: float = 0.3
    decline_threshold: float = 0.3
    approved_by: str | None = None
    approved_at: datetime | None = None

    def __post_init__(self) -> None:
        owner = "ClassificationConfig"
        a, b = self.abc_cutoffs
        if not 0.0 < a < b <= 1.0:
            raise parameter_error(owner, "abc_cutoffs", "two shares with 0 < A < B <= 1", (a, b))
        x, y = self.xyz_cutoffs
        if not 0.0 < x < y:
            raise parameter_error(owner, "xyz_cutoffs", "two CVs with 0 < X < Y", (x, y))
        if not self.abc_criteria or any(w < 0 for w in self.abc_criteria.values()):
            raise parameter_error(
                owner,
                "abc_criteria",
                "a non-empty mapping of non-negative weights",
                dict(self.abc_criteria),
            )
        if sum(self.abc_criteria.values()) <= 0:
            raise parameter_error(
                owner, "abc_criteria", "weights with a positive sum", dict(self.abc_criteria)
            )
        for name in ("adi_cutoff", "cv2_cutoff"):
            if not getattr(self, name) > 0:
                raise parameter_error(owner, name, "a positive float", getattr(self, name))
        for name in ("version", "new_periods", "end_of_life_periods", "trend_window"):
            if int(getattr(self, name)) < 1:
                raise parameter_error(owner, name, "an integer >= 1", getattr(self, name))
        for name in ("growth_threshold", "decline_threshold"):
            if not getattr(self, name) >= 0:
                raise parameter_error(owner, name, "a float >= 0", getattr(self, name))
        if self.approved_at is not None and self.approved_at.utcoffset() is None:
            raise parameter_error(
                owner, "approved_at", "a timezone-aware datetime (UTC)", self.approved_at
            )

    @property
    def is_approved(self) -> bool:
        return self.approved_by is not None and self.approved_at is not None

    def approve(self, approved_by: str, *, at: datetime | None = None) -> ClassificationConfig:
        """Return this version marked approved by ``approved_by`` at ``at`` (default now, UTC)."""
        if not approved_by.strip():
            raise parameter_error("ClassificationConfig.approve", "approved_by", "a name", "")
        when = datetime.now(UTC) if at is None else at
        return _replace(self, approved_by=approved_by, approved_at=when.astimezone(UTC))

    def next_version(self, **changes: Any) -> ClassificationConfig:
        """A new draft (unapproved) version with ``changes`` applied."""
        return _replace(
            self, version=self.version + 1, approved_by=None, approved_at=None, **changes
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for YAML/JSON (``approved_at`` as an ISO 8601 string)."""
        return {
            "schema": CONFIG_SCHEMA_VERSION,
            "version": self.version,
            "abc_cutoffs": list(self.abc_cutoffs),
            "abc_criteria": dict(self.abc_criteria),
            "xyz_cutoffs": list(self.xyz_cutoffs),
            "adi_cutoff": self.adi_cutoff,
            "cv2_cutoff": self.cv2_cutoff,
            "new_periods": self.new_periods,
            "end_of_life_periods": self.end_of_life_periods,
            "trend_window": self.trend_window,
            "growth_threshold": self.growth_threshold,
            "decline_threshold": self.decline_threshold,
            "approved_by": self.approved_by,
            "approved_at": None if self.approved_at is None else self.approved_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassificationConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error (typos must not pass)."""
        known = set(cls.__dataclass_fields__) | {"schema"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise parameter_error(
                "ClassificationConfig.from_dict",
                "data",
                f"a mapping with keys among {sorted(known)}",
                unknown,
                hint="Remove or rename the unknown keys.",
            )
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k != "schema"}
        for key in ("abc_cutoffs", "xyz_cutoffs"):
            if key in kwargs:
                kwargs[key] = tuple(float(v) for v in kwargs[key])
        if "abc_criteria" in kwargs:
            kwargs["abc_criteria"] = {str(k): float(v) for k, v in kwargs["abc_criteria"].items()}
        when = kwargs.get("approved_at")
        if isinstance(when, str):
            kwargs["approved_at"] = datetime.fromisoformat(when)
        return cls(**kwargs)


def _replace(config: ClassificationConfig, **changes: Any) -> ClassificationConfig:
    from dataclasses import replace

    return replace(config, **changes)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ABCResult:
    """ABC classes with the Pareto curve behind them (arrays in input order)."""

    classes: NDArray[np.str_]
    score: NDArray[np.float64]
    share: NDArray[np.float64]
    cumulative_share: NDArray[np.float64]
    rank: NDArray[np.int64]


@dataclass(frozen=True)
class XYZResult:
    classes: NDArray[np.str_]
    cv: NDArray[np.float64]


@dataclass(frozen=True)
class DemandPatternResult:
    """Syntetos-Boylan-Croston class with its two statistics.

    ``adi`` is the mean interval between demands (observed periods / periods with demand);
    ``cv2`` the squared coefficient of variation of the non-zero demand sizes.
    """

    patterns: NDArray[np.str_]
    adi: NDArray[np.float64]
    cv2: NDArray[np.float64]
    n_demands: NDArray[np.int64]


@dataclass(frozen=True)
class Classification:
    """All classes of N series, in row order, under one configuration version."""

    abc: ABCResult
    xyz: XYZResult
    pattern: DemandPatternResult
    lifecycle: NDArray[np.str_]
    history_length: NDArray[np.int64]
    config_version: int
    annual_value: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    #: Every ABC criterion available to the run (name -> (N,) values), weighted or not.
    criteria: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _matrix(y: ArrayLike, owner: str) -> NDArray[np.float64]:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InvalidDataError(f"{owner}: demand must be an (N, T) matrix; got shape {arr.shape}.")
    if np.any(arr < 0):
        rows = np.unique(np.nonzero(arr < 0)[0])[:10].tolist()
        raise InvalidDataError(
            f"{owner}: demand must be non-negative; negative values in rows {rows}. "
            "Net returns out of demand before classifying."
        )
    return arr


@numba.njit(cache=True)
def _observed_moments(
    y: NDArray[np.float64], positive_only: bool
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Per row: the count, mean (0 when none) and sum of squared deviations from that mean
    of the observed values (of the positive ones with ``positive_only``), two passes over
    each row and no (N, T) temporaries."""
    n, t_len = y.shape
    count = np.zeros(n, dtype=np.int64)
    mean = np.zeros(n)
    sq_dev = np.zeros(n)
    for i in range(n):
        total = 0.0
        k = 0
        for t in range(t_len):
            v = y[i, t]
            if v > 0.0 or (not positive_only and not np.isnan(v)):
                total += v
                k += 1
        m = total / max(k, 1)
        dev = 0.0
        for t in range(t_len):
            v = y[i, t]
            if v > 0.0 or (not positive_only and not np.isnan(v)):
                dev += (v - m) * (v - m)
        count[i] = k
        mean[i] = m
        sq_dev[i] = dev
    return count, mean, sq_dev


def _history_length(y: NDArray[np.float64]) -> NDArray[np.int64]:
    return (~np.isnan(y)).sum(axis=1).astype(np.int64)


def aggregate_rows(
    y: ArrayLike, groups: Sequence[Any] | NDArray[Any]
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Sum the rows of each group (e.g. the locations of one item).

    NaN (not launched) counts as 0 once any row of the group is observed; a period stays
    NaN only when no row of the group is observed yet.

    Returns
    -------
    labels, totals
        Sorted unique group labels and the (G, T) summed matrix in that order.

    Examples
    --------
    >>> labels, tot = aggregate_rows([[1.0, 2.0], [np.nan, 3.0]], ["a", "a"])
    >>> labels.tolist(), tot.tolist()
    (['a'], [[1.0, 5.0]])
    """
    arr = np.asarray(y, dtype=np.float64)
    labels, inverse = np.unique(np.asarray(groups), return_inverse=True)
    totals = np.zeros((labels.size, arr.shape[1]))
    np.add.at(totals, inverse, np.nan_to_num(arr, nan=0.0))
    seen = np.zeros((labels.size, arr.shape[1]), dtype=bool)
    np.logical_or.at(seen, inverse, ~np.isnan(arr))
    totals[~seen] = np.nan
    return labels, totals


# --------------------------------------------------------------------------- ABC


def abc_classify(score: ArrayLike, *, cutoffs: tuple[float, float] = (0.80, 0.95)) -> ABCResult:
    """ABC classes by the Pareto rule on one criterion (usually annual consumption value).

    Items are ranked by decreasing ``score``; an item is A while the cumulative share
    *before* it is below ``cutoffs[0]``, B while below ``cutoffs[1]``, else C (so the item
    that crosses a cut-off stays in the higher class, as in Silver, Pyke and Thomas 2017,
    section 2.4, table 2.2).

    Parameters
    ----------
    score
        (N,) non-negative criterion, e.g. annual demand D_i times unit value v_i.
    cutoffs
        Cumulative shares closing A and B.

    Examples
    --------
    >>> abc_classify([50.0, 30.0, 10.0, 6.0, 4.0]).classes.tolist()
    ['A', 'A', 'B', 'B', 'C']
    """
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    a, b = cutoffs
    if not 0.0 < a < b <= 1.0:
        raise parameter_error("abc_classify", "cutoffs", "two shares with 0 < A < B <= 1", cutoffs)
    if np.any(~np.isfinite(s)) or np.any(s < 0):
        raise InvalidDataError(
            "abc_classify: scores must be finite and non-negative; "
            f"bad positions {np.nonzero(~np.isfinite(s) | (s < 0))[0][:10].tolist()}."
        )
    order = np.lexsort((np.arange(s.size), -s))  # stable: ties keep input order
    total = s.sum()
    share = s / total if total > 0 else np.zeros_like(s)
    cum_sorted = np.cumsum(share[order])
    before = cum_sorted - share[order]
    cls_sorted = np.where(before < a - 1e-12, "A", np.where(before < b - 1e-12, "B", "C"))
    if total <= 0:
        cls_sorted = np.full(s.size, "C")
    classes = np.empty(s.size, dtype="<U1")
    classes[order] = cls_sorted
    cumulative = np.empty(s.size)
    cumulative[order] = cum_sorted
    rank = np.empty(s.size, dtype=np.int64)
    rank[order] = np.arange(1, s.size + 1)
    return ABCResult(classes, s, share, cumulative, rank)


def abc_multi_criteria(
    criteria: Mapping[str, ArrayLike],
    *,
    weights: Mapping[str, float],
    cutoffs: tuple[float, float] = (0.80, 0.95),
) -> ABCResult:
    """Multi-criteria ABC: weighted sum of each criterion's share, then :func:`abc_classify`.

    Each criterion (value, margin, volume, order lines, ...) is first divided by its total
    so criteria in different units weigh as agreed, in the spirit of Flores and Whybark
    (1986). Negative criteria (a loss-making margin) count as 0.

    Examples
    --------
    >>> r = abc_multi_criteria({"value": [90.0, 10.0], "lines": [10.0, 90.0]},
    ...                        weights={"value": 0.5, "lines": 0.5}, cutoffs=(0.5, 0.9))
    >>> r.score.tolist()
    [0.5, 0.5]
    """
    missing = sorted(set(weights) - set(criteria))
    if missing:
        raise parameter_error(
            "abc_multi_criteria",
            "criteria",
            f"a mapping holding every weighted criterion {sorted(weights)}",
            sorted(criteria),
            hint=f"Missing: {missing}.",
        )
    wsum = float(sum(weights.values()))
    if wsum <= 0 or any(w < 0 for w in weights.values()):
        raise parameter_error(
            "abc_multi_criteria",
            "weights",
            "non-negative weights with a positive sum",
            dict(weights),
        )
    score: NDArray[np.float64] | None = None
    for name, w in weights.items():
        c = np.clip(np.asarray(criteria[name], dtype=np.float64).reshape(-1), 0.0, None)
        tot = c.sum()
        part = (c / tot if tot > 0 else np.zeros_like(c)) * (w / wsum)
        score = part if score is None else score + part
    assert score is not None
    return abc_classify(score, cutoffs=cutoffs)


# --------------------------------------------------------------------------- XYZ / SBC


def xyz_classify(y: ArrayLike, *, cutoffs: tuple[float, float] = (0.5, 1.0)) -> XYZResult:
    """XYZ classes on the coefficient of variation of per-period demand.

    CV = s / mean over each series' observed periods (zeros included, leading NaN
    excluded); X if CV <= cutoffs[0], Y if <= cutoffs[1], else Z. A series with zero mean
    has CV = inf (class Z); one with fewer than two observed periods has no sample sd, so
    CV = NaN and class Z (its variability is unknown, not low).

    Examples
    --------
    >>> xyz_classify([[10.0, 10.0, 10.0], [0.0, 0.0, 9.0]]).classes.tolist()
    ['X', 'Z']
    >>> r = xyz_classify([[np.nan, np.nan, 7.0]])
    >>> r.classes.tolist(), r.cv.tolist()
    (['Z'], [nan])
    """
    arr = _matrix(y, "xyz_classify")
    n_obs, mean, sq_dev = _observed_moments(np.ascontiguousarray(arr), False)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(sq_dev / np.maximum(n_obs - 1, 1))
        cv = np.where(n_obs < 2, np.nan, np.where(mean > 0, sd / mean, np.inf))
    x, yc = cutoffs
    classes = np.where(cv <= x, "X", np.where(cv <= yc, "Y", "Z")).astype("<U1")
    return XYZResult(classes, cv)


def demand_pattern(
    y: ArrayLike, *, adi_cutoff: float = 1.32, cv2_cutoff: float = 0.49
) -> DemandPatternResult:
    """Syntetos-Boylan-Croston demand pattern (Syntetos, Boylan and Croston 2005).

    ADI = p, the average inter-demand interval in periods = observed periods / periods
    with demand; CV^2 = squared coefficient of variation of the non-zero sizes
    (population variance, as the sizes are treated as the whole sample).
    smooth: ADI < 1.32 and CV^2 < 0.49; erratic: ADI < 1.32, CV^2 >= 0.49;
    intermittent: ADI >= 1.32, CV^2 < 0.49; lumpy: both at or above. A series with fewer
    than one demand is ``no_demand``; with one demand CV^2 is 0.

    Examples
    --------
    >>> demand_pattern([[5.0, 5.0, 5.0, 5.0], [0.0, 0.0, 3.0, 0.0]]).patterns.tolist()
    ['smooth', 'intermittent']
    """
    arr = np.ascontiguousarray(_matrix(y, "demand_pattern"))
    n_obs = _history_length(arr)
    n_dem, mean, sq_dev = _observed_moments(arr, True)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = sq_dev / np.maximum(n_dem, 1)
        cv2 = np.where(mean > 0, var / mean**2, np.nan)
        adi = np.where(n_dem > 0, n_obs / np.maximum(n_dem, 1), np.inf)
    high_adi = adi >= adi_cutoff
    high_cv = cv2 >= cv2_cutoff
    patterns = np.where(
        high_adi,
        np.where(high_cv, DemandPattern.LUMPY.value, DemandPattern.INTERMITTENT.value),
        np.where(high_cv, DemandPattern.ERRATIC.value, DemandPattern.SMOOTH.value),
    ).astype("<U12")
    patterns[n_dem == 0] = DemandPattern.NO_DEMAND.value
    return DemandPatternResult(patterns, adi.astype(np.float64), cv2.astype(np.float64), n_dem)


def lifecycle_stage(
    y: ArrayLike,
    *,
    config: ClassificationConfig | None = None,
    end_of_life_flag: ArrayLike | None = None,
) -> NDArray[np.str_]:
    """Lifecycle stage from history length, recent demand, trend and item flags.

    Rules, applied in this order (``c`` is the configuration):

    1. ``end_of_life`` when the item is flagged, or no demand in the last
       ``c.end_of_life_periods`` periods while the history is at least that long;
    2. ``new`` when fewer than ``c.new_periods`` periods are observed;
    3. ``growth`` / ``decline`` when the mean of the last ``c.trend_window`` periods is
       above ``1 + c.growth_threshold`` (below ``1 - c.decline_threshold``) times the mean
       of the ``c.trend_window`` periods before (needs two full windows);
    4. ``mature`` otherwise.

    Examples
    --------
    >>> cfg = ClassificationConfig(new_periods=3, trend_window=2, end_of_life_periods=3)
    >>> lifecycle_stage([[np.nan, np.nan, 1.0, 2.0], [1, 1, 3, 3], [2, 0, 0, 0]],
    ...                 config=cfg).tolist()
    ['new', 'growth', 'end_of_life']
    """
    c = ClassificationConfig() if config is None else config
    arr = _matrix(y, "lifecycle_stage")
    n, t = arr.shape
    n_obs = _history_length(arr)
    filled = np.nan_to_num(arr, nan=0.0)
    k = c.end_of_life_periods
    recent = filled[:, max(t - k, 0) :].sum(axis=1)
    eol = (n_obs >= k) & (recent <= 0)
    if end_of_life_flag is not None:
        flag = np.asarray(end_of_life_flag, dtype=bool).reshape(-1)
        if flag.size != n:
            raise InvalidDataError(
                f"lifecycle_stage: end_of_life_flag has {flag.size} values for {n} series."
            )
        eol |= flag
    w = c.trend_window
    last = filled[:, max(t - w, 0) :].mean(axis=1) if t else np.zeros(n)
    prev = filled[:, max(t - 2 * w, 0) : max(t - w, 0)].mean(axis=1) if t >= 2 * w else last
    enough = n_obs >= 2 * w
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = enough & (last > (1.0 + c.growth_threshold) * prev)
        decline = enough & (last < (1.0 - c.decline_threshold) * prev)
    stage = np.full(n, LifecycleStage.MATURE.value, dtype="<U12")
    stage[decline] = LifecycleStage.DECLINE.value
    stage[growth] = LifecycleStage.GROWTH.value
    stage[n_obs < c.new_periods] = LifecycleStage.NEW.value
    stage[eol] = LifecycleStage.END_OF_LIFE.value
    return stage


def abc_criteria(
    y: ArrayLike,
    *,
    periods_per_year: int = 12,
    unit_value: ArrayLike | None = None,
    unit_price: ArrayLike | None = None,
) -> dict[str, NDArray[np.float64]]:
    """The built-in ABC criteria (:class:`ABCCriterion`) of N series over their last year.

    With D_i the annual quantity (mean of the observed periods among the last
    ``periods_per_year``, times ``periods_per_year``), v_i the unit value (cost) and p_i
    the unit price:

    - ``volume`` = D_i (base units per year);
    - ``annual_value`` = D_i v_i, the annual consumption value of Silver, Pyke and Thomas
      (2017, section 2.4);
    - ``order_lines`` = number of periods with positive demand among the last
      ``periods_per_year`` (how often the item is asked for: a proxy for order lines
      when the demand carries no order identifier);
    - ``margin`` = D_i (p_i - v_i), only when ``unit_price`` is given; a series whose
      price is unknown (NaN) gets margin 0 (it cannot earn a class on margin).

    Parameters
    ----------
    y
        (N, T) demand, NaN before each series' first observation.
    periods_per_year
        Planning buckets per year (52 for weeks, 12 for months).
    unit_value, unit_price
        (N,) cost and selling price per unit; ``unit_value`` defaults to 1.

    Examples
    --------
    >>> c = abc_criteria([[0.0, 2.0, 4.0, 0.0]], periods_per_year=4,
    ...                  unit_value=[3.0], unit_price=[5.0])
    >>> {k: v.tolist() for k, v in sorted(c.items())}
    {'annual_value': [18.0], 'margin': [12.0], 'order_lines': [2.0], 'volume': [6.0]}
    """
    arr = _matrix(y, "abc_criteria")
    n = arr.shape[0]
    if int(periods_per_year) < 1:
        raise parameter_error(
            "abc_criteria", "periods_per_year", "an integer >= 1", periods_per_year
        )
    recent = arr[:, -int(periods_per_year) :]
    observed = np.maximum((~np.isnan(recent)).sum(axis=1), 1)
    volume = np.nansum(recent, axis=1) / observed * periods_per_year
    value = _per_series(unit_value, n, "unit_value", default=1.0)
    out = {
        ABCCriterion.VOLUME.value: volume,
        ABCCriterion.ANNUAL_VALUE.value: volume * value,
        ABCCriterion.ORDER_LINES.value: (np.nan_to_num(recent, nan=0.0) > 0)
        .sum(axis=1)
        .astype(np.float64),
    }
    if unit_price is not None:
        price = _per_series(unit_price, n, "unit_price", default=np.nan)
        out[ABCCriterion.MARGIN.value] = np.where(np.isnan(price), 0.0, volume * (price - value))
    return out


def _per_series(
    values: ArrayLike | None, n: int, name: str, *, default: float
) -> NDArray[np.float64]:
    if values is None:
        return np.full(n, default)
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size != n:
        raise InvalidDataError(f"abc_criteria: {name} has {arr.size} values for {n} series.")
    return arr


def classify(
    y: ArrayLike,
    *,
    criteria: Mapping[str, ArrayLike] | None = None,
    config: ClassificationConfig | None = None,
    periods_per_year: int = 12,
    unit_value: ArrayLike | None = None,
    unit_price: ArrayLike | None = None,
    end_of_life_flag: ArrayLike | None = None,
) -> Classification:
    """Classify N series at once under one configuration.

    Parameters
    ----------
    y
        (N, T) demand, NaN before each series' first observation.
    criteria
        Criterion name -> (N,) values for (multi-criteria) ABC. A weighted criterion not
        given here is computed by :func:`abc_criteria` when it is one of
        :class:`ABCCriterion` (``margin`` only when ``unit_price`` is given).
    config
        :class:`ClassificationConfig`; the defaults when omitted.
    unit_value, unit_price
        (N,) unit cost (default 1) and unit selling price of each series.
    end_of_life_flag
        (N,) True where the item master declares the item at end of life
        (:func:`lifecycle_stage`).

    Raises
    ------
    InvalidParameterError
        When a criterion with a positive weight is neither given nor computable; the
        message lists the criteria that are.
    """
    c = ClassificationConfig() if config is None else config
    arr = _matrix(y, "classify")
    n = arr.shape[0]
    builtin = abc_criteria(
        arr, periods_per_year=periods_per_year, unit_value=unit_value, unit_price=unit_price
    )
    crit: dict[str, ArrayLike] = {**builtin, **dict(criteria or {})}
    # A zero weight does not need data: such a criterion cannot change the score.
    weights = {k: w for k, w in c.abc_criteria.items() if w > 0}
    missing = sorted(set(weights) - set(crit))
    if missing:
        raise parameter_error(
            "classify",
            "config.abc_criteria",
            f"criteria that can be computed from the data given: {sorted(crit)}",
            missing,
            hint="'margin' needs unit_price; other criteria must be passed in 'criteria'.",
        )
    for name, values in crit.items():
        if np.asarray(values).reshape(-1).size != n:
            raise InvalidDataError(
                f"classify: criterion {name!r} has {np.asarray(values).size} values for {n} series."
            )
    abc = abc_multi_criteria(crit, weights=weights, cutoffs=c.abc_cutoffs)
    return Classification(
        abc=abc,
        xyz=xyz_classify(arr, cutoffs=c.xyz_cutoffs),
        pattern=demand_pattern(arr, adi_cutoff=c.adi_cutoff, cv2_cutoff=c.cv2_cutoff),
        lifecycle=lifecycle_stage(arr, config=c, end_of_life_flag=end_of_life_flag),
        history_length=_history_length(arr),
        config_version=c.version,
        annual_value=np.asarray(crit["annual_value"], dtype=np.float64).reshape(-1),
        criteria={k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in crit.items()},
    )
