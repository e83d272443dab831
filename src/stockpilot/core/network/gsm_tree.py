"""Guaranteed-service model (GSM) on trees: the exact dynamic program of Graves and Willems.

Every stage ``j`` quotes its customers an outbound service time ``S_j`` and is quoted an
inbound service time ``SI_j >= S_i + L_ij`` by each supplier ``i`` (``L_ij`` the lane lead
time) and ``SI_j >= SI_j^ext`` by outside suppliers. Its net lead time
``tau_j = SI_j + T_j - S_j >= 0`` is the demand it must cover from stock, so it holds
safety stock ``z sigma_j sqrt(tau_j)`` and base stock ``mu_j tau_j + z sigma_j sqrt(tau_j)``
(Graves and Willems 2000, eqs. 1-4; Snyder and Shen 2019, section 6.3). The model
minimises ``sum_j h_j z sigma_j sqrt(tau_j)`` subject to ``0 <= S_j <= s_j`` (the SLA cap).

When the undirected graph of lanes is a tree (or forest) the problem decomposes: nodes are
labelled so that each has exactly one neighbour with a higher label, and functions
``f_k(S)`` (neighbour downstream) or ``g_k(SI)`` (neighbour upstream) are built from the
leaves inwards (Graves and Willems 2000, section 4). Here each stage's cost table over the
whole (S, SI) grid is one numpy array, so the per-node work is a handful of vector
operations instead of a Python loop over service times.

References
----------
S. C. Graves and S. P. Willems, "Optimizing strategic safety stock placement in supply
chains", *Manufacturing & Service Operations Management* 2(1):68-83, 2000 (erratum 5(2),
2003). L. V. Snyder and Z.-J. M. Shen, *Fundamentals of Supply Chain Theory*, 2nd ed.,
Wiley, 2019, chapter 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from stockpilot.core.network.network import Network, NetworkArrays
from stockpilot.errors import InvalidParameterError, SolverError, parameter_error

__all__ = ["GSMMethod", "GSMSolution", "gsm_cost", "gsm_solution_from_service_times", "gsm_tree"]


class GSMMethod(StrEnum):
    """Which algorithm produced a :class:`GSMSolution`."""

    TREE_DP = "tree_dp"
    MILP = "milp"


@dataclass(frozen=True)
class GSMSolution:
    """Optimal committed service times and the stock they imply, one entry per node.

    Arrays follow ``node_ids`` (the order of :attr:`Network.nodes`).

    Attributes
    ----------
    committed_service_time
        ``S_j``, outbound service time quoted to customers and downstream stages.
    inbound_service_time
        ``SI_j``, the latest time inputs are guaranteed to be available.
    net_lead_time
        ``tau_j = SI_j + T_j - S_j``.
    safety_stock
        ``z_j sigma_j sqrt(tau_j)``.
    base_stock
        ``mu_j tau_j + z_j sigma_j sqrt(tau_j)``.
    holding_cost
        ``h_j`` times safety stock.
    total_cost
        Sum of ``holding_cost`` (the GSM objective).
    method
        Algorithm used.
    optimal
        True when the solver proved optimality.
    mip_gap
        Relative gap the MILP reports (0 for the tree DP).
    """

    node_ids: tuple[str, ...]
    committed_service_time: NDArray[np.float64]
    inbound_service_time: NDArray[np.float64]
    net_lead_time: NDArray[np.float64]
    safety_stock: NDArray[np.float64]
    base_stock: NDArray[np.float64]
    holding_cost: NDArray[np.float64]
    total_cost: float
    method: GSMMethod
    optimal: bool = True
    mip_gap: float = 0.0

    def service_times(self) -> dict[str, float]:
        """``{node_id: S_j}``."""
        return dict(zip(self.node_ids, self.committed_service_time.tolist(), strict=True))


def _inbound_from_outbound(arr: NetworkArrays, s: NDArray[np.float64]) -> NDArray[np.float64]:
    si = arr.external_inbound_cst.copy()
    if arr.n_edges:
        np.maximum.at(si, arr.edge_downstream, s[arr.edge_upstream] + arr.edge_lead_time)
    return si


def gsm_solution_from_service_times(
    network: Network,
    committed_service_time: NDArray[np.float64] | list[float],
    *,
    inbound_service_time: NDArray[np.float64] | list[float] | None = None,
    method: GSMMethod = GSMMethod.TREE_DP,
    optimal: bool = True,
    mip_gap: float = 0.0,
) -> GSMSolution:
    """Evaluate given outbound service times ``S``: inbound times, stock and cost.

    ``SI_j = max(SI_j^ext, max_i S_i + L_ij)`` (the smallest feasible inbound time) unless
    ``inbound_service_time`` is given, which must then be at least that large.

    Raises
    ------
    InvalidParameterError
        If ``S`` has the wrong length, a negative net lead time or breaks a cap.
    """
    arr = network.arrays()
    s = np.asarray(committed_service_time, dtype=np.float64)
    if s.shape != (arr.n_nodes,):
        raise parameter_error(
            "gsm_solution_from_service_times",
            "committed_service_time",
            f"an array of {arr.n_nodes} values (one per node)",
            s.shape,
        )
    si = _inbound_from_outbound(arr, s)
    tol = 1e-9
    late = np.zeros(arr.n_nodes, dtype=bool)
    if inbound_service_time is not None:
        given = np.asarray(inbound_service_time, dtype=np.float64)
        if given.shape != si.shape:
            raise parameter_error(
                "gsm_solution_from_service_times",
                "inbound_service_time",
                f"an array of {arr.n_nodes} values (one per node)",
                given.shape,
            )
        late = given < si - tol
        si = np.maximum(si, given)
    tau = si + arr.processing_time - s
    bad = np.flatnonzero((tau < -tol) | (s < -tol) | (s > arr.external_outbound_cst + tol) | late)
    if bad.size:
        ids = [arr.node_ids[i] for i in bad[:5]]
        raise parameter_error(
            "gsm_solution_from_service_times",
            "committed_service_time",
            "within 0 <= S_j <= min(s_j, SI_j + T_j) and SI_j >= S_i + L_ij at every node",
            f"violations at {ids}",
        )
    tau = np.maximum(tau, 0.0)
    ss = arr.z * arr.net_demand_sd * np.sqrt(tau)
    cost = arr.holding_cost * ss
    return GSMSolution(
        node_ids=arr.node_ids,
        committed_service_time=s,
        inbound_service_time=si,
        net_lead_time=tau,
        safety_stock=ss,
        base_stock=arr.net_demand_mean * tau + ss,
        holding_cost=cost,
        total_cost=float(cost.sum()),
        method=method,
        optimal=optimal,
        mip_gap=mip_gap,
    )


def gsm_cost(network: Network, committed_service_time: NDArray[np.float64] | list[float]) -> float:
    """GSM objective ``sum_j h_j z sigma_j sqrt(tau_j)`` of given outbound service times."""
    return gsm_solution_from_service_times(network, committed_service_time).total_cost


def _integer_times(arr: NetworkArrays, owner: str) -> None:
    caps = arr.external_outbound_cst[np.isfinite(arr.external_outbound_cst)]
    for name, values in (
        ("processing_time", arr.processing_time),
        ("external_inbound_cst", arr.external_inbound_cst),
        ("lead_time", arr.edge_lead_time),
        # a fractional SLA cap floored on the grid would miss the optimum
        ("external_outbound_cst", caps),
    ):
        frac = np.flatnonzero(values != np.round(values))
        if frac.size:
            raise parameter_error(
                owner,
                name,
                "integral (the dynamic program works on an integer grid of periods)",
                float(values[frac[0]]),
                hint="Use optimize_service_times (it rescales the grid) for fractional times "
                "or caps.",
            )


def _peel_order(n: int, up: NDArray[np.int64], down: NDArray[np.int64]) -> list[int]:
    """Leaf-peeling order: each node has at most one neighbour later in the order."""
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, d in zip(up.tolist(), down.tolist(), strict=True):
        adj[u].append(d)
        adj[d].append(u)
    degree = [len(a) for a in adj]
    removed = [False] * n
    stack = [i for i in range(n) if degree[i] <= 1]
    order: list[int] = []
    while stack:
        i = stack.pop()
        if removed[i]:
            continue
        removed[i] = True
        order.append(i)
        for j in adj[i]:
            if not removed[j]:
                degree[j] -= 1
                if degree[j] == 1:
                    stack.append(j)
    return order


def gsm_tree(network: Network) -> GSMSolution:
    """Optimal committed service times on a tree by dynamic programming.

    Exact for spanning trees (and forests) with integer processing, lane and external
    inbound times: Graves and Willems (2000), section 4, with the erratum (2003); Snyder
    and Shen (2019), section 6.3.4 and Example 6.5.

    Parameters
    ----------
    network
        A network whose lanes form no undirected cycle (:meth:`Network.is_tree`).

    Returns
    -------
    GSMSolution
        Per node ``S_j``, ``SI_j``, ``tau_j``, safety and base stock; total cost.

    Raises
    ------
    InvalidParameterError
        If the network is not a tree (use :func:`~stockpilot.core.network.gsm_milp.gsm_milp`)
        or a time is fractional.

    Examples
    --------
    A two-stage serial line (hand-computed): both stages quote ``S = 0``, costing
    ``1 * 3 * sqrt(2) + 2 * 3 * sqrt(1) = 10.2426``, less than the ``2 * 3 * sqrt(3) =
    10.3923`` of holding everything at the store.

    >>> from stockpilot.core.network import Edge, Network, Node
    >>> net = Network(
    ...     nodes=(Node("plant", processing_time=2, holding_cost=1.0),
    ...            Node("store", processing_time=1, holding_cost=2.0, demand_sd=3.0,
    ...                 external_outbound_cst=0)),
    ...     edges=(Edge("plant", "store"),), z=1.0)
    >>> sol = gsm_tree(net)
    >>> sol.service_times()
    {'plant': 0.0, 'store': 0.0}
    >>> round(sol.total_cost, 4)
    10.2426
    """
    owner = "gsm_tree"
    arr = network.arrays()
    if not arr.is_tree:
        raise InvalidParameterError(
            f"The 'network' parameter of {owner} must be a tree (no undirected cycle) for the "
            f"dynamic program. Got {network.name or 'a network'!r} with {arr.n_edges} lanes "
            f"on {arr.n_nodes} nodes containing a cycle. Use gsm_milp for general networks."
        )
    _integer_times(arr, owner)
    n = arr.n_nodes
    up, down = arr.edge_upstream, arr.edge_downstream
    lane = arr.edge_lead_time.astype(np.int64)
    t_proc = arr.processing_time.astype(np.int64)
    ext_in = arr.external_inbound_cst.astype(np.int64)
    cap = arr.external_outbound_cst

    # Longest replenishment time into each stage bounds every service time there.
    maxrep = np.zeros(n, dtype=np.int64)
    in_lanes: list[list[int]] = [[] for _ in range(n)]
    out_lanes: list[list[int]] = [[] for _ in range(n)]
    for e in range(arr.n_edges):
        in_lanes[int(down[e])].append(e)
        out_lanes[int(up[e])].append(e)
    for j in arr.topological_order.tolist():
        start = int(ext_in[j])
        for e in in_lanes[j]:
            start = max(start, int(maxrep[up[e]] + lane[e]))
        maxrep[j] = start + t_proc[j]
    big = int(maxrep.max()) if n else 0
    grid = np.arange(big + 1, dtype=np.float64)
    sqrt_grid = np.sqrt(grid)
    weight = arr.holding_cost * arr.z * arr.net_demand_sd

    order = _peel_order(n, up, down)
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(n)

    # f_min[k][x] = min_{S <= x} f_k(S); g_min[k][y] = min_{SI >= y} g_k(SI) (on 0..big).
    best_min: list[NDArray[np.float64]] = [np.empty(0)] * n
    best_arg: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)] * n
    partner: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)] * n
    parent_lane = np.full(n, -1, dtype=np.int64)  # lane to the higher-ranked neighbour
    root_choice: dict[int, tuple[int, int]] = {}
    inf = math.inf

    for k in order:
        si_lo = int(ext_in[k])
        si_hi = int(maxrep[k] - t_proc[k])
        s_hi = int(min(maxrep[k], math.floor(cap[k]) if math.isfinite(cap[k]) else maxrep[k]))
        si_vals = np.arange(si_lo, si_hi + 1)
        s_vals = np.arange(0, s_hi + 1)
        u_cost = np.zeros(si_vals.size)
        d_cost = np.zeros(s_vals.size)
        lane_to_parent = -1
        for e in in_lanes[k]:
            i = int(up[e])
            if rank[i] > rank[k]:
                lane_to_parent = e
                continue
            idx = si_vals - lane[e]
            vals = np.full(si_vals.size, inf)
            ok = idx >= 0
            vals[ok] = best_min[i][np.minimum(idx[ok], big)]
            u_cost += vals
        for e in out_lanes[k]:
            j = int(down[e])
            if rank[j] > rank[k]:
                lane_to_parent = e
                continue
            idx = s_vals + lane[e]
            vals = np.full(s_vals.size, inf)
            ok = idx <= big
            vals[ok] = best_min[j][idx[ok]]
            d_cost += vals
        parent_lane[k] = lane_to_parent
        tau = si_vals[None, :] + t_proc[k] - s_vals[:, None]
        table = np.where(tau >= 0, weight[k] * sqrt_grid[np.clip(tau, 0, big)], inf) + (
            u_cost[None, :] + d_cost[:, None]
        )
        if lane_to_parent < 0:  # a root: pick the best pair outright
            flat = int(np.argmin(table))
            r, c = divmod(flat, table.shape[1])
            if not math.isfinite(table[r, c]):  # S = 0 is always feasible, so never
                raise SolverError(f"gsm_tree found no finite cost at node {arr.node_ids[k]!r}.")
            root_choice[k] = (int(s_vals[r]), int(si_vals[c]))
        elif int(up[lane_to_parent]) == k:  # parent downstream: f_k(S) = min_SI c(S, SI)
            arg_si = np.argmin(table, axis=1)
            f = np.full(big + 1, inf)
            f[s_vals] = table[np.arange(s_vals.size), arg_si]
            part = np.zeros(big + 1, dtype=np.int64)
            part[s_vals] = si_vals[arg_si]
            run_arg = _running_argmin(f)
            best_min[k] = f[run_arg]
            best_arg[k] = run_arg
            partner[k] = part
        else:  # parent upstream: g_k(SI) = min_S c(S, SI)
            arg_s = np.argmin(table, axis=0)
            g = np.full(big + 1, inf)
            g[si_vals] = table[arg_s, np.arange(si_vals.size)]
            part = np.zeros(big + 1, dtype=np.int64)
            part[si_vals] = s_vals[arg_s]
            run_arg = _running_argmin(g[::-1])
            run_arg = big - run_arg[::-1]
            best_min[k] = g[run_arg]
            best_arg[k] = run_arg
            partner[k] = part

    # Walk back from the roots, fixing each lower-ranked neighbour from its parent.
    s_opt = np.zeros(n, dtype=np.int64)
    si_opt = np.zeros(n, dtype=np.int64)
    for k, (s_k, si_k) in root_choice.items():
        s_opt[k], si_opt[k] = s_k, si_k
    for k in reversed(order):
        if k in root_choice:
            continue
        e = int(parent_lane[k])
        if int(up[e]) == k:  # parent p downstream: S_k <= SI_p - L
            p = int(down[e])
            x = int(min(si_opt[p] - lane[e], big))
            s_opt[k] = best_arg[k][x]
            si_opt[k] = partner[k][s_opt[k]]
        else:  # parent p upstream: SI_k >= S_p + L
            p = int(up[e])
            y = int(s_opt[p] + lane[e])
            si_opt[k] = best_arg[k][y]
            s_opt[k] = partner[k][si_opt[k]]
    # The DP may quote an inbound time above what suppliers need (ties); shift such a
    # stage's S down by the slack so every SI is the smallest feasible one. No net lead
    # time grows, so the cost stays optimal and S only falls (caps still hold).
    s_new = s_opt.astype(np.float64)
    si_old = si_opt.astype(np.float64)
    for j in arr.topological_order.tolist():
        si_min = float(ext_in[j])
        for e in in_lanes[j]:
            si_min = max(si_min, float(s_new[up[e]] + lane[e]))
        s_new[j] = max(0.0, s_new[j] - (si_old[j] - si_min))
    return gsm_solution_from_service_times(network, s_new)


def _running_argmin(values: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of the minimum of ``values[:x + 1]`` for every ``x`` (first one on ties)."""
    run_min = np.minimum.accumulate(values)
    is_new = np.empty(values.size, dtype=bool)
    is_new[0] = True
    is_new[1:] = values[1:] < run_min[:-1]
    positions = np.where(is_new, np.arange(values.size), 0)
    return np.maximum.accumulate(positions)
