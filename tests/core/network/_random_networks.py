"""Random networks and a brute-force GSM reference shared by the network tests."""

from __future__ import annotations

import itertools

import numpy as np

from stockpilot.core.network import Edge, Network, Node
from stockpilot.core.network.network import NetworkArrays


def random_tree(
    rng: np.random.Generator, n: int, *, max_time: int = 3, lanes: bool = True
) -> Network:
    """A random spanning tree with lanes pointing either way and demand at the sinks."""
    edges: list[tuple[int, int]] = []
    for j in range(1, n):
        i = int(rng.integers(0, j))
        edges.append((i, j) if rng.random() < 0.7 else (j, i))
    outdeg = np.zeros(n, dtype=int)
    for u, _ in edges:
        outdeg[u] += 1
    nodes = []
    for k in range(n):
        sink = outdeg[k] == 0
        nodes.append(
            Node(
                f"n{k}",
                processing_time=int(rng.integers(0, max_time + 1)),
                holding_cost=float(rng.uniform(0.5, 3.0)),
                demand_mean=float(rng.uniform(5, 20)) if sink else 0.0,
                demand_sd=float(rng.uniform(1, 5)) if sink else 0.0,
                external_inbound_cst=int(rng.integers(0, 2)),
                external_outbound_cst=float(rng.integers(0, 3)) if sink else None,
            )
        )
    return Network(
        nodes=tuple(nodes),
        edges=tuple(
            Edge(f"n{u}", f"n{d}", lead_time=int(rng.integers(0, 2)) if lanes else 0)
            for u, d in edges
        ),
        z=1.645,
    )


def random_dag(rng: np.random.Generator, n: int, *, max_time: int = 2) -> Network:
    """A random acyclic network (lanes from lower to higher index) with shared suppliers."""
    edges: set[tuple[int, int]] = set()
    for j in range(1, n):
        for i in rng.choice(j, size=min(j, int(rng.integers(1, 3))), replace=False):
            edges.add((int(i), j))
    outdeg = np.zeros(n, dtype=int)
    for u, _ in edges:
        outdeg[u] += 1
    nodes = tuple(
        Node(
            f"n{k}",
            processing_time=int(rng.integers(0, max_time + 1)),
            holding_cost=float(rng.uniform(0.5, 3.0)),
            demand_sd=float(rng.uniform(1, 5)) if outdeg[k] == 0 else 0.0,
            external_outbound_cst=float(rng.integers(0, 2)) if outdeg[k] == 0 else None,
        )
        for k in range(n)
    )
    return Network(
        nodes=nodes, edges=tuple(Edge(f"n{u}", f"n{d}") for u, d in sorted(edges)), z=1.0
    )


def brute_force_cost(net: Network | NetworkArrays) -> float:
    """Minimum GSM cost over every integer vector of outbound service times."""
    arr = net.arrays() if isinstance(net, Network) else net
    horizon = int(
        arr.external_inbound_cst.max() + arr.processing_time.sum() + arr.edge_lead_time.sum()
    )
    ranges = [range(int(min(horizon, cap)) + 1) for cap in arr.external_outbound_cst.tolist()]
    s = np.asarray(list(itertools.product(*ranges)), dtype=np.float64)
    si = np.tile(arr.external_inbound_cst, (s.shape[0], 1))
    for e in range(arr.n_edges):
        u, d = arr.edge_upstream[e], arr.edge_downstream[e]
        si[:, d] = np.maximum(si[:, d], s[:, u] + arr.edge_lead_time[e])
    tau = si + arr.processing_time - s
    feasible = np.all(tau >= 0, axis=1)
    cost = (arr.holding_cost * arr.z * arr.net_demand_sd * np.sqrt(np.maximum(tau, 0))).sum(axis=1)
    return float(cost[feasible].min())


def times_scaled(net: Network, factor: float) -> Network:
    """Every time and cap multiplied by ``factor`` (the optimum follows by sqrt(factor))."""
    return Network(
        nodes=tuple(
            Node(
                nd.node_id,
                processing_time=nd.processing_time * factor,
                holding_cost=nd.holding_cost,
                demand_sd=nd.demand_sd,
                external_inbound_cst=nd.external_inbound_cst * factor,
                external_outbound_cst=None
                if nd.external_outbound_cst is None
                else nd.external_outbound_cst * factor,
            )
            for nd in net.nodes
        ),
        edges=tuple(
            Edge(e.upstream, e.downstream, lead_time=e.lead_time * factor) for e in net.edges
        ),
        z=net.z,
    )
