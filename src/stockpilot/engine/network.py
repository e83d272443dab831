"""The network step of a planning run: item-location frames <-> multi-echelon networks.

For every item, the locations that stock it and their ``parent`` links (from the canonical
``locations`` table) form one supply network: a lane from a parent location to a child
location. Each item-location row supplies the node data of the guaranteed-service model:
its replenishment ``lead_time`` (planning buckets) becomes the node's processing time,
``demand_mean``/``demand_sd`` per bucket its external demand, ``holding_cost`` per unit and
bucket its cost, and ``max_service_time`` (optional, default 0 where there is external
demand) its promise to customers. :func:`optimize_network_stock` solves every item's
network (tree DP where possible, MILP otherwise) and returns one row per item-location.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from stockpilot.core.network import Edge, Network, Node, NodeType
from stockpilot.core.network.decoupling import decoupling_points
from stockpilot.core.network.gsm_milp import optimize_service_times
from stockpilot.errors import InvalidDataError, parameter_error

__all__ = [
    "NETWORK_RESULT_SCHEMA",
    "ItemNetworks",
    "build_item_networks",
    "optimize_network_stock",
]

REQUIRED_POLICY_COLUMNS = ("item_id", "location_id", "lead_time", "demand_mean", "demand_sd")

NETWORK_RESULT_SCHEMA: dict[str, type[pl.DataType]] = {
    "item_id": pl.String,
    "location_id": pl.String,
    "committed_service_time": pl.Float64,
    "inbound_service_time": pl.Float64,
    "net_lead_time": pl.Float64,
    "safety_stock": pl.Float64,
    "base_stock": pl.Float64,
    "stock_role": pl.String,
    "gsm_method": pl.String,
}


@dataclass(frozen=True)
class ItemNetworks:
    """One :class:`Network` per item, in ``item_ids`` order (node id = location id)."""

    item_ids: tuple[str, ...]
    networks: tuple[Network, ...]


def _location_type(value: object) -> NodeType:
    try:
        return NodeType(str(value))
    except ValueError:
        return NodeType.STAGE


def build_item_networks(
    item_locations: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    z: float = 1.645,
) -> ItemNetworks:
    """Build each item's network from item-location rows and location parents.

    Parameters
    ----------
    item_locations
        Columns ``item_id``, ``location_id``, ``lead_time`` (buckets from the parent, or
        from the supplier at a root), ``demand_mean``, ``demand_sd`` (per bucket) and
        either ``holding_cost`` (per unit and bucket) or ``unit_cost`` with the
        ``holding_rate`` column; optional ``max_service_time``.
    locations
        Canonical locations: ``location_id`` and ``parent`` (null at the top); optional
        ``type``.
    z
        Safety factor of the guaranteed-service model.

    Raises
    ------
    InvalidDataError
        Listing missing columns, duplicate item-locations and negative values together.
    """
    problems: list[str] = []
    missing = [c for c in REQUIRED_POLICY_COLUMNS if c not in item_locations.columns]
    if missing:
        problems.append(f"item_locations lacks column(s) {missing}.")
    has_cost = "holding_cost" in item_locations.columns or {
        "unit_cost",
        "holding_rate",
    } <= set(item_locations.columns)
    if not has_cost:
        problems.append(
            "item_locations needs 'holding_cost' or both 'unit_cost' and 'holding_rate'."
        )
    for col in ("location_id", "parent"):
        if col not in locations.columns:
            problems.append(f"locations lacks column {col!r}.")
    if problems:
        raise InvalidDataError(
            "Cannot build item networks:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    frame = item_locations
    if "holding_cost" not in frame.columns:
        frame = frame.with_columns(holding_cost=pl.col("unit_cost") * pl.col("holding_rate"))
    if "max_service_time" not in frame.columns:
        frame = frame.with_columns(max_service_time=pl.lit(None, dtype=pl.Float64))
    dupes = frame.group_by("item_id", "location_id").len().filter(pl.col("len") > 1)
    if dupes.height:
        raise InvalidDataError(
            f"item_locations has {dupes.height} duplicate (item_id, location_id) pair(s), "
            f"e.g. {dupes.row(0)[:2]}; keep one row per item-location."
        )
    parent_of = dict(
        zip(locations["location_id"].to_list(), locations["parent"].to_list(), strict=True)
    )
    type_of = (
        dict(zip(locations["location_id"].to_list(), locations["type"].to_list(), strict=True))
        if "type" in locations.columns
        else {}
    )
    items: list[str] = []
    networks: list[Network] = []
    for (item,), rows in frame.sort("item_id", "location_id").group_by(
        "item_id", maintain_order=True
    ):
        locs = rows["location_id"].to_list()
        present = set(locs)
        nodes: list[Node] = []
        edges: list[Edge] = []
        for rec in rows.iter_rows(named=True):
            loc = rec["location_id"]
            has_demand = (rec["demand_sd"] or 0) > 0 or (rec["demand_mean"] or 0) > 0
            cap = rec["max_service_time"]
            if cap is None or (isinstance(cap, float) and math.isnan(cap)):
                cap = 0.0 if has_demand else None
            nodes.append(
                Node(
                    loc,
                    processing_time=float(rec["lead_time"]),
                    holding_cost=float(rec["holding_cost"]),
                    demand_mean=float(rec["demand_mean"] or 0.0),
                    demand_sd=float(rec["demand_sd"] or 0.0),
                    external_outbound_cst=cap,
                    node_type=_location_type(type_of.get(loc)),
                )
            )
            parent = parent_of.get(loc)
            if parent is not None and parent in present:
                edges.append(Edge(parent, loc))
        try:
            networks.append(Network(nodes=tuple(nodes), edges=tuple(edges), z=z, name=str(item)))
        except InvalidDataError as exc:
            raise InvalidDataError(f"Item {item!r}: {exc}") from exc
        items.append(str(item))
    return ItemNetworks(item_ids=tuple(items), networks=tuple(networks))


def optimize_network_stock(
    item_locations: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    z: float = 1.645,
    time_limit: float = 60.0,
) -> pl.DataFrame:
    """Place safety stock across each item's network (guaranteed-service model).

    Returns one row per item-location with the columns of :data:`NETWORK_RESULT_SCHEMA`:
    committed (outbound) and inbound service times, net lead time, safety stock, base-stock
    level, the stock role (``decoupling`` or ``flow_through``) and the method used.
    """
    if not (isinstance(time_limit, int | float) and time_limit > 0):
        raise parameter_error("optimize_network_stock", "time_limit", "a number > 0", time_limit)
    built = build_item_networks(item_locations, locations, z=z)
    columns: dict[str, list[object]] = {name: [] for name in NETWORK_RESULT_SCHEMA}
    for item, net in zip(built.item_ids, built.networks, strict=True):
        if net.is_tree() and _integral(net):
            sol = optimize_service_times(net)
        else:
            sol = optimize_service_times(net, time_limit=time_limit)
        points = decoupling_points(sol)
        k = len(sol.node_ids)
        columns["item_id"].extend([item] * k)
        columns["location_id"].extend(sol.node_ids)
        columns["committed_service_time"].extend(sol.committed_service_time.tolist())
        columns["inbound_service_time"].extend(sol.inbound_service_time.tolist())
        columns["net_lead_time"].extend(sol.net_lead_time.tolist())
        columns["safety_stock"].extend(sol.safety_stock.tolist())
        columns["base_stock"].extend(sol.base_stock.tolist())
        columns["stock_role"].extend(r.value for r in points.role)
        columns["gsm_method"].extend([sol.method.value] * k)
    return pl.DataFrame(columns, schema=NETWORK_RESULT_SCHEMA)


def _integral(net: Network) -> bool:
    arr = net.arrays()
    return bool(
        (arr.processing_time == arr.processing_time.round()).all()
        and (arr.edge_lead_time == arr.edge_lead_time.round()).all()
        and (arr.external_inbound_cst == arr.external_inbound_cst.round()).all()
    )
