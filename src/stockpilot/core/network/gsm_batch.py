"""Guaranteed-service model on many trees of one shape at once (one item per row).

In a planning run every item has its own network, but the networks share their shape:
an item stocked at the same locations as another has the same stages and lanes, and only
its numbers differ (supplier lead time at the top, demand, cost). :func:`gsm_tree_batch`
solves B such trees in one pass of the Graves-Willems dynamic program
(:mod:`stockpilot.core.network.gsm_tree`), with every cost table carrying a leading batch
axis, so the work is a handful of array operations per *stage*, never a Python loop per
item.

The recursion is the one of :func:`~stockpilot.core.network.gsm_tree.gsm_tree` (Graves and
Willems 2000, section 4): stages are visited in leaf-peeling order; a stage whose
remaining neighbour is downstream keeps ``f_k(S) = min_SI c_k(S, SI)`` (as running minima
over ``S``), one whose remaining neighbour is upstream keeps ``g_k(SI) = min_S c_k(S, SI)``
(running minima over ``SI`` from above); the roots pick their best pair, and the choices
are walked back. Service times live on the integer grid ``0..M`` where ``M`` is the
longest replenishment time of any item in the batch; per item, grid points outside a
stage's feasible range cost ``inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.network.gsm_tree import _peel_order
from stockpilot.core.network.network import Network
from stockpilot.errors import InvalidParameterError, SolverError, parameter_error

__all__ = ["TreeBatchSolution", "gsm_tree_batch"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class TreeBatchSolution:
    """Optimal service times and stock of B trees of one shape; arrays are (B, n) with
    columns in the order of the shape's nodes, ``total_cost`` is (B,)."""

    node_ids: tuple[str, ...]
    committed_service_time: FloatArray
    inbound_service_time: FloatArray
    net_lead_time: FloatArray
    safety_stock: FloatArray
    base_stock: FloatArray
    holding_cost: FloatArray
    total_cost: FloatArray


def _batch_array(name: str, value: ArrayLike, shape: tuple[int, int]) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, shape)
    if arr.shape != shape:
        raise parameter_error(
            "gsm_tree_batch", name, f"an array of shape {shape} (items x stages)", arr.shape
        )
    return arr


def _running_argmin_rows(values: FloatArray) -> IntArray:
    """Per row, the index of the minimum of ``values[:x + 1]`` for every ``x`` (first
    one on ties)."""
    run_min = np.minimum.accumulate(values, axis=1)
    is_new = np.ones(values.shape, dtype=bool)
    is_new[:, 1:] = values[:, 1:] < run_min[:, :-1]
    positions = np.where(is_new, np.arange(values.shape[1])[None, :], 0)
    return np.maximum.accumulate(positions, axis=1)


def gsm_tree_batch(
    shape: Network,
    *,
    processing_time: ArrayLike,
    holding_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    external_outbound_cst: ArrayLike | None = None,
) -> TreeBatchSolution:
    """Solve the GSM on B trees that share ``shape``'s stages and lanes.

    Parameters
    ----------
    shape
        A tree (or forest) network: its nodes, lanes (with their lead times), external
        inbound service times and ``z`` are common to the batch; its per-node numbers are
        ignored in favour of the arrays below.
    processing_time, holding_cost, demand_mean, demand_sd
        (B, n) per item and stage (or (n,) for all items); times integral.
        ``demand_mean``/``demand_sd`` are each stage's own external demand; the demand
        a stage covers adds that of every downstream stage (variances added).
    external_outbound_cst
        (B, n) or (n,) caps on the outbound service time (``inf`` or NaN for none);
        ``None`` takes the shape's caps.

    Returns
    -------
    TreeBatchSolution
        The same optimum per row as :func:`~stockpilot.core.network.gsm_tree.gsm_tree`
        on that row's network.
    """
    owner = "gsm_tree_batch"
    arr = shape.arrays()
    if not arr.is_tree:
        raise InvalidParameterError(
            f"The 'shape' parameter of {owner} must be a tree (no undirected cycle). Got "
            f"{shape.name or 'a network'!r} with {arr.n_edges} lanes on {arr.n_nodes} nodes."
        )
    n = arr.n_nodes
    t_f = np.asarray(processing_time, dtype=np.float64)
    b = t_f.shape[0] if t_f.ndim == 2 else 1
    dims = (b, n)
    t_f = _batch_array("processing_time", t_f, dims)
    weight_h = _batch_array("holding_cost", holding_cost, dims)
    mu = _batch_array("demand_mean", demand_mean, dims)
    sd = _batch_array("demand_sd", demand_sd, dims)
    cap = _batch_array(
        "external_outbound_cst",
        arr.external_outbound_cst if external_outbound_cst is None else external_outbound_cst,
        dims,
    )
    cap = np.where(np.isnan(cap), np.inf, cap)
    for name, values in (("processing_time", t_f), ("holding_cost", weight_h), ("demand_sd", sd)):
        if not (np.isfinite(values).all() and (values >= 0).all()):
            raise parameter_error(owner, name, "finite values >= 0", "a negative or NaN value")
    if (t_f != np.round(t_f)).any() or (arr.edge_lead_time != np.round(arr.edge_lead_time)).any():
        raise parameter_error(
            owner, "processing_time", "integral (the DP works on an integer grid)", "a fraction"
        )
    finite_cap = cap[np.isfinite(cap)]
    if (finite_cap != np.round(finite_cap)).any():
        # on the integer grid a cap of 2.5 would be floored to 2 and the optimum missed
        raise parameter_error(
            owner,
            "external_outbound_cst",
            "whole periods (the DP works on an integer grid)",
            float(finite_cap[finite_cap != np.round(finite_cap)][0]),
            hint="Use optimize_service_times (it rescales the grid) for fractional caps.",
        )
    up, down = arr.edge_upstream, arr.edge_downstream
    lane = arr.edge_lead_time.astype(np.int64)
    ext_in = arr.external_inbound_cst.astype(np.int64)
    t_proc = t_f.astype(np.int64)

    # Demand each stage covers: own plus every downstream stage's (variances added).
    net_mean, net_var = mu.copy(), sd**2
    for j in arr.topological_order[::-1].tolist():
        for e in np.flatnonzero(down == j).tolist():
            q = arr.edge_quantity[e]
            net_mean[:, up[e]] += q * net_mean[:, j]
            net_var[:, up[e]] += q * q * net_var[:, j]
    weight = weight_h * arr.z[None, :] * np.sqrt(net_var)

    in_lanes = [np.flatnonzero(down == j).tolist() for j in range(n)]
    out_lanes = [np.flatnonzero(up == j).tolist() for j in range(n)]
    maxrep = np.zeros(dims, dtype=np.int64)
    for j in arr.topological_order.tolist():
        start = np.full(b, ext_in[j], dtype=np.int64)
        for e in in_lanes[j]:
            start = np.maximum(start, maxrep[:, up[e]] + lane[e])
        maxrep[:, j] = start + t_proc[:, j]
    big = int(maxrep.max()) if n and b else 0
    sqrt_grid = np.sqrt(np.arange(big + 1, dtype=np.float64))
    rows = np.arange(b)
    inf = math.inf

    order = _peel_order(n, up, down)
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(n)
    best_min: dict[int, FloatArray] = {}
    best_arg: dict[int, IntArray] = {}
    partner: dict[int, IntArray] = {}
    parent_lane = np.full(n, -1, dtype=np.int64)
    root_s: dict[int, IntArray] = {}
    root_si: dict[int, IntArray] = {}

    for k in order:
        # This stage's grids: S in 0..max s_hi, SI in SI_ext..max(M - T) over the batch.
        s_hi = np.minimum(maxrep[:, k], np.floor(np.minimum(cap[:, k], big)).astype(np.int64))
        si_hi = maxrep[:, k] - t_proc[:, k]
        s_vals = np.arange(int(s_hi.max()) + 1 if b else 1)
        si_vals = np.arange(int(ext_in[k]), (int(si_hi.max()) if b else int(ext_in[k])) + 1)
        s_ok = s_vals[None, :] <= s_hi[:, None]
        si_ok = si_vals[None, :] <= si_hi[:, None]
        u_cost = np.zeros((b, si_vals.size))
        d_cost = np.zeros((b, s_vals.size))
        lane_to_parent = -1
        for e in in_lanes[k]:
            i = int(up[e])
            if rank[i] > rank[k]:
                lane_to_parent = e
                continue
            idx = si_vals - lane[e]
            vals = np.full((b, si_vals.size), inf)
            ok = idx >= 0
            vals[:, ok] = best_min[i][:, np.minimum(idx[ok], big)]
            u_cost += vals
        for e in out_lanes[k]:
            j = int(down[e])
            if rank[j] > rank[k]:
                lane_to_parent = e
                continue
            idx = s_vals + lane[e]
            vals = np.full((b, s_vals.size), inf)
            ok = idx <= big
            vals[:, ok] = best_min[j][:, idx[ok]]
            d_cost += vals
        parent_lane[k] = lane_to_parent
        # table[b, S, SI]
        tau = si_vals[None, None, :] + t_proc[:, k][:, None, None] - s_vals[None, :, None]
        feasible = (tau >= 0) & s_ok[:, :, None] & si_ok[:, None, :]
        table = np.where(
            feasible, weight[:, k][:, None, None] * sqrt_grid[np.clip(tau, 0, big)], inf
        )
        table += u_cost[:, None, :] + d_cost[:, :, None]
        if lane_to_parent < 0:  # a root: the best pair outright
            flat = table.reshape(b, -1).argmin(axis=1)
            r, c = np.divmod(flat, si_vals.size)
            if not np.isfinite(table[rows, r, c]).all():  # S = 0 is always feasible
                raise SolverError(f"gsm_tree_batch found no finite cost at {arr.node_ids[k]!r}.")
            root_s[k], root_si[k] = s_vals[r], si_vals[c]
            continue
        # Values outside this stage's grids are infeasible (inf); the running minima then
        # carry the best feasible value on to every larger (f) or smaller (g) argument.
        padded = np.full((b, big + 1), inf)
        partner_k = np.zeros((b, big + 1), dtype=np.int64)
        if int(up[lane_to_parent]) == k:  # parent downstream: f_k(S) = min_SI c(S, SI)
            arg_si = table.argmin(axis=2)
            at = s_vals
            padded[:, at] = np.take_along_axis(table, arg_si[:, :, None], axis=2)[:, :, 0]
            partner_k[:, at] = si_vals[arg_si]
            run_arg = _running_argmin_rows(padded)
        else:  # parent upstream: g_k(SI) = min_S c(S, SI), minima over SI from above
            arg_s = table.argmin(axis=1)
            at = si_vals
            padded[:, at] = np.take_along_axis(table, arg_s[:, None, :], axis=1)[:, 0, :]
            partner_k[:, at] = s_vals[arg_s]
            run_arg = big - _running_argmin_rows(padded[:, ::-1])[:, ::-1]
        best_min[k] = np.take_along_axis(padded, run_arg, axis=1)
        best_arg[k], partner[k] = run_arg, partner_k

    s_opt = np.zeros(dims, dtype=np.int64)
    si_opt = np.zeros(dims, dtype=np.int64)
    for k, r_s in root_s.items():
        s_opt[:, k], si_opt[:, k] = r_s, root_si[k]
    for k in reversed(order):
        if k in root_s:
            continue
        e = int(parent_lane[k])
        if int(up[e]) == k:  # parent p downstream: S_k <= SI_p - L
            x = np.minimum(si_opt[:, int(down[e])] - lane[e], big)
            s_opt[:, k] = best_arg[k][rows, x]
            si_opt[:, k] = partner[k][rows, s_opt[:, k]]
        else:  # parent p upstream: SI_k >= S_p + L
            y = s_opt[:, int(up[e])] + lane[e]
            si_opt[:, k] = best_arg[k][rows, y]
            s_opt[:, k] = partner[k][rows, si_opt[:, k]]
    # Smallest feasible inbound times; a stage quoted more than it needs lowers its S by
    # the slack (no net lead time grows, so the cost stays optimal).
    s_new = s_opt.astype(np.float64)
    si_new = np.zeros(dims)
    for j in arr.topological_order.tolist():
        si_min = np.full(b, float(ext_in[j]))
        for e in in_lanes[j]:
            si_min = np.maximum(si_min, s_new[:, up[e]] + lane[e])
        s_new[:, j] = np.maximum(0.0, s_new[:, j] - (si_opt[:, j] - si_min))
        si_new[:, j] = si_min
    tau_f = np.maximum(si_new + t_f - s_new, 0.0)
    ss = arr.z[None, :] * np.sqrt(net_var) * np.sqrt(tau_f)
    cost = weight_h * ss
    return TreeBatchSolution(
        node_ids=arr.node_ids,
        committed_service_time=s_new,
        inbound_service_time=si_new,
        net_lead_time=tau_f,
        safety_stock=ss,
        base_stock=net_mean * tau_f + ss,
        holding_cost=cost,
        total_cost=cost.sum(axis=1),
    )
