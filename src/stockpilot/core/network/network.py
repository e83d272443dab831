"""The multi-echelon network model shared by every network solver.

A :class:`Network` is a set of stages (:class:`Node`: suppliers, plants, distribution
centres, warehouses, stores) joined by lanes (:class:`Edge` from an upstream to a
downstream stage, with a bill-of-materials quantity and a transport lead time). External
demand may arrive at any node. The model is immutable and validated once, when it is
built: unknown nodes, duplicate ids or lanes, negative times, costs or quantities and
cycles are all reported together in one :class:`~stockpilot.errors.InvalidDataError`.

Solvers work on :meth:`Network.arrays`, an index-based view (one numpy array per
attribute, lanes as index pairs) that also carries the derived quantities of the
guaranteed-service model: net demand of every stage and a topological order.

Notation follows Graves and Willems (2000) and Snyder and Shen (2019, ch. 6): ``T_j``
processing time, ``h_j`` holding cost per unit per period, ``mu_j``/``sigma_j`` demand
mean and standard deviation per period, ``s_j`` the maximum outbound service time
promised to external customers, ``z`` the safety factor (demand bound constant).

The dict format (see docs/network.md) is the JSON exchange format; reading and writing
files belongs to the io and cli layers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from stockpilot.errors import InvalidDataError, choice_error, parameter_error

__all__ = [
    "DEFAULT_Z",
    "Edge",
    "Network",
    "NetworkArrays",
    "Node",
    "NodeType",
    "network_from_dict",
    "network_to_dict",
]

DEFAULT_Z = 1.645
"""Safety factor used when neither ``z`` nor ``service_level`` is given (95 % cycle service)."""


class NodeType(StrEnum):
    """Role of a stage in the supply chain (informative; solvers treat all alike)."""

    SUPPLIER = "supplier"
    PLANT = "plant"
    DC = "dc"
    WAREHOUSE = "warehouse"
    STORE = "store"
    STAGE = "stage"


@dataclass(frozen=True)
class Node:
    """One stage of the network.

    Parameters
    ----------
    node_id
        Unique key of the stage.
    processing_time
        ``T_j``: periods from the moment all inputs are available until the stage's
        output can serve its customers (production time, inspection, put-away).
    holding_cost
        ``h_j``: cost of holding one unit of the stage's output for one period.
    demand_mean, demand_sd
        External demand per period arriving at this stage (``mu_j``, ``sigma_j``).
    external_inbound_cst
        Service time guaranteed to this stage by an outside supplier (``SI`` lower bound).
    external_outbound_cst
        ``s_j``: maximum outbound service time the stage may quote (an SLA cap); ``None``
        means no cap.
    node_type
        Role of the stage, see :class:`NodeType`.
    z
        Stage-specific safety factor; ``None`` uses the network's ``z``.
    """

    node_id: str
    processing_time: float = 0.0
    holding_cost: float = 0.0
    demand_mean: float = 0.0
    demand_sd: float = 0.0
    external_inbound_cst: float = 0.0
    external_outbound_cst: float | None = None
    node_type: NodeType = NodeType.STAGE
    z: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.node_type, NodeType):
            try:
                object.__setattr__(self, "node_type", NodeType(self.node_type))
            except ValueError:
                raise choice_error(
                    f"Node {self.node_id!r}",
                    "node_type",
                    self.node_type,
                    [t.value for t in NodeType],
                ) from None


@dataclass(frozen=True)
class Edge:
    """A lane from ``upstream`` to ``downstream``.

    Parameters
    ----------
    upstream, downstream
        Node ids; material flows from ``upstream`` to ``downstream``.
    quantity
        Bill-of-materials quantity: units of ``upstream`` consumed per unit of
        ``downstream`` (1 for pure distribution).
    lead_time
        Transport time on the lane in periods, added to the upstream stage's outbound
        service time before the downstream stage can use the material.
    """

    upstream: str
    downstream: str
    quantity: float = 1.0
    lead_time: float = 0.0


@dataclass(frozen=True)
class NetworkArrays:
    """Index-based view of a :class:`Network` for the solvers.

    Node ``i`` is ``network.nodes[i]``; every per-node array has shape ``(n,)`` and every
    per-lane array shape ``(m,)``. ``external_outbound_cst`` holds ``inf`` where there is
    no cap. ``net_demand_mean``/``net_demand_sd`` are the demand each stage must cover:
    its own external demand plus, through the bill of materials, that of every downstream
    stage, with variances added (independent demands; Graves and Willems 2000, section 2):
    ``mu_i = mu_i^ext + sum_j q_ij mu_j`` and ``sigma_i^2 = (sigma_i^ext)^2 +
    sum_j q_ij^2 sigma_j^2``.
    """

    node_ids: tuple[str, ...]
    processing_time: NDArray[np.float64]
    holding_cost: NDArray[np.float64]
    demand_mean: NDArray[np.float64]
    demand_sd: NDArray[np.float64]
    external_inbound_cst: NDArray[np.float64]
    external_outbound_cst: NDArray[np.float64]
    z: NDArray[np.float64]
    edge_upstream: NDArray[np.int64]
    edge_downstream: NDArray[np.int64]
    edge_quantity: NDArray[np.float64]
    edge_lead_time: NDArray[np.float64]
    topological_order: NDArray[np.int64]
    net_demand_mean: NDArray[np.float64]
    net_demand_sd: NDArray[np.float64]
    is_tree: bool

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        return int(self.edge_upstream.shape[0])


def _is_finite_nonneg(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


@dataclass(frozen=True)
class Network:
    """A validated, immutable multi-echelon network.

    Parameters
    ----------
    nodes
        The stages; ids must be unique.
    edges
        The lanes; both ends must be known nodes, no self-loops, no duplicate lanes, and
        the directed graph must be acyclic.
    z
        Safety factor ``z`` (demand bound constant) of the guaranteed-service model:
        safety stock at stage ``j`` is ``z sigma_j sqrt(tau_j)`` for a net lead time
        ``tau_j`` (Graves and Willems 2000, eq. 3).
    name
        Free label.

    Raises
    ------
    InvalidDataError
        Listing every structural or value problem found.

    Examples
    --------
    >>> net = Network(
    ...     nodes=(Node("plant", processing_time=2, holding_cost=1.0),
    ...            Node("store", processing_time=1, holding_cost=2.0,
    ...                 demand_mean=10, demand_sd=3, external_outbound_cst=0)),
    ...     edges=(Edge("plant", "store"),),
    ... )
    >>> net.topological_order()
    ('plant', 'store')
    >>> float(net.arrays().net_demand_sd[0])
    3.0
    """

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()
    z: float = DEFAULT_Z
    name: str = ""
    _order: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "edges", tuple(self.edges))
        problems: list[str] = []
        if not (isinstance(self.z, int | float) and math.isfinite(self.z)):
            problems.append(f"z must be a finite number. Got {self.z!r}.")
        if not self.nodes:
            problems.append("the network has no nodes.")
        seen: set[str] = set()
        for node in self.nodes:
            nid = node.node_id
            if nid in seen:
                problems.append(f"node id {nid!r} appears more than once.")
            seen.add(nid)
            for attr in (
                "processing_time",
                "holding_cost",
                "demand_mean",
                "demand_sd",
                "external_inbound_cst",
            ):
                value = getattr(node, attr)
                if not _is_finite_nonneg(value):
                    problems.append(
                        f"node {nid!r}: {attr} must be a finite number >= 0. Got {value!r}."
                    )
            cap = node.external_outbound_cst
            if cap is not None and not _is_finite_nonneg(cap):
                problems.append(
                    f"node {nid!r}: external_outbound_cst must be None or a finite number"
                    f" >= 0. Got {cap!r}."
                )
            if node.z is not None and not (
                isinstance(node.z, int | float) and math.isfinite(node.z)
            ):
                problems.append(f"node {nid!r}: z must be None or finite. Got {node.z!r}.")
            if not isinstance(node.node_type, NodeType):
                problems.append(
                    f"node {nid!r}: node_type must be one of "
                    f"{', '.join(repr(t.value) for t in NodeType)}. Got {node.node_type!r}."
                )
        lanes: set[tuple[str, str]] = set()
        for edge in self.edges:
            where = f"edge [{edge.upstream!r}, {edge.downstream!r}]"
            for end in (edge.upstream, edge.downstream):
                if end not in seen:
                    problems.append(f"{where}: unknown node {end!r}; add it to 'nodes'.")
            if edge.upstream == edge.downstream:
                problems.append(f"{where}: a node cannot supply itself.")
            if (edge.upstream, edge.downstream) in lanes:
                problems.append(f"{where}: duplicate lane.")
            lanes.add((edge.upstream, edge.downstream))
            if not (_is_finite_nonneg(edge.quantity) and edge.quantity > 0):
                problems.append(f"{where}: quantity must be a number > 0. Got {edge.quantity!r}.")
            if not _is_finite_nonneg(edge.lead_time):
                problems.append(
                    f"{where}: lead_time must be a finite number >= 0. Got {edge.lead_time!r}."
                )
        if problems:
            raise _network_error(self.name, problems)
        order = _topological_sort(self)
        if order is None:
            raise _network_error(
                self.name,
                ["the lanes form a cycle; a supply network must be acyclic (remove a lane)."],
            )
        object.__setattr__(self, "_order", order)

    # --- structure -----------------------------------------------------------------
    @cached_property
    def index(self) -> Mapping[str, int]:
        """Position of each node id in :attr:`nodes`."""
        return {node.node_id: i for i, node in enumerate(self.nodes)}

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(node.node_id for node in self.nodes)

    def node(self, node_id: str) -> Node:
        """The node with id ``node_id``."""
        try:
            return self.nodes[self.index[node_id]]
        except KeyError:
            raise choice_error(
                f"network {self.name!r}", "node_id", node_id, self.node_ids
            ) from None

    def predecessors(self, node_id: str) -> tuple[str, ...]:
        """Ids of the stages that supply ``node_id``."""
        self.node(node_id)
        return tuple(e.upstream for e in self.edges if e.downstream == node_id)

    def successors(self, node_id: str) -> tuple[str, ...]:
        """Ids of the stages ``node_id`` supplies."""
        self.node(node_id)
        return tuple(e.downstream for e in self.edges if e.upstream == node_id)

    def topological_order(self) -> tuple[str, ...]:
        """Node ids, every stage after all of its suppliers."""
        return tuple(self.nodes[i].node_id for i in self._order)

    def is_tree(self) -> bool:
        """True when the undirected graph of lanes has no cycle (a spanning tree or forest).

        This is the class Graves and Willems (2000) solve by dynamic programming: lanes may
        point either way (assembly and distribution mixed), but no two undirected paths
        join the same pair of stages.
        """
        return _undirected_acyclic(len(self.nodes), self._edge_indices())

    def _edge_indices(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        idx = self.index
        up = np.fromiter((idx[e.upstream] for e in self.edges), np.int64, len(self.edges))
        down = np.fromiter((idx[e.downstream] for e in self.edges), np.int64, len(self.edges))
        return up, down

    def arrays(self) -> NetworkArrays:
        """The index-based view used by the solvers (computed once, then cached)."""
        return self._arrays

    @cached_property
    def _arrays(self) -> NetworkArrays:
        nodes = self.nodes
        n = len(nodes)

        def col(attr: str) -> NDArray[np.float64]:
            return np.fromiter((float(getattr(x, attr)) for x in nodes), np.float64, n)

        up, down = self._edge_indices()
        qty = np.fromiter((float(e.quantity) for e in self.edges), np.float64, len(self.edges))
        lane = np.fromiter((float(e.lead_time) for e in self.edges), np.float64, len(self.edges))
        cap = np.fromiter(
            (
                math.inf if x.external_outbound_cst is None else x.external_outbound_cst
                for x in nodes
            ),
            np.float64,
            n,
        )
        zs = np.fromiter((self.z if x.z is None else x.z for x in nodes), np.float64, n)
        order = np.asarray(self._order, dtype=np.int64)
        mean = col("demand_mean")
        sd = col("demand_sd")
        net_mean = mean.copy()
        net_var = sd**2
        # Visit stages downstream-first; every lane feeds the upstream stage.
        by_down = np.argsort(down, kind="stable")
        starts = np.searchsorted(down[by_down], np.arange(n + 1))
        for j in order[::-1]:
            lanes = by_down[starts[j] : starts[j + 1]]
            if lanes.size:
                np.add.at(net_mean, up[lanes], qty[lanes] * net_mean[j])
                np.add.at(net_var, up[lanes], qty[lanes] ** 2 * net_var[j])
        for arr in (net_mean, net_var):
            arr.setflags(write=False)
        return NetworkArrays(
            node_ids=self.node_ids,
            processing_time=col("processing_time"),
            holding_cost=col("holding_cost"),
            demand_mean=mean,
            demand_sd=sd,
            external_inbound_cst=col("external_inbound_cst"),
            external_outbound_cst=cap,
            z=zs,
            edge_upstream=up,
            edge_downstream=down,
            edge_quantity=qty,
            edge_lead_time=lane,
            topological_order=order,
            net_demand_mean=net_mean,
            net_demand_sd=np.sqrt(net_var),
            is_tree=self.is_tree(),
        )

    # --- exchange format -----------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Network:
        """Build from the documented JSON structure; see :func:`network_from_dict`."""
        return network_from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON structure; see :func:`network_to_dict`."""
        return network_to_dict(self)


def _network_error(name: str, problems: Sequence[str]) -> InvalidDataError:
    label = f"Network {name!r}" if name else "The network"
    body = "\n".join(f"  - {p}" for p in problems)
    return InvalidDataError(f"{label} is invalid ({len(problems)} problem(s)):\n{body}")


def _topological_sort(net: Network) -> tuple[int, ...] | None:
    n = len(net.nodes)
    idx = {node.node_id: i for i, node in enumerate(net.nodes)}
    indeg = [0] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    for e in net.edges:
        u, d = idx[e.upstream], idx[e.downstream]
        succ[u].append(d)
        indeg[d] += 1
    stack = [i for i in range(n - 1, -1, -1) if indeg[i] == 0]
    order: list[int] = []
    while stack:
        i = stack.pop()
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                stack.append(j)
    return tuple(order) if len(order) == n else None


def _undirected_acyclic(n: int, edges: tuple[NDArray[np.int64], NDArray[np.int64]]) -> bool:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for u, d in zip(edges[0].tolist(), edges[1].tolist(), strict=True):
        ru, rd = find(u), find(d)
        if ru == rd:
            return False
        parent[ru] = rd
    return True


# --- dict <-> model ---------------------------------------------------------------------
NODE_FIELDS = (
    "processing_time",
    "holding_cost",
    "demand_mean",
    "demand_sd",
    "external_inbound_cst",
    "external_outbound_cst",
)


def network_from_dict(data: Mapping[str, Any]) -> Network:
    """Build a :class:`Network` from the JSON structure documented in docs/network.md.

    ``{"name": ..., "z": 1.645 | "service_level": 0.95, "nodes": [{"id": "A", "type":
    "plant", "processing_time": 2, "holding_cost": 1.0, "demand_mean": 0, "demand_sd": 0,
    "external_inbound_cst": 0, "external_outbound_cst": null, "z": null}, ...], "edges":
    [["A", "B"], {"upstream": "A", "downstream": "C", "quantity": 2, "lead_time": 1}]}``.
    An edge is ``[upstream, downstream]``, ``[upstream, downstream, quantity]`` or an
    object. ``service_level`` is the cycle service level ``alpha``; ``z = Phi^-1(alpha)``.

    Raises
    ------
    InvalidDataError
        For a malformed structure (all problems listed) or an invalid network.
    """
    owner = "network_from_dict"
    if not isinstance(data, Mapping):
        raise parameter_error(owner, "data", "a mapping with 'nodes' and 'edges'", type(data))
    problems: list[str] = []
    z = DEFAULT_Z
    if "z" in data and "service_level" in data:
        problems.append("give either 'z' or 'service_level', not both.")
    if "z" in data:
        z = data["z"]
        if not isinstance(z, int | float) or isinstance(z, bool):
            problems.append(f"'z' must be a number. Got {z!r}.")
            z = DEFAULT_Z
    elif "service_level" in data:
        alpha = data["service_level"]
        if not (isinstance(alpha, int | float) and 0 < alpha < 1):
            problems.append(f"'service_level' must be a number in (0, 1). Got {alpha!r}.")
        else:
            z = float(norm.ppf(alpha))
    raw_nodes = data.get("nodes")
    nodes: list[Node] = []
    if not isinstance(raw_nodes, Sequence) or isinstance(raw_nodes, str):
        problems.append(f"'nodes' must be a list of objects. Got {raw_nodes!r}.")
        raw_nodes = []
    for k, raw in enumerate(raw_nodes):
        if not isinstance(raw, Mapping) or "id" not in raw:
            problems.append(f"nodes[{k}] must be an object with an 'id'. Got {raw!r}.")
            continue
        unknown = set(raw) - {"id", "type", "z", *NODE_FIELDS}
        if unknown:
            problems.append(
                f"nodes[{k}] ({raw['id']!r}) has unknown field(s) {sorted(unknown)}; valid: "
                f"{['id', 'type', 'z', *NODE_FIELDS]}."
            )
        kwargs: dict[str, Any] = {}
        for fld in NODE_FIELDS:
            if fld in raw and raw[fld] is not None:
                value = raw[fld]
                if not isinstance(value, int | float) or isinstance(value, bool):
                    problems.append(f"nodes[{k}] ({raw['id']!r}): {fld} must be a number.")
                    continue
                kwargs[fld] = value
        try:
            node_type = NodeType(raw.get("type", NodeType.STAGE.value))
        except ValueError:
            problems.append(
                f"nodes[{k}] ({raw['id']!r}): type must be one of "
                f"{', '.join(repr(t.value) for t in NodeType)}. Got {raw.get('type')!r}."
            )
            node_type = NodeType.STAGE
        nodes.append(Node(str(raw["id"]), node_type=node_type, z=raw.get("z"), **kwargs))
    raw_edges = data.get("edges", [])
    edges: list[Edge] = []
    if not isinstance(raw_edges, Sequence) or isinstance(raw_edges, str):
        problems.append(f"'edges' must be a list. Got {raw_edges!r}.")
        raw_edges = []
    for k, raw in enumerate(raw_edges):
        if isinstance(raw, Mapping):
            if "upstream" not in raw or "downstream" not in raw:
                problems.append(f"edges[{k}] needs 'upstream' and 'downstream'. Got {raw!r}.")
                continue
            edges.append(
                Edge(
                    str(raw["upstream"]),
                    str(raw["downstream"]),
                    quantity=raw.get("quantity", 1.0),
                    lead_time=raw.get("lead_time", 0.0),
                )
            )
        elif isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) in (2, 3):
            qty = raw[2] if len(raw) == 3 else 1.0
            edges.append(Edge(str(raw[0]), str(raw[1]), quantity=qty))
        else:
            problems.append(
                f"edges[{k}] must be [upstream, downstream], [upstream, downstream, quantity]"
                f" or an object. Got {raw!r}."
            )
    name = str(data.get("name", ""))
    if problems:
        raise _network_error(name, problems)
    return Network(nodes=tuple(nodes), edges=tuple(edges), z=float(z), name=name)


def network_to_dict(network: Network) -> dict[str, Any]:
    """The JSON structure read by :func:`network_from_dict` (round-trips exactly)."""
    nodes: list[dict[str, Any]] = []
    for node in network.nodes:
        item: dict[str, Any] = {"id": node.node_id, "type": node.node_type.value}
        for fld in NODE_FIELDS:
            item[fld] = getattr(node, fld)
        if node.z is not None:
            item["z"] = node.z
        nodes.append(item)
    edges: list[Any] = []
    for e in network.edges:
        if e.lead_time == 0:
            edges.append(
                [e.upstream, e.downstream]
                if e.quantity == 1
                else [e.upstream, e.downstream, e.quantity]
            )
        else:
            edges.append(
                {
                    "upstream": e.upstream,
                    "downstream": e.downstream,
                    "quantity": e.quantity,
                    "lead_time": e.lead_time,
                }
            )
    return {"name": network.name, "z": network.z, "nodes": nodes, "edges": edges}
