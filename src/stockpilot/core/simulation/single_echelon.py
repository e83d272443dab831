"""Vectorized discrete-time simulation of single-echelon inventory policies.

N independent stock points (item-locations, or replications of one) are simulated side by
side over T periods. The kernel loops over time only; every step is an array operation on
all N series at once, and outstanding orders live in an (N, L_max + 2) ring buffer indexed
by arrival period.

Event order within period ``t`` (Zipkin 2000, section 6.2.1; Axsäter 2015, section 5.1):

1. **receive** the orders due at ``t`` (defective units, if any, are scrapped on receipt);
2. **observe demand** ``d_t``;
3. **fill** it from on-hand stock; the rest is backordered (``backorders=True``) or lost;
4. **review and order**: at a review epoch (``t % review_period == 0``) the policy looks at
   the inventory position (on hand - backorders + on order) and may place an order, which
   arrives at the start of period ``t + L + 1`` where ``L`` is the order's lead time.

With this convention an order-up-to level ``S`` reviewed every ``R`` periods protects
against the demand of ``R + L`` periods: the net inventory at the end of the period
before a receipt is ``S - D[R + L]`` (Zipkin's ``IN = IP - D(L)`` with ``L+R`` periods).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.errors import InvalidDataError, choice_error, parameter_error
from stockpilot.vocab import PolicyType

__all__ = [
    "LeadTimeSampler",
    "PolicyArrays",
    "SimulationTraces",
    "SingleEchelonResult",
    "policy_codes",
    "simulate_single_echelon",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LeadTimeSampler = Callable[[np.random.Generator, tuple[int, int]], ArrayLike]
"""``sampler(rng, (N, T))`` returns the integer lead time of an order placed in each period."""

OWNER = "simulate_single_echelon"

# Integer codes used inside the kernels; order-up-to policies share one branch.
POLICY_CODES: dict[PolicyType, int] = {
    PolicyType.BASE_STOCK: 0,
    PolicyType.R_S: 1,
    PolicyType.S_S: 2,
    PolicyType.R_S_S: 3,
    PolicyType.S_Q: 4,
}
_ORDER_UP_TO = (0, 1)  # order up to S at every review
_MIN_MAX = (2, 3)  # order up to S when IP <= s
_FIXED_QTY = 4  # order multiples of Q until IP > s


@dataclass(frozen=True, slots=True)
class SimulationTraces:
    """Per-period (N, T) traces, recorded at the end of each period.

    Attributes
    ----------
    on_hand, backorders
        Physical stock and backordered demand after the fill step.
    inventory_position
        On hand - backorders + on order, after the review step.
    orders
        Quantity ordered in the review step.
    receipts
        Good quantity received at the start of the period (after scrapping defects).
    filled, lost
        Demand filled immediately from stock, and demand lost (lost sales only).
    """

    on_hand: FloatArray
    backorders: FloatArray
    inventory_position: FloatArray
    orders: FloatArray
    receipts: FloatArray
    filled: FloatArray
    lost: FloatArray


@dataclass(frozen=True, slots=True)
class SingleEchelonResult:
    """Service and stock measured over the periods after the warm-up, per series (N,).

    Attributes
    ----------
    fill_rate
        Type-2 service (beta): demand filled immediately from stock / total demand.
        NaN for a series without demand in the measured periods.
    cycle_service_level
        Type-1 service (alpha): share of replenishment cycles (from one receipt to the
        next) in which every demand was filled immediately. NaN when no cycle closed.
    ready_rate
        Share of measured periods that end with no unmet demand (no backorder outstanding
        and nothing lost in the period).
    average_on_hand, average_backorders, average_lost_sales
        Means over measured periods of end-of-period on-hand stock, backorders and lost
        demand.
    orders_placed
        Number of orders placed in measured periods (int64).
    total_demand
        Demand in the measured periods.
    measured_periods
        Number of periods counted per series (observed and after the warm-up).
    traces
        Per-period traces when ``return_traces=True``, else ``None``.
    """

    fill_rate: FloatArray
    cycle_service_level: FloatArray
    ready_rate: FloatArray
    average_on_hand: FloatArray
    average_backorders: FloatArray
    average_lost_sales: FloatArray
    orders_placed: IntArray
    total_demand: FloatArray
    measured_periods: IntArray
    traces: SimulationTraces | None = None


def policy_codes(
    policy: PolicyType | str | Sequence[PolicyType | str] | ArrayLike, n: int
) -> IntArray:
    """Map one policy or N policies to the kernels' integer codes, validating the names."""
    raw = np.asarray(policy, dtype=object)
    flat = [raw.item()] * n if raw.ndim == 0 else list(raw.ravel())
    if len(flat) != n:
        raise parameter_error(
            OWNER, "policy", f"one policy or {n} policies (one per series)", len(flat)
        )
    codes = np.empty(n, dtype=np.int64)
    valid = [p.value for p in PolicyType]
    for i, name in enumerate(flat):
        try:
            codes[i] = POLICY_CODES[PolicyType(str(name))]
        except ValueError:
            raise choice_error(OWNER, "policy", name, valid) from None
    return codes


def _per_series(
    name: str,
    value: ArrayLike | None,
    n: int,
    *,
    default: float = np.nan,
    owner: str = OWNER,
) -> FloatArray:
    if value is None:
        return np.full(n, default, dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise parameter_error(owner, name, f"a scalar or an array of shape ({n},)", arr.shape)
    return arr.copy()


def _integers(
    name: str, value: ArrayLike, shape: tuple[int, ...], *, minimum: int, owner: str
) -> IntArray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(shape[0], arr.item())
    if arr.shape != shape and not (len(shape) == 2 and arr.shape == shape[:1]):
        raise parameter_error(owner, name, f"a scalar or an array of shape {shape}", arr.shape)
    if not np.all(np.isfinite(arr.astype(np.float64))) or np.any(arr != np.round(arr)):
        raise parameter_error(owner, name, "whole numbers of periods", arr)
    out = arr.astype(np.int64)
    if np.any(out < minimum):
        raise parameter_error(owner, name, f"integers >= {minimum}", int(out.min()))
    return out


def lead_time_matrix(
    lead_time: ArrayLike | LeadTimeSampler,
    rng: np.random.Generator,
    shape: tuple[int, int],
    *,
    owner: str = OWNER,
) -> IntArray:
    """Lead time of an order placed in each period, (N, T) int64.

    ``lead_time`` is a scalar, an (N,) array (constant per series), an (N, T) matrix or a
    sampler ``f(rng, (N, T))``.
    """
    raw = lead_time(rng, shape) if callable(lead_time) else lead_time
    lt = _integers("lead_time", raw, shape, minimum=0, owner=owner)
    if lt.ndim == 1:
        lt = np.broadcast_to(lt[:, None], shape)
    return lt


def validate_demand(demand: ArrayLike, *, owner: str = OWNER) -> FloatArray:
    """Return demand as an (N, T) float64 matrix; NaN marks periods before a series starts."""
    arr = np.asarray(demand, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise parameter_error(owner, "demand", "an (N, T) array with T >= 1", arr.shape)
    bad = np.isinf(arr) | (arr < 0)
    if np.any(bad):
        rows = np.unique(np.nonzero(bad)[0])[:10].tolist()
        raise InvalidDataError(
            f"The 'demand' of {owner} must be finite and >= 0 (NaN marks periods before a "
            f"series starts); rows {rows} hold {int(bad.sum())} invalid values. "
            "Clean or clip the demand before simulating."
        )
    return arr


def rng_from(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed (or the generator itself)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


@dataclass(frozen=True, slots=True)
class PolicyArrays:
    """Validated policy of N stock points: integer codes and (N,) levels."""

    codes: IntArray
    reorder_point: FloatArray
    order_quantity: FloatArray
    order_up_to: FloatArray
    review_period: IntArray

    def order(self, position: FloatArray, t: int) -> FloatArray:
        """Quantity each stock point orders in period ``t`` given its inventory position."""
        s, q = self.reorder_point, self.order_quantity
        up_to = np.maximum(self.order_up_to - position, 0.0)
        below = position <= s
        # Q only matters for s_Q rows; others may carry Q = 0 or NaN, so silence their warnings
        with np.errstate(invalid="ignore", divide="ignore"):
            batches = (np.floor((s - position) / q) + 1.0) * q
        qty = np.where(
            self.codes <= 1,
            up_to,
            np.where(self.codes <= 3, np.where(below, up_to, 0.0), np.where(below, batches, 0.0)),
        )
        return np.where((t % self.review_period) == 0, qty, 0.0)


def validate_policy_levels(
    codes: IntArray,
    reorder_point: FloatArray,
    order_quantity: FloatArray,
    order_up_to: FloatArray,
    *,
    owner: str = OWNER,
) -> None:
    """Check that each series has the levels its policy needs."""
    needs_s = np.isin(codes, (*_MIN_MAX, _FIXED_QTY))
    needs_big_s = codes != _FIXED_QTY
    needs_q = codes == _FIXED_QTY
    for name, arr, mask in (
        ("reorder_point", reorder_point, needs_s),
        ("order_up_to", order_up_to, needs_big_s),
        ("order_quantity", order_quantity, needs_q),
    ):
        missing = mask & ~np.isfinite(arr)
        if np.any(missing):
            rows = np.nonzero(missing)[0][:10].tolist()
            raise parameter_error(
                owner,
                name,
                "finite for every series whose policy uses it",
                f"missing at rows {rows}",
            )
    if np.any(needs_q & (order_quantity <= 0)):
        raise parameter_error(
            owner, "order_quantity", "> 0 for s_Q series", float(np.min(order_quantity[needs_q]))
        )
    mm = np.isin(codes, _MIN_MAX)
    if np.any(mm & (order_up_to < reorder_point)):
        rows = np.nonzero(mm & (order_up_to < reorder_point))[0][:10].tolist()
        raise parameter_error(
            owner,
            "order_up_to",
            ">= reorder_point for s_S and R_s_S series",
            f"smaller at rows {rows}",
        )


def scrap_defects(
    arriving: FloatArray, defect_rate: FloatArray | None, rng: np.random.Generator
) -> FloatArray:
    """Good units out of ``arriving``: whole units fail independently with ``defect_rate``.

    A fractional remainder (continuous quantities) loses its expected share.
    """
    if defect_rate is None:
        return arriving
    whole = np.floor(arriving)
    bad = rng.binomial(whole.astype(np.int64), defect_rate) + (arriving - whole) * defect_rate
    return arriving - bad


def simulate_single_echelon(
    demand: ArrayLike,
    *,
    policy: PolicyType | str | Sequence[PolicyType | str] | ArrayLike,
    reorder_point: ArrayLike | None = None,
    order_quantity: ArrayLike | None = None,
    order_up_to: ArrayLike | None = None,
    review_period: ArrayLike = 1,
    lead_time: ArrayLike | LeadTimeSampler = 0,
    initial_on_hand: ArrayLike | None = None,
    backorders: bool = True,
    defect_rate: ArrayLike | None = None,
    warmup: int = 0,
    seed: int | np.random.Generator | None = None,
    return_traces: bool = False,
) -> SingleEchelonResult:
    """Simulate inventory policies on N demand series at once.

    Parameters
    ----------
    demand
        (N, T) demand per period (NaN before a series starts: not counted, no demand).
    policy
        One :class:`~stockpilot.vocab.PolicyType` for all series or one per series:
        ``base_stock`` / ``R_S`` order up to ``order_up_to`` (S) at each review;
        ``s_S`` / ``R_s_S`` order up to S when the inventory position IP <= s
        (``reorder_point``); ``s_Q`` orders the smallest multiple of Q (``order_quantity``)
        that lifts IP above s.
    reorder_point, order_quantity, order_up_to
        s, Q and S per series (scalar or (N,)); only those a series' policy uses are needed.
    review_period
        R in periods (scalar or (N,)); the policy reviews when ``t % R == 0``. Use 1 for
        ``base_stock``, ``s_S`` and ``s_Q`` (period-by-period review).
    lead_time
        L in periods: scalar, (N,), an (N, T) matrix of the lead time of an order placed in
        each period, or a sampler ``f(rng, (N, T))``. Orders may cross.
    initial_on_hand
        Starting stock (default S, or s + Q for ``s_Q``); the pipeline starts empty.
    backorders
        True: unmet demand is backordered; False: it is lost.
    defect_rate
        Share of received units found defective and scrapped (scalar or (N,) in [0, 1)).
        The policy does not anticipate it; scrapped units leave the inventory position.
    warmup
        Periods simulated but not measured.
    seed
        Seed or ``numpy.random.Generator`` for random lead times and defects.
    return_traces
        Also return (N, T) per-period traces.

    Returns
    -------
    SingleEchelonResult
        Fill rate, cycle service level, ready rate, averages and order counts per series.

    Notes
    -----
    See the module docstring for the event order. With periodic review R and lead time L
    the net inventory before a receipt of an order-up-to policy is ``S - D[R + L]``
    (Zipkin 2000, *Foundations of Inventory Management*, eq. 6.2.3 with ``L + R``;
    Axsäter 2015, *Inventory Control*, 3rd ed., section 5.9), so its cycle service level
    is ``P(D[R + L] <= S)``.

    Examples
    --------
    >>> res = simulate_single_echelon([[2.0, 2.0, 2.0, 2.0]], policy="base_stock",
    ...                               order_up_to=5.0, lead_time=1)
    >>> res.average_on_hand.tolist(), res.fill_rate.tolist()
    ([1.5], [1.0])
    """
    d = validate_demand(demand)
    n, horizon = d.shape
    codes = policy_codes(policy, n)
    s = _per_series("reorder_point", reorder_point, n)
    q = _per_series("order_quantity", order_quantity, n)
    big_s = _per_series("order_up_to", order_up_to, n)
    validate_policy_levels(codes, s, q, big_s)
    review = _integers("review_period", review_period, (n,), minimum=1, owner=OWNER)
    if not isinstance(warmup, (int, np.integer)) or not 0 <= warmup < horizon:
        raise parameter_error(OWNER, "warmup", f"an integer in [0, {horizon - 1}]", warmup)
    rng = rng_from(seed)
    lead = lead_time_matrix(lead_time, rng, (n, horizon))
    defects: FloatArray | None = None
    if defect_rate is not None:
        defects = _per_series("defect_rate", defect_rate, n)
        if np.any(~np.isfinite(defects) | (defects < 0) | (defects >= 1)):
            raise parameter_error(OWNER, "defect_rate", "in [0, 1)", defect_rate)
        if not np.any(defects > 0):
            defects = None
    default_start = np.where(codes == _FIXED_QTY, s + q, big_s)
    start = _per_series("initial_on_hand", initial_on_hand, n)
    start = np.where(np.isnan(start), default_start, start)
    if np.any(start < 0) and not backorders:
        raise parameter_error(OWNER, "initial_on_hand", ">= 0 with lost sales", float(start.min()))

    return _run(
        d,
        policy=PolicyArrays(codes, s, q, big_s, review),
        lead=lead,
        start=start,
        backorders=backorders,
        defects=defects,
        warmup=warmup,
        rng=rng,
        return_traces=return_traces,
    )


def _run(
    d: FloatArray,
    *,
    policy: PolicyArrays,
    lead: IntArray,
    start: FloatArray,
    backorders: bool,
    defects: FloatArray | None,
    warmup: int,
    rng: np.random.Generator,
    return_traces: bool,
) -> SingleEchelonResult:
    n, horizon = d.shape
    size = int(lead.max()) + 2
    pipeline = np.zeros((n, size))
    rows = np.arange(n)
    net = start.astype(np.float64).copy()  # on hand - backorders
    position = net.copy()
    observed = ~np.isnan(d)
    demand = np.where(observed, d, 0.0)

    filled_sum = np.zeros(n)
    demand_sum = np.zeros(n)
    on_hand_sum = np.zeros(n)
    backorder_sum = np.zeros(n)
    lost_sum = np.zeros(n)
    ready = np.zeros(n, dtype=np.int64)
    measured = np.zeros(n, dtype=np.int64)
    orders_placed = np.zeros(n, dtype=np.int64)
    cycles = np.zeros(n, dtype=np.int64)
    good_cycles = np.zeros(n, dtype=np.int64)
    cycle_open = np.zeros(n, dtype=bool)
    cycle_short = np.zeros(n, dtype=bool)
    traces = (
        {k: np.zeros((n, horizon)) for k in SimulationTraces.__slots__} if return_traces else None
    )

    for t in range(horizon):
        slot = t % size
        arriving = pipeline[:, slot].copy()
        pipeline[:, slot] = 0.0
        good = scrap_defects(arriving, defects, rng)
        net += good
        position -= arriving - good
        received = arriving > 0
        counting = t >= warmup
        closing = received & cycle_open
        cycles += closing
        good_cycles += closing & ~cycle_short
        cycle_open = np.where(received, counting, cycle_open)
        cycle_short &= ~received

        dt = demand[:, t]
        filled = np.minimum(dt, np.maximum(net, 0.0))
        unmet = dt - filled
        if backorders:
            net -= dt
            position -= dt
            lost = np.zeros(n)
        else:
            net -= filled
            position -= filled
            lost = unmet
        cycle_short |= unmet > 0

        order = policy.order(position, t)
        placing = order > 0
        pipeline[rows, (t + lead[:, t] + 1) % size] += order
        position += order

        if counting:
            m = observed[:, t]
            on_hand = np.maximum(net, 0.0)
            back = np.maximum(-net, 0.0)
            filled_sum += np.where(m, filled, 0.0)
            demand_sum += np.where(m, dt, 0.0)
            on_hand_sum += np.where(m, on_hand, 0.0)
            backorder_sum += np.where(m, back, 0.0)
            lost_sum += np.where(m, lost, 0.0)
            ready += m & (back <= 0) & (lost <= 0)
            measured += m
            orders_placed += m & placing
        if traces is not None:
            traces["on_hand"][:, t] = np.maximum(net, 0.0)
            traces["backorders"][:, t] = np.maximum(-net, 0.0)
            traces["inventory_position"][:, t] = position
            traces["orders"][:, t] = order
            traces["receipts"][:, t] = good
            traces["filled"][:, t] = filled
            traces["lost"][:, t] = lost

    with np.errstate(invalid="ignore", divide="ignore"):
        periods = np.where(measured > 0, measured, np.nan)
        return SingleEchelonResult(
            fill_rate=np.where(demand_sum > 0, filled_sum / demand_sum, np.nan),
            cycle_service_level=np.where(cycles > 0, good_cycles / cycles, np.nan),
            ready_rate=ready / periods,
            average_on_hand=on_hand_sum / periods,
            average_backorders=backorder_sum / periods,
            average_lost_sales=lost_sum / periods,
            orders_placed=orders_placed,
            total_demand=demand_sum,
            measured_periods=measured,
            traces=SimulationTraces(**traces) if traces is not None else None,
        )
