"""MOQ exceptions for slow movers: order the MOQ, ask for a lower one, or stop stocking.

When a supplier's minimum order quantity covers more than ``max_coverage_periods`` of
demand, three options are costed per period (long-run average, purchase cost included so
the options compare like for like), for all items at once:

**(a) order the MOQ.** Lot ``Q = max(MOQ, min(EOQ, D SL))``. A lot lasts
``tau = min(Q / D, SL)`` periods; units not sold within the shelf life ``SL`` are written
off, ``w = Q - D tau``. Stock falls from ``Q`` at rate ``D`` and the waste is scrapped at
the end of the cycle, so the inventory carried per cycle is ``D tau^2 / 2 + w tau``
unit-periods. Each unit-period costs ``v (r + rho)``: carrying charge ``r`` plus the
obsolescence risk ``rho``, the per-period probability that the item becomes obsolete and
the stock on hand is written off (first-order approximation for small ``rho``). Cost per
period::

    C_a = [A + v Q + v (r + rho) (D tau^2 / 2 + w tau)] / tau

which reduces to the classic ``A D / Q + v D + v r Q / 2`` without shelf life and
obsolescence (Silver, Pyke and Thomas 2017, eq. 4.1).

**(b) ask for a lower MOQ** ``MOQ'`` at a unit-price premium ``pi``: the same formula with
``Q' = max(MOQ', min(EOQ', D SL))`` and ``v' = v (1 + pi)``; ``inf`` where no lower MOQ is
on offer.

**(c) make the item non-stocked (to order)**: nothing is held; each customer order is bought
in its own quantity (through a small-order channel at price premium ``pi_mto``), ``f``
purchase orders per period each costing ``A``, and every unit waits
``max(L - T_c, 0)`` periods beyond the customer's tolerance ``T_c``, costing the cheaper of
a backorder cost ``b`` per unit-period of excess wait and an expedite cost ``e`` per unit::

    C_c = D v (1 + pi_mto) + A f + D min(b max(L - T_c, 0), e)

The recommendation is the cheapest option for flagged items (coverage above the threshold)
and ``order_moq`` for the others; the reason states the coverage, the three costs and the
saving.

References
----------
Silver, E. A., Pyke, D. F. and Thomas, D. J. (2017). *Inventory and Production Management
in Supply Chains*, 4th ed., ch. 4 (EOQ cost, eq. 4.1; shelf-life limit on the order
quantity, section 4.8) and ch. 8 (slow-moving items, make-to-order alternatives).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from stockpilot.errors import parameter_error

FloatArray = npt.NDArray[np.float64]
_MIN_DEMAND = 1e-12  # demand below this per period counts as none
BoolArray = npt.NDArray[np.bool_]


class MOQOption(StrEnum):
    ORDER_MOQ = "order_moq"
    LOWER_MOQ = "lower_moq"
    MAKE_TO_ORDER = "make_to_order"


@dataclass(frozen=True)
class MOQExceptionResult:
    """Costs of the three MOQ options per item and the recommendation.

    Attributes
    ----------
    coverage_periods : (N,) periods of demand the MOQ covers, ``MOQ / D`` (``inf`` at D = 0).
    flagged : (N,) True where the coverage exceeds the threshold (an MOQ exception).
    lot_order_moq, lot_lower_moq : (N,) lot sizes of options (a) and (b).
    cost_order_moq, cost_lower_moq, cost_make_to_order : (N,) cost per period of each option
        (``inf`` where an option is unavailable).
    waste_per_period : (N,) units written off per period under option (a) (shelf life).
    order_moq_breakdown : option (a) split into purchase, setup, holding, obsolescence and
        expiry cost per period.
    recommendation : one :class:`MOQOption` per item.
    saving_per_period : (N,) cost of ordering the MOQ minus the cost of the recommendation.
    reasons : plain-language reason per item.
    """

    coverage_periods: FloatArray
    flagged: BoolArray
    lot_order_moq: FloatArray
    lot_lower_moq: FloatArray
    cost_order_moq: FloatArray
    cost_lower_moq: FloatArray
    cost_make_to_order: FloatArray
    waste_per_period: FloatArray
    order_moq_breakdown: StockingCost
    recommendation: tuple[MOQOption, ...]
    saving_per_period: FloatArray
    reasons: tuple[str, ...]


def _arr(
    owner: str,
    name: str,
    value: npt.ArrayLike,
    n: int,
    *,
    low: float,
    strict: bool = False,
    inf: bool = False,
    nan: bool = False,
) -> FloatArray:
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).astype(np.float64)
    except ValueError:
        raise parameter_error(owner, name, f"a scalar or an array of length {n}", value) from None
    ok = arr > low if strict else arr >= low
    if not inf:
        ok &= ~np.isinf(arr)
    if nan:
        ok |= np.isnan(arr)
    else:
        ok &= ~np.isnan(arr)
    if not bool(np.all(ok)):
        op = ">" if strict else ">="
        bad = arr[~ok]
        raise parameter_error(
            owner,
            name,
            f"values {op} {low:g}" + (" (inf allowed)" if inf else ""),
            f"{bad.size} bad value(s), first {bad[0]!r}",
        )
    return arr


@dataclass(frozen=True)
class StockingCost:
    """Cost per period of stocking an item in lots, broken down by driver.

    Attributes
    ----------
    purchase : ``v D``, buying the units that sell.
    setup : ``A / tau``, ordering.
    holding : ``v r x`` carried unit-periods per period.
    obsolescence : ``v rho x`` carried unit-periods per period (write-off risk).
    expiry : ``v w / tau``, units bought that expire unsold.
    total : sum of the above.
    """

    purchase: FloatArray
    setup: FloatArray
    holding: FloatArray
    obsolescence: FloatArray
    expiry: FloatArray
    total: FloatArray


def _stock_cost(
    *,
    lot: FloatArray,
    demand: FloatArray,
    price: FloatArray,
    carrying: FloatArray,
    obsolescence: FloatArray,
    setup: FloatArray,
    life: FloatArray,
) -> tuple[StockingCost, FloatArray]:
    """Cost per period of stocking lots of ``lot`` and the units wasted per period."""
    positive = demand > _MIN_DEMAND
    d = np.where(positive, demand, 1.0)
    tau = np.minimum(lot / d, life)
    empty = tau <= 0  # zero lot (A = 0, MOQ = 0): continuous replenishment, cost v D
    # Without demand no cycle runs (the lot sits; costs below); a neutral cycle length
    # keeps the cycle terms finite there (a tiny lot over d = 1 made A / tau overflow).
    tau = np.where(empty | ~positive, 1.0, tau)
    waste = np.where(empty, 0.0, np.maximum(lot - d * tau, 0.0))
    carried = np.where(empty, 0.0, d * tau / 2.0 + waste)  # unit-periods per period
    setup_pp = np.where(empty, 0.0, setup / tau)
    expiry = price * waste / tau
    # No demand: the lot sits (written off at the end of its shelf life, if any).
    finite = np.isfinite(life)
    idle_expiry = np.where(finite, price * lot / np.where(finite & (life > 0), life, 1.0), 0.0)
    purchase = np.where(positive, price * d, 0.0)
    setup_pp = np.where(positive, setup_pp, 0.0)
    carried = np.where(positive, carried, lot)
    expiry = np.where(positive, expiry, idle_expiry)
    holding = price * carrying * carried
    obsol = price * obsolescence * carried
    total = purchase + setup_pp + holding + obsol + expiry
    waste_rate = np.where(positive, waste / tau, np.where(finite, lot / life, 0.0))
    return (
        StockingCost(
            purchase=purchase,
            setup=setup_pp,
            holding=holding,
            obsolescence=obsol,
            expiry=expiry,
            total=total,
        ),
        waste_rate,
    )


def moq_exception(
    *,
    demand_rate: npt.ArrayLike,
    moq: npt.ArrayLike,
    unit_cost: npt.ArrayLike,
    holding_rate: npt.ArrayLike,
    setup_cost: npt.ArrayLike = 0.0,
    shelf_life_periods: npt.ArrayLike = np.inf,
    obsolescence_rate: npt.ArrayLike = 0.0,
    lower_moq: npt.ArrayLike = np.nan,
    lower_moq_premium: npt.ArrayLike = 0.0,
    supply_lead_time: npt.ArrayLike = 0.0,
    customer_lead_time: npt.ArrayLike = 0.0,
    backorder_cost: npt.ArrayLike = np.inf,
    expedite_cost: npt.ArrayLike = np.inf,
    make_to_order_premium: npt.ArrayLike = 0.0,
    order_frequency: npt.ArrayLike = 1.0,
    max_coverage_periods: float = 6.0,
) -> MOQExceptionResult:
    """Cost the three MOQ options per item and recommend one (formulas in the module doc).

    Parameters
    ----------
    demand_rate : D, mean demand per period (units), >= 0.
    moq : supplier MOQ (units), >= 0.
    unit_cost : v, price per unit, > 0.
    holding_rate : r, carrying charge per period (fraction of value), >= 0.
    setup_cost : A, cost per purchase order, >= 0.
    shelf_life_periods : SL, periods a unit can be sold after receipt (``inf`` for none).
    obsolescence_rate : rho, per-period probability the item becomes obsolete, in [0, 1).
    lower_moq : MOQ' the supplier would accept (``nan`` = none on offer).
    lower_moq_premium : pi, price premium of the lower MOQ (0.05 = +5%), >= 0.
    supply_lead_time : L, periods to get a unit from the supplier when ordered to order.
    customer_lead_time : T_c, periods the customer accepts to wait.
    backorder_cost : b, cost per unit per period of waiting beyond T_c (``inf`` = not
        acceptable).
    expedite_cost : e, cost per unit to expedite within T_c (``inf`` = impossible).
    make_to_order_premium : pi_mto, price premium when buying customer quantities.
    order_frequency : f, purchase orders per period under make-to-order (demand occurrence).
    max_coverage_periods : MOQ coverage beyond which an item is an MOQ exception.

    Returns
    -------
    MOQExceptionResult

    Examples
    --------
    >>> r = moq_exception(demand_rate=[100.0, 2.0], moq=500, unit_cost=10.0, holding_rate=0.02,
    ...                   setup_cost=50.0, lower_moq=[np.nan, 20.0], lower_moq_premium=0.05)
    >>> r.flagged.tolist(), [o.value for o in r.recommendation]
    ([False, True], ['order_moq', 'lower_moq'])
    """
    owner = "moq_exception"
    inputs = (
        demand_rate,
        moq,
        unit_cost,
        holding_rate,
        setup_cost,
        shelf_life_periods,
        obsolescence_rate,
        lower_moq,
        lower_moq_premium,
        supply_lead_time,
        customer_lead_time,
        backorder_cost,
        expedite_cost,
        make_to_order_premium,
        order_frequency,
    )
    n = max(int(np.size(x)) for x in inputs)
    d = _arr(owner, "demand_rate", demand_rate, n, low=0.0)
    d = np.where(d > _MIN_DEMAND, d, 0.0)
    q_min = _arr(owner, "moq", moq, n, low=0.0)
    v = _arr(owner, "unit_cost", unit_cost, n, low=0.0, strict=True)
    r = _arr(owner, "holding_rate", holding_rate, n, low=0.0)
    a = _arr(owner, "setup_cost", setup_cost, n, low=0.0)
    life = _arr(owner, "shelf_life_periods", shelf_life_periods, n, low=0.0, strict=True, inf=True)
    rho = _arr(owner, "obsolescence_rate", obsolescence_rate, n, low=0.0)
    if not bool(np.all(rho < 1)):
        raise parameter_error(owner, "obsolescence_rate", "in [0, 1)", rho[rho >= 1][0])
    q_low = _arr(owner, "lower_moq", lower_moq, n, low=0.0, nan=True)
    pi = _arr(owner, "lower_moq_premium", lower_moq_premium, n, low=0.0)
    lt = _arr(owner, "supply_lead_time", supply_lead_time, n, low=0.0)
    tc = _arr(owner, "customer_lead_time", customer_lead_time, n, low=0.0)
    b = _arr(owner, "backorder_cost", backorder_cost, n, low=0.0, inf=True)
    e = _arr(owner, "expedite_cost", expedite_cost, n, low=0.0, inf=True)
    pi_mto = _arr(owner, "make_to_order_premium", make_to_order_premium, n, low=0.0)
    f = _arr(owner, "order_frequency", order_frequency, n, low=0.0)
    if not max_coverage_periods > 0:
        raise parameter_error(owner, "max_coverage_periods", "a float > 0", max_coverage_periods)

    rate = r + rho
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(d > 0, q_min / np.where(d > 0, d, 1.0), np.inf)
        coverage = np.where((d == 0) & (q_min == 0), 0.0, coverage)

    def lot_for(floor: FloatArray, price: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            eoq = np.where(rate > 0, np.sqrt(2.0 * a * d / (price * rate)), np.inf)
            # never plan more than sells within the shelf life (0 x inf -> nan -> floor)
            eoq = np.minimum(eoq, d * life)
        eoq = np.where(np.isfinite(eoq), eoq, floor)
        return np.maximum(floor, eoq)

    lot_a = lot_for(q_min, v)
    breakdown_a, waste_a = _stock_cost(
        lot=lot_a, demand=d, price=v, carrying=r, obsolescence=rho, setup=a, life=life
    )
    cost_a = breakdown_a.total
    offered = ~np.isnan(q_low)
    v_b = v * (1.0 + pi)
    lot_b = np.where(offered, lot_for(np.where(offered, q_low, 0.0), v_b), np.nan)
    breakdown_b, _ = _stock_cost(
        lot=np.where(offered, lot_b, 1.0),
        demand=d,
        price=v_b,
        carrying=r,
        obsolescence=rho,
        setup=a,
        life=life,
    )
    cost_b = np.where(offered, breakdown_b.total, np.inf)
    wait = np.maximum(lt - tc, 0.0)
    with np.errstate(invalid="ignore"):
        delay = np.where(wait > 0, np.minimum(b * wait, e), 0.0)
    cost_c = np.where(d > 0, d * v * (1.0 + pi_mto) + a * f + d * delay, 0.0)

    flagged = coverage > max_coverage_periods
    costs = np.column_stack([cost_a, cost_b, cost_c])
    best = np.argmin(costs, axis=1)
    choice = np.where(flagged, best, 0)
    chosen_cost = costs[np.arange(n), choice]
    saving = np.where(np.isfinite(cost_a), cost_a - chosen_cost, np.inf)
    options = (MOQOption.ORDER_MOQ, MOQOption.LOWER_MOQ, MOQOption.MAKE_TO_ORDER)
    recommendation = tuple(options[int(k)] for k in choice)
    reasons = []
    for i in range(n):
        # Text per item; the arithmetic above is vectorized.
        costs_txt = (
            f"per period: order MOQ {cost_a[i]:.4g}, lower MOQ "
            + (f"{cost_b[i]:.4g}" if np.isfinite(cost_b[i]) else "not offered")
            + ", make to order "
            + (f"{cost_c[i]:.4g}" if np.isfinite(cost_c[i]) else "not feasible (wait not allowed)")
        )
        if not flagged[i]:
            reasons.append(
                f"MOQ {q_min[i]:g} covers {coverage[i]:.3g} periods (<= {max_coverage_periods:g}):"
                f" no exception; {costs_txt}"
            )
            continue
        head = f"MOQ {q_min[i]:g} covers {coverage[i]:.3g} periods (> {max_coverage_periods:g})"
        if waste_a[i] > 0:
            head += f", {waste_a[i]:.3g} units/period would expire"
        k = int(choice[i])
        if k == 0:
            tail = "ordering the MOQ is still cheapest"
        else:
            pct = 100.0 * saving[i] / cost_a[i] if 0 < cost_a[i] < np.inf else 0.0
            what = (
                f"ask for MOQ {q_low[i]:g} at +{100 * pi[i]:.3g}% price"
                if k == 1
                else "stop stocking and buy to order"
            )
            tail = f"{what}: saves {saving[i]:.4g} per period ({pct:.0f}%)"
        reasons.append(f"{head}; {tail}; {costs_txt}")
    return MOQExceptionResult(
        coverage_periods=coverage.astype(np.float64),
        flagged=flagged,
        lot_order_moq=lot_a.astype(np.float64),
        lot_lower_moq=lot_b.astype(np.float64),
        cost_order_moq=cost_a.astype(np.float64),
        cost_lower_moq=cost_b.astype(np.float64),
        cost_make_to_order=cost_c.astype(np.float64),
        waste_per_period=waste_a.astype(np.float64),
        order_moq_breakdown=breakdown_a,
        recommendation=recommendation,
        saving_per_period=saving.astype(np.float64),
        reasons=tuple(reasons),
    )
