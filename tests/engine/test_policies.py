"""Frame-level policy computation: parameters, policy choice, rounding, export."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from stockpilot.core.lotsizing import eoq_quantity_discount
from stockpilot.core.policy.leadtime_demand import lead_time_demand
from stockpilot.core.policy.policies import s_q_cost_optimal_reorder_point
from stockpilot.core.simulation.single_echelon import simulate_single_echelon
from stockpilot.engine.panel import to_panel
from stockpilot.engine.policies import (
    ERP_EXPORT_COLUMNS,
    EXTRA_COLUMNS,
    POLICY_COLUMNS,
    PolicyOptions,
    compute_policies,
    erp_export,
    price_schedules,
)
from stockpilot.errors import InvalidParameterError
from stockpilot.vocab import PolicyType, ServiceType


def _panel(values: np.ndarray, items: list[str] | None = None) -> object:
    n, t = values.shape
    ids = items or [f"I{i}" for i in range(n)]
    start = date(2023, 1, 2)
    rows = [
        (ids[i], "DC", start + timedelta(weeks=k), float(values[i, k]))
        for i in range(n)
        for k in range(t)
    ]
    frame = pl.DataFrame(
        rows, schema=["item_id", "location_id", "period", "quantity"], orient="row"
    )
    return to_panel(frame, bucket="week")


def test_output_has_the_design_columns_and_explanations() -> None:
    rng = np.random.default_rng(1)
    values = np.vstack([rng.poisson(30, 80), rng.poisson(0.4, 80), np.zeros(80)])
    out = compute_policies(_panel(values))
    assert out.columns[: len(POLICY_COLUMNS)] == list(POLICY_COLUMNS)
    assert out["policy"].to_list() == ["base_stock", "base_stock", "base_stock"]
    assert out["distribution"].to_list()[2] == "zero"
    assert out["order_up_to"][2] == 0.0
    assert all(len(text) > 40 for text in out["explanation"])
    assert "fill rate target 95.0%" in out["explanation"][0]
    # Integer levels, expected service at or above the target.
    assert (out["order_up_to"] == out["order_up_to"].round()).all()
    assert (out["expected_service"] >= 0.95 - 1e-9).all()


def test_items_override_defaults_and_drive_lot_sizing_and_rounding() -> None:
    rng = np.random.default_rng(2)
    values = np.vstack([rng.poisson(40, 60), rng.poisson(40, 60)])
    items = pl.DataFrame(
        {
            "item_id": ["I0", "I1"],
            "unit_cost": [20.0, 20.0],
            "order_cost": [100.0, None],
            "pack_size": [25.0, 1.0],
            "lead_time": [3.0, 1.0],
            "review_period": [1.0, 4.0],
            "service_type": ["cycle_service", None],
            "service_target": [0.9, None],
        }
    )
    out = compute_policies(_panel(values), items=items)
    first, second = out.row(0, named=True), out.row(1, named=True)
    assert first["policy"] == "s_Q"
    assert first["lot_sizing_rule"] == "eoq"
    assert first["order_quantity"] % 25 == 0
    assert "rounded to packs of 25" in first["explanation"]
    assert first["service_type"] == "cycle_service"
    assert first["service_target"] == 0.9
    assert first["lead_time"] == 3.0
    assert second["policy"] == "R_S"
    assert second["review_period"] == 4.0
    assert second["service_type"] == ServiceType.FILL_RATE


def test_shelf_life_caps_the_lot() -> None:
    values = np.full((1, 50), 10.0)
    items = pl.DataFrame(
        {"item_id": ["I0"], "unit_cost": [1.0], "order_cost": [500.0], "shelf_life": [3.0]}
    )
    out = compute_policies(_panel(values), items=items)
    assert out["order_quantity"][0] == pytest.approx(30.0)
    assert "shelf life" in out["explanation"][0]


def test_higher_service_target_never_lowers_levels() -> None:
    rng = np.random.default_rng(5)
    values = np.vstack([rng.poisson(m, 70) for m in (0.5, 3.0, 25.0)]).astype(float)
    panel = _panel(values)
    low = compute_policies(panel, options=PolicyOptions(service_target=0.9, lead_time=2))
    high = compute_policies(panel, options=PolicyOptions(service_target=0.98, lead_time=2))
    assert (high["order_up_to"] >= low["order_up_to"]).all()


def test_policies_deliver_their_fill_rate_in_simulation() -> None:
    """Stationary demand: policies from 150 buckets, simulated on the next 600."""
    rng = np.random.default_rng(9)
    train = np.vstack([rng.poisson(m, 750) for m in (2.0, 8.0, 30.0)]).astype(float)
    out = compute_policies(_panel(train[:, :150]), options=PolicyOptions(lead_time=2))
    res = simulate_single_echelon(
        train[:, 150:],
        policy="base_stock",
        order_up_to=out["order_up_to"].to_numpy(),
        lead_time=2,
        warmup=20,
    )
    assert np.all(np.abs(res.fill_rate - 0.95) < 0.03)


def test_invalid_items_report_every_problem_together() -> None:
    values = np.ones((2, 10))
    items = pl.DataFrame(
        {"item_id": ["I0", "I1"], "lead_time": [-1.0, 1.0], "service_target": [0.9, 1.5]}
    )
    with pytest.raises(InvalidParameterError) as info:
        compute_policies(_panel(values), items=items)
    message = str(info.value)
    assert "lead_time must be >= 0" in message
    assert "service_target must be in (0, 1)" in message


def test_erp_export_layout() -> None:
    rng = np.random.default_rng(3)
    values = np.vstack([rng.poisson(20, 40)]).astype(float)
    items = pl.DataFrame({"item_id": ["I0"], "unit_cost": [5.0], "order_cost": [80.0]})
    out = compute_policies(_panel(values), items=items)
    erp = erp_export(out)
    assert tuple(erp.columns) == ERP_EXPORT_COLUMNS
    row = erp.row(0, named=True)
    assert row["min_qty"] == row["reorder_point"]
    assert row["max_qty"] == row["reorder_point"] + row["order_quantity"]
    assert erp.schema["max_qty"] == pl.Int64


def test_location_review_capability_sets_review_period_and_latency() -> None:
    """D's rule: a weekly-batch ERP is reviewed periodically (every 7 days = 1 week bucket
    would be continuous-looking, so use a daily panel); a real-time feed is continuous."""
    rng = np.random.default_rng(4)
    t = 120
    start = date(2023, 1, 2)
    rows = [
        ("I0", loc, start + timedelta(days=k), float(rng.poisson(5)))
        for loc in ("RT", "WK")
        for k in range(t)
    ]
    frame = pl.DataFrame(
        rows, schema=["item_id", "location_id", "period", "quantity"], orient="row"
    )
    panel = to_panel(frame, bucket="day")
    locations = pl.DataFrame(
        {
            "location_id": ["RT", "WK"],
            "review_capability": ["real_time", "weekly_batch"],
            "latency_hours": [0.0, 48.0],
        }
    )
    out = compute_policies(panel, locations=locations, options=PolicyOptions(lead_time=3))
    rt, wk = out.row(0, named=True), out.row(1, named=True)
    assert rt["review_period"] == 1.0 and rt["policy"] == "base_stock"
    assert wk["review_period"] == 7.0 and wk["policy"] == "R_S"
    assert wk["lead_time"] == pytest.approx(5.0)  # 3 days + 48 h feed latency
    assert "periodic review" in wk["explanation"]


def test_stockout_cost_replaces_the_target_by_the_critical_ratio() -> None:
    """h = 52 * 0.26 / 52 = 0.26 per week, p = 2.34 -> p / (p + h) = 0.9 (hand computed)."""
    rng = np.random.default_rng(8)
    values = np.vstack([rng.poisson(10, 60), rng.poisson(10, 60)]).astype(float)
    items = pl.DataFrame(
        {
            "item_id": ["I0", "I1"],
            "unit_cost": [52.0, 52.0],
            "holding_cost_rate": [0.26, 0.26],
            "stockout_cost": [2.34, None],
        }
    )
    out = compute_policies(_panel(values), items=items)
    first, second = out.row(0, named=True), out.row(1, named=True)
    assert first["service_type"] == "cycle_service"
    assert first["service_target"] == pytest.approx(0.9)
    assert "p/(p+h) = 0.9000" in first["explanation"]
    assert second["service_type"] == "fill_rate" and second["service_target"] == 0.95


def test_stockout_cost_on_an_s_q_line_minimises_holding_plus_backorder_cost() -> None:
    """With a lot Q the base-stock fractile over-protects (the audit's case: a large Q got
    a 0.9 cycle-service reorder point). The reorder point is the cost-optimal one for the
    line's Q: the window condition n(s+1) - n(s+Q+1) <= Q h / (h + p) on protection-interval
    demand, the smallest such s (checked by enumeration in the core tests)."""
    rng = np.random.default_rng(8)
    values = rng.poisson(10, (1, 60)).astype(float)
    items = pl.DataFrame(
        {
            "item_id": ["I0"],
            "unit_cost": [52.0],
            "holding_cost_rate": [0.26],
            "stockout_cost": [2.34],
            "order_cost": [200.0],
        }
    )
    panel = _panel(values)
    options = PolicyOptions(policy=PolicyType.S_Q, interval_variance=False)
    out = compute_policies(panel, items=items, options=options)
    row = out.row(0, named=True)
    q = row["order_quantity"]
    assert row["policy"] == "s_Q" and q > 30  # a big lot for a costly order
    protection = lead_time_demand(
        [row["demand_mean"]],
        [row["demand_sd"]],
        [row["lead_time"]],
        review_period=[1.0],
        distribution=row["distribution"],
    )
    expected = s_q_cost_optimal_reorder_point(protection, [q], [0.26], [2.34], integer=True)
    assert row["reorder_point"] == expected.reorder_point[0]
    fractile = np.ceil(protection.quantile([0.9])[0])
    assert row["reorder_point"] < fractile  # the lot's upper part carries stock anyway
    assert "n(s) - n(s+Q) = Q h/(h+p)" in row["explanation"]


def test_forecast_mean_over_the_protection_interval_replaces_history() -> None:
    """History at 10 per week, forecast 10 then 30: with L = 1, R = 1 the protection
    interval covers the first two forecast buckets, mean (10 + 30) / 2 = 20 per bucket."""
    rng = np.random.default_rng(6)
    values = np.vstack([rng.poisson(10, 60), rng.poisson(10, 60)]).astype(float)
    panel = _panel(values)
    forecast = pl.DataFrame(
        {
            "item_id": ["I0"] * 4,
            "location_id": ["DC"] * 4,
            "period_start": [date(2024, 3, 4) + timedelta(weeks=k) for k in range(4)],
            "mean": [10.0, 30.0, 30.0, 30.0],
        }
    )
    base = compute_policies(panel)
    out = compute_policies(panel, forecast=forecast)
    assert out["demand_mean"][0] == pytest.approx(20.0)
    assert out["order_up_to"][0] > base["order_up_to"][0]
    # I1 has no forecast rows: it keeps its history statistics.
    assert out.row(1, named=True)["order_up_to"] == base.row(1, named=True)["order_up_to"]


def test_time_phased_policies_follow_the_seasonal_forecast() -> None:
    from stockpilot.engine.policies import TIME_PHASED_COLUMNS, compute_time_phased_policies

    starts = [date(2024, 1, 1) + timedelta(weeks=k) for k in range(6)]
    forecast = pl.DataFrame(
        {
            "item_id": ["A"] * 6 + ["B"] * 6,
            "location_id": ["DC"] * 12,
            "period_start": starts * 2,
            "mean": [10.0, 10, 40, 40, 10, 10] + [5.0] * 6,
            "sd": [3.0] * 12,
        }
    )
    items = pl.DataFrame({"item_id": ["A", "B"], "lead_time": [1.0, 2.0]})
    out = compute_time_phased_policies(forecast, items=items)
    assert tuple(out.columns) == TIME_PHASED_COLUMNS
    a = out.filter(pl.col("item_id") == "A")["order_up_to"].to_list()
    b = out.filter(pl.col("item_id") == "B")["order_up_to"].to_list()
    assert a[1] > a[0] and a[2] > a[0] and a[4] < a[3]  # rises ahead of the peak
    assert len(set(b)) == 1  # flat forecast, flat level
    assert (out["expected_service"] >= 0.95 - 1e-9).all()


def test_continuous_review_declared_as_zero_is_reviewed_every_bucket() -> None:
    values = np.full((1, 30), 5.0)
    items = pl.DataFrame({"item_id": ["I0"], "review_period": [0.0]})
    out = compute_policies(_panel(values), items=items)
    assert out["review_period"][0] == 1.0
    assert out["policy"][0] == "base_stock"


def test_interval_variance_protects_autocorrelated_demand() -> None:
    """Demand whose level switches between 4 and 16 in runs of 8 buckets: buckets are
    positively correlated, so the variance of 3-bucket sums exceeds 3 sigma^2. Using the
    sums' own variance (SPT 2017, 6.9.3) keeps the simulated fill rate near the target;
    the independent-bucket variance falls short."""
    rng = np.random.default_rng(12)
    n, horizon = 30, 1200
    runs = rng.random((n, horizon // 8)) < 0.5
    level = np.repeat(np.where(runs, 4.0, 16.0), 8, axis=1)
    demand = rng.poisson(level).astype(float)
    train, test = demand[:, :400], demand[:, 400:]
    panel = _panel(train)
    fills = {}
    for flag in (True, False):
        out = compute_policies(panel, options=PolicyOptions(lead_time=2, interval_variance=flag))
        res = simulate_single_echelon(
            test, policy="base_stock", order_up_to=out["order_up_to"].to_numpy(), lead_time=2
        )
        fills[flag] = float(np.sum(res.fill_rate * res.total_demand) / np.sum(res.total_demand))
    assert fills[True] >= 0.95 - 0.02
    assert fills[False] < fills[True] - 0.01


def test_empty_panel_gives_an_empty_policies_frame() -> None:
    empty = pl.DataFrame(
        schema={
            "item_id": pl.String,
            "location_id": pl.String,
            "period": pl.Date,
            "quantity": pl.Float64,
        }
    )
    out = compute_policies(to_panel(empty, bucket="week"))
    assert out.height == 0
    assert out.columns[: len(POLICY_COLUMNS)] == list(POLICY_COLUMNS)


def test_vanishing_forecast_is_no_demand_and_exports_a_valid_min_max() -> None:
    """Regression (demo run): SES after a long run of zeros forecast 2.3e-33 per week with a
    history sd of ~1; the CV of 1e32 gave an (s, Q) line with s = S = -11. A vanishing
    forecast means nothing to stock, and the ERP pair is never negative or inverted."""
    values = np.zeros((2, 60))
    values[:, :10] = 3.0  # sold early, nothing since
    panel = _panel(values)
    forecast = pl.DataFrame(
        {
            "item_id": ["I0"] * 3,
            "location_id": ["DC"] * 3,
            "period_start": [date(2024, 3, 4) + timedelta(weeks=k) for k in range(3)],
            "mean": [2.3e-33] * 3,
            "sd": [1.0] * 3,
        }
    )
    out = compute_policies(
        panel, forecast=forecast, options=PolicyOptions(order_cost=50.0, unit_cost=2.0)
    )
    row = out.row(0, named=True)
    assert (row["reorder_point"], row["order_up_to"], row["order_quantity"]) == (0.0, 0.0, 0.0)
    # ... and its line says so, without the noise of the vanishing level (CV 1e32)
    assert row["safety_stock"] == 0.0
    assert "e-33" not in row["explanation"] and "e+" not in row["explanation"]
    erp = erp_export(out)
    assert (erp["min_qty"] >= 0).all() and (erp["max_qty"] >= erp["min_qty"]).all()


def test_erp_max_is_never_below_min_for_a_negative_reorder_point() -> None:
    policies = pl.DataFrame(
        {c: [None] for c in POLICY_COLUMNS},
        schema={
            c: (
                pl.String
                if c
                in {
                    "item_id",
                    "location_id",
                    "policy",
                    "service_type",
                    "lot_sizing_rule",
                    "explanation",
                }
                else pl.Float64
            )
            for c in POLICY_COLUMNS
        },
    ).with_columns(
        pl.lit("I").alias("item_id"),
        pl.lit("L").alias("location_id"),
        pl.lit("s_Q").alias("policy"),
        pl.lit(1.0).alias("review_period"),
        pl.lit(-3.0).alias("reorder_point"),
        pl.lit(2.0).alias("order_quantity"),
        pl.lit(-1.0).alias("order_up_to"),
        pl.lit(-3.0).alias("safety_stock"),
    )
    erp = erp_export(policies).row(0, named=True)
    assert erp["min_qty"] == 0 and erp["max_qty"] == 0


# ---------------------------------------------------------------------------
# Issue #4 sections 4-7 wired into the policies frame (hand-computed cases).
# Weekly buckets, unit cost 52 and 25 %/year holding: h = 52 * 0.25 / 52 = 0.25 per week.
# ---------------------------------------------------------------------------

_SMOOTH = np.tile([9.0, 11.0], 6)  # mean 10, VC = 1/100
_INTERMITTENT = np.array([0, 0, 6, 0, 0, 0, 6, 0, 0, 0, 6, 0], dtype=float)  # mean 1.5


def test_lot_sizing_rule_per_item_eoq_poq_and_wagner_whitin_hand_computed() -> None:
    """Hand-computed (D's rule, SPT 2017 sections 6.3-6.5).

    * S: smooth, A = 50: EOQ = sqrt(2 * 50 * 10 / 0.25) = 63.25 (6.3 weeks), VC 0.01 < 0.2
      -> EOQ, rounded up to 64 whole units.
    * SL: same with a 4-week shelf life: EOQ covers more than the shelf life -> period
      order quantity P = min(round(6.32), 4) = 4, Q = 4 * 10 = 40.
    * W1: intermittent 6 every 4th week, A = 50: carrying 6 units 4 weeks costs 6 < 50, so
      Wagner-Whitin orders all 18 units once: average lot 18.
    * W2: same with A = 5 < 6: one order per demand, average lot 18 / 3 = 6.
    """
    values = np.vstack([_SMOOTH, _SMOOTH, _INTERMITTENT, _INTERMITTENT])
    ids = ["S", "SL", "W1", "W2"]
    items = pl.DataFrame(
        {
            "item_id": ids,
            "unit_cost": [52.0] * 4,
            "order_cost": [50.0, 50.0, 50.0, 5.0],
            "shelf_life": [None, 4.0, None, None],
        }
    )
    out = compute_policies(_panel(values, ids), items=items)
    rows = {r["item_id"]: r for r in out.iter_rows(named=True)}
    assert rows["S"]["lot_sizing_rule"] == "eoq"
    assert rows["S"]["order_quantity"] == 64.0
    assert "steady demand" in rows["S"]["lot_sizing_reason"]
    assert "EOQ 63.25" in rows["S"]["explanation"]
    assert rows["SL"]["lot_sizing_rule"] == "period_order_quantity"
    assert rows["SL"]["order_quantity"] == pytest.approx(40.0)
    assert "shelf life 4" in rows["SL"]["lot_sizing_reason"]
    for key, lot in (("W1", 18.0), ("W2", 6.0)):
        assert rows[key]["lot_sizing_rule"] == "wagner_whitin"
        assert rows[key]["order_quantity"] == pytest.approx(lot)
        assert "intermittent demand" in rows[key]["lot_sizing_reason"]
        assert "Wagner-Whitin" in rows[key]["explanation"]
        assert rows[key]["policy"] == "s_Q"


def test_uncosted_lines_stay_lot_for_lot_with_their_reason() -> None:
    out = compute_policies(_panel(np.vstack([_SMOOTH])))
    row = out.row(0, named=True)
    assert row["lot_sizing_rule"] == "lot_for_lot"
    assert row["order_quantity"] == pytest.approx(10.0)
    assert "cost unknown" in row["lot_sizing_reason"]


def test_defect_rate_grosses_up_the_lot_and_the_safety_stock() -> None:
    """p = 5 %: Q_gross = Q / 0.95 and SS_gross = SS / 0.95 (Yano & Lee 1995 via D's
    ``defect_adjustment``); levels move up by the (whole-unit) safety-stock increase."""
    rng = np.random.default_rng(21)
    values = rng.poisson(30, (1, 100)).astype(float)
    base = {"item_id": ["I0"], "unit_cost": [52.0], "order_cost": [50.0]}
    options = PolicyOptions(lead_time=4, service_target=0.99)
    clean = compute_policies(_panel(values), items=pl.DataFrame(base), options=options)
    faulty = compute_policies(
        _panel(values), items=pl.DataFrame({**base, "defect_rate": [0.05]}), options=options
    )
    c, f = clean.row(0, named=True), faulty.row(0, named=True)
    assert c["safety_stock"] > 0
    assert f["order_quantity"] == pytest.approx(c["order_quantity"] / 0.95)
    step = np.ceil(c["safety_stock"] / 0.95 - c["safety_stock"] - 1e-9)
    assert step >= 1
    assert f["reorder_point"] == c["reorder_point"] + step
    assert f["safety_stock"] == pytest.approx(c["safety_stock"] + step)
    assert f["order_up_to"] == pytest.approx(f["reorder_point"] + f["order_quantity"])
    assert f["defect_rate"] == 0.05 and c["defect_rate"] == 0.0
    assert "defect rate 5.0%" in f["explanation"]
    assert "defect" not in c["explanation"]


def test_defect_rate_lifts_an_order_up_to_level_by_the_pipelines_expected_scrap() -> None:
    """Base stock, p = 20 %, lead time 3, mean 30 per week: the position counts the gross
    orders of the last L + 1 = 4 weeks, 4 * 30 / 0.8 = 150 units on average, of which 20 %
    (30 units = p D (L + 1) / (1 - p)) will be scrapped, so S rises by 30; the safety stock
    in good units is unchanged (on-hand stock is good stock)."""
    values = np.full((1, 60), 30.0)
    values[0, ::2] += 4.0
    values[0, 1::2] -= 4.0
    options = PolicyOptions(lead_time=3, service_target=0.95)
    clean = compute_policies(_panel(values), options=options)
    faulty = compute_policies(
        _panel(values),
        items=pl.DataFrame({"item_id": ["I0"], "defect_rate": [0.2]}),
        options=options,
    )
    c, f = clean.row(0, named=True), faulty.row(0, named=True)
    assert c["policy"] == f["policy"] == "base_stock"
    assert f["order_up_to"] == pytest.approx(c["order_up_to"] + 30.0)
    assert f["reorder_point"] == pytest.approx(f["order_up_to"])
    assert f["safety_stock"] == pytest.approx(c["safety_stock"])
    assert "expected scrap" in f["explanation"]


def test_defect_rate_of_one_is_rejected() -> None:
    items = pl.DataFrame({"item_id": ["I0"], "defect_rate": [1.0]})
    with pytest.raises(InvalidParameterError, match="defect_rate must be < 1"):
        compute_policies(_panel(np.ones((1, 10))), items=items)


def test_moq_exception_for_slow_movers_recommends_the_cheapest_option() -> None:
    """Hand-computed with D's cost model (cost per week, r = 0.25 / 52, v = 10, D = 1).

    * M1: MOQ 100 (100 weeks > 6), A = 20. Order MOQ: lot max(100, EOQ 28.8) = 100,
      10 + 20/100 + 10 r 50 = 12.604. Lower MOQ 20 at +5 %: lot EOQ'
      = sqrt(2 * 20 / (10.5 r)) = 28.15, 10.5 + 20/28.15 + 10.5 r 28.15/2 = 11.921.
      Make to order (customers wait 2 >= lead time 1, demand every week): 10 + 20 = 30.
      -> lower_moq.
    * M2: demand 4 every 4th week, A = 2, no lower MOQ: order MOQ 10 + 0.02 + 2.404
      = 12.424; make to order 10 + 2 * 0.25 = 10.5 -> make_to_order.
    * N: MOQ 5 covers 0.5 week: no exception, empty columns.
    """
    slow = np.ones(12)
    sparse = np.tile([4.0, 0.0, 0.0, 0.0], 3)
    values = np.vstack([slow, sparse, _SMOOTH])
    ids = ["M1", "M2", "N"]
    items = pl.DataFrame(
        {
            "item_id": ids,
            "unit_cost": [10.0, 10.0, 10.0],
            "order_cost": [20.0, 2.0, 20.0],
            "moq": [100.0, 100.0, 5.0],
            "lower_moq": [20.0, None, None],
            "lower_moq_premium": [0.05, 0.0, 0.0],
            "customer_tolerance": [2.0, 2.0, 0.0],
        }
    )
    out = compute_policies(_panel(values, ids), items=items)
    rows = {r["item_id"]: r for r in out.iter_rows(named=True)}
    r = 0.25 / 52
    lot_b = np.sqrt(2 * 20 / (10.5 * r))
    m1 = rows["M1"]
    assert m1["moq_recommendation"] == "lower_moq"
    assert m1["moq_coverage_periods"] == pytest.approx(100.0)
    assert m1["moq_cost_order_moq"] == pytest.approx(10 + 20 / 100 + 10 * r * 50)
    assert m1["moq_cost_lower_moq"] == pytest.approx(10.5 + 20 / lot_b + 10.5 * r * lot_b / 2)
    assert m1["moq_cost_make_to_order"] == pytest.approx(30.0)
    assert m1["moq_cost_lower_moq"] == min(
        m1["moq_cost_order_moq"], m1["moq_cost_lower_moq"], m1["moq_cost_make_to_order"]
    )
    assert "ask for MOQ 20" in m1["moq_reason"]
    assert "MOQ exception: recommend lower_moq" in m1["explanation"]
    m2 = rows["M2"]
    assert m2["moq_recommendation"] == "make_to_order"
    assert m2["moq_cost_order_moq"] == pytest.approx(10 + 2 / 100 + 10 * r * 50)
    assert m2["moq_cost_lower_moq"] is None  # not offered
    assert m2["moq_cost_make_to_order"] == pytest.approx(10 + 2 * 0.25)
    n = rows["N"]
    assert n["moq_recommendation"] == "" and n["moq_reason"] == ""
    assert n["moq_cost_order_moq"] is None and n["moq_coverage_periods"] is None


def test_moq_coverage_limit_is_configurable() -> None:
    items = pl.DataFrame({"item_id": ["I0"], "unit_cost": [10.0], "moq": [50.0]})
    panel = _panel(np.vstack([_SMOOTH]))  # mean 10: MOQ covers 5 weeks
    default = compute_policies(panel, items=items)
    strict = compute_policies(panel, items=items, options=PolicyOptions(moq_max_coverage=4.0))
    assert default["moq_recommendation"][0] == ""
    assert strict["moq_recommendation"][0] in {"order_moq", "lower_moq", "make_to_order"}
    assert strict["moq_coverage_periods"][0] == pytest.approx(5.0)


def test_push_pull_per_line_with_reasons() -> None:
    """D's rule: smooth demand and fixed lead time -> push; customers waiting 2 >= lead time
    1 -> pull; intermittent demand at 95 % with no tolerance -> push-pull; intermittent at
    75 % (< 80 %) -> pull, stock would mostly age."""
    values = np.vstack([_SMOOTH, _SMOOTH, _INTERMITTENT, _INTERMITTENT])
    ids = ["P", "T", "X", "Y"]
    items = pl.DataFrame(
        {
            "item_id": ids,
            "customer_tolerance": [0.0, 2.0, 0.0, 0.0],
            "service_target": [0.95, 0.95, 0.95, 0.75],
        }
    )
    out = compute_policies(_panel(values, ids), items=items)
    rows = {r["item_id"]: r for r in out.iter_rows(named=True)}
    assert rows["P"]["push_pull"] == "push"
    assert "predictable demand" in rows["P"]["push_pull_reason"]
    assert rows["T"]["push_pull"] == "pull"
    assert "customers wait 2" in rows["T"]["push_pull_reason"]
    assert rows["X"]["push_pull"] == "push_pull"
    assert "decouple" in rows["X"]["push_pull_reason"]
    assert rows["Y"]["push_pull"] == "pull"
    assert "low service target" in rows["Y"]["push_pull_reason"]


def test_customer_tolerance_from_the_locations_frame() -> None:
    locations = pl.DataFrame(
        {"location_id": ["DC"], "review_capability": ["real_time"], "customer_tolerance": [3.0]}
    )
    panel = _panel(np.vstack([_SMOOTH, _SMOOTH]))
    items = pl.DataFrame({"item_id": ["I1"], "customer_tolerance": [0.0]})
    out = compute_policies(panel, items=items, locations=locations)
    assert out["push_pull"].to_list() == ["pull", "push"]  # item value overrides the location


def test_extra_columns_follow_the_design_columns() -> None:
    out = compute_policies(_panel(np.vstack([_SMOOTH, _INTERMITTENT])))
    assert out.columns == [*POLICY_COLUMNS, *EXTRA_COLUMNS]


def test_price_breaks_move_an_eoq_lot_to_the_cheapest_break() -> None:
    """All-units discounts (SPT 2017, section 4.5): with 10 per unit below 500 and 9.5 from
    500, the EOQ line orders 500 when the saving on purchases outweighs the extra holding;
    the lot equals eoq_quantity_discount on the same rate and costs, and says why."""
    values = np.full((2, 60), 100.0)
    items = pl.DataFrame(
        {
            "item_id": ["I0", "I1"],
            "unit_cost": [10.0, 10.0],
            "holding_cost_rate": [0.26, 0.26],
            "order_cost": [50.0, 50.0],
            "price_breaks": ["500:9.5", None],
        }
    )
    out = compute_policies(_panel(values), items=items)
    with_breaks, plain = out.row(0, named=True), out.row(1, named=True)
    assert with_breaks["lot_sizing_rule"] == plain["lot_sizing_rule"] == "eoq"
    rate = 0.26 / 52
    expected = eoq_quantity_discount(100.0, 50.0, rate, [0.0, 500.0], [10.0, 9.5])
    assert expected.order_quantity[0] == pytest.approx(500.0)
    assert with_breaks["order_quantity"] == pytest.approx(500.0)
    assert plain["order_quantity"] == np.ceil(np.sqrt(2 * 50 * 100 / (10 * rate)))  # whole units
    assert "price breaks: Q = 500 at 9.5 per unit" in with_breaks["lot_sizing_reason"]


def test_price_schedules_parse_pad_and_reject() -> None:
    text = np.array(["100:9;500:8.5", None, "bad", "200:3;100:3.5", "50:-1"], dtype=object)
    sched = price_schedules(text, np.array([10.0, 10.0, 10.0, 4.0, 5.0]))
    assert sched.given.tolist() == [True, False, False, True, False]
    assert sched.breaks[0].tolist() == [0.0, 100.0, 500.0]
    assert sched.prices[0].tolist() == [10.0, 9.0, 8.5]
    assert sched.breaks[3].tolist() == [0.0, 100.0, 200.0]  # sorted by quantity
    assert sched.prices[3].tolist() == [4.0, 3.5, 3.0]
    assert (np.diff(sched.breaks, axis=1) > 0).all()
