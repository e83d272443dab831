"""Policy lines simulated under the uncertainty they were sized for (simulate_policy_lines).

The policy engine sizes levels for a random lead time (``lead_time_sd``) and grosses lots
and safety stock up for a defect rate. These tests size policies with and without that
uncertainty and simulate both in the world that has it: the policy sized for it reaches
its fill-rate target, the one sized without falls short. With sd 0 and no defects the
simulation is the previous fixed-lead-time one, number for number.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from stockpilot.core.simulation.single_echelon import SingleEchelonResult, simulate_single_echelon
from stockpilot.engine.panel import Panel, to_panel
from stockpilot.engine.policies import compute_policies
from stockpilot.engine.simulation import line_uncertainty, simulate_policy_lines

TARGET = 0.95
LINES = 4
REPS = 40
HORIZON = 260
WARMUP = 20


def _panel() -> Panel:
    """150 weeks of Poisson(10) demand for four items at one warehouse."""
    values = np.random.default_rng(3).poisson(10.0, (LINES, 150)).astype(float)
    start = date(2023, 1, 2)
    rows = [
        (f"I{i}", "DC", start + timedelta(weeks=k), float(values[i, k]))
        for i in range(LINES)
        for k in range(values.shape[1])
    ]
    frame = pl.DataFrame(
        rows, schema=["item_id", "location_id", "period", "quantity"], orient="row"
    )
    return to_panel(frame, bucket="week")


def _policies(*, lead_time_sd: float = 0.0, defect_rate: float = 0.0, lots: bool) -> pl.DataFrame:
    """Fill-rate 0.95 policies for lead time 4; ``lots`` gives costs that make them s_Q."""
    items = {
        "item_id": [f"I{i}" for i in range(LINES)],
        "lead_time": [4.0] * LINES,
        "lead_time_sd": [lead_time_sd] * LINES,
        "defect_rate": [defect_rate] * LINES,
        "service_target": [TARGET] * LINES,
    }
    if lots:
        items |= {
            "unit_cost": [10.0] * LINES,
            "holding_cost_rate": [0.25] * LINES,
            "order_cost": [50.0] * LINES,
        }
    return compute_policies(_panel(), items=pl.DataFrame(items))


def _demand(seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).poisson(10.0, (LINES * REPS, HORIZON)).astype(float)


def _pooled(result: SingleEchelonResult) -> float:
    return float((result.fill_rate * result.total_demand).sum() / result.total_demand.sum())


def _simulate(policies: pl.DataFrame, seed: int = 5) -> float:
    sim = simulate_policy_lines(policies, _demand(seed), repeat=REPS, warmup=WARMUP, seed=seed)
    return _pooled(sim.result)


@pytest.mark.parametrize("lots", [False, True], ids=["base_stock", "s_Q"])
def test_policy_sized_for_lead_time_sd_reaches_its_target_and_one_sized_without_falls_short(
    lots: bool,
) -> None:
    """Lead time mean 4, sd 2 buckets. Sized with the sd, the policy reaches 0.95 (base
    stock overshoots: independent lead times let orders cross, which the random-sum
    lead-time demand of the policy engine does not credit); sized with sd 0 it falls short
    when the lead times really vary."""
    sized = _policies(lead_time_sd=2.0, lots=lots)
    naive = _policies(lead_time_sd=0.0, lots=lots)
    assert sized["policy"][0] == ("s_Q" if lots else "base_stock")
    # the naive levels, in the world whose lead times vary as the receipts say
    naive_world = naive.with_columns(sized["lead_time_sd"])
    assert _simulate(sized) >= TARGET
    assert _simulate(naive_world) <= TARGET - 0.01
    # and without variability the naive policy is right: the shortfall is the sd's
    assert _simulate(naive) >= TARGET - 0.005


def test_policy_grossed_up_for_defects_meets_its_target_and_one_not_grossed_falls_short() -> None:
    """Defect rate 0.3 on s_Q lines: the lot grossed up to Q / (1 - p) brings Q good units
    and meets 0.95; the policy sized without defects, receiving 30 % scrap, does not."""
    grossed = _policies(defect_rate=0.3, lots=True)
    plain = _policies(lots=True)
    assert np.all(grossed["order_quantity"].to_numpy() > plain["order_quantity"].to_numpy())
    for seed in (5, 7):
        assert _simulate(grossed, seed) >= TARGET
        assert _simulate(plain.with_columns(grossed["defect_rate"]), seed) <= TARGET - 0.003


@pytest.mark.parametrize("defect_rate", [0.1, 0.3])
def test_order_up_to_line_grossed_up_for_defects_meets_its_target(defect_rate: float) -> None:
    """Base stock with defects: the position counts gross open orders of which p will be
    scrapped, so compute_policies lifts S by their expected scrap p D (L + 1) / (1 - p).
    That level meets 0.95; the level sized without defects, in the same world, does not."""
    grossed = _policies(defect_rate=defect_rate, lots=False)
    plain = _policies(lots=False)
    assert grossed["policy"][0] == "base_stock"
    assert np.all(grossed["order_up_to"].to_numpy() > plain["order_up_to"].to_numpy())
    for seed in (5, 7):
        assert _simulate(grossed, seed) >= TARGET
        assert _simulate(plain.with_columns(grossed["defect_rate"]), seed) <= TARGET - 0.05


def test_without_variability_the_previous_fixed_lead_time_simulation_is_reproduced() -> None:
    """sd 0 and defect rate 0: exactly the old check, simulate_single_echelon with the
    rounded lead time and no defects (a fractional lead time is rounded as before)."""
    policies = _policies(lots=True).with_columns(
        pl.Series("lead_time", [4.0, 3.6, 2.5, 4.0]),  # 2.5 rounds half to even: 2
    )
    demand = _demand()
    new = simulate_policy_lines(policies, demand, repeat=REPS, warmup=WARMUP, seed=9)
    old = simulate_single_echelon(
        demand,
        policy=np.repeat(policies["policy"].to_numpy(), REPS),
        reorder_point=np.repeat(policies["reorder_point"].to_numpy(), REPS),
        order_quantity=np.repeat(np.maximum(policies["order_quantity"].to_numpy(), 1.0), REPS),
        order_up_to=np.repeat(policies["order_up_to"].to_numpy(), REPS),
        review_period=1,
        lead_time=np.repeat(np.round(policies["lead_time"].to_numpy()), REPS).astype(np.int64),
        warmup=WARMUP,
    )
    for name in ("fill_rate", "average_on_hand", "orders_placed", "cycle_service_level"):
        np.testing.assert_array_equal(getattr(new.result, name), getattr(old, name))
    assert new.random_lead_time_lines == 0 and new.defect_lines == 0
    # uncertainty=False on lines that have it is the same old check
    varied = policies.with_columns(
        pl.lit(1.5).alias("lead_time_sd"), pl.lit(0.1).alias("defect_rate")
    )
    off = simulate_policy_lines(varied, demand, repeat=REPS, warmup=WARMUP, uncertainty=False)
    np.testing.assert_array_equal(off.result.fill_rate, old.fill_rate)


def test_draws_are_seeded_and_counted_per_line() -> None:
    policies = _policies(lots=True).with_columns(
        pl.Series("lead_time_sd", [0.0, 1.0, 2.0, 0.0]),
        pl.Series("defect_rate", [0.0, 0.0, 0.05, None]),
    )
    demand = _demand()
    a = simulate_policy_lines(policies, demand, repeat=REPS, seed=3)
    b = simulate_policy_lines(policies, demand, repeat=REPS, seed=3)
    c = simulate_policy_lines(policies, demand, repeat=REPS, seed=4)
    np.testing.assert_array_equal(a.result.fill_rate, b.result.fill_rate)
    assert not np.array_equal(a.result.average_on_hand, c.result.average_on_hand)
    assert (a.random_lead_time_lines, a.defect_lines) == (2, 1)
    # lines without variability draw nothing of their own: same figures under any seed
    fixed = np.repeat(np.array([True, False, False, True]), REPS)
    np.testing.assert_array_equal(a.result.fill_rate[fixed], c.result.fill_rate[fixed])


def test_missing_uncertainty_columns_mean_none() -> None:
    frame = pl.DataFrame({"lead_time_sd": [1.0, None, float("nan"), -2.0]})
    sd, defects = line_uncertainty(frame)
    assert sd.tolist() == [1.0, 0.0, 0.0, 0.0] and defects.tolist() == [0.0] * 4
