"""Push or pull, and where to decouple, per item-location.

The push-pull boundary (decoupling point) is where stock is held: upstream of it supply is
pushed to a forecast, downstream it is pulled by actual orders. Stock is needed only where
customers will not wait for the remaining lead time, and it pays most where demand can be
forecast and supply is reliable (Simchi-Levi, Kaminsky and Simchi-Levi 2008, section 6.2;
Hopp and Spearman 2008, ch. 10; the decoupling-point positioning of Ptak and Smith 2016).

The rule, first match wins (thresholds are keyword options):

1. **Pull (to order)** when the customer tolerance time covers the cumulative lead time at
   the service quantile: ``T_c >= L + z_alpha sigma_L`` with ``z_alpha`` the standard
   normal quantile of the service target. Nothing needs to be stocked.
2. **Pull (to order)** when demand is unpredictable (``CV > cv_limit`` or an intermittent /
   lumpy pattern) and the service target is below ``low_service``: stock held against
   unpredictable demand for a low target mostly ages; serve it to order.
3. **Push (to stock here)** when demand is predictable (``CV <= cv_limit``, not
   intermittent or lumpy) and supply reliable (lead-time CV ``sigma_L / L <= lt_cv_limit``):
   forecast-driven replenishment with safety stock at this location.
4. **Push-pull** otherwise: decouple at the most upstream stage whose downstream lead time
   fits inside the customer tolerance, ``min k : sum_{j > k} l_j <= T_c`` over the stage
   lead times ``l_0 .. l_{K-1}`` (upstream to downstream); push up to that stage and pull
   after it. Without stage lead times the whole lead time is one stage and the buffer is
   at this location.

References
----------
Simchi-Levi, D., Kaminsky, P. and Simchi-Levi, E. (2008). *Designing and Managing the
Supply Chain*, 3rd ed., McGraw-Hill, section 6.2 (push, pull and push-pull systems).
Ptak, C. and Smith, C. (2016). *Demand Driven Material Requirements Planning*, Industrial
Press, ch. 6 (strategic inventory positioning: customer tolerance time, variability).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from stockpilot.errors import choice_error, parameter_error
from stockpilot.vocab import DemandPattern

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SupplyStrategy(StrEnum):
    PUSH = "push"
    PULL = "pull"
    PUSH_PULL = "push_pull"


@dataclass(frozen=True)
class PushPullChoice:
    """Push/pull recommendation per item-location.

    Attributes
    ----------
    strategy : one :class:`SupplyStrategy` per item-location.
    decoupling_stage : (N,) index of the stage after which stock is held (``K - 1`` = this
        location, ``-1`` = no stock: pull).
    buffered_lead_time : (N,) lead time the decoupling stock must cover (periods): the
        cumulative lead time up to and including the decoupling stage, 0 for pull.
    customer_wait : (N,) lead time the customer waits downstream of the buffer (periods).
    lead_time_cv : (N,) ``sigma_L / L``.
    reasons : plain-language reason per item-location.
    """

    strategy: tuple[SupplyStrategy, ...]
    decoupling_stage: IntArray
    buffered_lead_time: FloatArray
    customer_wait: FloatArray
    lead_time_cv: FloatArray
    reasons: tuple[str, ...]


def _vec(owner: str, name: str, value: npt.ArrayLike, n: int, *, low: float) -> FloatArray:
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).astype(np.float64)
    except ValueError:
        raise parameter_error(owner, name, f"a scalar or an array of length {n}", value) from None
    if not bool(np.all(np.isfinite(arr) & (arr >= low))):
        raise parameter_error(owner, name, f"finite values >= {low:g}", arr.tolist()[:5])
    return arr


def choose_push_pull(
    *,
    lead_time: npt.ArrayLike,
    lead_time_sd: npt.ArrayLike = 0.0,
    demand_cv: npt.ArrayLike,
    service_target: npt.ArrayLike,
    customer_tolerance: npt.ArrayLike = 0.0,
    pattern: npt.ArrayLike | None = None,
    stage_lead_times: npt.ArrayLike | None = None,
    cv_limit: float = 0.5,
    lt_cv_limit: float = 0.3,
    low_service: float = 0.8,
) -> PushPullChoice:
    """Recommend push, pull or push-pull per item-location (rule in the module docstring).

    Parameters
    ----------
    lead_time : (N,) cumulative replenishment lead time to this location (periods), >= 0.
        Ignored where ``stage_lead_times`` is given (their sum is used).
    lead_time_sd : (N,) its standard deviation (periods), >= 0.
    demand_cv : (N,) coefficient of variation of period demand (or of forecast errors).
    service_target : (N,) required cycle service level in (0, 1).
    customer_tolerance : (N,) periods customers accept to wait, >= 0.
    pattern : optional (N,) demand pattern labels (:class:`~stockpilot.vocab.DemandPattern`).
    stage_lead_times : optional (N, K) lead time of each stage, upstream to downstream.
    cv_limit, lt_cv_limit, low_service : thresholds of rules 2 and 3.

    Returns
    -------
    PushPullChoice

    Examples
    --------
    >>> r = choose_push_pull(lead_time=[4, 4, 4], demand_cv=[0.2, 1.5, 1.5],
    ...                      service_target=[0.95, 0.95, 0.95], customer_tolerance=[6, 1, 0],
    ...                      stage_lead_times=[[3, 1], [3, 1], [3, 1]])
    >>> [s.value for s in r.strategy], r.decoupling_stage.tolist()
    (['pull', 'push_pull', 'push_pull'], [-1, 0, 1])
    """
    owner = "choose_push_pull"
    sizes = [
        np.size(x)
        for x in (lead_time, lead_time_sd, demand_cv, service_target, customer_tolerance, pattern)
        if x is not None
    ]
    if stage_lead_times is not None:
        sizes.append(np.shape(stage_lead_times)[0] if np.ndim(stage_lead_times) == 2 else 1)
    n = max(sizes)
    cv = _vec(owner, "demand_cv", demand_cv, n, low=0.0)
    sd = _vec(owner, "lead_time_sd", lead_time_sd, n, low=0.0)
    tol = _vec(owner, "customer_tolerance", customer_tolerance, n, low=0.0)
    svc = np.broadcast_to(np.asarray(service_target, dtype=np.float64), (n,))
    if not bool(np.all((svc > 0) & (svc < 1))):
        raise parameter_error(owner, "service_target", "a float in (0, 1)", svc.tolist()[:5])
    for name, value, hi in (
        ("cv_limit", cv_limit, np.inf),
        ("lt_cv_limit", lt_cv_limit, np.inf),
        ("low_service", low_service, 1.0),
    ):
        if not 0 < value <= hi:
            raise parameter_error(owner, name, f"a float in (0, {hi:g}]", value)
    if stage_lead_times is None:
        stages = _vec(owner, "lead_time", lead_time, n, low=0.0)[:, None]
    else:
        stages = np.asarray(stage_lead_times, dtype=np.float64)
        if stages.ndim != 2 or stages.shape[0] != n or stages.shape[1] == 0:
            raise parameter_error(owner, "stage_lead_times", f"an (N={n}, K) array", stages.shape)
        if not bool(np.all(np.isfinite(stages) & (stages >= 0))):
            raise parameter_error(owner, "stage_lead_times", "finite values >= 0", "negative/nan")
    if pattern is None:
        pat = np.full(n, "", dtype=object).astype(str)
    else:
        pat = np.broadcast_to(np.asarray(pattern, dtype=object), (n,)).astype(str)
        valid = [p.value for p in DemandPattern]
        bad = [p for p in pat.tolist() if p not in valid]
        if bad:
            raise choice_error(owner, "pattern", bad[0], valid)
    k_last = stages.shape[1] - 1
    lt = stages.sum(axis=1)
    z = norm.ppf(svc)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lt_cv = np.where(lt > 0, sd / np.where(lt > 0, lt, 1.0), 0.0)
    sporadic = np.isin(pat, [DemandPattern.INTERMITTENT.value, DemandPattern.LUMPY.value])
    unpredictable = (cv > cv_limit) | sporadic
    covered = tol >= lt + np.maximum(z, 0.0) * sd
    rule = np.select(
        [covered, unpredictable & (svc < low_service), ~unpredictable & (lt_cv <= lt_cv_limit)],
        [0, 1, 2],
        default=3,
    )
    # Decoupling stage for push-pull: first stage whose downstream lead time fits.
    downstream = np.cumsum(stages[:, ::-1], axis=1)[:, ::-1] - stages  # sum_{j > k} l_j
    first_fit = np.argmax(downstream <= tol[:, None] + 1e-12, axis=1)
    stage = np.where(rule <= 1, -1, np.where(rule == 2, k_last, first_fit)).astype(np.int64)
    upto = np.cumsum(stages, axis=1)
    rows = np.arange(n)
    buffered = np.where(stage >= 0, upto[rows, np.maximum(stage, 0)], 0.0)
    wait = np.where(stage >= 0, downstream[rows, np.maximum(stage, 0)], lt)
    strategies = (SupplyStrategy.PULL, SupplyStrategy.PULL, SupplyStrategy.PUSH)
    result: list[SupplyStrategy] = []
    reasons: list[str] = []
    for i in range(n):
        # Text per item-location; the arithmetic above is vectorized.
        r = int(rule[i])
        result.append(strategies[r] if r < 3 else SupplyStrategy.PUSH_PULL)
        drivers = (
            f"demand CV {cv[i]:.2f}{' (' + pat[i] + ')' if pat[i] else ''}, lead time "
            f"{lt[i]:g} (CV {lt_cv[i]:.2f}), customer tolerance {tol[i]:g}, service {svc[i]:g}"
        )
        if r == 0:
            text = (
                f"customers wait {tol[i]:g} >= lead time at the service quantile "
                f"{lt[i] + max(z[i], 0.0) * sd[i]:.3g}: pull (to order), no stock needed"
            )
        elif r == 1:
            text = (
                f"unpredictable demand and a low service target (< {low_service:g}): pull "
                "(to order); stock would mostly age"
            )
        elif r == 2:
            text = (
                f"predictable demand (CV <= {cv_limit:g}) and reliable supply (lead-time CV <= "
                f"{lt_cv_limit:g}): push to stock here on the forecast"
            )
        else:
            why = "unpredictable demand" if unpredictable[i] else "unreliable supply"
            text = (
                f"{why} and customers wait only {tol[i]:g}: decouple after stage {stage[i]} "
                f"(buffer covers lead time {buffered[i]:g}, customer waits {wait[i]:g}); "
                "push upstream, pull downstream"
            )
        reasons.append(f"{text} [{drivers}]")
    return PushPullChoice(
        strategy=tuple(result),
        decoupling_stage=stage,
        buffered_lead_time=buffered.astype(np.float64),
        customer_wait=wait.astype(np.float64),
        lead_time_cv=lt_cv.astype(np.float64),
        reasons=tuple(reasons),
    )
