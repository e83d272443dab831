"""The network step of a planning run: item-location frames <-> multi-echelon networks.

For every item, the locations that stock it and their ``parent`` links (from the canonical
``locations`` table) form one supply network: a lane from a parent location to a child
location. Each item-location row supplies the node data of the guaranteed-service model:
its replenishment ``lead_time`` (planning buckets) becomes the node's processing time,
``demand_mean``/``demand_sd`` per bucket its external demand, ``holding_cost`` per unit and
bucket its cost, and ``max_service_time`` (optional, default 0 where there is external
demand) its promise to customers. :func:`optimize_network_stock` solves every item's
network (tree DP where possible, MILP otherwise) and returns one row per item-location.

Items linked by a bill of materials (the canonical ``bill_of_materials`` rows) are planned
together as one *product family*: one network whose stages are the family's
item-locations, where each component's stage at the assembly location feeds the parent
item's stage there over a lane carrying the BOM quantity (Graves and Willems 2000,
section 2: ``mu_i = mu_i^ext + sum_j q_ij mu_j``). Demand of a component that comes
through the bill of materials is derived by :class:`~stockpilot.core.network.Network`, so
safety stock is placed across components and assemblies at once. Items in no bill of
materials keep their per-item networks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.core.network import Edge, Network, Node, NodeType
from stockpilot.core.network.decoupling import stock_roles
from stockpilot.core.network.gsm_batch import gsm_tree_batch
from stockpilot.core.network.gsm_milp import gsm_milp, optimize_service_times
from stockpilot.core.network.gsm_tree import GSMMethod, GSMSolution, gsm_tree
from stockpilot.errors import InvalidDataError, parameter_error

__all__ = [
    "BOM_COLUMNS",
    "NETWORK_INPUT_SCHEMA",
    "NETWORK_RESULT_SCHEMA",
    "FamilyNetwork",
    "ItemNetworks",
    "SupplyNetworks",
    "build_family_networks",
    "build_item_networks",
    "build_supply_networks",
    "network_inputs",
    "optimize_network_stock",
    "resolve_bom",
    "stage_id",
    "supply_networks_from_inputs",
]

REQUIRED_POLICY_COLUMNS = ("item_id", "location_id", "lead_time", "demand_mean", "demand_sd")
BOM_COLUMNS = ("parent_item_id", "component_item_id", "quantity_per")
"""Required columns of the bill of materials; ``location_id`` (assembly location, null:
the top of the parent item's network) and ``assembly_lead_time`` (buckets, null: the
parent stage's ``lead_time``) are optional."""

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


NETWORK_INPUT_SCHEMA: dict[str, type[pl.DataType]] = {
    "item_id": pl.String,
    "location_id": pl.String,
    "location_type": pl.String,
    "supplied_from": pl.String,
    "processing_time": pl.Float64,
    "holding_cost": pl.Float64,
    "demand_mean": pl.Float64,
    "demand_sd": pl.Float64,
    "max_service_time": pl.Float64,
    "family_id": pl.String,
    "bom_components": pl.String,
}
"""Per item-location, the node data and inbound lanes of its network (see
:func:`network_inputs`): ``supplied_from`` is the location whose stage of the same item
replenishes it; ``bom_components`` (JSON) lists the components assembled into it there,
``[{"component_item_id": ..., "quantity_per": ...}]``."""


@dataclass(frozen=True)
class ItemNetworks:
    """One :class:`Network` per item, in ``item_ids`` order (node id = location id)."""

    item_ids: tuple[str, ...]
    networks: tuple[Network, ...]


@dataclass(frozen=True)
class FamilyNetwork:
    """The network of one product family: items linked by bills of material.

    Node ``k`` of ``network`` is the stage of item ``stage_items[k]`` at location
    ``stage_locations[k]``; its id is :func:`stage_id` of the two. ``item_ids`` are the
    family's items in sorted order; ``network.name`` is ``family_id``.
    """

    family_id: str
    item_ids: tuple[str, ...]
    network: Network
    stage_items: tuple[str, ...]
    stage_locations: tuple[str, ...]


@dataclass(frozen=True)
class SupplyNetworks:
    """Every network of a planning data set: per-item networks of the items outside any
    bill of materials, and one network per product family."""

    items: ItemNetworks
    families: tuple[FamilyNetwork, ...]


def stage_id(item_id: str, location_id: str) -> str:
    """Node id of an item's stage at a location in a family network: ``item@location``."""
    return f"{item_id}@{location_id}"


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


def _node(
    rec: Mapping[str, object],
    node_id: str,
    type_of: Mapping[str, object],
    processing_time: float | None = None,
) -> Node:
    """The GSM stage of one item-location row."""
    cap = rec["max_service_time"]
    if cap is None or (isinstance(cap, float) and math.isnan(cap)):
        cap = 0.0 if _has_demand(dict(rec)) else None
    loc = rec["location_id"]
    return Node(
        node_id,
        processing_time=float(rec["lead_time"])  # type: ignore[arg-type]
        if processing_time is None
        else processing_time,
        holding_cost=float(rec["holding_cost"]),  # type: ignore[arg-type]
        demand_mean=float(rec["demand_mean"] or 0.0),  # type: ignore[arg-type]
        demand_sd=float(rec["demand_sd"] or 0.0),  # type: ignore[arg-type]
        external_outbound_cst=cap,  # type: ignore[arg-type]
        node_type=_location_type(type_of.get(str(loc))),
    )


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
            nodes.append(_node(rec, loc, type_of))
            parent = parent_of.get(loc)
            if parent is not None and parent in present:
                edges.append(Edge(parent, loc))
        try:
            networks.append(Network(nodes=tuple(nodes), edges=tuple(edges), z=z, name=str(item)))
        except InvalidDataError as exc:
            raise InvalidDataError(f"Item {item!r}: {exc}") from exc
        items.append(str(item))
    return ItemNetworks(item_ids=tuple(items), networks=tuple(networks))


def _bom_frame(bom: pl.DataFrame) -> pl.DataFrame:
    """The BOM rows with every optional column, typed, and a 1-based ``_bom_row``."""
    missing = [c for c in BOM_COLUMNS if c not in bom.columns]
    if missing:
        raise InvalidDataError(
            f"bill_of_materials lacks column(s) {missing}; it has {bom.columns}. Give "
            f"{list(BOM_COLUMNS)} (optional: location_id, assembly_lead_time)."
        )
    frame = bom
    for col, dtype in (("location_id", pl.String), ("assembly_lead_time", pl.Float64)):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(col))
    return frame.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_bom_row"),
        pl.col("parent_item_id").cast(pl.String),
        pl.col("component_item_id").cast(pl.String),
        pl.col("quantity_per").cast(pl.Float64),
        pl.col("location_id").cast(pl.String),
        pl.col("assembly_lead_time").cast(pl.Float64),
    )


def _roots(frame: pl.DataFrame, parent_of: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Per item, its top stages: locations whose parent does not stock the item."""
    held: dict[str, set[str]] = {}
    for item, loc in frame.select("item_id", "location_id").iter_rows():
        held.setdefault(item, set()).add(loc)
    return {
        item: sorted(loc for loc in locs if parent_of.get(loc) not in locs)
        for item, locs in held.items()
    }


def resolve_bom(
    bom: pl.DataFrame, item_locations: pl.DataFrame, locations: pl.DataFrame
) -> pl.DataFrame:
    """Check the bill of materials against the item-locations and fix each assembly location.

    A row without ``location_id`` assembles at every top stage of the parent item's
    network (a stocking location whose parent location does not stock the item).

    Parameters
    ----------
    bom
        ``parent_item_id``, ``component_item_id``, ``quantity_per`` (component units per
        parent unit, > 0); optional ``location_id`` and ``assembly_lead_time`` (buckets).
    item_locations, locations
        As for :func:`build_item_networks`.

    Returns
    -------
    polars.DataFrame
        ``parent_item_id, component_item_id, quantity_per, location_id,
        assembly_lead_time`` with every location filled in, one row per lane.

    Raises
    ------
    InvalidDataError
        Listing together every row whose quantity is not > 0, that names its parent as
        its own component, whose parent or component has no item-location at the
        assembly location, or that repeats a lane (same parent, component, location).
    """
    frame = _prepared(item_locations, locations)
    parent_of, _ = _hierarchy(locations)
    rows = _bom_frame(bom)
    roots = _roots(frame, parent_of)
    stocked = set(frame.select("item_id", "location_id").iter_rows())
    problems: list[str] = []
    out: list[tuple[str, str, float, str, float | None]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row, parent, component, qty, loc, assembly in rows.iter_rows():
        where = f"bill_of_materials row {row} ({parent} <- {component})"
        if qty is None or not math.isfinite(qty) or qty <= 0:
            problems.append(f"{where}: quantity_per must be a number > 0. Got {qty!r}.")
            continue
        if parent == component:
            problems.append(f"{where}: an item cannot be its own component.")
            continue
        if assembly is not None and not (math.isfinite(assembly) and assembly >= 0):
            problems.append(f"{where}: assembly_lead_time must be >= 0. Got {assembly!r}.")
            continue
        places = [loc] if loc is not None else roots.get(parent, [])
        if not places:
            problems.append(
                f"{where}: item {parent!r} has no item-location, so there is nowhere to "
                "assemble it; add its item-location rows or give location_id."
            )
        for place in places:
            for item, role in ((parent, "parent"), (component, "component")):
                if (item, place) not in stocked:
                    problems.append(
                        f"{where}: the {role} item {item!r} has no item-location at the "
                        f"assembly location {place!r}; add that row (its stock at the "
                        "assembly location)."
                    )
            lane = (parent, component, place)
            if lane in seen:
                problems.append(
                    f"{where}: repeats the lane of row {seen[lane]} at {place!r}; keep one row "
                    "per parent, component and assembly location."
                )
                continue
            seen[lane] = row
            out.append((parent, component, qty, place, assembly))
    if problems:
        raise InvalidDataError(
            f"Cannot use the bill of materials ({len(problems)} problem(s)):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return pl.DataFrame(
        out,
        schema={
            "parent_item_id": pl.String,
            "component_item_id": pl.String,
            "quantity_per": pl.Float64,
            "location_id": pl.String,
            "assembly_lead_time": pl.Float64,
        },
        orient="row",
    )


def _families(resolved: pl.DataFrame) -> dict[str, str]:
    """Family id of every item in a BOM: its component of the item graph, named after
    the family's first top-level item (a parent that is no one's component)."""
    link: dict[str, str] = {}

    def find(item: str) -> str:
        link.setdefault(item, item)
        while link[item] != item:
            link[item] = link[link[item]]
            item = link[item]
        return item

    parents = resolved["parent_item_id"].to_list()
    components = resolved["component_item_id"].to_list()
    for parent, component in zip(parents, components, strict=True):
        a, b = find(parent), find(component)
        if a != b:
            link[max(a, b)] = min(a, b)
    used = set(components)
    members: dict[str, list[str]] = {}
    for item in list(link):
        members.setdefault(find(item), []).append(item)
    family_of: dict[str, str] = {}
    for items in members.values():
        tops = sorted(i for i in items if i not in used) or sorted(items)
        for item in items:
            family_of[item] = f"family:{tops[0]}"
    return family_of


def build_family_networks(
    item_locations: pl.DataFrame,
    locations: pl.DataFrame,
    bom: pl.DataFrame,
    *,
    z: float = 1.645,
) -> tuple[FamilyNetwork, ...]:
    """One network per product family (items linked by bills of material).

    The stages are the family's item-locations; within an item, lanes follow the location
    parents as in :func:`build_item_networks`; each BOM row adds a lane from the
    component's stage to the parent's stage at the assembly location with the row's
    ``quantity_per`` (``q_ij``), so the component's net demand includes
    ``q_ij`` times the parent's (Graves and Willems 2000, section 2). A row's
    ``assembly_lead_time`` (buckets) replaces the processing time ``T_j`` of the parent's
    stage at the assembly location (the largest when several rows give one).

    Parameters
    ----------
    item_locations, locations, z
        As for :func:`build_item_networks`; every stage a BOM row names must have a row.
    bom
        See :func:`resolve_bom`.

    Returns
    -------
    tuple of FamilyNetwork
        Sorted by family id; items in no BOM row belong to no family.

    Raises
    ------
    InvalidDataError
        For bad item-location or BOM rows (see :func:`resolve_bom`), or a family whose
        lanes form a cycle.
    """
    frame = _prepared(item_locations, locations)
    resolved = resolve_bom(bom, frame, locations)
    return _family_networks(frame, resolved, locations, z)


def _family_networks(
    frame: pl.DataFrame, resolved: pl.DataFrame, locations: pl.DataFrame, z: float
) -> tuple[FamilyNetwork, ...]:
    parent_of, type_of = _hierarchy(locations)
    family_of = _families(resolved)
    assembly: dict[tuple[str, str], float] = {}
    for parent, loc, time in resolved.select(
        "parent_item_id", "location_id", "assembly_lead_time"
    ).iter_rows():
        if time is not None:
            key = (parent, loc)
            assembly[key] = max(time, assembly.get(key, 0.0))
    members = frame.filter(pl.col("item_id").is_in(list(family_of))).with_columns(
        pl.col("item_id").replace_strict(family_of, return_dtype=pl.String).alias("_family")
    )
    lanes: dict[str, list[Edge]] = {}
    for parent, component, qty, loc in resolved.select(
        "parent_item_id", "component_item_id", "quantity_per", "location_id"
    ).iter_rows():
        lanes.setdefault(family_of[parent], []).append(
            Edge(stage_id(component, loc), stage_id(parent, loc), quantity=qty)
        )
    out: list[FamilyNetwork] = []
    for (family,), rows in members.sort("_family", "item_id", "location_id").group_by(
        "_family", maintain_order=True
    ):
        nodes: list[Node] = []
        edges: list[Edge] = []
        held = set(rows.select("item_id", "location_id").iter_rows())
        items: list[str] = []
        locs: list[str] = []
        for rec in rows.iter_rows(named=True):
            item, loc = rec["item_id"], rec["location_id"]
            nodes.append(_node(rec, stage_id(item, loc), type_of, assembly.get((item, loc))))
            items.append(item)
            locs.append(loc)
            up = parent_of.get(loc)
            if up is not None and (item, up) in held:
                edges.append(Edge(stage_id(item, up), stage_id(item, loc)))
        edges.extend(lanes.get(str(family), []))
        try:
            net = Network(nodes=tuple(nodes), edges=tuple(edges), z=z, name=str(family))
        except InvalidDataError as exc:
            raise InvalidDataError(f"Product family {family!r}: {exc}") from exc
        out.append(
            FamilyNetwork(
                family_id=str(family),
                item_ids=tuple(sorted(set(items))),
                network=net,
                stage_items=tuple(items),
                stage_locations=tuple(locs),
            )
        )
    return tuple(out)


def build_supply_networks(
    item_locations: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    bom: pl.DataFrame | None = None,
    z: float = 1.645,
) -> SupplyNetworks:
    """Every network of a data set: product families from ``bom`` and a per-item network
    for each item in no bill of materials (see :func:`build_family_networks` and
    :func:`build_item_networks`)."""
    frame = _prepared(item_locations, locations)
    if bom is None or bom.height == 0:
        return SupplyNetworks(build_item_networks(frame, locations, z=z), ())
    resolved = resolve_bom(bom, frame, locations)
    families = _family_networks(frame, resolved, locations, z)
    in_family = [i for fam in families for i in fam.item_ids]
    rest = frame.filter(~pl.col("item_id").is_in(in_family))
    items = (
        build_item_networks(rest, locations, z=z)
        if rest.height
        else ItemNetworks(item_ids=(), networks=())
    )
    return SupplyNetworks(items, families)


def network_inputs(
    item_locations: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    bom: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every stage's node data and inbound lanes, one row per item-location.

    The rows hold exactly what :func:`build_supply_networks` builds (processing times
    after assembly times, caps after the default of 0 where there is demand), so
    :func:`supply_networks_from_inputs` rebuilds the same networks from them alone; the
    planning run stores them beside the placement.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`NETWORK_INPUT_SCHEMA`, sorted by item and location.
    """
    frame = _prepared(item_locations, locations)
    families: tuple[FamilyNetwork, ...] = ()
    if bom is not None and bom.height:
        families = _family_networks(frame, resolve_bom(bom, frame, locations), locations, z=1.0)
    in_family = [i for fam in families for i in fam.item_ids]
    rest = frame.filter(~pl.col("item_id").is_in(in_family))
    hierarchy = locations.select(
        "location_id",
        pl.col("parent").cast(pl.String).alias("_parent"),
        (pl.col("type") if "type" in locations.columns else pl.lit(None))
        .cast(pl.String)
        .alias("_type"),
    )
    held = rest.select(
        "item_id", pl.col("location_id").alias("_parent"), pl.lit(True).alias("_held")
    )
    has_demand = (pl.col("demand_mean").fill_null(0.0) > 0) | (
        pl.col("demand_sd").fill_null(0.0) > 0
    )
    cap = pl.col("max_service_time").cast(pl.Float64).fill_nan(None)
    parts = [
        rest.join(hierarchy, on="location_id", how="left")
        .join(held, on=["item_id", "_parent"], how="left")
        .select(
            "item_id",
            "location_id",
            pl.col("_type")
            .replace_strict({t.value: t.value for t in NodeType}, default=NodeType.STAGE.value)
            .alias("location_type"),
            pl.when(pl.col("_held")).then(pl.col("_parent")).alias("supplied_from"),
            pl.col("lead_time").cast(pl.Float64).alias("processing_time"),
            pl.col("holding_cost").cast(pl.Float64),
            pl.col("demand_mean").cast(pl.Float64).fill_null(0.0),
            pl.col("demand_sd").cast(pl.Float64).fill_null(0.0),
            pl.when(cap.is_not_null())
            .then(cap)
            .when(has_demand)
            .then(pl.lit(0.0))
            .alias("max_service_time"),
            pl.lit(None, dtype=pl.String).alias("family_id"),
            pl.lit(None, dtype=pl.String).alias("bom_components"),
        )
    ]
    for family in families:
        net = family.network
        where = dict(
            zip(
                net.node_ids,
                zip(family.stage_items, family.stage_locations, strict=True),
                strict=True,
            )
        )
        inbound: dict[str, str] = {}
        components: dict[str, list[dict[str, object]]] = {}
        for edge in net.edges:
            up_item, up_loc = where[edge.upstream]
            down_item, _ = where[edge.downstream]
            if up_item == down_item:
                inbound[edge.downstream] = up_loc
            else:
                components.setdefault(edge.downstream, []).append(
                    {"component_item_id": up_item, "quantity_per": edge.quantity}
                )
        parts.append(
            pl.DataFrame(
                [
                    (
                        where[n.node_id][0],
                        where[n.node_id][1],
                        n.node_type.value,
                        inbound.get(n.node_id),
                        n.processing_time,
                        n.holding_cost,
                        n.demand_mean,
                        n.demand_sd,
                        n.external_outbound_cst,
                        family.family_id,
                        json.dumps(
                            sorted(components[n.node_id], key=lambda c: str(c["component_item_id"]))
                        )
                        if n.node_id in components
                        else None,
                    )
                    for n in net.nodes
                ],
                schema=NETWORK_INPUT_SCHEMA,
                orient="row",
            )
        )
    return pl.concat([p.select(list(NETWORK_INPUT_SCHEMA)) for p in parts]).sort(
        "item_id", "location_id"
    )


def supply_networks_from_inputs(frame: pl.DataFrame, *, z: float = 1.645) -> SupplyNetworks:
    """Rebuild the networks from :func:`network_inputs` rows (for instance a run's stored
    network placement): per-item networks for rows without ``family_id``, one family
    network per ``family_id``.

    Raises
    ------
    InvalidDataError
        When a column of :data:`NETWORK_INPUT_SCHEMA` is missing, a ``bom_components``
        cell is not the documented JSON, or a network is invalid.
    """
    missing = [c for c in NETWORK_INPUT_SCHEMA if c not in frame.columns]
    if missing:
        raise InvalidDataError(
            f"The network rows lack column(s) {missing}; expected {list(NETWORK_INPUT_SCHEMA)} "
            "(a run's network placement from a planning run that knows bills of material)."
        )
    rows = frame.select(pl.col(c).cast(t) for c, t in NETWORK_INPUT_SCHEMA.items()).sort(
        "item_id", "location_id"
    )

    def node(rec: Mapping[str, object], node_id: str) -> Node:
        return Node(
            node_id,
            processing_time=float(rec["processing_time"] or 0.0),  # type: ignore[arg-type]
            holding_cost=float(rec["holding_cost"] or 0.0),  # type: ignore[arg-type]
            demand_mean=float(rec["demand_mean"] or 0.0),  # type: ignore[arg-type]
            demand_sd=float(rec["demand_sd"] or 0.0),  # type: ignore[arg-type]
            external_outbound_cst=rec["max_service_time"],  # type: ignore[arg-type]
            node_type=_location_type(rec["location_type"]),
        )

    item_ids: list[str] = []
    item_nets: list[Network] = []
    for (item,), part in rows.filter(pl.col("family_id").is_null()).group_by(
        "item_id", maintain_order=True
    ):
        recs = list(part.iter_rows(named=True))
        nodes = tuple(node(r, r["location_id"]) for r in recs)
        edges = tuple(
            Edge(r["supplied_from"], r["location_id"]) for r in recs if r["supplied_from"]
        )
        try:
            item_nets.append(Network(nodes=nodes, edges=edges, z=z, name=str(item)))
        except InvalidDataError as exc:
            raise InvalidDataError(f"Item {item!r}: {exc}") from exc
        item_ids.append(str(item))
    families: list[FamilyNetwork] = []
    for (family,), part in rows.filter(pl.col("family_id").is_not_null()).group_by(
        "family_id", maintain_order=True
    ):
        recs = list(part.iter_rows(named=True))
        nodes = tuple(node(r, stage_id(r["item_id"], r["location_id"])) for r in recs)
        edges_: list[Edge] = []
        for r in recs:
            here = stage_id(r["item_id"], r["location_id"])
            if r["supplied_from"]:
                edges_.append(Edge(stage_id(r["item_id"], r["supplied_from"]), here))
            if r["bom_components"]:
                try:
                    lanes = json.loads(r["bom_components"])
                    edges_.extend(
                        Edge(
                            stage_id(str(c["component_item_id"]), r["location_id"]),
                            here,
                            quantity=float(c["quantity_per"]),
                        )
                        for c in lanes
                    )
                except (ValueError, TypeError, KeyError) as exc:
                    raise InvalidDataError(
                        f"Stage {here!r}: bom_components must be a JSON list of objects with "
                        f"component_item_id and quantity_per. Got {r['bom_components']!r}."
                    ) from exc
        try:
            net = Network(nodes=nodes, edges=tuple(edges_), z=z, name=str(family))
        except InvalidDataError as exc:
            raise InvalidDataError(f"Product family {family!r}: {exc}") from exc
        families.append(
            FamilyNetwork(
                family_id=str(family),
                item_ids=tuple(sorted({r["item_id"] for r in recs})),
                network=net,
                stage_items=tuple(r["item_id"] for r in recs),
                stage_locations=tuple(r["location_id"] for r in recs),
            )
        )
    return SupplyNetworks(
        ItemNetworks(item_ids=tuple(item_ids), networks=tuple(item_nets)), tuple(families)
    )


def _solution_frame(
    sol: GSMSolution, item_of: Mapping[str, str], location_of: Mapping[str, str]
) -> pl.DataFrame:
    """One result row per stage of a solved network."""
    k = len(sol.node_ids)
    return pl.DataFrame(
        {
            "item_id": [item_of[n] for n in sol.node_ids],
            "location_id": [location_of[n] for n in sol.node_ids],
            "committed_service_time": sol.committed_service_time.tolist(),
            "inbound_service_time": sol.inbound_service_time.tolist(),
            "net_lead_time": sol.net_lead_time.tolist(),
            "safety_stock": sol.safety_stock.tolist(),
            "base_stock": sol.base_stock.tolist(),
            "stock_role": stock_roles(sol.net_lead_time).tolist(),
            "gsm_method": [sol.method.value] * k,
        },
        schema=NETWORK_RESULT_SCHEMA,
    )


def _solve_family(family: FamilyNetwork, time_limit: float) -> pl.DataFrame:
    """A family by the tree DP when it is a tree with integer times, else by the MILP."""
    net = family.network
    arr = net.arrays()
    caps = arr.external_outbound_cst[np.isfinite(arr.external_outbound_cst)]
    integral = all(
        bool(np.all(values == np.round(values)))
        for values in (arr.processing_time, arr.edge_lead_time, arr.external_inbound_cst, caps)
    )
    sol = gsm_tree(net) if arr.is_tree and integral else gsm_milp(net, time_limit=time_limit)
    ids = net.node_ids
    return _solution_frame(
        sol,
        dict(zip(ids, family.stage_items, strict=True)),
        dict(zip(ids, family.stage_locations, strict=True)),
    )


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
    bom: pl.DataFrame | None = None,
    z: float = 1.645,
    time_limit: float = 60.0,
) -> pl.DataFrame:
    """Place safety stock across each item's network (guaranteed-service model).

    Items stocked at the same set of locations share their network's shape; each shape
    is solved for all its items at once by the batched tree DP
    (:func:`~stockpilot.core.network.gsm_batch.gsm_tree_batch`) when it is a tree with
    integer times and SLA caps, else item by item (MILP, ``time_limit`` seconds each).

    With a bill of materials (``bom``, see :func:`resolve_bom`), the items it links are
    solved as product families instead (:func:`build_family_networks`): one network per
    family, by the tree DP when it is a tree with integer times, else by the MILP
    (``time_limit`` seconds); every other item as above.

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
    parts = [pl.DataFrame(schema=NETWORK_RESULT_SCHEMA)]
    if bom is not None and bom.height:
        families = _family_networks(frame, resolve_bom(bom, frame, locations), locations, z)
        for family in families:
            parts.append(_solve_family(family, time_limit))
        in_family = [i for fam in families for i in fam.item_ids]
        frame = frame.filter(~pl.col("item_id").is_in(in_family))
    shapes = frame.group_by("item_id", maintain_order=True).agg(
        pl.col("location_id").str.join("|").alias("_shape")
    )
    frame = frame.join(shapes, on="item_id", how="left", maintain_order="left")
    for (key,), rows in frame.group_by("_shape", maintain_order=True):
        shape = _shape_network(str(key).split("|"), parent_of, type_of, z)
        lead = rows["lead_time"].cast(pl.Float64).fill_null(0.0)
        # the tree DP runs on whole buckets: fractional times or SLA caps go to the MILP
        # (a cap of 2.5 would be floored to 2 there and its optimum missed)
        caps = rows["max_service_time"].cast(pl.Float64).fill_nan(None).drop_nulls()
        caps = caps.filter(caps.is_finite())
        if shape.is_tree() and (lead == lead.round(0)).all() and (caps == caps.round(0)).all():
            parts.append(_solve_shape(rows, shape))
        else:
            parts.append(_solve_each(rows.drop("_shape"), locations, z, time_limit))
    return pl.concat(parts).sort("item_id", "location_id")
