"""A realistic demo company, generated deterministically from a seed.

Two business units share one warehouse; a plant feeds it; two distribution centres and
a handful of stores sit below. Items span the demand patterns a planner meets
(smooth, erratic, intermittent, lumpy, seasonal, new, declining) and lifecycle stages.
Suppliers have lead-time variability, on-time and defect rates; purchase orders carry
ASNs and receipts. Everything is generated with array operations so the company scales
to hundreds of thousands of item-locations.

The true weekly demand lives in :attr:`DemoCompany.weekly`; the source extracts built
from it (ERP, POS, CRM) are in :mod:`stockpilot.io.demo.extracts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stockpilot.errors import parameter_error

PATTERNS = ("smooth", "erratic", "intermittent", "lumpy", "seasonal", "new", "declining")
PATTERN_SHARES = (0.30, 0.10, 0.18, 0.10, 0.15, 0.09, 0.08)
CATEGORIES = ("fasteners", "hydraulics", "electrical", "filters", "bearings", "tools")
BUSINESS_UNITS = ("BU-IND", "BU-RET")
DCS = ("DC-NORTH", "DC-SOUTH")
SHARED_WAREHOUSE = "WH-SHARED"
PLANT = "PLANT-01"
STORES = ("ST-01", "ST-02", "ST-03", "ST-04", "ST-05", "ST-06")
WEEKDAY_PROFILE = np.array([0.12, 0.12, 0.13, 0.14, 0.17, 0.20, 0.12])  # Mon..Sun


@dataclass(frozen=True)
class DemoCompany:
    """All canonical tables of the demo company plus its true weekly demand.

    ``weekly`` holds one row per item-location-channel-week (item_id, location_id,
    channel, week (Monday), quantity) before any source system touched it.
    """

    as_of: date
    weeks: int
    business_units: pl.DataFrame
    items: pl.DataFrame
    locations: pl.DataFrame
    suppliers: pl.DataFrame
    supplier_items: pl.DataFrame
    purchase_orders: pl.DataFrame
    receipts: pl.DataFrame
    on_hand: pl.DataFrame
    cycle_counts: pl.DataFrame
    fiscal_calendar: pl.DataFrame
    events: pl.DataFrame
    weekly: pl.DataFrame

    @property
    def n_item_locations(self) -> int:
        return self.weekly.select("item_id", "location_id").unique().height


def _monday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _business_units() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "business_unit_id": list(BUSINESS_UNITS),
            "name": ["Industrial supply", "Retail"],
            "currency": ["EUR", "EUR"],
        }
    )


def _locations() -> pl.DataFrame:
    ids = [PLANT, SHARED_WAREHOUSE, *DCS, *STORES]
    types = ["plant", "warehouse", "dc", "dc", *["store"] * len(STORES)]
    parents = [None, PLANT, SHARED_WAREHOUSE, SHARED_WAREHOUSE, *[DCS[i % 2] for i in range(6)]]
    units = ["BU-IND", None, "BU-IND", "BU-IND", *["BU-RET"] * len(STORES)]
    shared = [None, "BU-IND;BU-RET", None, None, *[None] * len(STORES)]
    capability = ["daily_batch", "real_time", "daily_batch", "daily_batch", *["weekly_batch"] * 6]
    latency = [24.0, 1.0, 24.0, 24.0, *[72.0] * len(STORES)]
    return pl.DataFrame(
        {
            "location_id": ids,
            "name": [i.replace("-", " ").title() for i in ids],
            "type": types,
            "business_unit_id": units,
            "business_units": shared,
            "parent_location_id": parents,
            "review_capability": capability,
            "data_latency_hours": latency,
        }
    )


def _items(rng: np.random.Generator, n: int) -> pl.DataFrame:
    pattern = rng.choice(len(PATTERNS), size=n, p=np.array(PATTERN_SHARES))
    unit_cost = np.round(np.exp(rng.normal(2.5, 1.1, n)), 2) + 0.05
    lifecycle = np.where(
        pattern == PATTERNS.index("new"),
        "new",
        np.where(pattern == PATTERNS.index("declining"), "phase_out", "active"),
    )
    obsolete = (pattern == PATTERNS.index("declining")) & (rng.random(n) < 0.25)
    shelf_life = np.where(rng.random(n) < 0.15, rng.integers(60, 365, n), -1)
    pack = rng.choice(np.array([1, 1, 1, 6, 10, 12, 24]), size=n)
    bu = np.where(rng.random(n) < 0.55, BUSINESS_UNITS[0], BUSINESS_UNITS[1])
    category = np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)]
    ids = np.array([f"SKU-{i:06d}" for i in range(1, n + 1)])
    # Planners name an established item of the same category as each new item's analogue
    # (like-item forecasting); half of them say how much it should sell relative to it.
    analogue = np.full(n, None, dtype=object)
    factor = np.full(n, np.nan)
    established = pattern == PATTERNS.index("smooth")
    for i in np.flatnonzero(pattern == PATTERNS.index("new")):
        peers = np.flatnonzero(established & (category == category[i]))
        if peers.size:
            analogue[i] = ids[rng.choice(peers)]
            factor[i] = np.round(rng.uniform(0.6, 1.2), 2) if rng.random() < 0.5 else np.nan
    return pl.DataFrame(
        {
            "item_id": ids,
            "unit_cost": unit_cost,
            "description": [f"Demo item {i}" for i in range(1, n + 1)],
            "category": category,
            "uom": "EA",
            "price": np.round(unit_cost * rng.uniform(1.3, 2.2, n), 2),
            "shelf_life_days": pl.Series(shelf_life).replace(-1, None),
            "pack_size": pack.astype(float),
            "lifecycle_flag": lifecycle,
            "obsolete": obsolete,
            "replenishment_type": np.where(rng.random(n) < 0.8, "buy", "make"),
            "business_unit_id": bu,
            "holding_cost_rate": 0.25,
            "order_cost": np.round(rng.uniform(20, 120, n), 0),
            "analogue_item_id": pl.Series(analogue.tolist(), dtype=pl.String),
            "analogue_factor": pl.Series(factor).fill_nan(None),
            "_pattern": np.array(PATTERNS)[pattern],
        }
    )


def _item_locations(rng: np.random.Generator, items: pl.DataFrame) -> pl.DataFrame:
    """Where each item sells, and through which channel (vectorized draws)."""
    n = items.height
    ids = items["item_id"].to_numpy()
    retail_bu = items["business_unit_id"].to_numpy() == BUSINESS_UNITS[1]
    parts: list[pl.DataFrame] = []
    # Wholesale at one or both DCs (every item sells somewhere wholesale or retail).
    north = rng.random(n) < 0.75
    south = (rng.random(n) < 0.5) | ~north
    for flag, dc in ((north, DCS[0]), (south, DCS[1])):
        parts.append(
            pl.DataFrame({"item_id": ids[flag], "location_id": dc, "channel": "wholesale"})
        )
    # Retail at up to two stores, mostly retail-unit items.
    store_count = np.where(retail_bu, rng.integers(1, 3, n), (rng.random(n) < 0.1).astype(int))
    for k in range(2):
        flag = store_count > k
        store = np.array(STORES)[rng.integers(0, len(STORES), n)]
        parts.append(
            pl.DataFrame({"item_id": ids[flag], "location_id": store[flag], "channel": "retail"})
        )
    online = rng.random(n) < 0.35
    parts.append(
        pl.DataFrame({"item_id": ids[online], "location_id": SHARED_WAREHOUSE, "channel": "online"})
    )
    # Spare-part consumption at the plant (intermittent, stops during shutdowns).
    plant = rng.random(n) < 0.05
    parts.append(pl.DataFrame({"item_id": ids[plant], "location_id": PLANT, "channel": "internal"}))
    return pl.concat(parts).unique(["item_id", "location_id", "channel"], maintain_order=True)


def _weekly_rates(
    rng: np.random.Generator, pattern: NDArray[np.str_], weeks: int, week_of_year: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Simulated weekly demand (N, T) per pattern, as integers in float64."""
    n = pattern.shape[0]
    t = np.arange(weeks)[None, :]
    level = np.exp(rng.normal(2.8, 1.0, size=(n, 1)))
    out = np.zeros((n, weeks))

    def rows(name: str) -> NDArray[np.bool_]:
        return pattern == name

    smooth = rows("smooth") | rows("seasonal") | rows("new") | rows("declining")
    mean = np.broadcast_to(level, (n, weeks)).copy()
    season = 1.0 + 0.6 * np.sin(2 * np.pi * (week_of_year[None, :] - 10) / 52.0)
    mean[rows("seasonal")] *= season
    launch = rng.integers(weeks // 3, weeks - 8, size=(n, 1))
    ramp = np.clip((t - launch + 1) / 12.0, 0, 1)
    mean[rows("new")] *= ramp[rows("new")]
    decay = np.exp(-rng.uniform(0.01, 0.04, size=(n, 1)) * t)
    mean[rows("declining")] *= decay[rows("declining")]
    out[smooth] = rng.poisson(mean[smooth])
    erratic = rows("erratic")
    shape = 0.8
    out[erratic] = np.round(rng.gamma(shape, mean[erratic] / shape))
    inter = rows("intermittent")
    p_int = rng.uniform(0.1, 0.45, size=(n, 1))
    occurs = rng.random((n, weeks)) < p_int
    sizes = 1 + rng.poisson(np.minimum(level, 4.0) / 2, (n, weeks))
    out[inter] = (occurs * sizes)[inter]
    lumpy = rows("lumpy")
    p_lumpy = rng.uniform(0.05, 0.3, size=(n, 1))
    occurs_l = rng.random((n, weeks)) < p_lumpy
    big = np.round(rng.lognormal(np.log(level + 5), 0.9, (n, weeks)))
    out[lumpy] = (occurs_l * big)[lumpy]
    # New items have not sold before launch.
    new_rows = rows("new")
    out[new_rows] = np.where(t < launch, np.nan, out)[new_rows]
    return out


def _fiscal_calendar(first_year: int, years: int) -> pl.DataFrame:
    """A 4-4-5 fiscal calendar starting on the Monday on or before 1 January."""
    rows = []
    for year in range(first_year, first_year + years):
        start = _monday_on_or_before(date(year, 1, 1))
        for p, length in enumerate([4, 4, 5] * 4, start=1):
            end = start + timedelta(weeks=length) - timedelta(days=1)
            close = end + timedelta(days=3)
            while close.weekday() >= 5:
                close += timedelta(days=1)
            rows.append((f"FY{year % 100:02d}-P{p:02d}", start, end, close))
            start = end + timedelta(days=1)
    return pl.DataFrame(
        rows, schema=["period", "start_date", "end_date", "close_date"], orient="row"
    )


def generate_company(
    *, items: int = 850, weeks: int = 104, seed: int = 7, as_of: date | None = None
) -> DemoCompany:
    """Generate the demo company.

    Parameters
    ----------
    items
        Number of items; each sells at about three locations (850 items give roughly
        2,000 item-locations).
    weeks
        Weeks of demand history up to ``as_of``.
    seed
        Seed of the random generator: the same seed gives the same company.
    as_of
        The data's "today"; the default is a fixed date so demos reproduce.
    """
    if items < 10:
        raise parameter_error("generate_company", "items", "an integer >= 10", items)
    if weeks < 30:
        raise parameter_error("generate_company", "weeks", "an integer >= 30", weeks)
    as_of = as_of or date(2026, 11, 2)
    rng = np.random.default_rng(seed)
    first_week = _monday_on_or_before(as_of) - timedelta(weeks=weeks)
    week_starts = np.array(
        [first_week + timedelta(weeks=k) for k in range(weeks)], dtype="datetime64[D]"
    )
    week_of_year = np.array([d.isocalendar()[1] for d in week_starts.astype(date)], dtype=np.int64)

    item_frame = _items(rng, items)
    placements = _item_locations(rng, item_frame).join(
        item_frame.select("item_id", "_pattern"), on="item_id"
    )
    pattern = placements["_pattern"].to_numpy()
    # Online and internal channels are thinner than wholesale.
    quantities = _weekly_rates(rng, pattern, weeks, week_of_year)
    channel = placements["channel"].to_numpy()
    scale = np.where(channel == "online", 0.4, np.where(channel == "internal", 0.2, 1.0))[:, None]
    quantities = np.where(np.isnan(quantities), np.nan, np.round(quantities * scale))
    events, promo_mask, shutdown_mask = _events(rng, placements, week_starts, as_of)
    quantities = np.where(promo_mask, np.round(quantities * 1.6), quantities)
    quantities = np.where(shutdown_mask, 0.0, quantities)

    n, t = quantities.shape
    keep = ~np.isnan(quantities.reshape(-1))
    row = np.repeat(np.arange(n), t)[keep]
    col = np.tile(np.arange(t), n)[keep]
    weekly = placements.select("item_id", "location_id", "channel")[row].with_columns(
        pl.Series("week", week_starts[col]).cast(pl.Date),
        pl.Series("quantity", quantities.reshape(-1)[keep]),
    )
    suppliers, supplier_items = _suppliers(rng, item_frame)
    purchase_orders, receipts = _purchasing(rng, supplier_items, suppliers, first_week, as_of)
    on_hand = _on_hand(rng, placements, quantities, item_frame, as_of)
    cycle_counts = _cycle_counts(rng, on_hand)
    return DemoCompany(
        as_of=as_of,
        weeks=weeks,
        business_units=_business_units(),
        items=item_frame,
        locations=_locations(),
        suppliers=suppliers,
        supplier_items=supplier_items,
        purchase_orders=purchase_orders,
        receipts=receipts,
        on_hand=on_hand,
        cycle_counts=cycle_counts,
        fiscal_calendar=_fiscal_calendar(first_week.year, as_of.year - first_week.year + 2),
        events=events,
        weekly=weekly,
    )


def _events(
    rng: np.random.Generator,
    placements: pl.DataFrame,
    week_starts: NDArray[np.datetime64],
    as_of: date,
) -> tuple[pl.DataFrame, NDArray[np.bool_], NDArray[np.bool_]]:
    """Promotions on a few retail items and a two-week plant shutdown each December."""
    n, t = placements.height, week_starts.shape[0]
    retail = np.flatnonzero(placements["channel"].to_numpy() == "retail")
    promo_mask = np.zeros((n, t), dtype=bool)
    rows: list[dict[str, object]] = []
    n_promos = max(1, retail.shape[0] // 25)
    chosen = rng.choice(retail, size=min(n_promos, retail.shape[0]), replace=False)
    starts = rng.integers(4, t - 2, chosen.shape[0])
    for k, (r, s) in enumerate(zip(chosen.tolist(), starts.tolist(), strict=True)):
        promo_mask[r, s : s + 2] = True
        start = week_starts[s].astype(date)
        rows.append(
            {
                "event_id": f"PROMO-{k + 1:04d}",
                "kind": "promotion",
                "start_date": start,
                "end_date": start + timedelta(days=13),
                "item_id": placements["item_id"][r],
                "location_id": placements["location_id"][r],
                "uplift_pct": 60.0,
                "author": "marketing",
                "reason": "Two-week store promotion",
            }
        )
    # A future promotion the forecast must honour.
    future = as_of + timedelta(days=21)
    if chosen.shape[0]:
        r = int(chosen[0])
        rows.append(
            {
                "event_id": "PROMO-NEXT",
                "kind": "promotion",
                "start_date": future,
                "end_date": future + timedelta(days=13),
                "item_id": placements["item_id"][r],
                "location_id": placements["location_id"][r],
                "uplift_pct": 50.0,
                "author": "marketing",
                "reason": "Planned spring campaign",
            }
        )
    plant_rows = placements["location_id"].to_numpy() == PLANT
    shutdown_mask = np.zeros((n, t), dtype=bool)
    december = np.array([d.month == 12 and d.day >= 18 for d in week_starts.astype(date)])
    shutdown_mask[np.ix_(plant_rows, december)] = True
    for year in sorted({d.year for d in week_starts.astype(date)} | {as_of.year}):
        rows.append(
            {
                "event_id": f"SHUTDOWN-{year}",
                "kind": "shutdown",
                "start_date": date(year, 12, 18),
                "end_date": date(year, 12, 31),
                "item_id": None,
                "location_id": PLANT,
                "uplift_pct": None,
                "author": "plant.manager",
                "reason": "Annual maintenance shutdown",
            }
        )
    return pl.DataFrame(rows), promo_mask, shutdown_mask


def _suppliers(rng: np.random.Generator, items: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_sup = 12
    mean_lt = rng.choice(np.array([5, 10, 14, 21, 35, 56]), size=n_sup).astype(float)
    suppliers = pl.DataFrame(
        {
            "supplier_id": [f"SUP-{k:02d}" for k in range(1, n_sup + 1)],
            "name": [f"Supplier {k}" for k in range(1, n_sup + 1)],
            "country": rng.choice(np.array(["DE", "NL", "PL", "CN", "US", "IT"]), size=n_sup),
            "order_weekdays": rng.choice(
                np.array(["Mon", "Mon;Thu", "Tue", "Wed;Fri"]), size=n_sup
            ),
            "vmi": rng.random(n_sup) < 0.15,
            "capacity_per_week": np.round(rng.uniform(2_000, 50_000, n_sup), 0),
            "_lead_time_mean": mean_lt,
            "_lead_time_cv": rng.uniform(0.05, 0.45, n_sup),
            "_on_time_rate": rng.uniform(0.7, 0.98, n_sup),
            "_defect_rate": rng.choice(np.array([0.0, 0.005, 0.01, 0.03, 0.08]), size=n_sup),
        }
    )
    bought = items.filter(pl.col("replenishment_type") == "buy")
    sup_idx = rng.integers(0, n_sup, bought.height)
    unit_cost = bought["unit_cost"].to_numpy()
    supplier_items = pl.DataFrame(
        {
            "supplier_id": suppliers["supplier_id"].to_numpy()[sup_idx],
            "item_id": bought["item_id"],
            "lead_time_days": mean_lt[sup_idx],
            "moq": rng.choice(np.array([1, 10, 25, 50, 100, 500]), size=bought.height).astype(
                float
            ),
            "pack_size": bought["pack_size"],
            "price": np.round(unit_cost * 0.95, 2),
            "price_breaks": [f"100:{c * 0.9:.2f};500:{c * 0.85:.2f}" for c in unit_cost],
            "primary": True,
        }
    )
    return suppliers, supplier_items


def _purchasing(
    rng: np.random.Generator,
    supplier_items: pl.DataFrame,
    suppliers: pl.DataFrame,
    first_day: date,
    as_of: date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Purchase orders every few weeks per supplier-item, with ASNs and receipts."""
    sup = supplier_items.join(suppliers, on="supplier_id")
    n = sup.height
    horizon_days = (as_of - first_day).days
    cycle = rng.integers(14, 56, n)
    count = np.maximum(1, horizon_days // cycle)
    row = np.repeat(np.arange(n), count)
    k = np.arange(row.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    offset = (k * cycle[row] + rng.integers(0, 7, row.shape[0])).astype("timedelta64[D]")
    order_date = np.datetime64(first_day) + offset
    quoted = sup["lead_time_days"].to_numpy()[row]
    cv = sup["_lead_time_cv"].to_numpy()[row]
    on_time = rng.random(row.shape[0]) < sup["_on_time_rate"].to_numpy()[row]
    actual = np.maximum(1, np.round(quoted * rng.lognormal(0, cv) * np.where(on_time, 0.9, 1.25)))
    due_date = order_date + quoted.astype("timedelta64[D]")
    receipt_date = order_date + actual.astype("timedelta64[D]")
    quantity = np.maximum(sup["moq"].to_numpy()[row], np.round(rng.gamma(2.0, 60.0, row.shape[0])))
    closed = receipt_date <= np.datetime64(as_of)
    po_ids = np.array([f"PO-{i:08d}" for i in range(1, row.shape[0] + 1)])
    purchase_orders = pl.DataFrame(
        {
            "po_id": po_ids,
            "supplier_id": sup["supplier_id"].to_numpy()[row],
            "item_id": sup["item_id"].to_numpy()[row],
            "location_id": SHARED_WAREHOUSE,
            "quantity": quantity,
            "order_date": pl.Series(order_date).cast(pl.Date),
            "due_date": pl.Series(due_date).cast(pl.Date),
            "status": np.where(closed, "closed", "open"),
        }
    )
    rejected = rng.binomial(quantity.astype(np.int64), sup["_defect_rate"].to_numpy()[row])
    asn = receipt_date - rng.integers(1, 4, row.shape[0]).astype("timedelta64[D]")
    receipts = pl.DataFrame(
        {
            "po_id": po_ids[closed],
            "receipt_date": pl.Series(receipt_date[closed]).cast(pl.Date),
            "quantity": quantity[closed],
            "asn_date": pl.Series(asn[closed]).cast(pl.Date),
            "quantity_rejected": rejected[closed].astype(float),
        }
    )
    return purchase_orders, receipts


def _on_hand(
    rng: np.random.Generator,
    placements: pl.DataFrame,
    quantities: NDArray[np.float64],
    items: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    mean = np.nan_to_num(np.nanmean(quantities[:, -26:], axis=1))
    cover = rng.uniform(0.5, 9.0, placements.height)
    stock = np.round(mean * cover + rng.integers(0, 5, placements.height))
    cost = placements.join(items.select("item_id", "unit_cost"), on="item_id")["unit_cost"]
    age_days = rng.integers(1, 400, placements.height).astype("timedelta64[D]")
    frame = placements.select("item_id", "location_id").with_columns(
        pl.lit(as_of).alias("date"),
        pl.Series("quantity", stock),
        pl.lit("standard").alias("cost_basis"),
        cost.alias("unit_value"),
        pl.Series("receipt_date", np.datetime64(as_of) - age_days).cast(pl.Date),
    )
    # Several channels of one item can share a location: one snapshot per item-location.
    return frame.group_by("item_id", "location_id", maintain_order=True).agg(
        pl.col("date").first(),
        pl.col("quantity").sum(),
        pl.col("cost_basis").first(),
        pl.col("unit_value").first(),
        pl.col("receipt_date").min(),
    )


def _cycle_counts(rng: np.random.Generator, on_hand: pl.DataFrame) -> pl.DataFrame:
    sample = on_hand.sample(fraction=0.05, seed=int(rng.integers(0, 2**31)))
    system = sample["quantity"].to_numpy()
    error = rng.random(sample.height) < 0.2
    counted = np.maximum(0, system + np.where(error, rng.integers(-5, 4, sample.height), 0))
    causes = rng.choice(
        np.array(["picking_error", "unrecorded_scrap", "receiving_error"]), size=sample.height
    )
    reasons = [c if e else None for c, e in zip(causes.tolist(), error.tolist(), strict=True)]
    return sample.select("item_id", "location_id", "date").with_columns(
        pl.Series("system_quantity", system),
        pl.Series("counted_quantity", counted.astype(float)),
        pl.Series("reason_code", reasons, dtype=pl.String),
    )
