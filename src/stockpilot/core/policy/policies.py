"""Inventory policies for N item-locations at once: (s, Q), (s, S), (R, S), (R, s, S), base stock.

Every function takes arrays of length N (or scalars that broadcast) and returns an
:class:`InventoryPolicy` of arrays. Service-driven variants take the distribution of
demand over the protection interval as a
:class:`~stockpilot.core.policy.leadtime_demand.LeadTimeDemand` (built by
:func:`~stockpilot.core.policy.leadtime_demand.lead_time_demand`); normal-only textbook
variants (``*_normal``) take moments. Conventions:

* ``reorder_point`` s: order when the inventory position drops to s or below
  (``s_Q``, ``s_S``, ``R_s_S``); for ``base_stock`` / ``R_S`` it equals S.
* ``order_up_to`` S: target inventory position; for ``s_Q`` it is ``s + Q`` (the "max"
  of an ERP min/max pair).
* ``safety_stock``: reorder point (or S for order-up-to policies) minus mean demand
  over the protection interval.

Methods and references
----------------------
=============================  =============================================================
function                       method
=============================  =============================================================
s_q_service                    cycle service: ``s = F^{-1}(P1)``; fill rate: smallest s with
                               ``1 - [n(s) - n(s + Q)] / Q >= P2`` (exact for unit demand,
                               Zipkin 2000 eq. 6.2.13; Axsäter 2015 eq. 5.28)
s_q_fill_rate_normal           Silver, Pyke & Thomas (2017) eq. 6.19, ``G(k) = Q(1-P2)/sigma``
s_q_cost_optimal_normal        Hadley-Whitin iterative (Q, R) (Nahmias 2009 Section 5.4;
                               Snyder & Shen 2019 Section 5.2.3 "loss function approximation")
s_q_cost_optimal_exact_normal  exact cost-optimal (R, Q), normal demand, backorder cost per
                               unit and time (Axsäter 2015 Section 6.1.2, alternating steps)
s_q_poisson_exact              exact (r, Q) under Poisson demand, Federgruen & Zheng (1992)
r_s_service                    Silver, Pyke & Thomas (2017) Section 7.4: protection over R + L,
                               ``ESPRC = n_{R+L}(S) = mu_R (1 - P2)``
base_stock_cost_optimal        critical fractile ``p / (p + h)`` of demand over L + 1
                               (Snyder & Shen 2019 Theorem 4.4)
s_s_power_approximation        Ehrhardt (1979) revised power approximation, Ehrhardt & Mosier
                               (1984); Silver, Pyke & Thomas (2017) Section 7.5.2
s_s_zheng_federgruen           exact optimum under discrete (Poisson / negative binomial)
                               demand, Zheng & Federgruen (1991) (Snyder & Shen 2019 Alg. 4.2)
r_s_s_service                  (R, s, S) with S - s = Q given: s as in s_q_service over R + L
                               (Silver, Pyke & Thomas 2017 Section 7.5, ignoring undershoot)
=============================  =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from stockpilot.core.policy.leadtime_demand import LeadTimeDemand
from stockpilot.core.policy.loss import (
    bisect_decreasing,
    normal_loss,
    poisson_sf,
    standard_normal_loss,
    standard_normal_loss_inverse,
    standard_normal_second_order_loss,
)
from stockpilot.core.policy.service import (
    as_service_type,
    safety_factor_fill_rate_normal,
    validate_service_target,
)
from stockpilot.errors import choice_error, parameter_error
from stockpilot.vocab import PolicyType, ServiceType

FloatArray = NDArray[np.float64]

__all__ = [
    "InventoryPolicy",
    "base_stock_cost_optimal",
    "base_stock_cost_optimal_normal",
    "base_stock_service",
    "r_s_s_power_approximation",
    "r_s_s_service",
    "r_s_service",
    "s_q_cost_optimal_exact_normal",
    "s_q_cost_optimal_normal",
    "s_q_cost_optimal_reorder_point",
    "s_q_cycle_service_normal",
    "s_q_fill_rate_normal",
    "s_q_poisson_exact",
    "s_q_service",
    "s_s_cost_discrete",
    "s_s_power_approximation",
    "s_s_zheng_federgruen",
]


@dataclass(frozen=True)
class InventoryPolicy:
    """Policy parameters of N item-locations (arrays of shape (N,)).

    Attributes
    ----------
    policy
        The policy family of every row.
    reorder_point, order_quantity, order_up_to, safety_stock
        s, Q, S and safety stock (see the module conventions); NaN where not defined.
    expected_fill_rate, expected_cycle_service
        Service the model predicts for these parameters (NaN where not computed).
    expected_cost
        Expected cost per period of cost-based methods (NaN otherwise).
    """

    policy: PolicyType
    reorder_point: FloatArray
    order_quantity: FloatArray
    order_up_to: FloatArray
    safety_stock: FloatArray
    expected_fill_rate: FloatArray
    expected_cycle_service: FloatArray
    expected_cost: FloatArray

    def __len__(self) -> int:
        return int(self.reorder_point.shape[0])


def _arr(value: ArrayLike, n: int | None = None) -> FloatArray:
    a = np.atleast_1d(np.asarray(value, dtype=np.float64))
    return np.ascontiguousarray(np.broadcast_to(a, (n,)) if n is not None else a)


def _check(value: ArrayLike, name: str, owner: str, *, positive: bool = False) -> FloatArray:
    a = np.atleast_1d(np.asarray(value, dtype=np.float64))
    bad = ~(a > 0) if positive else ~(a >= 0)
    if np.any(bad):
        first = a.reshape(-1)[np.argmax(bad.reshape(-1))]
        kind = "a positive float" if positive else "a non-negative float"
        raise parameter_error(owner, name, kind, float(first))
    return a


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan)


def _fill_rate_s_q(ltd: LeadTimeDemand, s: FloatArray, q: FloatArray) -> FloatArray:
    """``1 - [n(s) - n(s + Q)] / Q`` (inventory position uniform on (s, s + Q])."""
    short = ltd.loss(s) - ltd.loss(s + q)
    safe_q = np.where(q > 0, q, 1.0)
    fill = np.where(q > 0, 1.0 - short / safe_q, ltd.cdf(s))
    return np.clip(np.where(ltd.mean > 0, fill, 1.0), 0.0, 1.0)


_NODES = 8


def _fill_rate_periodic(
    protection: LeadTimeDemand,
    lead_only: LeadTimeDemand,
    level: FloatArray,
    spread: FloatArray,
) -> FloatArray:
    """Fill rate of a policy reviewed every R periods, backorders.

    The inventory position after a review is ``y`` (``S`` for order-up-to policies; uniform
    on (s, s + Q] for (s, Q)); the demand of the R periods before the next receipt finds
    ``y - D(L)`` units, so the expected shortage per review is
    ``E_y[n_{L+R}(y) - n_L(y)]`` (Zipkin 2000, Section 6.2.3; Axsäter 2015, eq. 5.9 for the
    periodic case) and the fill rate ``1 - shortage / mu_R``. ``E_y`` is exact through the
    second-order loss functions (8 nodes for empirical rows).
    """
    mu_r = protection.mean - lead_only.mean
    discrete = protection.is_discrete()
    n = level.shape[0]
    if not np.any(spread > 0):
        short = protection.loss(level) - lead_only.loss(level)
    else:
        # Closed form through second-order losses: E_y[n(y)] = [n2(s) - n2(s + Q)] / Q
        # (integer y = s+1..s+Q for discrete families, y uniform on (s, s + Q] otherwise).
        width = np.where(discrete, np.maximum(np.rint(spread), 1.0), np.maximum(spread, 1e-12))
        base = np.where(discrete, np.floor(level), level)
        short = (
            protection.second_order_loss(base)
            - protection.second_order_loss(base + width)
            - lead_only.second_order_loss(base)
            + lead_only.second_order_loss(base + width)
        ) / width
        emp = np.isnan(short)
        if emp.any():
            # Empirical rows: average over nodes of the inventory-position range.
            acc = np.zeros(int(emp.sum()))
            prot_e, lead_e = _subset(protection, emp), _subset(lead_only, emp)
            for j in range(_NODES):
                y = level[emp] + np.ceil(spread[emp] * (j + 0.5) / _NODES)
                acc += prot_e.loss(y) - lead_e.loss(y)
            short[emp] = acc / _NODES
        _ = n
    fill = np.where(mu_r > 0, 1.0 - short / np.where(mu_r > 0, mu_r, 1.0), 1.0)
    return np.clip(fill, 0.0, 1.0)


def _search_level(
    ltd: LeadTimeDemand,
    meets: object,
    lo: FloatArray,
    hi: FloatArray,
    *,
    integer: bool = False,
) -> FloatArray:
    """Smallest level meeting a monotone condition: integer for discrete rows (all rows
    when ``integer``), else to about 1e-9 of the bracket by bisection."""
    assert callable(meets)
    n = ltd.mean.shape[0]
    out = np.zeros(n)
    discrete = np.ones(n, dtype=bool) if integer else ltd.is_discrete()
    if discrete.any():
        # Integer bisection that only re-evaluates rows whose bracket is still open.
        idx = np.flatnonzero(discrete)
        lo_d, hi_d = np.floor(lo[idx]), np.ceil(hi[idx])
        active = np.flatnonzero(hi_d > lo_d)
        while active.size:
            rows = idx[active]
            mid = np.floor(0.5 * (lo_d[active] + hi_d[active]))
            ok = np.asarray(meets(_subset(ltd, rows), mid, rows))
            hi_d[active] = np.where(ok, mid, hi_d[active])
            lo_d[active] = np.where(ok, lo_d[active], mid + 1.0)
            active = active[hi_d[active] > lo_d[active]]
        out[idx] = hi_d
    cont = ~discrete
    if cont.any():
        sub = _subset(ltd, cont)

        def gap(x: FloatArray) -> FloatArray:
            return np.where(meets(sub, x, cont), -1.0, 1.0)

        out[cont] = bisect_decreasing(
            gap, np.zeros(int(cont.sum())), lo[cont], hi[cont], iterations=48
        )
    return out


def _subset(ltd: LeadTimeDemand, mask: NDArray[np.bool_] | NDArray[np.intp]) -> LeadTimeDemand:
    samples = None if ltd.samples is None else ltd.samples[mask]
    return LeadTimeDemand(ltd.family[mask], ltd.mean[mask], ltd.variance[mask], samples)


def _bounds(ltd: LeadTimeDemand, q: FloatArray) -> tuple[FloatArray, FloatArray]:
    sd = ltd.sd
    spread = 12.0 * sd + 4.0 * np.sqrt(np.maximum(ltd.mean, 0.0)) + 2.0
    if ltd.samples is not None:
        top = np.nanmax(np.where(np.isnan(ltd.samples), -np.inf, ltd.samples), axis=1)
        spread = np.maximum(spread, top - ltd.mean + 1.0)
    return ltd.mean - spread - q, ltd.mean + spread


def s_q_service(
    ltd: LeadTimeDemand,
    order_quantity: ArrayLike,
    service_target: ArrayLike,
    *,
    service_type: ServiceType | str = ServiceType.FILL_RATE,
    policy: PolicyType = PolicyType.S_Q,
    lead_time_only: LeadTimeDemand | None = None,
    integer: bool = False,
) -> InventoryPolicy:
    """Reorder point of an (s, Q) policy for a service target, any demand family.

    Parameters
    ----------
    ltd
        Demand over the protection interval: the lead time ``L`` under continuous review,
        ``L + 1`` when the inventory position is reviewed once per bucket.
    order_quantity
        Q (lot size, from EOQ or a lot-sizing rule).
    service_target
        ``P1`` (cycle service) or ``P2`` (fill rate) in (0, 1).
    service_type
        ``cycle_service``: ``s = F^{-1}(P1)`` (Silver, Pyke & Thomas 2017, eq. 6.13).
        ``fill_rate``: smallest s with ``1 - [n(s) - n(s + Q)] / Q >= P2`` -- the exact
        fill rate when the inventory position is uniform on (s, s + Q] (Zipkin 2000,
        eq. 6.2.13; Axsäter 2015, eq. 5.28; Silver, Pyke & Thomas' eq. 6.19 drops
        ``n(s + Q)``). Discrete families give integer s.
    lead_time_only
        Demand over the lead time alone. When given, the policy is taken as reviewed every
        ``R`` periods (``ltd`` over ``L + R``) and the fill rate is the periodic-review
        expression ``1 - E_y[n_{L+R}(y) - n_L(y)] / mu_R`` with ``y`` uniform on
        (s, s + Q] (see ``_fill_rate_periodic``), which counts the batch demand of a bucket
        correctly where the unit-demand formula above overstates shortages.
    integer
        Search whole-unit levels for every family (the smallest integer meeting the
        target); much faster than the continuous search and what an ERP needs.

    Examples
    --------
    >>> from stockpilot.core.policy.leadtime_demand import lead_time_demand
    >>> ltd = lead_time_demand([10.0], [0.0], [1.0], distribution="poisson")
    >>> s_q_service(ltd, [5.0], 0.9, service_type="cycle_service").reorder_point.tolist()
    [14.0]
    """
    owner = "s_q_service"
    st = as_service_type(service_type, owner=owner)
    n = ltd.mean.shape[0]
    q = _arr(_check(order_quantity, "order_quantity", owner), n)
    target = _arr(validate_service_target(service_target, owner=owner), n)
    lead_only = lead_time_only

    def fill_rate(sub: LeadTimeDemand, x: FloatArray, mask: NDArray[np.bool_]) -> FloatArray:
        if lead_only is None:
            return _fill_rate_s_q(sub, x, q[mask])
        return _fill_rate_periodic(sub, _subset(lead_only, mask), x, q[mask])

    if st is ServiceType.CYCLE_SERVICE:
        s = np.ceil(ltd.quantile(target) - 1e-9) if integer else ltd.quantile(target)
    else:

        def meets(sub: LeadTimeDemand, x: FloatArray, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
            return fill_rate(sub, x, mask) >= target[mask]

        lo, hi = _bounds(ltd, q)
        s = _search_level(ltd, meets, lo, hi, integer=integer)
    s = np.where(ltd.mean > 0, s, 0.0)
    everything = np.ones(n, dtype=bool)
    return InventoryPolicy(
        policy=policy,
        reorder_point=s,
        order_quantity=q,
        order_up_to=s + q,
        safety_stock=s - ltd.mean,
        expected_fill_rate=np.where(ltd.mean > 0, fill_rate(ltd, s, everything), 1.0),
        expected_cycle_service=np.where(ltd.mean > 0, ltd.cdf(s), 1.0),
        expected_cost=_nan(n),
    )


def _normal_moments(
    demand_mean: ArrayLike, demand_sd: ArrayLike, owner: str
) -> tuple[FloatArray, FloatArray]:
    mu = _check(demand_mean, "demand_mean", owner)
    sd = _check(demand_sd, "demand_sd", owner)
    mu, sd = np.broadcast_arrays(mu, sd)
    return mu.astype(np.float64), sd.astype(np.float64)


def s_q_cycle_service_normal(
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    order_quantity: ArrayLike,
    service_target: ArrayLike,
) -> InventoryPolicy:
    """(s, Q) reorder point for a cycle service level, normal lead-time demand.

    ``s = x_L + k sigma_L`` with ``k = Phi^{-1}(P1)`` (Silver, Pyke & Thomas 2017,
    Section 6.7.4, eq. 6.13). ``demand_mean`` and ``demand_sd`` are those of lead-time
    demand (``x_L``, ``sigma_L``).
    """
    owner = "s_q_cycle_service_normal"
    mu, sd = _normal_moments(demand_mean, demand_sd, owner)
    n = mu.shape[0]
    q = _arr(_check(order_quantity, "order_quantity", owner, positive=True), n)
    k = special.ndtri(_arr(validate_service_target(service_target, owner=owner), n))
    s = mu + k * sd
    short = normal_loss(s, mu, sd) - normal_loss(s + q, mu, sd)
    return InventoryPolicy(
        policy=PolicyType.S_Q,
        reorder_point=s,
        order_quantity=q,
        order_up_to=s + q,
        safety_stock=k * sd,
        expected_fill_rate=1.0 - short / q,
        expected_cycle_service=special.ndtr(k),
        expected_cost=_nan(n),
    )


def s_q_fill_rate_normal(
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    order_quantity: ArrayLike,
    service_target: ArrayLike,
) -> InventoryPolicy:
    """(s, Q) reorder point for a fill rate ``P2``, normal lead-time demand.

    Silver, Pyke & Thomas (2017), Section 6.7.5, eq. (6.19): choose ``k`` with
    ``G_u(k) = Q (1 - P2) / sigma_L`` and set ``s = x_L + k sigma_L``. (The neglected
    term ``sigma_L G_u(k + Q / sigma_L)`` is included in ``expected_fill_rate``.)

    Examples
    --------
    ``x_L = 100``, ``sigma_L = 20``, ``Q = 200``, ``P2 = 0.99``: ``G(k) = 0.1``,
    ``k = 0.9023``, ``s = 118.0`` (hand computation with Silver, Pyke & Thomas' table).

    >>> p = s_q_fill_rate_normal(100.0, 20.0, 200.0, 0.99)
    >>> round(float(p.reorder_point[0]), 1)
    118.0
    """
    owner = "s_q_fill_rate_normal"
    mu, sd = _normal_moments(demand_mean, demand_sd, owner)
    n = mu.shape[0]
    q = _arr(_check(order_quantity, "order_quantity", owner, positive=True), n)
    target = _arr(validate_service_target(service_target, owner=owner), n)
    k = safety_factor_fill_rate_normal(target, q, sd)
    s = mu + k * sd
    short = normal_loss(s, mu, sd) - normal_loss(s + q, mu, sd)
    return InventoryPolicy(
        policy=PolicyType.S_Q,
        reorder_point=s,
        order_quantity=q,
        order_up_to=s + q,
        safety_stock=k * sd,
        expected_fill_rate=1.0 - short / q,
        expected_cycle_service=np.where(sd > 0, special.ndtr(k), 1.0),
        expected_cost=_nan(n),
    )


def s_q_cost_optimal_normal(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    *,
    lead_time: ArrayLike,
    stockout_cost_basis: Literal["per_unit", "per_unit_time"] = "per_unit_time",
    max_iterations: int = 200,
    tolerance: float = 1e-9,
) -> InventoryPolicy:
    """Cost-optimal continuous-review (r, Q) with normal demand (iterative approximations).

    Parameters per unit time (e.g. a year): holding cost ``h``, stockout cost ``p``,
    order cost ``K``, demand rate ``lambda`` with standard deviation ``sigma`` per unit
    time, lead time ``L`` in the same unit; lead-time demand is ``N(lambda L, sigma^2 L)``.
    Starting from the EOQ, iterate until Q and r change less than ``tolerance``:

    * ``stockout_cost_basis="per_unit_time"`` (a backorder costs ``p`` per unit per unit
      time): the *loss-function approximation* of Snyder & Shen (2019), Section 5.2.4,
      eqs. (5.32)-(5.33): ``n(r) = Q h / (h + p)``,
      ``Q = sqrt(2 (K lambda + (h + p) n2(r)) / h)``.
    * ``stockout_cost_basis="per_unit"`` (``p`` once per unit short): Hadley & Whitin's
      conditions as in Nahmias (2009), Section 5.4, eqs. (5.1)-(5.2) -- Snyder & Shen's
      *expected-inventory-level (EIL) approximation*, Section 5.2.2:
      ``1 - F(r) = Q h / (p lambda)``, ``Q = sqrt(2 lambda (K + p n(r)) / h)``.

    ``expected_cost`` is the exact (r, Q) cost with time-weighted backorders,
    ``h (r - lambda L + Q / 2) + (h + p) B(r, Q) + K lambda / Q`` with
    ``B = [n2(r) - n2(r + Q)] / Q`` (Snyder & Shen 2019, eq. 5.24), for the first basis.

    Examples
    --------
    Snyder & Shen (2019), Example 5.6 (``h = 0.225``, ``p = 7.5``, ``K = 8``,
    ``lambda = 1300``, ``sigma = 150``, ``L = 1/12``):

    >>> p = s_q_cost_optimal_normal(0.225, 7.5, 8, 1300, 150, lead_time=1 / 12)
    >>> round(float(p.reorder_point[0]), 2), round(float(p.order_quantity[0]), 2)
    (126.87, 328.45)
    """
    owner = "s_q_cost_optimal_normal"
    if stockout_cost_basis not in ("per_unit", "per_unit_time"):
        raise choice_error(
            owner, "stockout_cost_basis", stockout_cost_basis, ["per_unit", "per_unit_time"]
        )
    h = _check(holding_cost, "holding_cost", owner, positive=True)
    p = _check(stockout_cost, "stockout_cost", owner, positive=True)
    k_cost = _check(fixed_cost, "fixed_cost", owner, positive=True)
    lam = _check(demand_mean, "demand_mean", owner, positive=True)
    sig = _check(demand_sd, "demand_sd", owner)
    lt = _check(lead_time, "lead_time", owner)
    h, p, k_cost, lam, sig, lt = (
        a.astype(np.float64) for a in np.broadcast_arrays(h, p, k_cost, lam, sig, lt)
    )
    mu_l = lam * lt
    sd_l = sig * np.sqrt(lt)
    safe_sd = np.where(sd_l > 0, sd_l, 1.0)
    q = np.sqrt(2.0 * k_cost * lam / h)
    r = mu_l.copy()
    active = np.arange(q.shape[0])
    for _ in range(max_iterations):
        # Only rows that have not converged are updated.
        a_h, a_p, a_k, a_lam = h[active], p[active], k_cost[active], lam[active]
        a_mu, a_sd, a_safe, a_q = mu_l[active], sd_l[active], safe_sd[active], q[active]
        if stockout_cost_basis == "per_unit":
            tail = np.clip(a_q * a_h / (a_p * a_lam), 1e-12, 1.0 - 1e-12)
            r_new = np.where(a_sd > 0, a_mu + a_sd * special.ndtri(1.0 - tail), a_mu)
            q_new = np.sqrt(2.0 * a_lam * (a_k + a_p * normal_loss(r_new, a_mu, a_sd)) / a_h)
        else:
            g = a_q * a_h / (a_h + a_p) / a_safe
            r_new = np.where(a_sd > 0, a_mu + a_sd * standard_normal_loss_inverse(g), a_mu)
            n2 = a_sd**2 * _g2((r_new - a_mu) / a_safe)
            q_new = np.sqrt(2.0 * (a_k * a_lam + (a_h + a_p) * n2) / a_h)
        done = (np.abs(q_new - a_q) < tolerance) & (np.abs(r_new - r[active]) < tolerance)
        q[active], r[active] = q_new, r_new
        active = active[~done]
        if active.size == 0:
            break
    n_r = normal_loss(r, mu_l, sd_l)
    backorders = sd_l**2 * (_g2((r - mu_l) / safe_sd) - _g2((r + q - mu_l) / safe_sd)) / q
    cost = h * (r - mu_l + q / 2.0) + (h + p) * backorders + k_cost * lam / q
    return InventoryPolicy(
        policy=PolicyType.S_Q,
        reorder_point=r,
        order_quantity=q,
        order_up_to=r + q,
        safety_stock=r - mu_l,
        expected_fill_rate=1.0 - (n_r - normal_loss(r + q, mu_l, sd_l)) / q,
        expected_cycle_service=np.where(sd_l > 0, special.ndtr((r - mu_l) / safe_sd), 1.0),
        expected_cost=cost,
    )


def _normal_second_order_loss(x: FloatArray, mean: FloatArray, sd: FloatArray) -> FloatArray:
    """``E[((D - x)^+)^2] / 2`` of ``D ~ N(mean, sd^2)``; ``((mean - x)^+)^2 / 2`` if sd = 0."""
    safe = np.where(sd > 0, sd, 1.0)
    out = safe**2 * standard_normal_second_order_loss((x - mean) / safe)
    return np.asarray(np.where(sd > 0, out, 0.5 * np.maximum(mean - x, 0.0) ** 2), np.float64)


def s_q_cost_optimal_exact_normal(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    *,
    lead_time: ArrayLike,
    order_quantity: ArrayLike | None = None,
    max_iterations: int = 100,
    tolerance: float = 1e-8,
) -> InventoryPolicy:
    """Exact cost-optimal continuous-review (R, Q), normal demand, time-weighted backorders.

    Axsäter (2015), *Inventory Control*, 3rd ed., Section 6.1.2: holding cost ``h`` and
    backorder cost ``b1`` per unit per unit time, order cost ``A``, demand rate ``mu`` with
    standard deviation ``sigma`` per unit time, lead time ``L``; lead-time demand
    ``N(mu L, sigma^2 L)``. The expected cost per unit time is exact (no approximation):

        C(R, Q) = h (R + Q / 2 - mu L) + (h + b1) [n2(R) - n2(R + Q)] / Q + A mu / Q

    with ``n2`` the second-order loss of lead-time demand (the same cost as Snyder & Shen
    2019, eq. 5.24). ``C`` is ``[A mu + integral_R^{R+Q} g(y) dy] / Q`` with ``g`` the
    convex newsvendor cost, hence jointly convex, and Axsäter's alternating procedure
    converges to the optimum: start from the EOQ, then repeat

    * R given Q: ``dC/dR = 0``, i.e. ``n(R) - n(R + Q) = Q h / (h + b1)``;
    * Q given R: ``dC/dQ = 0``, i.e.
      ``h / 2 + (h + b1) [n(R + Q) / Q - (n2(R) - n2(R + Q)) / Q^2] - A mu / Q^2 = 0``;

    until both move less than ``tolerance`` times ``max(1, Q)``. Each step is a vectorized bisection over all
    series. With ``order_quantity`` given, only the first step is taken (the optimal R for
    that Q). Unlike :func:`s_q_cost_optimal_normal` (the textbook approximations), this
    minimizes the exact cost; ``expected_cost`` is ``C(R, Q)``.

    Examples
    --------
    Axsäter (2015), Example 6.1 (``mu = 50``, ``sigma = 20``, ``A = 100``, ``h = 2``,
    ``b1 = 20``, ``L = 4``): at ``Q = EOQ = 70.71`` the optimal R is 224.76.

    >>> p = s_q_cost_optimal_exact_normal(2, 20, 100, 50, 20, lead_time=4, order_quantity=70.71)
    >>> round(float(p.reorder_point[0]), 2)
    224.76
    """
    owner = "s_q_cost_optimal_exact_normal"
    h = _check(holding_cost, "holding_cost", owner, positive=True)
    b1 = _check(stockout_cost, "stockout_cost", owner, positive=True)
    a_cost = _check(fixed_cost, "fixed_cost", owner)
    lam = _check(demand_mean, "demand_mean", owner, positive=True)
    sig = _check(demand_sd, "demand_sd", owner)
    lt = _check(lead_time, "lead_time", owner)
    fixed_q = order_quantity is not None
    q_given: ArrayLike = 1.0 if order_quantity is None else order_quantity
    q_in = _check(q_given, "order_quantity", owner, positive=True)
    h, b1, a_cost, lam, sig, lt, q = (
        np.array(a, dtype=np.float64)
        for a in np.broadcast_arrays(h, b1, a_cost, lam, sig, lt, q_in)
    )
    if not fixed_q and np.any(a_cost <= 0):
        raise parameter_error(
            owner,
            "fixed_cost",
            "a positive float (or give order_quantity)",
            float(a_cost[np.argmax(a_cost <= 0)]),
        )
    mu_l = lam * lt
    sd_l = sig * np.sqrt(lt)
    if not fixed_q:
        # Start from the loss-function approximation (exact when n(R + Q) is negligible).
        start = s_q_cost_optimal_normal(h, b1, a_cost, lam, sig, lead_time=lt)
        q = np.array(start.order_quantity, dtype=np.float64)
    ratio = h / (h + b1)

    def best_r(q_: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        m, s = mu_l[rows], sd_l[rows]

        def window(r: FloatArray) -> FloatArray:
            return normal_loss(r, m, s) - normal_loss(r + q_, m, s)

        # Beyond 9 sigma the loss is below 1e-19 sigma: the root lies in this bracket.
        spread = 9.0 * s + q_ + 1.0
        return bisect_decreasing(window, q_ * ratio[rows], m - spread, m + spread, iterations=50)

    def dcost_dq(r: FloatArray, q_: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        m, s = mu_l[rows], sd_l[rows]
        backorder = _normal_second_order_loss(r, m, s) - _normal_second_order_loss(r + q_, m, s)
        slope = normal_loss(r + q_, m, s) / q_ - backorder / q_**2
        return h[rows] / 2.0 + (h[rows] + b1[rows]) * slope - a_cost[rows] * lam[rows] / q_**2

    def best_q(r: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
        # dC/dQ is increasing in Q (C is convex); widen the bracket until it changes sign.
        lo = np.full(rows.shape[0], 1e-9)
        hi = 2.0 * q[rows] + 12.0 * sd_l[rows] + 1.0
        for _ in range(60):
            short = dcost_dq(r, hi, rows) < 0
            if not short.any():
                break
            hi = np.where(short, 2.0 * hi, hi)
        zero = np.zeros(rows.shape[0])
        return bisect_decreasing(lambda x: -dcost_dq(r, x, rows), zero, lo, hi, iterations=50)

    everything = np.arange(q.shape[0])
    r = best_r(q, everything)
    active = everything if not fixed_q else everything[:0]
    for _ in range(max_iterations):
        if active.size == 0:
            break
        q_new = best_q(r[active], active)
        r_new = best_r(q_new, active)
        scale = tolerance * np.maximum(1.0, q_new)
        done = (np.abs(q_new - q[active]) < scale) & (np.abs(r_new - r[active]) < scale)
        q[active], r[active] = q_new, r_new
        active = active[~done]
    backorders = (
        _normal_second_order_loss(r, mu_l, sd_l) - _normal_second_order_loss(r + q, mu_l, sd_l)
    ) / q
    cost = h * (r - mu_l + q / 2.0) + (h + b1) * backorders + a_cost * lam / q
    safe_sd = np.where(sd_l > 0, sd_l, 1.0)
    short = normal_loss(r, mu_l, sd_l) - normal_loss(r + q, mu_l, sd_l)
    return InventoryPolicy(
        policy=PolicyType.S_Q,
        reorder_point=r,
        order_quantity=q,
        order_up_to=r + q,
        safety_stock=r - mu_l,
        expected_fill_rate=1.0 - short / q,
        expected_cycle_service=np.where(sd_l > 0, special.ndtr((r - mu_l) / safe_sd), 1.0),
        expected_cost=cost,
    )


def _poisson_newsvendor_cost(
    y: FloatArray, h: FloatArray, p: FloatArray, mean: FloatArray
) -> FloatArray:
    """g(y) = h E[(y - D)^+] + p E[(D - y)^+] = h (y - mu) + (h + p) n(y), D ~ Poisson."""
    loss = mean * poisson_sf(y - 1.0, mean) - y * poisson_sf(y, mean)
    loss = np.where(y < 0, mean - y, loss)
    return np.asarray(h * (y - mean) + (h + p) * loss, dtype=np.float64)


def s_q_poisson_exact(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    *,
    lead_time: ArrayLike,
    max_order_quantity: int = 100_000,
) -> InventoryPolicy:
    """Exact cost-optimal continuous-review (r, Q) for Poisson demand.

    Federgruen & Zheng (1992), *Operations Research* 40(4), 808-813, as in Snyder & Shen
    (2019), Section 5.3.2: the cost ``g(r, Q) = [K lambda + sum_{y=r+1}^{r+Q} g(y)] / Q``
    (``g`` the newsvendor cost of lead-time demand ``Poisson(lambda L)``, ``h`` and ``p``
    per unit per unit time) is minimized by growing Q one unit at a time from
    ``(S* - 1, 1)`` and adding, each time, the cheaper end of the window (``r`` or
    ``r + Q + 1``) until the cost rises. All series advance together (one array step per
    unit of Q).

    Examples
    --------
    Snyder & Shen (2019), Example 5.8: ``h = 20``, ``p = 150``, ``K = 100``,
    ``lambda = 1.5``, ``L = 2``: ``r = 3``, ``Q = 5``, cost 107.92.

    >>> p = s_q_poisson_exact(20, 150, 100, 1.5, lead_time=2)
    >>> int(p.reorder_point[0]), int(p.order_quantity[0]), round(float(p.expected_cost[0]), 2)
    (3, 5, 107.92)
    """
    owner = "s_q_poisson_exact"
    h = _check(holding_cost, "holding_cost", owner, positive=True)
    p = _check(stockout_cost, "stockout_cost", owner, positive=True)
    k_cost = _check(fixed_cost, "fixed_cost", owner, positive=True)
    lam = _check(demand_mean, "demand_mean", owner, positive=True)
    lt = _check(lead_time, "lead_time", owner)
    h, p, k_cost, lam, lt = (
        a.astype(np.float64) for a in np.broadcast_arrays(h, p, k_cost, lam, lt)
    )
    n = lam.shape[0]
    mu = lam * lt
    ratio = p / (p + h)
    big_s = np.asarray(stats.poisson.ppf(ratio, mu), dtype=np.float64)
    r = big_s - 1.0
    q = np.ones(n)
    window = _poisson_newsvendor_cost(r + 1.0, h, p, mu)  # sum of g over r+1..r+Q
    cost = (k_cost * lam + window) / q
    active = np.arange(n)
    for _ in range(max_order_quantity):
        ra, qa = r[active], q[active]
        ha, pa, mua = h[active], p[active], mu[active]
        g_left = _poisson_newsvendor_cost(ra, ha, pa, mua)
        g_right = _poisson_newsvendor_cost(ra + qa + 1.0, ha, pa, mua)
        left = g_left < g_right
        new_window = window[active] + np.where(left, g_left, g_right)
        new_cost = (k_cost[active] * lam[active] + new_window) / (qa + 1.0)
        better = new_cost <= cost[active]
        idx = active[better]
        r[idx] = np.where(left[better], ra[better] - 1.0, ra[better])
        q[idx] = qa[better] + 1.0
        window[idx] = new_window[better]
        cost[idx] = new_cost[better]
        active = idx
        if active.size == 0:
            break
    lead_ltd_fill = 1.0 - (_poisson_loss_diff(r, q, mu)) / q
    return InventoryPolicy(
        policy=PolicyType.S_Q,
        reorder_point=r,
        order_quantity=q,
        order_up_to=r + q,
        safety_stock=r - mu,
        expected_fill_rate=np.clip(lead_ltd_fill, 0.0, 1.0),
        expected_cycle_service=1.0 - poisson_sf(r, mu),
        expected_cost=cost,
    )


def _poisson_loss_diff(r: FloatArray, q: FloatArray, mu: FloatArray) -> FloatArray:
    """n(r) - n(r + Q) of Poisson lead-time demand (unit demands, continuous review)."""

    def loss(x: FloatArray) -> FloatArray:
        value = mu * poisson_sf(x - 1.0, mu) - x * poisson_sf(x, mu)
        return np.where(x < 0, mu - x, value)

    return np.asarray(loss(r) - loss(r + q), dtype=np.float64)


def _g2(z: FloatArray) -> FloatArray:
    return np.asarray(
        0.5 * ((z * z + 1.0) * special.ndtr(-z) - z * stats.norm.pdf(z)), dtype=np.float64
    )


def r_s_service(
    ltd: LeadTimeDemand,
    review_demand: ArrayLike,
    service_target: ArrayLike,
    *,
    service_type: ServiceType | str = ServiceType.FILL_RATE,
    policy: PolicyType = PolicyType.R_S,
    lead_time_only: LeadTimeDemand | None = None,
    integer: bool = False,
) -> InventoryPolicy:
    """Order-up-to level S of a periodic-review (R, S) policy for a service target.

    Parameters
    ----------
    ltd
        Demand over the protection interval ``R + L``.
    review_demand
        Mean demand per review interval, ``mu_R`` (the expected order size).
    service_target, service_type
        Cycle service: ``S = F_{R+L}^{-1}(P1)``. Fill rate: smallest S with
        ``n_{R+L}(S) <= mu_R (1 - P2)`` (Silver, Pyke & Thomas 2017, Section 7.4.3, eq.
        7.10 generalized to any family by its loss function). The expected shortage per
        replenishment cycle ignores the shortage already present at the start of the
        cycle, so the setting errs on the safe side.
    lead_time_only
        Demand over the lead time alone; when given, the shortage per cycle is the exact
        ``n_{R+L}(S) - n_L(S)`` for backorders (Zipkin 2000, Section 6.2.3).

    Examples
    --------
    >>> from stockpilot.core.policy.leadtime_demand import lead_time_demand
    >>> ltd = lead_time_demand([100.0], [20.0], [2.0], review_period=1.0)
    >>> round(float(r_s_service(ltd, [100.0], 0.95).order_up_to[0]), 1)
    324.0
    """
    owner = "r_s_service"
    st = as_service_type(service_type, owner=owner)
    lead_only = lead_time_only

    def _shortage(sub: LeadTimeDemand, x: FloatArray, mask: NDArray[np.bool_]) -> FloatArray:
        if lead_only is None:
            return sub.loss(x)
        return sub.loss(x) - _subset(lead_only, mask).loss(x)

    n = ltd.mean.shape[0]
    mu_r = _arr(_check(review_demand, "review_demand", owner), n)
    target = _arr(validate_service_target(service_target, owner=owner), n)
    if st is ServiceType.CYCLE_SERVICE:
        big_s = np.ceil(ltd.quantile(target) - 1e-9) if integer else ltd.quantile(target)
    else:
        allowed = mu_r * (1.0 - target)

        def meets(sub: LeadTimeDemand, x: FloatArray, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
            return sub.loss(x) <= allowed[mask]

        lo, hi = _bounds(ltd, np.zeros(n))
        big_s = _search_level(ltd, meets, lo, hi, integer=integer)
    big_s = np.where(ltd.mean > 0, big_s, 0.0)
    safe = np.where(mu_r > 0, mu_r, 1.0)
    fill = np.where(mu_r > 0, 1.0 - ltd.loss(big_s) / safe, 1.0)
    return InventoryPolicy(
        policy=policy,
        reorder_point=big_s,
        order_quantity=mu_r,
        order_up_to=big_s,
        safety_stock=big_s - ltd.mean,
        expected_fill_rate=np.clip(fill, 0.0, 1.0),
        expected_cycle_service=np.where(ltd.mean > 0, ltd.cdf(big_s), 1.0),
        expected_cost=_nan(n),
    )


def base_stock_service(
    ltd: LeadTimeDemand,
    demand_mean: ArrayLike,
    service_target: ArrayLike,
    *,
    service_type: ServiceType | str = ServiceType.FILL_RATE,
    lead_time_only: LeadTimeDemand | None = None,
    integer: bool = False,
) -> InventoryPolicy:
    """Base-stock level for a service target: (R, S) with ``R = 1``.

    ``ltd`` is demand over ``L + 1`` periods and ``demand_mean`` the mean per period.
    """
    return r_s_service(
        ltd,
        demand_mean,
        service_target,
        service_type=service_type,
        policy=PolicyType.BASE_STOCK,
        lead_time_only=lead_time_only,
        integer=integer,
    )


def base_stock_cost_optimal(
    ltd: LeadTimeDemand, holding_cost: ArrayLike, stockout_cost: ArrayLike
) -> InventoryPolicy:
    """Cost-optimal base-stock level: the ``p / (p + h)`` fractile of demand over ``L + 1``.

    Snyder & Shen (2019), Theorem 4.4 (periodic review, backorders, per-period costs
    ``h`` and ``p``); for ``L = 0`` this is the newsvendor solution (Theorem 4.1). The
    expected cost per period is ``h E[(S - D)^+] + p E[(D - S)^+] = h (S - mu) +
    (h + p) n(S)``.
    """
    owner = "base_stock_cost_optimal"
    n = ltd.mean.shape[0]
    h = _arr(_check(holding_cost, "holding_cost", owner, positive=True), n)
    p = _arr(_check(stockout_cost, "stockout_cost", owner, positive=True), n)
    ratio = p / (p + h)
    big_s = np.where(ltd.mean > 0, ltd.quantile(ratio), 0.0)
    shortage = ltd.loss(big_s)
    cost = h * (big_s - ltd.mean) + (h + p) * shortage
    return InventoryPolicy(
        policy=PolicyType.BASE_STOCK,
        reorder_point=big_s,
        order_quantity=_nan(n),
        order_up_to=big_s,
        safety_stock=big_s - ltd.mean,
        expected_fill_rate=_nan(n),
        expected_cycle_service=np.where(ltd.mean > 0, ltd.cdf(big_s), 1.0),
        expected_cost=cost,
    )


def s_q_cost_optimal_reorder_point(
    ltd: LeadTimeDemand,
    order_quantity: ArrayLike,
    holding_cost: ArrayLike,
    backorder_cost: ArrayLike,
    *,
    integer: bool = False,
) -> InventoryPolicy:
    """Cost-optimal reorder point of an (s, Q) policy for a given Q, any demand family.

    Periodic review every bucket with backorders, costs per unit and bucket ``h``
    (holding) and ``b`` (backorder), ``ltd`` the demand over ``L + 1``. The inventory
    position is uniform on (s, s + Q], so the expected cost per bucket is the mean of
    ``C(y) = h (y - mu) + (h + b) n(y)`` over that window (``n`` the first-order loss). ``C``
    is convex, and the best window of length Q has equal costs at its two ends
    (Federgruen and Zheng 1992; Zipkin 2000, section 6.2.4):
    ``C(s + Q) = C(s)``, i.e. ``n(s) - n(s + Q) = Q h / (h + b)``; for discrete families
    the integer form ``n(s + 1) - n(s + Q + 1) <= Q h / (h + b)`` picks the smallest such
    s. As ``Q -> 0`` this is the critical fractile ``F(s) = b / (b + h)`` of
    :func:`base_stock_cost_optimal`; for larger Q the reorder point falls below that
    fractile, since the window's upper part carries stock anyway. ``expected_cost`` is
    that mean cost per bucket (NaN for empirical rows, which have no second-order loss).
    """
    owner = "s_q_cost_optimal_reorder_point"
    n = ltd.mean.shape[0]
    q = _arr(_check(order_quantity, "order_quantity", owner), n)
    h = _arr(_check(holding_cost, "holding_cost", owner, positive=True), n)
    b = _arr(_check(backorder_cost, "backorder_cost", owner, positive=True), n)
    allowance = q * h / (h + b)
    discrete = ltd.is_discrete() | integer

    def meets(sub: LeadTimeDemand, x: FloatArray, rows: NDArray[np.bool_]) -> NDArray[np.bool_]:
        shift = np.where(discrete[rows], 1.0, 0.0)
        drop = sub.loss(x + shift) - sub.loss(x + shift + q[rows])
        return np.asarray(drop <= allowance[rows] + 1e-12)

    lo, hi = _bounds(ltd, q)
    s = _search_level(ltd, meets, lo, hi, integer=integer)
    s = np.where(ltd.mean > 0, s, 0.0)
    shift = np.where(discrete, 1.0, 0.0)
    safe_q = np.where(q > 0, q, 1.0)
    # mean over the window of n(y): y = s+1..s+Q (discrete) or y uniform on (s, s + Q]
    window_shortage = (ltd.second_order_loss(s) - ltd.second_order_loss(s + q)) / safe_q
    cost = h * (s + (q + shift) / 2.0 - ltd.mean) + (h + b) * window_shortage
    return InventoryPolicy(
        policy=PolicyType.S_Q,
        reorder_point=s,
        order_quantity=q,
        order_up_to=s + q,
        safety_stock=s - ltd.mean,
        expected_fill_rate=np.where(ltd.mean > 0, _fill_rate_s_q(ltd, s, q), 1.0),
        expected_cycle_service=np.where(ltd.mean > 0, ltd.cdf(s), 1.0),
        expected_cost=np.where(ltd.mean > 0, cost, 0.0),
    )


def base_stock_cost_optimal_normal(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    *,
    lead_time: ArrayLike = 0.0,
) -> InventoryPolicy:
    """Cost-optimal base stock with normal per-period demand ``N(mu, sigma^2)``.

    ``S* = mu (L + 1) + sigma sqrt(L + 1) Phi^{-1}(p / (p + h))`` (Snyder & Shen 2019,
    eq. 4.35); cost ``(h + p) sigma_{L+1} phi(z*)`` (eq. 4.36).

    Examples
    --------
    Snyder & Shen (2019), Example 4.1 / 4.2 (newsvendor, ``h = 0.18``, ``p = 0.70``,
    ``mu = 50``, ``sigma = 8``): ``S* = 56.6``, cost 2.00.

    >>> p = base_stock_cost_optimal_normal(0.18, 0.70, 50, 8)
    >>> round(float(p.order_up_to[0]), 2), round(float(p.expected_cost[0]), 4)
    (56.6, 1.9976)
    """
    owner = "base_stock_cost_optimal_normal"
    mu, sd = _normal_moments(demand_mean, demand_sd, owner)
    n = mu.shape[0]
    lt = _arr(_check(lead_time, "lead_time", owner), n)
    h = _arr(_check(holding_cost, "holding_cost", owner, positive=True), n)
    p = _arr(_check(stockout_cost, "stockout_cost", owner, positive=True), n)
    mu_l = mu * (lt + 1.0)
    sd_l = sd * np.sqrt(lt + 1.0)
    z = special.ndtri(p / (p + h))
    big_s = mu_l + z * sd_l
    cost = (h + p) * sd_l * stats.norm.pdf(z)
    return InventoryPolicy(
        policy=PolicyType.BASE_STOCK,
        reorder_point=big_s,
        order_quantity=_nan(n),
        order_up_to=big_s,
        safety_stock=z * sd_l,
        expected_fill_rate=1.0 - sd_l * standard_normal_loss(z) / np.where(mu > 0, mu, 1.0),
        expected_cycle_service=special.ndtr(z) + np.zeros(n),
        expected_cost=cost,
    )


def s_s_power_approximation(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    *,
    lead_time: ArrayLike = 0.0,
    review_period: ArrayLike = 1.0,
    cap_at_newsvendor: bool = True,
) -> InventoryPolicy:
    """(s, S) by Ehrhardt's revised power approximation.

    Ehrhardt (1979), *Management Science* 25(11); revised by Ehrhardt & Mosier (1984),
    *Management Science* 30(5); Silver, Pyke & Thomas (2017), Section 7.5.2; Snyder &
    Shen (2019), Section 4.6.3. Per review interval of ``R`` periods with demand mean
    ``mu`` and standard deviation ``sigma`` per period, over ``L + R``:
    ``mu_R = R mu``, ``mu_L = (L + R) mu``, ``sigma_L = sigma sqrt(L + R)``,

        Q_p = 1.30 mu_R^0.494 (K / h)^0.506 (1 + sigma_L^2 / mu_R^2)^0.116
        z   = sqrt(Q_p h / (sigma_L p))
        s_p = 0.973 mu_L + sigma_L (0.183 / z + 1.063 - 2.192 z)

    and ``s = s_p, S = s_p + Q_p``. With ``cap_at_newsvendor`` (Ehrhardt & Mosier's
    rule, as in Silver, Pyke & Thomas 2017), when ``Q_p / mu_R <= 1.5`` both are capped at
    the newsvendor level ``S_0 = mu_L + sigma_L Phi^{-1}(p / (p + h))``.

    Examples
    --------
    Snyder & Shen (2019), Example 4.8 (``h = 0.18``, ``p = 0.70``, ``K = 2.5``,
    ``mu = 50``, ``sigma = 8``, ``L = 0``; the formulas without the cap):
    ``s = 40.19``, ``S = 74.29``.

    >>> p = s_s_power_approximation(0.18, 0.70, 2.5, 50, 8, cap_at_newsvendor=False)
    >>> round(float(p.reorder_point[0]), 2), round(float(p.order_up_to[0]), 2)
    (40.19, 74.29)
    """
    owner = "s_s_power_approximation"
    h = _check(holding_cost, "holding_cost", owner, positive=True)
    p = _check(stockout_cost, "stockout_cost", owner, positive=True)
    k_cost = _check(fixed_cost, "fixed_cost", owner, positive=True)
    mu = _check(demand_mean, "demand_mean", owner)
    sd = _check(demand_sd, "demand_sd", owner)
    lt = _check(lead_time, "lead_time", owner)
    r = _check(review_period, "review_period", owner, positive=True)
    h, p, k_cost, mu, sd, lt, r = (
        a.astype(np.float64) for a in np.broadcast_arrays(h, p, k_cost, mu, sd, lt, r)
    )
    n = mu.shape[0]
    mu_r = mu * r
    mu_l = mu * (lt + r)
    sd_l = sd * np.sqrt(lt + r)
    active = (mu_r > 0) & (sd_l > 0)
    safe_mu = np.where(mu_r > 0, mu_r, 1.0)
    safe_sd = np.where(sd_l > 0, sd_l, 1.0)
    q_p = 1.30 * safe_mu**0.494 * (k_cost / h) ** 0.506 * (1.0 + safe_sd**2 / safe_mu**2) ** 0.116
    z = np.sqrt(q_p * h / (safe_sd * p))
    s_p = 0.973 * mu_l + safe_sd * (0.183 / z + 1.063 - 2.192 * z)
    s0 = mu_l + safe_sd * special.ndtri(p / (p + h))
    small = (q_p / safe_mu <= 1.5) & cap_at_newsvendor
    s = np.where(small, np.minimum(s_p, s0), s_p)
    big_s = np.where(small, np.minimum(s_p + q_p, s0), s_p + q_p)
    # Deterministic or no demand: EOQ-like cycle with no safety stock.
    eoq = np.sqrt(2.0 * k_cost * mu_r / h)
    s = np.where(active, s, mu_l - mu_r)
    big_s = np.where(active, big_s, mu_l - mu_r + eoq)
    gap = big_s - s
    short = normal_loss(s, mu_l, sd_l) - normal_loss(big_s, mu_l, sd_l)
    fill = np.where(gap > 0, 1.0 - short / np.where(gap > 0, gap, 1.0), 1.0)
    return InventoryPolicy(
        policy=PolicyType.S_S if np.all(r == 1.0) else PolicyType.R_S_S,
        reorder_point=s,
        order_quantity=gap,
        order_up_to=big_s,
        safety_stock=s - mu_l,
        expected_fill_rate=np.where(mu > 0, np.clip(fill, 0.0, 1.0), 1.0),
        expected_cycle_service=np.where(active, special.ndtr((s - mu_l) / safe_sd), 1.0),
        expected_cost=_nan(n),
    )


def r_s_s_power_approximation(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    *,
    review_period: ArrayLike,
    lead_time: ArrayLike = 0.0,
) -> InventoryPolicy:
    """(R, s, S) by the revised power approximation over a review interval of R periods.

    Costs ``h`` and ``p`` are per review interval. See :func:`s_s_power_approximation`.
    """
    res = s_s_power_approximation(
        holding_cost,
        stockout_cost,
        fixed_cost,
        demand_mean,
        demand_sd,
        lead_time=lead_time,
        review_period=review_period,
    )
    return InventoryPolicy(
        PolicyType.R_S_S,
        res.reorder_point,
        res.order_quantity,
        res.order_up_to,
        res.safety_stock,
        res.expected_fill_rate,
        res.expected_cycle_service,
        res.expected_cost,
    )


def r_s_s_service(
    ltd: LeadTimeDemand,
    order_quantity: ArrayLike,
    service_target: ArrayLike,
    *,
    service_type: ServiceType | str = ServiceType.FILL_RATE,
    policy: PolicyType = PolicyType.R_S_S,
    lead_time_only: LeadTimeDemand | None = None,
    integer: bool = False,
) -> InventoryPolicy:
    """(R, s, S) (or (s, S)) for a service target, with ``S - s = Q`` from lot sizing.

    ``ltd`` is demand over ``R + L``. s is set as for (s, Q) over that interval
    (Silver, Pyke & Thomas 2017, Section 7.5.1, which sets s from the (s, Q) logic and
    ``S = s + Q``). The undershoot of s at a review is ignored, so the achieved service
    is somewhat below the target when demand per review is large relative to Q; check
    with the simulator.
    """
    res = s_q_service(
        ltd,
        order_quantity,
        service_target,
        service_type=service_type,
        lead_time_only=lead_time_only,
        integer=integer,
    )
    return InventoryPolicy(
        policy,
        res.reorder_point,
        res.order_quantity,
        res.order_up_to,
        res.safety_stock,
        res.expected_fill_rate,
        res.expected_cycle_service,
        res.expected_cost,
    )


# --------------------------------------------------------------------------------------
# Zheng-Federgruen (1991): exact optimal (s, S) under discrete demand
# --------------------------------------------------------------------------------------

_POISSON, _NEGBIN = 0, 1


@njit(cache=True)
def _pmf(kind: int, mean: float, size: float, prob: float, m: int) -> NDArray[np.float64]:
    out = np.zeros(m + 1)
    if mean <= 0.0:
        out[0] = 1.0
        return out
    if kind == _POISSON:
        out[0] = np.exp(-mean)
        for k in range(1, m + 1):
            out[k] = out[k - 1] * mean / k
    else:
        out[0] = prob**size
        for k in range(1, m + 1):
            out[k] = out[k - 1] * (k - 1.0 + size) / k * (1.0 - prob)
    return out


@njit(cache=True)
def _support(mean: float, var: float) -> int:
    return int(mean + 12.0 * np.sqrt(var) + 20.0)


@njit(cache=True)
def _g_cost(y: int, h: float, p: float, mean_l: float, loss_l: NDArray[np.float64]) -> float:
    """G(y) = h E[(y - D)^+] + p E[(D - y)^+] for demand over L + 1 periods."""
    if y < 0:
        return p * (mean_l - y)
    if y >= loss_l.shape[0]:
        return h * (y - mean_l)
    return h * (y - mean_l) + (h + p) * loss_l[y]


@njit(cache=True)
def _renewal(pmf: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """m(j): expected number of periods the inventory position spends j units below S."""
    m = np.zeros(size)
    p0 = pmf[0]
    m[0] = 1.0 / (1.0 - p0)
    for j in range(1, size):
        acc = 0.0
        top = min(j, pmf.shape[0] - 1)
        for ell in range(1, top + 1):
            acc += pmf[ell] * m[j - ell]
        m[j] = acc / (1.0 - p0)
    return m


@njit(cache=True)
def _c_cost(  # noqa: PLR0917
    s: int,
    big_s: int,
    k_cost: float,
    h: float,
    p: float,
    mean_l: float,
    loss_l: NDArray[np.float64],
    m: NDArray[np.float64],
) -> float:
    """Average cost c(s, S) = [K + sum_{d<S-s} m(d) G(S - d)] / M(S - s)."""
    num = k_cost
    den = 0.0
    for d in range(big_s - s):
        num += m[d] * _g_cost(big_s - d, h, p, mean_l, loss_l)
        den += m[d]
    return num / den


@njit(cache=True, parallel=True)
def _zf_kernel(  # noqa: PLR0917
    kind: NDArray[np.int64],
    mean: NDArray[np.float64],
    size: NDArray[np.float64],
    prob: NDArray[np.float64],
    mean_l: NDArray[np.float64],
    size_l: NDArray[np.float64],
    prob_l: NDArray[np.float64],
    h: NDArray[np.float64],
    p: NDArray[np.float64],
    k_cost: NDArray[np.float64],
    out_s: NDArray[np.float64],
    out_big_s: NDArray[np.float64],
    out_cost: NDArray[np.float64],
) -> None:
    n = mean.shape[0]
    for i in prange(n):
        if mean[i] <= 0.0:
            out_s[i] = -1.0
            out_big_s[i] = 0.0
            out_cost[i] = 0.0
            continue
        var1 = mean[i] if kind[i] == _POISSON else mean[i] / prob[i]
        var_l = mean_l[i] if kind[i] == _POISSON else mean_l[i] / prob_l[i]
        m1 = _support(mean[i], var1)
        ml = _support(mean_l[i], var_l)
        pmf1 = _pmf(kind[i], mean[i], size[i], prob[i], m1)
        pmf_l = _pmf(kind[i], mean_l[i], size_l[i], prob_l[i], ml)
        # Loss function of demand over L + 1 periods at y = 0..ml.
        loss_l = np.zeros(ml + 1)
        tail = 1.0 - pmf_l[0]  # P(D > 0)
        loss_l[0] = mean_l[i]
        for y in range(1, ml + 1):
            loss_l[y] = max(loss_l[y - 1] - tail, 0.0)
            tail -= pmf_l[y]
        hi, pi, ki, mu_l = h[i], p[i], k_cost[i], mean_l[i]
        # y*: minimizer of the convex G.
        y_star = 0
        while _g_cost(y_star + 1, hi, pi, mu_l, loss_l) < _g_cost(y_star, hi, pi, mu_l, loss_l):
            y_star += 1
        while _g_cost(y_star - 1, hi, pi, mu_l, loss_l) < _g_cost(y_star, hi, pi, mu_l, loss_l):
            y_star -= 1
        # Drop the pmf tail beyond 1 - 1e-15 (it only lengthens the renewal convolution).
        eff = 1
        acc = pmf1[0]
        while eff < pmf1.shape[0] and acc < 1.0 - 1e-15:
            acc += pmf1[eff]
            eff += 1
        pmf1 = pmf1[:eff]
        eoq = np.sqrt(2.0 * ki * mean[i] / hi)
        cap = int(2.0 * eoq + 4.0 * np.sqrt(var1) + 32)
        m = _renewal(pmf1, cap)
        # Step 1: s0 = largest s < y* with c(s, y*) <= G(s).
        s = y_star - 1
        while _c_cost(s, y_star, ki, hi, pi, mu_l, loss_l, m) > _g_cost(s, hi, pi, mu_l, loss_l):
            s -= 1
            if y_star - s >= cap - 1:
                m = _renewal(pmf1, 2 * cap)
                cap = 2 * cap
        s0 = s
        c0 = _c_cost(s, y_star, ki, hi, pi, mu_l, loss_l, m)
        big_s0 = y_star
        big_s = big_s0 + 1
        # Step 2: raise S while G(S) <= c0, moving s up when a better S is found.
        while _g_cost(big_s, hi, pi, mu_l, loss_l) <= c0:
            if big_s - s >= cap - 1:
                m = _renewal(pmf1, 2 * cap)
                cap = 2 * cap
            c_new = _c_cost(s, big_s, ki, hi, pi, mu_l, loss_l, m)
            if c_new < c0:
                big_s0 = big_s
                while _c_cost(s, big_s0, ki, hi, pi, mu_l, loss_l, m) <= _g_cost(
                    s + 1, hi, pi, mu_l, loss_l
                ):
                    s += 1
                c0 = _c_cost(s, big_s0, ki, hi, pi, mu_l, loss_l, m)
            big_s += 1
        out_s[i] = float(s)
        out_big_s[i] = float(big_s0)
        out_cost[i] = c0
        _ = s0


def _discrete_params(
    distribution: str, mean: FloatArray, variance: FloatArray | None, owner: str
) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    n = mean.shape[0]
    if distribution == "poisson":
        return np.full(n, _POISSON, dtype=np.int64), np.zeros(n), np.ones(n)
    if distribution != "negative_binomial":
        raise choice_error(owner, "distribution", distribution, ["poisson", "negative_binomial"])
    if variance is None:
        raise parameter_error(owner, "demand_variance", "given for negative_binomial", None)
    var = np.maximum(variance, mean * (1.0 + 1e-9) + 1e-12)
    prob = np.where(mean > 0, mean / var, 1.0)
    size = np.where(mean > 0, mean**2 / (var - mean), 1.0)
    kind = np.where(var > mean * (1.0 + 1e-6), _NEGBIN, _POISSON).astype(np.int64)
    return kind, size, prob


def s_s_zheng_federgruen(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    *,
    lead_time: ArrayLike = 0,
    distribution: str = "poisson",
    demand_variance: ArrayLike | None = None,
) -> InventoryPolicy:
    """Optimal periodic-review (s, S) under discrete demand, Zheng & Federgruen (1991).

    Per-period demand is Poisson (mean ``mu``) or negative binomial (mean ``mu``,
    variance ``demand_variance``); backorders, per-period holding cost ``h`` and
    backorder cost ``p``, fixed order cost ``K``, integer lead time ``L``. An order is
    placed when the inventory position is at or below s, up to S. The algorithm (Zheng &
    Federgruen 1991, *Operations Research* 39(4), 654-665; Snyder & Shen 2019,
    Algorithm 4.2) evaluates ``c(s, S) = [K + sum_{d=0}^{S-s-1} m(d) G(S-d)] / M(S-s)``
    with the renewal function ``m`` of per-period demand and
    ``G(y) = h E[(y - D_{L+1})^+] + p E[(D_{L+1} - y)^+]``. Compiled with numba; runs in
    parallel over series.

    Examples
    --------
    Snyder & Shen (2019), Example 4.7: ``h = 1``, ``p = 4``, ``K = 5``, Poisson(6):
    ``s = 4``, ``S = 10``, cost 8.034.

    >>> p = s_s_zheng_federgruen(1.0, 4.0, 5.0, 6.0)
    >>> int(p.reorder_point[0]), int(p.order_up_to[0]), round(float(p.expected_cost[0]), 3)
    (4, 10, 8.034)
    """
    owner = "s_s_zheng_federgruen"
    h = _check(holding_cost, "holding_cost", owner, positive=True)
    p = _check(stockout_cost, "stockout_cost", owner, positive=True)
    k_cost = _check(fixed_cost, "fixed_cost", owner, positive=True)
    mu = _check(demand_mean, "demand_mean", owner)
    lt = _check(lead_time, "lead_time", owner)
    if np.any(lt != np.floor(lt)):
        raise parameter_error(owner, "lead_time", "a whole number of periods", lt.tolist())
    var_in = None if demand_variance is None else _check(demand_variance, "demand_variance", owner)
    arrays = [h, p, k_cost, mu, lt] + ([] if var_in is None else [var_in])
    b = [a.astype(np.float64) for a in np.broadcast_arrays(*arrays)]
    h, p, k_cost, mu, lt = b[:5]
    var = b[5] if var_in is not None else None
    n = mu.shape[0]
    kind, size, prob = _discrete_params(distribution, mu, var, owner)
    # Over L + 1 periods: Poisson((L+1) mu); NB((L+1) r, p) (sums of iid NB with equal p).
    mean_l = mu * (lt + 1.0)
    size_l = size * (lt + 1.0)
    out_s, out_big_s, out_cost = np.empty(n), np.empty(n), np.empty(n)
    _zf_kernel(
        kind,
        np.ascontiguousarray(mu),
        np.ascontiguousarray(size),
        np.ascontiguousarray(prob),
        np.ascontiguousarray(mean_l),
        np.ascontiguousarray(size_l),
        np.ascontiguousarray(prob),
        np.ascontiguousarray(h),
        np.ascontiguousarray(p),
        np.ascontiguousarray(k_cost),
        out_s,
        out_big_s,
        out_cost,
    )
    var_l = np.where(kind == _POISSON, mean_l, mean_l / prob)
    sd_l = np.sqrt(var_l)
    q = out_big_s - out_s
    # Service the policy delivers (no-undershoot approximation over L + 1 periods).
    if distribution == "poisson":
        loss_s = _disc_loss_poisson(out_s, mean_l)
        loss_big = _disc_loss_poisson(out_big_s, mean_l)
        cyc = stats.poisson.cdf(out_s, mean_l)
    else:
        loss_s = _disc_loss_nb(out_s, size_l, prob, mean_l)
        loss_big = _disc_loss_nb(out_big_s, size_l, prob, mean_l)
        cyc = stats.nbinom.cdf(out_s, size_l, prob)
    fill = np.where(q > 0, 1.0 - (loss_s - loss_big) / np.where(q > 0, q, 1.0), 1.0)
    _ = sd_l
    return InventoryPolicy(
        policy=PolicyType.S_S,
        reorder_point=out_s,
        order_quantity=q,
        order_up_to=out_big_s,
        safety_stock=out_s - mean_l,
        expected_fill_rate=np.where(mu > 0, np.clip(fill, 0.0, 1.0), 1.0),
        expected_cycle_service=np.where(mu > 0, cyc, 1.0),
        expected_cost=out_cost,
    )


def _disc_loss_poisson(x: FloatArray, mean: FloatArray) -> FloatArray:
    loss = mean * stats.poisson.sf(x - 1.0, mean) - x * stats.poisson.sf(x, mean)
    return np.asarray(np.where(x < 0, mean - x, loss), dtype=np.float64)


def _disc_loss_nb(
    x: FloatArray, size: FloatArray, prob: FloatArray, mean: FloatArray
) -> FloatArray:
    loss = mean * stats.nbinom.sf(x - 1.0, size + 1.0, prob) - x * stats.nbinom.sf(x, size, prob)
    return np.asarray(np.where(x < 0, mean - x, loss), dtype=np.float64)


def s_s_cost_discrete(
    reorder_point: ArrayLike,
    order_up_to: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    *,
    demand_mean: ArrayLike,
    lead_time: ArrayLike = 0,
) -> FloatArray:
    """Expected cost per period ``c(s, S)`` of an (s, S) policy, Poisson demand.

    The evaluator of :func:`s_s_zheng_federgruen` (Zheng & Federgruen 1991, eq. 2):
    a renewal-reward ratio computed for each series.
    """
    owner = "s_s_cost_discrete"
    s, big_s, h, p, k_cost, mu, lt = (
        a.astype(np.float64)
        for a in np.broadcast_arrays(
            np.atleast_1d(np.asarray(reorder_point, float)),
            np.atleast_1d(np.asarray(order_up_to, float)),
            _check(holding_cost, "holding_cost", owner, positive=True),
            _check(stockout_cost, "stockout_cost", owner, positive=True),
            _check(fixed_cost, "fixed_cost", owner, positive=True),
            _check(demand_mean, "demand_mean", owner, positive=True),
            _check(lead_time, "lead_time", owner),
        )
    )
    if np.any(big_s <= s):
        raise parameter_error(owner, "order_up_to", "greater than reorder_point", big_s.tolist())
    out = np.empty(s.shape[0])
    _cost_kernel(s, big_s, h, p, k_cost, mu, mu * (lt + 1.0), out)
    return out


@njit(cache=True)
def _cost_kernel(  # noqa: PLR0917
    s: NDArray[np.float64],
    big_s: NDArray[np.float64],
    h: NDArray[np.float64],
    p: NDArray[np.float64],
    k_cost: NDArray[np.float64],
    mean: NDArray[np.float64],
    mean_l: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    for i in range(s.shape[0]):
        m1 = _support(mean[i], mean[i])
        ml = _support(mean_l[i], mean_l[i])
        pmf1 = _pmf(_POISSON, mean[i], 0.0, 1.0, m1)
        pmf_l = _pmf(_POISSON, mean_l[i], 0.0, 1.0, ml)
        loss_l = np.zeros(ml + 1)
        tail = 1.0 - pmf_l[0]
        loss_l[0] = mean_l[i]
        for y in range(1, ml + 1):
            loss_l[y] = max(loss_l[y - 1] - tail, 0.0)
            tail -= pmf_l[y]
        gap = int(big_s[i] - s[i])
        m = _renewal(pmf1, gap + 1)
        out[i] = _c_cost(int(s[i]), int(big_s[i]), k_cost[i], h[i], p[i], mean_l[i], loss_l, m)
