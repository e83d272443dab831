"""Lot sizing: how much to order each time, for many items at once.

Static rules (EOQ with quantity discounts) work on vectors of items. Time-phased rules
(lot-for-lot, fixed order quantity, period order quantity, Wagner-Whitin, Silver-Meal) work
on an ``(N, T)`` matrix of net requirements: one row per item, one column per planning
period, orders received at the start of the period that needs them. Every kernel loops over
time (or DP stages) and works on arrays that hold all items.

Cost convention (Silver, Pyke and Thomas 2017, ch. 6; Wagner and Whitin 1958): a setup cost
``A`` per order and a holding cost ``h`` per unit carried from one period to the next,
charged on ending inventory. The holding cost per unit per period is ``h = v r`` with unit
cost ``v`` and carrying charge ``r`` per period.

Supplier constraints (minimum order quantity, pack multiple, maximum order size, shelf
life) are applied by :func:`apply_order_constraints`, which re-plans period by period so
that rounding up in one period reduces later orders. Caps win over floors: a shelf-life or
maximum-size cap below the MOQ is honoured and the item is flagged.

References
----------
Silver, E. A., Pyke, D. F. and Thomas, D. J. (2017). *Inventory and Production Management
in Supply Chains*, 4th ed., CRC Press, ch. 4 (EOQ, quantity discounts) and ch. 6
(time-varying demand: Wagner-Whitin, Silver-Meal, POQ).
Wagner, H. M. and Whitin, T. M. (1958). Dynamic version of the economic lot size model.
*Management Science* 5(1), 89-96.
Silver, E. A. and Meal, H. C. (1973). A heuristic for selecting lot size quantities for the
case of a deterministic time-varying demand rate and discrete opportunities for
replenishment. *Production and Inventory Management* 14(2), 64-74.
Nahmias, S. and Olsen, T. L. (2015). *Production and Operations Analysis*, 7th ed.,
Waveland, sections 4.7 (quantity discounts) and 7.2 (lot sizing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from stockpilot.errors import InvalidDataError, choice_error, parameter_error
from stockpilot.vocab import DemandPattern

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

_TOL = 1e-9


class LotSizingMethod(StrEnum):
    """Time-phased lot-sizing rules."""

    LOT_FOR_LOT = "lot_for_lot"
    FIXED_ORDER_QUANTITY = "fixed_order_quantity"
    EOQ = "eoq"
    PERIOD_ORDER_QUANTITY = "period_order_quantity"
    WAGNER_WHITIN = "wagner_whitin"
    SILVER_MEAL = "silver_meal"


class DiscountType(StrEnum):
    """Quantity-discount schemes (Silver, Pyke and Thomas 2017, section 4.5)."""

    ALL_UNITS = "all_units"
    INCREMENTAL = "incremental"


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EOQResult:
    """Economic order quantity per item.

    Attributes
    ----------
    order_quantity : (N,) EOQ ``Q* = sqrt(2 A D / (v r))`` in units.
    cycle_time : (N,) periods of demand one order covers, ``Q* / D``.
    relevant_cost : (N,) ordering plus holding cost per unit time at ``Q*``,
        ``A D / Q + v r Q / 2`` (= ``sqrt(2 A D v r)``).
    """

    order_quantity: FloatArray
    cycle_time: FloatArray
    relevant_cost: FloatArray


@dataclass(frozen=True)
class QuantityDiscountResult:
    """Best order quantity under a price-break schedule, per item.

    Attributes
    ----------
    order_quantity : (N,) optimal order quantity.
    unit_price : (N,) average price paid per unit at that quantity.
    total_cost : (N,) purchase + ordering + holding cost per unit time.
    price_break : (N,) index of the price interval the optimum lies in.
    """

    order_quantity: FloatArray
    unit_price: FloatArray
    total_cost: FloatArray
    price_break: IntArray


@dataclass(frozen=True)
class LotSizingPlan:
    """Orders of a time-phased lot-sizing rule for ``N`` items over ``T`` periods.

    Attributes
    ----------
    method : rule that produced the plan.
    orders : (N, T) order quantity received at the start of each period.
    ending_inventory : (N, T) inventory after that period's demand (negative = backlog,
        which happens only when a cap forbids covering demand).
    setup_cost, holding_cost, total_cost : (N,) costs over the horizon.
    n_orders : (N,) number of orders placed.
    """

    method: LotSizingMethod
    orders: FloatArray
    ending_inventory: FloatArray
    setup_cost: FloatArray
    holding_cost: FloatArray
    total_cost: FloatArray
    n_orders: IntArray


@dataclass(frozen=True)
class ConstrainedPlan:
    """A plan after supplier constraints, with what the constraints did.

    Attributes
    ----------
    plan : the constrained :class:`LotSizingPlan` (costs re-evaluated).
    shortage : (N,) total backlog-periods (sum of negative ending inventory, in units),
        non-zero only where a cap prevented covering demand.
    excess_units : (N,) units ordered beyond the unconstrained plan's total.
    moq_violated : (N,) True where a cap (shelf life or maximum order) forced an order
        below the MOQ; the MOQ then yields to the cap.
    reasons : one plain-language note per item on what the constraints changed.
    """

    plan: LotSizingPlan
    shortage: FloatArray
    excess_units: FloatArray
    moq_violated: BoolArray
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class LotSizingChoice:
    """Lot-sizing rule picked per item, with the reason recorded.

    Attributes
    ----------
    methods : one :class:`LotSizingMethod` per item.
    reasons : one plain-language reason per item.
    eoq : (N,) EOQ in units (``nan`` where demand is zero).
    eoq_periods : (N,) periods of demand the EOQ covers.
    variability : (N,) squared coefficient of variation of period demand (Silver, Pyke and
        Thomas' variability coefficient ``VC``).
    fixed_quantity : (N,) order quantity for the fixed-quantity rules (EOQ or the binding
        MOQ / pack), ``nan`` for the other rules.
    """

    methods: tuple[LotSizingMethod, ...]
    reasons: tuple[str, ...]
    eoq: FloatArray
    eoq_periods: FloatArray
    variability: FloatArray
    fixed_quantity: FloatArray


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------


def _vector(owner: str, name: str, value: ArrayLike, n: int | None = None) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1:
        raise parameter_error(owner, name, "a scalar or a 1-D array", f"array of shape {arr.shape}")
    if n is not None:
        if arr.ndim == 1 and arr.shape[0] not in (1, n):
            raise parameter_error(owner, name, f"a scalar or an array of length {n}", arr.shape[0])
        arr = np.broadcast_to(arr, (n,))
    return np.array(arr, dtype=np.float64, ndmin=1)


def _check(
    owner: str, name: str, arr: FloatArray, *, low: float, strict: bool, inf: bool = False
) -> None:
    ok = arr > low if strict else arr >= low
    if not inf:
        ok &= np.isfinite(arr)
    else:
        ok &= ~np.isnan(arr)
    if not bool(np.all(ok)):
        bad = arr[~ok]
        op = ">" if strict else ">="
        extra = " (inf allowed)" if inf else ""
        raise parameter_error(
            owner,
            name,
            f"finite values {op} {low}{extra}",
            f"{bad.size} bad value(s), first {bad[0]!r}",
        )


def _demand_matrix(owner: str, demand: ArrayLike) -> FloatArray:
    d = np.asarray(demand, dtype=np.float64)
    if d.ndim == 1:
        d = d[None, :]
    if d.ndim != 2 or d.shape[1] == 0:
        raise InvalidDataError(
            f"The 'demand' of {owner} must be a non-empty (N, T) matrix of net requirements "
            f"(items x periods). Got shape {d.shape}."
        )
    bad = ~np.isfinite(d) | (d < 0)
    if bool(bad.any()):
        rows = np.unique(np.nonzero(bad)[0])
        raise InvalidDataError(
            f"The 'demand' of {owner} must be finite and >= 0; {int(bad.sum())} value(s) in "
            f"{rows.size} row(s) are not (first rows: {rows[:5].tolist()}). Replace missing "
            "periods (NaN before a series starts) with 0 before lot sizing."
        )
    return np.ascontiguousarray(d)


def _per_period(owner: str, name: str, value: ArrayLike, shape: tuple[int, int]) -> FloatArray:
    """Broadcast a cost given per item (N,), per period (1, T) or both (N, T)."""
    arr = np.asarray(value, dtype=np.float64)
    n, _ = shape
    if arr.ndim == 1 and arr.shape[0] == n:
        arr = arr[:, None]
    try:
        out = np.broadcast_to(arr, shape).astype(np.float64)
    except ValueError:
        raise parameter_error(
            owner,
            name,
            f"a scalar, a length-{n} array (per item) or an (N, T)={shape} array",
            f"array of shape {arr.shape}",
        ) from None
    _check(owner, name, out, low=0.0, strict=False)
    return out


# ---------------------------------------------------------------------------
# EOQ and quantity discounts
# ---------------------------------------------------------------------------


def eoq(
    demand_rate: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
) -> EOQResult:
    """Economic order quantity, vectorized across items.

    ``Q* = sqrt(2 A D / h)`` with ``h = v r`` (Silver, Pyke and Thomas 2017, eq. 4.2).

    Parameters
    ----------
    demand_rate : D, demand per unit time (units), >= 0.
    setup_cost : A, fixed cost per order, >= 0.
    holding_cost : h = v r, cost of holding one unit for one unit of time, > 0.

    Returns
    -------
    EOQResult

    Examples
    --------
    >>> r = eoq(2400.0, 3.20, 0.40 * 0.24)
    >>> float(r.order_quantity[0])
    400.0
    """
    owner = "eoq"
    d = np.atleast_1d(np.asarray(demand_rate, dtype=np.float64))
    a = np.atleast_1d(np.asarray(setup_cost, dtype=np.float64))
    h = np.atleast_1d(np.asarray(holding_cost, dtype=np.float64))
    _check(owner, "demand_rate", d, low=0.0, strict=False)
    _check(owner, "setup_cost", a, low=0.0, strict=False)
    _check(owner, "holding_cost", h, low=0.0, strict=True)
    d, a, h = np.broadcast_arrays(d, a, h)
    q = np.sqrt(2.0 * a * d / h)
    with np.errstate(divide="ignore", invalid="ignore"):
        cycle = np.where(d > 0, q / np.where(d > 0, d, 1.0), np.nan)
    cost = np.sqrt(2.0 * a * d * h)
    return EOQResult(order_quantity=q.astype(np.float64), cycle_time=cycle, relevant_cost=cost)


def eoq_quantity_discount(
    demand_rate: ArrayLike,
    setup_cost: ArrayLike,
    carrying_rate: ArrayLike,
    break_quantities: ArrayLike,
    unit_prices: ArrayLike,
    *,
    discount: DiscountType | str = DiscountType.ALL_UNITS,
) -> QuantityDiscountResult:
    """Cost-minimizing order quantity under price breaks, vectorized across items.

    The price schedule has ``K`` intervals starting at ``break_quantities`` ``b_0 = 0 <
    b_1 < ... < b_{K-1}``; ``unit_prices[k]`` applies from ``b_k`` on. Holding cost is
    ``r`` times the price paid (Silver, Pyke and Thomas 2017, section 4.5; Nahmias and
    Olsen 2015, section 4.7).

    * ``all_units``: the price of the interval a quantity falls in applies to every unit.
      Total cost ``TC(Q) = v_k D + A D / Q + r v_k Q / 2``. For each interval the EOQ at
      ``v_k`` is clipped into the interval; the cheapest candidate wins.
    * ``incremental``: ``v_k`` applies only to units beyond ``b_k``. Purchase cost
      ``C(Q) = R_k + v_k Q`` with ``R_k`` the fixed part accumulated below ``b_k``; the
      interval optimum is ``sqrt(2 D (A + R_k) / (r v_k))`` clipped into the interval;
      ``TC(Q) = D C(Q)/Q + A D / Q + r C(Q) / 2``.

    Parameters
    ----------
    demand_rate, setup_cost, carrying_rate : D, A and r; scalars or length-N arrays.
    break_quantities : (K,) or (N, K) interval starts, first must be 0, increasing.
    unit_prices : (K,) or (N, K) unit price per interval, > 0.
    discount : ``"all_units"`` or ``"incremental"``.

    Returns
    -------
    QuantityDiscountResult
    """
    owner = "eoq_quantity_discount"
    valid = [m.value for m in DiscountType]
    if str(discount) not in valid:
        raise choice_error(owner, "discount", discount, valid)
    kind = DiscountType(str(discount))
    b = np.atleast_2d(np.asarray(break_quantities, dtype=np.float64))
    p = np.atleast_2d(np.asarray(unit_prices, dtype=np.float64))
    if b.shape[-1] != p.shape[-1] or b.shape[-1] == 0:
        raise parameter_error(
            owner,
            "unit_prices",
            f"as long as 'break_quantities' ({b.shape[-1]} breaks)",
            p.shape[-1],
        )
    d = np.atleast_1d(np.asarray(demand_rate, dtype=np.float64))
    a = np.atleast_1d(np.asarray(setup_cost, dtype=np.float64))
    r = np.atleast_1d(np.asarray(carrying_rate, dtype=np.float64))
    n = int(np.broadcast_shapes(d.shape, a.shape, r.shape, b.shape[:1], p.shape[:1])[0])
    d, a, r = (np.broadcast_to(x, (n,)) for x in (d, a, r))
    k = b.shape[1]
    b = np.broadcast_to(b, (n, k))
    p = np.broadcast_to(p, (n, k))
    _check(owner, "demand_rate", d, low=0.0, strict=True)
    _check(owner, "setup_cost", a, low=0.0, strict=False)
    _check(owner, "carrying_rate", r, low=0.0, strict=True)
    _check(owner, "unit_prices", p, low=0.0, strict=True)
    if not (np.all(b[:, 0] == 0) and np.all(np.diff(b, axis=1) > 0)):
        raise parameter_error(
            owner, "break_quantities", "increasing with the first equal to 0", b[0].tolist()
        )
    upper = np.concatenate([b[:, 1:], np.full((n, 1), np.inf)], axis=1)
    if kind is DiscountType.ALL_UNITS:
        fixed = np.zeros((n, k))
    else:
        # R_k: purchase cost of the first b_k units minus v_k b_k.
        widths = np.diff(b, axis=1)
        paid = np.concatenate([np.zeros((n, 1)), np.cumsum(p[:, :-1] * widths, axis=1)], axis=1)
        fixed = paid - p * b
    q_star = np.sqrt(2.0 * d[:, None] * (a[:, None] + fixed) / (r[:, None] * p))
    # Clip into [b_k, b_{k+1}); the upper end is taken just at the next break for all-units
    # (where the next price would be cheaper anyway) and exactly for incremental (continuous).
    q = np.clip(q_star, np.maximum(b, _TOL), upper)
    purchase = fixed + p * q
    total = d[:, None] * purchase / q + a[:, None] * d[:, None] / q + r[:, None] * purchase / 2.0
    # All-units: a quantity clipped to the next break belongs to the next interval; drop it.
    if kind is DiscountType.ALL_UNITS:
        total = np.where(q >= upper, np.inf, total)
    best = np.argmin(total, axis=1)
    rows = np.arange(n)
    q_best = q[rows, best]
    return QuantityDiscountResult(
        order_quantity=q_best,
        unit_price=purchase[rows, best] / q_best,
        total_cost=total[rows, best],
        price_break=best.astype(np.int64),
    )


# ---------------------------------------------------------------------------
# Time-phased rules
# ---------------------------------------------------------------------------


def _finish(
    method: LotSizingMethod,
    orders: FloatArray,
    demand: FloatArray,
    setup: FloatArray,
    hold: FloatArray,
) -> LotSizingPlan:
    inventory = np.cumsum(orders - demand, axis=1)
    placed = orders > _TOL
    setup_total = np.sum(np.where(placed, setup, 0.0), axis=1)
    holding_total = np.sum(hold * np.maximum(inventory, 0.0), axis=1)
    return LotSizingPlan(
        method=method,
        orders=orders,
        ending_inventory=inventory,
        setup_cost=setup_total,
        holding_cost=holding_total,
        total_cost=setup_total + holding_total,
        n_orders=placed.sum(axis=1).astype(np.int64),
    )


def plan_cost(
    orders: ArrayLike,
    demand: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
    *,
    method: LotSizingMethod | str = LotSizingMethod.LOT_FOR_LOT,
) -> LotSizingPlan:
    """Evaluate any order plan: setup cost per order plus holding on ending inventory.

    Parameters
    ----------
    orders, demand : (N, T) order quantities and net requirements.
    setup_cost, holding_cost : A and h; scalar, per item (N,), per period (1, T) or (N, T).
    method : label stored in the result.
    """
    d = _demand_matrix("plan_cost", demand)
    o = np.broadcast_to(np.asarray(orders, dtype=np.float64), d.shape).astype(np.float64)
    a = _per_period("plan_cost", "setup_cost", setup_cost, d.shape)
    h = _per_period("plan_cost", "holding_cost", holding_cost, d.shape)
    return _finish(LotSizingMethod(str(method)), o, d, a, h)


def net_requirements(
    gross: ArrayLike,
    *,
    on_hand: ArrayLike = 0.0,
    scheduled_receipts: ArrayLike | None = None,
    safety_stock: ArrayLike = 0.0,
) -> FloatArray:
    """MRP netting: turn gross requirements into the net requirements lot sizing plans.

    Projected available before planned orders ``P_t = P_{t-1} + SR_t - g_t`` starting from
    on-hand stock; the net requirement is what keeps it at the safety stock,
    ``n_t = max(0, SS - P_t)``, after which ``P_t`` is raised by ``n_t`` (MRP netting:
    Orlicky 1975; Hopp and Spearman, *Factory Physics*, ch. 3). Vectorized across items, one
    pass over time.

    Parameters
    ----------
    gross : (N, T) gross requirements (forecast or dependent demand), finite, >= 0.
    on_hand : per item stock at the start, >= 0 (backlog as negative on-hand is allowed).
    scheduled_receipts : optional (N, T) open orders arriving at the start of each period.
    safety_stock : per item stock to keep, >= 0.

    Returns
    -------
    (N, T) net requirements, the ``demand`` argument of the lot-sizing rules.

    Examples
    --------
    >>> net_requirements([[30, 40, 50, 20]], on_hand=45, scheduled_receipts=[[0, 20, 0, 0]],
    ...                  safety_stock=10).tolist()
    [[0.0, 15.0, 50.0, 20.0]]
    """
    owner = "net_requirements"
    g = _demand_matrix(owner, gross)
    n, t_len = g.shape
    stock = _vector(owner, "on_hand", on_hand, n)
    if not bool(np.all(np.isfinite(stock))):
        raise parameter_error(owner, "on_hand", "finite values", stock.tolist()[:5])
    ss = _vector(owner, "safety_stock", safety_stock, n)
    _check(owner, "safety_stock", ss, low=0.0, strict=False)
    if scheduled_receipts is None:
        sr = np.zeros_like(g)
    else:
        sr = _per_period(owner, "scheduled_receipts", scheduled_receipts, g.shape)
    net = np.zeros_like(g)
    available = stock.copy()
    for t in range(t_len):
        available = available + sr[:, t] - g[:, t]
        need = np.maximum(ss - available, 0.0)
        net[:, t] = need
        available = available + need
    return net


def lot_for_lot(demand: ArrayLike, setup_cost: ArrayLike, holding_cost: ArrayLike) -> LotSizingPlan:
    """Order exactly each period's net requirement (Silver, Pyke and Thomas 2017, 6.3)."""
    d = _demand_matrix("lot_for_lot", demand)
    a = _per_period("lot_for_lot", "setup_cost", setup_cost, d.shape)
    h = _per_period("lot_for_lot", "holding_cost", holding_cost, d.shape)
    return _finish(LotSizingMethod.LOT_FOR_LOT, d.copy(), d, a, h)


def fixed_order_quantity(
    demand: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
    *,
    order_quantity: ArrayLike,
    method: LotSizingMethod | str = LotSizingMethod.FIXED_ORDER_QUANTITY,
) -> LotSizingPlan:
    """Order a fixed quantity ``Q`` (per item) whenever stock would not cover the period.

    When a period's shortfall exceeds ``Q``, the smallest multiple of ``Q`` covering it is
    ordered (standard MRP practice). With ``Q`` = EOQ of the average demand this is the EOQ
    rule of Silver, Pyke and Thomas (2017, section 6.3).

    Parameters
    ----------
    demand : (N, T) net requirements.
    setup_cost, holding_cost : A and h (see :func:`plan_cost`).
    order_quantity : Q per item, > 0.
    method : label stored in the plan (``fixed_order_quantity`` or ``eoq``).
    """
    owner = "fixed_order_quantity"
    d = _demand_matrix(owner, demand)
    n, t_len = d.shape
    q = _vector(owner, "order_quantity", order_quantity, n)
    _check(owner, "order_quantity", q, low=0.0, strict=True)
    a = _per_period(owner, "setup_cost", setup_cost, d.shape)
    h = _per_period(owner, "holding_cost", holding_cost, d.shape)
    orders = np.zeros_like(d)
    stock = np.zeros(n)
    for t in range(t_len):
        short = d[:, t] - stock
        need = short > _TOL
        lots = np.where(need, np.ceil(short / q - _TOL), 0.0)
        orders[:, t] = lots * q
        stock = stock + orders[:, t] - d[:, t]
    return _finish(LotSizingMethod(str(method)), orders, d, a, h)


def eoq_lot_sizing(
    demand: ArrayLike, setup_cost: ArrayLike, holding_cost: ArrayLike
) -> LotSizingPlan:
    """Fixed order quantity equal to the EOQ of each item's mean period demand.

    ``Q = sqrt(2 A Dbar / h)`` with ``Dbar`` the mean requirement per period and ``A``,
    ``h`` averaged over the horizon (Silver, Pyke and Thomas 2017, section 6.3).
    """
    owner = "eoq_lot_sizing"
    d = _demand_matrix(owner, demand)
    a = _per_period(owner, "setup_cost", setup_cost, d.shape)
    h = _per_period(owner, "holding_cost", holding_cost, d.shape)
    _check(owner, "holding_cost", h, low=0.0, strict=True)
    mean = d.mean(axis=1)
    q = np.sqrt(2.0 * a.mean(axis=1) * mean / h.mean(axis=1))
    q = np.where(q > _TOL, q, 1.0)  # zero-demand rows never order; any Q > 0 will do
    return fixed_order_quantity(d, a, h, order_quantity=q, method=LotSizingMethod.EOQ)


def period_order_quantity(
    demand: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
    *,
    periods: ArrayLike | None = None,
) -> LotSizingPlan:
    """Period order quantity: each order covers the next ``P`` periods' requirements.

    ``P = max(1, round(EOQ / Dbar))`` unless given (Silver, Pyke and Thomas 2017, section
    6.3: "periodic order quantity"). An order is placed at the first period with an
    uncovered positive requirement and covers that period and the ``P - 1`` following.

    Parameters
    ----------
    demand : (N, T) net requirements.
    setup_cost, holding_cost : A and h (see :func:`plan_cost`).
    periods : P per item (integer >= 1); computed from the EOQ when omitted.
    """
    owner = "period_order_quantity"
    d = _demand_matrix(owner, demand)
    n, t_len = d.shape
    a = _per_period(owner, "setup_cost", setup_cost, d.shape)
    h = _per_period(owner, "holding_cost", holding_cost, d.shape)
    if periods is None:
        _check(owner, "holding_cost", h, low=0.0, strict=True)
        mean = d.mean(axis=1)
        q = np.sqrt(2.0 * a.mean(axis=1) * mean / h.mean(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(mean > 0, np.round(q / np.where(mean > 0, mean, 1.0)), 1.0)
        p = np.maximum(p, 1.0)
    else:
        p = _vector(owner, "periods", periods, n)
        if not bool(np.all((p >= 1) & (p == np.round(p)))):
            raise parameter_error(
                owner, "periods", "integers >= 1", p[(p < 1) | (p != np.round(p))][0]
            )
    cover = p.astype(np.int64)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(d, axis=1)], axis=1)
    orders = np.zeros_like(d)
    covered_until = np.zeros(n, dtype=np.int64)  # first period not yet covered
    rows = np.arange(n)
    for t in range(t_len):
        start = (covered_until <= t) & (d[:, t] > _TOL)
        if start.any():
            end = np.minimum(t + cover, t_len)
            qty = cum[rows, end] - cum[:, t]
            orders[:, t] = np.where(start, qty, 0.0)
            covered_until = np.where(start, end, covered_until)
    return _finish(LotSizingMethod.PERIOD_ORDER_QUANTITY, orders, d, a, h)


def _orders_from_starts(d: FloatArray, starts: BoolArray) -> FloatArray:
    """Each order covers the demand from its period up to the period before the next order."""
    n, t_len = d.shape
    seg = np.cumsum(starts, axis=1)  # segment id per period (0 = before first order)
    orders = np.zeros_like(d)
    rows = np.repeat(np.arange(n), t_len)
    flat = seg.ravel()
    # Sum demand per (row, segment) and place it at the segment's start period.
    sums = np.zeros((n, t_len + 1))
    np.add.at(sums, (rows, flat), d.ravel())
    r_idx, t_idx = np.nonzero(starts)
    orders[r_idx, t_idx] = sums[r_idx, seg[r_idx, t_idx]]
    return orders


def wagner_whitin(
    demand: ArrayLike, setup_cost: ArrayLike, holding_cost: ArrayLike
) -> LotSizingPlan:
    """Exact dynamic-programming lot sizing (Wagner and Whitin 1958).

    Forward recursion ``F(t) = min_{j <= t} [F(j-1) + A_j + sum_{k=j}^{t} d_k (H_k - H_j)]``
    with ``H_k`` the cumulative holding cost per unit up to period ``k``; ``F(t) = F(t-1)``
    is also allowed when ``d_t = 0``. Setup and holding costs may vary by period (the 1958
    paper's example does). O(T^2) per item, vectorized across items: each stage is one
    array operation over (items x candidate order periods).

    Parameters
    ----------
    demand : (N, T) net requirements.
    setup_cost : A; scalar, (N,), (1, T) or (N, T).
    holding_cost : h, cost per unit carried from period t to t+1; same shapes.

    Returns
    -------
    LotSizingPlan
        Orders that minimize setup plus holding cost over the horizon.
    """
    owner = "wagner_whitin"
    d = _demand_matrix(owner, demand)
    n, t_len = d.shape
    a = _per_period(owner, "setup_cost", setup_cost, d.shape)
    h = _per_period(owner, "holding_cost", holding_cost, d.shape)
    # H[k] = holding cost per unit from period 0 up to period k (exclusive).
    # Time-major (T, N) layout so each stage reads contiguous blocks.
    big_h = np.ascontiguousarray(
        np.concatenate([np.zeros((n, 1)), np.cumsum(h, axis=1)], axis=1)[:, :t_len].T
    )
    cum_d = np.ascontiguousarray(np.concatenate([np.zeros((n, 1)), np.cumsum(d, axis=1)], axis=1).T)
    cum_dh = np.concatenate([np.zeros((1, n)), np.cumsum(d.T * big_h, axis=0)], axis=0)
    a_t = np.ascontiguousarray(a.T)
    # cand(j, t) = F(j) + A_j + (cum_dh[t+1] - cum_dh[j]) - H_j (cum_d[t+1] - cum_d[j])
    #            = base[j] + cum_dh[t+1] - H_j cum_d[t+1], with base[j] known once F(j) is.
    base = np.empty((t_len, n))
    f = np.zeros((t_len + 1, n))  # f[t+1] = best cost covering periods 0..t
    choice = np.full((t_len, n), -1, dtype=np.int64)  # order period of last lot, -1 = none
    cols = np.arange(n)
    for t in range(t_len):
        base[t] = f[t] + a_t[t] - cum_dh[t] + big_h[t] * cum_d[t]
        cand = big_h[: t + 1] * cum_d[t + 1]
        np.subtract(base[: t + 1], cand, out=cand)
        best = np.argmin(cand, axis=0)
        best_cost = cand[best, cols] + cum_dh[t + 1]
        idle = d[:, t] <= _TOL
        keep = idle & (f[t] <= best_cost + _TOL)
        f[t + 1] = np.where(keep, f[t], best_cost)
        choice[t] = np.where(keep, -1, best)
    choice = np.ascontiguousarray(choice.T)
    # Backtrack across all items at once.
    starts = np.zeros((n, t_len), dtype=bool)
    pos = np.full(n, t_len - 1, dtype=np.int64)
    rows = np.arange(n)
    active = pos >= 0
    while active.any():
        c = choice[rows[active], pos[active]]
        r_act = rows[active]
        ordered = c >= 0
        starts[r_act[ordered], c[ordered]] = True
        pos[r_act] = np.where(ordered, c - 1, pos[r_act] - 1)
        active = pos >= 0
    orders = _orders_from_starts(d, starts)
    return _finish(LotSizingMethod.WAGNER_WHITIN, orders, d, a, h)


def silver_meal(demand: ArrayLike, setup_cost: ArrayLike, holding_cost: ArrayLike) -> LotSizingPlan:
    """Silver-Meal heuristic: extend a lot while its cost per period covered decreases.

    A lot ordered in period ``j`` covering ``k`` periods costs
    ``TRC(k) = A_j + sum_{i=j}^{j+k-1} d_i (H_i - H_j)``; the lot is extended to period
    ``j+k`` as long as ``TRC(k+1)/(k+1) <= TRC(k)/k`` and stops at the first increase
    (Silver and Meal 1973; Silver, Pyke and Thomas 2017, section 6.5.1). Periods with zero
    requirement before the first demand do not start a lot. Loops over periods with arrays
    across items.

    Parameters
    ----------
    demand : (N, T) net requirements.
    setup_cost, holding_cost : A and h (see :func:`plan_cost`).
    """
    owner = "silver_meal"
    d = _demand_matrix(owner, demand)
    n, t_len = d.shape
    a = _per_period(owner, "setup_cost", setup_cost, d.shape)
    h = _per_period(owner, "holding_cost", holding_cost, d.shape)
    big_h = np.concatenate([np.zeros((n, 1)), np.cumsum(h, axis=1)], axis=1)[:, :t_len]
    rows = np.arange(n)
    starts = np.zeros((n, t_len), dtype=bool)
    open_lot = np.zeros(n, dtype=bool)
    start = np.zeros(n, dtype=np.int64)
    cost = np.zeros(n)
    span = np.zeros(n)
    for t in range(t_len):
        positive = d[:, t] > _TOL
        ext_cost = cost + d[:, t] * (big_h[:, t] - big_h[rows, start])
        with np.errstate(divide="ignore", invalid="ignore"):
            extend = open_lot & (ext_cost / (span + 1.0) <= cost / np.maximum(span, 1.0) + _TOL)
        new = positive & ~extend
        starts[:, t] = new
        cost = np.where(new, a[:, t], np.where(open_lot, ext_cost, cost))
        span = np.where(new, 1.0, np.where(open_lot, span + 1.0, span))
        start = np.where(new, t, start)
        open_lot = open_lot | new
    orders = _orders_from_starts(d, starts)
    return _finish(LotSizingMethod.SILVER_MEAL, orders, d, a, h)


def plan_lots(
    method: LotSizingMethod | str,
    demand: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
    *,
    order_quantity: ArrayLike | None = None,
    periods: ArrayLike | None = None,
) -> LotSizingPlan:
    """Dispatch to one time-phased rule by name (all items use the same rule).

    ``order_quantity`` is required for ``fixed_order_quantity``; ``periods`` is optional for
    ``period_order_quantity``. For a different rule per item, group items by
    :attr:`LotSizingChoice.methods` and call once per group.
    """
    valid = [m.value for m in LotSizingMethod]
    if str(method) not in valid:
        raise choice_error("plan_lots", "method", method, valid)
    m = LotSizingMethod(str(method))
    if m is LotSizingMethod.LOT_FOR_LOT:
        return lot_for_lot(demand, setup_cost, holding_cost)
    if m is LotSizingMethod.FIXED_ORDER_QUANTITY:
        if order_quantity is None:
            raise parameter_error(
                "plan_lots", "order_quantity", "given for method 'fixed_order_quantity'", None
            )
        return fixed_order_quantity(demand, setup_cost, holding_cost, order_quantity=order_quantity)
    if m is LotSizingMethod.EOQ:
        return eoq_lot_sizing(demand, setup_cost, holding_cost)
    if m is LotSizingMethod.PERIOD_ORDER_QUANTITY:
        return period_order_quantity(demand, setup_cost, holding_cost, periods=periods)
    if m is LotSizingMethod.WAGNER_WHITIN:
        return wagner_whitin(demand, setup_cost, holding_cost)
    return silver_meal(demand, setup_cost, holding_cost)


@dataclass(frozen=True)
class ItemLotPlan:
    """Orders when each item follows its own lot-sizing rule.

    Attributes
    ----------
    methods : rule per item.
    orders, ending_inventory : (N, T) as in :class:`LotSizingPlan`.
    setup_cost, holding_cost, total_cost : (N,).
    n_orders : (N,).
    """

    methods: tuple[LotSizingMethod, ...]
    orders: FloatArray
    ending_inventory: FloatArray
    setup_cost: FloatArray
    holding_cost: FloatArray
    total_cost: FloatArray
    n_orders: IntArray

    def as_plan(self) -> LotSizingPlan:
        """The same orders as a :class:`LotSizingPlan` (labelled with the first method), for
        :func:`apply_order_constraints`."""
        return LotSizingPlan(
            method=self.methods[0] if self.methods else LotSizingMethod.LOT_FOR_LOT,
            orders=self.orders,
            ending_inventory=self.ending_inventory,
            setup_cost=self.setup_cost,
            holding_cost=self.holding_cost,
            total_cost=self.total_cost,
            n_orders=self.n_orders,
        )


def plan_lots_by_item(
    methods: tuple[LotSizingMethod, ...] | list[str] | list[LotSizingMethod],
    demand: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
    *,
    fixed_quantity: ArrayLike | None = None,
) -> ItemLotPlan:
    """Plan every item with its own rule, e.g. ``choose_lot_sizing_method(...).methods``.

    Items are grouped by rule (at most six groups) and each group is planned in one
    vectorized call, so the cost stays one kernel pass per rule, not one per item.

    Parameters
    ----------
    methods : one rule per item.
    demand : (N, T) net requirements.
    setup_cost, holding_cost : A and h; scalar, (N,), (1, T) or (N, T).
    fixed_quantity : (N,) order quantity for items on ``fixed_order_quantity`` (e.g.
        ``LotSizingChoice.fixed_quantity``); required when any item uses that rule.
    """
    owner = "plan_lots_by_item"
    d = _demand_matrix(owner, demand)
    n = d.shape[0]
    valid = [m.value for m in LotSizingMethod]
    labels = [str(m) for m in methods]
    if len(labels) != n:
        raise parameter_error(owner, "methods", f"one rule per item ({n})", len(labels))
    bad = [m for m in labels if m not in valid]
    if bad:
        raise choice_error(owner, "methods", bad[0], valid)
    a = _per_period(owner, "setup_cost", setup_cost, d.shape)
    h = _per_period(owner, "holding_cost", holding_cost, d.shape)
    codes = np.array([valid.index(m) for m in labels], dtype=np.int64)
    fq = None if fixed_quantity is None else _vector(owner, "fixed_quantity", fixed_quantity, n)
    orders = np.zeros_like(d)
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        method = LotSizingMethod(valid[int(code)])
        quantity = None
        if method is LotSizingMethod.FIXED_ORDER_QUANTITY:
            if fq is None or not bool(np.all(np.isfinite(fq[rows]) & (fq[rows] > 0))):
                raise parameter_error(
                    owner,
                    "fixed_quantity",
                    "finite and > 0 for fixed_order_quantity items",
                    None if fq is None else fq[rows][:5].tolist(),
                )
            quantity = fq[rows]
        group = plan_lots(method, d[rows], a[rows], h[rows], order_quantity=quantity)
        orders[rows] = group.orders
    total = _finish(LotSizingMethod.LOT_FOR_LOT, orders, d, a, h)
    return ItemLotPlan(
        methods=tuple(LotSizingMethod(m) for m in labels),
        orders=orders,
        ending_inventory=total.ending_inventory,
        setup_cost=total.setup_cost,
        holding_cost=total.holding_cost,
        total_cost=total.total_cost,
        n_orders=total.n_orders,
    )


# ---------------------------------------------------------------------------
# Supplier constraints
# ---------------------------------------------------------------------------


def round_order_quantity(
    quantity: ArrayLike,
    *,
    moq: ArrayLike = 0.0,
    pack_size: ArrayLike = 1.0,
    max_order: ArrayLike = np.inf,
) -> FloatArray:
    """Round order quantities onto the supplier's grid, vectorized.

    A positive quantity is raised to the MOQ, rounded **up** to a multiple of the pack size,
    then capped at the largest pack multiple not above ``max_order``. Zero stays zero.

    >>> round_order_quantity([0.0, 7.0, 23.0, 500.0], moq=10, pack_size=6, max_order=100)
    array([ 0., 12., 24., 96.])
    """
    owner = "round_order_quantity"
    q = np.asarray(quantity, dtype=np.float64)
    moq_a = np.asarray(moq, dtype=np.float64)
    pack = np.asarray(pack_size, dtype=np.float64)
    cap = np.asarray(max_order, dtype=np.float64)
    _check(owner, "quantity", np.atleast_1d(q), low=0.0, strict=False)
    _check(owner, "moq", np.atleast_1d(moq_a), low=0.0, strict=False)
    _check(owner, "pack_size", np.atleast_1d(pack), low=0.0, strict=True)
    _check(owner, "max_order", np.atleast_1d(cap), low=0.0, strict=True, inf=True)
    raised = np.ceil(np.maximum(q, moq_a) / pack - _TOL) * pack
    capped = np.minimum(raised, np.floor(cap / pack + _TOL) * pack)
    return np.where(q > _TOL, capped, 0.0).astype(np.float64)


def apply_order_constraints(
    plan: LotSizingPlan,
    demand: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
    *,
    moq: ArrayLike = 0.0,
    pack_size: ArrayLike = 1.0,
    max_order: ArrayLike = np.inf,
    shelf_life_periods: ArrayLike = np.inf,
) -> ConstrainedPlan:
    """Re-plan a lot-sizing plan so every order honours the supplier constraints.

    Period by period (arrays across items): an order is due where the plan ordered or where
    stock would not cover the period. Its raw size brings stock to what the plan had right
    after that order (for lot-for-lot, POQ, Wagner-Whitin and Silver-Meal: the demand the lot
    covers up to the next planned order; for fixed quantities: the planned lot), or covers
    the shortfall for an unplanned order. Then, in this order:

    1. raised to the MOQ and rounded up to a pack multiple;
    2. capped at ``max_order`` (rounded down to a pack multiple);
    3. capped so that stock plus the order never exceeds what sells within the shelf life:
       ``I_t + Q_t <= sum_{k=t}^{t+SL-1} d_k`` (FIFO issue), rounded down to a pack multiple;
       periods of the window past the horizon count at the item's mean demand.

    Caps beat floors: where a cap forces an order below the MOQ, the cap wins and
    ``moq_violated`` is set, so the item can go to MOQ-exception review
    (:mod:`stockpilot.core.moq`). Where caps leave demand uncovered, the shortfall is
    backlogged to the next order and reported in ``shortage``.

    Parameters
    ----------
    plan : unconstrained plan from one of the rules above.
    demand : (N, T) the requirements the plan was made for.
    setup_cost, holding_cost : A and h, for re-costing.
    moq : minimum order quantity per item (units), >= 0.
    pack_size : order multiple per item (units), > 0.
    max_order : maximum order size per item (units), > 0, ``inf`` for none.
    shelf_life_periods : periods a unit can be sold after receipt, >= 1, ``inf`` for none.
    """
    owner = "apply_order_constraints"
    d = _demand_matrix(owner, demand)
    n, t_len = d.shape
    if plan.orders.shape != d.shape:
        raise parameter_error(owner, "plan", f"a plan of shape {d.shape}", plan.orders.shape)
    a = _per_period(owner, "setup_cost", setup_cost, d.shape)
    h = _per_period(owner, "holding_cost", holding_cost, d.shape)
    moq_a = _vector(owner, "moq", moq, n)
    pack = _vector(owner, "pack_size", pack_size, n)
    cap = _vector(owner, "max_order", max_order, n)
    life = _vector(owner, "shelf_life_periods", shelf_life_periods, n)
    _check(owner, "moq", moq_a, low=0.0, strict=False)
    _check(owner, "pack_size", pack, low=0.0, strict=True)
    _check(owner, "max_order", cap, low=0.0, strict=True, inf=True)
    _check(owner, "shelf_life_periods", life, low=1.0 - _TOL, strict=False, inf=True)
    life_int = np.where(np.isfinite(life), np.floor(life + _TOL), 0).astype(np.int64)
    finite_life = np.isfinite(life)
    mean_demand = d.mean(axis=1)
    cap_pack = np.floor(cap / pack + _TOL) * pack
    planned = plan.orders > _TOL
    # Stock the plan meant to have right after each planned order (for coverage rules this
    # is the demand the lot covers; for fixed quantities it keeps the plan's lot size).
    plan_before = np.concatenate([np.zeros((n, 1)), plan.ending_inventory[:, :-1]], axis=1)
    plan_post = plan_before + plan.orders
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(d, axis=1)], axis=1)
    rows = np.arange(n)
    orders = np.zeros_like(d)
    stock = np.zeros(n)
    moq_violated = np.zeros(n, dtype=bool)
    shortage = np.zeros(n)
    for t in range(t_len):
        raw_planned = np.where(planned[:, t], plan_post[:, t] - stock, 0.0)
        raw_short = d[:, t] - stock
        raw = np.maximum(raw_planned, raw_short)
        due = raw > _TOL
        qty = np.ceil(np.maximum(raw, moq_a) / pack - _TOL) * pack
        qty = np.minimum(qty, cap_pack)
        sell_end = np.minimum(t + life_int, t_len)
        beyond = np.maximum(t + life_int - t_len, 0)  # window periods past the horizon
        sellable = cum[rows, sell_end] - cum[:, t] + beyond * mean_demand - stock
        shelf_cap = np.where(
            finite_life, np.floor(np.maximum(sellable, 0.0) / pack + _TOL) * pack, np.inf
        )
        qty = np.where(due, np.minimum(qty, shelf_cap), 0.0)
        moq_violated |= due & (qty + _TOL < moq_a)
        orders[:, t] = qty
        stock = stock + qty - d[:, t]
        shortage += np.maximum(-stock, 0.0)
    new_plan = _finish(plan.method, orders, d, a, h)
    excess = orders.sum(axis=1) - plan.orders.sum(axis=1)
    reasons = []
    for i in range(n):
        # Building the explanation strings is per item by nature (text, not arithmetic).
        notes = []
        if excess[i] > _TOL:
            notes.append(f"MOQ/pack rounding adds {excess[i]:g} units over the horizon")
        if moq_violated[i]:
            notes.append(
                f"a cap (shelf life or max order) forced orders below the MOQ {moq_a[i]:g}"
            )
        if shortage[i] > _TOL:
            notes.append(f"caps leave {shortage[i]:g} unit-periods of backlog")
        reasons.append("; ".join(notes) if notes else "constraints not binding")
    return ConstrainedPlan(
        plan=new_plan,
        shortage=shortage,
        excess_units=excess,
        moq_violated=moq_violated,
        reasons=tuple(reasons),
    )


# ---------------------------------------------------------------------------
# Method choice
# ---------------------------------------------------------------------------


def choose_lot_sizing_method(
    *,
    demand: ArrayLike,
    setup_cost: ArrayLike,
    holding_cost: ArrayLike,
    pattern: ArrayLike | None = None,
    shelf_life_periods: ArrayLike = np.inf,
    moq: ArrayLike = 0.0,
    pack_size: ArrayLike = 1.0,
    variability_threshold: float = 0.2,
    lot_for_lot_periods: float = 1.5,
) -> LotSizingChoice:
    """Pick a lot-sizing rule per item and record why.

    The rule, applied in this order (first match wins):

    1. **No demand** over the horizon (or pattern ``no_demand``): lot-for-lot.
    2. **Perishable**: shelf life of at most one period: lot-for-lot (nothing can be carried).
    3. **Cheap setups**: the EOQ covers at most ``lot_for_lot_periods`` periods of mean
       demand: lot-for-lot (batching saves almost nothing).
    4. **Supplier quantity dominates**: MOQ or pack size at least the EOQ: fixed order
       quantity at the smallest allowed lot (any batching rule would order it anyway).
    5. **Intermittent or lumpy** pattern: Wagner-Whitin; Silver-Meal is known to stop lots
       early around zero-demand periods (Silver, Pyke and Thomas 2017, section 6.5.1) and the
       exact DP is cheap at planning horizons.
    6. **Steady demand**: variability coefficient ``VC = var(d)/mean(d)^2`` below
       ``variability_threshold`` (0.2, Silver, Pyke and Thomas 2017, section 6.4): EOQ as a
       fixed order quantity (period order quantity when the EOQ exceeds the shelf-life
       demand, so the cap is a whole number of periods).
    7. **Otherwise** (time-varying demand): Silver-Meal, within about 1% of Wagner-Whitin on
       average and more stable under rolling horizons (same reference).

    Parameters
    ----------
    demand : (N, T) net requirements (or history) per period, finite, >= 0.
    setup_cost, holding_cost : A and h per item (scalar or (N,)); h > 0.
    pattern : optional (N,) demand pattern labels (:class:`~stockpilot.vocab.DemandPattern`).
    shelf_life_periods : per item, ``inf`` for none.
    moq, pack_size : supplier minimum and multiple per item.
    variability_threshold : VC threshold of rule 6.
    lot_for_lot_periods : EOQ coverage threshold of rule 3.

    Returns
    -------
    LotSizingChoice
    """
    owner = "choose_lot_sizing_method"
    d = _demand_matrix(owner, demand)
    n = d.shape[0]
    a = _vector(owner, "setup_cost", setup_cost, n)
    h = _vector(owner, "holding_cost", holding_cost, n)
    _check(owner, "setup_cost", a, low=0.0, strict=False)
    _check(owner, "holding_cost", h, low=0.0, strict=True)
    life = _vector(owner, "shelf_life_periods", shelf_life_periods, n)
    _check(owner, "shelf_life_periods", life, low=0.0, strict=True, inf=True)
    moq_a = _vector(owner, "moq", moq, n)
    pack = _vector(owner, "pack_size", pack_size, n)
    _check(owner, "moq", moq_a, low=0.0, strict=False)
    _check(owner, "pack_size", pack, low=0.0, strict=True)
    if not variability_threshold > 0:
        raise parameter_error(owner, "variability_threshold", "a float > 0", variability_threshold)
    if not lot_for_lot_periods > 0:
        raise parameter_error(owner, "lot_for_lot_periods", "a float > 0", lot_for_lot_periods)
    if pattern is None:
        pat = np.full(n, "", dtype=object)
    else:
        pat = np.asarray(pattern, dtype=object).astype(str)
        if pat.shape != (n,):
            raise parameter_error(owner, "pattern", f"an array of length {n}", pat.shape)
        valid = {p.value for p in DemandPattern}
        bad = sorted(set(pat.tolist()) - valid)
        if bad:
            raise choice_error(owner, "pattern", bad[0], sorted(valid))
    mean = d.mean(axis=1)
    var = d.var(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vc = np.where(mean > 0, var / np.where(mean > 0, mean, 1.0) ** 2, np.nan)
        q = np.where(mean > 0, np.sqrt(2.0 * a * mean / h), np.nan)
        cover = q / np.where(mean > 0, mean, np.nan)
    supplier_lot = np.maximum(moq_a, pack)
    no_demand = (mean <= 0) | (pat == DemandPattern.NO_DEMAND.value)
    perishable = life <= 1.0
    cheap = cover <= lot_for_lot_periods
    dominated = supplier_lot >= q
    sporadic = np.isin(pat, [DemandPattern.INTERMITTENT.value, DemandPattern.LUMPY.value])
    steady = vc < variability_threshold
    eoq_over_life = cover > life

    conditions = [no_demand, perishable, cheap, dominated, sporadic, steady & eoq_over_life, steady]
    choices = [
        LotSizingMethod.LOT_FOR_LOT,
        LotSizingMethod.LOT_FOR_LOT,
        LotSizingMethod.LOT_FOR_LOT,
        LotSizingMethod.FIXED_ORDER_QUANTITY,
        LotSizingMethod.WAGNER_WHITIN,
        LotSizingMethod.PERIOD_ORDER_QUANTITY,
        LotSizingMethod.EOQ,
    ]
    rule = np.select(conditions, list(range(len(conditions))), default=len(conditions))
    fixed = np.where(rule == 3, np.ceil(np.maximum(moq_a, q) / pack - _TOL) * pack, np.nan)
    fixed = np.where(rule == 6, q, fixed)
    methods: list[LotSizingMethod] = []
    reasons: list[str] = []
    for i in range(n):
        # Reason text is per item by nature; the arithmetic above is vectorized.
        k = int(rule[i])
        methods.append(choices[k] if k < len(choices) else LotSizingMethod.SILVER_MEAL)
        reasons.append(
            _reason(
                rule=k,
                mean=float(mean[i]),
                q=float(q[i]),
                cover=float(cover[i]),
                vc=float(vc[i]),
                life=float(life[i]),
                moq=float(moq_a[i]),
                pack=float(pack[i]),
                pattern=str(pat[i]),
                vc_limit=variability_threshold,
                l4l_limit=lot_for_lot_periods,
            )
        )
    return LotSizingChoice(
        methods=tuple(methods),
        reasons=tuple(reasons),
        eoq=q,
        eoq_periods=cover,
        variability=vc,
        fixed_quantity=fixed,
    )


def _reason(
    *,
    rule: int,
    mean: float,
    q: float,
    cover: float,
    vc: float,
    life: float,
    moq: float,
    pack: float,
    pattern: str,
    vc_limit: float,
    l4l_limit: float,
) -> str:
    if rule == 0:
        return "no demand over the horizon: order lot-for-lot against firm requirements only"
    if rule == 1:
        return f"shelf life {life:g} period(s) leaves nothing to carry: lot-for-lot"
    if rule == 2:
        return (
            f"EOQ {q:.4g} covers only {cover:.2f} period(s) of mean demand {mean:.4g} "
            f"(<= {l4l_limit:g}): setups are cheap relative to holding, lot-for-lot"
        )
    if rule == 3:
        which = "MOQ" if moq >= pack else "pack size"
        size = max(moq, pack)
        return (
            f"supplier {which} {size:g} >= EOQ {q:.4g}: the supplier's minimum lot decides, "
            "fixed order quantity"
        )
    if rule == 4:
        return (
            f"{pattern} demand (VC {vc:.2f}): Wagner-Whitin, exact where zero-demand periods "
            "mislead Silver-Meal"
        )
    if rule == 5:
        return (
            f"steady demand (VC {vc:.2f} < {vc_limit:g}) but EOQ covers {cover:.2f} periods, "
            f"more than the shelf life {life:g}: period order quantity"
        )
    if rule == 6:
        return f"steady demand (VC {vc:.2f} < {vc_limit:g}): EOQ {q:.4g} as a fixed order quantity"
    return (
        f"time-varying demand (VC {vc:.2f} >= {vc_limit:g}): Silver-Meal, near-optimal and "
        "stable under rolling horizons"
    )
