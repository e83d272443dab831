"""Time-phased (R, S) parameters for seasonal items: one order-up-to level per period.

For a forecast ``mu_t`` (and error ``sigma_t``) that changes over the horizon, the
order-up-to level used at a review in period ``t`` protects the demand of periods
``t .. t + L + R - 1`` (Silver, Pyke & Thomas 2017, Section 7.7.2, "time-varying
demand"; Axsäter 2015, Section 5.12): the mean is the sum of the forecasts over that
window, the variance the sum of the per-period variances plus ``mu^2 sigma_L^2`` for a
random lead time. Each (item, period) pair is then one row of an ordinary (R, S)
computation, so all N x H levels are solved at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.policy.leadtime_demand import DemandDistribution, lead_time_demand
from stockpilot.core.policy.policies import r_s_service
from stockpilot.errors import parameter_error
from stockpilot.vocab import ServiceType

__all__ = ["TimePhasedPolicy", "r_s_time_phased"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TimePhasedPolicy:
    """(N, H) order-up-to levels, safety stocks and expected service per period."""

    order_up_to: FloatArray
    safety_stock: FloatArray
    protection_mean: FloatArray
    expected_fill_rate: FloatArray
    expected_cycle_service: FloatArray


def _window_sums(values: FloatArray, width: FloatArray) -> FloatArray:
    """Sum of ``values[:, t : t + width]`` (the last value repeats past the horizon)."""
    n, h = values.shape
    w_max = int(np.ceil(width.max(initial=0.0)))
    padded = np.concatenate([values, np.repeat(values[:, -1:], w_max + 1, axis=1)], axis=1)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(padded, axis=1)], axis=1)
    whole = np.floor(width).astype(np.int64)
    frac = width - whole
    t = np.arange(h)[None, :]
    end = t + whole[:, None]
    base = np.take_along_axis(csum, end, axis=1) - csum[:, :h]
    partial = np.take_along_axis(padded, np.minimum(end, padded.shape[1] - 1), axis=1)
    return base + frac[:, None] * partial


def r_s_time_phased(
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
    *,
    review_period: ArrayLike = 1.0,
    lead_time_sd: ArrayLike = 0.0,
    service_target: ArrayLike = 0.95,
    service_type: ServiceType | str = ServiceType.FILL_RATE,
    distribution: DemandDistribution | str = DemandDistribution.NORMAL,
) -> TimePhasedPolicy:
    """Order-up-to level per period of the horizon for (R, S) / base stock.

    Parameters
    ----------
    demand_mean, demand_sd
        (N, H) forecast mean and error standard deviation per period.
    lead_time, lead_time_sd, review_period
        Per item (N,) or scalars, in periods.
    service_target, service_type
        Target per item, fill rate (default) or cycle service.
    distribution
        Family of window demand (moment-matched).

    Examples
    --------
    A seasonal item: the level rises a lead time ahead of the peak.

    >>> mu = [[10, 10, 10, 40, 40, 10]]
    >>> p = r_s_time_phased(mu, [[2.0] * 6], 1.0, service_target=0.5,
    ...                     service_type="cycle_service")
    >>> p.order_up_to.round(1).tolist()
    [[20.0, 20.0, 50.0, 80.0, 50.0, 20.0]]
    """
    owner = "r_s_time_phased"
    mu = np.atleast_2d(np.asarray(demand_mean, dtype=np.float64))
    sd = np.broadcast_to(np.atleast_2d(np.asarray(demand_sd, dtype=np.float64)), mu.shape)
    if np.any(~(mu >= 0)) or np.any(~(sd >= 0)):
        raise parameter_error(owner, "demand_mean/demand_sd", "non-negative (N, H) arrays", "<neg>")
    n, h = mu.shape
    lt = np.broadcast_to(np.asarray(lead_time, dtype=np.float64), (n,))
    r = np.broadcast_to(np.asarray(review_period, dtype=np.float64), (n,))
    lt_sd = np.broadcast_to(np.asarray(lead_time_sd, dtype=np.float64), (n,))
    target = np.broadcast_to(np.asarray(service_target, dtype=np.float64), (n,))
    window_mean = _window_sums(mu, lt + r)
    window_var = _window_sums(sd**2, lt + r)
    review_mean = _window_sums(mu, r)
    horizon = (lt + r)[:, None]
    level_mu = np.where(horizon > 0, window_mean / np.maximum(horizon, 1e-12), 0.0)
    window_var = window_var + (level_mu * lt_sd[:, None]) ** 2
    # Window moments are already summed: a one-period "lead time" carries them through.
    flat = lead_time_demand(window_mean.reshape(-1), 0.0, 1.0, distribution=distribution)
    flat = type(flat)(flat.family, flat.mean, window_var.reshape(-1), flat.samples)
    res = r_s_service(
        flat,
        review_mean.reshape(-1),
        np.repeat(target, h),
        service_type=service_type,
    )
    return TimePhasedPolicy(
        order_up_to=res.order_up_to.reshape(n, h),
        safety_stock=res.safety_stock.reshape(n, h),
        protection_mean=window_mean,
        expected_fill_rate=res.expected_fill_rate.reshape(n, h),
        expected_cycle_service=res.expected_cycle_service.reshape(n, h),
    )
