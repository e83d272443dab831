"""Compiled (numba) kernel of the network simulator, one replication after another.

Same model and event order as the array kernel in
:mod:`stockpilot.core.simulation.multi_echelon` (the tests check both agree); it loops in
compiled code, so a single chain runs as fast per node-period as a large batch. It is used
when no defect rate is given (defects draw from the caller's ``numpy.random.Generator``,
which compiled code cannot share).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# indices of the per-node sums returned by the kernel
REQUESTS, MET, CUST_REQUESTS, CUST_MET, ON_HAND, BACKORDERS, IN_TRANSIT, LOST, SHIPPED = range(9)
READY, ORDERS, CYCLES, GOOD_CYCLES = range(9, 13)
N_SUMS = 13


@njit(cache=True)
def _order(code: int, position: float, s: float, q: float, big_s: float) -> float:
    if code <= 1:
        return max(big_s - position, 0.0)
    if position > s:
        return 0.0
    if code <= 3:
        return max(big_s - position, 0.0)
    return (np.floor((s - position) / q) + 1.0) * q


@njit(cache=True)
def network_kernel(  # noqa: PLR0917
    d: FloatArray,
    sup: IntArray,
    order_nodes: IntArray,
    child_ptr: IntArray,
    child_idx: IntArray,
    codes: IntArray,
    s: FloatArray,
    q: FloatArray,
    big_s: FloatArray,
    review: IntArray,
    lead: IntArray,
    size: int,
    start: FloatArray,
    backorders: bool,
    warmup: int,
    ages: int,
) -> FloatArray:
    """Simulate every replication; returns (N_SUMS, N, K) sums over measured periods."""
    n, k, horizon = d.shape
    # size: ring-buffer length, at least the longest lead time + 2
    out = np.zeros((N_SUMS, n, k))
    for r in range(n):
        pipeline = np.zeros((k, size))
        in_transit = np.zeros(k)
        on_hand = start[r].copy()
        customer_back = np.zeros(k)
        owed_to = np.zeros(k)
        owed_by = np.zeros(k)
        owed_age = np.zeros((k, ages))
        cycle_open = np.zeros(k, dtype=np.bool_)
        cycle_short = np.zeros(k, dtype=np.bool_)
        requests = np.zeros(k)
        met = np.zeros(k)
        lost = np.zeros(k)
        shipped_in = np.zeros(k)
        new_order_of = np.zeros(k)
        ship = np.zeros(k)
        for t in range(horizon):
            slot = t % size
            counting = t >= warmup
            for j in range(k):
                arriving = pipeline[j, slot]
                pipeline[j, slot] = 0.0
                in_transit[j] -= arriving
                on_hand[j] += arriving
                if arriving > 0:
                    if cycle_open[j]:
                        out[CYCLES, r, j] += 1.0
                        if not cycle_short[j]:
                            out[GOOD_CYCLES, r, j] += 1.0
                    cycle_open[j] = counting
                    cycle_short[j] = False
                requests[j] = 0.0
                met[j] = 0.0
                lost[j] = 0.0
                shipped_in[j] = 0.0
                new_order_of[j] = 0.0
                if ages > 1:
                    owed_age[j, ages - 1] += owed_age[j, ages - 2]
                    for a in range(ages - 2, 0, -1):
                        owed_age[j, a] = owed_age[j, a - 1]
                    owed_age[j, 0] = 0.0
            for g in order_nodes:
                avail = on_hand[g]
                back = min(customer_back[g], avail)
                avail -= back
                customer_back[g] -= back
                dt = d[r, g, t]
                served = min(dt, avail)
                avail -= served
                if backorders:
                    customer_back[g] += dt - served
                else:
                    lost[g] = dt - served
                requests[g] += dt
                met[g] += served
                if counting:
                    out[CUST_REQUESTS, r, g] += dt
                    out[CUST_MET, r, g] += served
                first, last = child_ptr[g], child_ptr[g + 1]
                if last > first:
                    new_met = 0.0
                    for ci in range(first, last):
                        ship[child_idx[ci]] = 0.0
                    for a in range(ages - 1, -1, -1):
                        due = 0.0
                        for ci in range(first, last):
                            due += owed_age[child_idx[ci], a]
                        ratio = min(1.0, avail / due) if due > 0 else 1.0
                        for ci in range(first, last):
                            c = child_idx[ci]
                            sent = owed_age[c, a] * ratio
                            owed_age[c, a] -= sent
                            ship[c] += sent
                            if a == 0 and ages > 1:
                                new_met += sent
                        avail = max(avail - due * ratio, 0.0)
                    owed = 0.0
                    for ci in range(first, last):
                        c = child_idx[ci]
                        if ages == 1:
                            old_due = owed_to[c] - new_order_of[c]
                            new_met += min(max(ship[c] - old_due, 0.0), new_order_of[c])
                        requests[g] += new_order_of[c]
                        owed_to[c] -= ship[c]
                        shipped_in[c] = ship[c]
                        pipeline[c, (t + lead[r, c, t] + 1) % size] += ship[c]
                        in_transit[c] += ship[c]
                        owed += owed_to[c]
                    met[g] += new_met
                    owed_by[g] = owed
                on_hand[g] = avail
                position = on_hand[g] + in_transit[g] + owed_to[g] - customer_back[g] - owed_by[g]
                order = 0.0
                if t % review[g] == 0:
                    order = _order(codes[g], position, s[r, g], q[r, g], big_s[r, g])
                if counting and order > 0:
                    out[ORDERS, r, g] += 1.0
                if sup[g] < 0:
                    pipeline[g, (t + lead[r, g, t] + 1) % size] += order
                    in_transit[g] += order
                    shipped_in[g] = order
                else:
                    owed_to[g] += order
                    owed_age[g, 0] += order
                    new_order_of[g] = order
            for j in range(k):
                if met[j] < requests[j] - 1e-12:
                    cycle_short[j] = True
                if counting:
                    owed_now = customer_back[j] + owed_by[j]
                    out[REQUESTS, r, j] += requests[j]
                    out[MET, r, j] += met[j]
                    out[ON_HAND, r, j] += on_hand[j]
                    out[BACKORDERS, r, j] += owed_now
                    out[IN_TRANSIT, r, j] += in_transit[j]
                    out[LOST, r, j] += lost[j]
                    out[SHIPPED, r, j] += shipped_in[j]
                    if owed_now <= 1e-12 and lost[j] <= 0:
                        out[READY, r, j] += 1.0
    return out
