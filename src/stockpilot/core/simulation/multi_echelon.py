"""Vectorized discrete-time simulation of inventory policies on a supply network.

:func:`simulate_network` takes a forest: each of K nodes has at most one supplier
(``supplier[k]``, or -1 for an outside supplier with ample stock), which covers serial
chains and distribution (one-warehouse-many-retailers) systems. N independent replications
(or N items sharing the structure) run side by side, either in a compiled (numba) loop or
in an array kernel that works on (N, nodes) arrays and loops over periods and depth levels
only. :func:`simulate_assembly_network` takes any acyclic network given as lanes with
bills of material (assembly), in a compiled lane-based kernel.

Each node runs an installation policy (``base_stock``, ``R_S``, ``s_S``, ``R_s_S``,
``s_Q``; see :func:`~stockpilot.core.simulation.single_echelon.simulate_single_echelon`)
on its local inventory position: on hand + in transit to it + still owed to it by its
supplier - owed by it to its customers and downstream nodes. In a serial chain a local
base-stock level ``S_j - S_{j-1}`` is the echelon base-stock policy ``S_j`` (Axsäter
2015, *Inventory Control*, 3rd ed., section 10.2.1), the optimal policy of Clark and
Scarf (1960).

Event order within period ``t``:

1. every node **receives** the shipments due at ``t`` (defective units are scrapped);
2. depth level by depth level, from the most downstream level to the top, each node
   a. **serves** its customers: old backorders first, then the new demand; unmet demand
      is backordered (or lost with ``backorders=False``);
   b. **ships** to its downstream nodes what they ordered and it still owes them, rationed
      in proportion to the amounts owed when stock is short (internal orders are always
      backordered): oldest dues first (orders more than ``FIFO_AGES - 1`` periods old are
      served together), dues of the same age in proportion to their size; an order counts
      as met at once only if shipped in the period it was placed; a shipment sent in period t with lead time L arrives at ``t + L + 1``;
   c. **reviews and orders** from its supplier (seen by the supplier in the same period;
      an outside supplier ships at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.network.network import Network
from stockpilot.core.simulation.single_echelon import (
    PolicyArrays,
    policy_codes,
    rng_from,
    scrap_defects,
    validate_policy_levels,
)
from stockpilot.errors import InvalidDataError, choice_error, parameter_error
from stockpilot.vocab import PolicyType

__all__ = [
    "AssemblyTopology",
    "NetworkSimulationResult",
    "NetworkTopology",
    "assembly_topology",
    "network_depths",
    "network_topology",
    "simulate_assembly_network",
    "simulate_network",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
OWNER = "simulate_network"
FIFO_AGES = 8
_EPS = 1e-9  # receipts and orders below this are rounding noise from rationing, not events

NetworkLeadTimeSampler = Callable[[np.random.Generator, tuple[int, int, int]], ArrayLike]
"""``sampler(rng, (N, K, T))``: lead time of a shipment to each node sent in each period."""


@dataclass(frozen=True, slots=True)
class NetworkSimulationResult:
    """Per-replication, per-node (N, K) measures over the periods after the warm-up.

    Attributes
    ----------
    fill_rate
        Share of the requests reaching the node (customer demand and downstream orders)
        met from stock in the period they arrive. NaN for a node without requests.
    customer_fill_rate
        The same for external customer demand only (NaN where there is none).
    cycle_service_level
        Share of replenishment cycles (receipt to receipt) without any unmet request.
    ready_rate
        Share of periods ending with nothing owed to customers or downstream nodes.
    average_on_hand, average_backorders, average_in_transit, average_lost_sales
        End-of-period means: stock on hand; units owed to customers and downstream nodes;
        units shipped to the node and not yet arrived; customer demand lost.
    average_shipped
        Mean quantity shipped to the node per period (its inbound flow).
    orders_placed
        Number of orders the node placed.
    """

    fill_rate: FloatArray
    customer_fill_rate: FloatArray
    cycle_service_level: FloatArray
    ready_rate: FloatArray
    average_on_hand: FloatArray
    average_backorders: FloatArray
    average_in_transit: FloatArray
    average_lost_sales: FloatArray
    average_shipped: FloatArray
    orders_placed: IntArray

    def holding_and_backorder_cost(
        self,
        *,
        holding_cost: ArrayLike,
        in_transit_holding_cost: ArrayLike | None = None,
        backorder_cost: ArrayLike,
    ) -> FloatArray:
        """Average cost per period of each replication, shape (N,).

        ``holding_cost`` (K,) applies to on-hand stock, ``in_transit_holding_cost`` (K,)
        to stock in transit to each node (default 0) and ``backorder_cost`` (K,) to the
        units each node owes (use 0 for internal backorders to count customers only).
        """
        h = np.asarray(holding_cost, dtype=np.float64)
        it = (
            np.zeros_like(h)
            if in_transit_holding_cost is None
            else np.asarray(in_transit_holding_cost, dtype=np.float64)
        )
        b = np.asarray(backorder_cost, dtype=np.float64)
        cost = self.average_on_hand @ h + self.average_in_transit @ it + self.average_backorders @ b
        return np.asarray(cost, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class NetworkTopology:
    """A :class:`~stockpilot.core.network.network.Network` in the simulator's terms.

    Attributes
    ----------
    node_ids
        Node ids in index order (the K columns of demand and results).
    supplier
        (K,) index of each node's supplier, -1 for nodes fed from outside.
    lead_time
        (K,) simulator lead time: ``ceil(T) - 1`` (at least 0) where T is the node's
        replenishment time, its processing time plus the inbound lane's lead time (plus the
        outside supplier's guaranteed service time for top nodes). An order shipped in
        period t is usable from period t + lead_time + 1, so T periods after the order.
    demand_mean, demand_sd
        (K,) external demand per period of each node.
    """

    node_ids: tuple[str, ...]
    supplier: IntArray
    lead_time: IntArray
    demand_mean: FloatArray
    demand_sd: FloatArray


def network_topology(network: Network) -> NetworkTopology:
    """Map a serial or distribution :class:`Network` onto :func:`simulate_network` inputs.

    Raises :class:`~stockpilot.errors.InvalidDataError` for nodes with several inbound lanes
    (assembly) or a bill-of-materials quantity other than 1, which the simulator does not
    model.
    """
    arr = network.arrays()
    k = arr.n_nodes
    inbound = np.bincount(arr.edge_downstream, minlength=k)
    problems = []
    if np.any(inbound > 1):
        ids = [arr.node_ids[i] for i in np.nonzero(inbound > 1)[0][:10]]
        problems.append(f"nodes with several suppliers (assembly) {ids}")
    if np.any(arr.edge_quantity != 1):
        problems.append("lanes with a bill-of-materials quantity other than 1")
    if problems:
        raise InvalidDataError(
            f"{OWNER} handles serial and distribution networks only; the network has "
            + " and ".join(problems)
            + ". Use assembly_topology() with simulate_assembly_network() instead."
        )
    supplier = np.full(k, -1, dtype=np.int64)
    supplier[arr.edge_downstream] = arr.edge_upstream
    replenish = arr.processing_time + arr.external_inbound_cst
    replenish[arr.edge_downstream] = arr.processing_time[arr.edge_downstream] + arr.edge_lead_time
    lead = np.maximum(np.ceil(replenish - 1e-9) - 1, 0).astype(np.int64)
    return NetworkTopology(
        node_ids=arr.node_ids,
        supplier=supplier,
        lead_time=lead,
        demand_mean=arr.demand_mean.copy(),
        demand_sd=arr.demand_sd.copy(),
    )


# indices of the per-node sums returned by the kernel
_REQUESTS, _MET, _CUST_REQUESTS, _CUST_MET, _ON_HAND, _BACKORDERS, _IN_TRANSIT, _LOST, _SHIPPED = (
    range(9)
)
_READY, _ORDERS, _CYCLES, _GOOD_CYCLES = range(9, 13)
_N_SUMS = 13


@njit(cache=True)
def _order_kernel(code: int, position: float, s: float, q: float, big_s: float) -> float:
    if code <= 1:
        return max(big_s - position, 0.0)
    if position > s:
        return 0.0
    if code <= 3:
        return max(big_s - position, 0.0)
    return (np.floor((s - position) / q) + 1.0) * q


@njit(cache=True)
def _network_kernel(  # noqa: PLR0917
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
    """Compiled twin of :func:`_run`, one replication after another.

    Same model and event order (a test checks both agree field by field); it loops in
    compiled code, so a single chain runs as fast per node-period as a large batch. Returns
    (_N_SUMS, N, K) sums over the measured periods.
    """
    n, k, horizon = d.shape
    # size: ring-buffer length, at least the longest lead time + 2
    out = np.zeros((_N_SUMS, n, k))
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
                if arriving > _EPS:
                    if cycle_open[j]:
                        out[_CYCLES, r, j] += 1.0
                        if not cycle_short[j]:
                            out[_GOOD_CYCLES, r, j] += 1.0
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
                    out[_CUST_REQUESTS, r, g] += dt
                    out[_CUST_MET, r, g] += served
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
                    order = _order_kernel(codes[g], position, s[r, g], q[r, g], big_s[r, g])
                if counting and order > _EPS:
                    out[_ORDERS, r, g] += 1.0
                if sup[g] < 0:
                    pipeline[g, (t + lead[r, g, t] + 1) % size] += order
                    in_transit[g] += order
                    shipped_in[g] = order
                else:
                    owed_to[g] += order
                    owed_age[g, 0] += order
                    new_order_of[g] = order
            for j in range(k):
                if met[j] < requests[j] - _EPS:
                    cycle_short[j] = True
                if counting:
                    owed_now = customer_back[j] + owed_by[j]
                    out[_REQUESTS, r, j] += requests[j]
                    out[_MET, r, j] += met[j]
                    out[_ON_HAND, r, j] += on_hand[j]
                    out[_BACKORDERS, r, j] += owed_now
                    out[_IN_TRANSIT, r, j] += in_transit[j]
                    out[_LOST, r, j] += lost[j]
                    out[_SHIPPED, r, j] += shipped_in[j]
                    if owed_now <= _EPS and lost[j] <= _EPS:
                        out[_READY, r, j] += 1.0
    return out


@njit(cache=True)
def _scrap_units(arriving: float, rate: float, rng: np.random.Generator) -> float:
    """Compiled scalar twin of :func:`~stockpilot.core.simulation.single_echelon.scrap_defects`.

    Same rule and the same draws from ``rng`` (a test checks them against each other):
    whole units fail independently with probability ``rate`` (one binomial draw, none for
    zero whole units), a fractional remainder loses its expected share.
    """
    whole = np.floor(arriving)
    count = int(whole)
    failed = rng.binomial(count, rate) if count > 0 else 0
    bad = failed + (arriving - whole) * rate
    return arriving - bad


@njit(cache=True)
def _assembly_kernel(  # noqa: PLR0917
    d: FloatArray,
    order_nodes: IntArray,
    lane_up: IntArray,
    lane_qty: FloatArray,
    lane_lead: IntArray,
    in_ptr: IntArray,
    in_idx: IntArray,
    out_ptr: IntArray,
    out_idx: IntArray,
    supply_lead: IntArray,
    codes: IntArray,
    s: FloatArray,
    q: FloatArray,
    big_s: FloatArray,
    review: IntArray,
    start: FloatArray,
    backorders: bool,
    warmup: int,
    size: int,
    lane_defects: FloatArray,
    supply_defects: FloatArray,
    scrap: bool,
    rng: np.random.Generator,
) -> FloatArray:
    """Lane-based twin of :func:`_network_kernel` for acyclic networks with assembly.

    Components shipped on a lane wait at the downstream node; as many units as the scarcest
    component allows (``component stock / bill-of-materials quantity``) are assembled at
    once on receipt. A node's inventory position counts units ordered and not yet
    assembled. ``lane_lead`` (N, E, T) and ``supply_lead`` (N, K, T) hold the lead time of
    a shipment sent in each period; with ``scrap``, receipts lose defective units at the
    rates ``lane_defects`` (N, E) and ``supply_defects`` (N, K), drawn from ``rng``
    replication by replication, then period by period: lanes in index order, then the
    outside supplies in node order. Returns (N_SUMS, N, K) sums over the measured periods.
    """
    n, k, horizon = d.shape
    n_lanes = lane_up.size
    ages = FIFO_AGES
    out = np.zeros((_N_SUMS, n, k))
    for r in range(n):
        pipe = np.zeros((n_lanes, size))
        supply = np.zeros((k, size))
        lane_transit = np.zeros(n_lanes)
        component = np.zeros(n_lanes)
        owed = np.zeros(n_lanes)
        owed_age = np.zeros((n_lanes, ages))
        new_lane_order = np.zeros(n_lanes)
        shipped = np.zeros(n_lanes)
        emptied = np.zeros(n_lanes, dtype=np.bool_)
        scrapped = np.zeros(n_lanes)
        spare = np.zeros(n_lanes)  # component units beyond what the kits on order need
        supply_transit = np.zeros(k)
        on_hand = start[r].copy()
        customer_back = np.zeros(k)
        kits_out = np.zeros(k)
        owed_by = np.zeros(k)
        cycle_open = np.zeros(k, dtype=np.bool_)
        cycle_short = np.zeros(k, dtype=np.bool_)
        requests = np.zeros(k)
        met = np.zeros(k)
        lost = np.zeros(k)
        shipped_in = np.zeros(k)
        for t in range(horizon):
            slot = t % size
            counting = t >= warmup
            for e in range(n_lanes):
                arriving = pipe[e, slot]
                pipe[e, slot] = 0.0
                lane_transit[e] -= arriving
                if scrap and arriving > 0.0 and lane_defects[r, e] > 0.0:
                    good = _scrap_units(arriving, lane_defects[r, e], rng)
                    # a shipment scrapped entirely is still a receipt (as in simulate_network)
                    emptied[e] = arriving > _EPS and good <= _EPS
                    scrapped[e] = arriving - good
                    component[e] += good
                else:
                    emptied[e] = False
                    scrapped[e] = 0.0
                    component[e] += arriving
                new_lane_order[e] = 0.0
                owed_age[e, ages - 1] += owed_age[e, ages - 2]
                for a in range(ages - 2, 0, -1):
                    owed_age[e, a] = owed_age[e, a - 1]
                owed_age[e, 0] = 0.0
            for j in range(k):
                first, last = in_ptr[j], in_ptr[j + 1]
                received = False
                if last == first:
                    made = supply[j, slot]
                    supply[j, slot] = 0.0
                    supply_transit[j] -= made
                    if scrap and made > 0.0 and supply_defects[r, j] > 0.0:
                        received = made > _EPS
                        arrived = made
                        made = _scrap_units(arrived, supply_defects[r, j], rng)
                        kits_out[j] -= arrived - made  # scrapped units leave the position
                else:
                    if scrap:
                        # scrapped components first use up spare units of their lane; the
                        # rest cancels kits on order, whose other components become spare
                        for ei in range(first, last):
                            e = in_idx[ei]
                            x = scrapped[e]
                            if x <= 0.0:
                                continue
                            if spare[e] > 0.0:
                                used = min(spare[e], x)
                                spare[e] -= used
                                x -= used
                            if x > 0.0:
                                cancelled = x / lane_qty[e]
                                kits_out[j] -= cancelled
                                for ej in range(first, last):
                                    if in_idx[ej] != e:
                                        spare[in_idx[ej]] += cancelled * lane_qty[in_idx[ej]]
                    made = np.inf
                    for ei in range(first, last):
                        e = in_idx[ei]
                        made = min(made, component[e] / lane_qty[e])
                        received = received or emptied[e]
                    made = max(made, 0.0)
                    for ei in range(first, last):
                        e = in_idx[ei]
                        component[e] = max(component[e] - made * lane_qty[e], 0.0)
                on_hand[j] += made
                kits_out[j] -= made
                if made > _EPS or received:
                    if cycle_open[j]:
                        out[_CYCLES, r, j] += 1.0
                        if not cycle_short[j]:
                            out[_GOOD_CYCLES, r, j] += 1.0
                    cycle_open[j] = counting
                    cycle_short[j] = False
                requests[j] = 0.0
                met[j] = 0.0
                lost[j] = 0.0
                shipped_in[j] = 0.0
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
                    out[_CUST_REQUESTS, r, g] += dt
                    out[_CUST_MET, r, g] += served
                first, last = out_ptr[g], out_ptr[g + 1]
                if last > first:
                    new_met = 0.0
                    for ei in range(first, last):
                        shipped[out_idx[ei]] = 0.0
                    for a in range(ages - 1, -1, -1):
                        due = 0.0
                        for ei in range(first, last):
                            due += owed_age[out_idx[ei], a]
                        ratio = min(1.0, avail / due) if due > 0 else 1.0
                        for ei in range(first, last):
                            e = out_idx[ei]
                            sent = owed_age[e, a] * ratio
                            owed_age[e, a] -= sent
                            shipped[e] += sent
                            if a == 0:
                                new_met += sent
                        avail = max(avail - due * ratio, 0.0)
                    total_owed = 0.0
                    for ei in range(first, last):
                        e = out_idx[ei]
                        requests[g] += new_lane_order[e]
                        owed[e] -= shipped[e]
                        pipe[e, (t + lane_lead[r, e, t] + 1) % size] += shipped[e]
                        lane_transit[e] += shipped[e]
                        total_owed += owed[e]
                    met[g] += new_met
                    owed_by[g] = total_owed
                on_hand[g] = avail
                position = on_hand[g] + kits_out[g] - customer_back[g] - owed_by[g]
                order = 0.0
                if t % review[g] == 0:
                    order = _order_kernel(codes[g], position, s[r, g], q[r, g], big_s[r, g])
                if counting and order > _EPS:
                    out[_ORDERS, r, g] += 1.0
                kits_out[g] += order
                first, last = in_ptr[g], in_ptr[g + 1]
                if last == first:
                    supply[g, (t + supply_lead[r, g, t] + 1) % size] += order
                    supply_transit[g] += order
                    shipped_in[g] += order
                else:
                    for ei in range(first, last):
                        e = in_idx[ei]
                        need = order * lane_qty[e]
                        if spare[e] > 0.0:
                            used = min(spare[e], need)
                            spare[e] -= used
                            need -= used
                        owed[e] += need
                        owed_age[e, 0] += need
                        new_lane_order[e] = need
            for j in range(k):
                transit = supply_transit[j]
                for ei in range(in_ptr[j], in_ptr[j + 1]):
                    e = in_idx[ei]
                    transit += lane_transit[e]
                    shipped_in[j] += shipped[e] if lane_up[e] >= 0 else 0.0
                if met[j] < requests[j] - _EPS:
                    cycle_short[j] = True
                if counting:
                    owed_now = customer_back[j] + owed_by[j]
                    out[_REQUESTS, r, j] += requests[j]
                    out[_MET, r, j] += met[j]
                    out[_ON_HAND, r, j] += on_hand[j]
                    out[_BACKORDERS, r, j] += owed_now
                    out[_IN_TRANSIT, r, j] += transit
                    out[_LOST, r, j] += lost[j]
                    out[_SHIPPED, r, j] += shipped_in[j]
                    if owed_now <= _EPS and lost[j] <= _EPS:
                        out[_READY, r, j] += 1.0
    return out


@dataclass(frozen=True, slots=True)
class AssemblyTopology:
    """A :class:`~stockpilot.core.network.network.Network` as :func:`simulate_assembly_network` inputs.

    Attributes
    ----------
    node_ids
        Node ids in index order.
    lanes
        (E, 2) ``[upstream, downstream]`` node indices.
    bom_quantity
        (E,) units of the upstream node per unit of the downstream node.
    lane_lead_time
        (E,) ``ceil(T) - 1`` (at least 0) with T the downstream node's processing time plus
        the lane's lead time.
    supply_lead_time
        (K,) the same for nodes fed from outside, with T their processing time plus the
        outside supplier's guaranteed service time.
    demand_mean, demand_sd
        (K,) external demand per period.
    """

    node_ids: tuple[str, ...]
    lanes: IntArray
    bom_quantity: FloatArray
    lane_lead_time: IntArray
    supply_lead_time: IntArray
    demand_mean: FloatArray
    demand_sd: FloatArray


def assembly_topology(network: Network) -> AssemblyTopology:
    """Map any acyclic :class:`Network` (assembly included) onto simulator inputs."""
    arr = network.arrays()
    down = arr.edge_downstream

    def periods(time: FloatArray) -> IntArray:
        return np.maximum(np.ceil(time - 1e-9) - 1, 0).astype(np.int64)

    return AssemblyTopology(
        node_ids=arr.node_ids,
        lanes=np.stack([arr.edge_upstream, down], axis=1).astype(np.int64),
        bom_quantity=arr.edge_quantity.copy(),
        lane_lead_time=periods(arr.processing_time[down] + arr.edge_lead_time),
        supply_lead_time=periods(arr.processing_time + arr.external_inbound_cst),
        demand_mean=arr.demand_mean.copy(),
        demand_sd=arr.demand_sd.copy(),
    )


def network_depths(supplier: ArrayLike) -> IntArray:
    """Depth of each node below the top of its tree (0 for nodes fed by an outside supplier).

    Raises :class:`~stockpilot.errors.InvalidDataError` for unknown suppliers or cycles.
    """
    sup = np.asarray(supplier, dtype=np.int64)
    k = sup.size
    bad = np.nonzero((sup < -1) | (sup >= k) | (sup == np.arange(k)))[0]
    if bad.size:
        raise InvalidDataError(
            f"The 'supplier' of {OWNER} must hold -1 (outside supplier) or the index of "
            f"another node in [0, {k - 1}]; nodes {bad.tolist()} do not. Fix the network."
        )
    depth = np.full(k, -1, dtype=np.int64)
    depth[sup == -1] = 0
    for _ in range(k):
        pending = depth < 0
        if not pending.any():
            break
        ready = pending & (depth[np.maximum(sup, 0)] >= 0) & (sup >= 0)
        depth[ready] = depth[sup[ready]] + 1
    if np.any(depth < 0):
        raise InvalidDataError(
            f"The network of {OWNER} has a cycle through nodes {np.nonzero(depth < 0)[0].tolist()}; "
            "every node must trace back to an outside supplier (-1)."
        )
    return depth


def _per_node(
    name: str,
    value: ArrayLike | None,
    n: int,
    k: int,
    *,
    default: float = np.nan,
    owner: str = OWNER,
) -> FloatArray:
    if value is None:
        return np.full((n, k), default)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 or arr.shape == (k,):
        return np.broadcast_to(arr, (n, k)).astype(np.float64)
    if arr.shape != (n, k):
        raise parameter_error(
            owner, name, f"a scalar or an array of shape ({k},) or ({n}, {k})", arr.shape
        )
    return arr.copy()


def _lead_times(
    lead_time: ArrayLike | NetworkLeadTimeSampler,
    rng: np.random.Generator,
    shape: tuple[int, int, int],
    *,
    owner: str = OWNER,
    name: str = "lead_time",
) -> IntArray:
    """Validated (N, K, T) lead times from a scalar, (K,), (N, K, T) array or a sampler.

    ``shape[1]`` is the number of nodes (:func:`simulate_network`) or of lanes
    (:func:`simulate_assembly_network`) the lead times belong to.
    """
    raw = np.asarray(lead_time(rng, shape) if callable(lead_time) else lead_time)
    k = shape[1]
    if raw.ndim != 0 and raw.shape not in ((k,), shape):
        raise parameter_error(owner, name, f"a scalar, ({k},) or {shape}", raw.shape)
    if raw.dtype.kind not in "iu":
        as_float = raw.astype(np.float64)
        if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
            raise parameter_error(owner, name, "whole numbers of periods", "other values")
    if raw.size and raw.min() < 0:
        raise parameter_error(owner, name, "whole numbers of periods >= 0", int(raw.min()))
    small = raw.astype(np.int64)
    if small.shape == shape:
        return small
    # a read-only broadcast view: no (N, K, T) copy for constant lead times
    return np.broadcast_to(small.reshape(1, -1, 1) if small.ndim else small, shape)


def _defect_rates(
    defect_rate: ArrayLike | None,
    n: int,
    k: int,
    *,
    owner: str = OWNER,
    name: str = "defect_rate",
) -> FloatArray | None:
    """Validated (N, K) defect rates in [0, 1), or None when there are no defects."""
    if defect_rate is None:
        return None
    defects = _per_node(name, defect_rate, n, k, owner=owner)
    if np.any(~np.isfinite(defects) | (defects < 0) | (defects >= 1)):
        raise parameter_error(owner, name, "in [0, 1)", defect_rate)
    return defects if np.any(defects > 0) else None


def simulate_network(
    demand: ArrayLike,
    *,
    supplier: ArrayLike,
    policy: PolicyType | str | Sequence[PolicyType | str],
    reorder_point: ArrayLike | None = None,
    order_quantity: ArrayLike | None = None,
    order_up_to: ArrayLike | None = None,
    review_period: ArrayLike = 1,
    lead_time: ArrayLike | NetworkLeadTimeSampler = 0,
    initial_on_hand: ArrayLike | None = None,
    backorders: bool = True,
    defect_rate: ArrayLike | None = None,
    warmup: int = 0,
    seed: int | np.random.Generator | None = None,
    engine: Literal["auto", "compiled", "arrays"] = "auto",
) -> NetworkSimulationResult:
    """Simulate installation inventory policies at every node of a serial or distribution network.

    Parameters
    ----------
    demand
        External customer demand per node and period: (N, K, T), or (K, T) for one
        replication. Nodes without customers get zeros.
    supplier
        (K,) index of each node's supplier, -1 for an outside supplier with ample stock.
    policy
        One :class:`~stockpilot.vocab.PolicyType` for all nodes or one per node.
    reorder_point, order_quantity, order_up_to
        Local s, Q and S per node: scalar, (K,) or (N, K).
    review_period
        R per node (scalar or (K,)); node k reviews when ``t % R_k == 0``.
    lead_time
        Shipment lead time into each node in periods: scalar, (K,), (N, K, T) per shipment,
        or a sampler ``f(rng, (N, K, T))``.
    initial_on_hand
        Starting stock (default S, or s + Q for ``s_Q``); pipelines start empty.
    backorders
        True: unmet customer demand is backordered; False: it is lost. Orders between
        nodes are always backordered at the supplier.
    defect_rate
        Share of the units received by each node that are defective and scrapped.
    warmup
        Periods simulated but not measured.
    seed
        Seed or ``numpy.random.Generator`` for random lead times and defects.
    engine
        ``compiled`` (numba loop, fastest for any N), ``arrays`` (numpy, vectorized over
        replications and the nodes of a depth level; needed for defects) or ``auto``
        (compiled unless a defect rate is given). Both give the same results.

    Returns
    -------
    NetworkSimulationResult
        (N, K) service, stock and flow measures.

    References
    ----------
    Axsäter, S. (2015). *Inventory Control*, 3rd ed., chapter 10 (echelon vs installation
    stock, serial and distribution systems). Snyder, L. V. and Z.-J. M. Shen (2019).
    *Fundamentals of Supply Chain Theory*, 2nd ed., section 6.2.

    Examples
    --------
    A two-stage chain (node 1 supplies node 0) with demand 3 per period:

    >>> import numpy as np
    >>> res = simulate_network(np.array([[3.0] * 6, [0.0] * 6]), supplier=[1, -1],
    ...                        policy="base_stock", order_up_to=[7.0, 4.0], lead_time=[1, 0])
    >>> res.fill_rate[0].tolist()
    [1.0, 1.0]
    """
    d = np.asarray(demand, dtype=np.float64)
    if d.ndim == 2:
        d = d[None, :, :]
    if d.ndim != 3 or d.shape[2] == 0:
        raise parameter_error(OWNER, "demand", "an (N, K, T) or (K, T) array", d.shape)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise InvalidDataError(
            f"The 'demand' of {OWNER} must be finite and >= 0; clean it before simulating."
        )
    n, k, horizon = d.shape
    sup = np.asarray(supplier, dtype=np.int64)
    if sup.shape != (k,):
        raise parameter_error(OWNER, "supplier", f"an array of shape ({k},)", sup.shape)
    depth = network_depths(sup)
    codes = policy_codes(policy, k)
    s = _per_node("reorder_point", reorder_point, n, k)
    q = _per_node("order_quantity", order_quantity, n, k)
    big_s = _per_node("order_up_to", order_up_to, n, k)
    for col in range(k):
        validate_policy_levels(
            codes[col : col + 1], s[:, col], q[:, col], big_s[:, col], owner=OWNER
        )
    review = np.asarray(review_period, dtype=np.float64)
    review = np.broadcast_to(review, (k,)) if review.ndim == 0 else review
    if review.shape != (k,) or np.any(review < 1) or np.any(review != np.round(review)):
        raise parameter_error(
            OWNER, "review_period", f"integers >= 1, scalar or shape ({k},)", review_period
        )
    if not isinstance(warmup, (int, np.integer)) or not 0 <= warmup < horizon:
        raise parameter_error(OWNER, "warmup", f"an integer in [0, {horizon - 1}]", warmup)
    rng = rng_from(seed)
    lead = _lead_times(lead_time, rng, (n, k, horizon))
    defects = _defect_rates(defect_rate, n, k)
    start = _per_node("initial_on_hand", initial_on_hand, n, k)
    start = np.where(np.isnan(start), np.where(codes == 4, s + q, big_s), start)
    if np.any(start < 0):
        raise parameter_error(OWNER, "initial_on_hand", ">= 0", float(start.min()))
    engines = ("auto", "compiled", "arrays")
    if engine not in engines:
        raise choice_error(OWNER, "engine", engine, engines)
    if engine == "compiled" and defects is not None:
        raise parameter_error(
            OWNER, "engine", "'arrays' or 'auto' when a defect rate is given", engine
        )
    if engine == "compiled" or (engine == "auto" and defects is None):
        return _run_compiled(
            d,
            sup=sup,
            depth=depth,
            policy=PolicyArrays(codes, s, q, big_s, review.astype(np.int64)),
            lead=lead,
            start=start,
            backorders=backorders,
            warmup=warmup,
        )
    policy_arrays = PolicyArrays(codes, s, q, big_s, review.astype(np.int64))
    return _run(
        d,
        sup=sup,
        depth=depth,
        policy=policy_arrays,
        lead=lead,
        start=start,
        backorders=backorders,
        defects=defects,
        warmup=warmup,
        rng=rng,
    )


def simulate_assembly_network(
    demand: ArrayLike,
    *,
    lanes: ArrayLike,
    bom_quantity: ArrayLike | None = None,
    lane_lead_time: ArrayLike | NetworkLeadTimeSampler = 0,
    supply_lead_time: ArrayLike | NetworkLeadTimeSampler = 0,
    policy: PolicyType | str | Sequence[PolicyType | str],
    reorder_point: ArrayLike | None = None,
    order_quantity: ArrayLike | None = None,
    order_up_to: ArrayLike | None = None,
    review_period: ArrayLike = 1,
    initial_on_hand: ArrayLike | None = None,
    backorders: bool = True,
    defect_rate: ArrayLike | None = None,
    supply_defect_rate: ArrayLike | None = None,
    warmup: int = 0,
    seed: int | np.random.Generator | None = None,
) -> NetworkSimulationResult:
    """Simulate installation policies on an acyclic network with assembly (bills of material).

    Parameters
    ----------
    demand
        External demand per node and period, (N, K, T) or (K, T).
    lanes
        (E, 2) integer pairs ``[upstream, downstream]``; a node may have several suppliers.
        Nodes without inbound lanes are fed by an outside supplier with ample stock.
    bom_quantity
        (E,) units of the upstream node per unit of the downstream node (default 1).
    lane_lead_time
        Shipment lead time on each lane in periods: scalar, (E,), (N, E, T) per shipment
        (lane e, sent in period t), or a sampler ``f(rng, (N, E, T))`` (the protocol of
        :func:`simulate_network`'s ``lead_time``, with lanes in place of nodes).
    supply_lead_time
        Lead time of the outside supply into nodes without inbound lanes: scalar, (K,),
        (N, K, T) or a sampler ``f(rng, (N, K, T))`` (entries of nodes with inbound lanes
        are not used).
    policy, reorder_point, order_quantity, order_up_to, review_period, initial_on_hand
        As in :func:`simulate_network` (levels in units of the node's own item).
    backorders
        As in :func:`simulate_network`.
    defect_rate
        Share of the component units received on each lane that are defective and
        scrapped on receipt: scalar, (E,) or (N, E); default none.
    supply_defect_rate
        The same for the outside supply of nodes without inbound lanes: scalar, (K,) or
        (N, K) (entries of nodes with inbound lanes are not used); default none.
    warmup
        As in :func:`simulate_network`.
    seed
        Seed or ``numpy.random.Generator`` for lead-time samplers and defects. Lane lead
        times are sampled first, then supply lead times, then the defects as the
        simulation runs.

    Returns
    -------
    NetworkSimulationResult
        (N, K) measures; in-transit and shipped quantities of an assembly node are summed
        over its components in component units.

    Notes
    -----
    Event order as in :func:`simulate_network`, with one addition: components received by a
    node wait there, and on receipt the node assembles as many units as its scarcest
    component allows (assembly takes no time beyond the lane lead times). A node orders
    ``Q * bom`` from every supplier at once and its inventory position counts units ordered
    and not yet assembled (Rosling 1989 treats the equivalent serial system). Compiled
    with numba.

    Random lead times follow :func:`simulate_network`: each shipment arrives
    ``L + 1`` periods after it is sent, with its own sampled ``L``, so shipments on a lane
    (or from an outside supplier) may cross. Defects follow
    :func:`~stockpilot.core.simulation.single_echelon.scrap_defects` (whole units fail
    independently, a fractional remainder loses its expected share), applied on receipt
    before assembly. Scrapped units leave the node's inventory position, as in
    :func:`simulate_network`, so its policy reorders them: at a node fed from outside
    they simply leave; a scrapped component cancels ``scrapped / bom`` units on order and
    the other components of those units are kept as spares, which the node's next orders
    use before ordering more on those lanes. On a serial chain (bill of materials 1) with
    one replication, the results equal :func:`simulate_network`'s with the same lead
    times, defect rates and seed (same draws in the same order); with several
    replications the draws are in a different order (replication by replication here,
    period by period there), so the two agree in distribution only.

    Examples
    --------
    Node 2 assembles one unit of node 0 and two of node 1 (both fed from outside at once):

    >>> import numpy as np
    >>> d = np.zeros((3, 6)); d[2] = 1.0
    >>> res = simulate_assembly_network(d, lanes=[[0, 2], [1, 2]], bom_quantity=[1, 2],
    ...                                 policy="base_stock", order_up_to=[1.0, 2.0, 2.0])
    >>> res.fill_rate[0].tolist()
    [1.0, 1.0, 1.0]
    """
    owner = "simulate_assembly_network"
    d = np.asarray(demand, dtype=np.float64)
    if d.ndim == 2:
        d = d[None, :, :]
    if d.ndim != 3 or d.shape[2] == 0:
        raise parameter_error(owner, "demand", "an (N, K, T) or (K, T) array", d.shape)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise InvalidDataError(f"The 'demand' of {owner} must be finite and >= 0.")
    n, k, horizon = d.shape
    lane_arr = np.asarray(lanes, dtype=np.int64).reshape(-1, 2)
    e = lane_arr.shape[0]
    up, down = lane_arr[:, 0], lane_arr[:, 1]
    if np.any((lane_arr < 0) | (lane_arr >= k)) or np.any(up == down):
        raise InvalidDataError(
            f"The 'lanes' of {owner} must be [upstream, downstream] pairs of distinct node "
            f"indices in [0, {k - 1}]; got {lane_arr.tolist()}."
        )
    qty = np.ones(e) if bom_quantity is None else np.asarray(bom_quantity, dtype=np.float64)
    if qty.shape != (e,) or np.any(~np.isfinite(qty) | (qty <= 0)):
        raise parameter_error(owner, "bom_quantity", f"> 0, shape ({e},)", bom_quantity)
    rng = rng_from(seed)
    lane_lead = _lead_times(
        lane_lead_time, rng, (n, e, horizon), owner=owner, name="lane_lead_time"
    )
    supply_lead = _lead_times(
        supply_lead_time, rng, (n, k, horizon), owner=owner, name="supply_lead_time"
    )
    lane_defects = _defect_rates(defect_rate, n, e, owner=owner)
    supply_defects = _defect_rates(supply_defect_rate, n, k, owner=owner, name="supply_defect_rate")
    depth = np.zeros(k, dtype=np.int64)
    for _ in range(k + 1):
        new = depth.copy()
        if e:
            np.maximum.at(new, down, depth[up] + 1)
        if np.array_equal(new, depth):
            break
        depth = new
    else:
        raise InvalidDataError(
            f"The lanes of {owner} contain a cycle; the network must be acyclic."
        )
    codes = policy_codes(policy, k)
    s = _per_node("reorder_point", reorder_point, n, k, owner=owner)
    q = _per_node("order_quantity", order_quantity, n, k, owner=owner)
    big_s = _per_node("order_up_to", order_up_to, n, k, owner=owner)
    for col in range(k):
        validate_policy_levels(
            codes[col : col + 1], s[:, col], q[:, col], big_s[:, col], owner=owner
        )
    review = np.broadcast_to(np.asarray(review_period), (k,)).astype(np.float64)
    if np.any(review < 1) or np.any(review != np.round(review)):
        raise parameter_error(owner, "review_period", "integers >= 1", review_period)
    if not isinstance(warmup, (int, np.integer)) or not 0 <= warmup < horizon:
        raise parameter_error(owner, "warmup", f"an integer in [0, {horizon - 1}]", warmup)
    start = _per_node("initial_on_hand", initial_on_hand, n, k, owner=owner)
    start = np.where(np.isnan(start), np.where(codes == 4, s + q, big_s), start)
    in_idx = np.argsort(down, kind="stable").astype(np.int64)
    out_idx = np.argsort(up, kind="stable").astype(np.int64)
    in_ptr = np.concatenate([[0], np.cumsum(np.bincount(down, minlength=k))]).astype(np.int64)
    out_ptr = np.concatenate([[0], np.cumsum(np.bincount(up, minlength=k))]).astype(np.int64)
    size = int(max(lane_lead.max(initial=0), supply_lead.max(initial=0))) + 2
    scrap = lane_defects is not None or supply_defects is not None
    sums = _assembly_kernel(
        np.ascontiguousarray(d),
        np.argsort(-depth, kind="stable").astype(np.int64),
        up.copy(),
        qty.copy(),
        lane_lead,
        in_ptr,
        in_idx,
        out_ptr,
        out_idx,
        supply_lead,
        codes,
        s,
        q,
        big_s,
        review.astype(np.int64),
        np.ascontiguousarray(start),
        backorders,
        int(warmup),
        size,
        np.zeros((n, e)) if lane_defects is None else np.ascontiguousarray(lane_defects),
        np.zeros((n, k)) if supply_defects is None else np.ascontiguousarray(supply_defects),
        scrap,
        rng,
    )
    return _result_from_sums(sums, horizon - warmup)


def _run_compiled(
    d: FloatArray,
    *,
    sup: IntArray,
    depth: IntArray,
    policy: PolicyArrays,
    lead: IntArray,
    start: FloatArray,
    backorders: bool,
    warmup: int,
) -> NetworkSimulationResult:
    _, k, horizon = d.shape
    order_nodes = np.argsort(-depth, kind="stable").astype(np.int64)
    child_idx = np.argsort(sup, kind="stable").astype(np.int64)
    child_idx = child_idx[sup[child_idx] >= 0]
    counts = np.bincount(sup[sup >= 0], minlength=k)
    child_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ages = FIFO_AGES if np.any(counts > 1) else 1
    sums = _network_kernel(
        np.ascontiguousarray(d),
        sup,
        order_nodes,
        child_ptr,
        child_idx,
        policy.codes.astype(np.int64),
        np.ascontiguousarray(policy.reorder_point),
        np.ascontiguousarray(policy.order_quantity),
        np.ascontiguousarray(policy.order_up_to),
        policy.review_period.astype(np.int64),
        lead,
        int(lead.max(initial=0)) + 2,
        np.ascontiguousarray(start),
        backorders,
        int(warmup),
        ages,
    )
    return _result_from_sums(sums, horizon - warmup)


def _result_from_sums(sums: FloatArray, measured: int) -> NetworkSimulationResult:
    with np.errstate(invalid="ignore", divide="ignore"):
        return NetworkSimulationResult(
            fill_rate=np.where(sums[_REQUESTS] > 0, sums[_MET] / sums[_REQUESTS], np.nan),
            customer_fill_rate=np.where(
                sums[_CUST_REQUESTS] > 0,
                sums[_CUST_MET] / sums[_CUST_REQUESTS],
                np.nan,
            ),
            cycle_service_level=np.where(
                sums[_CYCLES] > 0, sums[_GOOD_CYCLES] / sums[_CYCLES], np.nan
            ),
            ready_rate=sums[_READY] / measured,
            average_on_hand=sums[_ON_HAND] / measured,
            average_backorders=sums[_BACKORDERS] / measured,
            average_in_transit=sums[_IN_TRANSIT] / measured,
            average_lost_sales=sums[_LOST] / measured,
            average_shipped=sums[_SHIPPED] / measured,
            orders_placed=sums[_ORDERS].astype(np.int64),
        )


def _run(
    d: FloatArray,
    *,
    sup: IntArray,
    depth: IntArray,
    policy: PolicyArrays,
    lead: IntArray,
    start: FloatArray,
    backorders: bool,
    defects: FloatArray | None,
    warmup: int,
    rng: np.random.Generator,
) -> NetworkSimulationResult:
    n, k, horizon = d.shape
    size = int(lead.max()) + 2
    rows = np.arange(n)[:, None]
    levels = [np.nonzero(depth == lvl)[0] for lvl in range(int(depth.max()) + 1)]
    level_policy = [
        PolicyArrays(
            policy.codes[g],
            policy.reorder_point[:, g],
            policy.order_quantity[:, g],
            policy.order_up_to[:, g],
            policy.review_period[g],
        )
        for g in levels
    ]
    # children of the nodes in level l are the nodes in level l + 1
    children = [
        levels[i + 1] if i + 1 < len(levels) else np.empty(0, dtype=np.int64)
        for i in range(len(levels))
    ]

    # (children x K) one-hot matrices: values @ to_supplier[l] sums children onto suppliers
    to_supplier = [np.eye(k)[sup[c]] if c.size else np.zeros((0, k)) for c in children]
    pipeline = np.zeros((n, k, size))
    in_transit = np.zeros((n, k))
    on_hand = start.copy()
    customer_back = np.zeros((n, k))
    owed_to = np.zeros((n, k))  # owed to node k by its supplier
    owed_by = np.zeros((n, k))  # owed by node k to its downstream nodes
    # what each node is owed, by the age of the order (periods); the last bucket collects
    # all older dues. One bucket suffices when no supplier has two downstream nodes.
    ages = FIFO_AGES if np.any(np.bincount(sup[sup >= 0], minlength=k) > 1) else 1
    owed_age = np.zeros((n, k, ages))

    sums = {
        name: np.zeros((n, k))
        for name in (
            "requests",
            "met",
            "cust_requests",
            "cust_met",
            "on_hand",
            "backorders",
            "in_transit",
            "lost",
            "shipped",
        )
    }
    ready = np.zeros((n, k))
    orders_placed = np.zeros((n, k), dtype=np.int64)
    cycles = np.zeros((n, k))
    good_cycles = np.zeros((n, k))
    cycle_open = np.zeros((n, k), dtype=bool)
    cycle_short = np.zeros((n, k), dtype=bool)
    measured = 0

    for t in range(horizon):
        slot = t % size
        arriving = pipeline[:, :, slot].copy()
        pipeline[:, :, slot] = 0.0
        in_transit -= arriving
        on_hand += scrap_defects(arriving, defects, rng)
        received = arriving > _EPS
        counting = t >= warmup
        closing = received & cycle_open
        cycles += closing
        good_cycles += closing & ~cycle_short
        cycle_open = np.where(received, counting, cycle_open)
        cycle_short &= ~received

        requests = np.zeros((n, k))
        met = np.zeros((n, k))
        lost = np.zeros((n, k))
        shipped_in = np.zeros((n, k))
        new_order_of = np.zeros((n, k))
        if ages > 1:
            owed_age[:, :, -1] += owed_age[:, :, -2]
            owed_age[:, :, 1:-1] = owed_age[:, :, :-2].copy()
            owed_age[:, :, 0] = 0.0
        for lvl in range(len(levels) - 1, -1, -1):
            g = levels[lvl]
            avail = on_hand[:, g]
            # a. customers: backorders first, then the new demand
            back = np.minimum(customer_back[:, g], avail)
            avail = avail - back
            customer_back[:, g] -= back
            dt = d[:, g, t]
            served = np.minimum(dt, avail)
            avail = avail - served
            unmet = dt - served
            if backorders:
                customer_back[:, g] += unmet
            else:
                lost[:, g] = unmet
            requests[:, g] += dt
            met[:, g] += served
            if counting:
                sums["cust_requests"][:, g] += dt
                sums["cust_met"][:, g] += served
            # b. ship to downstream nodes
            c = children[lvl]
            if c.size:
                onehot = to_supplier[lvl]
                ship = np.zeros((n, c.size))
                new_met = np.zeros((n, k))
                # oldest dues first; dues of the same age are rationed in proportion
                for age in range(ages - 1, -1, -1):
                    owed_a = owed_age[:, c, age]
                    due_g = (owed_a @ onehot)[:, g]
                    with np.errstate(invalid="ignore", divide="ignore"):
                        ratio_g = np.where(due_g > 0, np.minimum(1.0, avail / due_g), 1.0)
                    ratio = np.ones((n, k))
                    ratio[:, g] = ratio_g
                    sent = owed_a * ratio[:, sup[c]]
                    owed_age[:, c, age] = owed_a - sent
                    ship += sent
                    avail = np.maximum(avail - due_g * ratio_g, 0.0)
                    if age == 0 and ages > 1:
                        new_met = sent @ onehot
                if ages == 1:  # one bucket: the new orders are the last in line
                    old_due = owed_to[:, c] - new_order_of[:, c]
                    new_met = np.clip(ship - old_due, 0.0, new_order_of[:, c]) @ onehot
                requested = new_order_of[:, c] @ onehot
                requests[:, g] += requested[:, g]
                met[:, g] += new_met[:, g]
                owed_to[:, c] -= ship
                shipped_in[:, c] = ship
                pipeline[rows, c[None, :], (t + lead[:, c, t] + 1) % size] += ship
                in_transit[:, c] += ship
                owed = (owed_to[:, c]) @ onehot
                owed_by[:, g] = owed[:, g]
            on_hand[:, g] = avail
            # c. review and order
            position = (
                on_hand[:, g]
                + in_transit[:, g]
                + owed_to[:, g]
                - customer_back[:, g]
                - owed_by[:, g]
            )
            order = level_policy[lvl].order(position, t)
            if counting:
                orders_placed[:, g] += order > _EPS
            if lvl == 0:  # fed by outside suppliers, which ship at once
                pipeline[rows, g[None, :], (t + lead[:, g, t] + 1) % size] += order
                in_transit[:, g] += order
                shipped_in[:, g] = order
            else:
                owed_to[:, g] += order
                owed_age[:, g, 0] += order
                new_order_of[:, g] = order
        cycle_short |= met < requests - _EPS
        if counting:
            measured += 1
            owed_now = customer_back + owed_by
            sums["requests"] += requests
            sums["met"] += met
            sums["on_hand"] += on_hand
            sums["backorders"] += owed_now
            sums["in_transit"] += in_transit
            sums["lost"] += lost
            sums["shipped"] += shipped_in
            ready += (owed_now <= _EPS) & (lost <= _EPS)

    with np.errstate(invalid="ignore", divide="ignore"):
        return NetworkSimulationResult(
            fill_rate=np.where(sums["requests"] > 0, sums["met"] / sums["requests"], np.nan),
            customer_fill_rate=np.where(
                sums["cust_requests"] > 0, sums["cust_met"] / sums["cust_requests"], np.nan
            ),
            cycle_service_level=np.where(cycles > 0, good_cycles / cycles, np.nan),
            ready_rate=ready / measured,
            average_on_hand=sums["on_hand"] / measured,
            average_backorders=sums["backorders"] / measured,
            average_in_transit=sums["in_transit"] / measured,
            average_lost_sales=sums["lost"] / measured,
            average_shipped=sums["shipped"] / measured,
            orders_placed=orders_placed,
        )
