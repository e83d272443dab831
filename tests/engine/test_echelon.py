"""Multi-echelon policies: the network placement handed to the policy engine."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from _item_network import item_network_policies
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.simulation.lead_time import fit_lead_time
from stockpilot.core.simulation.multi_echelon import simulate_network
from stockpilot.core.simulation.single_echelon import simulate_single_echelon
from stockpilot.engine.echelon import (
    echelon_forecast,
    echelon_map,
    echelon_note,
    echelon_panel,
    echelon_parameters,
    multi_location_nodes,
    pass_through_flow_stages,
    simulate_stage_networks,
)
from stockpilot.engine.panel import Panel
from stockpilot.engine.policies import compute_policies
from stockpilot.errors import InvalidDataError
from stockpilot.vocab import Bucket

NAN = np.nan
# PLANT -> DC -> {S1, S2}
LOCATIONS = pl.DataFrame(
    {"location_id": ["PLANT", "DC", "S1", "S2"], "parent": [None, "PLANT", "DC", "DC"]}
)


def _panel() -> Panel:
    keys = pl.DataFrame({"item_id": ["A", "A", "B"], "location_id": ["S1", "S2", "S1"]})
    values = np.array(
        [
            [1.0, 2.0, 3.0, 4.0],
            [NAN, NAN, 5.0, 0.0],  # launched in the third bucket
            [NAN, NAN, NAN, NAN],  # no history yet
        ]
    )
    periods = np.array(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"], "datetime64[D]")
    return Panel(keys, periods, values, Bucket.WEEK)


def _stages() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["A", "A", "A", "B", "B"],
            "location_id": ["DC", "S1", "S2", "DC", "S1"],
            "committed_service_time": [3.0, 0.0, 0.0, 0.0, 0.0],
            "inbound_service_time": [0.0, 3.0, 3.0, 0.0, 0.0],
            "net_lead_time": [0.0, 4.0, 4.0, 2.0, 1.0],
            "stock_role": ["flow_through", "decoupling", "decoupling", "decoupling", "decoupling"],
        }
    )


def test_each_series_feeds_its_own_stage_and_its_upstream_stages() -> None:
    mapping = echelon_map(_panel().keys, _stages(), LOCATIONS)
    rows = sorted(mapping.select("item_id", "location_id", "node_id", "depth").iter_rows())
    # PLANT is not a stage of either item, so nothing maps to it.
    assert rows == [
        ("A", "S1", "DC", 1),
        ("A", "S1", "S1", 0),
        ("A", "S2", "DC", 1),
        ("A", "S2", "S2", 0),
        ("B", "S1", "DC", 1),
        ("B", "S1", "S1", 0),
    ]


def test_stage_demand_sums_the_series_it_serves_and_keeps_not_launched_buckets() -> None:
    panel, stages = _panel(), _stages()
    keys = stages.select("item_id", "location_id")
    staged = echelon_panel(panel, echelon_map(panel.keys, keys, LOCATIONS), keys)
    assert staged.keys.rows() == keys.rows()
    np.testing.assert_array_equal(staged.values[0], [1.0, 2.0, 8.0, 4.0])  # A at DC = S1 + S2
    np.testing.assert_array_equal(staged.values[1], [1.0, 2.0, 3.0, 4.0])  # A at S1
    np.testing.assert_array_equal(staged.values[2], [NAN, NAN, 5.0, 0.0])  # A at S2
    assert np.isnan(staged.values[3]).all()  # B at DC: its only series has no history
    assert staged.bucket is Bucket.WEEK and (staged.periods == panel.periods).all()


def test_stage_forecast_adds_means_and_variances() -> None:
    forecast = pl.DataFrame(
        {
            "item_id": ["A", "A", "A", "A"],
            "location_id": ["S1", "S1", "S2", "S2"],
            "period_start": [date(2026, 2, 2), date(2026, 2, 9)] * 2,
            "mean": [3.0, 4.0, 1.0, 2.0],
            "sd": [3.0, 3.0, 4.0, 4.0],
        }
    )
    mapping = echelon_map(_panel().keys, _stages(), LOCATIONS)
    staged = echelon_forecast(forecast, mapping)
    dc = staged.filter(pl.col("location_id") == "DC").sort("period_start")
    assert dc["mean"].to_list() == [4.0, 6.0]
    assert dc["sd"].to_list() == pytest.approx([5.0, 5.0])  # sqrt(3^2 + 4^2)
    s1 = staged.filter(pl.col("location_id") == "S1")
    assert s1["mean"].to_list() == [3.0, 4.0] and s1["sd"].to_list() == [3.0, 3.0]


def test_lead_time_becomes_the_net_replenishment_time_plus_the_feed_delay() -> None:
    stages = _stages()
    mapping = echelon_map(_panel().keys, stages, LOCATIONS)
    params = stages.select("item_id", "location_id").with_columns(
        lead_time=pl.lit(1.0),
        information_delay=pl.Series([0.5, 0.0, 0.0, 0.5, 0.0]),
        service_target=pl.Series([0.9, 0.95, 0.99, 0.9, 0.9]),
    )
    out = echelon_parameters(params, stages, mapping)
    assert out["lead_time"].to_list() == [0.5, 4.0, 4.0, 2.5, 1.0]
    # A's DC serves S1 (0.95) and S2 (0.99): it is held to the higher target.
    assert out["service_target"].to_list() == [0.99, 0.95, 0.99, 0.9, 0.9]
    with pytest.raises(InvalidDataError, match="no placement row"):
        echelon_parameters(
            params.vstack(params.head(1).with_columns(location_id=pl.lit("X"))), stages, mapping
        )


def test_flow_through_stages_hold_nothing_and_pass_orders_on() -> None:
    panel, stages = _panel(), _stages()
    keys = stages.select("item_id", "location_id")
    mapping = echelon_map(panel.keys, keys, LOCATIONS)
    params = echelon_parameters(
        keys.with_columns(lead_time=pl.lit(1.0), service_target=pl.lit(0.95)), stages, mapping
    )
    policies = compute_policies(echelon_panel(panel, mapping, keys), items=params)
    out = pass_through_flow_stages(policies, stages)
    dc = out.row(0, named=True)
    assert (dc["item_id"], dc["location_id"], dc["policy"]) == ("A", "DC", "base_stock")
    assert dc["order_up_to"] == dc["reorder_point"] == dc["safety_stock"] == 0.0
    assert dc["expected_service"] is None and "flow-through" in dc["explanation"]
    # A decoupling store keeps its computed policy, sized over 4 buckets + review.
    s1 = out.row(1, named=True)
    assert s1["lead_time"] == 4.0 and s1["order_up_to"] > 0
    assert out.height == policies.height and out.columns == policies.columns


def test_longer_net_lead_time_means_more_stock() -> None:
    panel, stages = _panel(), _stages()
    keys = stages.select("item_id", "location_id")
    mapping = echelon_map(panel.keys, keys, LOCATIONS)
    staged = echelon_panel(panel, mapping, keys)
    levels = []
    for tau in (1.0, 4.0):
        placed = stages.with_columns(net_lead_time=pl.lit(tau))
        params = echelon_parameters(
            keys.with_columns(lead_time=pl.lit(1.0), service_target=pl.lit(0.95)), placed, mapping
        )
        levels.append(compute_policies(staged, items=params)["order_up_to"][1])
    assert levels[1] > levels[0]


def test_note_names_the_placement_and_the_locations_served() -> None:
    stages = _stages()
    notes = echelon_note(stages, echelon_map(_panel().keys, stages, LOCATIONS))
    text = dict(
        zip(notes["location_id"] + "/" + notes["item_id"], notes["echelon_note"], strict=True)
    )
    assert "net replenishment time 0.0" in text["DC/A"]
    assert "flow-through" in text["DC/A"] and "serves S1, S2" in text["DC/A"]
    assert "decoupling point" in text["S1/A"] and "serves" not in text["S1/A"]


def test_single_location_items_are_not_multi_echelon() -> None:
    placement = pl.DataFrame(
        {"item_id": ["A", "A", "C"], "location_id": ["DC", "S1", "S1"], "net_lead_time": 1.0}
    )
    assert multi_location_nodes(placement)["item_id"].to_list() == ["A", "A"]
    with pytest.raises(InvalidDataError, match="lacks column"):
        multi_location_nodes(placement.drop("net_lead_time"))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0, 50, allow_nan=False), min_size=5, max_size=5),
        min_size=2,
        max_size=2,
    )
)
def test_stage_demand_conserves_the_total_of_the_series_served(rows: list[list[float]]) -> None:
    keys = pl.DataFrame({"item_id": ["A", "A"], "location_id": ["S1", "S2"]})
    values = np.array(rows)
    periods = np.arange(5).astype("datetime64[D]")
    panel = Panel(keys, periods, values, Bucket.DAY)
    stages = pl.DataFrame({"item_id": ["A"] * 4, "location_id": ["PLANT", "DC", "S1", "S2"]})
    mapping = echelon_map(keys, stages, LOCATIONS)
    staged = echelon_panel(panel, mapping, stages)
    for stage in (0, 1):  # PLANT and DC serve both stores
        np.testing.assert_allclose(staged.values[stage], values.sum(axis=0))
    np.testing.assert_allclose(staged.values[2:], values)


def _sim_inputs() -> tuple[pl.DataFrame, pl.DataFrame]:
    stages = pl.DataFrame(
        {
            "item_id": ["A", "A", "A", "B", "B"],
            "location_id": ["DC", "S1", "S2", "DC", "S1"],
            "lead_time": [3.0, 1.0, 1.0, 2.0, 1.0],
        }
    )
    policies = stages.select("item_id", "location_id").with_columns(
        policy=pl.lit("base_stock"),
        reorder_point=pl.Series([40.0, 30.0, 30.0, 0.0, 10.0]),
        order_quantity=pl.lit(0.0),
        order_up_to=pl.Series([40.0, 30.0, 30.0, 0.0, 10.0]),
        review_period=pl.lit(1.0),
    )
    return stages, policies


def test_network_simulation_matches_a_direct_simulate_network_call() -> None:
    """Every stage of A holds stock, so each gets the policy engine's timing: simulator lead
    time = its lead time (an order placed in t is usable from t + L + 1)."""
    stages, policies = _sim_inputs()
    keys = pl.DataFrame({"item_id": ["A", "A", "B"], "location_id": ["S1", "S2", "S1"]})
    rng = np.random.default_rng(4)
    reps, horizon = 3, 40
    demand = rng.poisson(5.0, (keys.height * reps, horizon)).astype(float)
    out = simulate_stage_networks(
        stages, policies, LOCATIONS, demand_keys=keys, demand=demand, replications=reps, seed=1
    )
    assert out.height == 5 and out.columns[:2] == ["item_id", "location_id"]
    # Item A alone, by hand: nodes DC, S1, S2 (DC supplies both stores).
    a_demand = np.zeros((reps, 3, horizon))
    a_demand[:, 1] = demand[0:reps]
    a_demand[:, 2] = demand[reps : 2 * reps]
    direct = simulate_network(
        a_demand,
        supplier=[-1, 0, 0],
        policy="base_stock",
        order_up_to=[40.0, 30.0, 30.0],
        lead_time=np.repeat(np.array([[3, 1, 1]] * reps)[:, :, None], horizon, axis=2),
        seed=1,
    )
    a = out.filter(pl.col("item_id") == "A")
    expected = direct.customer_fill_rate[:, 1:].mean(axis=0)  # the stores
    np.testing.assert_allclose(a["network_fill_rate"].to_numpy()[1:], expected)
    assert np.isnan(a["network_fill_rate"][0])  # the DC has no customers of its own
    np.testing.assert_allclose(a["network_on_hand"].to_numpy(), direct.average_on_hand.mean(axis=0))


def test_a_flow_through_dc_makes_its_stores_wait() -> None:
    """B's DC holds nothing (base stock 0): S1's orders pass through it and wait the DC's
    2-bucket supply time too (usable 1 + 2 + 1 buckets after the order), so a store level
    sized for its own 1-bucket transfer falls short; with stock at the DC the same store
    level serves far better."""
    stages, policies = _sim_inputs()
    keys = pl.DataFrame({"item_id": ["B"], "location_id": ["S1"]})
    demand = np.full((1, 60), 4.0)
    starved = simulate_stage_networks(stages, policies, LOCATIONS, demand_keys=keys, demand=demand)
    stocked = simulate_stage_networks(
        stages,
        policies.with_columns(
            pl.when(pl.col("item_id") == "B", pl.col("location_id") == "DC")
            .then(20.0)
            .otherwise(pl.col("order_up_to"))
            .alias("order_up_to")
        ),
        LOCATIONS,
        demand_keys=keys,
        demand=demand,
    )

    def fill(frame: pl.DataFrame) -> float:
        row = frame.filter(pl.col("item_id") == "B", pl.col("location_id") == "S1")
        return float(row["network_fill_rate"][0])

    assert fill(stocked) == pytest.approx(1.0)
    assert fill(starved) < 0.8


@pytest.mark.parametrize("lead_time", [0, 1, 3])
@pytest.mark.parametrize("policy", ["base_stock", "s_S", "s_Q", "R_S"])
def test_a_one_location_network_is_the_single_echelon_simulator(
    policy: str, lead_time: int
) -> None:
    """The item-network simulation keeps the policy engine's timing: a stage fed from
    outside with lead time L gets its orders at t + L + 1, so a one-location "network"
    gives exactly the single-echelon simulator's numbers for the same policy and demand."""
    review = 2 if policy == "R_S" else 1
    protected = 10.0 * (lead_time + review)  # mean demand over R + L, levels a little above
    levels = {
        "reorder_point": protected if policy in {"s_S", "s_Q"} else protected + 4.0,
        "order_quantity": 25.0 if policy == "s_Q" else 1.0,
        "order_up_to": protected + (30.0 if policy == "s_S" else 4.0),
    }
    stages = pl.DataFrame({"item_id": ["A"], "location_id": ["S1"], "lead_time": [lead_time]})
    policies = stages.select("item_id", "location_id").with_columns(
        policy=pl.lit(policy),
        reorder_point=pl.lit(levels["reorder_point"]),
        order_quantity=pl.lit(levels["order_quantity"]),
        order_up_to=pl.lit(levels["order_up_to"]),
        review_period=pl.lit(float(review)),
    )
    keys = pl.DataFrame({"item_id": ["A"], "location_id": ["S1"]})
    reps, warmup = 4, 10
    demand = np.random.default_rng(17).gamma(4.0, 2.5, (reps, 300))
    out = simulate_stage_networks(
        stages,
        policies,
        LOCATIONS,
        demand_keys=keys,
        demand=demand,
        replications=reps,
        warmup=warmup,
    )
    single = simulate_single_echelon(
        demand,
        policy=policy,
        reorder_point=levels["reorder_point"],
        order_quantity=levels["order_quantity"],
        order_up_to=levels["order_up_to"],
        review_period=review,
        lead_time=lead_time,
        warmup=warmup,
        seed=0,
    )
    row = out.row(0, named=True)
    assert float(np.mean(single.fill_rate)) < 1.0  # the levels leave shortages to compare
    assert row["network_fill_rate"] == pytest.approx(float(np.mean(single.fill_rate)), rel=1e-12)
    assert row["network_stage_fill_rate"] == pytest.approx(row["network_fill_rate"], rel=1e-12)
    assert row["network_on_hand"] == pytest.approx(
        float(np.mean(single.average_on_hand)), rel=1e-12
    )


def test_three_echelon_store_fill_rate_reaches_the_target_on_a_long_seeded_run() -> None:
    """A PLANT -> DC -> store item sized for a 95 % fill rate (stock at the store only, net
    replenishment time 6) delivers about 95 % through the item-network simulation on a
    2,000-bucket seeded run (8 replications), as the policy engine promised; on the
    topology's times alone (orders usable t + tau, one bucket early) it read 0.9997.
    Tolerance 0.02: the policy is sized on 156 buckets of history, not the true law."""
    rng = np.random.default_rng(2026)
    history = rng.poisson(20.0, 156).astype(float)
    target = 0.95
    placement, stages, policies = item_network_policies(history, target)
    store = placement.filter(pl.col("location_id") == "S1").row(0, named=True)
    assert store["net_lead_time"] == 6.0
    stocked = placement.filter(pl.col("stock_role") == "decoupling")["location_id"].to_list()
    assert stocked == ["S1"]
    keys = pl.DataFrame({"item_id": ["A"], "location_id": ["S1"]})
    reps, horizon = 8, 2000
    paths = rng.poisson(20.0, (reps, horizon)).astype(float)
    out = simulate_stage_networks(
        stages,
        policies,
        LOCATIONS,
        demand_keys=keys,
        demand=paths,
        replications=reps,
        warmup=50,
    )
    fill = out.filter(pl.col("location_id") == "S1")["network_fill_rate"][0]
    assert fill == pytest.approx(target, abs=0.02)


def test_zero_lead_time_sd_and_defects_reproduce_the_fixed_network_simulation() -> None:
    """Stages carrying lead_time_sd = 0 and defect_rate = 0 (or nulls) simulate exactly as
    stages without the columns: the constant-lead-time results do not change."""
    stages, policies = _sim_inputs()
    keys = pl.DataFrame({"item_id": ["A", "A", "B"], "location_id": ["S1", "S2", "S1"]})
    reps = 4
    demand = np.random.default_rng(2).poisson(5.0, (keys.height * reps, 50)).astype(float)
    kwargs = {"demand_keys": keys, "demand": demand, "replications": reps, "seed": 3}
    plain = simulate_stage_networks(stages, policies, LOCATIONS, **kwargs)
    zeros = stages.with_columns(
        lead_time_sd=pl.Series([0.0, 0.0, None, 0.0, 0.0]), defect_rate=pl.lit(0.0)
    )
    assert simulate_stage_networks(zeros, policies, LOCATIONS, **kwargs).equals(plain)


def test_supply_stage_draws_the_supplier_lead_time_and_defects_of_a_direct_call() -> None:
    """Item A's DC (fed by the outside supplier, lead time 3) gets lead-time sd 1.5 and a
    10 % defect rate; the stores' lanes keep their fixed 1 bucket. The result is a direct
    simulate_network call with fit_lead_time(mean = the simulator lead time, sd) on the DC
    and the defect rate there, same seed: the same draws in the same order."""
    stages, policies = _sim_inputs()
    stages = stages.with_columns(
        lead_time_sd=pl.Series([1.5, 0.0, 0.0, 0.0, 0.0]),
        defect_rate=pl.Series([0.1, 0.0, 0.0, 0.0, 0.0]),
    )
    keys = pl.DataFrame({"item_id": ["A", "A"], "location_id": ["S1", "S2"]})
    reps, horizon = 3, 60
    demand = np.random.default_rng(4).poisson(5.0, (keys.height * reps, horizon)).astype(float)
    out = simulate_stage_networks(
        stages.filter(pl.col("item_id") == "A"),
        policies,
        LOCATIONS,
        demand_keys=keys,
        demand=demand,
        replications=reps,
        seed=1,
    )
    a_demand = np.zeros((reps, 3, horizon))
    a_demand[:, 1] = demand[0:reps]
    a_demand[:, 2] = demand[reps:]
    fixed = np.array([[3, 1, 1]] * reps)  # every stage stocks: simulator lead time = lead time
    direct = simulate_network(
        a_demand,
        supplier=[-1, 0, 0],
        policy="base_stock",
        order_up_to=[40.0, 30.0, 30.0],
        lead_time=fit_lead_time(fixed.astype(float), np.array([[1.5, 0.0, 0.0]] * reps)),
        defect_rate=np.array([[0.1, 0.0, 0.0]] * reps),
        seed=1,
    )
    np.testing.assert_allclose(out["network_on_hand"].to_numpy(), direct.average_on_hand.mean(0))
    np.testing.assert_allclose(
        out["network_fill_rate"].to_numpy()[1:], direct.customer_fill_rate[:, 1:].mean(axis=0)
    )


def test_supplier_variability_at_the_supply_stage_costs_the_stores_service() -> None:
    """A's DC sized for a fixed 3-bucket supply: with a variable supply lead time (sd 2) or
    20 % defects at the DC, its stores are served worse, measured over 600 buckets."""
    stages, policies = _sim_inputs()
    keys = pl.DataFrame({"item_id": ["A", "A"], "location_id": ["S1", "S2"]})
    reps, horizon = 4, 600
    demand = np.random.default_rng(6).poisson(8.0, (keys.height * reps, horizon)).astype(float)
    a_stages = stages.filter(pl.col("item_id") == "A")

    def store_fill(sd: float, defects: float) -> float:
        varied = a_stages.with_columns(
            lead_time_sd=pl.Series([sd, 0.0, 0.0]), defect_rate=pl.Series([defects, 0.0, 0.0])
        )
        out = simulate_stage_networks(
            varied, policies, LOCATIONS, demand_keys=keys, demand=demand, replications=reps
        )
        return float(np.nanmean(out["network_fill_rate"].to_numpy()))

    fixed = store_fill(0.0, 0.0)
    assert store_fill(2.0, 0.0) < fixed - 0.01
    assert store_fill(0.0, 0.2) < fixed - 0.01
