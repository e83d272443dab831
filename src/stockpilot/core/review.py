"""Continuous or periodic review, from what each location's systems can actually see.

A continuous-review policy ((s, Q), (s, S)) assumes the inventory position is known at
every moment and an order can be released at once. A location's ERP may only post stock
movements in batches, and its feeds arrive with a delay, so the model must match the
information it gets.

The rule (documented in docs/lot-sizing-and-suppliers.md):

* **decision interval** ``I = max(cadence, cycle)``: the ERP's posting cadence
  (``real_time`` 0 h, ``hourly_batch`` 1 h, ``daily_batch`` 24 h, ``weekly_batch`` 168 h,
  ``monthly_batch`` 720 h) or the order cycle (days on which orders can be placed,
  e.g. 7 for a weekly supplier slot), whichever is longer;
* **information age** ``I + latency``: how old the inventory position can be when a
  decision is made;
* **continuous** review when the information age is at most ``continuous_fraction``
  (default 0.25) of one planning bucket: reviews are then so frequent relative to the
  bucket that the continuous models hold (the undershoot they ignore is small; Silver,
  Pyke and Thomas 2017, section 7.3 on the choice of review system);
* **periodic** review otherwise, with review period ``R = c x max(1, ceil(I / c))`` days,
  ``c`` the order cycle (1 day when orders can be placed any time): a whole number of order
  cycles covering the posting cadence, at least one day; also expressed in planning
  buckets. A real-time feed whose latency alone makes it stale is reviewed once per cycle
  on the latest snapshot.

In both cases the feed latency is added to the replenishment lead time
(``information_delay_days``): an order triggered by stale data arrives that much later
relative to the true stock position.

References
----------
Silver, E. A., Pyke, D. F. and Thomas, D. J. (2017). *Inventory and Production Management
in Supply Chains*, 4th ed., section 7.3 (continuous versus periodic review).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from stockpilot.errors import choice_error, parameter_error
from stockpilot.vocab import BUCKET_DAYS, Bucket

FloatArray = npt.NDArray[np.float64]


class ReviewCapability(StrEnum):
    """How often a location's ERP posts inventory transactions."""

    REAL_TIME = "real_time"
    HOURLY_BATCH = "hourly_batch"
    DAILY_BATCH = "daily_batch"
    WEEKLY_BATCH = "weekly_batch"
    MONTHLY_BATCH = "monthly_batch"


class ReviewType(StrEnum):
    CONTINUOUS = "continuous"
    PERIODIC = "periodic"


CADENCE_HOURS: dict[ReviewCapability, float] = {
    ReviewCapability.REAL_TIME: 0.0,
    ReviewCapability.HOURLY_BATCH: 1.0,
    ReviewCapability.DAILY_BATCH: 24.0,
    ReviewCapability.WEEKLY_BATCH: 168.0,
    ReviewCapability.MONTHLY_BATCH: 720.0,
}


@dataclass(frozen=True)
class ReviewChoice:
    """Review type per location, with the numbers behind it.

    Attributes
    ----------
    review_type : one :class:`ReviewType` per location.
    review_period_days : (M,) review period R in days (0 for continuous review).
    review_period : (M,) R in planning buckets (0 for continuous review).
    information_age_hours : (M,) decision interval plus feed latency.
    information_delay_days : (M,) feed latency to add to the lead time.
    reasons : plain-language reason per location.
    """

    review_type: tuple[ReviewType, ...]
    review_period_days: FloatArray
    review_period: FloatArray
    information_age_hours: FloatArray
    information_delay_days: FloatArray
    reasons: tuple[str, ...]


def choose_review_type(
    capability: npt.ArrayLike,
    *,
    latency_hours: npt.ArrayLike = 0.0,
    cycle_days: npt.ArrayLike = 0.0,
    bucket: Bucket | str = Bucket.DAY,
    continuous_fraction: float = 0.25,
) -> ReviewChoice:
    """Choose continuous or periodic review per location (rule in the module docstring).

    Parameters
    ----------
    capability : (M,) declared ERP review capability per location
        (:class:`ReviewCapability` values).
    latency_hours : (M,) or scalar delay of the location's inventory feed, >= 0.
    cycle_days : (M,) or scalar order cycle in days (0 = orders any time), >= 0.
    bucket : planning bucket (``day``, ``week``, ``month``).
    continuous_fraction : largest information age, as a fraction of one bucket, that still
        counts as continuous, in (0, 1].

    Returns
    -------
    ReviewChoice

    Examples
    --------
    >>> r = choose_review_type(["real_time", "daily_batch"], latency_hours=[1, 6], bucket="day")
    >>> [t.value for t in r.review_type], r.review_period_days.tolist()
    (['continuous', 'periodic'], [0.0, 1.0])
    """
    owner = "choose_review_type"
    caps = np.atleast_1d(np.asarray(capability, dtype=object)).astype(str)
    valid = [c.value for c in ReviewCapability]
    bad = [c for c in caps.tolist() if c not in valid]
    if bad:
        raise choice_error(owner, "capability", bad[0], valid)
    if str(bucket) not in [b.value for b in Bucket]:
        raise choice_error(owner, "bucket", bucket, [b.value for b in Bucket])
    if not 0 < continuous_fraction <= 1:
        raise parameter_error(
            owner, "continuous_fraction", "a float in (0, 1]", continuous_fraction
        )
    m = caps.size
    latency = np.broadcast_to(np.asarray(latency_hours, dtype=np.float64), (m,))
    cycle = np.broadcast_to(np.asarray(cycle_days, dtype=np.float64), (m,))
    if not bool(np.all(np.isfinite(latency) & (latency >= 0))):
        raise parameter_error(owner, "latency_hours", "finite values >= 0", latency.tolist())
    if not bool(np.all(np.isfinite(cycle) & (cycle >= 0))):
        raise parameter_error(owner, "cycle_days", "finite values >= 0", cycle.tolist())
    bucket_days = BUCKET_DAYS[Bucket(str(bucket))]
    cadence = np.array([CADENCE_HOURS[ReviewCapability(c)] for c in caps.tolist()])
    interval_h = np.maximum(cadence, cycle * 24.0)
    age = interval_h + latency
    continuous = age <= continuous_fraction * bucket_days * 24.0
    interval_d = interval_h / 24.0
    step = np.where(cycle > 0, cycle, 1.0)
    steps = np.maximum(np.ceil(interval_d / step - 1e-9), 1.0)
    r_days = np.where(continuous, 0.0, step * steps)
    r_buckets = r_days / bucket_days
    reasons = []
    for k in range(m):
        # Text per location; the arithmetic above is vectorized.
        limit = continuous_fraction * bucket_days * 24.0
        what = "order cycle" if cycle[k] * 24.0 > cadence[k] else f"{caps[k]} posting"
        if continuous[k]:
            reasons.append(
                f"{caps[k]} with {latency[k]:g} h feed latency: stock position at most "
                f"{age[k]:g} h old (<= {limit:g} h, {continuous_fraction:g} of a {bucket} "
                "bucket), continuous review"
            )
        else:
            reasons.append(
                f"{what} every {interval_h[k]:g} h plus {latency[k]:g} h latency: stock "
                f"position up to {age[k]:g} h old (> {limit:g} h), periodic review every "
                f"{r_days[k]:g} day(s) = {r_buckets[k]:.3g} {bucket} bucket(s)"
            )
    return ReviewChoice(
        review_type=tuple(ReviewType.CONTINUOUS if c else ReviewType.PERIODIC for c in continuous),
        review_period_days=r_days.astype(np.float64),
        review_period=r_buckets.astype(np.float64),
        information_age_hours=age.astype(np.float64),
        information_delay_days=(latency / 24.0).astype(np.float64),
        reasons=tuple(reasons),
    )
