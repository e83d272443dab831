"""Policy lines (a policies frame) simulated under the uncertainty they were sized for.

:func:`~stockpilot.engine.policies.compute_policies` sizes each line's levels for demand
over a **random lead time** (``lead_time`` mean and ``lead_time_sd`` in buckets, from the
supplier's receipts) and grosses its lot and safety stock up for the supplier's
**defect rate** (``Q / (1 - p)``, ``SS / (1 - p)``). :func:`simulate_policy_lines` runs
:func:`~stockpilot.core.simulation.simulate_single_echelon` with exactly that: each
order's lead time is drawn from :func:`~stockpilot.core.simulation.lead_time.fit_lead_time`
with the line's mean and sd (an integer distribution with that mean and variance, the
only moments of ``L`` the policy's lead-time demand uses) and received units are scrapped
at the line's defect rate. A line with ``lead_time_sd = 0`` keeps the fixed lead time
``round(lead_time)`` and one with ``defect_rate = 0`` scraps nothing, so such lines
simulate exactly as before lead-time variability and defects were drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.core.simulation.lead_time import fit_lead_time
from stockpilot.core.simulation.single_echelon import (
    SingleEchelonResult,
    simulate_single_echelon,
)

__all__ = ["LineSimulation", "line_uncertainty", "simulate_policy_lines"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LineSimulation:
    """A simulation of policy lines and the uncertainty it drew.

    Attributes
    ----------
    result
        The simulator's per-path measures (``len(policies) * repeat`` paths).
    lead_time_sd, defect_rate
        Per line (``len(policies)``): the lead-time sd and the defect rate simulated (0
        where the line has none, or where uncertainty was switched off).
    """

    result: SingleEchelonResult
    lead_time_sd: FloatArray
    defect_rate: FloatArray

    @property
    def random_lead_time_lines(self) -> int:
        """Lines whose orders drew random lead times."""
        return int(np.count_nonzero(self.lead_time_sd > 0))

    @property
    def defect_lines(self) -> int:
        """Lines whose receipts were scrapped at a defect rate."""
        return int(np.count_nonzero(self.defect_rate > 0))


def line_uncertainty(policies: pl.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Per line: lead-time sd (buckets) and defect rate, 0 where missing or not finite."""

    def column(name: str) -> FloatArray:
        if name not in policies.columns:
            return np.zeros(policies.height)
        values = policies[name].cast(pl.Float64).fill_null(0.0).to_numpy().astype(np.float64)
        return np.where(np.isfinite(values), np.maximum(values, 0.0), 0.0)

    return column("lead_time_sd"), np.minimum(column("defect_rate"), 0.95)


def simulate_policy_lines(
    policies: pl.DataFrame,
    demand: FloatArray,
    *,
    repeat: int = 1,
    warmup: int = 0,
    seed: int = 0,
    uncertainty: bool = True,
) -> LineSimulation:
    """Simulate each policy line on its demand paths, with its lead-time sd and defects.

    Parameters
    ----------
    policies
        One row per line: ``policy, reorder_point, order_quantity, order_up_to,
        review_period, lead_time`` and, when present, ``lead_time_sd`` (buckets) and
        ``defect_rate`` (share of received units scrapped). Missing levels are 0 (a line
        without demand); a missing lead time is 1 bucket.
    demand
        ``(len(policies) * repeat, T)`` demand paths, the ``repeat`` paths of each line
        one after the other.
    repeat
        Paths per line.
    warmup
        Periods simulated but not measured.
    seed
        Seed of the lead-time and defect draws (reproducible).
    uncertainty
        False: fixed lead times ``round(lead_time)`` and no defects (the check before
        lead-time variability and defects were simulated), for comparison.

    Returns
    -------
    LineSimulation
        The simulator's result and the sd and defect rate drawn per line.

    Examples
    --------
    >>> import polars as pl, numpy as np
    >>> lines = pl.DataFrame({"policy": ["base_stock"], "reorder_point": [8.0],
    ...     "order_quantity": [0.0], "order_up_to": [8.0], "review_period": [1.0],
    ...     "lead_time": [1.0], "lead_time_sd": [0.0], "defect_rate": [0.0]})
    >>> sim = simulate_policy_lines(lines, np.full((1, 10), 3.0))
    >>> sim.result.fill_rate.tolist(), sim.random_lead_time_lines
    ([1.0], 0)
    """

    def column(name: str, fill: float) -> FloatArray:
        values = policies[name].cast(pl.Float64).fill_null(fill).fill_nan(fill).to_numpy()
        return np.repeat(values.astype(np.float64), repeat)

    sd, defects = line_uncertainty(policies)
    if not uncertainty:
        sd, defects = np.zeros_like(sd), np.zeros_like(defects)
    mean = np.maximum(column("lead_time", 1.0), 0.0)
    lead_time = fit_lead_time(mean, np.repeat(sd, repeat))
    result = simulate_single_echelon(
        demand,
        policy=np.repeat(np.asarray(policies["policy"].fill_null("base_stock").to_list()), repeat),
        reorder_point=column("reorder_point", 0.0),
        # A line without demand can carry Q = 0; the simulator needs Q > 0 for s_Q.
        order_quantity=np.maximum(column("order_quantity", 1.0), 1.0),
        order_up_to=column("order_up_to", 0.0),
        review_period=np.maximum(np.round(column("review_period", 1.0)), 1).astype(np.int64),
        # Constant lead times go in as an array (no draws); random ones as the sampler.
        lead_time=lead_time if lead_time.is_random.any() else lead_time.fixed,
        defect_rate=np.repeat(defects, repeat) if np.any(defects > 0) else None,
        warmup=warmup,
        seed=seed,
    )
    return LineSimulation(result=result, lead_time_sd=sd, defect_rate=defects)
