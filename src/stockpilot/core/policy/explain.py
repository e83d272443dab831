"""Plain-language breakdown of what drives each policy line.

The drivers of a safety stock are the variance of demand over the protection interval
``L + R``, split into its two sources (Silver, Pyke & Thomas 2017, eq. 6.7):

    (L + R) sigma_d^2        demand variability
    mu_d^2 sigma_L^2         lead-time variability

plus the review period (a longer R lengthens the interval), the lot size (a larger Q
gives fewer exposures to stockout, hence a lower reorder point for a fill rate), the
service target, and caps and rounding (MOQ, pack size, maximum order, shelf life, integer
levels). :func:`explain_policies` returns the variance shares and one sentence per line,
built with vectorized string operations (no loop per item).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["PolicyExplanation", "explain_policies"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PolicyExplanation:
    """Drivers of N policy lines.

    Attributes
    ----------
    demand_variance_share, lead_time_variance_share
        Shares (summing to 1 where there is any uncertainty) of the protection-interval
        variance due to demand variability and to lead-time variability.
    text
        One plain-language sentence per line.
    """

    demand_variance_share: FloatArray
    lead_time_variance_share: FloatArray
    text: NDArray[np.str_]


def _fmt(fmt: str, values: ArrayLike) -> NDArray[np.str_]:
    return np.char.mod(fmt, np.asarray(values, dtype=np.float64))


def _cat(*parts: ArrayLike) -> NDArray[np.str_]:
    out = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        out = np.char.add(out, np.asarray(part).astype(str))
    return out


def explain_policies(
    *,
    policy: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
    lead_time_sd: ArrayLike,
    review_period: ArrayLike,
    order_quantity: ArrayLike,
    lot_sizing_rule: ArrayLike,
    service_type: ArrayLike,
    service_target: ArrayLike,
    safety_stock: ArrayLike,
    distribution: ArrayLike,
    pattern: ArrayLike,
    adjustments: ArrayLike | None = None,
) -> PolicyExplanation:
    """Explain N policy lines (all arguments broadcast to shape (N,)).

    Examples
    --------
    >>> e = explain_policies(policy=["s_Q"], demand_mean=[10.0], demand_sd=[4.0],
    ...     lead_time=[2.0], lead_time_sd=[1.0], review_period=[1.0], order_quantity=[50.0],
    ...     lot_sizing_rule=["eoq"], service_type=["fill_rate"], service_target=[0.95],
    ...     safety_stock=[8.0], distribution=["normal"], pattern=["smooth"])
    >>> round(float(e.lead_time_variance_share[0]), 2)
    0.68
    >>> str(e.text[0]).split(";")[0]
    's_Q: demand 10/period (CV 0.40, smooth, normal model)'
    """
    mu = np.atleast_1d(np.asarray(demand_mean, dtype=np.float64))
    n = mu.shape[0]
    if n == 0:
        empty = np.zeros(0)
        return PolicyExplanation(empty, empty.copy(), np.zeros(0, dtype="<U1"))

    def b(value: ArrayLike) -> NDArray[np.generic]:
        return np.broadcast_to(np.asarray(value), (n,))

    sd = b(demand_sd).astype(np.float64)
    lt = b(lead_time).astype(np.float64)
    lt_sd = b(lead_time_sd).astype(np.float64)
    r = b(review_period).astype(np.float64)
    q = b(order_quantity).astype(np.float64)
    target = b(service_target).astype(np.float64)
    ss = b(safety_stock).astype(np.float64)
    horizon = lt + r
    demand_var = horizon * sd**2
    lead_var = mu**2 * lt_sd**2
    total = demand_var + lead_var
    with np.errstate(invalid="ignore", divide="ignore"):
        d_share = np.where(total > 0, demand_var / total, 0.0)
        l_share = np.where(total > 0, lead_var / total, 0.0)
        cv = np.where(mu > 0, sd / mu, 0.0)
        in_sd = np.where(total > 0, ss / np.sqrt(total), 0.0)
    head = _cat(
        b(policy),
        ": demand ",
        _fmt("%.4g", mu),
        "/period (CV ",
        _fmt("%.2f", cv),
        ", ",
        b(pattern),
        ", ",
        b(distribution),
        " model)",
    )
    lead = _cat(
        "; lead time ",
        _fmt("%.3g", lt),
        np.where(lt_sd > 0, _cat("±", _fmt("%.2g", lt_sd)), ""),
        " periods",
        np.where(
            lt_sd > 0,
            _cat(" (lead-time variability is ", _fmt("%.0f", 100 * l_share), "% of the risk)"),
            " (fixed)",
        ),
    )
    review = _cat("; reviewed every ", _fmt("%.3g", r), " period(s), protection ")
    review = _cat(review, _fmt("%.3g", horizon), " periods")
    lot = _cat("; lot size ", _fmt("%.4g", q), " (", b(lot_sizing_rule), ")")
    lot = np.where(np.isnan(q), "", lot)
    service = _cat(
        "; ",
        np.char.replace(b(service_type).astype(str), "_", " "),
        " target ",
        _fmt("%.1f", 100 * target),
        "% -> safety stock ",
        _fmt("%.4g", ss),
        " (",
        _fmt("%.2f", in_sd),
        " sd of demand over the protection interval)",
    )
    extra = np.asarray(b(adjustments if adjustments is not None else "")).astype(str)
    tail = np.where(np.char.str_len(extra) > 0, _cat("; ", extra), "")
    no_demand = mu <= 0
    text = np.where(
        no_demand,
        _cat(b(policy), ": no demand in the history window; nothing is stocked"),
        _cat(head, lead, review, lot, service, tail),
    )
    return PolicyExplanation(
        demand_variance_share=np.asarray(d_share, dtype=np.float64),
        lead_time_variance_share=np.asarray(l_share, dtype=np.float64),
        text=text,
    )
