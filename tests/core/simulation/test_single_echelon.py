"""Single-echelon simulator: hand-computed traces, closed forms and invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from stockpilot.core.simulation import simulate_single_echelon
from stockpilot.errors import InvalidDataError, InvalidParameterError


def test_hand_computed_base_stock_trace() -> None:
    """Demand 2 every period, S = 5, L = 1: each order arrives two periods later.

    Period 0 ends with 5 - 2 = 3 and orders 2 (due at the start of period 2); period 1
    ends with 1; from period 2 on each receipt of 2 meets the demand of 2, leaving 1.
    """
    res = simulate_single_echelon(
        [[2.0, 2, 2, 2]], policy="base_stock", order_up_to=5.0, lead_time=1, return_traces=True
    )
    assert res.traces is not None
    np.testing.assert_array_equal(res.traces.on_hand[0], [3, 1, 1, 1])
    np.testing.assert_array_equal(res.traces.orders[0], [2, 2, 2, 2])
    np.testing.assert_array_equal(res.traces.receipts[0], [0, 0, 2, 2])
    np.testing.assert_array_equal(res.traces.inventory_position[0], [5, 5, 5, 5])
    assert res.fill_rate[0] == 1.0
    assert res.average_on_hand[0] == 1.5
    assert res.orders_placed[0] == 4


def test_hand_computed_s_q_trace_backorders_and_lost_sales() -> None:
    """(s, Q) = (4, 10), demand 3 per period, L = 1, start with s + Q = 14 on hand.

    Backorders: IP reaches 2 <= 4 in period 3 (order 10, due period 5); period 4 has 2 on
    hand for a demand of 3, so 1 unit is backordered and filled by the receipt in period 5.
    Lost sales: the unit is lost instead, so the next order comes one period later.
    """
    demand = np.full((1, 9), 3.0)
    kw = {"policy": "s_Q", "reorder_point": 4.0, "order_quantity": 10.0, "lead_time": 1}
    back = simulate_single_echelon(demand, **kw, return_traces=True)  # type: ignore[arg-type]
    assert back.traces is not None
    np.testing.assert_array_equal(back.traces.on_hand[0], [11, 8, 5, 2, 0, 6, 3, 0, 7])
    np.testing.assert_array_equal(back.traces.backorders[0], [0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(back.traces.orders[0], [0, 0, 0, 10, 0, 0, 10, 0, 0])
    assert back.fill_rate[0] == pytest.approx(26 / 27)
    assert back.cycle_service_level[0] == 1.0  # one closed cycle (periods 5-7), no shortage
    assert back.ready_rate[0] == pytest.approx(8 / 9)
    assert back.average_backorders[0] == pytest.approx(1 / 9)

    lost = simulate_single_echelon(demand, **kw, backorders=False, return_traces=True)  # type: ignore[arg-type]
    assert lost.traces is not None
    np.testing.assert_array_equal(lost.traces.on_hand[0], [11, 8, 5, 2, 0, 7, 4, 1, 8])
    np.testing.assert_array_equal(lost.traces.lost[0], [0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(lost.traces.orders[0], [0, 0, 0, 10, 0, 0, 10, 0, 0])
    assert lost.average_lost_sales[0] == pytest.approx(1 / 9)
    assert lost.fill_rate[0] == pytest.approx(26 / 27)


def test_review_period_and_min_max() -> None:
    """R = 2 (R, S): orders only in even periods; (s, S) = (3, 8) orders when IP <= 3."""
    d = np.full((2, 6), 2.0)
    res = simulate_single_echelon(
        d,
        policy=["R_S", "s_S"],
        order_up_to=[8.0, 8.0],
        reorder_point=[np.nan, 3.0],
        review_period=[2, 1],
        lead_time=0,
        return_traces=True,
    )
    assert res.traces is not None
    np.testing.assert_array_equal(res.traces.orders[0], [2, 0, 4, 0, 4, 0])
    np.testing.assert_array_equal(res.traces.orders[1], [0, 0, 6, 0, 0, 6])


def _poisson_loss(mean: float, level: float) -> float:
    """E[(D - level)^+] for D ~ Poisson(mean) (integer level)."""
    k = np.arange(0, int(mean * 10 + 50))
    return float(np.sum(np.maximum(k - level, 0) * stats.poisson.pmf(k, mean)))


def test_base_stock_poisson_matches_closed_form() -> None:
    """Base stock S = 15, Poisson(4) demand, L = 2 (protection L + 1 = 3 periods).

    Closed forms (Zipkin 2000, section 6.2; Axsäter 2015, section 5.3): ready rate
    P(D[3] <= S); E[on hand] = E[(S - D[3])^+]; E[backorders] = E[(D[3] - S)^+];
    fill rate = 1 - (E[(D[3] - S)^+] - E[(D[2] - S)^+]) / lambda.
    """
    lam, lead, level = 4.0, 2, 15.0
    rng = np.random.default_rng(7)
    demand = rng.poisson(lam, size=(400, 1_000)).astype(float)
    res = simulate_single_echelon(
        demand, policy="base_stock", order_up_to=level, lead_time=lead, warmup=10
    )
    mu = lam * (lead + 1)
    back = _poisson_loss(mu, level)
    on_hand = level - mu + back
    fill = 1 - (back - _poisson_loss(lam * lead, level)) / lam
    ready = stats.poisson.cdf(level, mu)
    assert np.mean(res.ready_rate) == pytest.approx(ready, abs=0.004)
    assert np.mean(res.average_on_hand) == pytest.approx(on_hand, abs=0.02)
    assert np.mean(res.average_backorders) == pytest.approx(back, abs=0.01)
    assert np.sum(res.fill_rate * res.total_demand) / np.sum(res.total_demand) == pytest.approx(
        fill, abs=0.003
    )


def _g2(x: float) -> float:
    """Second-order standard normal loss function (Zipkin 2000, eq. C.2.9)."""
    return 0.5 * ((x * x + 1) * stats.norm.sf(x) - x * stats.norm.pdf(x))


def test_s_q_normal_matches_loss_function_fill_rate() -> None:
    """(s, Q) with N(20, 4^2) demand per period, L = 3, s = 85, Q = 40.

    The inventory position after ordering is uniform on (s, s + Q] (Zipkin 2000, thm 6.2.3),
    so E[B(k)] = sigma_k^2 / Q * (G2((s - mu_k) / sigma_k) - G2((s + Q - mu_k) / sigma_k))
    over k = L + 1 periods; the unmet demand per period is E[B(L + 1)] - E[B(L)], and the
    fill rate is 1 minus that over the mean demand.
    """
    mu, sd, lead, s, q = 20.0, 4.0, 3, 85.0, 40.0
    rng = np.random.default_rng(11)
    demand = np.maximum(rng.normal(mu, sd, size=(400, 1_000)), 0.0)
    res = simulate_single_echelon(
        demand, policy="s_Q", reorder_point=s, order_quantity=q, lead_time=lead, warmup=20
    )

    def backorders(k: int) -> float:
        m, sig = mu * k, sd * np.sqrt(k)
        return sig**2 / q * (_g2((s - m) / sig) - _g2((s + q - m) / sig))

    fill = 1 - (backorders(lead + 1) - backorders(lead)) / mu
    achieved = np.sum(res.fill_rate * res.total_demand) / np.sum(res.total_demand)
    assert achieved == pytest.approx(fill, abs=0.003)
    assert np.mean(res.average_backorders) == pytest.approx(backorders(lead + 1), rel=0.05)


def test_r_s_normal_cycle_service_level() -> None:
    """(R, S) with R = 4, L = 2: each cycle is short iff D[R + L] > S, so CSL = Phi(z)."""
    mu, sd, review, lead = 10.0, 3.0, 4, 2
    k = review + lead
    level = mu * k + 1.0 * sd * np.sqrt(k)
    rng = np.random.default_rng(3)
    demand = np.maximum(rng.normal(mu, sd, size=(500, 800)), 0.0)
    res = simulate_single_echelon(
        demand, policy="R_S", order_up_to=level, review_period=review, lead_time=lead, warmup=8
    )
    assert np.nanmean(res.cycle_service_level) == pytest.approx(stats.norm.cdf(1.0), abs=0.006)


def test_lost_sales_fill_rate_not_below_backorders() -> None:
    """Under base stock, lost sales keep net stock >= the backorder case on every path."""
    rng = np.random.default_rng(5)
    demand = rng.poisson(3.0, size=(50, 300)).astype(float)
    kw = {"policy": "base_stock", "order_up_to": 9.0, "lead_time": 2}
    back = simulate_single_echelon(demand, **kw)  # type: ignore[arg-type]
    lost = simulate_single_echelon(demand, **kw, backorders=False)  # type: ignore[arg-type]
    assert np.all(lost.fill_rate >= back.fill_rate - 1e-12)
    assert np.all(lost.average_on_hand >= back.average_on_hand - 1e-12)


def test_random_lead_times_sampler_and_matrix_agree() -> None:
    """A sampler gives the same run as the matrix it draws, and orders may cross."""

    def sampler(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return rng.integers(0, 5, size=shape)

    rng = np.random.default_rng(2)
    demand = rng.poisson(5.0, size=(20, 200)).astype(float)
    a = simulate_single_echelon(
        demand, policy="base_stock", order_up_to=30.0, lead_time=sampler, seed=9
    )
    matrix = sampler(np.random.default_rng(9), (20, 200))
    b = simulate_single_echelon(demand, policy="base_stock", order_up_to=30.0, lead_time=matrix)
    np.testing.assert_array_equal(a.fill_rate, b.fill_rate)
    np.testing.assert_array_equal(a.average_on_hand, b.average_on_hand)


def test_defect_rate_scraps_received_units() -> None:
    """With 20 % defects about 80 % of the ordered units arrive good, and service drops."""
    rng = np.random.default_rng(4)
    demand = rng.poisson(10.0, size=(100, 400)).astype(float)
    kw = {"policy": "base_stock", "order_up_to": 40.0, "lead_time": 1, "return_traces": True}
    clean = simulate_single_echelon(demand, **kw)  # type: ignore[arg-type]
    zero = simulate_single_echelon(demand, **kw, defect_rate=0.0, seed=1)  # type: ignore[arg-type]
    bad = simulate_single_echelon(demand, **kw, defect_rate=0.2, seed=1)  # type: ignore[arg-type]
    np.testing.assert_array_equal(clean.fill_rate, zero.fill_rate)
    assert bad.traces is not None
    ordered = bad.traces.orders[:, :-2].sum()
    received = bad.traces.receipts[:, 2:].sum()
    assert received / ordered == pytest.approx(0.8, abs=0.005)
    assert np.mean(bad.fill_rate) < np.mean(clean.fill_rate)


def test_nan_before_start_is_not_measured() -> None:
    demand = np.array([[np.nan, np.nan, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    res = simulate_single_echelon(demand, policy="base_stock", order_up_to=2.0)
    np.testing.assert_array_equal(res.measured_periods, [2, 4])
    np.testing.assert_array_equal(res.total_demand, [2.0, 4.0])


def test_no_demand_gives_nan_fill_rate() -> None:
    res = simulate_single_echelon(np.zeros((1, 5)), policy="base_stock", order_up_to=1.0)
    assert np.isnan(res.fill_rate[0])
    assert res.ready_rate[0] == 1.0


def test_validation_messages() -> None:
    with pytest.raises(InvalidParameterError, match="'base_stock', 's_Q'"):
        simulate_single_echelon(np.ones((1, 3)), policy="sQ", order_up_to=1.0)
    with pytest.raises(InvalidParameterError, match="'order_up_to'"):
        simulate_single_echelon(np.ones((1, 3)), policy="R_S")
    with pytest.raises(InvalidParameterError, match="'order_quantity'"):
        simulate_single_echelon(
            np.ones((1, 3)), policy="s_Q", reorder_point=1.0, order_quantity=0.0
        )
    with pytest.raises(InvalidParameterError, match="'lead_time'"):
        simulate_single_echelon(np.ones((1, 3)), policy="base_stock", order_up_to=1, lead_time=-1)
    with pytest.raises(InvalidParameterError, match="'defect_rate'"):
        simulate_single_echelon(
            np.ones((1, 3)), policy="base_stock", order_up_to=1, defect_rate=1.0
        )
    with pytest.raises(InvalidParameterError, match="'warmup'"):
        simulate_single_echelon(np.ones((1, 3)), policy="base_stock", order_up_to=1, warmup=3)
    with pytest.raises(InvalidDataError, match="finite and >= 0"):
        simulate_single_echelon(-np.ones((1, 3)), policy="base_stock", order_up_to=1)


demand_matrices = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 30)),
    elements=st.integers(0, 20).map(float),
)


@settings(max_examples=60, deadline=None)
@given(demand=demand_matrices, level=st.integers(0, 60), lead=st.integers(0, 4), lost=st.booleans())
def test_property_fill_rate_in_unit_interval_and_order_free(
    demand: np.ndarray, level: int, lead: int, lost: bool
) -> None:
    kw = {
        "policy": "base_stock",
        "order_up_to": float(level),
        "lead_time": lead,
        "backorders": not lost,
    }
    res = simulate_single_echelon(demand, **kw)  # type: ignore[arg-type]
    ok = ~np.isnan(res.fill_rate)
    assert np.all((res.fill_rate[ok] >= 0) & (res.fill_rate[ok] <= 1))
    assert np.all((res.ready_rate >= 0) & (res.ready_rate <= 1))
    order = np.arange(demand.shape[0])[::-1]
    rev = simulate_single_echelon(demand[order], **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(rev.fill_rate, res.fill_rate[order])
    np.testing.assert_array_equal(rev.average_on_hand, res.average_on_hand[order])


@settings(max_examples=60, deadline=None)
@given(
    demand=demand_matrices,
    level=st.integers(0, 60),
    extra=st.integers(1, 20),
    review=st.integers(1, 4),
)
def test_property_more_stock_never_lowers_fill_rate(
    demand: np.ndarray, level: int, extra: int, review: int
) -> None:
    kw = {"policy": "R_S", "review_period": review, "lead_time": 2}
    low = simulate_single_echelon(demand, order_up_to=float(level), **kw)  # type: ignore[arg-type]
    high = simulate_single_echelon(demand, order_up_to=float(level + extra), **kw)  # type: ignore[arg-type]
    ok = ~np.isnan(low.fill_rate)
    assert np.all(high.fill_rate[ok] >= low.fill_rate[ok] - 1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), defect=st.floats(0.0, 0.5))
def test_property_same_seed_same_result(seed: int, defect: float) -> None:
    demand = np.random.default_rng(0).poisson(4.0, size=(5, 40)).astype(float)

    def run() -> np.ndarray:
        res = simulate_single_echelon(
            demand,
            policy="s_Q",
            reorder_point=10.0,
            order_quantity=8.0,
            lead_time=lambda rng, shape: rng.integers(0, 4, size=shape),
            defect_rate=defect,
            seed=seed,
        )
        return np.stack([res.fill_rate, res.average_on_hand, res.cycle_service_level])

    np.testing.assert_array_equal(run(), run())


CARPARTS = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "data"
    / "carparts"
    / "demand_monthly.csv"
)


@pytest.mark.shared_data
def test_carparts_real_demand_invariants() -> None:
    """Real intermittent demand (Hyndman et al. 2008 carparts): 2,509 complete series at once.

    Invariants that must hold on any data: fill rates in [0, 1]; lost sales never fill
    less than backorders under base stock; one more unit of stock never lowers service.
    """
    if not CARPARTS.exists():
        pytest.skip("../shared/data/carparts is not available")
    import polars as pl

    wide = pl.read_csv(CARPARTS, infer_schema_length=0)
    values = wide.drop("unique_id").with_columns(pl.all().cast(pl.Float64)).to_numpy()
    values = values[~np.isnan(values).any(axis=1)]
    train, test = values[:, :-12], values[:, -12:]
    level = np.ceil(2 * train.mean(axis=1) + 1.645 * train.std(axis=1) * np.sqrt(2))
    kw = {"policy": "base_stock", "lead_time": 1}
    back = simulate_single_echelon(test, order_up_to=level, **kw)  # type: ignore[arg-type]
    lost = simulate_single_echelon(test, order_up_to=level, backorders=False, **kw)  # type: ignore[arg-type]
    more = simulate_single_echelon(test, order_up_to=level + 1, **kw)  # type: ignore[arg-type]
    ok = ~np.isnan(back.fill_rate)
    assert ok.sum() > 1000
    assert np.all((back.fill_rate[ok] >= 0) & (back.fill_rate[ok] <= 1))
    assert np.all(lost.fill_rate[ok] >= back.fill_rate[ok] - 1e-12)
    assert np.all(more.fill_rate[ok] >= back.fill_rate[ok] - 1e-12)
    assert np.all(more.average_on_hand >= back.average_on_hand)


def test_unused_levels_may_be_zero_or_missing_without_warnings() -> None:
    """Regression: base-stock rows with Q = 0 (as the policy engine writes) raised warnings."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = simulate_single_echelon(
            np.ones((2, 5)),
            policy=["base_stock", "s_Q"],
            order_up_to=[3.0, np.nan],
            reorder_point=[np.nan, 2.0],
            order_quantity=[0.0, 4.0],
        )
    assert np.all(res.fill_rate == 1.0)
