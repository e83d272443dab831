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
* :func:`echelon_note`: the sentence each such policy line adds to its explanation;
* :func:`simulate_stage_networks`: every stage's policy simulated together with the
  others of its network (a store waits when its distribution centre is out).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.core.simulation.multi_echelon import simulate_network
from stockpilot.engine.panel import KEYS, Panel
from stockpilot.errors import InvalidDataError

__all__ = [
    "echelon_forecast",
    "echelon_map",
    "echelon_note",
    "echelon_panel",
    "echelon_parameters",
    "multi_location_nodes",
    "pass_through_flow_stages",
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


def echelon_map(keys: pl.DataFrame, nodes: pl.DataFrame, locations: pl.DataFrame) -> pl.DataFrame:
    """Which demand series feeds which stage.

    Parameters
    ----------
    keys
        ``item_id, location_id`` of the demand series (e.g. ``Panel.keys``).
    nodes
        ``item_id, location_id`` of the stages (one row per stage of each item network).
    locations
        ``location_id, parent`` (null at the top of the hierarchy).

    Returns
    -------
    polars.DataFrame
        ``item_id, location_id`` (the series), ``node_id`` (a stage of the same item: the
        series' own location or one of its ancestors that is a stage), ``depth`` (0 for
        the own location, 1 for its parent, ...). Series whose item has no stage are left
        out.
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
    mapping = pl.concat(found).join(stages, on=["item_id", "node_id"], how="semi")
    return mapping.sort("item_id", "node_id", "location_id")


def echelon_panel(panel: Panel, mapping: pl.DataFrame, nodes: pl.DataFrame) -> Panel:
    """Demand each stage serves: the sum of the series mapped to it (one row per stage).

    A bucket is NaN at a stage only when none of its series was observed yet (not
    launched); otherwise missing series count as 0. Stages that no series feeds get an
    all-NaN row. Rows follow ``nodes`` (``item_id, location_id``) in their order.
    """
    _require(mapping, (*KEYS, "node_id"), "echelon_panel", "mapping")
    stage_keys = nodes.select(
        pl.col("item_id").cast(pl.String), pl.col("location_id").cast(pl.String)
    )
    n_stages, t = stage_keys.height, panel.n_periods
    pairs = (
        mapping.join(panel.keys.with_row_index("_src"), on=["item_id", "location_id"], how="inner")
        .join(
            stage_keys.with_row_index("_dst").rename({"location_id": "node_id"}),
            on=["item_id", "node_id"],
            how="inner",
        )
        .select("_src", "_dst")
    )
    src = pairs["_src"].to_numpy().astype(np.int64)
    dst = pairs["_dst"].to_numpy().astype(np.int64)
    values = np.zeros((n_stages, t))
    observed = np.zeros((n_stages, t), dtype=np.int64)
    source = panel.values[src]
    np.add.at(values, dst, np.nan_to_num(source))
    np.add.at(observed, dst, ~np.isnan(source))
    values[observed == 0] = np.nan
    return Panel(stage_keys, panel.periods, values, panel.bucket)


def echelon_forecast(forecast: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """Forecast of each stage: per period, the sum of its series' means; the variances of
    the series (``sd`` column, when present) are added (independent forecast errors)."""
    _require(forecast, (*KEYS, "period_start", "mean"), "echelon_forecast", "forecast")
    has_sd = "sd" in forecast.columns
    joined = forecast.join(mapping.select(*KEYS, "node_id"), on=list(KEYS), how="inner")
    aggs = [pl.col("mean").sum()]
    if has_sd:
        aggs.append(pl.col("sd").fill_nan(None).pow(2).sum().sqrt().alias("sd"))
    return (
        joined.group_by("item_id", "node_id", "period_start")
        .agg(aggs)
        .rename({"node_id": "location_id"})
        .sort("item_id", "location_id", "period_start")
    )


def echelon_parameters(
    parameters: pl.DataFrame, placement: pl.DataFrame, mapping: pl.DataFrame
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

    Returns
    -------
    polars.DataFrame
        ``parameters`` with ``lead_time = net_lead_time + information_delay``.
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
    if "service_target" in frame.columns:
        # A stage serves at least the highest target of the series it feeds (its own
        # series included): an upstream stage that lets an A item down fails A service.
        series_target = parameters.select(*KEYS, "service_target")
        served = (
            mapping.join(series_target, on=list(KEYS), how="inner")
            .group_by("item_id", "node_id")
            .agg(pl.col("service_target").max().alias("_served_target"))
            .rename({"node_id": "location_id"})
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


def echelon_note(placement: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """``item_id, location_id, echelon_note``: one sentence per stage saying what the
    network placement changed (net replenishment time, quoted service time, role, and the
    locations served)."""
    _require(
        placement,
        (*KEYS, "net_lead_time", "committed_service_time", "inbound_service_time", "stock_role"),
        "echelon_note",
        "placement",
    )
    served = (
        mapping.filter(pl.col("depth") > 0)
        .group_by("item_id", "node_id")
        .agg(pl.col("location_id").unique().sort().alias("_served"))
        .rename({"node_id": "location_id"})
    )
    frame = placement.join(served, on=list(KEYS), how="left")
    served_text = (
        pl.when(pl.col("_served").list.len() > 0)
        .then(pl.lit("; it serves ") + pl.col("_served").list.join(", "))
        .otherwise(pl.lit(""))
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

    Parameters
    ----------
    stages
        ``item_id, location_id, lead_time``: every stage of the multi-location networks
        with its transport (or supplier) lead time in whole buckets.
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
        stages.select(*KEYS, "lead_time")
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

        transport = np.maximum(np.rint(grid("lead_time")) - 1.0, 0.0).astype(np.int64)
        res = simulate_network(
            np.nan_to_num(np.maximum(d, 0.0)),
            supplier=supplier,
            policy=head["policy"].to_list(),
            reorder_point=grid("reorder_point"),
            order_quantity=grid("order_quantity"),
            order_up_to=grid("order_up_to"),
            review_period=head["review_period"].to_numpy().astype(np.int64),
            lead_time=np.repeat(transport[:, :, None], horizon, axis=2),
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
