"""Frame-level policy computation: demand panel + item parameters -> policies frame.

The steps, all vectorized over item-locations:

1. **Demand statistics** per series from the history panel (mean and standard deviation
   of per-bucket demand over the last ``history_periods`` observed buckets), or from a
   forecast frame (mean of the forecast over the protection interval; its ``sd`` column
   when present, else the history's).
2. **Parameters** per series: defaults from :class:`PolicyOptions`, overridden by the
   columns of an optional ``items`` frame keyed by ``item_id`` (and ``location_id`` when
   present): ``lead_time``, ``lead_time_sd``, ``review_period``, ``unit_cost``,
   ``holding_cost_rate`` (per year), ``order_cost``, ``moq``, ``pack_size``,
   ``max_order_qty``, ``shelf_life`` (buckets), ``service_target``, ``service_type``,
   ``policy``; for issue #4 sections 5-7 also ``defect_rate``, ``customer_tolerance``,
   ``lower_moq``, ``lower_moq_premium``, ``make_to_order_premium``, ``obsolescence_rate``.
3. **Pattern and distribution**: Syntetos-Boylan-Croston class from the history, the
   demand family from :func:`~stockpilot.core.policy.leadtime_demand.choose_distribution`.
4. **Lot size**: where order and holding costs are known, the rule per line and its reason
   from :func:`~stockpilot.core.lotsizing.choose_lot_sizing_method` on the history window,
   and a stationary lot for it (``_rule_quantity``: EOQ, POQ periods x mean, the binding
   MOQ / pack, or the average lot of the Wagner-Whitin / Silver-Meal plan over the window);
   else lot-for-lot, one review period of demand. Then MOQ, pack multiple, maximum order
   (``round_order_quantity``) and the shelf-life cap (never more than sells within the
   shelf life).
5. **Policy type** when not given: batching pays (a costed rule other than lot-for-lot)
   -> ``s_Q`` (review every bucket) or ``R_s_S`` (review period > 1); otherwise
   ``base_stock`` / ``R_S``.
6. **Levels** for the service target with the periodic-review loss expressions (the
   model is reviewed once per bucket at least) and integer rounding up.
7. **Defect rate** ``p``: lot ``Q / (1 - p)`` and safety stock ``SS / (1 - p)``
   (:func:`~stockpilot.core.supplier.defect_adjustment`), levels raised accordingly.
8. **MOQ exceptions** (MOQ covering more than ``moq_max_coverage`` buckets):
   :func:`~stockpilot.core.moq.moq_exception` costs and recommendation; **push/pull** per
   line from :func:`~stockpilot.core.push_pull.choose_push_pull`.
9. **Explanation** of the drivers of each line.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.core.lotsizing import (
    LotSizingMethod,
    choose_lot_sizing_method,
    eoq_quantity_discount,
    plan_lots,
    round_order_quantity,
)
from stockpilot.core.moq import moq_exception
from stockpilot.core.policy.explain import explain_policies
from stockpilot.core.policy.leadtime_demand import (
    DemandDistribution,
    LeadTimeDemand,
    classify_pattern,
    lead_time_demand,
)
from stockpilot.core.policy.policies import (
    InventoryPolicy,
    r_s_s_service,
    r_s_service,
    s_q_cost_optimal_reorder_point,
    s_q_service,
)
from stockpilot.core.policy.service import as_service_type, validate_service_target
from stockpilot.core.policy.time_phased import r_s_time_phased
from stockpilot.core.push_pull import choose_push_pull
from stockpilot.core.review import choose_review_type
from stockpilot.core.supplier import defect_adjustment
from stockpilot.engine.panel import Panel
from stockpilot.errors import InvalidDataError, parameter_error
from stockpilot.vocab import BUCKET_DAYS, PERIODS_PER_YEAR, Bucket, PolicyType, ServiceType

__all__ = [
    "ERP_EXPORT_COLUMNS",
    "EXTRA_COLUMNS",
    "ITEM_PARAMETER_COLUMNS",
    "MOQ_COLUMNS",
    "POLICY_COLUMNS",
    "TIME_PHASED_COLUMNS",
    "PolicyOptions",
    "compute_policies",
    "compute_time_phased_policies",
    "erp_export",
]

FloatArray = NDArray[np.float64]

POLICY_COLUMNS = (
    "item_id",
    "location_id",
    "policy",
    "review_period",
    "lead_time",
    "reorder_point",
    "order_quantity",
    "order_up_to",
    "safety_stock",
    "service_type",
    "service_target",
    "expected_service",
    "lot_sizing_rule",
    "explanation",
)
"""The policies exchange format of DESIGN.md section 3 (further columns follow these)."""

ITEM_PARAMETER_COLUMNS = (
    "lead_time",
    "lead_time_sd",
    "review_period",
    "unit_cost",
    "holding_cost_rate",
    "order_cost",
    "moq",
    "pack_size",
    "max_order_qty",
    "shelf_life",
    "service_target",
    "stockout_cost",
    "defect_rate",
    "customer_tolerance",
    "lower_moq",
    "lower_moq_premium",
    "make_to_order_premium",
    "obsolescence_rate",
)
_TEXT_PARAMETERS = ("service_type", "policy", "price_breaks")

ERP_EXPORT_COLUMNS = (
    "item_id",
    "location_id",
    "policy",
    "review_period",
    "reorder_point",
    "order_quantity",
    "min_qty",
    "max_qty",
    "safety_stock",
)
"""ERP import layout: integers, ``min_qty`` = reorder point, ``max_qty`` = order-up-to."""

NEGLIGIBLE_DEMAND = 1e-9
"""Mean demand per bucket at or below which a line has no demand to stock for."""


@dataclass(frozen=True)
class PolicyOptions:
    """Defaults for parameters an item does not carry (periods are planning buckets).

    Attributes
    ----------
    lead_time, lead_time_sd, review_period
        In buckets. ``review_period`` 1 (or 0, continuous review) means the position is
        checked every bucket: a bucketed history cannot resolve finer reviews.
    service_type, service_target
        Type 1 (``cycle_service``) or type 2 (``fill_rate``) and its target.
    holding_cost_rate
        Annual holding cost as a share of unit cost (0.25 = 25 % per year).
    order_cost, unit_cost
        Fixed cost per order and unit cost; NaN = unknown (no EOQ, lot-for-lot).
    history_periods
        Buckets of history used for demand statistics (None: all).
    policy
        Force one policy type for every line (None: the rule of step 5).
    integer_levels
        Round reorder points and order-up-to levels up to whole units.
    lot_sizing_periods
        Buckets of history (the most recent) the lot-sizing rule is chosen and the
        time-phased rules (Wagner-Whitin, Silver-Meal) are planned on (None: all).
    moq_max_coverage
        An MOQ covering more than this many buckets of mean demand is an MOQ exception:
        the options of :func:`stockpilot.core.moq.moq_exception` are costed.
    interval_variance
        Use the variance of the history's own (L + R)-bucket sums when it exceeds the
        independent-bucket variance (autocorrelated demand); see ``_interval_sd``.
    """

    lead_time: float = 1.0
    lead_time_sd: float = 0.0
    review_period: float = 1.0
    service_type: ServiceType = ServiceType.FILL_RATE
    service_target: float = 0.95
    holding_cost_rate: float = 0.25
    order_cost: float = float("nan")
    unit_cost: float = float("nan")
    history_periods: int | None = None
    policy: PolicyType | None = None
    integer_levels: bool = True
    interval_variance: bool = True
    lot_sizing_periods: int | None = 104
    moq_max_coverage: float = 6.0


def location_review(locations: pl.DataFrame, bucket: Bucket) -> pl.DataFrame:
    """Review period and information delay per location from D's review-type rule.

    ``locations`` has ``location_id, review_capability`` and optionally ``latency_hours``
    and ``cycle_days``; :func:`stockpilot.core.review.choose_review_type` decides
    continuous vs periodic review. Returns ``location_id, _review_period`` (whole buckets,
    at least 1: the panel cannot see inside a bucket), ``_lead_time_add`` (feed latency in
    buckets, added to the lead time) and ``_review_reason``.
    """
    missing = [c for c in ("location_id", "review_capability") if c not in locations.columns]
    if missing:
        raise InvalidDataError(
            f"compute_policies: the locations frame lacks {missing}; got {locations.columns}."
        )
    latency = (
        locations["latency_hours"].cast(pl.Float64).fill_null(0.0).to_numpy()
        if "latency_hours" in locations.columns
        else 0.0
    )
    cycle = (
        locations["cycle_days"].cast(pl.Float64).fill_null(0.0).to_numpy()
        if "cycle_days" in locations.columns
        else 0.0
    )
    choice = choose_review_type(
        locations["review_capability"].cast(pl.String).to_numpy(),
        latency_hours=latency,
        cycle_days=cycle,
        bucket=bucket,
    )
    bucket_days = BUCKET_DAYS[bucket]
    return pl.DataFrame(
        {
            "location_id": locations["location_id"].cast(pl.String),
            "_review_period": np.maximum(np.ceil(choice.review_period - 1e-9), 1.0),
            "_lead_time_add": choice.information_delay_days / bucket_days,
            "_review_reason": list(choice.reasons),
            "_customer_tolerance": (
                locations["customer_tolerance"].cast(pl.Float64).to_numpy()
                if "customer_tolerance" in locations.columns
                else np.full(locations.height, np.nan)
            ),
        }
    )


def _item_parameters(
    keys: pl.DataFrame,
    items: pl.DataFrame | None,
    options: PolicyOptions,
    review: pl.DataFrame | None = None,
) -> pl.DataFrame:
    defaults = {
        "lead_time": options.lead_time,
        "lead_time_sd": options.lead_time_sd,
        "review_period": options.review_period,
        "unit_cost": options.unit_cost,
        "holding_cost_rate": options.holding_cost_rate,
        "order_cost": options.order_cost,
        "moq": 0.0,
        "pack_size": 1.0,
        "max_order_qty": float("inf"),
        "shelf_life": float("inf"),
        "service_target": options.service_target,
        "stockout_cost": float("nan"),
        "defect_rate": 0.0,
        "customer_tolerance": 0.0,
        "lower_moq": float("nan"),
        "lower_moq_premium": 0.0,
        "make_to_order_premium": 0.0,
        "obsolescence_rate": 0.0,
    }
    frame = keys.select("item_id", "location_id")
    if items is not None:
        if "item_id" not in items.columns:
            raise InvalidDataError(
                f"compute_policies: the items frame needs an 'item_id' column; got {items.columns}."
            )
        on = ["item_id", "location_id"] if "location_id" in items.columns else ["item_id"]
        wanted = [c for c in (*ITEM_PARAMETER_COLUMNS, *_TEXT_PARAMETERS) if c in items.columns]
        dup = items.select(on).is_duplicated()
        if dup.any():
            raise InvalidDataError(
                f"compute_policies: the items frame has {int(dup.sum())} duplicated {on} rows; "
                "keep one row per key."
            )
        casts = [pl.col(c).cast(pl.String) for c in on]
        casts += [
            pl.col(c).cast(pl.Float64, strict=False) for c in wanted if c in ITEM_PARAMETER_COLUMNS
        ]
        casts += [pl.col(c).cast(pl.String) for c in wanted if c in _TEXT_PARAMETERS]
        frame = frame.join(items.select(casts), on=on, how="left", maintain_order="left")
    if review is not None:
        frame = frame.join(review, on="location_id", how="left", maintain_order="left")
        given = pl.col("review_period") if "review_period" in frame.columns else pl.lit(None)
        tolerance = (
            pl.col("customer_tolerance") if "customer_tolerance" in frame.columns else pl.lit(None)
        )
        frame = frame.with_columns(
            given.cast(pl.Float64)
            .fill_nan(None)
            .fill_null(pl.col("_review_period"))
            .alias("review_period"),
            tolerance.cast(pl.Float64)
            .fill_nan(None)
            .fill_null(pl.col("_customer_tolerance").fill_nan(None))
            .alias("customer_tolerance"),
        )
    exprs = [
        (pl.col(c).fill_null(v).fill_nan(v) if c in frame.columns else pl.lit(v)).alias(c)
        for c, v in defaults.items()
    ]
    frame = frame.with_columns(exprs)
    if review is not None:
        frame = frame.with_columns(
            (pl.col("lead_time") + pl.col("_lead_time_add").fill_null(0.0)).alias("lead_time"),
            pl.col("_review_reason").fill_null(""),
        )
    service_type = options.service_type.value
    frame = frame.with_columns(
        (
            pl.col("service_type").fill_null(service_type)
            if "service_type" in frame.columns
            else pl.lit(service_type)
        ).alias("service_type"),
        (
            pl.col("policy").fill_null("")
            if "policy" in frame.columns
            else pl.lit(options.policy.value if options.policy else "")
        ).alias("policy"),
    )
    return frame


def _validate(params: pl.DataFrame) -> None:
    owner = "compute_policies"
    problems: list[str] = []
    for name, low, strict in (
        ("lead_time", 0.0, False),
        ("lead_time_sd", 0.0, False),
        ("review_period", 0.0, False),
        ("moq", 0.0, False),
        ("pack_size", 0.0, True),
        ("max_order_qty", 0.0, True),
        ("shelf_life", 0.0, True),
        ("defect_rate", 0.0, False),
        ("customer_tolerance", 0.0, False),
        ("lower_moq_premium", 0.0, False),
        ("make_to_order_premium", 0.0, False),
        ("obsolescence_rate", 0.0, False),
    ):
        col = params[name].to_numpy()
        bad = ~(col > low) if strict else ~(col >= low)
        if bad.any():
            rows = params.filter(pl.Series(bad))
            first = rows.row(0, named=True)
            kind = "> 0" if strict else ">= 0"
            problems.append(
                f"{name} must be {kind}: {int(bad.sum())} row(s), e.g. item "
                f"{first['item_id']!r} at {first['location_id']!r} has {first[name]!r}"
            )
    for name in ("defect_rate", "obsolescence_rate"):
        over = params[name].to_numpy() >= 1.0
        if over.any():
            first = params.filter(pl.Series(over)).row(0, named=True)
            problems.append(
                f"{name} must be < 1: {int(over.sum())} row(s), e.g. item "
                f"{first['item_id']!r} has {first[name]!r}"
            )
    lower = params["lower_moq"].to_numpy()
    bad_l = lower < 0
    if bad_l.any():
        problems.append(f"lower_moq must be >= 0 (or empty): {int(bad_l.sum())} row(s)")
    target = params["service_target"].to_numpy()
    bad_t = ~((target > 0) & (target < 1))
    if bad_t.any():
        first = params.filter(pl.Series(bad_t)).row(0, named=True)
        problems.append(
            f"service_target must be in (0, 1): {int(bad_t.sum())} row(s), e.g. item "
            f"{first['item_id']!r} has {first['service_target']!r}"
        )
    valid_types = {s.value for s in ServiceType}
    bad_types = sorted(set(params["service_type"].unique().to_list()) - valid_types)
    if bad_types:
        problems.append(f"service_type must be one of {sorted(valid_types)}; got {bad_types}")
    valid_pol = {p.value for p in PolicyType} | {""}
    bad_pol = sorted(set(params["policy"].unique().to_list()) - valid_pol)
    if bad_pol:
        problems.append(f"policy must be one of {sorted(valid_pol - {''})} or empty; got {bad_pol}")
    if problems:
        raise parameter_error(owner, "items", "valid per-item parameters", "; ".join(problems))


def _history_stats(
    values: FloatArray, history_periods: int | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    window = values if history_periods is None else values[:, -history_periods:]
    observed = ~np.isnan(window)
    count = observed.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.nansum(window, axis=1) / np.maximum(count, 1), 0.0)
        dev = np.where(observed, window - mean[:, None], 0.0)
        var = (dev**2).sum(axis=1) / np.maximum(count - 1, 1)
    return mean, np.sqrt(np.where(count > 1, var, 0.0)), window


def _interval_sd(window: FloatArray, horizon: FloatArray, sd: FloatArray) -> FloatArray:
    """Per-bucket sd implied by the variance of the history's own ``H``-bucket sums.

    Lead-time demand variance ``H sigma^2`` assumes independent buckets; positively
    autocorrelated demand (level shifts, promotions, runs) makes the sums of H consecutive
    buckets vary more. The variance of the observed moving sums of length
    ``H = round(L + R)`` (non-overlapping information is not required; overlapping sums
    give an unbiased variance estimate) is compared with ``H sigma^2`` and the larger one
    kept, expressed per bucket: ``sqrt(max(var_H / H, sigma^2))`` (Silver, Pyke & Thomas
    2017, Section 6.9.3, estimate the variability of demand over the lead time directly).
    Rows with fewer than ``H + 3`` observed buckets keep ``sigma``.
    """
    n, t = window.shape
    if n == 0 or t == 0:
        return sd
    h = np.clip(np.rint(horizon).astype(np.int64), 1, t)
    observed = ~np.isnan(window)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.nan_to_num(window), axis=1)], axis=1)
    ccount = np.concatenate([np.zeros((n, 1)), np.cumsum(observed, axis=1)], axis=1)
    ends = np.arange(1, t + 1)[None, :]
    starts = ends - h[:, None]
    valid = starts >= 0
    safe = np.where(valid, starts, 0)
    sums = csum[:, 1:] - np.take_along_axis(csum, safe, axis=1)
    full = (ccount[:, 1:] - np.take_along_axis(ccount, safe, axis=1)) == h[:, None]
    use = valid & full
    count = use.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_s = np.where(use, sums, 0.0).sum(axis=1) / np.maximum(count, 1)
        var_s = np.where(use, (sums - mean_s[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(
            count - 1, 1
        )
    enough = count >= 3
    return np.where(enough, np.sqrt(np.maximum(var_s / h, sd**2)), sd)


def _forecast_mean(
    keys: pl.DataFrame, forecast: pl.DataFrame, horizon: FloatArray
) -> tuple[FloatArray, FloatArray | None]:
    need = ("item_id", "location_id", "period_start", "mean")
    missing = [c for c in need if c not in forecast.columns]
    if missing:
        raise InvalidDataError(
            f"compute_policies: the forecast frame lacks {missing}; got {forecast.columns}."
        )
    ordered = forecast.sort("item_id", "location_id", "period_start").with_columns(
        pl.int_range(pl.len()).over("item_id", "location_id").alias("_step")
    )
    joined = keys.select("item_id", "location_id").with_columns(
        pl.Series("_h", np.maximum(np.ceil(horizon), 1.0))
    )
    sel = [pl.col("mean").cast(pl.Float64)]
    if "sd" in forecast.columns:
        sel.append(pl.col("sd").cast(pl.Float64))
    agg = (
        joined.join(ordered, on=["item_id", "location_id"], how="left")
        .filter(pl.col("_step") < pl.col("_h"))
        .group_by("item_id", "location_id")
        .agg([s.mean() for s in sel])
    )
    back = keys.select("item_id", "location_id").join(
        agg, on=["item_id", "location_id"], how="left", maintain_order="left"
    )
    mean = back["mean"].fill_null(np.nan).to_numpy().astype(np.float64)
    sd = (
        back["sd"].fill_null(np.nan).to_numpy().astype(np.float64) if "sd" in back.columns else None
    )
    return mean, sd


def _join_notes(notes: NDArray[np.str_], extra: NDArray[np.str_]) -> NDArray[np.str_]:
    """Append ``extra`` to ``notes`` with "; " where both are non-empty (vectorized)."""
    extra = np.asarray(extra).astype(str)
    sep = np.where((np.char.str_len(notes) > 0) & (np.char.str_len(extra) > 0), "; ", "")
    return np.char.add(np.char.add(notes, sep), extra)


def _rule_quantity(
    mean: FloatArray,
    window: FloatArray,
    *,
    params: pl.DataFrame,
    pattern: NDArray[np.str_],
    h: FloatArray,
    costed: NDArray[np.bool_],
    review_demand: FloatArray,
    lot_sizing_periods: int | None,
) -> tuple[FloatArray, NDArray[np.str_], NDArray[np.str_]]:
    """Stationary lot per line from D's rule choice (:func:`choose_lot_sizing_method`).

    Costed lines (order cost and holding cost known) get the rule and its reason from
    ``choose_lot_sizing_method`` on the history window (leading unobserved buckets filled
    with the mean, so the rule sees the same level); the lot is then

    * lot-for-lot: one review period of demand ``D R``;
    * fixed order quantity: the binding MOQ / pack multiple (``LotSizingChoice.fixed_quantity``);
    * EOQ: ``sqrt(2 A D / h)``;
    * period order quantity: ``P D`` with ``P = max(1, round(EOQ / D))``, capped at the
      shelf life in whole buckets (Silver, Pyke & Thomas 2017, section 6.3);
    * Wagner-Whitin / Silver-Meal (time-phased): the average lot of the rule's plan over the
      window (``plan_lots``, unobserved buckets as zero demand), ``D x buckets / orders``
      (equal to total demand / orders when ``D`` is the history mean).

    Lines without costs keep lot-for-lot over one review period.
    """
    n = mean.shape[0]
    rule = np.full(n, "lot_for_lot", dtype="<U32")
    reason = np.full(n, "order or holding cost unknown: lot-for-lot over one review period")
    reason = reason.astype("<U400")
    q = review_demand.copy()
    idx = np.flatnonzero(costed)
    if idx.size == 0 or window.shape[1] == 0:
        return q, rule, reason
    win = window[idx] if lot_sizing_periods is None else window[idx, -lot_sizing_periods:]
    observed = ~np.isnan(win)
    m = mean[idx]
    filled = np.where(observed, np.maximum(np.nan_to_num(win), 0.0), m[:, None])
    col = {
        c: params[c].to_numpy().astype(np.float64)[idx]
        for c in ("order_cost", "shelf_life", "moq", "pack_size")
    }
    choice = choose_lot_sizing_method(
        demand=filled,
        setup_cost=col["order_cost"],
        holding_cost=h[idx],
        pattern=pattern[idx],
        shelf_life_periods=col["shelf_life"],
        moq=col["moq"],
        pack_size=col["pack_size"],
    )
    methods = np.array([x.value for x in choice.methods], dtype="<U32")
    sub_q = review_demand[idx].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        eoq_q = np.sqrt(2.0 * col["order_cost"] * m / h[idx])
        periods = np.maximum(np.round(eoq_q / np.where(m > 0, m, 1.0)), 1.0)
    life = col["shelf_life"]
    periods = np.where(
        np.isfinite(life), np.minimum(periods, np.maximum(np.floor(life), 1)), periods
    )
    sub_q = np.where(methods == LotSizingMethod.EOQ.value, eoq_q, sub_q)
    sub_q = np.where(methods == LotSizingMethod.PERIOD_ORDER_QUANTITY.value, periods * m, sub_q)
    fixed = np.nan_to_num(choice.fixed_quantity)
    sub_q = np.where(methods == LotSizingMethod.FIXED_ORDER_QUANTITY.value, fixed, sub_q)
    zeroed = np.where(observed, np.maximum(np.nan_to_num(win), 0.0), 0.0)
    for method in (LotSizingMethod.WAGNER_WHITIN, LotSizingMethod.SILVER_MEAL):
        rows = methods == method.value
        if not rows.any():
            continue
        plan = plan_lots(method, zeroed[rows], col["order_cost"][rows], h[idx][rows])
        orders = plan.n_orders.astype(np.float64)
        count = observed[rows].sum(axis=1)
        avg = np.where(orders > 0, m[rows] * count / np.maximum(orders, 1.0), sub_q[rows])
        sub_q[rows] = avg
    reasons = np.asarray(choice.reasons, dtype="<U400")
    if "price_breaks" in params.columns:
        unit_cost = params["unit_cost"].to_numpy().astype(np.float64)[idx]
        eoq_rows = (methods == LotSizingMethod.EOQ.value) & (m > 0) & (unit_cost > 0)
        schedule = price_schedules(params["price_breaks"].to_numpy()[idx], unit_cost)
        rows = np.flatnonzero(eoq_rows & schedule.given)
        if rows.size:
            best = eoq_quantity_discount(
                m[rows],
                col["order_cost"][rows],
                h[idx][rows] / unit_cost[rows],  # carrying rate per bucket
                schedule.breaks[rows],
                schedule.prices[rows],
            )
            sub_q[rows] = best.order_quantity
            note = np.char.add(
                np.char.mod("; price breaks: Q = %.4g at ", best.order_quantity),
                np.char.mod("%.4g per unit (all-units discount, SPT 2017 4.5)", best.unit_price),
            )
            reasons[rows] = np.char.add(reasons[rows], note)
    q[idx] = np.where(np.isfinite(sub_q) & (sub_q > 0), sub_q, review_demand[idx])
    rule[idx] = methods
    reason[idx] = reasons
    return q, rule, reason


@dataclass(frozen=True)
class PriceSchedules:
    """All-units price schedules per line: ``breaks`` (N, K) starting at 0, ``prices``
    (N, K); ``given`` is False where a line has no (valid) schedule."""

    breaks: FloatArray
    prices: FloatArray
    given: NDArray[np.bool_]


def price_schedules(text: NDArray[np.object_], unit_cost: FloatArray) -> PriceSchedules:
    """Parse ``'qty:price;qty:price'`` price breaks (the supplier-item attribute) into
    schedules whose first interval starts at 0 at ``unit_cost``.

    Schedules are padded to a common length with far-away breaks at the last price (an
    interval no optimum falls in). A schedule that does not parse, or whose breaks do
    not increase or whose prices are not positive, counts as not given.
    """
    n = len(text)
    long = (
        pl.DataFrame({"text": pl.Series(list(text), dtype=pl.String)})
        .with_row_index("row")
        .with_columns(pl.col("text").fill_null("").str.strip_chars())
        .filter(pl.col("text") != "")
        .with_columns(pl.col("text").str.split(";"))
        .explode("text")
        .with_columns(pl.col("text").str.strip_chars().str.split_exact(":", 1))
        .unnest("text")
        .with_columns(
            pl.col("field_0").str.strip_chars().cast(pl.Float64, strict=False).alias("qty"),
            pl.col("field_1").str.strip_chars().cast(pl.Float64, strict=False).alias("price"),
        )
        .with_columns(pl.col("row").cast(pl.Int64))
    )
    bad = long.filter(
        pl.col("qty").is_null()
        | pl.col("price").is_null()
        | (pl.col("qty") <= 0)
        | (pl.col("price") <= 0)
    )["row"]
    long = long.filter(~pl.col("row").is_in(bad.implode())).sort("row", "qty")
    counts = np.bincount(long["row"].to_numpy(), minlength=n) if long.height else np.zeros(n, int)
    k = int(counts.max()) + 1 if n else 1
    breaks = np.zeros((n, k))
    prices = np.repeat(np.asarray(unit_cost, dtype=np.float64)[:, None], k, axis=1)
    given = counts > 0
    if long.height:
        row = long["row"].to_numpy()
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(long.height) - start[row] + 1
        breaks[row, pos] = long["qty"].to_numpy()
        prices[row, pos] = long["price"].to_numpy()
        last = np.maximum.accumulate(
            np.where(np.arange(k)[None, :] <= counts[:, None], breaks, 0.0), axis=1
        )
        pad = np.arange(k)[None, :] > counts[:, None]
        far = last.max(axis=1, keepdims=True) * 1e6 + 1e12 * np.arange(k)[None, :]
        breaks = np.where(pad, far, breaks)
        last_price = prices[np.arange(n), counts]
        prices = np.where(pad, last_price[:, None], prices)
        given &= np.all(np.diff(breaks, axis=1) > 0, axis=1)
    return PriceSchedules(breaks=breaks, prices=prices, given=given)


def _lot_sizes(
    mean: FloatArray,
    params: pl.DataFrame,
    bucket: Bucket,
    *,
    window: FloatArray | None = None,
    pattern: NDArray[np.str_] | None = None,
    lot_sizing_periods: int | None = None,
) -> tuple[FloatArray, NDArray[np.str_], NDArray[np.str_], NDArray[np.str_], NDArray[np.bool_]]:
    """Order quantity, lot-sizing rule, its reason, adjustment notes, whether batching pays."""
    n = mean.shape[0]
    col = {c: params[c].to_numpy().astype(np.float64) for c in ITEM_PARAMETER_COLUMNS}
    review = col["review_period"]
    h = col["unit_cost"] * col["holding_cost_rate"] / PERIODS_PER_YEAR[bucket]
    costed = np.isfinite(h) & (h > 0) & np.isfinite(col["order_cost"]) & (col["order_cost"] > 0)
    costed &= mean > 0
    review_demand = np.maximum(mean * np.maximum(review, 1e-9), 0.0)
    if window is None:
        window = np.zeros((n, 0))
    if pattern is None:
        pattern = np.full(n, "smooth")
    raw, rule, reason = _rule_quantity(
        mean,
        window,
        params=params,
        pattern=pattern,
        h=h,
        costed=costed,
        review_demand=review_demand,
        lot_sizing_periods=lot_sizing_periods,
    )
    batching = costed & (rule != LotSizingMethod.LOT_FOR_LOT.value)
    q = np.where(raw > 0, raw, 0.0)
    notes = np.where(costed, np.char.add("lot sizing: ", reason.astype(str)), "").astype("<U600")
    rounded = round_order_quantity(
        q, moq=col["moq"], pack_size=col["pack_size"], max_order=col["max_order_qty"]
    )
    moq_hit = (col["moq"] > 0) & (q > 0) & (q < col["moq"])
    notes = _join_notes(
        notes, np.where(moq_hit, np.char.mod("lot raised to MOQ %g", col["moq"]), "")
    )
    packed = (col["pack_size"] > 1) & (rounded != q) & (q > 0)
    notes = _join_notes(
        notes, np.where(packed, np.char.mod("rounded to packs of %g", col["pack_size"]), "")
    )
    capped = np.isfinite(col["max_order_qty"]) & (rounded < np.maximum(q, col["moq"]))
    notes = _join_notes(
        notes, np.where(capped, np.char.mod("capped at max order %g", col["max_order_qty"]), "")
    )
    with np.errstate(invalid="ignore"):
        life = np.where(np.isfinite(col["shelf_life"]), col["shelf_life"] * mean, np.inf)
    shelf = np.isfinite(life) & (rounded > life) & (life > 0)
    pack = col["pack_size"]
    shelf_q = np.maximum(np.floor(life / pack) * pack, pack)
    rounded = np.where(shelf, np.minimum(rounded, shelf_q), rounded)
    notes = _join_notes(
        notes,
        np.where(
            shelf, np.char.mod("lot capped at %g buckets of shelf life", col["shelf_life"]), ""
        ),
    )
    raised = (rule == "lot_for_lot") & (col["moq"] > q) & (q > 0)
    rule = np.where(raised, "fixed_order_quantity", rule)
    reason = np.where(
        raised & ~costed,
        np.char.add(reason.astype(str), np.char.mod("; the MOQ %g is the fixed lot", col["moq"])),
        reason,
    )
    return rounded, rule, reason.astype(str), notes, batching


MOQ_COLUMNS = (
    "moq_recommendation",
    "moq_coverage_periods",
    "moq_cost_order_moq",
    "moq_cost_lower_moq",
    "moq_cost_make_to_order",
    "moq_reason",
)
"""MOQ-exception columns (empty / null on lines whose MOQ is not an exception)."""

EXTRA_COLUMNS = (
    "demand_mean",
    "demand_sd",
    "lead_time_sd",
    "pattern",
    "distribution",
    "expected_fill_rate",
    "expected_cycle_service",
    "lot_sizing_reason",
    "defect_rate",
    *MOQ_COLUMNS,
    "push_pull",
    "push_pull_reason",
)
"""Columns of :func:`compute_policies` after :data:`POLICY_COLUMNS`, in order."""


def _moq_exceptions(
    mean: FloatArray,
    window: FloatArray,
    lead_time: FloatArray,
    *,
    params: pl.DataFrame,
    bucket: Bucket,
    opts: PolicyOptions,
) -> tuple[list[pl.Series], NDArray[np.str_]]:
    """MOQ-exception columns (:data:`MOQ_COLUMNS`) and a short note per line.

    A line is an exception when its MOQ covers more than ``opts.moq_max_coverage`` buckets
    of mean demand. Exceptions with a known unit cost are costed by
    :func:`stockpilot.core.moq.moq_exception`: order the MOQ, ask for ``lower_moq`` (at
    ``lower_moq_premium``), or make to order (at ``make_to_order_premium``, ordering in the
    share of buckets with demand, customers waiting ``lead_time - customer_tolerance`` at
    ``stockout_cost`` per unit and bucket). Holding is ``holding_cost_rate`` per year
    converted to the bucket; setup is ``order_cost`` (0 when unknown).
    """
    n = mean.shape[0]
    col = {c: params[c].to_numpy().astype(np.float64) for c in ITEM_PARAMETER_COLUMNS}
    moq = col["moq"]
    d = np.where(mean > NEGLIGIBLE_DEMAND, mean, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(d > 0, moq / np.where(d > 0, d, 1.0), np.inf)
    coverage = np.where(moq > 0, coverage, 0.0)
    flagged = (moq > 0) & (coverage > opts.moq_max_coverage)
    unit = col["unit_cost"]
    rate = col["holding_cost_rate"] / PERIODS_PER_YEAR[bucket]
    costable = flagged & np.isfinite(unit) & (unit > 0) & np.isfinite(rate) & (rate >= 0)
    recommendation = np.full(n, "", dtype="<U16")
    costs = np.full((n, 3), np.nan)
    reason = np.where(
        flagged & ~costable,
        np.char.mod(
            "MOQ covers %.3g periods of demand, beyond the limit, but unit_cost or "
            "holding_cost_rate is unknown: options not costed",
            np.where(np.isfinite(coverage), coverage, 1e300),
        ),
        "",
    ).astype("<U600")
    idx = np.flatnonzero(costable)
    if idx.size:
        observed = ~np.isnan(window[idx]) if window.shape[1] else np.zeros((idx.size, 0), bool)
        count = observed.sum(axis=1)
        demanded = (np.nan_to_num(window[idx]) > 0).sum(axis=1) if window.shape[1] else count
        frequency = np.where(count > 0, demanded / np.maximum(count, 1), 1.0)
        stockout = col["stockout_cost"][idx]
        with np.errstate(invalid="ignore"):  # 0 x inf waiting cost of zero-demand lines
            res = moq_exception(
                demand_rate=d[idx],
                moq=moq[idx],
                unit_cost=unit[idx],
                holding_rate=rate[idx],
                setup_cost=np.nan_to_num(col["order_cost"][idx]),
                shelf_life_periods=col["shelf_life"][idx],
                obsolescence_rate=col["obsolescence_rate"][idx],
                lower_moq=col["lower_moq"][idx],
                lower_moq_premium=col["lower_moq_premium"][idx],
                supply_lead_time=lead_time[idx],
                customer_lead_time=col["customer_tolerance"][idx],
                backorder_cost=np.where(np.isfinite(stockout), stockout, np.inf),
                make_to_order_premium=col["make_to_order_premium"][idx],
                order_frequency=frequency,
                max_coverage_periods=opts.moq_max_coverage,
            )
        recommendation[idx] = np.array([r.value for r in res.recommendation], dtype="<U16")
        costs[idx] = np.column_stack(
            [res.cost_order_moq, res.cost_lower_moq, res.cost_make_to_order]
        )
        reason[idx] = np.array(res.reasons, dtype="<U600")
    costs = np.where(np.isfinite(costs), costs, np.nan)
    note = np.where(
        recommendation != "",
        np.char.add("MOQ exception: recommend ", recommendation),
        np.where(flagged, "MOQ exception (not costed)", ""),
    )
    columns = [
        pl.Series("moq_recommendation", recommendation.astype(str)),
        pl.Series("moq_coverage_periods", np.where(flagged, coverage, np.nan), nan_to_null=True),
        pl.Series("moq_cost_order_moq", costs[:, 0], nan_to_null=True),
        pl.Series("moq_cost_lower_moq", costs[:, 1], nan_to_null=True),
        pl.Series("moq_cost_make_to_order", costs[:, 2], nan_to_null=True),
        pl.Series("moq_reason", reason.astype(str)),
    ]
    return columns, note.astype(str)


def _choose_policy(params: pl.DataFrame, batching: NDArray[np.bool_]) -> NDArray[np.str_]:
    given = params["policy"].to_numpy().astype(str)
    periodic = params["review_period"].to_numpy() > 1.0
    auto = np.where(
        batching,
        np.where(periodic, PolicyType.R_S_S.value, PolicyType.S_Q.value),
        np.where(periodic, PolicyType.R_S.value, PolicyType.BASE_STOCK.value),
    )
    return np.where(given != "", given, auto)


def _subset(ltd: LeadTimeDemand, mask: NDArray[np.bool_]) -> LeadTimeDemand:
    samples = None if ltd.samples is None else ltd.samples[mask]
    return LeadTimeDemand(ltd.family[mask], ltd.mean[mask], ltd.variance[mask], samples)


def compute_policies(
    panel: Panel,
    *,
    items: pl.DataFrame | None = None,
    forecast: pl.DataFrame | None = None,
    options: PolicyOptions | None = None,
    locations: pl.DataFrame | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Policies for every series of a demand panel, in the DESIGN.md section 3 format.

    Parameters
    ----------
    panel
        Demand history (N, T) in planning buckets (``stockpilot.engine.panel.to_panel``).
    items
        Optional per-item (or per item-location) parameters; see the module docstring.
    forecast
        Optional forecasts (``item_id, location_id, period_start, mean`` and optionally
        ``sd``); the mean over the protection interval replaces the history mean.
    options
        Defaults for parameters items do not carry.
    locations
        Optional ``location_id, review_capability[, latency_hours, cycle_days]``: the
        review period (and the feed latency added to the lead time) then follows the
        continuous-vs-periodic rule of :mod:`stockpilot.core.review` wherever an item does
        not give its own ``review_period``.
    seed
        Seed of the empirical bootstrap (lumpy series).

    Returns
    -------
    polars.DataFrame
        :data:`POLICY_COLUMNS` then ``demand_mean, demand_sd, lead_time_sd, pattern,
        distribution, expected_fill_rate, expected_cycle_service``.
    """
    opts = options or PolicyOptions()
    as_service_type(opts.service_type, owner="PolicyOptions")
    validate_service_target(opts.service_target, owner="PolicyOptions")
    if not opts.moq_max_coverage > 0:
        raise parameter_error(
            "PolicyOptions", "moq_max_coverage", "a float > 0", opts.moq_max_coverage
        )
    if opts.lot_sizing_periods is not None and opts.lot_sizing_periods < 1:
        raise parameter_error(
            "PolicyOptions", "lot_sizing_periods", "an int >= 1 or None", opts.lot_sizing_periods
        )
    n = panel.n_series
    review_rule = location_review(locations, panel.bucket) if locations is not None else None
    params = _item_parameters(panel.keys, items, opts, review_rule)
    _validate(params)
    lt = params["lead_time"].to_numpy().astype(np.float64)
    lt_sd = params["lead_time_sd"].to_numpy().astype(np.float64)
    review = params["review_period"].to_numpy().astype(np.float64)
    target = params["service_target"].to_numpy().astype(np.float64)
    service_types = params["service_type"].to_numpy().astype(str)

    mean, sd, window = _history_stats(panel.values, opts.history_periods)
    if forecast is not None:
        f_mean, f_sd = _forecast_mean(panel.keys, forecast, lt + review)
        mean = np.where(np.isnan(f_mean), mean, f_mean)
        if f_sd is not None:
            sd = np.where(np.isnan(f_sd), sd, f_sd)
    pattern = classify_pattern(window) if n else np.array([], dtype=str)

    # Cost-based service: a backorder cost per unit and bucket replaces the target by the
    # critical ratio p / (p + h) (Snyder & Shen 2019, Thm 4.4), as a cycle service level.
    unit_cost = params["unit_cost"].to_numpy().astype(np.float64)
    h_bucket = unit_cost * params["holding_cost_rate"].to_numpy() / PERIODS_PER_YEAR[panel.bucket]
    p_cost = params["stockout_cost"].to_numpy().astype(np.float64)
    by_cost = np.isfinite(p_cost) & (p_cost > 0) & np.isfinite(h_bucket) & (h_bucket > 0)
    if by_cost.any():
        ratio = np.clip(p_cost / np.where(by_cost, p_cost + h_bucket, 1.0), 0.5, 0.9999)
        target = np.where(by_cost, ratio, target)
        service_types = np.where(by_cost, ServiceType.CYCLE_SERVICE.value, service_types)
    q, rule, lot_reason, notes, batching = _lot_sizes(
        mean,
        params,
        panel.bucket,
        window=window,
        pattern=pattern,
        lot_sizing_periods=opts.lot_sizing_periods,
    )

    if "_review_reason" in params.columns:
        reason = params["_review_reason"].to_numpy().astype(str)
        sep = np.where((np.char.str_len(notes) > 0) & (np.char.str_len(reason) > 0), "; ", "")
        notes = np.char.add(np.char.add(notes, sep), reason)
    policy = _choose_policy(params, batching)
    if by_cost.any():
        # (s, Q): the window condition n(s) - n(s + Q) = Q h / (h + p); order-up-to
        # policies: the fractile p / (p + h) of protection-interval demand.
        cost_note = np.where(
            policy == PolicyType.S_Q.value,
            np.char.mod(
                "reorder point from costs: n(s) - n(s+Q) = Q h/(h+p), h/(h+p) = %.4f", 1 - target
            ),
            np.char.mod("service from costs: p/(p+h) = %.4f", target),
        )
        sep = np.where(np.char.str_len(notes) > 0, "; ", "")
        notes = np.where(by_cost, np.char.add(np.char.add(notes, sep), cost_note), notes)
    # Every policy is reviewed at least once per bucket: protection L + R with R >= 1.
    bucket_review = np.isin(
        policy, [PolicyType.BASE_STOCK.value, PolicyType.S_Q.value, PolicyType.S_S.value]
    )
    r_eff = np.where(bucket_review, 1.0, np.maximum(review, 1.0))
    if opts.interval_variance and forecast is None:
        sd = _interval_sd(window, lt + r_eff, sd)

    protection = lead_time_demand(
        mean,
        sd,
        lt,
        review_period=r_eff,
        lead_time_sd=lt_sd,
        distribution=None,
        pattern=pattern,
        history=window,
        seed=seed,
    )
    # The lead-time-only distribution uses the same family as the protection interval.
    lead_mean = mean * lt
    lead_var = lt * sd**2 + mean**2 * lt_sd**2
    lead_samples = protection.lead_samples
    if lead_samples is not None:
        # Coupled bootstrap: the same draws summed over the lead time only.
        emp = protection.family == tuple(DemandDistribution).index(DemandDistribution.EMPIRICAL)
        filled = np.nan_to_num(lead_samples)
        lead_mean = np.where(emp, filled.mean(axis=1), lead_mean)
        lead_var = np.where(emp, filled.var(axis=1), lead_var)
    lead_only = LeadTimeDemand(protection.family, lead_mean, lead_var, lead_samples)
    zero_lead = lead_mean <= 0
    if zero_lead.any():
        code = tuple(DemandDistribution).index(DemandDistribution.ZERO)
        lead_only = LeadTimeDemand(
            np.where(zero_lead, code, lead_only.family).astype(np.int8),
            lead_mean,
            lead_var,
            lead_samples,
        )

    reorder = np.zeros(n)
    order_up_to = np.zeros(n)
    fill = np.ones(n)
    cycle = np.ones(n)
    for kind in np.unique(policy):
        for stype, costed in itertools.product(np.unique(service_types), (False, True)):
            mask = (policy == kind) & (service_types == stype) & (by_cost == costed)
            if not mask.any():
                continue
            prot, lead = _subset(protection, mask), _subset(lead_only, mask)
            res: InventoryPolicy
            if kind in (PolicyType.BASE_STOCK.value, PolicyType.R_S.value):
                res = r_s_service(
                    prot,
                    mean[mask] * r_eff[mask],
                    target[mask],
                    service_type=stype,
                    policy=PolicyType(kind),
                    lead_time_only=lead,
                    integer=opts.integer_levels,
                )
            elif kind == PolicyType.S_Q.value and by_cost[mask].all():
                # Backorder cost given: the reorder point that minimises holding plus
                # backorder cost for this Q (not the base-stock fractile p/(p+h)).
                res = s_q_cost_optimal_reorder_point(
                    prot,
                    np.maximum(q[mask], 1e-9),
                    h_bucket[mask],
                    p_cost[mask],
                    integer=opts.integer_levels,
                )
            elif kind == PolicyType.S_Q.value:
                res = s_q_service(
                    prot,
                    np.maximum(q[mask], 1e-9),
                    target[mask],
                    service_type=stype,
                    lead_time_only=lead,
                    integer=opts.integer_levels,
                )
            else:
                res = r_s_s_service(
                    prot,
                    np.maximum(q[mask], 1e-9),
                    target[mask],
                    service_type=stype,
                    policy=PolicyType(kind),
                    lead_time_only=lead,
                    integer=opts.integer_levels,
                )
            reorder[mask] = res.reorder_point
            order_up_to[mask] = res.order_up_to
            fill[mask] = res.expected_fill_rate
            cycle[mask] = res.expected_cycle_service

    if opts.integer_levels:
        rounded_s = np.ceil(reorder - 1e-9)
        rounded_up = np.where(
            np.isin(policy, [PolicyType.S_Q.value, PolicyType.S_S.value, PolicyType.R_S_S.value]),
            rounded_s + q,
            np.ceil(order_up_to - 1e-9),
        )
        changed = (rounded_s != reorder) | (rounded_up != order_up_to)
        notes = np.where(changed & (np.char.str_len(notes) > 0), np.char.add(notes, "; "), notes)
        notes = np.where(changed, np.char.add(notes, "levels rounded up to whole units"), notes)
        reorder, order_up_to = rounded_s, rounded_up
        order_up_to_policies = np.isin(policy, [PolicyType.BASE_STOCK.value, PolicyType.R_S.value])
        reorder = np.where(order_up_to_policies, order_up_to, reorder)
    # Defect (rejection) rate p: order Q / (1 - p) so Q good units arrive (D's
    # defect_adjustment, Yano & Lee 1995). Lot policies (s_Q, s_S) hold their safety stock
    # in gross units, SS / (1 - p), and keep S = s + gross Q. An order-up-to line's position
    # counts a steady gross pipeline of which p will be scrapped: the orders of the last
    # L + 1 buckets (an order is usable L + 1 buckets after it is placed, the engine's
    # timing), D (L + 1) / (1 - p) gross units on average. Its level therefore adds their
    # expected scrap p D (L + 1) / (1 - p) (simulated: 0.95 fill-rate lines reach 0.952-
    # 0.967 at p = 0.1 and 0.3, tests/engine/test_simulation.py; also widening the safety
    # stock for the binomial yield of the pipeline overshot, 0.963-0.968 at p = 0.3).
    defect = params["defect_rate"].to_numpy().astype(np.float64)
    defective = (defect > 0) & (mean > NEGLIGIBLE_DEMAND)
    scrap_allowance = np.zeros(n)  # in the level, not safety stock: it is never on hand
    if defective.any():
        up_to_mask = np.isin(policy, [PolicyType.BASE_STOCK.value, PolicyType.R_S.value])
        ss_good = np.where(up_to_mask, order_up_to, reorder) - protection.mean
        ss_pos = np.maximum(np.nan_to_num(ss_good), 0.0)
        p_defect = np.where(defective, defect, 0.0)
        adj = defect_adjustment(q, ss_pos, p_defect)
        scrap = p_defect / (1.0 - p_defect) * np.nan_to_num(mean * (lt + 1.0))
        delta = np.where(up_to_mask, scrap, adj.safety_stock - ss_pos)
        if opts.integer_levels:
            delta = np.ceil(delta - 1e-9)
        delta = np.where(defective, delta, 0.0)
        scrap_allowance = np.where(up_to_mask, delta, 0.0)
        q = np.where(defective, adj.gross_order_quantity, q)
        reorder = reorder + delta
        order_up_to = np.where(
            up_to_mask, order_up_to + delta, np.where(defective, reorder + q, order_up_to)
        )
        defect_note = np.char.mod("defect rate %.1f%%: ", 100 * defect)
        defect_note = np.char.add(defect_note, np.char.mod("lot grossed up to Q/(1-p) = %.4g", q))
        defect_note = np.char.add(
            defect_note,
            np.char.mod(
                np.where(
                    up_to_mask,
                    ", level %+.4g (the pipeline's expected scrap p D (L+1)/(1-p))",
                    ", safety stock %+.4g (SS/(1-p))",
                ),
                delta + 0.0,
            ),
        )
        notes = _join_notes(notes, np.where(defective, defect_note, ""))
    moq_cols, moq_note = _moq_exceptions(
        mean, window, lt, params=params, bucket=panel.bucket, opts=opts
    )
    notes = _join_notes(notes, moq_note)
    tolerance = params["customer_tolerance"].to_numpy().astype(np.float64)
    if n:
        with np.errstate(divide="ignore", invalid="ignore"):
            demand_cv = np.where(mean > NEGLIGIBLE_DEMAND, sd / np.where(mean > 0, mean, 1.0), 0.0)
        pp = choose_push_pull(
            lead_time=lt,
            lead_time_sd=lt_sd,
            demand_cv=np.nan_to_num(demand_cv),
            service_target=target,
            customer_tolerance=tolerance,
            pattern=pattern,
        )
        push_pull = np.array([x.value for x in pp.strategy], dtype=str)
        push_pull_reason = np.array(pp.reasons, dtype=str)
    else:
        push_pull = np.array([], dtype=str)
        push_pull_reason = np.array([], dtype=str)
    # A forecast that has decayed to a vanishing level (SES after a long run of zeros gives
    # 1e-33) is no demand: its coefficient of variation is meaningless and would produce
    # absurd negative levels. Nothing is stocked; such a line orders on demand.
    no_demand = ~(mean > NEGLIGIBLE_DEMAND)
    reorder = np.where(no_demand, 0.0, reorder)
    order_up_to = np.where(no_demand, 0.0, order_up_to)
    q_out = np.where(no_demand, 0.0, q)
    level = np.where(
        np.isin(policy, [PolicyType.BASE_STOCK.value, PolicyType.R_S.value]), order_up_to, reorder
    )
    safety = np.where(no_demand, 0.0, level - protection.mean - scrap_allowance)
    families = np.array([d.value for d in DemandDistribution])[protection.family]
    explanation = explain_policies(
        policy=policy,
        demand_mean=np.where(no_demand, 0.0, mean),
        demand_sd=np.where(no_demand, 0.0, sd),
        lead_time=lt,
        lead_time_sd=lt_sd,
        review_period=r_eff,
        order_quantity=q_out,
        lot_sizing_rule=rule,
        service_type=service_types,
        service_target=target,
        safety_stock=safety,
        distribution=families,
        pattern=pattern,
        adjustments=notes,
    )
    expected = np.where(service_types == ServiceType.FILL_RATE.value, fill, cycle)
    return panel.keys.select("item_id", "location_id").with_columns(
        pl.Series("policy", policy.astype(str)),
        pl.Series("review_period", r_eff),
        pl.Series("lead_time", lt),
        pl.Series("reorder_point", reorder),
        pl.Series("order_quantity", q_out),
        pl.Series("order_up_to", order_up_to),
        pl.Series("safety_stock", safety),
        pl.Series("service_type", service_types),
        pl.Series("service_target", target),
        pl.Series("expected_service", expected),
        pl.Series("lot_sizing_rule", rule.astype(str)),
        pl.Series("explanation", explanation.text.astype(str)),
        pl.Series("demand_mean", mean),
        pl.Series("demand_sd", sd),
        pl.Series("lead_time_sd", lt_sd),
        pl.Series("pattern", pattern.astype(str)),
        pl.Series("distribution", families.astype(str)),
        pl.Series("expected_fill_rate", fill),
        pl.Series("expected_cycle_service", cycle),
        pl.Series("lot_sizing_reason", lot_reason.astype(str)),
        pl.Series("defect_rate", defect),
        *moq_cols,
        pl.Series("push_pull", push_pull.astype(str)),
        pl.Series("push_pull_reason", push_pull_reason.astype(str)),
    )


def erp_export(policies: pl.DataFrame) -> pl.DataFrame:
    """ERP import layout (:data:`ERP_EXPORT_COLUMNS`): whole units, min/max pair.

    ``min_qty`` is the level at or below which an order is due (the reorder point; for
    order-up-to policies the level itself), ``max_qty`` the order-up-to level (``s + Q``
    for (s, Q)), ``order_quantity`` the fixed lot (0 for order-up-to policies, which order
    ``max_qty`` minus the inventory position).
    """
    missing = [c for c in POLICY_COLUMNS if c not in policies.columns]
    if missing:
        raise InvalidDataError(f"erp_export: policies frame lacks {missing}.")
    up_to = pl.col("policy").is_in([PolicyType.BASE_STOCK.value, PolicyType.R_S.value])
    return policies.select(
        "item_id",
        "location_id",
        "policy",
        pl.col("review_period").ceil().cast(pl.Int64),
        pl.col("reorder_point").ceil().cast(pl.Int64),
        pl.when(up_to)
        .then(0.0)
        .otherwise(pl.col("order_quantity"))
        .ceil()
        .cast(pl.Int64)
        .alias("order_quantity"),
        pl.when(up_to)
        .then(pl.col("order_up_to") - 1)
        .otherwise(pl.col("reorder_point"))
        .clip(lower_bound=0)
        .ceil()
        .cast(pl.Int64)
        .alias("min_qty"),
        # Whole units, never negative, and never below min_qty (a negative reorder point
        # from a low target is valid maths but not a valid ERP min/max pair).
        pl.max_horizontal(
            pl.col("order_up_to"),
            pl.when(up_to).then(pl.col("order_up_to") - 1).otherwise(pl.col("reorder_point")),
            pl.lit(0.0),
        )
        .ceil()
        .cast(pl.Int64)
        .alias("max_qty"),
        pl.col("safety_stock").ceil().cast(pl.Int64),
    )


TIME_PHASED_COLUMNS = (
    "item_id",
    "location_id",
    "period_start",
    "policy",
    "review_period",
    "lead_time",
    "order_up_to",
    "safety_stock",
    "service_type",
    "service_target",
    "expected_service",
)
"""Columns of :func:`compute_time_phased_policies` (one row per item-location and period)."""


def compute_time_phased_policies(
    forecast: pl.DataFrame,
    *,
    panel: Panel | None = None,
    items: pl.DataFrame | None = None,
    options: PolicyOptions | None = None,
) -> pl.DataFrame:
    """Order-up-to level per forecast period for seasonal items (time-phased (R, S)).

    Parameters
    ----------
    forecast
        ``item_id, location_id, period_start, mean`` and optionally ``sd`` (forecast error
        per period); every series must have the same number of periods.
    panel
        Demand history: its per-bucket standard deviation is used where the forecast has
        no ``sd`` column (else ``sqrt(mean)``, the Poisson spread, is used).
    items, options
        As for :func:`compute_policies` (lead time, its sd, review period, targets).

    Returns
    -------
    polars.DataFrame
        :data:`TIME_PHASED_COLUMNS`, levels in whole units (rounded up).
    """
    opts = options or PolicyOptions()
    need = ("item_id", "location_id", "period_start", "mean")
    missing = [c for c in need if c not in forecast.columns]
    if missing:
        raise InvalidDataError(
            f"compute_time_phased_policies: the forecast lacks {missing}; got {forecast.columns}."
        )
    frame = forecast.with_columns(
        pl.col("item_id").cast(pl.String),
        pl.col("location_id").cast(pl.String),
        pl.col("mean").cast(pl.Float64),
    ).sort("item_id", "location_id", "period_start")
    lengths = frame.group_by("item_id", "location_id").len()["len"].to_numpy()
    if lengths.size and lengths.min() != lengths.max():
        raise InvalidDataError(
            "compute_time_phased_policies: every series needs the same number of forecast "
            f"periods; got between {int(lengths.min())} and {int(lengths.max())}."
        )
    keys = frame.select("item_id", "location_id").unique(maintain_order=True)
    n, h = keys.height, int(lengths[0]) if lengths.size else 0
    mean = frame["mean"].to_numpy().reshape(n, h)
    if "sd" in frame.columns:
        sd = frame["sd"].cast(pl.Float64).to_numpy().reshape(n, h)
    elif panel is not None:
        _, hist_sd, _ = _history_stats(panel.values, opts.history_periods)
        lookup = panel.keys.select("item_id", "location_id").with_columns(pl.Series("_sd", hist_sd))
        joined = keys.join(lookup, on=["item_id", "location_id"], how="left", maintain_order="left")
        per_series = joined["_sd"].fill_null(np.nan).to_numpy()
        sd = np.where(np.isnan(per_series)[:, None], np.sqrt(mean), per_series[:, None] + 0 * mean)
    else:
        sd = np.sqrt(np.maximum(mean, 0.0))
    params = _item_parameters(keys, items, opts)
    _validate(params)
    lt = params["lead_time"].to_numpy().astype(np.float64)
    lt_sd = params["lead_time_sd"].to_numpy().astype(np.float64)
    review = np.maximum(params["review_period"].to_numpy().astype(np.float64), 1.0)
    target = params["service_target"].to_numpy().astype(np.float64)
    types = params["service_type"].to_numpy().astype(str)
    level = np.zeros((n, h))
    safety = np.zeros((n, h))
    expected = np.zeros((n, h))
    for stype in np.unique(types):
        rows = types == stype
        res = r_s_time_phased(
            mean[rows],
            sd[rows],
            lt[rows],
            review_period=review[rows],
            lead_time_sd=lt_sd[rows],
            service_target=target[rows],
            service_type=stype,
        )
        up_to = np.ceil(res.order_up_to - 1e-9) if opts.integer_levels else res.order_up_to
        level[rows] = up_to
        safety[rows] = up_to - res.protection_mean
        fill_type = stype == ServiceType.FILL_RATE.value
        expected[rows] = res.expected_fill_rate if fill_type else res.expected_cycle_service
    policy = np.where(review > 1.0, PolicyType.R_S.value, PolicyType.BASE_STOCK.value)
    return frame.select("item_id", "location_id", "period_start").with_columns(
        pl.Series("policy", np.repeat(policy, h)),
        pl.Series("review_period", np.repeat(review, h)),
        pl.Series("lead_time", np.repeat(lt, h)),
        pl.Series("order_up_to", level.reshape(-1)),
        pl.Series("safety_stock", safety.reshape(-1)),
        pl.Series("service_type", np.repeat(types, h)),
        pl.Series("service_target", np.repeat(target, h)),
        pl.Series("expected_service", expected.reshape(-1)),
    )
