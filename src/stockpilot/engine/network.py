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

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.core.network import Edge, Network, Node, NodeType
from stockpilot.core.network.decoupling import stock_roles
from stockpilot.core.network.gsm_batch import gsm_tree_batch
from stockpilot.core.network.gsm_milp import optimize_service_times
from stockpilot.core.network.gsm_tree import GSMMethod
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


def _prepared(item_locations: pl.DataFrame, locations: pl.DataFrame) -> pl.DataFrame:
    """Validated item-location rows with ``holding_cost`` and ``max_service_time``,
    sorted by item and location."""
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
    return frame.with_columns(
        pl.col("item_id").cast(pl.String), pl.col("location_id").cast(pl.String)
    ).sort("item_id", "location_id")


def _hierarchy(locations: pl.DataFrame) -> tuple[dict[str, str | None], dict[str, object]]:
    parent_of = dict(
        zip(locations["location_id"].to_list(), locations["parent"].to_list(), strict=True)
    )
    type_of = (
        dict(zip(locations["location_id"].to_list(), locations["type"].to_list(), strict=True))
        if "type" in locations.columns
        else {}
    )
    return parent_of, type_of


def _has_demand(rec: dict[str, object]) -> bool:
    return bool((rec["demand_sd"] or 0) > 0 or (rec["demand_mean"] or 0) > 0)  # type: ignore[operator]


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
    frame = _prepared(item_locations, locations)
    parent_of, type_of = _hierarchy(locations)
    items: list[str] = []
    networks: list[Network] = []
    for (item,), rows in frame.group_by("item_id", maintain_order=True):
        locs = rows["location_id"].to_list()
        present = set(locs)
        nodes: list[Node] = []
        edges: list[Edge] = []
        for rec in rows.iter_rows(named=True):
            loc = rec["location_id"]
            cap = rec["max_service_time"]
            if cap is None or (isinstance(cap, float) and math.isnan(cap)):
                cap = 0.0 if _has_demand(rec) else None
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


def _shape_network(
    locs: list[str], parent_of: dict[str, str | None], type_of: dict[str, object], z: float
) -> Network:
    """The stages and lanes shared by every item stocked at ``locs`` (numbers are 0)."""
    present = set(locs)
    nodes = tuple(Node(loc, node_type=_location_type(type_of.get(loc))) for loc in locs)
    edges = tuple(
        Edge(str(parent_of[loc]), loc)
        for loc in locs
        if parent_of.get(loc) is not None and parent_of[loc] in present
    )
    return Network(nodes=nodes, edges=edges, z=z, name="|".join(locs))


def _column(rows: pl.DataFrame, name: str, n: int) -> NDArray[np.float64]:
    return rows[name].cast(pl.Float64).fill_null(0.0).to_numpy().reshape(-1, n)


def _solve_shape(rows: pl.DataFrame, shape: Network) -> pl.DataFrame:
    """All items of one network shape by the batched tree DP (rows sorted by item and
    location, ``n`` rows per item)."""
    n = len(shape.nodes)
    mean = _column(rows, "demand_mean", n)
    sd = _column(rows, "demand_sd", n)
    given = rows["max_service_time"].cast(pl.Float64).fill_nan(None).to_numpy().reshape(-1, n)
    cap = np.where(np.isnan(given), np.where((mean > 0) | (sd > 0), 0.0, np.inf), given)
    sol = gsm_tree_batch(
        shape,
        processing_time=_column(rows, "lead_time", n),
        holding_cost=_column(rows, "holding_cost", n),
        demand_mean=mean,
        demand_sd=sd,
        external_outbound_cst=cap,
    )
    return rows.select("item_id", "location_id").with_columns(
        pl.Series("committed_service_time", sol.committed_service_time.reshape(-1)),
        pl.Series("inbound_service_time", sol.inbound_service_time.reshape(-1)),
        pl.Series("net_lead_time", sol.net_lead_time.reshape(-1)),
        pl.Series("safety_stock", sol.safety_stock.reshape(-1)),
        pl.Series("base_stock", sol.base_stock.reshape(-1)),
        pl.Series("stock_role", stock_roles(sol.net_lead_time.reshape(-1))),
        pl.lit(GSMMethod.TREE_DP.value).alias("gsm_method"),
    )


def _solve_each(
    rows: pl.DataFrame, locations: pl.DataFrame, z: float, time_limit: float
) -> pl.DataFrame:
    """Items one by one (networks that are not integer-time trees: MILP)."""
    built = build_item_networks(rows, locations, z=z)
    columns: dict[str, list[object]] = {name: [] for name in NETWORK_RESULT_SCHEMA}
    for item, net in zip(built.item_ids, built.networks, strict=True):
        sol = optimize_service_times(net, time_limit=time_limit)
        k = len(sol.node_ids)
        columns["item_id"].extend([item] * k)
        columns["location_id"].extend(sol.node_ids)
        columns["committed_service_time"].extend(sol.committed_service_time.tolist())
        columns["inbound_service_time"].extend(sol.inbound_service_time.tolist())
        columns["net_lead_time"].extend(sol.net_lead_time.tolist())
        columns["safety_stock"].extend(sol.safety_stock.tolist())
        columns["base_stock"].extend(sol.base_stock.tolist())
        columns["stock_role"].extend(stock_roles(sol.net_lead_time).tolist())
        columns["gsm_method"].extend([sol.method.value] * k)
    return pl.DataFrame(columns, schema=NETWORK_RESULT_SCHEMA)


def optimize_network_stock(
    item_locations: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    z: float = 1.645,
    time_limit: float = 60.0,
) -> pl.DataFrame:
    """Place safety stock across each item's network (guaranteed-service model).

    Items stocked at the same set of locations share their network's shape; each shape
    is solved for all its items at once by the batched tree DP
    (:func:`~stockpilot.core.network.gsm_batch.gsm_tree_batch`) when it is a tree with
    integer times, else item by item (MILP, ``time_limit`` seconds each).

    Returns one row per item-location with the columns of :data:`NETWORK_RESULT_SCHEMA`:
    committed (outbound) and inbound service times, net lead time, safety stock, base-stock
    level, the stock role (``decoupling`` or ``flow_through``) and the method used.
    """
    if not (isinstance(time_limit, int | float) and time_limit > 0):
        raise parameter_error("optimize_network_stock", "time_limit", "a number > 0", time_limit)
    frame = _prepared(item_locations, locations)
    for col in ("lead_time", "holding_cost", "demand_sd"):
        values = frame[col].cast(pl.Float64).fill_null(0.0)
        if (values < 0).any() or values.is_nan().any():
            bad = frame.filter((values < 0) | values.is_nan()).row(0, named=True)
            raise InvalidDataError(
                f"Item {bad['item_id']!r}: {col} must be a number >= 0 at "
                f"{bad['location_id']!r}; got {bad[col]!r}."
            )
    parent_of, type_of = _hierarchy(locations)
    shapes = frame.group_by("item_id", maintain_order=True).agg(
        pl.col("location_id").str.join("|").alias("_shape")
    )
    frame = frame.join(shapes, on="item_id", how="left", maintain_order="left")
    parts = [pl.DataFrame(schema=NETWORK_RESULT_SCHEMA)]
    for (key,), rows in frame.group_by("_shape", maintain_order=True):
        shape = _shape_network(str(key).split("|"), parent_of, type_of, z)
        lead = rows["lead_time"].cast(pl.Float64).fill_null(0.0)
        if shape.is_tree() and (lead == lead.round(0)).all():
            parts.append(_solve_shape(rows, shape))
        else:
            parts.append(_solve_each(rows.drop("_shape"), locations, z, time_limit))
    return pl.concat(parts).sort("item_id", "location_id")
