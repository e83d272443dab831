"""Multi-echelon policies: the network placement handed to the policy engine.

The guaranteed-service model (``stockpilot.engine.network``) decides, per item, which
locations hold safety stock: each stage ``j`` quotes a committed service time ``S_j`` to its
customers and protects, with its own stock, only its **net replenishment time**
``tau_j = SI_j + T_j - S_j`` (Graves and Willems 2000). A store whose distribution centre
quotes ``S`` buckets waits ``S + T`` buckets for its replenishments and must size its stock
for that, not for the bare transfer time; a distribution centre that quotes a long service
time (``tau = 0``) works flow-through and needs no safety stock of its own.

This module turns a placement into the inputs of
:func:`stockpilot.engine.policies.compute_policies` for every stage of every
multi-location item network, so that the policies (reorder points, order-up-to levels,
min/max for the ERP) carry out the placement:

* :func:`echelon_map`: which item-location series feed which stage (each series feeds
  its own location and every upstream location of the same item's network);
* :func:`echelon_panel` and :func:`echelon_forecast`: the demand a stage serves, its own
  plus that of every downstream item-location (histories summed, so correlation between
  locations is kept; forecast means summed and variances added);
* :func:`echelon_parameters`: the stage's parameters with ``lead_time`` replaced by its
  net replenishment time (plus the data-feed delay of its location) and the highest
  service target of the series it serves;
* :func:`pass_through_flow_stages`: the policy of a flow-through stage (``tau = 0``) is
  base stock 0: it holds nothing and passes each order upstream as it comes, its
  customers being promised the time that takes;
* :func:`pass_through_supply_variability`: the supplier's lead-time variance and defect
  rate that a flow-through stage passes on to the stages it serves, which size their
  policies for it;
* :func:`echelon_note`: the sentence each such policy line adds to its explanation;
* :func:`simulate_stage_networks`: every stage's policy simulated together with the
  others of its network (a store waits when its distribution centre is out);
* :func:`simulate_family_networks`: the same for product families (items linked by bills
  of material) as assembly networks (an assembly waits for its scarcest component).

Product families: with ``bom=`` lanes, :func:`echelon_map` also maps each series to the
components of its item (and their components, level by level) with weight
``quantity_per`` (multiplied along the way), so a component's stage serves its own
echelon demand plus the dependent demand of every assembly it goes into, and a component
that sells nowhere still gets a policy on that dependent demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.network.network import Network
from stockpilot.core.simulation.lead_time import LeadTimeDistribution, fit_lead_time
from stockpilot.core.simulation.multi_echelon import (
    AssemblyTopology,
    assembly_topology,
    simulate_assembly_network,
    simulate_network,
)
from stockpilot.engine.network import FamilyNetwork, stage_id
from stockpilot.engine.panel import KEYS, Panel
from stockpilot.errors import InvalidDataError

__all__ = [
    "BOM_LANE_COLUMNS",
    "FAMILY_SIMULATION_SCHEMA",
    "SUPPLY_VARIABILITY_COLUMNS",
    "echelon_forecast",
    "echelon_map",
    "echelon_note",
    "echelon_panel",
    "echelon_parameters",
    "multi_location_nodes",
    "pass_through_flow_stages",
    "pass_through_supply_variability",
    "simulate_family_networks",
    "simulate_stage_networks",
]


def _require(frame: pl.DataFrame, columns: tuple[str, ...], owner: str, name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidDataError(f"{owner}: {name} lacks column(s) {missing}; got {frame.columns}.")


def multi_location_nodes(placement: pl.DataFrame) -> pl.DataFrame:
    """The placement rows of items whose network holds more than one location."""
    _require(placement, (*KEYS, "net_lead_time"), "multi_location_nodes", "placement")
    return placement.filter(pl.len().over("item_id") > 1)


def echelon_map(
    keys: pl.DataFrame,
    nodes: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    bom: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Which demand series feeds which stage, and with what weight.

    Parameters
    ----------
    keys
        ``item_id, location_id`` of the demand series (e.g. ``Panel.keys``).
    nodes
        ``item_id, location_id`` of the stages (one row per stage of each item network).
    locations
        ``location_id, parent`` (null at the top of the hierarchy).
    bom
        Optional bill-of-materials lanes of the product families, ``parent_item_id,
        component_item_id, quantity_per, location_id`` (the assembly location, filled in).
        Each lane makes the component's stage at the assembly location (and the
        component's stages above it) serve ``quantity_per`` x the echelon demand of the
        parent's stage there: dependent demand, ``mu_i = mu_i^ext + sum_j q_ij mu_j``
        (Graves and Willems 2000, section 2), applied to the series themselves.

    Returns
    -------
    polars.DataFrame
        ``item_id, location_id`` (the series), ``node_item_id, node_id`` (the stage: the
        series' own item at its location or an ancestor that is a stage, or, through the
        bill of materials, a component's stage), ``depth`` (0 for the own location, 1 for
        its parent, ...; a BOM lane counts one level) and ``weight`` (units of the stage's
        item per unit of the series: 1 within an item, the product of the ``quantity_per``
        along the way through the BOM, summed over the ways). Series whose item has no
        stage are left out.

    Raises
    ------
    InvalidDataError
        When a column is missing, a BOM quantity is not > 0 or a location is blank, or the
        bill of materials cycles.

    Examples
    --------
    A bike sold at a store S1 (DC -> S1), assembled at the DC from 2 wheels each:

    >>> import polars as pl
    >>> keys = pl.DataFrame({"item_id": ["BIKE"], "location_id": ["S1"]})
    >>> nodes = pl.DataFrame({"item_id": ["BIKE", "BIKE", "WHEEL"],
    ...                       "location_id": ["DC", "S1", "DC"]})
    >>> locations = pl.DataFrame({"location_id": ["DC", "S1"], "parent": [None, "DC"]})
    >>> bom = pl.DataFrame({"parent_item_id": ["BIKE"], "component_item_id": ["WHEEL"],
    ...                     "quantity_per": [2.0], "location_id": ["DC"]})
    >>> m = echelon_map(keys, nodes, locations, bom=bom)
    >>> m.select("node_item_id", "node_id", "weight").rows()
    [('BIKE', 'DC', 1.0), ('BIKE', 'S1', 1.0), ('WHEEL', 'DC', 2.0)]
    """
    _require(keys, KEYS, "echelon_map", "keys")
    _require(nodes, KEYS, "echelon_map", "nodes")
    _require(locations, ("location_id", "parent"), "echelon_map", "locations")
    parents = locations.select(
        pl.col("location_id").cast(pl.String), pl.col("parent").cast(pl.String)
    ).filter(pl.col("parent").is_not_null())
    stages = nodes.select(
        pl.col("item_id").cast(pl.String), pl.col("location_id").cast(pl.String).alias("node_id")
    ).unique()
    base = keys.select(pl.col("item_id").cast(pl.String), pl.col("location_id").cast(pl.String))
    frontier = base.with_columns(node_id=pl.col("location_id"), depth=pl.lit(0, pl.Int64))
    found = [frontier]
    for _ in range(locations.height):  # a chain is at most as long as the location list
        frontier = (
            frontier.join(parents, left_on="node_id", right_on="location_id", suffix="_up")
            .select(
                "item_id", "location_id", pl.col("parent").alias("node_id"), pl.col("depth") + 1
            )
            .unique()
        )
        if frontier.height == 0:
            break
        found.append(frontier)
    mapping = (
        pl.concat(found)
        .join(stages, on=["item_id", "node_id"], how="semi")
        .with_columns(node_item_id=pl.col("item_id"), weight=pl.lit(1.0))
        .select(*_MAP_COLUMNS)
    )
    if bom is not None and bom.height:
        mapping = _through_bom(mapping, nodes, locations, bom)
    return mapping.sort("item_id", "node_item_id", "node_id", "location_id")


_MAP_COLUMNS = ("item_id", "location_id", "node_item_id", "node_id", "depth", "weight")
BOM_LANE_COLUMNS = ("parent_item_id", "component_item_id", "quantity_per", "location_id")
"""Columns of the bill-of-materials lanes :func:`echelon_map` follows (location filled in)."""


def _bom_lanes(bom: pl.DataFrame, owner: str) -> pl.DataFrame:
    _require(bom, BOM_LANE_COLUMNS, owner, "bom")
    lanes = bom.select(
        pl.col("parent_item_id").cast(pl.String),
        pl.col("component_item_id").cast(pl.String),
        pl.col("quantity_per").cast(pl.Float64),
        pl.col("location_id").cast(pl.String),
    )
    bad = lanes.with_row_index("row").filter(
        pl.col("location_id").is_null()
        | pl.col("quantity_per").is_null()
        | pl.col("quantity_per").is_nan()
        | (pl.col("quantity_per") <= 0)
    )
    if bad.height:
        rows = ", ".join(
            f"row {r} ({p} <- {c} at {loc!r}, quantity_per {q!r})"
            for r, p, c, q, loc in bad.head(10)
            .select("row", *BOM_LANE_COLUMNS[:3], "location_id")
            .iter_rows()
        )
        raise InvalidDataError(
            f"{owner}: every bill-of-materials lane needs quantity_per > 0 and its assembly "
            f"location_id filled in; {bad.height} lane(s) do not: {rows}. Resolve the BOM "
            "first (stockpilot.engine.network.resolve_bom)."
        )
    return lanes


def _through_bom(
    direct: pl.DataFrame, nodes: pl.DataFrame, locations: pl.DataFrame, bom: pl.DataFrame
) -> pl.DataFrame:
    """``direct`` mapping plus the dependent demand the bill of materials adds, level by
    level: a series feeding a parent's stage at an assembly location feeds the component's
    stage there (and the component's stages above it) with ``weight x quantity_per``."""
    lanes = _bom_lanes(bom, "echelon_map").rename(
        {"parent_item_id": "node_item_id", "location_id": "node_id"}
    )
    stage_keys = nodes.select(
        pl.col("item_id").cast(pl.String), pl.col("location_id").cast(pl.String)
    ).unique()
    # Each component stage and the stages of the same item at or above it.
    upward = echelon_map(stage_keys, stage_keys, locations).select(
        pl.col("item_id").alias("component_item_id"),
        pl.col("location_id").alias("_at"),
        pl.col("node_id").alias("_up"),
        pl.col("depth").alias("_up_depth"),
    )
    group = ["item_id", "location_id", "node_item_id", "node_id"]
    found = [direct]
    frontier = direct
    for _ in range(lanes.height + 1):  # every level passes at least one lane
        frontier = (
            frontier.join(lanes, on=["node_item_id", "node_id"], how="inner")
            .join(
                upward,
                left_on=["component_item_id", "node_id"],
                right_on=["component_item_id", "_at"],
                how="inner",
            )
            .select(
                "item_id",
                "location_id",
                pl.col("component_item_id").alias("node_item_id"),
                pl.col("_up").alias("node_id"),
                pl.col("depth") + 1 + pl.col("_up_depth"),
                pl.col("weight") * pl.col("quantity_per"),
            )
            .group_by(group)
            .agg(pl.col("depth").min(), pl.col("weight").sum())
            .select(*_MAP_COLUMNS)
        )
        if frontier.height == 0:
            break
        found.append(frontier)
    else:
        raise InvalidDataError(
            "echelon_map: the bill of materials cycles (an item is, through other items, its "
            "own component); remove the row closing the cycle (the import gate names it, "
            "reason 'cycle')."
        )
    return (
        pl.concat(found)
        .group_by(group)
        .agg(pl.col("depth").min(), pl.col("weight").sum())
        .select(*_MAP_COLUMNS)
    )


def _weighted(mapping: pl.DataFrame) -> pl.DataFrame:
    """A mapping with ``node_item_id`` and ``weight`` (a same-item mapping without them
    gets the series' item and weight 1)."""
    if "node_item_id" not in mapping.columns:
        mapping = mapping.with_columns(node_item_id=pl.col("item_id"))
    if "weight" not in mapping.columns:
        mapping = mapping.with_columns(weight=pl.lit(1.0))
    return mapping


def echelon_panel(panel: Panel, mapping: pl.DataFrame, nodes: pl.DataFrame) -> Panel:
    """Demand each stage serves: the sum of the series mapped to it, each times its
    ``weight`` (units of the stage's item per unit of the series; 1 within an item,
    ``quantity_per`` through a bill of materials), one row per stage.

    A bucket is NaN at a stage only when none of its series was observed yet (not
    launched); otherwise missing series count as 0. Stages that no series feeds get an
    all-NaN row. Rows follow ``nodes`` (``item_id, location_id``) in their order.
    """
    _require(mapping, (*KEYS, "node_id"), "echelon_panel", "mapping")
    mapping = _weighted(mapping)
    stage_keys = nodes.select(
        pl.col("item_id").cast(pl.String), pl.col("location_id").cast(pl.String)
    )
    n_stages, t = stage_keys.height, panel.n_periods
    pairs = (
        mapping.join(panel.keys.with_row_index("_src"), on=["item_id", "location_id"], how="inner")
        .join(
            stage_keys.with_row_index("_dst").rename(
                {"item_id": "node_item_id", "location_id": "node_id"}
            ),
            on=["node_item_id", "node_id"],
            how="inner",
        )
        .select("_src", "_dst", "weight")
    )
    src = pairs["_src"].to_numpy().astype(np.int64)
    dst = pairs["_dst"].to_numpy().astype(np.int64)
    weight = pairs["weight"].cast(pl.Float64).to_numpy()
    values = np.zeros((n_stages, t))
    observed = np.zeros((n_stages, t), dtype=np.int64)
    source = panel.values[src]
    np.add.at(values, dst, np.nan_to_num(source) * weight[:, None])
    np.add.at(observed, dst, ~np.isnan(source))
    values[observed == 0] = np.nan
    return Panel(stage_keys, panel.periods, values, panel.bucket)


def echelon_forecast(forecast: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """Forecast of each stage: per period, the sum of its series' means times their
    mapping ``weight``; the variances of the series (``sd`` column, when present) are
    added with the weights squared (independent forecast errors:
    ``sigma^2 = sum_j w_j^2 sigma_j^2``)."""
    _require(forecast, (*KEYS, "period_start", "mean"), "echelon_forecast", "forecast")
    mapping = _weighted(mapping)
    has_sd = "sd" in forecast.columns
    joined = forecast.join(
        mapping.select(*KEYS, "node_item_id", "node_id", "weight"), on=list(KEYS), how="inner"
    )
    aggs = [(pl.col("mean") * pl.col("weight")).sum().alias("mean")]
    if has_sd:
        aggs.append(
            (pl.col("sd").fill_nan(None) * pl.col("weight")).pow(2).sum().sqrt().alias("sd")
        )
    return (
        joined.group_by("node_item_id", "node_id", "period_start")
        .agg(aggs)
        .rename({"node_item_id": "item_id", "node_id": "location_id"})
        .select("item_id", "location_id", "period_start", *(["mean", "sd"] if has_sd else ["mean"]))
        .sort("item_id", "location_id", "period_start")
    )


def echelon_parameters(
    parameters: pl.DataFrame,
    placement: pl.DataFrame,
    mapping: pl.DataFrame,
    *,
    supply_variability: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Policy parameters of every stage, carrying out the placement.

    Parameters
    ----------
    parameters
        One row per stage (``item_id, location_id`` and the columns of
        :func:`~stockpilot.engine.policies.compute_policies`' items frame); an optional
        ``information_delay`` column (buckets) is added to the new lead time; a stage's
        ``service_target`` becomes the highest target of the series it serves (its own
        included) where it serves any.
    placement
        ``item_id, location_id, net_lead_time`` per stage.
    mapping
        :func:`echelon_map` (used for the service targets of stages without own demand).
    supply_variability
        Optional :func:`pass_through_supply_variability` rows: each stage's
        ``lead_time_sd`` and ``defect_rate`` become those (its own supply's plus what
        flow-through stages upstream pass on; 0 for a stage without a row), so the policy
        is sized for the supply times its net lead time contains.

    Returns
    -------
    polars.DataFrame
        ``parameters`` with ``lead_time = net_lead_time + information_delay`` (and, with
        ``supply_variability``, its ``lead_time_sd`` and ``defect_rate``).
    """
    _require(parameters, KEYS, "echelon_parameters", "parameters")
    _require(placement, (*KEYS, "net_lead_time"), "echelon_parameters", "placement")
    frame = parameters.join(
        placement.select(*KEYS, "net_lead_time"), on=list(KEYS), how="left", maintain_order="left"
    )
    if frame["net_lead_time"].null_count():
        missing = frame.filter(pl.col("net_lead_time").is_null()).select(KEYS).row(0)
        raise InvalidDataError(f"echelon_parameters: stage {missing} has no placement row.")
    delay = (
        pl.col("information_delay").fill_null(0.0)
        if "information_delay" in frame.columns
        else pl.lit(0.0)
    )
    frame = frame.with_columns((pl.col("net_lead_time") + delay).alias("lead_time"))
    if supply_variability is not None:
        _require(
            supply_variability,
            (*KEYS, "lead_time_sd", "defect_rate"),
            "echelon_parameters",
            "supply_variability",
        )
        frame = (
            frame.drop("lead_time_sd", "defect_rate", strict=False)
            .join(
                supply_variability.select(
                    *KEYS,
                    pl.col("lead_time_sd", "defect_rate").cast(pl.Float64),
                ),
                on=list(KEYS),
                how="left",
                maintain_order="left",
            )
            .with_columns(pl.col("lead_time_sd", "defect_rate").fill_null(0.0))
        )
    if "service_target" in frame.columns:
        # A stage serves at least the highest target of the series it feeds (its own
        # series included): an upstream stage that lets an A item down fails A service.
        # Through a bill of materials, a component serves its parents' series the same way.
        series_target = parameters.select(*KEYS, "service_target")
        served = (
            _weighted(mapping)
            .join(series_target, on=list(KEYS), how="inner")
            .group_by("node_item_id", "node_id")
            .agg(pl.col("service_target").max().alias("_served_target"))
            .rename({"node_item_id": "item_id", "node_id": "location_id"})
        )
        frame = frame.join(served, on=list(KEYS), how="left", maintain_order="left")
        frame = frame.with_columns(
            pl.coalesce("_served_target", "service_target").alias("service_target")
        ).drop("_served_target")
    return frame.drop("net_lead_time")


def pass_through_flow_stages(policies: pl.DataFrame, placement: pl.DataFrame) -> pl.DataFrame:
    """Policies with every flow-through stage of ``placement`` set to base stock 0.

    A stage with net replenishment time ``tau = 0`` quotes its customers exactly the time
    its own supply takes (``S = SI + T``): it holds no stock and orders, lot for lot, what
    its customers order. Its levels, safety stock and order quantity are 0, its lot-sizing
    rule ``lot_for_lot``, and its ``expected_service`` null (the downstream buffer
    delivers the service).
    """
    _require(placement, (*KEYS, "stock_role"), "pass_through_flow_stages", "placement")
    flow = placement.filter(pl.col("stock_role") == "flow_through").select(
        *KEYS, pl.lit(True).alias("_flow")
    )
    frame = policies.join(flow, on=list(KEYS), how="left", maintain_order="left")
    is_flow = pl.col("_flow").fill_null(False)
    zeroed = [
        pl.when(is_flow).then(0.0).otherwise(pl.col(c)).alias(c)
        for c in ("reorder_point", "order_quantity", "order_up_to", "safety_stock")
    ]
    return frame.with_columns(
        *zeroed,
        pl.when(is_flow).then(pl.lit("base_stock")).otherwise(pl.col("policy")).alias("policy"),
        pl.when(is_flow)
        .then(pl.lit("lot_for_lot"))
        .otherwise(pl.col("lot_sizing_rule"))
        .alias("lot_sizing_rule"),
        pl.when(is_flow)
        .then(pl.lit(None, dtype=pl.Float64))
        .otherwise(pl.col("expected_service"))
        .alias("expected_service"),
        pl.when(is_flow)
        .then(
            pl.lit(
                "base_stock 0 (flow-through): no stock held; each order passes upstream as it comes."
            )
        )
        .otherwise(pl.col("explanation"))
        .alias("explanation"),
    ).drop("_flow")


SUPPLY_VARIABILITY_COLUMNS = (
    "item_id",
    "location_id",
    "lead_time_sd",
    "defect_rate",
    "passed_lead_time_sd",
    "passed_defect_rate",
)
"""Columns of :func:`pass_through_supply_variability`."""


def _inbound_lanes(
    stages: pl.DataFrame, locations: pl.DataFrame, bom: pl.DataFrame | None
) -> pl.DataFrame:
    """``item_id, location_id, up_item_id, up_location_id``: every lane into a stage from
    another stage, as the networks are built (:mod:`stockpilot.engine.network`): from the
    same item's stage at the parent location, and through each bill-of-materials lane from
    the component's stage at the assembly location."""
    parents = locations.select(
        pl.col("location_id").cast(pl.String), pl.col("parent").cast(pl.String)
    ).filter(pl.col("parent").is_not_null())
    ups = stages.rename({"item_id": "up_item_id", "location_id": "up_location_id"})
    same_item = stages.join(parents, on="location_id", how="inner").select(
        "item_id",
        "location_id",
        pl.col("item_id").alias("up_item_id"),
        pl.col("parent").alias("up_location_id"),
    )
    lanes = [same_item]
    if bom is not None and bom.height:
        lanes.append(
            _bom_lanes(bom, "pass_through_supply_variability").select(
                pl.col("parent_item_id").alias("item_id"),
                "location_id",
                pl.col("component_item_id").alias("up_item_id"),
                pl.col("location_id").alias("up_location_id"),
            )
        )
    return (
        pl.concat(lanes)
        .join(stages, on=["item_id", "location_id"], how="semi")
        .join(ups, on=["up_item_id", "up_location_id"], how="semi")
        .unique()
    )


def pass_through_supply_variability(
    placement: pl.DataFrame,
    supply: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    bom: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Lead-time sd and defect rate each stage's policy must absorb: its own supply's plus
    what flow-through stages upstream pass on.

    The guaranteed-service model treats times as deterministic: stage ``i`` quotes
    ``S_i`` and its customer's inbound time is ``SI_j = max S_i`` over its suppliers. A
    stage that holds stock (net replenishment time ``tau_i = SI_i + T_i - S_i > 0``)
    keeps its promise with its stock and absorbs the variability of its own supply. A
    flow-through stage (``tau_i = 0``, ``S_i = SI_i + T_i``, no stock) cannot: its
    customer waits for the supplier's actual time, so the variance of that time is part
    of the customer's net lead time ``tau_j``, which already contains ``S_i``. Hence, per
    stage ``j`` (variances in buckets squared):

    ``V_j = v_j + P_j``, ``P_j = sum over inbound lanes i -> j with tau_i = 0 of V_i``

    where ``v_j`` is the variance of ``j``'s own outside supply: the chain of flow-through
    suppliers is followed up to the first stocking stage (which passes nothing on) or to
    the outside supplier. A stage with one inbound lane (an item's distribution chain)
    adds the chain's variances. An assembly with several flow-through inbound lanes waits
    for the slowest component, ``max_k X_k``: for independent chains
    ``Var(max_k X_k) <= sum_k Var(X_k)`` (Efron-Stein: the maximum moves by at most as much
    as the one time that changes), so the sum is a safe bound; the largest single variance
    is not (two suppliers each late with a small probability ``q`` make the kit late with
    about ``2q``). A chain reaching the assembly by two ways is counted twice, on the safe
    side too.

    Defects: a flow-through stage scraps its supplier's rejected units and ships only the
    good ones, so ``p`` of each shipment reaches its customer one supply time later (it
    reorders the shortfall) while the customer's inventory position still counts it as on
    order. By Little's law that backlog is ``p D T / (1 - p)`` on average, which the policy
    engine's defect allowance for the customer (``p D (L + 1) / (1 - p)``; ``L``, the
    customer's net lead time, contains the supply time ``T``) covers: the customer is
    sized with the rate passed on. Good shares multiply along a chain,
    ``1 - p_j = (1 - p_own) (1 - P_j)``; an assembly builds only as many kits as its
    scarcest component allows, so its rate is the largest of its lanes'.

    Parameters
    ----------
    placement
        ``item_id, location_id, stock_role`` (``flow_through`` where ``tau = 0``), one
        row per stage of the networks.
    supply
        ``item_id, location_id, lead_time_sd`` (buckets) and ``defect_rate`` of the
        stages' own outside supply (a supplier into the top of a bought item's network);
        stages without a row, and nulls, count 0.
    locations
        ``location_id, parent``: the item's stage at the parent location supplies it.
    bom
        Optional bill-of-materials lanes (:data:`BOM_LANE_COLUMNS`): the component's stage
        at the assembly location supplies the parent's stage there.

    Returns
    -------
    polars.DataFrame
        :data:`SUPPLY_VARIABILITY_COLUMNS`, one row per stage in ``placement`` order:
        ``lead_time_sd = sqrt(V_j)``, ``defect_rate`` (at most 0.95) and what of them came
        from upstream flow-through stages (``passed_lead_time_sd = sqrt(P_j)``,
        ``passed_defect_rate``).

    Raises
    ------
    InvalidDataError
        When a column is missing or the lanes form a cycle.

    Examples
    --------
    A flow-through DC bought with lead-time sd 2 from its supplier passes the variance
    on to its store; a stocking DC would not:

    >>> import polars as pl
    >>> placement = pl.DataFrame({"item_id": ["A", "A"], "location_id": ["DC", "S1"],
    ...                           "stock_role": ["flow_through", "decoupling"]})
    >>> supply = pl.DataFrame({"item_id": ["A"], "location_id": ["DC"],
    ...                        "lead_time_sd": [2.0], "defect_rate": [0.0]})
    >>> locations = pl.DataFrame({"location_id": ["DC", "S1"], "parent": [None, "DC"]})
    >>> out = pass_through_supply_variability(placement, supply, locations)
    >>> out.select("location_id", "lead_time_sd", "passed_lead_time_sd").rows()
    [('DC', 2.0, 0.0), ('S1', 2.0, 2.0)]
    """
    _require(placement, (*KEYS, "stock_role"), "pass_through_supply_variability", "placement")
    _require(
        supply,
        (*KEYS, "lead_time_sd", "defect_rate"),
        "pass_through_supply_variability",
        "supply",
    )
    _require(locations, ("location_id", "parent"), "pass_through_supply_variability", "locations")
    stages = placement.select(
        pl.col("item_id").cast(pl.String),
        pl.col("location_id").cast(pl.String),
        (pl.col("stock_role") == "flow_through").fill_null(False).alias("_flow"),
    )
    own = supply.select(
        pl.col("item_id").cast(pl.String),
        pl.col("location_id").cast(pl.String),
        pl.col("lead_time_sd")
        .cast(pl.Float64)
        .fill_nan(None)
        .fill_null(0.0)
        .clip(0.0)
        .pow(2)
        .alias("_own_var"),
        (
            1.0
            - pl.col("defect_rate").cast(pl.Float64).fill_nan(None).fill_null(0.0).clip(0.0, 0.95)
        ).alias("_own_good"),
    ).unique(list(KEYS), keep="first")
    table = stages.join(own, on=list(KEYS), how="left", maintain_order="left").with_columns(
        pl.col("_own_var").fill_null(0.0), pl.col("_own_good").fill_null(1.0)
    )
    keys = table.select(*KEYS)
    lanes = _inbound_lanes(keys.unique(), locations, bom)
    passed_var = np.zeros(table.height)
    passed_good = np.ones(table.height)
    for _ in range(table.height + 1):  # a chain of lanes is at most as long as the stages
        passed = table.with_columns(
            pl.Series("_passed_var", passed_var), pl.Series("_passed_good", passed_good)
        )
        handed = passed.filter("_flow").select(
            pl.col("item_id").alias("up_item_id"),
            pl.col("location_id").alias("up_location_id"),
            (pl.col("_own_var") + pl.col("_passed_var")).alias("_var"),
            (pl.col("_own_good") * pl.col("_passed_good")).alias("_good"),
        )
        received = (
            lanes.join(handed, on=["up_item_id", "up_location_id"], how="inner")
            .group_by(*KEYS)
            .agg(pl.col("_var").sum(), pl.col("_good").min())
        )
        update = keys.join(received, on=list(KEYS), how="left", maintain_order="left")
        new_var = update["_var"].fill_null(0.0).to_numpy()
        new_good = update["_good"].fill_null(1.0).to_numpy()
        settled = np.allclose(new_var, passed_var, rtol=1e-12, atol=0.0) and np.allclose(
            new_good, passed_good, rtol=1e-12, atol=0.0
        )
        passed_var, passed_good = new_var, new_good
        if settled:
            break
    else:
        raise InvalidDataError(
            "pass_through_supply_variability: the lanes between the stages form a cycle of "
            "flow-through stages (a location is its own ancestor, or an item its own "
            "component); fix the location parents or the bill of materials."
        )
    own_var = table["_own_var"].to_numpy()
    own_good = table["_own_good"].to_numpy()
    return keys.with_columns(
        pl.Series("lead_time_sd", np.sqrt(own_var + passed_var)),
        pl.Series("defect_rate", np.minimum(1.0 - own_good * passed_good, 0.95)),
        pl.Series("passed_lead_time_sd", np.sqrt(passed_var)),
        pl.Series("passed_defect_rate", 1.0 - passed_good),
    )


def echelon_note(
    placement: pl.DataFrame,
    mapping: pl.DataFrame,
    *,
    bom: pl.DataFrame | None = None,
    supply_variability: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``item_id, location_id, echelon_note``: one sentence per stage saying what the
    network placement changed (net replenishment time, quoted service time, role, the
    locations served, with ``bom`` the items it is assembled into there and, with
    ``supply_variability`` (:func:`pass_through_supply_variability`), the supplier's
    lead-time sd and defect rate that flow-through stages upstream pass on to it)."""
    _require(
        placement,
        (*KEYS, "net_lead_time", "committed_service_time", "inbound_service_time", "stock_role"),
        "echelon_note",
        "placement",
    )
    served = (
        _weighted(mapping)
        .filter(pl.col("depth") > 0, pl.col("item_id") == pl.col("node_item_id"))
        .group_by("item_id", "node_id")
        .agg(pl.col("location_id").unique().sort().alias("_served"))
        .rename({"node_id": "location_id"})
    )
    frame = placement.join(served, on=list(KEYS), how="left")
    if bom is not None and bom.height:
        feeds = (
            _bom_lanes(bom, "echelon_note")
            .sort("parent_item_id")
            .group_by("component_item_id", "location_id", maintain_order=True)
            .agg(
                pl.concat_str(
                    "parent_item_id",
                    pl.lit(" ("),
                    pl.col("quantity_per").round(4).cast(pl.String),
                    pl.lit(" per unit)"),
                ).alias("_feeds")
            )
            .rename({"component_item_id": "item_id"})
        )
        frame = frame.join(feeds, on=list(KEYS), how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("_feeds"))
    if supply_variability is not None:
        frame = frame.join(
            supply_variability.select(
                *KEYS,
                pl.col("lead_time_sd").alias("_sd"),
                pl.col("passed_lead_time_sd").alias("_passed_sd"),
                pl.col("passed_defect_rate").alias("_passed_p"),
            ),
            on=list(KEYS),
            how="left",
        )
    else:
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(c) for c in ("_sd", "_passed_sd", "_passed_p")
        )
    # Only a stage that holds stock is sized for it; a flow-through one passes it on again.
    passed = (pl.col("stock_role") == "decoupling") & (
        (pl.col("_passed_sd").fill_null(0.0) > 0) | (pl.col("_passed_p").fill_null(0.0) > 0)
    )
    served_text = pl.concat_str(
        pl.when(pl.col("_served").list.len() > 0)
        .then(pl.lit("; it serves ") + pl.col("_served").list.join(", "))
        .otherwise(pl.lit("")),
        pl.when(pl.col("_feeds").list.len() > 0)
        .then(
            pl.lit("; by the bill of materials it goes into ")
            + pl.col("_feeds").list.join(", ")
            + pl.lit(", whose demand it also serves")
        )
        .otherwise(pl.lit("")),
        pl.when(passed)
        .then(
            pl.lit("; flow-through stages upstream pass on their supplier's lead-time sd ")
            + pl.col("_passed_sd").round(2).cast(pl.String)
            + pl.lit(" and defect rate ")
            + (100 * pl.col("_passed_p")).round(1).cast(pl.String)
            + pl.lit("% (sized for lead-time sd ")
            + pl.col("_sd").round(2).cast(pl.String)
            + pl.lit(")")
        )
        .otherwise(pl.lit("")),
    )
    role = (
        pl.when(pl.col("stock_role") == "decoupling")
        .then(pl.lit("holds safety stock (a decoupling point)"))
        .otherwise(pl.lit("works flow-through (no safety stock of its own)"))
    )
    note = pl.concat_str(
        pl.lit("Multi-echelon plan: lead time = net replenishment time "),
        pl.col("net_lead_time").round(2).cast(pl.String),
        pl.lit(" (supply quoted in "),
        pl.col("inbound_service_time").round(2).cast(pl.String),
        pl.lit(", promise to customers "),
        pl.col("committed_service_time").round(2).cast(pl.String),
        pl.lit(" buckets); this stage "),
        role,
        served_text,
        pl.lit("."),
    )
    return frame.select(*KEYS, note.alias("echelon_note"))


def simulate_stage_networks(
    stages: pl.DataFrame,
    policies: pl.DataFrame,
    locations: pl.DataFrame,
    *,
    demand_keys: pl.DataFrame,
    demand: NDArray[np.float64],
    replications: int = 1,
    warmup: int = 0,
    seed: int = 0,
) -> pl.DataFrame:
    """Simulate the policies of every stage together, network by network.

    Items stocked at the same locations with the same policy types share one network
    shape; each shape runs as one batch of
    :func:`~stockpilot.core.simulation.multi_echelon.simulate_network` (installation
    policies on local inventory positions, orders between stages backordered at the
    supplier and rationed when it is short), so a store waits when its distribution centre
    is out, which a line-by-line simulation cannot show.

    Random lead times and defects: where ``stages`` has a ``lead_time_sd`` (buckets)
    and a ``defect_rate`` column, a stage with a positive sd draws the lead time of every
    shipment into it from :func:`~stockpilot.core.simulation.lead_time.fit_lead_time`
    (mean: its simulator lead time below, the same sd), and one with a positive defect
    rate scraps that share of what it receives. The planning run gives them to the supply
    stages (outside supplier -> first stage) from the supplier's receipts; internal lanes
    carry none, so they keep their fixed transport times. Without these columns (or with
    zeros) the results are those of constant lead times and no defects, exactly.

    Parameters
    ----------
    stages
        ``item_id, location_id, lead_time``: every stage of the multi-location networks
        with its transport (or supplier) lead time in whole buckets; optionally
        ``lead_time_sd`` and ``defect_rate`` per stage (missing values are 0).
    policies
        The stages' policies (``policy, reorder_point, order_quantity, order_up_to,
        review_period``).
    locations
        ``location_id, parent``.
    demand_keys, demand, replications
        Customer demand paths: ``demand`` is ``(len(demand_keys) * replications, T)``,
        the ``replications`` paths of each ``demand_keys`` row one after the other.
        Series of items without a multi-location network are ignored.
    warmup, seed
        As for ``simulate_network``.

    Returns
    -------
    polars.DataFrame
        ``item_id, location_id, network_fill_rate`` (share of customer demand met at once,
        NaN at stages without customers), ``network_stage_fill_rate`` (all requests,
        downstream orders included), ``network_on_hand`` (mean end-of-bucket stock),
        means over the replications.
    """
    _require(stages, (*KEYS, "lead_time"), "simulate_stage_networks", "stages")
    needed = ("policy", "reorder_point", "order_quantity", "order_up_to", "review_period")
    _require(policies, (*KEYS, *needed), "simulate_stage_networks", "policies")
    reps, horizon = int(replications), int(demand.shape[1])
    frame = (
        stages.select(
            *KEYS,
            "lead_time",
            *(
                pl.col(name).cast(pl.Float64).fill_null(0.0).fill_nan(0.0)
                if name in stages.columns
                else pl.lit(0.0).alias(name)
                for name in ("lead_time_sd", "defect_rate")
            ),
        )
        .join(policies.select(*KEYS, *needed), on=list(KEYS), how="left")
        .with_columns(
            pl.col("policy").fill_null("base_stock"),
            pl.col("review_period").fill_null(1.0).round(0).clip(lower_bound=1.0),
            pl.col("reorder_point", "order_up_to").fill_null(0.0).fill_nan(0.0),
            pl.col("order_quantity").fill_null(1.0).fill_nan(1.0).clip(lower_bound=1.0),
        )
        .sort("item_id", "location_id")
    )
    signature = frame.group_by("item_id", maintain_order=True).agg(
        pl.concat_str(
            "location_id", "policy", pl.col("review_period").cast(pl.String), separator=":"
        )
        .str.join("|")
        .alias("_shape")
    )
    frame = frame.join(signature, on="item_id", how="left", maintain_order="left")
    series = demand_keys.select(*KEYS).with_row_index("_path")
    parent_of = dict(
        zip(locations["location_id"].to_list(), locations["parent"].to_list(), strict=True)
    )
    out: list[pl.DataFrame] = []
    for (_,), rows in frame.group_by("_shape", maintain_order=True):
        first = rows["item_id"][0]
        head = rows.filter(pl.col("item_id") == first)
        locs = head["location_id"].to_list()
        k = len(locs)
        index = {loc: j for j, loc in enumerate(locs)}
        supplier = np.array([index.get(parent_of.get(loc) or "", -1) for loc in locs])
        items = rows["item_id"].unique(maintain_order=True)
        b = items.len()
        d = np.zeros((b * reps, k, horizon))
        fed = series.join(
            items.to_frame().with_row_index("_item"), on="item_id", how="inner"
        ).filter(pl.col("location_id").is_in(locs))
        if fed.height:
            item_idx = fed["_item"].to_numpy().astype(np.int64)
            node_idx = np.array([index[loc] for loc in fed["location_id"].to_list()])
            path = fed["_path"].to_numpy().astype(np.int64)
            for r in range(reps):
                d[item_idx * reps + r, node_idx] = demand[path * reps + r]

        def grid(name: str, rows: pl.DataFrame = rows, k: int = k) -> NDArray[np.float64]:
            values = rows[name].cast(pl.Float64).to_numpy().reshape(-1, k)
            return np.repeat(values, reps, axis=0)

        transport = _policy_lead_time(
            grid("lead_time"),
            _stocking_stages(
                np.repeat(rows["policy"].to_numpy().reshape(-1, k), reps, axis=0),
                grid("order_up_to"),
            ),
        )
        res = simulate_network(
            np.nan_to_num(np.maximum(d, 0.0)),
            supplier=supplier,
            policy=head["policy"].to_list(),
            reorder_point=grid("reorder_point"),
            order_quantity=grid("order_quantity"),
            order_up_to=grid("order_up_to"),
            review_period=head["review_period"].to_numpy().astype(np.int64),
            lead_time=_shipment_lead_times(transport, grid("lead_time_sd"), horizon),
            defect_rate=_defects_or_none(grid("defect_rate")),
            warmup=warmup,
            seed=seed,
        )

        def per_stage(values: NDArray[np.float64], b: int = b, k: int = k) -> NDArray[np.float64]:
            with np.errstate(invalid="ignore"):
                stacked = values.reshape(b, reps, k)
                seen = np.isfinite(stacked).sum(axis=1)
                total = np.nansum(stacked, axis=1)
            return np.where(seen > 0, total / np.maximum(seen, 1), np.nan).reshape(-1)

        out.append(
            rows.select(*KEYS).with_columns(
                pl.Series("network_fill_rate", per_stage(res.customer_fill_rate)),
                pl.Series("network_stage_fill_rate", per_stage(res.fill_rate)),
                pl.Series("network_on_hand", per_stage(res.average_on_hand)),
            )
        )
    if not out:
        return pl.DataFrame(
            schema={
                "item_id": pl.String,
                "location_id": pl.String,
                "network_fill_rate": pl.Float64,
                "network_stage_fill_rate": pl.Float64,
                "network_on_hand": pl.Float64,
            }
        )
    return pl.concat(out).sort(*KEYS)


def _shipment_lead_times(
    fixed: NDArray[np.int64], sd: NDArray[np.float64], horizon: int
) -> NDArray[np.int64] | LeadTimeDistribution:
    """Per-shipment lead times of an (N, K) grid of stages: the fixed simulator lead
    times, or where any stage has a positive sd, the sampler of
    :func:`~stockpilot.core.simulation.lead_time.fit_lead_time` with those means (stages
    with sd 0 keep their fixed time: the fit of an integer mean with sd 0 is that mean)."""
    if not np.any(sd > 0):
        return np.repeat(fixed[:, :, None], horizon, axis=2)
    return fit_lead_time(fixed.astype(np.float64), np.maximum(sd, 0.0))


def _defects_or_none(rates: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """The (N, K) defect rates (clipped to [0, 0.95]) when any is positive, else None (the
    simulators' fast path without scrap draws)."""
    rates = np.clip(np.nan_to_num(rates), 0.0, 0.95)
    return rates if np.any(rates > 0) else None


def _replication_mean(values: NDArray[np.float64], b: int, reps: int) -> NDArray[np.float64]:
    """(b * reps, K) per-replication measures -> (b * K,) means over the replications
    that have a figure (NaN where none has)."""
    k = values.shape[1]
    with np.errstate(invalid="ignore"):
        stacked = values.reshape(b, reps, k)
        seen = np.isfinite(stacked).sum(axis=1)
        total = np.nansum(stacked, axis=1)
    return np.where(seen > 0, total / np.maximum(seen, 1), np.nan).reshape(-1)


def _stocking_stages(
    policy: Sequence[object] | NDArray[Any], order_up_to: ArrayLike
) -> NDArray[np.int64]:
    """1 where a stage holds stock, 0 at flow-through stages (``base_stock`` with an
    order-up-to level of at most 0, or no policy), element by element."""
    kinds = np.asarray([str(p) for p in np.asarray(policy, dtype=object).ravel()], dtype=object)
    levels = np.asarray(order_up_to, dtype=np.float64)
    flow = (kinds.reshape(levels.shape) == "base_stock") & (levels <= 0.0)
    return (~flow).astype(np.int64)


def _policy_lead_time(time: ArrayLike, stocking: ArrayLike) -> NDArray[np.int64]:
    """Simulator lead time (a shipment sent in bucket ``t`` is usable from ``t + L + 1``)
    of the inbound lane (or outside supply) of each stage, on the policy engine's timing.

    A stage's inbound time ``T`` (buckets, rounded up) would make a shipment usable ``T``
    buckets after the order (simulator lead time ``T - 1``, the order seen upstream in the
    same bucket), so through flow-through stages an order reaches a stocking stage ``tau``
    buckets after it is placed. The policy engine sizes for the single-echelon convention
    instead (an order placed in bucket ``t`` with lead time ``L`` is usable from
    ``t + L + 1``, see
    :func:`~stockpilot.core.simulation.single_echelon.simulate_single_echelon`), so a
    stocking stage (``stocking`` 1) gets simulator lead time ``T``: one bucket more. A
    flow-through stage (``stocking`` 0) passes orders on as they come and keeps ``T - 1``
    (at least 0). Both network simulations (item networks and product families) use this
    rule.
    """
    periods = np.ceil(np.asarray(time, dtype=np.float64) - 1e-9) - 1.0
    return np.maximum(periods + np.asarray(stocking), 0.0).astype(np.int64)


def _policy_timing(
    topology: AssemblyTopology, network: Network, rows: list[tuple[Any, ...]]
) -> AssemblyTopology:
    """``topology`` (of ``network``) with the lane and supply times of
    :func:`_policy_lead_time`: one bucket more into every stage that holds stock.
    ``rows`` are the stages' policy rows in node order (policy, reorder point, order-up-to,
    ...)."""
    stocking = _stocking_stages([r[0] for r in rows], [float(r[2]) for r in rows])
    arr = network.arrays()
    down = topology.lanes[:, 1]
    # the inbound times assembly_topology rounds: processing plus lane (or outside supply)
    lane_time = arr.processing_time[down] + arr.edge_lead_time
    supply_time = arr.processing_time + arr.external_inbound_cst
    return replace(
        topology,
        lane_lead_time=_policy_lead_time(lane_time, stocking[down]),
        supply_lead_time=_policy_lead_time(supply_time, stocking),
    )


@dataclass(frozen=True)
class _FamilyRun:
    """One family ready to simulate: its stages in the topology's node order and their
    policy rows (policy, reorder point, order-up-to, quantity, review period)."""

    family_id: str
    topology: AssemblyTopology
    stages: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]


def simulate_family_networks(
    families: Sequence[FamilyNetwork],
    policies: pl.DataFrame,
    *,
    demand_keys: pl.DataFrame,
    demand: NDArray[np.float64],
    replications: int = 1,
    warmup: int = 0,
    supply: pl.DataFrame | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Simulate the policies of every stage of each product family together.

    A family (items linked by bills of material, see
    :func:`~stockpilot.engine.network.build_family_networks`) is an assembly network: a
    parent's stage at the assembly location is fed by its components' stages there, in
    ``quantity_per`` units each. Each family is mapped by
    :func:`~stockpilot.core.simulation.multi_echelon.assembly_topology` and run by
    :func:`~stockpilot.core.simulation.multi_echelon.simulate_assembly_network`
    (installation policies on local inventory positions; an assembly waits for its
    scarcest component; orders between stages are backordered and rationed at the
    supplier), so an end item's customers wait when a component is short. Families with
    the same topology, lead times and policy types run as one batch.

    Parameters
    ----------
    families
        The product families of the run.
    policies
        Policies of the family stages (``item_id, location_id, policy, reorder_point,
        order_quantity, order_up_to, review_period``); a stage without one holds nothing
        (base stock 0).
    demand_keys, demand, replications
        Customer demand paths: ``demand`` is ``(len(demand_keys) * replications, T)``,
        the ``replications`` paths of each ``demand_keys`` row one after the other.
        Series at no family stage are ignored.
    warmup
        Periods simulated but not measured.
    supply
        ``item_id, location_id, lead_time_sd, defect_rate`` of the stages fed by an
        outside supplier (the others are ignored; missing stages and values are 0): each
        such shipment's lead time is drawn from
        :func:`~stockpilot.core.simulation.lead_time.fit_lead_time` with the stage's
        simulator supply time as mean and this sd, and that share of the units received is
        scrapped. Lanes between stages keep their fixed times. ``None``: constant supply
        times, no defects (the results are then exactly those of zero sd and defects).
    seed
        Seed of the lead-time and defect draws.

    Returns
    -------
    polars.DataFrame
        ``item_id, location_id, family_id, network_fill_rate`` (share of customer demand
        met at once, NaN at stages without customers), ``network_stage_fill_rate`` (all
        requests, the assemblies' orders for components included), ``network_on_hand``
        (mean end-of-bucket stock, in units of the stage's item), means over the
        replications.
    """
    needed = ("policy", "reorder_point", "order_quantity", "order_up_to", "review_period")
    _require(policies, (*KEYS, *needed), "simulate_family_networks", "policies")
    _require(demand_keys, KEYS, "simulate_family_networks", "demand_keys")
    reps, horizon = int(replications), int(demand.shape[1])
    if demand.shape[0] != demand_keys.height * reps:
        raise InvalidDataError(
            f"simulate_family_networks: demand has {demand.shape[0]} paths; expected "
            f"{demand_keys.height} series x {reps} replications = {demand_keys.height * reps}."
        )
    table = policies.select(
        pl.col("item_id").cast(pl.String),
        pl.col("location_id").cast(pl.String),
        pl.col("policy").fill_null("base_stock"),
        pl.col("reorder_point", "order_up_to").cast(pl.Float64).fill_null(0.0).fill_nan(0.0),
        pl.col("order_quantity")
        .cast(pl.Float64)
        .fill_null(1.0)
        .fill_nan(1.0)
        .clip(lower_bound=1.0),
        pl.col("review_period").cast(pl.Float64).fill_null(1.0).round(0).clip(lower_bound=1.0),
    )
    policy_of = {(r[0], r[1]): r[2:] for r in table.iter_rows()}
    variability: dict[tuple[str, str], tuple[float, float]] = {}
    if supply is not None:
        _require(
            supply, (*KEYS, "lead_time_sd", "defect_rate"), "simulate_family_networks", "supply"
        )
        clean = supply.select(
            pl.col("item_id").cast(pl.String),
            pl.col("location_id").cast(pl.String),
            pl.col("lead_time_sd", "defect_rate").cast(pl.Float64).fill_null(0.0).fill_nan(0.0),
        )
        variability = {(r[0], r[1]): (r[2], r[3]) for r in clean.iter_rows()}
    default = ("base_stock", 0.0, 0.0, 1.0, 1.0)
    path_of = {
        (str(item), str(loc)): p
        for p, (item, loc) in enumerate(demand_keys.select(*KEYS).iter_rows())
    }
    groups: dict[tuple[object, ...], list[_FamilyRun]] = {}
    for family in families:
        where = {
            stage_id(item, loc): (item, loc)
            for item, loc in zip(family.stage_items, family.stage_locations, strict=True)
        }
        stages = [where[node] for node in family.network.node_ids]
        rows = [policy_of.get(stage, default) for stage in stages]
        topology = _policy_timing(assembly_topology(family.network), family.network, rows)
        rows = [policy_of.get(where[node], default) for node in topology.node_ids]
        stages = [where[node] for node in topology.node_ids]
        signature = (
            topology.lanes.tobytes(),
            topology.bom_quantity.tobytes(),
            topology.lane_lead_time.tobytes(),
            topology.supply_lead_time.tobytes(),
            tuple(str(r[0]) for r in rows),
            tuple(float(r[4]) for r in rows),
        )
        groups.setdefault(signature, []).append(
            _FamilyRun(family.family_id, topology, stages, rows)
        )
    out: list[pl.DataFrame] = []
    for members in groups.values():
        head = members[0]
        k, b = len(head.stages), len(members)
        d = np.zeros((b * reps, k, horizon))
        levels = np.zeros((3, b * reps, k))
        # lead-time sd and defect rate of the outside supply into each node (no inbound lane)
        outside = np.bincount(head.topology.lanes[:, 1], minlength=k) == 0
        supply_sd, supply_defects = np.zeros((2, b * reps, k))
        for i, member in enumerate(members):
            block = slice(i * reps, (i + 1) * reps)
            for node, stage in enumerate(member.stages):
                path = path_of.get(stage)
                if path is not None:
                    d[block, node] = demand[path * reps : (path + 1) * reps]
                if outside[node] and stage in variability:
                    supply_sd[block, node], supply_defects[block, node] = variability[stage]
            for j, column in enumerate((1, 2, 3)):  # reorder point, order-up-to, quantity
                levels[j, block] = [float(r[column]) for r in member.rows]
        res = simulate_assembly_network(
            np.nan_to_num(np.maximum(d, 0.0)),
            lanes=head.topology.lanes,
            bom_quantity=head.topology.bom_quantity,
            lane_lead_time=head.topology.lane_lead_time,
            supply_lead_time=(
                fit_lead_time(
                    np.broadcast_to(head.topology.supply_lead_time, (b * reps, k)).astype(float),
                    np.maximum(supply_sd, 0.0),
                )
                if np.any(supply_sd > 0)
                else head.topology.supply_lead_time
            ),
            policy=[str(r[0]) for r in head.rows],
            reorder_point=levels[0],
            order_up_to=levels[1],
            order_quantity=levels[2],
            review_period=np.array([r[4] for r in head.rows], dtype=np.int64),
            supply_defect_rate=_defects_or_none(supply_defects),
            warmup=warmup,
            seed=seed,
        )
        out.append(
            pl.DataFrame(
                {
                    "item_id": [item for m in members for item, _ in m.stages],
                    "location_id": [loc for m in members for _, loc in m.stages],
                    "family_id": [m.family_id for m in members for _ in m.stages],
                    "network_fill_rate": _replication_mean(res.customer_fill_rate, b, reps),
                    "network_stage_fill_rate": _replication_mean(res.fill_rate, b, reps),
                    "network_on_hand": _replication_mean(res.average_on_hand, b, reps),
                },
                schema=FAMILY_SIMULATION_SCHEMA,
            )
        )
    if not out:
        return pl.DataFrame(schema=FAMILY_SIMULATION_SCHEMA)
    return pl.concat(out).sort(*KEYS)


FAMILY_SIMULATION_SCHEMA: dict[str, type[pl.DataType]] = {
    "item_id": pl.String,
    "location_id": pl.String,
    "family_id": pl.String,
    "network_fill_rate": pl.Float64,
    "network_stage_fill_rate": pl.Float64,
    "network_on_hand": pl.Float64,
}
