"""One warehouse, many retailers (OWMR): the METRIC approximation with base-stock policies.

A central warehouse (base-stock level S_0, replenishment lead time L_0 from an outside
supplier with ample stock) supplies R retailers (base-stock S_i, transport time L_i).
Customer demand at retailer i is Poisson with rate lambda_i, so the warehouse faces
Poisson demand of rate lambda_0 = sum_i lambda_i under one-for-one replenishment.

METRIC (Sherbrooke 1968; Axsäter 2015, *Inventory Control*, 3rd ed., section 10.3.2,
eqs. (10.21)-(10.25)) replaces the random delay a retailer order suffers at the
warehouse by its mean, obtained from Little's law:

.. math::

    \\mathbb{E}[B_0] = \\mathbb{E}[(D_0 - S_0)^+], \\quad D_0 \\sim \\mathrm{Poisson}(\\lambda_0 L_0),
    \\qquad W = \\mathbb{E}[B_0] / \\lambda_0,

and treats retailer i as a single base-stock location with lead time ``L_i + W``:
``D_i ~ Poisson(lambda_i (L_i + W))``, ``E[B_i] = E[(D_i - S_i)^+]``,
``E[I_i] = S_i - lambda_i (L_i + W) + E[B_i]`` and fill rate ``P(D_i <= S_i - 1)``
(Poisson arrivals see the time average). The warehouse figures are exact; the retailer
figures are approximate: METRIC ignores the variance of the delay, so it tends to
understate retailer backorders when the warehouse stocks out often.

Lead times are in units of time; to compare with the discrete-time simulator
(:func:`~stockpilot.core.simulation.simulate_network`), where an order shipped in period
t arrives in period t + L + 1, use ``L + 1`` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from stockpilot.errors import choice_error, parameter_error

__all__ = ["OWMRMethod", "OWMROptimum", "OWMRResult", "owmr_metric", "owmr_optimize"]

FloatArray = NDArray[np.float64]
OWNER = "owmr_metric"


class OWMRMethod(StrEnum):
    """How the retailers' outstanding orders are approximated."""

    METRIC = "metric"  # Poisson with the mean delay (Sherbrooke 1968)
    TWO_MOMENT = "two_moment"  # negative binomial fitted to mean and variance (Graves 1985)


@dataclass(frozen=True, slots=True)
class OWMRResult:
    """Steady-state measures of a one-warehouse-many-retailers base-stock system.

    Attributes
    ----------
    warehouse_backorders, warehouse_on_hand, warehouse_fill_rate
        Exact expected backorders, on-hand stock and fill rate at the warehouse.
    average_delay
        W, the mean delay of a retailer order at the warehouse (units of time).
    effective_lead_time
        L_i + W per retailer, shape (R,).
    retailer_backorders, retailer_on_hand, retailer_fill_rate
        Approximate expected backorders, on-hand stock and fill rate per retailer (R,).
    """

    warehouse_backorders: float
    warehouse_on_hand: float
    warehouse_fill_rate: float
    average_delay: float
    effective_lead_time: FloatArray
    retailer_backorders: FloatArray
    retailer_on_hand: FloatArray
    retailer_fill_rate: FloatArray
    method: OWMRMethod = OWMRMethod.METRIC


def _poisson_backorders(mean: FloatArray, level: FloatArray) -> FloatArray:
    """E[(D - S)^+] for D ~ Poisson(mean), S >= 0 integer: mean - S + E[(S - D)^+]."""
    mean = np.asarray(mean, dtype=np.float64)
    level = np.asarray(level, dtype=np.float64)
    top = int(level.max()) if level.size else 0
    k = np.arange(top + 1, dtype=np.float64)
    pmf = stats.poisson.pmf(k[None, :], np.atleast_1d(mean)[:, None])
    short = np.maximum(np.atleast_1d(level)[:, None] - k[None, :], 0.0)
    on_hand = np.sum(pmf * short, axis=1)  # E[(S - D)^+], a finite sum
    return np.asarray(np.atleast_1d(mean) - np.atleast_1d(level) + on_hand, dtype=np.float64)


def _warehouse_backorder_variance(mean: float, level: float, backorders: float) -> float:
    """Var[(D - S)^+] for D ~ Poisson(mean): E[(D - S)^2] minus the finite part below S."""
    k = np.arange(int(level) + 1, dtype=np.float64)
    below = float(np.sum((k - level) ** 2 * stats.poisson.pmf(k, mean)))
    second = mean + (mean - level) ** 2 - below
    return max(second - backorders**2, 0.0)


def _two_moment(
    mean: FloatArray, var: FloatArray, level: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """E[(O - S)^+] and P(O <= S - 1) for O negative binomial (Poisson when var <= mean)."""
    top = int(level.max())
    k = np.arange(top + 1, dtype=np.float64)[None, :]
    over = var > mean * (1 + 1e-9)
    p = np.where(over, mean / np.where(over, var, 1.0), 0.5)
    r = np.where(over, mean**2 / np.where(over, var - mean, 1.0), 1.0)
    pmf = np.where(
        over[:, None],
        stats.nbinom.pmf(k, r[:, None], p[:, None]),
        stats.poisson.pmf(k, mean[:, None]),
    )
    short = np.maximum(level[:, None] - k, 0.0)
    backorders = mean - level + np.sum(pmf * short, axis=1)
    fill = np.sum(np.where(k <= level[:, None] - 1, pmf, 0.0), axis=1)
    return np.asarray(backorders, dtype=np.float64), np.asarray(fill, dtype=np.float64)


def owmr_metric(
    *,
    warehouse_base_stock: int,
    warehouse_lead_time: float,
    retailer_base_stock: ArrayLike,
    retailer_lead_time: ArrayLike,
    demand_rate: ArrayLike,
    method: OWMRMethod | str = OWMRMethod.METRIC,
) -> OWMRResult:
    """Evaluate an OWMR base-stock system with the METRIC (or two-moment) approximation.

    Parameters
    ----------
    warehouse_base_stock
        S_0 >= 0 (units, integer).
    warehouse_lead_time
        L_0 >= 0, replenishment lead time of the warehouse.
    retailer_base_stock
        S_i >= 0 (integers), shape (R,).
    retailer_lead_time
        L_i >= 0, transport time from the warehouse (scalar or (R,)).
    demand_rate
        lambda_i > 0, Poisson demand rate per unit time at each retailer (scalar or (R,)).
    method
        ``metric``: retailer outstanding orders are Poisson with mean lambda_i (L_i + W).
        ``two_moment``: they are negative binomial with the same mean and the variance
        lambda_i L_i + f_i^2 Var[B_0] + f_i (1 - f_i) E[B_0], f_i = lambda_i / lambda_0,
        because each warehouse backorder belongs to retailer i with probability f_i
        (Graves 1985; Axsäter 2015, section 10.3.3). It corrects METRIC's optimism.

    Returns
    -------
    OWMRResult

    References
    ----------
    Sherbrooke, C. C. (1968). METRIC: A multi-echelon technique for recoverable item
    control. *Operations Research* 16(1), 122-141.
    Graves, S. C. (1985). A multi-echelon inventory model for a repairable item with
    one-for-one replenishment. *Management Science* 31(10), 1247-1256.
    Axsäter, S. (2015). *Inventory Control*, 3rd ed., sections 10.3.2-10.3.3.

    Examples
    --------
    Two identical retailers, rate 1 each; warehouse S_0 = 2, L_0 = 2; retailers S_i = 2,
    L_i = 1. The warehouse sees Poisson(4) lead-time demand, E[B_0] = 4 - 2 + E[(2 - D)^+]
    = 2 + 2 e^-4 + 4 e^-4 = 2.1099, so W = 1.0549.

    >>> res = owmr_metric(warehouse_base_stock=2, warehouse_lead_time=2,
    ...                   retailer_base_stock=[2, 2], retailer_lead_time=1, demand_rate=1)
    >>> round(res.warehouse_backorders, 4), round(res.average_delay, 4)
    (2.1099, 1.0549)
    """
    rates = np.atleast_1d(np.asarray(demand_rate, dtype=np.float64))
    levels = np.atleast_1d(np.asarray(retailer_base_stock, dtype=np.float64))
    if rates.size == 1 and levels.size > 1:
        rates = np.full(levels.size, rates[0])
    leads = np.asarray(retailer_lead_time, dtype=np.float64)
    leads = np.full(levels.size, float(leads)) if leads.ndim == 0 else leads
    if levels.ndim != 1 or levels.size == 0:
        raise parameter_error(OWNER, "retailer_base_stock", "a non-empty 1-D array", levels.shape)
    for name, arr in (("demand_rate", rates), ("retailer_lead_time", leads)):
        if arr.shape != levels.shape:
            raise parameter_error(
                OWNER, name, f"a scalar or an array of shape {levels.shape}", arr.shape
            )
    if np.any(~np.isfinite(rates) | (rates <= 0)):
        raise parameter_error(OWNER, "demand_rate", "finite and > 0", rates.tolist())
    if np.any(~np.isfinite(leads) | (leads < 0)):
        raise parameter_error(OWNER, "retailer_lead_time", "finite and >= 0", leads.tolist())
    if np.any((levels < 0) | (levels != np.round(levels))):
        raise parameter_error(OWNER, "retailer_base_stock", "integers >= 0", levels.tolist())
    if warehouse_base_stock < 0 or int(warehouse_base_stock) != warehouse_base_stock:
        raise parameter_error(
            OWNER, "warehouse_base_stock", "an integer >= 0", warehouse_base_stock
        )
    if not np.isfinite(warehouse_lead_time) or warehouse_lead_time < 0:
        raise parameter_error(OWNER, "warehouse_lead_time", "finite and >= 0", warehouse_lead_time)
    try:
        how = OWMRMethod(method)
    except ValueError:
        raise choice_error(OWNER, "method", method, [m.value for m in OWMRMethod]) from None

    return _evaluate(
        float(warehouse_base_stock),
        float(warehouse_lead_time),
        levels,
        leads,
        rates,
        total=float(rates.sum()),
        how=how,
    )


def _evaluate(
    warehouse_base_stock: float,
    warehouse_lead_time: float,
    levels: FloatArray,
    leads: FloatArray,
    rates: FloatArray,
    *,
    total: float,
    how: OWMRMethod,
) -> OWMRResult:
    """The approximation for validated inputs; ``total`` is lambda_0 (rates may repeat)."""
    mean0 = np.array([total * warehouse_lead_time])
    s0 = np.array([warehouse_base_stock])
    b0 = float(_poisson_backorders(mean0, s0)[0])
    delay = b0 / total
    effective = leads + delay
    means = rates * effective
    if how is OWMRMethod.METRIC:
        backorders = _poisson_backorders(means, levels)
        fill = np.where(levels > 0, stats.poisson.cdf(levels - 1, means), 0.0)
    else:
        share = rates / total
        var_b0 = _warehouse_backorder_variance(float(mean0[0]), float(s0[0]), b0)
        var = rates * leads + share**2 * var_b0 + share * (1 - share) * b0
        backorders, fill = _two_moment(means, var, levels)
    return OWMRResult(
        warehouse_backorders=b0,
        warehouse_on_hand=float(s0[0] - mean0[0] + b0),
        warehouse_fill_rate=float(stats.poisson.cdf(s0[0] - 1, mean0[0])) if s0[0] > 0 else 0.0,
        average_delay=delay,
        effective_lead_time=effective,
        retailer_backorders=backorders,
        retailer_on_hand=levels - means + backorders,
        retailer_fill_rate=np.asarray(fill, dtype=np.float64),
        method=how,
    )


@dataclass(frozen=True, slots=True)
class OWMROptimum:
    """Cheapest base-stock levels meeting the retailers' fill-rate targets.

    Attributes
    ----------
    warehouse_base_stock
        S_0.
    retailer_base_stock
        S_i, shape (R,).
    expected_holding_cost
        h_0 E[I_0] + sum_i h_i E[I_i] per unit time.
    evaluation
        The :class:`OWMRResult` at the optimum.
    """

    warehouse_base_stock: int
    retailer_base_stock: NDArray[np.int64]
    expected_holding_cost: float
    evaluation: OWMRResult


def owmr_optimize(
    *,
    warehouse_lead_time: float,
    retailer_lead_time: ArrayLike,
    demand_rate: ArrayLike,
    warehouse_holding_cost: float,
    retailer_holding_cost: ArrayLike,
    fill_rate_target: ArrayLike,
    method: OWMRMethod | str = OWMRMethod.METRIC,
) -> OWMROptimum:
    """Minimize expected holding cost subject to a fill-rate target at every retailer.

    For each warehouse level S_0 (0 up to the 1 - 1e-9 quantile of its lead-time demand)
    the smallest retailer levels meeting the targets are found under the chosen
    approximation; the S_0 with the least total holding cost wins (Axsäter 2015, section
    10.3.4, with fill-rate constraints instead of backorder costs). Exhaustive in S_0 and
    exact per retailer given S_0, so it is optimal for the approximation.

    Examples
    --------
    >>> opt = owmr_optimize(warehouse_lead_time=2.0, retailer_lead_time=1.0,
    ...                     demand_rate=[1.0, 1.0], warehouse_holding_cost=1.0,
    ...                     retailer_holding_cost=[2.0, 2.0], fill_rate_target=0.9)
    >>> bool(np.all(opt.evaluation.retailer_fill_rate >= 0.9))
    True
    """
    owner = "owmr_optimize"
    rates = np.atleast_1d(np.asarray(demand_rate, dtype=np.float64))
    leads = np.atleast_1d(np.asarray(retailer_lead_time, dtype=np.float64))
    h = np.atleast_1d(np.asarray(retailer_holding_cost, dtype=np.float64))
    target = np.atleast_1d(np.asarray(fill_rate_target, dtype=np.float64))
    r = max(rates.size, leads.size, h.size, target.size)
    rates, leads, h, target = (
        np.broadcast_to(a, (r,)).copy() if a.size == 1 else a for a in (rates, leads, h, target)
    )
    for name, arr in (
        ("demand_rate", rates),
        ("retailer_lead_time", leads),
        ("retailer_holding_cost", h),
        ("fill_rate_target", target),
    ):
        if arr.shape != (r,):
            raise parameter_error(owner, name, f"a scalar or an array of shape ({r},)", arr.shape)
    if np.any(~np.isfinite(rates) | (rates <= 0)):
        raise parameter_error(owner, "demand_rate", "finite and > 0", rates.tolist())
    if np.any(~np.isfinite(leads) | (leads < 0)):
        raise parameter_error(owner, "retailer_lead_time", "finite and >= 0", leads.tolist())
    if np.any(~np.isfinite(h) | (h < 0)) or not (
        np.isfinite(warehouse_holding_cost) and warehouse_holding_cost >= 0
    ):
        raise parameter_error(
            owner, "holding costs", "finite and >= 0", [warehouse_holding_cost, *h.tolist()]
        )
    if np.any(~((target > 0) & (target < 1))):
        raise parameter_error(owner, "fill_rate_target", "in (0, 1)", target.tolist())
    if not np.isfinite(warehouse_lead_time) or warehouse_lead_time < 0:
        raise parameter_error(owner, "warehouse_lead_time", "finite and >= 0", warehouse_lead_time)
    try:
        how = OWMRMethod(method)
    except ValueError:
        raise choice_error(owner, "method", method, [m.value for m in OWMRMethod]) from None

    total = float(rates.sum())
    top0 = int(stats.poisson.isf(1e-9, total * warehouse_lead_time)) + 1
    # retailer levels to try: up to the target quantile with the longest possible delay
    worst = rates * (leads + warehouse_lead_time)
    top = int(np.max(stats.poisson.isf(1e-9, worst))) + 2
    grid = np.arange(top + 1, dtype=np.float64)
    rep_rates = np.repeat(rates, grid.size)
    rep_leads = np.repeat(leads, grid.size)
    rep_levels = np.tile(grid, r)
    best: OWMROptimum | None = None
    for s0 in range(top0 + 1):
        trial = _evaluate(
            float(s0),
            float(warehouse_lead_time),
            rep_levels,
            rep_leads,
            rep_rates,
            total=total,
            how=how,
        )
        fill = trial.retailer_fill_rate.reshape(r, grid.size)
        meets = fill >= target[:, None] - 1e-12
        if not np.all(meets.any(axis=1)):
            continue
        levels = grid[np.argmax(meets, axis=1)]
        result = _evaluate(
            float(s0), float(warehouse_lead_time), levels, leads, rates, total=total, how=how
        )
        cost = warehouse_holding_cost * result.warehouse_on_hand + float(
            h @ result.retailer_on_hand
        )
        if best is None or cost < best.expected_holding_cost - 1e-12:
            best = OWMROptimum(s0, levels.astype(np.int64), cost, result)
    if best is None:  # pragma: no cover - the largest S_0 removes the delay almost surely
        raise parameter_error(owner, "fill_rate_target", "reachable", target.tolist())
    return best
