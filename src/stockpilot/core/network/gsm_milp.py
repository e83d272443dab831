"""Guaranteed-service model on general acyclic networks by mixed-integer programming.

The model is that of :mod:`stockpilot.core.network.gsm_tree` (Graves and Willems 2000;
Humair and Willems 2011 for general acyclic networks): choose outbound service times
``S_j`` and inbound service times ``SI_j`` to minimise ``sum_j h_j z_j sigma_j
sqrt(tau_j)`` with ``tau_j = SI_j + T_j - S_j >= 0``, ``SI_j >= S_i + L_ij`` on every lane,
``SI_j >= SI_j^ext`` and ``0 <= S_j <= s_j``.

The concave cost ``sqrt(tau)`` is replaced by its piecewise-linear interpolation on
breakpoints, in the incremental ("delta") form: ``tau_j = sum_k delta_jk`` with
``0 <= delta_jk <= w_jk`` and binaries ``y_jk`` forcing segments to fill in order
(``delta_jk >= w_jk y_jk`` and ``delta_j,k+1 <= w_j,k+1 y_jk``). The interpolation of a
concave function lies below it, so each such MILP is a relaxation: its optimum is a lower
bound, and the exact cost of its service times an upper bound. With ``refine=True`` the
breakpoints start at ``{0, M_j}`` (``M_j`` the longest replenishment time into ``j``) and
each round adds the net lead times of the round's solution, until the bounds meet within
``mip_rel_gap`` or the interpolation is exact at the incumbent (which proves it optimal;
after Magnanti et al. 2006). Early rounds only steer the breakpoints, so HiGHS stops them
at a loose gap (1/20 of the gap proven so far, at most 1 %); the exact cost of the
incumbent is passed as an objective cut-off, and the full ``mip_rel_gap`` is asked only once
a round adds no breakpoint. With ``refine=False`` the breakpoints are the fixed grid
``0, r, 2r, ...`` (``r`` the ``resolution``), exact at multiples of ``r``. HiGHS solves every
MILP to proven optimality; stages that carry no cost (``h_j sigma_j = 0``) get no binaries.

With integer times, or times on a grid whose DP tables are small (all times and caps
multiples of one unit, e.g. 0.2), and ``refine=True``, a Lagrangian relaxation comes first
(:mod:`stockpilot.core.network.gsm_lagrangian`): the lanes outside a spanning forest are
priced by multipliers ``lambda_ij >= 0`` on ``S_i + L_ij - SI_j <= 0``, and the
Graves-Willems DP on the forest, with those prices and the exact ``sqrt``, gives a lower
bound for every ``lambda``; subgradient steps raise it (a work budget worth 30 % of the
time limit on the reference machine, counted in DP table entries, so the result does not
depend on the load). A branch-and-bound over service-time boxes, bounded by the same DP,
then closes the duality gap (up to 70 % of the time limit in all). Every candidate is
polished by a local search over single-stage moves; the MILP rounds get the time left.
Every method runs on the presolved network (:mod:`stockpilot.core.network.gsm_presolve`:
stages without cost quote 0 and lose their lanes).

References
----------
S. C. Graves and S. P. Willems, M&SOM 2(1):68-83, 2000. S. Humair and S. P. Willems,
"Optimizing strategic safety stock placement in general acyclic networks", *Operations
Research* 59(3):781-787, 2011. T. L. Magnanti, Z.-J. M. Shen, J. Shu, D. Simchi-Levi and
C.-P. Teo, "Inventory placement in acyclic supply chain networks", *Operations Research
Letters* 34(2):228-238, 2006 (piecewise-linear MILP of the GSM).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from stockpilot.core.network.gsm_lagrangian import (
    _WORK_PER_SECOND,
    _branch_and_bound,
    _evaluation_work,
    _exact_cost,
    _LocalSearch,
    _repair,
    _time_unit,
)
from stockpilot.core.network.gsm_presolve import _drop_zero_weight_stages
from stockpilot.core.network.gsm_tree import (
    GSMMethod,
    GSMSolution,
    gsm_solution_from_service_times,
    gsm_tree,
)
from stockpilot.core.network.network import Network, NetworkArrays
from stockpilot.errors import parameter_error

__all__ = ["gsm_milp", "optimize_service_times"]


# Share of the time limit for the Lagrangian root, and for root plus branch-and-bound; the
# piecewise-linear MILP gets the rest. With the compiled forest DP a node costs about a
# millisecond on the Willems chains, and the search closes root gaps of 1-2 % (chains 21
# and 28) that the MILP leaves open, so it no longer stops after a root with a large gap.
_ROOT_SHARE = 0.3
_SEARCH_SHARE = 0.7
# Fractional times are put on their unit's grid when it has at most this many points and
# the DP's (S, SI) tables at most this many cells in all (about 0.05 s per DP evaluation):
# on Willems chain 32 (unit 0.2, 1.4e7 cells) the search ends 60 s at a 2.6e-4 gap where
# the MILP alone leaves 3.9e-2; chains on a 0.01 grid (1e9 cells and more) stay MILP-only.
_MAX_GRID_POINTS = 20_000
_MAX_GRID_CELLS = 1e8
# Nearly a tree (at most this many lanes beyond a spanning forest, counted after the
# presolve), the forest bound is strong: on Willems chain 30 (7 such lanes, 0.01 grid) the
# root ascent alone reaches the optimum's cost, where the MILP ends 300 s at 9.2e-4; chain
# 33 (27 such lanes once its 269 zero-weight stages are presolved, 0.01 grid) is proven in
# under a second, where the MILP ends 300 s at 8.6e-2. Such a chain gets the search,
# whatever its grid, when one DP evaluation costs at most 1/200 of the time limit (in
# ``_WORK_PER_SECOND`` units; 0.09 s on chain 33, 0.07 s on chain 30).
_NEAR_TREE_LANES = 30
_NEAR_TREE_EVALUATIONS = 200


def _max_replenishment(arr: NetworkArrays) -> NDArray[np.float64]:
    """Longest time from outside supply to the end of each stage (bounds every S, SI)."""
    n = arr.n_nodes
    start = arr.external_inbound_cst.copy()
    up, down, lane = arr.edge_upstream, arr.edge_downstream, arr.edge_lead_time
    by_down = np.argsort(down, kind="stable")
    bounds = np.searchsorted(down[by_down], np.arange(n + 1))
    done = np.zeros(n)
    for j in arr.topological_order.tolist():
        lanes = by_down[bounds[j] : bounds[j + 1]]
        if lanes.size:
            start[j] = max(start[j], float(np.max(done[up[lanes]] + lane[lanes])))
        done[j] = start[j] + arr.processing_time[j]
    return done


def gsm_milp(
    network: Network,
    *,
    resolution: float = 1.0,
    mip_rel_gap: float = 1e-6,
    time_limit: float = 600.0,
    threads: int = 1,
    refine: bool = True,
) -> GSMSolution:
    """Optimal committed service times on any acyclic network (MILP with HiGHS).

    Parameters
    ----------
    network
        Any acyclic network (trees, assembly/distribution DAGs, the Willems 2008 chains).
    resolution
        Spacing ``r`` of the fixed breakpoint grid used when ``refine=False``.
    mip_rel_gap
        Relative optimality gap at which HiGHS stops (1e-6: proven optimal in practice).
    time_limit
        Seconds before HiGHS stops; the best solution found (at worst the better of
        "every stage quotes 0" and "every stage quotes as late as it can") is returned
        with ``optimal=False`` and its proven gap.
    threads
        HiGHS threads.
    refine
        Adaptive breakpoints with a proven gap (default); ``False`` uses the fixed grid.

    Returns
    -------
    GSMSolution
        ``S``, ``SI``, ``tau``, safety and base stock per node, evaluated with the exact
        ``sqrt`` (so ``total_cost`` is the true GSM cost of the returned service times),
        ``mip_gap`` the gap HiGHS proved for the piecewise-linear model.

    Raises
    ------
    InvalidParameterError
        For a bad option.

    Examples
    --------
    A diamond (not a tree); enumerating every integer ``S`` gives the same optimum:

    >>> from stockpilot.core.network import Edge, Network, Node
    >>> net = Network(
    ...     nodes=(Node("raw", processing_time=2, holding_cost=1.0),
    ...            Node("a", processing_time=1, holding_cost=2.0),
    ...            Node("b", processing_time=3, holding_cost=2.0),
    ...            Node("end", processing_time=1, holding_cost=4.0, demand_sd=1.0,
    ...                 external_outbound_cst=0)),
    ...     edges=(Edge("raw", "a"), Edge("raw", "b"), Edge("a", "end"), Edge("b", "end")),
    ...     z=1.0)
    >>> sol = gsm_milp(net)
    >>> sol.service_times()
    {'raw': 2.0, 'a': 3.0, 'b': 5.0, 'end': 0.0}
    >>> round(sol.total_cost, 4)
    9.798
    """
    owner = "gsm_milp"
    if not (isinstance(resolution, int | float) and math.isfinite(resolution) and resolution > 0):
        raise parameter_error(owner, "resolution", "a finite number > 0", resolution)
    if not (isinstance(mip_rel_gap, int | float) and 0 <= mip_rel_gap < 1):
        raise parameter_error(owner, "mip_rel_gap", "a number in [0, 1)", mip_rel_gap)
    if not (isinstance(time_limit, int | float) and time_limit > 0):
        raise parameter_error(owner, "time_limit", "a number > 0 (seconds)", time_limit)
    if not (isinstance(threads, int) and threads >= 1):
        raise parameter_error(owner, "threads", "an integer >= 1", threads)

    original = network.arrays()
    weight = original.holding_cost * original.z * original.net_demand_sd
    # Stages without cost quote S = 0 and lose their lanes (exact; gsm_presolve). The
    # forest-DP search runs on the presolved network (fewer lanes beyond a spanning forest:
    # 34 -> 27 on Willems chain 33); the MILP alone keeps the original model, where HiGHS did
    # better within 60 s (chains 24 and 26: gaps 9.3e-3 and 7.5e-4 against 2.2e-2 and
    # 3.3e-3 presolved). Every answer is evaluated on the original network, where a
    # presolved solution is feasible with the same cost.
    presolved = _drop_zero_weight_stages(original, weight)
    maxrep, bounds = _model_bounds(presolved)
    costly = np.flatnonzero(weight > 0)
    # Every time and cap a multiple of one unit (1; 5 on a chain timed in multiples of 5;
    # 0.2 on one timed in fifths): the forest DP runs on that grid when its tables are small.
    unit = _time_unit(presolved, maxrep, max_points=_MAX_GRID_POINTS)
    on_grid = False
    if unit is not None:
        cells = _grid_cells(bounds, unit)
        on_grid = (
            unit >= 1.0
            or cells <= _MAX_GRID_CELLS
            or (
                _lanes_beyond_forest(presolved) <= _NEAR_TREE_LANES
                and _evaluation_work(
                    presolved.n_nodes, round(float(maxrep.max(initial=0.0)) / unit)
                )
                <= time_limit * _WORK_PER_SECOND / _NEAR_TREE_EVALUATIONS
            )
        )
    use_search = bool(refine and on_grid and not original.is_tree and presolved.n_edges)
    arr = presolved if use_search else original
    if not use_search:
        maxrep, bounds = _model_bounds(arr)
    t_proc = arr.processing_time
    deadline = time.perf_counter() + time_limit
    # Least net lead time of each costly stage: suppliers quote 0, the stage its cap.
    si_min = _inbound_from_zero(arr)
    floor_tau = np.maximum(si_min + t_proc - bounds.s_hi, 0.0)[costly]
    floor_cost = weight[costly] * np.sqrt(floor_tau)
    # Breakpoints start at that floor: the chord of sqrt from tau_min, not from 0.
    if refine:
        breaks = [
            np.array([f, max(f, float(maxrep[j]))]) for f, j in zip(floor_tau, costly, strict=True)
        ]
    else:
        breaks = [
            np.unique(
                np.concatenate(
                    [[f], np.arange(0.0, float(maxrep[j]), resolution), [max(f, maxrep[j])]]
                ).clip(min=f)
            )
            for f, j in zip(floor_tau, costly, strict=True)
        ]
        breaks = [b if b.size > 1 else np.append(b, b) for b in breaks]
    # Two feasible starts: every stage quotes 0, or every stage passes time downstream.
    best_s = np.zeros(arr.n_nodes)
    best_cost = gsm_solution_from_service_times(network, best_s).total_cost
    late = _latest_service_times(arr)
    late_cost = gsm_solution_from_service_times(network, late).total_cost
    if late_cost < best_cost:
        best_s, best_cost = late, late_cost
    lower = -math.inf
    optimal = False
    polish = _LocalSearch(arr, weight)
    if use_search:
        # Lagrangian relaxation of the lanes outside a spanning forest (an exact tree DP per
        # multiplier vector, so a lower bound with the exact sqrt, and candidates), then
        # branch-and-bound on service-time boxes.
        now = time.perf_counter()
        search = _branch_and_bound(
            arr,
            weight=weight,
            maxrep=maxrep,
            best_s=best_s,
            best_cost=best_cost,
            mip_rel_gap=mip_rel_gap,
            deadline=now + _SEARCH_SHARE * time_limit,
            root_work=_ROOT_SHARE * time_limit * _WORK_PER_SECOND,
            search_work=_SEARCH_SHARE * time_limit * _WORK_PER_SECOND,
            unit=float(unit) if unit is not None else 1.0,
        )
        if search.best_cost < best_cost:
            best_s, best_cost = search.best_s, search.best_cost
        lower = min(max(lower, search.lower), best_cost)
        if best_cost - lower <= mip_rel_gap * max(abs(best_cost), 1e-12):
            optimal = True
    # Early rounds only steer the breakpoints, so they stop at a loose gap; the gap asked of
    # HiGHS shrinks with the proven gap and is the final one once nothing new is learnt.
    final_gap = mip_rel_gap / 4
    tighten = not refine
    while not optimal:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        if refine:
            # A solution better than the incumbent has w_j sqrt(tau_j) <= UB - (the least
            # cost every other stage must carry), which caps each tau_j.
            room = best_cost - floor_cost.sum() + floor_cost
            tau_cap = np.minimum(maxrep[costly], (room / weight[costly]) ** 2 * (1 + 1e-9))
            tau_cap = np.maximum(tau_cap, floor_tau)
            breaks = [
                np.append(b[b < cap - 1e-9], cap) for b, cap in zip(breaks, tau_cap, strict=True)
            ]
            breaks = [b if b.size > 1 else np.append(b, b) for b in breaks]
        current = (best_cost - lower) / max(abs(best_cost), 1e-12)
        target = final_gap if tighten else max(final_gap, min(1e-2, current / 20))
        sub = _solve_pwl(
            arr,
            costly=costly,
            weight=weight,
            breaks=breaks,
            bounds=bounds,
            mip_rel_gap=target,
            time_limit=remaining,
            threads=threads,
            cutoff=best_cost if refine else math.inf,
        )
        if sub is None:
            break
        if isinstance(sub, str):  # no solution beats the incumbent: it is optimal
            optimal, lower = True, best_cost
            break
        s_vals, bound, proven = sub
        if on_grid and unit is not None:
            s_vals = unit * np.minimum(np.round(s_vals / unit), np.floor(bounds.s_hi / unit + 1e-9))
        s_vals = _repair(arr, np.clip(s_vals, 0.0, bounds.s_hi))
        trial = gsm_solution_from_service_times(network, s_vals, method=GSMMethod.MILP)
        if trial.total_cost < best_cost:
            best_cost, best_s = trial.total_cost, s_vals
            # Single-stage moves often lower a new incumbent further (a better cut-off);
            # 1 % of the time limit at most, as a sweep is slow on large networks.
            polished = polish.improve(
                s_vals, deadline=min(deadline, time.perf_counter() + 0.01 * time_limit)
            )
            polished_cost = _exact_cost(arr, weight, polished)
            if polished_cost < best_cost:
                best_cost, best_s = polished_cost, polished
        lower = max(lower, min(bound, best_cost))
        if not proven:
            break
        if best_cost - lower <= mip_rel_gap * max(abs(best_cost), 1e-12) or not refine:
            break
        grown = [b.size for b in breaks] != [
            b.size for b in _with_points(breaks, trial.net_lead_time[costly])
        ]
        breaks = _with_points(breaks, trial.net_lead_time[costly])
        if not grown:
            if tighten:  # the relaxation is exact at its own optimum: nothing left to refine
                break
            tighten = True
    gap = 0.0 if best_cost <= lower else (best_cost - lower) / max(abs(best_cost), 1e-12)
    # Claim optimality only from a proven bound (HiGHS dual bound, tree relaxation or an
    # infeasible "better than the incumbent" model), never from the loop ending.
    optimal = optimal or gap <= mip_rel_gap * (1 + 1e-9)
    return gsm_solution_from_service_times(
        network, best_s, method=GSMMethod.MILP, optimal=optimal, mip_gap=gap
    )


@dataclass(frozen=True)
class _Bounds:
    s_hi: NDArray[np.float64]
    si_lo: NDArray[np.float64]
    si_hi: NDArray[np.float64]


def _model_bounds(arr: NetworkArrays) -> tuple[NDArray[np.float64], _Bounds]:
    """Longest replenishment time of each stage, and the box every S and SI lies in."""
    maxrep = _max_replenishment(arr)
    return maxrep, _Bounds(
        s_hi=np.minimum(arr.external_outbound_cst, maxrep),
        si_lo=arr.external_inbound_cst,
        si_hi=np.maximum(maxrep - arr.processing_time, arr.external_inbound_cst),
    )


def _lanes_beyond_forest(arr: NetworkArrays) -> int:
    """Lanes outside a spanning forest: ``lanes - stages + connected components``."""
    graph = sparse.coo_matrix(
        (np.ones(arr.n_edges), (arr.edge_upstream, arr.edge_downstream)),
        shape=(arr.n_nodes, arr.n_nodes),
    )
    components, _ = connected_components(graph, directed=False)
    return int(arr.n_edges - arr.n_nodes + components)


def _grid_cells(bounds: _Bounds, unit: float) -> float:
    """Cells of every stage's (S, SI) table on the grid of ``unit`` (before propagation)."""
    s_points = np.floor(bounds.s_hi / unit + 1e-9) + 1
    si_points = np.floor((bounds.si_hi - bounds.si_lo) / unit + 1e-9) + 1
    return float(np.sum(s_points * si_points))


def _times_integral(arr: NetworkArrays) -> bool:
    """Integer times and integer (or no) SLA caps: some optimum then has integer ``S``.

    A fractional cap can be an optimal ``S_j``, which an integer grid would miss.
    """
    caps = arr.external_outbound_cst
    return all(
        bool(np.all(values == np.round(values)))
        for values in (
            arr.processing_time,
            arr.edge_lead_time,
            arr.external_inbound_cst,
            caps[np.isfinite(caps)],
        )
    )


def _solve_pwl(
    arr: NetworkArrays,
    *,
    costly: NDArray[np.int64],
    weight: NDArray[np.float64],
    breaks: list[NDArray[np.float64]],
    bounds: _Bounds,
    mip_rel_gap: float,
    time_limit: float,
    threads: int,
    cutoff: float = math.inf,
) -> tuple[NDArray[np.float64], float, bool] | str | None:
    """Solve the MILP with ``sqrt`` interpolated on ``breaks``; (S, dual bound, proven).

    ``cutoff`` (the incumbent's exact cost) prunes every node that cannot beat it.
    Returns ``"infeasible"`` when no point satisfies the (tau-capped, cut-off) model and ``None``
    when HiGHS stops without a feasible point.
    """
    n, m = arr.n_nodes, arr.n_edges
    t_proc = arr.processing_time
    seg_count = np.asarray([b.size - 1 for b in breaks], dtype=np.int64)
    n_delta = int(seg_count.sum())
    n_bin = int(np.maximum(seg_count - 1, 0).sum())
    n_cols = 2 * n + n_delta + n_bin
    col_lo = np.zeros(n_cols)
    col_hi = np.zeros(n_cols)
    cost = np.zeros(n_cols)
    integrality = np.zeros(n_cols, dtype=np.int32)
    col_hi[:n] = bounds.s_hi
    col_lo[n : 2 * n], col_hi[n : 2 * n] = bounds.si_lo, bounds.si_hi

    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    vals: list[NDArray[np.float64]] = []
    row_lo: list[NDArray[np.float64]] = []
    row_hi: list[NDArray[np.float64]] = []
    n_rows = 0

    def add(
        r: NDArray[np.int64],
        c: NDArray[np.int64],
        v: NDArray[np.float64],
        lo: NDArray[np.float64],
        hi: NDArray[np.float64],
    ) -> None:
        nonlocal n_rows
        rows.append(r + n_rows)
        cols.append(c)
        vals.append(v)
        row_lo.append(lo)
        row_hi.append(hi)
        n_rows += lo.size

    inf = highspy.kHighsInf
    if m:  # lanes: SI_j - S_i >= L_ij
        k = np.arange(m)
        add(
            np.concatenate([k, k]),
            np.concatenate([n + arr.edge_downstream, arr.edge_upstream]),
            np.concatenate([np.ones(m), -np.ones(m)]),
            arr.edge_lead_time.copy(),
            np.full(m, inf),
        )
    k = np.arange(n)  # net lead time >= 0: S_j - SI_j <= T_j
    add(
        np.concatenate([k, k]),
        np.concatenate([k, n + k]),
        np.concatenate([np.ones(n), -np.ones(n)]),
        np.full(n, -inf),
        t_proc.copy(),
    )
    if n_delta:
        # SI_j - S_j - sum_k delta_jk = b_j0 - T_j on costly nodes (tau_j = b_j0 + sum).
        first = np.asarray([b[0] for b in breaks])
        owner_of_delta = np.repeat(np.arange(costly.size), seg_count)
        first_delta = np.concatenate([[0], np.cumsum(seg_count)[:-1]])
        seg_index = np.arange(n_delta) - first_delta[owner_of_delta]
        delta_cols = 2 * n + np.arange(n_delta)
        r_nodes = np.arange(costly.size)
        add(
            np.concatenate([r_nodes, r_nodes, owner_of_delta]),
            np.concatenate([n + costly, costly, delta_cols]),
            np.concatenate([np.ones(costly.size), -np.ones(costly.size), -np.ones(n_delta)]),
            first - t_proc[costly],
            first - t_proc[costly],
        )
        left = np.concatenate([b[:-1] for b in breaks])
        right = np.concatenate([b[1:] for b in breaks])
        width = right - left
        col_hi[delta_cols] = width
        slope = (np.sqrt(right) - np.sqrt(left)) / np.where(width > 0, width, 1.0)
        cost[delta_cols] = weight[costly][owner_of_delta] * slope
        if n_bin:
            # Binary y_jk between delta_jk and delta_j,k+1: delta_jk >= w_k y >= ...
            has_next = seg_index < seg_count[owner_of_delta] - 1
            d_this = delta_cols[has_next]
            bin_cols = 2 * n + n_delta + np.arange(n_bin)
            col_hi[bin_cols] = 1.0
            integrality[bin_cols] = 1
            w_this = width[has_next]
            w_next = width[np.flatnonzero(has_next) + 1]
            rb = np.arange(n_bin)
            add(
                np.concatenate([rb, rb]),
                np.concatenate([d_this, bin_cols]),
                np.concatenate([np.ones(n_bin), -w_this]),
                np.zeros(n_bin),
                np.full(n_bin, inf),
            )
            add(
                np.concatenate([rb, rb]),
                np.concatenate([d_this + 1, bin_cols]),
                np.concatenate([np.ones(n_bin), -w_next]),
                np.full(n_bin, -inf),
                np.zeros(n_bin),
            )

    matrix = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = cost
    if n_delta:
        lp.offset_ = float(np.sum(weight[costly] * np.sqrt(first)))
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_hi
    lp.row_lower_ = np.concatenate(row_lo)
    lp.row_upper_ = np.concatenate(row_hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    if n_bin:
        lp.integrality_ = [highspy.HighsVarType(int(v)) for v in integrality]

    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    solver.setOptionValue("time_limit", float(time_limit))
    solver.setOptionValue("threads", int(threads))
    solver.setOptionValue("random_seed", 0)
    if math.isfinite(cutoff):
        solver.setOptionValue("objective_bound", float(cutoff) * (1 + 1e-9) + 1e-9)
    solver.passModel(lp)
    solver.run()
    status = solver.getModelStatus()
    info = solver.getInfo()
    proven = status == highspy.HighsModelStatus.kOptimal
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
        return "infeasible"
    if not proven and info.primal_solution_status != 2:  # 2: a feasible point exists
        return None
    values = np.asarray(solver.getSolution().col_value)
    bound = float(info.mip_dual_bound) if n_bin else float(info.objective_function_value)
    return values[:n], bound, proven


def _with_points(
    breaks: list[NDArray[np.float64]], points: NDArray[np.float64]
) -> list[NDArray[np.float64]]:
    """Add each stage's point to its breakpoints (inside its range, if not there yet)."""
    out = []
    for b, p in zip(breaks, points.tolist(), strict=True):
        if b[0] - 1e-9 <= p <= b[-1] + 1e-9 and not np.any(np.abs(b - p) <= 1e-9):
            b = np.sort(np.append(b, p))
        out.append(b)
    return out


def _inbound_from_zero(arr: NetworkArrays) -> NDArray[np.float64]:
    """Inbound service times when every supplier quotes 0 (the smallest possible)."""
    si = arr.external_inbound_cst.copy()
    if arr.n_edges:
        np.maximum.at(si, arr.edge_downstream, arr.edge_lead_time)
    return si


def _latest_service_times(arr: NetworkArrays) -> NDArray[np.float64]:
    """Every stage quotes as late as it can: ``S_j = min(s_j, SI_j + T_j)``."""
    s = np.zeros(arr.n_nodes)
    si = arr.external_inbound_cst.copy()
    up, down, lane = arr.edge_upstream, arr.edge_downstream, arr.edge_lead_time
    by_down = np.argsort(down, kind="stable")
    bounds = np.searchsorted(down[by_down], np.arange(arr.n_nodes + 1))
    for j in arr.topological_order.tolist():
        lanes = by_down[bounds[j] : bounds[j + 1]]
        if lanes.size:
            si[j] = max(si[j], float(np.max(s[up[lanes]] + lane[lanes])))
        s[j] = min(arr.external_outbound_cst[j], si[j] + arr.processing_time[j])
    return s


def optimize_service_times(network: Network, **milp_options: float) -> GSMSolution:
    """Solve the guaranteed-service model with the best exact method for the network.

    Trees with integer times and caps go to the dynamic program :func:`gsm_tree`;
    everything else to :func:`gsm_milp` (``milp_options`` are passed on).
    """
    arr = network.arrays()
    if arr.is_tree and _times_integral(arr) and not milp_options:
        return gsm_tree(network)
    return gsm_milp(network, **milp_options)  # type: ignore[arg-type]
