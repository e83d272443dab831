"""Service targets: cycle service (type 1), fill rate (type 2) and cost-optimal service.

* Cycle service level ``P1`` (type 1): probability of no stockout in a replenishment
  cycle; the safety factor is ``z = Phi^{-1}(P1)`` for normal lead-time demand.
* Fill rate ``P2`` (type 2): share of demand filled from stock on hand; for normal demand
  the safety factor solves ``G(k) = Q (1 - P2) / sigma`` (Silver, Pyke & Thomas 2017,
  eq. 6.19), where ``Q`` is the expected demand per replenishment cycle.
* Cost-optimal service replaces a target by costs: the critical ratio ``p / (p + h)``
  for backorders (newsvendor / base stock: Snyder & Shen 2019, Theorem 4.1 and
  eq. 4.30) and the (Q, R) conditions of Hadley & Whitin as presented by Nahmias (2009),
  Section 5.4: ``1 - F(R) = Q h / (p lambda)`` with backorders and
  ``1 - F(R) = Q h / (Q h + p lambda)`` with lost sales.

References
----------
Silver, Pyke & Thomas (2017), *Inventory and Production Management in Supply Chains*,
4th ed., Sections 6.7-6.9.
Nahmias, S. (2009), *Production and Operations Analysis*, 6th ed., Section 5.4-5.5.
Snyder & Shen (2019), *Fundamentals of Supply Chain Theory*, 2nd ed., Chapters 4-5.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from stockpilot.core.policy.loss import standard_normal_loss_inverse
from stockpilot.errors import choice_error, parameter_error
from stockpilot.vocab import ServiceType

FloatArray = NDArray[np.float64]

__all__ = [
    "StockoutModel",
    "as_service_type",
    "as_stockout_model",
    "cost_optimal_service_base_stock",
    "cost_optimal_service_s_q",
    "safety_factor_cycle_service",
    "safety_factor_fill_rate_normal",
    "validate_service_target",
]


class StockoutModel(StrEnum):
    """What happens to demand that cannot be filled from stock."""

    BACKORDER = "backorder"
    LOST_SALES = "lost_sales"


def as_service_type(value: ServiceType | str, *, owner: str = "policy") -> ServiceType:
    """Coerce to :class:`~stockpilot.vocab.ServiceType`; the error lists valid values."""
    try:
        return ServiceType(value)
    except ValueError:
        raise choice_error(owner, "service_type", value, [s.value for s in ServiceType]) from None


def as_stockout_model(value: StockoutModel | str, *, owner: str = "policy") -> StockoutModel:
    """Coerce to :class:`StockoutModel`; the error lists valid values."""
    try:
        return StockoutModel(value)
    except ValueError:
        raise choice_error(
            owner, "stockout_model", value, [s.value for s in StockoutModel]
        ) from None


def validate_service_target(value: ArrayLike, *, owner: str) -> FloatArray:
    """Return ``value`` as a float array after checking every entry is in (0, 1)."""
    arr = np.asarray(value, dtype=np.float64)
    bad = ~((arr > 0.0) & (arr < 1.0))
    if np.any(bad):
        first = arr.reshape(-1)[np.argmax(bad.reshape(-1))]
        raise parameter_error(
            owner,
            "service_target",
            "a float in (0, 1)",
            float(first),
            hint=f"{int(bad.sum())} value(s) out of range; give e.g. 0.95 for 95 %.",
        )
    return arr


def safety_factor_cycle_service(service_target: ArrayLike) -> FloatArray:
    """Safety factor ``z = Phi^{-1}(P1)`` for a cycle service level (type 1).

    Silver, Pyke & Thomas (2017), eq. (6.13): ``p_u(k) = 1 - P1``.

    Examples
    --------
    >>> round(float(safety_factor_cycle_service(0.95)), 3)
    1.645
    """
    p1 = validate_service_target(service_target, owner="safety_factor_cycle_service")
    return np.asarray(special.ndtri(p1), dtype=np.float64)


def safety_factor_fill_rate_normal(
    service_target: ArrayLike, cycle_demand: ArrayLike, demand_sd: ArrayLike
) -> FloatArray:
    """Safety factor ``k`` for a fill rate ``P2`` under normal demand.

    Solves ``G(k) = Q (1 - P2) / sigma`` (Silver, Pyke & Thomas 2017, eq. 6.19) where
    ``Q`` is the expected demand per replenishment cycle (order quantity for (s, Q); mean
    demand over a review period for (R, S)) and ``sigma`` the standard deviation of demand
    over the protection interval. A zero ``sigma`` gives ``k = 0``.

    Examples
    --------
    >>> round(float(safety_factor_fill_rate_normal(0.99, 100.0, 20.0)), 3)
    1.256
    """
    p2 = validate_service_target(service_target, owner="safety_factor_fill_rate_normal")
    q, sd = np.broadcast_arrays(np.asarray(cycle_demand, float), np.asarray(demand_sd, float))
    p2 = np.broadcast_to(p2, q.shape)
    safe = np.where(sd > 0, sd, 1.0)
    g = np.maximum(q * (1.0 - p2) / safe, 1e-300)
    return np.where(sd > 0, standard_normal_loss_inverse(g), 0.0)


def _positive(value: ArrayLike, name: str, owner: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if np.any(~(arr > 0)):
        bad = arr.reshape(-1)[np.argmax(~(arr > 0).reshape(-1))]
        raise parameter_error(owner, name, "a positive float", float(bad))
    return arr


def cost_optimal_service_base_stock(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    *,
    stockout_model: StockoutModel | str = StockoutModel.BACKORDER,
) -> FloatArray:
    """Cost-optimal cycle service of a periodic base-stock policy: the critical ratio.

    With per-period holding cost ``h`` and backorder cost ``p`` per unit per period the
    optimal base-stock level is the ``p / (p + h)`` fractile of demand over ``L + 1``
    periods (Snyder & Shen 2019, Theorem 4.4 and eq. 4.30). With lost sales charged ``p``
    once per unit lost, the standard approximation (Nahmias 2009, Section 5.5; Zipkin 2000,
    Section 9.4.3) uses ``p / (p + h)`` as well, i.e. a lost unit costs as much as one
    period of backorder; the lost-sales margin is in ``p``.
    """
    owner = "cost_optimal_service_base_stock"
    as_stockout_model(stockout_model, owner=owner)
    h = _positive(holding_cost, "holding_cost", owner)
    p = _positive(stockout_cost, "stockout_cost", owner)
    return np.asarray(p / (p + h), dtype=np.float64)


def cost_optimal_service_s_q(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_quantity: ArrayLike,
    demand_rate: ArrayLike,
    *,
    stockout_model: StockoutModel | str = StockoutModel.BACKORDER,
) -> FloatArray:
    """Cost-optimal cycle service ``F(R)`` of a continuous-review (Q, R) policy.

    Hadley-Whitin conditions (Nahmias 2009, eqs. 5.3 and 5.4): with annual holding cost
    ``h``, cost ``p`` per unit short and annual demand ``lambda``,
    ``1 - F(R) = Q h / (p lambda)`` (backorders) or ``Q h / (Q h + p lambda)``
    (lost sales). The result is clipped to [0.5, 0.9999] where the backorder condition
    has no solution (``Q h > p lambda``).
    """
    owner = "cost_optimal_service_s_q"
    model = as_stockout_model(stockout_model, owner=owner)
    h = _positive(holding_cost, "holding_cost", owner)
    p = _positive(stockout_cost, "stockout_cost", owner)
    q = _positive(order_quantity, "order_quantity", owner)
    lam = _positive(demand_rate, "demand_rate", owner)
    backorder = model is StockoutModel.BACKORDER
    tail = q * h / (p * lam) if backorder else q * h / (q * h + p * lam)
    return np.asarray(np.clip(1.0 - tail, 0.5, 0.9999), dtype=np.float64)
