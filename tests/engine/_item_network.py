"""One item on PLANT -> DC -> S1, placed and sized the way the planning run's network step
does it, for the item-network simulation tests."""

from __future__ import annotations

import numpy as np
import polars as pl

from stockpilot.engine.echelon import (
    echelon_map,
    echelon_panel,
    echelon_parameters,
    pass_through_flow_stages,
    pass_through_supply_variability,
)
from stockpilot.engine.network import optimize_network_stock
from stockpilot.engine.panel import Panel
from stockpilot.engine.policies import compute_policies
from stockpilot.vocab import Bucket

#: PLANT -> DC -> S1.
CHAIN = pl.DataFrame(
    {"location_id": ["PLANT", "DC", "S1"], "parent": [None, "PLANT", "DC"]},
    schema={"location_id": pl.String, "parent": pl.String},
)


def item_network_policies(
    history: np.ndarray, target: float, *, supply: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Placement, stage lead times and policies of item A on :data:`CHAIN` (supplier 4
    buckets, transfers 1 bucket each) from the store's weekly ``history``; ``supply``
    (``item_id, location_id, lead_time_sd, defect_rate``) is handed down flow-through
    stages by :func:`pass_through_supply_variability` when given."""
    keys = pl.DataFrame({"item_id": ["A"] * 3, "location_id": ["DC", "PLANT", "S1"]})
    series = pl.DataFrame({"item_id": ["A"], "location_id": ["S1"]})
    frame = keys.with_columns(
        lead_time=pl.Series([1.0, 4.0, 1.0]),
        demand_mean=pl.Series([0.0, 0.0, float(history.mean())]),
        demand_sd=pl.Series([0.0, 0.0, float(history.std(ddof=1))]),
        holding_cost=pl.Series([1.1, 1.0, 1.2]),
    )
    placement = optimize_network_stock(frame, CHAIN)
    mapping = echelon_map(series, keys, CHAIN)
    variability = (
        None if supply is None else pass_through_supply_variability(placement, supply, CHAIN)
    )
    params = echelon_parameters(
        keys.with_columns(
            lead_time=pl.lit(1.0), service_target=pl.lit(target), review_period=pl.lit(1.0)
        ),
        placement,
        mapping,
        supply_variability=variability,
    )
    periods = np.arange(history.size).astype("datetime64[W]").astype("datetime64[D]")
    panel = echelon_panel(Panel(series, periods, history[None, :], Bucket.WEEK), mapping, keys)
    policies = pass_through_flow_stages(compute_policies(panel, items=params), placement)
    return placement, frame.select("item_id", "location_id", "lead_time"), policies
