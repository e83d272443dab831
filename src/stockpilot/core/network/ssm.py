"""Serial stochastic-service model (SSM): optimal echelon base-stock levels.

An N-stage serial system, stage 1 facing customer demand and stage N ordering from an
outside supplier with ample stock. Each stage j ships to stage j - 1 after a deterministic
lead time L_j; unmet customer demand is backordered at cost p per unit per unit time and
stage j holds echelon stock at echelon holding cost h_j (h_j = h'_j - h'_{j+1}, the value
added at stage j).

Clark and Scarf (1960) showed that an echelon base-stock policy is optimal and that the
problem decomposes stage by stage; Chen and Zheng (1994) gave the exact recursion used
here (notation of Shang and Song 2003, eqs. (1)-(3); Snyder and Shen 2019, *Fundamentals
of Supply Chain Theory*, 2nd ed., Theorem 6.1 and eqs. (6.13)-(6.16)):

.. math::

    G_0(x) &= (p + H)\\,x^-, \\qquad H = \\textstyle\\sum_j h_j = h'_1 \\\\
    \\hat G_j(x) &= h_j x + G_{j-1}(\\min\\{x, S_{j-1}\\}) \\\\
    G_j(y) &= \\mathbb{E}\\,\\hat G_j(y - D_j), \\qquad S_j = \\arg\\min_y G_j(y)

where D_j is the demand over L_j. The optimal long-run cost is G_N(S_N); the same
recursion with given levels (not minimizers) evaluates any echelon base-stock policy.

The functions are evaluated on a uniform grid (step 1 for Poisson demand, so the result is
exact up to floating point; a fraction of the smallest lead-time standard deviation for
normal demand). Each lead-time demand is put on the grid with the hat-function
(linear-interpolation) discretization, which preserves its mean and makes the
expectation exact for functions that are linear between grid points; outside the grid
the functions are extended linearly, which is exact because they are linear below the
smallest demand and above the largest minimizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal, stats

from stockpilot.core.network.network import Network
from stockpilot.errors import InvalidDataError, choice_error, parameter_error

__all__ = [
    "DemandDistribution",
    "SerialNetworkSolution",
    "SerialSSMSolution",
    "serial_base_stock_cost",
    "serial_base_stock_levels",
    "serial_network_base_stock_levels",
    "shang_song_heuristic",
]

FloatArray = NDArray[np.float64]
OWNER = "serial_base_stock_levels"
_TAIL = 1e-15  # probability left out of each discretized lead-time demand, per tail
_NORMAL_STEPS_PER_SD = 100


class DemandDistribution(StrEnum):
    """Distribution of demand per unit time (per period)."""

    NORMAL = "normal"
    POISSON = "poisson"


@dataclass(frozen=True, slots=True)
class SerialSSMSolution:
    """Echelon base-stock policy of a serial system, stage 1 (customer-facing) first.

    Attributes
    ----------
    echelon_base_stock
        S_j, echelon base-stock level of stage j (units), shape (N,).
    local_base_stock
        S_j - S_{j-1} (with S_0 = 0): the installation base-stock level, shape (N,).
    expected_cost
        Long-run expected holding and backorder cost per unit time, G_N(S_N).
    grid_step
        Grid step used to evaluate the cost functions (1 for Poisson demand).
    """

    echelon_base_stock: FloatArray
    local_base_stock: FloatArray
    expected_cost: float
    grid_step: float


@dataclass(frozen=True, slots=True)
class _Problem:
    echelon_holding_cost: FloatArray
    lead_time: FloatArray
    stockout_cost: float
    mean: float
    sd: float
    distribution: DemandDistribution
    step: float


def _validate(
    owner: str,
    *,
    echelon_holding_cost: ArrayLike,
    lead_time: ArrayLike,
    stockout_cost: float,
    demand_mean: float,
    demand_sd: float | None,
    distribution: DemandDistribution | str,
    grid_step: float | None,
) -> _Problem:
    h = np.atleast_1d(np.asarray(echelon_holding_cost, dtype=np.float64))
    lt = np.asarray(lead_time, dtype=np.float64)
    if h.ndim != 1 or h.size == 0:
        raise parameter_error(owner, "echelon_holding_cost", "a non-empty 1-D array", h.shape)
    if lt.ndim == 0:
        lt = np.full(h.size, float(lt))
    if lt.shape != h.shape:
        raise parameter_error(
            owner, "lead_time", f"a scalar or an array of shape {h.shape}", lt.shape
        )
    if np.any(~np.isfinite(h) | (h < 0)):
        raise parameter_error(owner, "echelon_holding_cost", "finite and >= 0", h.tolist())
    if np.any(~np.isfinite(lt) | (lt < 0)):
        raise parameter_error(owner, "lead_time", "finite and >= 0", lt.tolist())
    if not np.isfinite(stockout_cost) or stockout_cost <= 0:
        raise parameter_error(owner, "stockout_cost", "a float > 0", stockout_cost)
    try:
        dist = DemandDistribution(distribution)
    except ValueError:
        raise choice_error(
            owner, "distribution", distribution, [d.value for d in DemandDistribution]
        ) from None
    if not np.isfinite(demand_mean) or demand_mean <= 0:
        raise parameter_error(owner, "demand_mean", "a float > 0", demand_mean)
    if dist is DemandDistribution.NORMAL:
        if demand_sd is None or not np.isfinite(demand_sd) or demand_sd <= 0:
            raise parameter_error(owner, "demand_sd", "a float > 0 for normal demand", demand_sd)
        sd = float(demand_sd)
        positive = lt[lt > 0]
        smallest = sd * np.sqrt(positive.min()) if positive.size else sd
        step = smallest / _NORMAL_STEPS_PER_SD if grid_step is None else float(grid_step)
    else:
        sd = float(np.sqrt(demand_mean))
        step = 1.0
        if grid_step not in (None, 1, 1.0):
            raise parameter_error(owner, "grid_step", "None or 1 for Poisson demand", grid_step)
    if not np.isfinite(step) or step <= 0:
        raise parameter_error(owner, "grid_step", "a float > 0", grid_step)
    return _Problem(h, lt, float(stockout_cost), float(demand_mean), sd, dist, step)


def _masses(problem: _Problem, lead_time: float) -> tuple[int, FloatArray]:
    """Lead-time demand on the grid: (offset of the first mass in steps, masses)."""
    step = problem.step
    if lead_time == 0:
        return 0, np.ones(1)
    mean = problem.mean * lead_time
    if problem.distribution is DemandDistribution.POISSON:
        hi = int(stats.poisson.isf(_TAIL, mean)) + 1
        k = np.arange(0, hi + 1)
        return 0, stats.poisson.pmf(k, mean)
    sd = problem.sd * np.sqrt(lead_time)
    z = float(stats.norm.isf(_TAIL))
    lo = int(np.floor((mean - z * sd) / step)) - 1
    hi = int(np.ceil((mean + z * sd) / step)) + 1
    k = np.arange(lo - 1, hi + 2)
    u = (k * step - mean) / sd
    loss = sd * (stats.norm.pdf(u) - u * stats.norm.sf(u))  # E[(D - k step)^+]
    masses = (loss[:-2] - 2.0 * loss[1:-1] + loss[2:]) / step
    return lo, np.asarray(np.maximum(masses, 0.0), dtype=np.float64)


def _expect(values: FloatArray, lo: int, masses: FloatArray) -> FloatArray:
    """E[f(x_i - D)] on the grid, extending f linearly beyond both ends."""
    k_lo, k_hi = lo, lo + masses.size - 1
    left = max(k_hi, 0)
    right = max(-k_lo, 0)
    slope_left = values[1] - values[0]
    slope_right = values[-1] - values[-2]
    ext = np.concatenate(
        [
            values[0] - slope_left * np.arange(left, 0, -1),
            values,
            values[-1] + slope_right * np.arange(1, right + 1),
        ]
    )
    # result[i] = sum_k masses[k - lo] * ext[left + i - k]
    full = signal.oaconvolve(ext, masses) if masses.size > 64 else np.convolve(ext, masses)
    start = left - k_lo
    return np.asarray(full[start : start + values.size])


def _grid(problem: _Problem) -> FloatArray:
    total = float(problem.lead_time.sum())
    mean = problem.mean * total
    sd = problem.sd * np.sqrt(max(total, 1e-12))
    z = float(stats.norm.isf(_TAIL)) + 2.0
    lo = min(0.0, mean - z * sd) - 2 * problem.step
    hi = mean + z * sd + 4 * problem.sd + 2 * problem.step
    n_lo = int(np.floor(lo / problem.step))
    n_hi = int(np.ceil(hi / problem.step))
    return np.arange(n_lo, n_hi + 1, dtype=np.float64) * problem.step


def _refine(x: FloatArray, g: FloatArray, i: int, continuous: bool) -> tuple[float, float]:
    """Minimizer and minimum, refined by a parabola through the neighbours if continuous."""
    if not continuous or i == 0 or i == g.size - 1:
        return float(x[i]), float(g[i])
    a, b, c = g[i - 1], g[i], g[i + 1]
    curvature = a - 2 * b + c
    if curvature <= 0:
        return float(x[i]), float(b)
    shift = 0.5 * (a - c) / curvature
    step = x[1] - x[0]
    return float(x[i] + shift * step), float(b - 0.25 * (a - c) * shift)


def _solve(problem: _Problem, levels: FloatArray | None) -> SerialSSMSolution:
    x = _grid(problem)
    h = problem.echelon_holding_cost
    total_h = float(h.sum())
    continuous = problem.distribution is DemandDistribution.NORMAL
    if levels is not None and np.any((levels < x[0]) | (levels > x[-1])):
        raise parameter_error(
            "serial_base_stock_cost",
            "base_stock",
            f"within [{x[0]:.6g}, {x[-1]:.6g}] (the evaluation grid)",
            levels.tolist(),
        )
    prev = (problem.stockout_cost + total_h) * np.maximum(-x, 0.0)
    s_out = np.empty(h.size)
    cost = 0.0
    for j in range(h.size):
        lo, masses = _masses(problem, float(problem.lead_time[j]))
        g = _expect(h[j] * x + prev, lo, masses)
        if levels is None:
            i = int(np.argmin(g))
            s_out[j], cost = _refine(x, g, i, continuous)
            prev = np.where(np.arange(x.size) <= i, g, g[i])
        else:
            s_out[j] = levels[j]
            cost = float(np.interp(levels[j], x, g))
            prev = _truncate(x, g, float(levels[j]))
    local = np.diff(np.concatenate([[0.0], s_out]))
    return SerialSSMSolution(s_out, local, cost, problem.step)


def _truncate(x: FloatArray, g: FloatArray, level: float) -> FloatArray:
    """G(min(x, level)) on the grid, interpolating G at an off-grid level."""
    at_level = float(np.interp(level, x, g))
    return np.where(x <= level, g, at_level)


def serial_base_stock_levels(
    *,
    echelon_holding_cost: ArrayLike,
    lead_time: ArrayLike,
    stockout_cost: float,
    demand_mean: float,
    demand_sd: float | None = None,
    distribution: DemandDistribution | str = DemandDistribution.NORMAL,
    grid_step: float | None = None,
) -> SerialSSMSolution:
    """Optimal echelon base-stock levels of a serial system (Chen and Zheng 1994).

    Parameters
    ----------
    echelon_holding_cost
        h_j per unit per unit time, stage 1 (customer-facing) first, shape (N,).
    lead_time
        L_j, shipment lead time into stage j in units of time (scalar or (N,)).
    stockout_cost
        p, backorder cost per unit per unit time at stage 1.
    demand_mean, demand_sd
        Mean (and standard deviation, for normal demand) of demand per unit time.
    distribution
        ``normal`` (continuous levels) or ``poisson`` (integer levels, exact).
    grid_step
        Grid step for normal demand; default 1/100 of the smallest lead-time demand sd.

    Returns
    -------
    SerialSSMSolution
        Echelon and local base-stock levels and the optimal expected cost per unit time.

    References
    ----------
    Clark, A. J. and H. Scarf (1960). Optimal policies for a multi-echelon inventory
    problem. *Management Science* 6(4), 475-490.
    Chen, F. and Y.-S. Zheng (1994). Lower bounds for multi-echelon stochastic inventory
    systems. *Management Science* 40(11), 1426-1443.
    Shang, K. H. and J.-S. Song (2003). Newsvendor bounds and heuristic for optimal
    policies in serial supply chains. *Management Science* 49(5), 618-638, eqs. (1)-(3).
    Snyder, L. V. and Z.-J. M. Shen (2019). *Fundamentals of Supply Chain Theory*, 2nd ed.,
    section 6.2, Example 6.1.

    Examples
    --------
    Shang and Song (2003), Table 1, row 1: four stages, Poisson demand of rate 16,
    L_j = 0.25, h_j = 0.25, p = 9.

    >>> sol = serial_base_stock_levels(echelon_holding_cost=[0.25] * 4, lead_time=0.25,
    ...                                stockout_cost=9, demand_mean=16, distribution="poisson")
    >>> sol.echelon_base_stock.tolist(), round(sol.expected_cost, 3)
    ([8.0, 13.0, 18.0, 22.0], 12.688)
    """
    problem = _validate(
        OWNER,
        echelon_holding_cost=echelon_holding_cost,
        lead_time=lead_time,
        stockout_cost=stockout_cost,
        demand_mean=demand_mean,
        demand_sd=demand_sd,
        distribution=distribution,
        grid_step=grid_step,
    )
    return _solve(problem, None)


def serial_base_stock_cost(
    base_stock: ArrayLike,
    *,
    echelon_holding_cost: ArrayLike,
    lead_time: ArrayLike,
    stockout_cost: float,
    demand_mean: float,
    demand_sd: float | None = None,
    distribution: DemandDistribution | str = DemandDistribution.NORMAL,
    grid_step: float | None = None,
) -> float:
    """Expected cost per unit time of given echelon base-stock levels (stage 1 first).

    Evaluates the recursion of :func:`serial_base_stock_levels` with S_j fixed to
    ``base_stock`` instead of minimized (Chen and Zheng 1994; Snyder and Shen 2019,
    eq. (6.16)), so it is exact for any echelon base-stock policy.
    """
    owner = "serial_base_stock_cost"
    problem = _validate(
        owner,
        echelon_holding_cost=echelon_holding_cost,
        lead_time=lead_time,
        stockout_cost=stockout_cost,
        demand_mean=demand_mean,
        demand_sd=demand_sd,
        distribution=distribution,
        grid_step=grid_step,
    )
    levels = np.asarray(base_stock, dtype=np.float64)
    if levels.shape != problem.echelon_holding_cost.shape or not np.all(np.isfinite(levels)):
        raise parameter_error(
            owner,
            "base_stock",
            f"finite levels of shape {problem.echelon_holding_cost.shape}",
            levels.tolist(),
        )
    return _solve(problem, levels).expected_cost


def shang_song_heuristic(
    *,
    echelon_holding_cost: ArrayLike,
    lead_time: ArrayLike,
    stockout_cost: float,
    demand_mean: float,
    demand_sd: float | None = None,
    distribution: DemandDistribution | str = DemandDistribution.NORMAL,
) -> SerialSSMSolution:
    """Shang and Song (2003) newsvendor-bounds heuristic for echelon base-stock levels.

    For stage j the bounds are newsvendor quantiles of the demand over the total lead time
    of stages 1..j, :math:`\\tilde L_j = \\sum_{i \\le j} L_i`:
    :math:`S^l_j = F^{-1}\\big((p + \\sum_{i>j} h_i) / (p + H)\\big)` and
    :math:`S^u_j = F^{-1}\\big((p + \\sum_{i>j} h_i) / (p + \\sum_{i \\ge j} h_i)\\big)`
    (Shang and Song 2003, Theorem 2 and eq. (12); Snyder and Shen 2019, section 6.2.4);
    the heuristic takes their average. Poisson levels are rounded to the nearest integer.
    The cost of the result is evaluated exactly with :func:`serial_base_stock_cost`.
    """
    owner = "shang_song_heuristic"
    problem = _validate(
        owner,
        echelon_holding_cost=echelon_holding_cost,
        lead_time=lead_time,
        stockout_cost=stockout_cost,
        demand_mean=demand_mean,
        demand_sd=demand_sd,
        distribution=distribution,
        grid_step=None,
    )
    h = problem.echelon_holding_cost
    p = problem.stockout_cost
    upstream = np.concatenate([np.cumsum(h[::-1])[::-1][1:], [0.0]])  # sum_{i>j} h_i
    from_j = upstream + h  # sum_{i>=j} h_i
    total = h.sum()
    cum_lead = np.cumsum(problem.lead_time)
    ratio_l = (p + upstream) / (p + total)
    ratio_u = (p + upstream) / (p + from_j)
    mean = problem.mean * cum_lead
    if problem.distribution is DemandDistribution.POISSON:
        lower = stats.poisson.ppf(ratio_l, mean)
        upper = stats.poisson.ppf(ratio_u, mean)
        levels = np.round(0.5 * (lower + upper))
    else:
        sd = problem.sd * np.sqrt(cum_lead)
        lower = stats.norm.ppf(ratio_l, mean, sd)
        upper = stats.norm.ppf(ratio_u, mean, sd)
        levels = 0.5 * (lower + upper)
    cost = _solve(problem, levels).expected_cost
    local = np.diff(np.concatenate([[0.0], levels]))
    return SerialSSMSolution(levels, local, cost, problem.step)


@dataclass(frozen=True, slots=True)
class SerialNetworkSolution:
    """Optimal echelon base-stock levels for the stages of a serial :class:`Network`.

    Attributes
    ----------
    node_ids
        Stage ids from the customer-facing stage (stage 1) up to the top stage.
    solution
        The :class:`SerialSSMSolution`, in the same order.
    """

    node_ids: tuple[str, ...]
    solution: SerialSSMSolution


def serial_network_base_stock_levels(
    network: Network,
    *,
    stockout_cost: float,
    distribution: DemandDistribution | str = DemandDistribution.NORMAL,
    grid_step: float | None = None,
) -> SerialNetworkSolution:
    """Chen-Zheng optimal echelon base-stock levels of a serial :class:`Network`.

    The network must be a chain whose last stage carries all external demand (mean and
    standard deviation per period). Each stage's ``holding_cost`` is its local (installation)
    holding cost h'_j; echelon costs are h_j = h'_j - h'_{j+1} (value added, must be >= 0).
    The lead time of a stage is its processing time plus its inbound lane's lead time (plus
    the outside supplier's guaranteed service time at the top stage).
    """
    owner = "serial_network_base_stock_levels"
    arr = network.arrays()
    k = arr.n_nodes
    outbound = np.bincount(arr.edge_upstream, minlength=k)
    inbound = np.bincount(arr.edge_downstream, minlength=k)
    sinks = np.nonzero(outbound == 0)[0]
    problems = []
    if np.any(outbound > 1) or np.any(inbound > 1) or sinks.size != 1:
        problems.append("it is not a single chain (a stage has two neighbours on one side)")
    demand_at = np.nonzero(arr.demand_mean > 0)[0]
    if sinks.size == 1 and (demand_at.size != 1 or demand_at[0] != sinks[0]):
        problems.append("external demand must arrive at the last stage only")
    if np.any(arr.edge_quantity != 1):
        problems.append("bill-of-materials quantities must be 1")
    if problems:
        raise InvalidDataError(
            f"{owner}: the network cannot be solved as a serial system: "
            + "; ".join(problems)
            + "."
        )
    supplier = np.full(k, -1, dtype=np.int64)
    lane = np.zeros(k)
    supplier[arr.edge_downstream] = arr.edge_upstream
    lane[arr.edge_downstream] = arr.edge_lead_time
    chain = [int(sinks[0])]
    while supplier[chain[-1]] >= 0:
        chain.append(int(supplier[chain[-1]]))
    order = np.array(chain)
    local = arr.holding_cost[order]
    echelon = local - np.r_[local[1:], 0.0]
    if np.any(echelon < 0):
        raise InvalidDataError(
            f"{owner}: holding costs must not fall going downstream (echelon holding cost "
            f"h'_j - h'_(j+1) < 0 at {[arr.node_ids[i] for i in order[echelon < 0]]})."
        )
    lead = arr.processing_time[order] + lane[order]
    lead[-1] += arr.external_inbound_cst[order[-1]]
    sink = int(sinks[0])
    sd = (
        float(arr.demand_sd[sink])
        if DemandDistribution(distribution) is DemandDistribution.NORMAL
        else None
    )
    solution = serial_base_stock_levels(
        echelon_holding_cost=echelon,
        lead_time=lead,
        stockout_cost=stockout_cost,
        demand_mean=float(arr.demand_mean[sink]),
        demand_sd=sd,
        distribution=distribution,
        grid_step=grid_step,
    )
    return SerialNetworkSolution(tuple(arr.node_ids[i] for i in order), solution)
