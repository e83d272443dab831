"""Serial SSM: Chen-Zheng recursion against published optima and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from stockpilot.core.network.network import Edge, Network, Node
from stockpilot.core.network.ssm import (
    serial_base_stock_cost,
    serial_base_stock_levels,
    serial_network_base_stock_levels,
    shang_song_heuristic,
)
from stockpilot.errors import InvalidDataError, InvalidParameterError

# Shang and Song (2003), Table 1: N = 4, Poisson demand rate 16, L_j = 0.25.
# (row, echelon holding costs stage 1..4, p, optimal echelon levels, optimal cost)
SHANG_SONG_ROWS = [
    (1, [0.25, 0.25, 0.25, 0.25], 9.0, [8, 13, 18, 22], 12.688),
    (9, [0.25, 2.5, 2.5, 0.25], 9.0, [9, 10, 13, 19], 53.008),
    (17, [0.25, 0.25, 0.25, 0.25], 99.0, [11, 17, 22, 27], 16.206),
    (25, [0.25, 2.5, 2.5, 0.25], 99.0, [11, 14, 18, 26], 74.564),
]


@pytest.mark.parametrize(("row", "h", "p", "levels", "cost"), SHANG_SONG_ROWS)
def test_shang_song_2003_table_1(
    row: int, h: list[float], p: float, levels: list[int], cost: float
) -> None:
    """Optimal echelon base-stock levels and cost to the 3 decimals printed in the paper."""
    sol = serial_base_stock_levels(
        echelon_holding_cost=h,
        lead_time=0.25,
        stockout_cost=p,
        demand_mean=16,
        distribution="poisson",
    )
    np.testing.assert_array_equal(sol.echelon_base_stock, levels)
    assert round(sol.expected_cost, 3) == cost, row


@pytest.mark.parametrize(("row", "h", "p", "levels", "cost"), SHANG_SONG_ROWS)
def test_shang_song_2003_heuristic_within_published_error(
    row: int, h: list[float], p: float, levels: list[int], cost: float
) -> None:
    """The newsvendor heuristic costs at most 1.5 % above the optimum (paper's maximum)."""
    heur = shang_song_heuristic(
        echelon_holding_cost=h,
        lead_time=0.25,
        stockout_cost=p,
        demand_mean=16,
        distribution="poisson",
    )
    assert cost - 1e-3 <= heur.expected_cost <= cost * 1.015, row


def test_snyder_shen_2019_example_6_1() -> None:
    """Example 6.1: h = (3, 2, 2), L = (1, 1, 2), p = 37.12, N(5, 1) demand per period.

    The book prints the local base-stock levels 6.49, 5.53, 10.69.
    """
    kw = {
        "echelon_holding_cost": [3.0, 2.0, 2.0],
        "lead_time": [1, 1, 2],
        "stockout_cost": 37.12,
        "demand_mean": 5.0,
        "demand_sd": 1.0,
    }
    sol = serial_base_stock_levels(**kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(sol.local_base_stock, [6.49, 5.53, 10.69], atol=0.005)
    fine = serial_base_stock_levels(**kw, grid_step=0.0025)  # type: ignore[arg-type]
    assert sol.expected_cost == pytest.approx(fine.expected_cost, abs=1e-3)
    np.testing.assert_allclose(sol.echelon_base_stock, fine.echelon_base_stock, atol=1e-3)
    # Evaluating the optimal levels gives the optimal cost; moving any level costs more.
    at_opt = serial_base_stock_cost(sol.echelon_base_stock, **kw)  # type: ignore[arg-type]
    assert at_opt == pytest.approx(sol.expected_cost, abs=1e-4)
    for j in range(3):
        moved = sol.echelon_base_stock.copy()
        moved[j] += 0.5
        assert serial_base_stock_cost(moved, **kw) > sol.expected_cost  # type: ignore[arg-type]


def test_snyder_shen_2019_example_6_1_heuristic_stage_1() -> None:
    """Hand-computed bound: S_1 = 5 + z(41.12 / 44.12) for stage 1, both bounds coincide."""
    heur = shang_song_heuristic(
        echelon_holding_cost=[3.0, 2.0, 2.0],
        lead_time=[1, 1, 2],
        stockout_cost=37.12,
        demand_mean=5.0,
        demand_sd=1.0,
    )
    assert heur.echelon_base_stock[0] == pytest.approx(5 + stats.norm.ppf(41.12 / 44.12))


@pytest.mark.parametrize(("h", "p", "lead"), [(1.0, 9.0, 2.0), (0.5, 30.0, 0.7), (2.0, 2.0, 4.0)])
def test_single_stage_is_the_newsvendor(h: float, p: float, lead: float) -> None:
    """N = 1: S = mu + sigma z with z = Phi^-1(p / (p + h)); cost = (p + h) sigma phi(z)."""
    mu, sd = 50.0 * lead, 10.0 * np.sqrt(lead)
    sol = serial_base_stock_levels(
        echelon_holding_cost=[h], lead_time=lead, stockout_cost=p, demand_mean=50.0, demand_sd=10.0
    )
    z = stats.norm.ppf(p / (p + h))
    assert sol.echelon_base_stock[0] == pytest.approx(mu + sd * z, abs=2e-3)
    assert sol.expected_cost == pytest.approx((p + h) * sd * stats.norm.pdf(z), abs=5e-4)


def test_single_stage_poisson_newsvendor() -> None:
    """N = 1, Poisson(6): smallest S with F(S) >= p / (p + h); cost by direct summation."""
    h, p, mean = 1.0, 4.0, 6.0
    sol = serial_base_stock_levels(
        echelon_holding_cost=[h],
        lead_time=1.0,
        stockout_cost=p,
        demand_mean=mean,
        distribution="poisson",
    )
    level = stats.poisson.ppf(p / (p + h), mean)
    k = np.arange(0, 200)
    pmf = stats.poisson.pmf(k, mean)
    cost = np.sum(pmf * (h * np.maximum(level - k, 0) + p * np.maximum(k - level, 0)))
    assert sol.echelon_base_stock[0] == level
    assert sol.expected_cost == pytest.approx(cost, abs=1e-9)


def test_thirty_stages_normal() -> None:
    h = np.linspace(0.05, 0.5, 30)
    sol = serial_base_stock_levels(
        echelon_holding_cost=h, lead_time=1, stockout_cost=20.0, demand_mean=100.0, demand_sd=25.0
    )
    assert np.all(np.diff(sol.echelon_base_stock) > 0)
    assert np.isfinite(sol.expected_cost)


@settings(max_examples=25, deadline=None)
@given(
    h=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=4),
    p=st.floats(1.0, 50.0),
    shift=st.integers(-3, 3).filter(lambda v: v != 0),
    stage=st.integers(0, 3),
)
def test_property_optimal_levels_are_not_beaten(
    h: list[float], p: float, shift: int, stage: int
) -> None:
    kw = {
        "echelon_holding_cost": h,
        "lead_time": 0.5,
        "stockout_cost": p,
        "demand_mean": 8.0,
        "distribution": "poisson",
    }
    sol = serial_base_stock_levels(**kw)  # type: ignore[arg-type]
    moved = sol.echelon_base_stock.copy()
    moved[min(stage, len(h) - 1)] += shift
    assert serial_base_stock_cost(moved, **kw) >= sol.expected_cost - 1e-9  # type: ignore[arg-type]


def test_validation_messages() -> None:
    with pytest.raises(InvalidParameterError, match="'stockout_cost'"):
        serial_base_stock_levels(
            echelon_holding_cost=[1], lead_time=1, stockout_cost=0, demand_mean=1, demand_sd=1
        )
    with pytest.raises(InvalidParameterError, match="'normal', 'poisson'"):
        serial_base_stock_levels(
            echelon_holding_cost=[1],
            lead_time=1,
            stockout_cost=1,
            demand_mean=1,
            distribution="gamma",
        )
    with pytest.raises(InvalidParameterError, match="'demand_sd'"):
        serial_base_stock_levels(
            echelon_holding_cost=[1], lead_time=1, stockout_cost=1, demand_mean=1
        )
    with pytest.raises(InvalidParameterError, match="'lead_time'"):
        serial_base_stock_levels(
            echelon_holding_cost=[1, 1],
            lead_time=[1, 1, 1],
            stockout_cost=1,
            demand_mean=1,
            demand_sd=1,
        )


def test_snyder_shen_2019_example_6_1_from_the_network_model() -> None:
    """The same example built as a Network: local holding costs 7, 4, 2 and lane lead times."""
    net = Network(
        nodes=(
            Node("stage3", holding_cost=2.0, external_inbound_cst=2.0),
            Node("stage2", holding_cost=4.0),
            Node("stage1", holding_cost=7.0, demand_mean=5.0, demand_sd=1.0),
        ),
        edges=(Edge("stage3", "stage2", lead_time=1.0), Edge("stage2", "stage1", lead_time=1.0)),
    )
    res = serial_network_base_stock_levels(net, stockout_cost=37.12)
    assert res.node_ids == ("stage1", "stage2", "stage3")
    np.testing.assert_allclose(res.solution.local_base_stock, [6.49, 5.53, 10.69], atol=0.005)
    branching = Network(
        nodes=(Node("w", holding_cost=1.0), Node("a", demand_mean=1.0), Node("b", demand_mean=1.0)),
        edges=(Edge("w", "a"), Edge("w", "b")),
    )
    with pytest.raises(InvalidDataError, match="single chain"):
        serial_network_base_stock_levels(branching, stockout_cost=10.0)
