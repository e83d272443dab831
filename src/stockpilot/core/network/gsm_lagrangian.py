"""Lagrangian spanning-forest bounds and branch-and-bound for the guaranteed-service model.

The lanes outside a spanning forest of the network are priced by multipliers
``lambda_ij >= 0`` on ``S_i + L_ij - SI_j <= 0``. For any ``lambda``, the Graves-Willems
dynamic program on the forest, with the exact ``sqrt`` cost plus the linear prices, gives a
lower bound on the GSM optimum (weak duality); subgradient steps raise it, and every DP
solution, repaired to be feasible, is a candidate incumbent (Humair and Willems 2011).

A duality gap can remain because the cost is concave. :func:`_branch_and_bound` closes it:
each node of the search is a box of service times (``lo <= S_j <= hi``,
``lo <= SI_j <= hi``), tightened by propagating the lanes, and is bounded by the forest DP
restricted to the box (with warm-started multipliers). A node whose DP solution breaks a
relaxed lane ``S_i + L_ij > SI_j`` is split on ``S_i`` at a threshold between the two sides,
so that neither child contains that solution. A node whose DP solution is feasible but
short of its own cost (a price on a lane it leaves slack) is split three ways on that lane,
so that the child holding the solution implies the lane and drops its price. Nodes whose
bound reaches the incumbent are closed; the least bound of the open and closed nodes is a
valid lower bound at any time.

All times must be integer multiples of one time unit (integer times; or, after scaling by
``unit``, times given in tenths or hundredths), since the DP works on the grid of units.

References
----------
S. C. Graves and S. P. Willems, M&SOM 2(1):68-83, 2000 (tree DP). S. Humair and
S. P. Willems, "Optimizing strategic safety stock placement in general acyclic networks",
*Operations Research* 59(3):781-787, 2011 (spanning-tree relaxation and branching).
D. S. Hirschberg and L. L. Larmore, "The least weight subsequence problem", *SIAM J.
Computing* 16(4):628-638, 1987 (concave min-plus steps by a stack and bisection).
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from stockpilot.core.network.gsm_tree import _peel_order
from stockpilot.core.network.network import NetworkArrays


@dataclass(frozen=True)
class _Grid:
    """Integer view of a network: every time in multiples of ``unit``.

    ``weight`` is ``h_j z_j sigma_j sqrt(unit)``, so ``weight_j sqrt(tau_j)`` with
    ``tau_j`` in units is the exact GSM cost.
    """

    unit: float
    t_proc: NDArray[np.int64]
    lane: NDArray[np.int64]
    ext_in: NDArray[np.int64]
    cap: NDArray[np.int64]
    maxrep: NDArray[np.int64]
    weight: NDArray[np.float64]
    up: NDArray[np.int64]
    down: NDArray[np.int64]
    big: int
    sqrt_grid: NDArray[np.float64]


@dataclass(frozen=True)
class _Box:
    """Bounds on the service times of every stage, in units."""

    s_lo: NDArray[np.int64]
    s_hi: NDArray[np.int64]
    si_lo: NDArray[np.int64]
    si_hi: NDArray[np.int64]


def _time_unit(arr: NetworkArrays, maxrep: NDArray[np.float64], *, max_points: int) -> float | None:
    """Coarsest unit of which every time and every finite SLA cap is a multiple, or ``None``.

    The unit is the greatest common divisor of the times written with at most four
    decimals (5 when every time is a multiple of 5, 0.1 for times in tenths). The caps
    count because an optimal ``S_j`` may sit at its cap: a grid that floors a cap would
    miss that optimum, and its DP would no longer bound the GSM from below. ``None`` when
    some time has more decimals, or when the grid of the longest replenishment time would
    be longer than ``max_points`` units (the DP tables would be too large).
    """
    caps = arr.external_outbound_cst
    times = np.concatenate(
        [arr.processing_time, arr.edge_lead_time, arr.external_inbound_cst, caps[np.isfinite(caps)]]
    )
    longest = float(maxrep.max(initial=0.0))
    for decimals in range(5):
        scale = 10.0**decimals
        scaled = np.round(times * scale)
        if np.all(np.abs(times * scale - scaled) <= 1e-6):
            common = int(np.gcd.reduce(scaled.astype(np.int64))) if scaled.size else 0
            unit = max(common, 1) / scale if common else 1.0 / scale
            if unit < 1.0 and longest / unit > max_points:
                return None
            return unit
    return None


def _make_grid(
    arr: NetworkArrays, weight: NDArray[np.float64], maxrep: NDArray[np.float64], unit: float
) -> _Grid:
    def units(values: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.round(values / unit).astype(np.int64)

    mrep = units(maxrep)
    cap_f = arr.external_outbound_cst
    cap = np.where(
        np.isfinite(cap_f), np.floor(np.where(np.isfinite(cap_f), cap_f, 0) / unit + 1e-9), mrep
    ).astype(np.int64)
    big = int(mrep.max(initial=0))
    return _Grid(
        unit=unit,
        t_proc=units(arr.processing_time),
        lane=units(arr.edge_lead_time),
        ext_in=units(arr.external_inbound_cst),
        cap=np.minimum(cap, mrep),
        maxrep=mrep,
        weight=weight * math.sqrt(unit),
        up=arr.edge_upstream,
        down=arr.edge_downstream,
        big=big,
        sqrt_grid=np.sqrt(np.arange(big + 1, dtype=np.float64)),
    )


def _root_box(grid: _Grid) -> _Box | None:
    """Bounds every optimal solution (with the smallest feasible ``SI``) satisfies."""
    box = _Box(
        s_lo=np.zeros_like(grid.cap),
        s_hi=grid.cap.copy(),
        si_lo=grid.ext_in.copy(),
        si_hi=np.maximum(grid.maxrep - grid.t_proc, grid.ext_in),
    )
    return _propagate(grid, box)


def _propagate(grid: _Grid, box: _Box) -> _Box | None:
    """Tighten a box with every lane and ``tau >= 0`` until nothing changes.

    ``SI_j >= S_i + L_ij`` lifts ``SI_j``'s lower bound and lowers ``S_i``'s upper bound;
    ``S_j <= SI_j + T_j`` does the same within a stage. Returns ``None`` if the box is empty.
    """
    s_lo, s_hi = box.s_lo.copy(), box.s_hi.copy()
    si_lo, si_hi = box.si_lo.copy(), box.si_hi.copy()
    up, down, lane, t = grid.up, grid.down, grid.lane, grid.t_proc
    for _ in range(s_lo.size + 2):
        new_si_lo = np.maximum(si_lo, s_lo - t)
        if up.size:
            np.maximum.at(new_si_lo, down, s_lo[up] + lane)
        new_s_hi = np.minimum(s_hi, si_hi + t)
        if up.size:
            np.minimum.at(new_s_hi, up, si_hi[down] - lane)
        changed = not (np.array_equal(new_si_lo, si_lo) and np.array_equal(new_s_hi, s_hi))
        si_lo, s_hi = new_si_lo, new_s_hi
        if np.any(s_lo > s_hi) or np.any(si_lo > si_hi):
            return None
        if not changed:
            break
    return _Box(s_lo, s_hi, si_lo, si_hi)


@dataclass(frozen=True)
class _Forest:
    """A spanning forest of the lanes and everything the tree DP needs."""

    keep: NDArray[np.int64]
    drop: NDArray[np.int64]
    order: list[int]
    rank: NDArray[np.int64]
    in_lanes: list[list[int]]
    out_lanes: list[list[int]]
    # The same in the flat form the DP kernel reads: stages in peel order, each stage's
    # lane to its parent (-1 at a root), and its children's lanes (CSR, into and out of it).
    order_arr: NDArray[np.int64]
    parent_lane: NDArray[np.int64]
    child_in_ptr: NDArray[np.int64]
    child_in: NDArray[np.int64]
    child_out_ptr: NDArray[np.int64]
    child_out: NDArray[np.int64]


def _spanning_forest(
    arr: NetworkArrays, weight: NDArray[np.float64], lane_order: NDArray[np.int64] | None = None
) -> _Forest:
    """Keep lanes in ``lane_order`` (Kruskal; default: into heavier stages first); the rest
    are relaxed."""
    n = arr.n_nodes
    up, down = arr.edge_upstream, arr.edge_downstream
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keep: list[int] = []
    drop: list[int] = []
    if lane_order is None:
        lane_order = np.argsort(-weight[down], kind="stable")
    for e in lane_order.tolist():
        ru, rd = find(int(up[e])), find(int(down[e]))
        if ru != rd:
            parent[ru] = rd
            keep.append(e)
        else:
            drop.append(e)
    kept = np.asarray(sorted(keep), dtype=np.int64)
    order = _peel_order(n, up[kept], down[kept])
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(n)
    in_lanes: list[list[int]] = [[] for _ in range(n)]
    out_lanes: list[list[int]] = [[] for _ in range(n)]
    for e in kept.tolist():
        in_lanes[int(down[e])].append(e)
        out_lanes[int(up[e])].append(e)
    parent_lane = np.full(n, -1, dtype=np.int64)
    child_in: list[list[int]] = [[] for _ in range(n)]
    child_out: list[list[int]] = [[] for _ in range(n)]
    for k in range(n):
        for e in in_lanes[k]:
            if rank[int(up[e])] > rank[k]:
                parent_lane[k] = e
            else:
                child_in[k].append(e)
        for e in out_lanes[k]:
            if rank[int(down[e])] > rank[k]:
                parent_lane[k] = e
            else:
                child_out[k].append(e)

    def csr(lists: list[list[int]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        ptr = np.zeros(n + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(x) for x in lists])
        flat = np.asarray([e for x in lists for e in x], dtype=np.int64)
        return ptr, flat

    in_ptr, in_flat = csr(child_in)
    out_ptr, out_flat = csr(child_out)
    return _Forest(
        kept,
        np.asarray(drop, dtype=np.int64),
        order,
        rank,
        in_lanes,
        out_lanes,
        np.asarray(order, dtype=np.int64),
        parent_lane,
        in_ptr,
        in_flat,
        out_ptr,
        out_flat,
    )


class _DPTables:
    """The forest DP's tables and scratch rows, allocated once per network.

    One evaluation writes every entry it reads, so the tables are reused as they are: on
    Willems chain 32 (844 stages, 0.2 grid) they hold 3 x 1.4e7 entries, and allocating
    them for each evaluation cost more time in page faults than the DP itself.
    """

    def __init__(self, n_stages: int, big: int) -> None:
        self.best_min = np.empty((n_stages, big + 1))
        self.best_arg = np.empty((n_stages, big + 1), dtype=np.int64)
        self.partner = np.empty((n_stages, big + 1), dtype=np.int64)
        self.rows = np.empty((4, big + 1))
        self.int_rows = np.empty((3, big + 1), dtype=np.int64)


def _forest_dp(
    grid: _Grid,
    forest: _Forest,
    box: _Box,
    *,
    lin_s: NDArray[np.float64],
    lin_si: NDArray[np.float64],
    tables: _DPTables | None = None,
) -> tuple[float, NDArray[np.int64], NDArray[np.int64]]:
    """Graves-Willems DP on the forest, inside ``box``, with extra costs ``lin_s S + lin_si SI``.

    Returns (minimum, S, SI) in units; the minimum is ``inf`` when the box admits no point.
    The box must be propagated (:func:`_propagate`), so that every lane's index range stays
    inside ``[0, big]``: ``SI_k >= S_i + L_ik >= L_ik`` and ``S_k + L_kj <= SI_j <= big``.
    ``tables`` (sized for the grid) are reused when given.
    """
    n = grid.t_proc.size
    if tables is None:
        tables = _DPTables(n, grid.big)
    s_opt = np.zeros(n, dtype=np.int64)
    si_opt = np.zeros(n, dtype=np.int64)
    total = _forest_dp_kernel(
        forest.order_arr,
        forest.parent_lane,
        forest.child_in_ptr,
        forest.child_in,
        forest.child_out_ptr,
        forest.child_out,
        grid.up,
        grid.down,
        grid.lane,
        grid.t_proc,
        grid.weight,
        grid.sqrt_grid,
        box.s_lo,
        box.s_hi,
        box.si_lo,
        box.si_hi,
        np.ascontiguousarray(lin_s, dtype=np.float64),
        np.ascontiguousarray(lin_si, dtype=np.float64),
        grid.big,
        s_opt,
        si_opt,
        tables.best_min,
        tables.best_arg,
        tables.partner,
        tables.rows,
        tables.int_rows,
    )
    if not math.isfinite(total):
        return math.inf, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    return total, s_opt, si_opt


@njit(cache=True)
def _concave_min_plus(  # noqa: PLR0917 (a numba kernel takes plain arrays)
    d: NDArray[np.float64],
    w: float,
    sqrt_grid: NDArray[np.float64],
    offset: int,
    out: NDArray[np.float64],
    out_arg: NDArray[np.int64],
    stack_r: NDArray[np.int64],
    stack_b: NDArray[np.int64],
) -> None:
    """``out[q] = min_r d[r] + w sqrt(q + offset - r)`` over ``0 <= r <= q + offset``.

    For every ``q`` in ``range(out.size)``; ``out_arg[q]`` is the minimising ``r`` (``inf``
    and 0 where no ``r`` is allowed or every allowed ``d[r]`` is ``inf``). The kernel
    ``sqrt`` is concave, so for ``r1 < r2`` the difference ``cost(r1, x) - cost(r2, x)``
    never increases with ``x = q + offset``: once the older candidate is as good, it stays
    so, and a new candidate can only be best on a prefix of what is left. The lower
    envelope is kept on a stack (newest on top, owning the earliest ``x``) and each new
    candidate's crossover with the top is found by bisection, so the cost is
    ``O((r + q) log)`` instead of ``O(r q)`` (Hirschberg and Larmore 1987, concave least-weight
    subsequence). Ties go to the smaller ``r``. ``sqrt_grid`` must reach ``offset + out.size
    - 1`` (checked: the kernel reads it unchecked). ``stack_r`` and ``stack_b`` are scratch
    arrays of at least ``d.size`` entries; ``stack_b[i]`` is the first ``x`` at which
    entry ``i`` is better than (or as good as) entry ``i + 1``.
    """
    n = d.size
    m = out.size
    x_max = offset + m - 1
    if x_max >= sqrt_grid.size:
        raise ValueError("_concave_min_plus: sqrt_grid is shorter than offset + out.size")
    top = -1
    nxt = 0
    for q in range(m):
        x = q + offset
        while nxt < n and nxt <= x:
            r = nxt
            nxt += 1
            if not d[r] < np.inf:
                continue
            keep = True
            while top >= 0:
                old = stack_r[top]
                end = stack_b[top - 1] - 1 if top >= 1 else x_max
                # First y in [x, end] where the older candidate is as good as r.
                lo, hi = x, end + 1
                while lo < hi:
                    mid = (lo + hi) // 2
                    if d[old] + w * sqrt_grid[mid - old] <= d[r] + w * sqrt_grid[mid - r]:
                        hi = mid
                    else:
                        lo = mid + 1
                if lo > end:  # r is better over the whole of old's range
                    top -= 1
                    continue
                if lo == x:  # old is as good from now on: r is never needed
                    keep = False
                else:
                    stack_b[top] = lo
                break
            if keep:
                top += 1
                stack_r[top] = r
                stack_b[top] = x
        while top >= 1 and stack_b[top - 1] <= x:
            top -= 1
        if top < 0:
            out[q] = np.inf
            out_arg[q] = 0
        else:
            r = stack_r[top]
            out[q] = d[r] + w * sqrt_grid[x - r]
            out_arg[q] = r


@njit(cache=True)
def _forest_dp_kernel(  # noqa: PLR0917 (a numba kernel takes plain arrays)
    order: NDArray[np.int64],
    parent_lane: NDArray[np.int64],
    child_in_ptr: NDArray[np.int64],
    child_in: NDArray[np.int64],
    child_out_ptr: NDArray[np.int64],
    child_out: NDArray[np.int64],
    up: NDArray[np.int64],
    down: NDArray[np.int64],
    lane: NDArray[np.int64],
    t_proc: NDArray[np.int64],
    weight: NDArray[np.float64],
    sqrt_grid: NDArray[np.float64],
    s_lo: NDArray[np.int64],
    s_hi: NDArray[np.int64],
    si_lo: NDArray[np.int64],
    si_hi: NDArray[np.int64],
    lin_s: NDArray[np.float64],
    lin_si: NDArray[np.float64],
    big: int,
    s_opt: NDArray[np.int64],
    si_opt: NDArray[np.int64],
    best_min: NDArray[np.float64],
    best_arg: NDArray[np.int64],
    partner: NDArray[np.int64],
    rows: NDArray[np.float64],
    int_rows: NDArray[np.int64],
) -> float:
    """The forest DP over the stages in peel order (leaves first); fills ``s_opt, si_opt``.

    Stage ``k`` with ``S`` in ``[s_lo, s_hi]`` and ``SI`` in ``[si_lo, si_hi]`` costs
    ``w_k sqrt(SI + T_k - S)`` (``inf`` below 0) plus its prices plus its children's
    functions: a child ``i`` upstream (``S_i <= SI_k - L``) gives ``min_{S_i <= x}``, a
    child ``j`` downstream (``SI_j >= S_k + L``) gives ``min_{SI_j >= y}``. A stage whose
    parent is downstream passes ``f(S) = min_SI`` on as a running minimum over ``S``; one
    whose parent is upstream passes ``g(SI) = min_S`` as a running minimum from above.
    Ties go to the first index (smallest ``S``; for ``g``, the largest ``SI``).
    ``best_min``, ``best_arg``, ``partner`` (``n x (big + 1)``), ``rows`` (``4 x (big + 1)``)
    and ``int_rows`` (``3 x (big + 1)``) are the tables and scratch rows; every entry read
    is written first.
    """
    n = order.size
    inf = np.inf
    root_s = np.full(n, -1, dtype=np.int64)
    root_si = np.full(n, -1, dtype=np.int64)
    # A stage's running minimum is stored only where its own function is defined,
    # [lo, hi] (its S range, or its SI range): outside it the minimum is inf on one side
    # and the last stored value on the other (_table_min), so a narrow box costs its
    # width, not the whole grid.
    lo = np.zeros(n, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    inner, rev_row, u_row, d_row = rows[0], rows[1], rows[2], rows[3]
    inner_arg, stack_r, stack_b = int_rows[0], int_rows[1], int_rows[2]
    total = 0.0
    for idx in range(n):
        k = order[idx]
        a0, a1, b0, b1 = s_lo[k], s_hi[k], si_lo[k], si_hi[k]
        ns, nsi = a1 - a0 + 1, b1 - b0 + 1
        if ns <= 0 or nsi <= 0:
            return inf
        u_cost = u_row[:nsi]
        for c in range(nsi):
            u_cost[c] = lin_si[k] * (b0 + c)
        for p in range(child_in_ptr[k], child_in_ptr[k + 1]):
            e = child_in[p]
            i = up[e]
            for c in range(nsi):
                u_cost[c] += _table_min(best_min, i, b0 + c - lane[e], lo[i], hi[i], True)
        d_cost = d_row[:ns]
        for r in range(ns):
            d_cost[r] = lin_s[k] * (a0 + r)
        for p in range(child_out_ptr[k], child_out_ptr[k + 1]):
            e = child_out[p]
            j = down[e]
            for r in range(ns):
                d_cost[r] += _table_min(best_min, j, a0 + r + lane[e], lo[j], hi[j], False)
        w, t = weight[k], t_proc[k]
        pl = parent_lane[k]
        # tau = SI + T - S = c - r + offset, with r and c the S and SI indices.
        offset = b0 + t - a0
        if pl < 0:
            _concave_min_plus(
                d_cost, w, sqrt_grid, offset, inner[:nsi], inner_arg[:nsi], stack_r, stack_b
            )
            best, br, bc = inf, 0, 0
            for c in range(nsi):
                v = u_cost[c] + inner[c]
                if v < best:
                    best, br, bc = v, inner_arg[c], c
            total += best
            root_s[k], root_si[k] = a0 + br, b0 + bc
        elif up[pl] == k:
            # The same minimisation over SI for each S, read backwards: with c' = nsi-1-c
            # and r' = ns-1-r, tau = r' - c' + offset + nsi - ns.
            rev = rev_row[:nsi]
            for c in range(nsi):
                rev[c] = u_cost[nsi - 1 - c]
            _concave_min_plus(
                rev,
                w,
                sqrt_grid,
                offset + nsi - ns,
                inner[:ns],
                inner_arg[:ns],
                stack_r,
                stack_b,
            )
            # f(S) on [a0, a1], its running minimum from below.
            lo[k], hi[k] = a0, a1
            run, arg = inf, 0
            for r in range(ns):
                x = a0 + r
                v = d_cost[r] + inner[ns - 1 - r]
                partner[k, x] = b0 + nsi - 1 - inner_arg[ns - 1 - r]
                if v < run:
                    run, arg = v, x
                best_min[k, x] = run
                best_arg[k, x] = arg
        else:
            _concave_min_plus(
                d_cost, w, sqrt_grid, offset, inner[:nsi], inner_arg[:nsi], stack_r, stack_b
            )
            # g(SI) on [b0, b1], its running minimum from above.
            lo[k], hi[k] = b0, b1
            run, arg = inf, big
            for c in range(nsi - 1, -1, -1):
                x = b0 + c
                v = u_cost[c] + inner[c]
                partner[k, x] = a0 + inner_arg[c]
                if v < run:
                    run, arg = v, x
                best_min[k, x] = run
                best_arg[k, x] = arg
    if not np.isfinite(total):
        return inf
    for idx in range(n - 1, -1, -1):
        k = order[idx]
        pl = parent_lane[k]
        if pl < 0:
            s_opt[k], si_opt[k] = root_s[k], root_si[k]
        elif up[pl] == k:
            x = min(max(si_opt[down[pl]] - lane[pl], 0), big)
            s_opt[k] = best_arg[k, min(x, hi[k])]
            si_opt[k] = partner[k, s_opt[k]]
        else:
            y = min(s_opt[up[pl]] + lane[pl], big)
            si_opt[k] = best_arg[k, max(y, lo[k])]
            s_opt[k] = partner[k, si_opt[k]]
    return total


@njit(cache=True, inline="always")
def _table_min(  # noqa: PLR0917 (a numba kernel takes plain arrays)
    best_min: NDArray[np.float64], k: int, x: int, lo: int, hi: int, from_below: bool
) -> float:
    """Stage ``k``'s running minimum at ``x``, stored only on ``[lo, hi]``.

    From below (``min_{S <= x} f(S)``): ``inf`` under ``lo``, the last value above ``hi``;
    from above (``min_{SI >= x} g(SI)``) the other way round.
    """
    if from_below:
        if x < lo:
            return np.inf
        return best_min[k, min(x, hi)]
    if x > hi:
        return np.inf
    return best_min[k, max(x, lo)]


def _repair(arr: NetworkArrays, s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Lower any ``S_j`` above ``SI_j + T_j`` (solver tolerance) so every tau >= 0."""
    for _ in range(arr.n_nodes + 1):
        si = arr.external_inbound_cst.copy()
        if arr.n_edges:
            np.maximum.at(si, arr.edge_downstream, s[arr.edge_upstream] + arr.edge_lead_time)
        over = s > si + arr.processing_time
        if not over.any():
            return s
        s = np.where(over, si + arr.processing_time, s)
    return s


def _exact_cost(arr: NetworkArrays, weight: NDArray[np.float64], s: NDArray[np.float64]) -> float:
    si = arr.external_inbound_cst.copy()
    if arr.n_edges:
        np.maximum.at(si, arr.edge_downstream, s[arr.edge_upstream] + arr.edge_lead_time)
    tau = np.maximum(si + arr.processing_time - s, 0.0)
    return float(np.sum(weight * np.sqrt(tau)))


class _LocalSearch:
    """First-improvement search over single-stage moves of ``S`` (exact cost, feasible).

    A move sets one ``S_j`` to 0, to ``min(s_j, SI_j + T_j)`` (pass-through) or to the
    inbound time of one of its customers less the lane (``SI_k - L_jk``), keeping every
    ``tau >= 0``; only moves that lower the exact cost are taken.

    ``work`` counts what the search has done (one unit per move tried, per customer whose
    inbound time that move changes and per supplier of that customer). A budget in these units, not in seconds, keeps
    the result independent of the machine's load; ``deadline`` is only a safety cap.
    """

    def __init__(self, arr: NetworkArrays, weight: NDArray[np.float64]) -> None:
        n = arr.n_nodes
        self.arr = arr
        self.weight = weight.tolist()
        self.t = arr.processing_time.tolist()
        self.ext = arr.external_inbound_cst.tolist()
        self.cap = arr.external_outbound_cst.tolist()
        self.preds: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        self.succs: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for u, d, lane in zip(
            arr.edge_upstream.tolist(),
            arr.edge_downstream.tolist(),
            arr.edge_lead_time.tolist(),
            strict=True,
        ):
            self.preds[d].append((u, lane))
            self.succs[u].append((d, lane))
        # Work of one move of S_j: the move, and per customer its inbound time (a max over
        # that customer's suppliers).
        self.move_work = [
            1 + sum(1 + len(self.preds[k]) for k, _lane in self.succs[j]) for j in range(n)
        ]
        self.work = 0

    def _inbound(self, s: list[float], k: int, j: int, s_j: float) -> float:
        si = self.ext[k]
        for i, lane in self.preds[k]:
            si = max(si, (s_j if i == j else s[i]) + lane)
        return si

    def improve(
        self, s_in: NDArray[np.float64], *, deadline: float, max_work: float = math.inf
    ) -> NDArray[np.float64]:
        """Sweeps of first-improvement moves from ``s_in`` until none helps or
        ``max_work`` units are spent (or, as a safety cap, ``deadline`` passes)."""
        s = s_in.tolist()
        n = len(s)
        si = [self._inbound(s, k, -1, 0.0) for k in range(n)]
        w, t = self.weight, self.t
        stop = self.work + max_work
        self.work += n + self.arr.n_edges
        for _ in range(50):
            moved = False
            for j in range(n):
                if self.work >= stop or (j % 64 == 63 and time.perf_counter() > deadline):
                    break
                top = min(self.cap[j], si[j] + t[j])
                options = {0.0, top}
                for k, lane in self.succs[j]:
                    options.add(si[k] - lane)
                base_j = w[j] * math.sqrt(max(si[j] + t[j] - s[j], 0.0))
                best_gain, best_val, best_si = 1e-9 * (1.0 + base_j), s[j], None
                for v in options:
                    if v == s[j] or v < 0 or v > top + 1e-12:
                        continue
                    self.work += self.move_work[j]
                    gain = base_j - w[j] * math.sqrt(max(si[j] + t[j] - v, 0.0))
                    new_si = []
                    ok = True
                    for k, _lane in self.succs[j]:
                        nk = self._inbound(s, k, j, v)
                        if nk + t[k] - s[k] < -1e-12:
                            ok = False
                            break
                        gain += w[k] * (
                            math.sqrt(max(si[k] + t[k] - s[k], 0.0))
                            - math.sqrt(max(nk + t[k] - s[k], 0.0))
                        )
                        new_si.append(nk)
                    if ok and gain > best_gain:
                        best_gain, best_val, best_si = gain, v, new_si
                if best_si is not None:
                    s[j] = best_val
                    for (k, _lane), nk in zip(self.succs[j], best_si, strict=True):
                        si[k] = nk
                    moved = True
            if not moved or self.work >= stop or time.perf_counter() > deadline:
                break
        return np.asarray(s, dtype=np.float64)


# Work, not wall-clock time, budgets the root ascents and the polishing, so the same input
# gives the same forest, bound and search on any load (the deadlines are safety caps only).
# The unit is about a nanosecond of the 2-core VM, idle: a forest DP costs about 11-16 per
# point of each stage's S and SI ranges in its box (Willems chains 19, 20, 21, 27, 28, 32,
# 33, 36 at the root: 0.08 ms to 46 ms), an evaluation adds about 200 per stage (repair
# and exact cost of the candidate), and a local-search work unit costs 110-190 (chains 19,
# 21, 27, 28, 32). ``_WORK_PER_TABLE_ENTRY`` prices a whole (stages x grid points) table,
# for the near-tree rule of gsm_milp (measured with the earlier kernel, which swept every
# table row: chains 27, 32, 33 at 0.1 ms, 7-10 ms, 0.12 s).
_WORK_PER_SECOND = 1e9
_WORK_PER_BOX_POINT = 12.0
_WORK_PER_TABLE_ENTRY = 15.0
_WORK_PER_STAGE = 200.0
_WORK_PER_SEARCH_UNIT = 150.0


@dataclass
class _Dual:
    """Everything the subgradient ascent at one box learnt."""

    bound: float
    lam: NDArray[np.float64]
    s: NDArray[np.int64]
    si: NDArray[np.int64]
    cand_s: NDArray[np.float64]
    cand_cost: float


def _evaluation_work(n_stages: int, big: int) -> float:
    """Most work of one forest-DP evaluation with its candidate, on a box spanning the
    whole grid (see ``_WORK_PER_SECOND``)."""
    return n_stages * (_WORK_PER_TABLE_ENTRY * (big + 1) + _WORK_PER_STAGE)


def _box_work(box: _Box) -> float:
    """Work of one forest-DP evaluation with its candidate on ``box``."""
    points = np.sum(box.s_hi - box.s_lo) + np.sum(box.si_hi - box.si_lo) + 2 * box.s_lo.size
    return _WORK_PER_BOX_POINT * float(points) + _WORK_PER_STAGE * box.s_lo.size


class _Relaxation:
    """The forest, the grid and the candidate repair for one network."""

    def __init__(
        self,
        arr: NetworkArrays,
        weight: NDArray[np.float64],
        grid: _Grid,
        lane_order: NDArray[np.int64] | None = None,
        tables: _DPTables | None = None,
    ) -> None:
        self.arr = arr
        self.tables = tables if tables is not None else _DPTables(arr.n_nodes, grid.big)
        self.weight = weight
        self.grid = grid
        self.forest = _spanning_forest(arr, weight, lane_order)
        drop = self.forest.drop
        self.d_up = grid.up[drop]
        self.d_down = grid.down[drop]
        self.d_lane = grid.lane[drop]
        self.cap = np.minimum(arr.external_outbound_cst, grid.maxrep * grid.unit)
        self.suppliers: list[list[tuple[int, int]]] = [[] for _ in range(arr.n_nodes)]
        for u, d, lane in zip(
            grid.up.tolist(), grid.down.tolist(), grid.lane.tolist(), strict=True
        ):
            self.suppliers[d].append((u, lane))
        self.work = 0.0

    def implied(self, box: _Box) -> NDArray[np.bool_]:
        """Relaxed lanes that every point of ``box`` satisfies (``S_i + L_ij <= SI_j``)."""
        return box.s_hi[self.d_up] + self.d_lane <= box.si_lo[self.d_down]

    def evaluate(self, box: _Box, lam: NDArray[np.float64]) -> tuple[float, _Dual]:
        n = self.grid.t_proc.size
        self.work += _box_work(box)
        # A lane the box implies only lowers the bound by its price times its slack: a
        # zero price dominates every other (the minimum over the box can only rise).
        lam = np.where(self.implied(box), 0.0, lam)
        lin_s = np.zeros(n)
        lin_si = np.zeros(n)
        np.add.at(lin_s, self.d_up, lam)
        np.add.at(lin_si, self.d_down, -lam)
        value, s, si = _forest_dp(
            self.grid, self.forest, box, lin_s=lin_s, lin_si=lin_si, tables=self.tables
        )
        bound = value + float(lam @ self.d_lane)
        if not math.isfinite(bound):
            return math.inf, _Dual(math.inf, lam, s, si, np.zeros(n), math.inf)
        s_feas = _repair(self.arr, np.clip(s * self.grid.unit, 0.0, self.cap))
        cost = _exact_cost(self.arr, self.weight, s_feas)
        return bound, _Dual(bound, lam, s, si, s_feas, cost)

    def ascend(
        self,
        box: _Box,
        lam: NDArray[np.float64],
        *,
        upper: float,
        stop_at: float,
        max_iter: int,
        deadline: float,
        theta: float = 1.0,
        patience: int = 3,
    ) -> _Dual:
        """Subgradient ascent (Polyak steps towards ``upper``) from ``lam``; best found.

        Stops once the bound reaches ``stop_at`` (the node can be closed).
        """
        best: _Dual | None = None
        cand_s, cand_cost = np.zeros(self.arr.n_nodes), math.inf
        stall = 0
        for _ in range(max_iter):
            bound, dual = self.evaluate(box, lam)
            if dual.cand_cost < cand_cost:
                cand_s, cand_cost = dual.cand_s, dual.cand_cost
                upper = min(upper, cand_cost)
            if best is None or bound > best.bound + 1e-9 * abs(best.bound):
                best, stall = dual, 0
            else:
                stall += 1
                if stall >= patience:
                    theta, stall = theta / 2, 0
            if bound >= stop_at or not math.isfinite(bound) or time.perf_counter() > deadline:
                break
            grad = (dual.s[self.d_up] + self.d_lane - dual.si[self.d_down]).astype(np.float64)
            grad = np.where((lam <= 0) & (grad < 0), 0.0, grad)
            norm = float(grad @ grad)
            if norm == 0 or theta < 1e-4:
                break
            step = theta * max(upper - bound, 1e-9 * abs(upper)) / norm
            lam = np.maximum(lam + step * grad, 0.0)
        assert best is not None
        best.cand_s, best.cand_cost = cand_s, cand_cost
        return best


def _lagrangian_bound(
    arr: NetworkArrays,
    *,
    weight: NDArray[np.float64],
    maxrep: NDArray[np.float64],
    upper: float,
    deadline: float,
    unit: float = 1.0,
) -> tuple[float, NDArray[np.float64], float]:
    """Lagrangian relaxation of the lanes outside a spanning forest, at the root box.

    Returns (best lower bound, best feasible ``S`` found, its exact cost).
    """
    grid = _make_grid(arr, weight, maxrep, unit)
    box = _root_box(grid)
    if box is None:  # cannot happen for a valid network; keep the bound honest
        return -math.inf, np.zeros(arr.n_nodes), math.inf
    relax = _Relaxation(arr, weight, grid)
    dual = relax.ascend(
        box,
        np.zeros(relax.forest.drop.size),
        upper=upper,
        stop_at=upper * (1 - 1e-7) if math.isfinite(upper) else math.inf,
        max_iter=1000,
        deadline=deadline,
        theta=2.0,
        patience=15,
    )
    return dual.bound, dual.cand_s, dual.cand_cost


@dataclass(frozen=True)
class _SearchResult:
    lower: float
    best_s: NDArray[np.float64]
    best_cost: float
    nodes: int
    closed: bool


def _unpad_inbound(relax: _Relaxation, box: _Box, dual: _Dual) -> list[_Box]:
    """Split on a stage whose DP inbound time is padded above every supplier's quote.

    The prices reward a larger ``SI_j`` on a relaxed lane, so the DP may pad ``SI_j`` above
    ``max_i S_i + L_ij``. Some optimum has ``SI_j`` equal to that maximum (a larger
    ``SI_j`` only lengthens ``tau_j``), so the minimal-``SI`` points of the box are covered
    by "``SI_j <= v - 1``" and, for each supplier ``i``, "``S_i >= v - L_ij``", where
    ``v`` is the padded value; the DP solution is in none of them.
    """
    grid = relax.grid
    least = grid.ext_in.copy()
    np.maximum.at(least, grid.down, dual.s[grid.up] + grid.lane)
    padding = dual.si - np.maximum(least, box.si_lo)
    if not np.any(padding > 0):
        return []
    j = int(np.argmax(np.where(padding > 0, padding * (relax.weight + 1e-12), -1.0)))
    value = int(dual.si[j])
    lower_si = box.si_hi.copy()
    lower_si[j] = value - 1
    children = [_Box(box.s_lo, box.s_hi, box.si_lo, lower_si)]
    for i, lane in relax.suppliers[j]:
        raised = box.s_lo.copy()
        raised[i] = max(int(raised[i]), value - lane)
        children.append(_Box(raised, box.s_hi, box.si_lo, box.si_hi))
    return children


def _split_priced_slack(relax: _Relaxation, box: _Box, dual: _Dual) -> list[_Box]:
    """Split on a priced lane the (feasible) DP solution leaves slack.

    A feasible DP solution ``x`` falls short of its own cost by ``sum lambda_e slack_e``
    over the relaxed lanes. For a lane ``e = (i, j)`` with a price and a slack, and a
    threshold ``t`` with ``x.S_i + L_ij <= t <= x.SI_j``, every feasible point of the box
    has ``S_i + L_ij > t`` (so ``SI_j > t``), or ``SI_j < t``, or
    ``S_i + L_ij <= t <= SI_j``: three children, and in the third, which holds ``x``, the
    box implies the lane, so it loses its price and the DP its freedom to break it.
    """
    slack = dual.si[relax.d_down] - dual.s[relax.d_up] - relax.d_lane
    score = np.where((slack > 0) & ~relax.implied(box), dual.lam * slack, 0.0)
    if not score.size or float(score.max()) <= 0.0:
        return []
    e = int(np.argmax(score))
    i, j, lane = int(relax.d_up[e]), int(relax.d_down[e]), int(relax.d_lane[e])
    t = (int(dual.s[i]) + lane + int(dual.si[j])) // 2
    late = box.s_lo.copy()
    late[i] = max(int(late[i]), t - lane + 1)
    early = box.si_hi.copy()
    early[j] = min(int(early[j]), t - 1)
    held_s, held_si = box.s_hi.copy(), box.si_lo.copy()
    held_s[i] = min(int(held_s[i]), t - lane)
    held_si[j] = max(int(held_si[j]), t)
    return [
        _Box(late, box.s_hi, box.si_lo, box.si_hi),
        _Box(box.s_lo, box.s_hi, box.si_lo, early),
        _Box(box.s_lo, held_s, held_si, box.si_hi),
    ]


def _branch(relax: _Relaxation, box: _Box, dual: _Dual) -> list[_Box]:
    """Split ``box`` so that neither child contains the DP solution ``dual``."""
    grid = relax.grid
    viol = dual.s[relax.d_up] + relax.d_lane - dual.si[relax.d_down]
    if viol.size and int(viol.max()) > 0:
        e = int(np.argmax(viol))
        i, lane = int(relax.d_up[e]), int(relax.d_lane[e])
        lo_t, hi_t = int(dual.si[relax.d_down[e]]) + 1, int(dual.s[i]) + lane
        cut = (lo_t + hi_t + 1) // 2
        below = _Box(box.s_lo, box.s_hi.copy(), box.si_lo, box.si_hi)
        below.s_hi[i] = min(below.s_hi[i], cut - 1 - lane)
        above = _Box(box.s_lo.copy(), box.s_hi, box.si_lo, box.si_hi)
        above.s_lo[i] = max(above.s_lo[i], cut - lane)
        children = [below, above]
    else:
        children = _unpad_inbound(relax, box, dual) or _split_priced_slack(relax, box, dual)
    if not children:
        # The DP solution is feasible with every SI as small as its box allows, but the
        # bound is short of it: halve the widest domain (S of a costly stage first, then
        # any S, then any SI).
        for lo, hi, mask in (
            (box.s_lo, box.s_hi, relax.weight > 0),
            (box.s_lo, box.s_hi, np.ones(box.s_lo.size, dtype=bool)),
            (box.si_lo, box.si_hi, np.ones(box.s_lo.size, dtype=bool)),
        ):
            width = np.where(mask, hi - lo, -1)
            i = int(np.argmax(width))
            if width[i] > 0:
                mid = (int(lo[i]) + int(hi[i])) // 2
                low_hi, high_lo = hi.copy(), lo.copy()
                low_hi[i], high_lo[i] = mid, mid + 1
                if lo is box.s_lo:
                    children = [
                        _Box(box.s_lo, low_hi, box.si_lo, box.si_hi),
                        _Box(high_lo, box.s_hi, box.si_lo, box.si_hi),
                    ]
                else:
                    children = [
                        _Box(box.s_lo, box.s_hi, box.si_lo, low_hi),
                        _Box(box.s_lo, box.s_hi, high_lo, box.si_hi),
                    ]
                break
    out = []
    for child in children:
        tight = _propagate(grid, child)
        if tight is not None:
            out.append(tight)
    return out


def _forest_orders(
    arr: NetworkArrays, weight: NDArray[np.float64], maxrep: NDArray[np.float64]
) -> list[NDArray[np.int64]]:
    """Lane orders for the spanning forest, tried at the root (the best bound is kept).

    The forest decides the bound: at the root of Willems chain 19 the gap is 1.5 % with
    lanes into heavier stages first, 7.5e-3 ranking them by ``h z sigma sqrt(M)`` of the
    customer (``M`` its longest replenishment time) and then of the supplier, 12 % with the
    lightest first. Chain 27 does best with the sum of both ends' ``h z sigma sqrt(M)``.
    """
    up, down = arr.edge_upstream, arr.edge_downstream
    reach = weight * np.sqrt(maxrep)
    return [
        np.argsort(-weight[down], kind="stable"),
        np.lexsort((-reach[up], -reach[down])),
        np.argsort(-(reach[down] + reach[up]), kind="stable"),
    ]


def _branch_and_bound(
    arr: NetworkArrays,
    *,
    weight: NDArray[np.float64],
    maxrep: NDArray[np.float64],
    best_s: NDArray[np.float64],
    best_cost: float,
    mip_rel_gap: float,
    deadline: float,
    root_work: float,
    search_work: float = math.inf,
    unit: float = 1.0,
    node_iter: int = 12,
    max_root_gap: float = math.inf,
) -> _SearchResult:
    """Best-first branch-and-bound over service-time boxes, bounded by the forest DP.

    The root phase (the choice of forest and the root ascent) spends at most ``root_work``
    (see ``_WORK_PER_SECOND``); the local search polishes candidates with at most
    a tenth of the DP work done so far, and each polish at most a hundredth of
    ``search_work``. Budgets in work, not seconds, make the search the same on any load;
    ``deadline`` is a wall-clock safety cap. The returned ``lower`` is the least bound over
    every node closed or still open, so it is a valid lower bound on the optimum even when
    the deadline stops the search; ``closed`` says the search finished (``best_cost``
    proven within ``mip_rel_gap``). The search stops after the root when the root's
    relative gap exceeds ``max_root_gap``.
    """
    grid = _make_grid(arr, weight, maxrep, unit)
    root = _root_box(grid)
    if root is None:
        return _SearchResult(best_cost, best_s, best_cost, 0, True)
    # A short root ascent on each candidate forest; the search goes on with the best one.
    relax = _Relaxation(arr, weight, grid)
    root_evaluations = int(root_work // _box_work(root))
    lam0 = np.zeros(relax.forest.drop.size)
    best_bound = -math.inf
    if relax.forest.drop.size:
        orders = _forest_orders(arr, weight, maxrep)
        trial_iter = min(300, max(root_evaluations // (2 * len(orders)), 1))
        for order in orders:
            trial = _Relaxation(arr, weight, grid, order, relax.tables)
            dual = trial.ascend(
                root,
                np.zeros(trial.forest.drop.size),
                upper=best_cost,
                stop_at=best_cost * (1 - mip_rel_gap / 2),
                max_iter=trial_iter,
                deadline=deadline,
                theta=2.0,
                patience=15,
            )
            root_evaluations -= round(trial.work / _box_work(root))
            if dual.cand_cost < best_cost:
                best_s, best_cost = dual.cand_s, dual.cand_cost
            if dual.bound > best_bound:
                best_bound, relax, lam0 = dual.bound, trial, dual.lam
            if best_bound >= best_cost * (1 - mip_rel_gap / 2):
                break  # this forest's root bound already proves the incumbent
    root_iter = min(1000, max(root_evaluations, 1))
    search = _LocalSearch(arr, weight)
    polish_work = 0.01 * search_work / _WORK_PER_SEARCH_UNIT
    dp_start = relax.work
    counter = itertools.count()
    # The root starts from the chosen forest's multipliers (its bound is valid for the root).
    heap: list[tuple[float, int, _Box, NDArray[np.float64]]] = [(best_bound, 0, root, lam0)]
    closed_min = math.inf
    nodes = 0
    first = True
    while heap:
        if time.perf_counter() > deadline:
            break
        parent_bound, _, box, lam = heapq.heappop(heap)
        stop_at = best_cost * (1 - mip_rel_gap / 2)
        if parent_bound >= stop_at:
            closed_min = min(closed_min, parent_bound)
            continue
        nodes += 1
        dual = relax.ascend(
            box,
            lam,
            upper=best_cost,
            stop_at=stop_at,
            max_iter=root_iter if first else node_iter,
            deadline=deadline,
            theta=2.0 if first else 1.0,
            patience=15 if first else 3,
        )
        first = False
        # The local search is slow next to a DP node (a Python sweep), so it gets at most
        # a tenth of the search's work: unbounded, it took 53 of 60 s on Willems chain 28.
        polish_allowed = search.work * _WORK_PER_SEARCH_UNIT <= 0.1 * (relax.work - dp_start)
        if dual.cand_cost < best_cost * (1 + 1e-2) and polish_allowed:
            polished = search.improve(dual.cand_s, deadline=deadline, max_work=polish_work)
            cost = _exact_cost(arr, weight, polished)
            if cost < best_cost:
                best_cost, best_s = cost, polished
                stop_at = best_cost * (1 - mip_rel_gap / 2)
        bound = max(dual.bound, parent_bound)
        if bound >= stop_at:
            closed_min = min(closed_min, bound)
            continue
        if nodes == 1 and best_cost - bound > max_root_gap * abs(best_cost):
            return _SearchResult(min(bound, best_cost), best_s, best_cost, nodes, False)
        children = _branch(relax, box, dual)
        if not children:
            # A single point, feasible (no lane broken): its own cost is the box's optimum.
            tau = dual.si + grid.t_proc - dual.s
            closed_min = min(closed_min, max(bound, float(relax.grid.weight @ np.sqrt(tau))))
            continue
        for child in children:
            heapq.heappush(heap, (bound, next(counter), child, dual.lam))
    open_min = min((b for b, *_ in heap), default=math.inf)
    lower = min(closed_min, open_min, best_cost)
    return _SearchResult(lower, best_s, best_cost, nodes, not heap)
