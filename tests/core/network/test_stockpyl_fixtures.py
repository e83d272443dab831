"""Cross-checks against stockpyl 1.0.2 on identical instances (issue 5, point 7).

stockpyl needs numpy<2 and cannot be imported here, so its answers are stored as JSON under
``tests/fixtures/stockpyl/`` by ``benchmarks/make_stockpyl_fixtures.py`` (which runs
stockpyl in ``.venv-peers``; regenerate with ``make bench-env`` then
``.venv/bin/python benchmarks/make_stockpyl_fixtures.py``). These tests read only the JSON.

Guaranteed-service model (``gsm_trees.json``, stockpyl's
``gsm_tree.optimize_committed_service_times`` on 25 random trees of 5-60 nodes): both tools
solve the same integer DP exactly, so the optimal costs agree to 1e-6 relative. Optimal
service times need not be unique, so they are not compared; instead ours must be feasible
and give our cost, and stockpyl's, evaluated in our model, must be feasible and give
stockpyl's cost (which checks that the instance means the same thing in both tools).

Serial stochastic-service model (``ssm_serial.json``, stockpyl's
``ssm_serial.optimize_base_stock_levels``, Chen-Zheng recursion, at its default
discretization) on the Shang and Song (2003) rows and Snyder and Shen (2019) Example 6.1
that ``benchmarks/bench_network_stochastic.py`` runs, and 12 random serial systems.
The two tools discretize differently, so the rule is:

- Cost: within 1e-3 relative of stockpyl's. stockpyl truncates every lead-time demand at
  its 1 - Phi(4) tail quantiles and lumps the tails on the end points, and (normal demand)
  evaluates on 1,000 x-steps and 100 demand steps; its cost is off by up to 4.7e-4
  (Poisson) and 6.7e-4 (normal) relative on these instances. Where a published figure
  exists (Shang and Song, 3 decimals) ours must round to it, which is the benchmark's rule
  (stockpyl misses row 17 by 0.008).
- Levels: within one stockpyl grid step, the "+-1" of the brief: one unit for Poisson
  demand (integer levels; they are in fact equal on every instance here), and one step
  ``x_delta = (2 F^-1(Phi(4)) - F^-1(1 - Phi(4))) / 1000`` of stockpyl's x-grid for normal
  demand, F the distribution of demand over the sum of all lead times.
- Optimality: our exact evaluator, at stockpyl's levels, gives a cost no lower than our
  optimum and within 1e-4 relative of it (so the gap above is stockpyl's cost evaluation,
  not a different policy).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from stockpilot.core.network import Edge, Network, Node
from stockpilot.core.network.gsm_milp import gsm_milp
from stockpilot.core.network.gsm_tree import gsm_solution_from_service_times, gsm_tree
from stockpilot.core.network.ssm import serial_base_stock_cost, serial_base_stock_levels

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stockpyl"
GSM_REL = 1e-6
SSM_COST_REL = 1e-3
SSM_AT_PEER_LEVELS_REL = 1e-4
STOCKPYL_TAIL = float(stats.norm.sf(4.0))  # stockpyl's default truncation probabilities
STOCKPYL_X_STEPS = 1000  # stockpyl's default x_num
MILP_CASES = 4  # the MILP is slower; a few of the trees, smallest to largest


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _instances(name: str) -> list[dict[str, Any]]:
    return list(_load(name)["instances"])


def _tree(inst: dict[str, Any]) -> Network:
    cols = inst["nodes"]
    nodes = tuple(
        Node(
            node_id,
            processing_time=cols["processing_time"][k],
            holding_cost=cols["holding_cost"][k],
            demand_mean=cols["demand_mean"][k],
            demand_sd=cols["demand_sd"][k],
            external_inbound_cst=cols["external_inbound_cst"][k],
            external_outbound_cst=cols["external_outbound_cst"][k],
        )
        for k, node_id in enumerate(cols["node_id"])
    )
    edges = tuple(Edge(u, d) for u, d in inst["edges"])
    return Network(nodes=nodes, edges=edges, z=inst["z"], name=inst["name"])


TREES = _instances("gsm_trees.json")
SERIAL = _instances("ssm_serial.json")


@pytest.mark.parametrize("name", ["gsm_trees.json", "ssm_serial.json"])
def test_fixture_records_its_provenance(name: str) -> None:
    source = _load(name)["source"]
    assert source["stockpyl_version"] == "1.0.2"
    assert source["function"].startswith("stockpyl.")
    assert source["command"].endswith("benchmarks/make_stockpyl_fixtures.py")
    assert source["generated_utc"]


def test_fixtures_cover_the_brief() -> None:
    sizes = [len(inst["nodes"]["node_id"]) for inst in TREES]
    assert len(TREES) >= 25 and min(sizes) == 5 and max(sizes) == 60
    kinds = {inst["kind"] for inst in SERIAL}
    assert kinds == {"shang_song", "example_6_1", "random"}
    stages = [len(inst["echelon_holding_cost"]) for inst in SERIAL if inst["kind"] == "random"]
    assert len(stages) >= 10 and min(stages) >= 2 and max(stages) == 10


@pytest.mark.parametrize("inst", TREES, ids=[inst["name"] for inst in TREES])
def test_gsm_tree_matches_stockpyl_optimal_cost(inst: dict[str, Any]) -> None:
    """Same optimum as stockpyl's tree DP; our service times are feasible and give it."""
    net = _tree(inst)
    sol = gsm_tree(net)
    assert sol.total_cost == pytest.approx(inst["stockpyl"]["total_cost"], rel=GSM_REL)
    s = sol.committed_service_time
    assert np.array_equal(s, np.round(s))
    again = gsm_solution_from_service_times(net, s)  # raises if any constraint is broken
    assert again.total_cost == pytest.approx(sol.total_cost, rel=1e-12)


@pytest.mark.parametrize("inst", TREES, ids=[inst["name"] for inst in TREES])
def test_stockpyl_service_times_cost_the_same_in_our_model(inst: dict[str, Any]) -> None:
    """stockpyl's optimal service times are feasible here and cost what stockpyl says."""
    theirs = gsm_solution_from_service_times(
        _tree(inst), inst["stockpyl"]["committed_service_time"]
    )
    assert theirs.total_cost == pytest.approx(inst["stockpyl"]["total_cost"], rel=GSM_REL)


def _milp_cases() -> list[dict[str, Any]]:
    picks = np.unique(np.linspace(0, len(TREES) - 1, MILP_CASES).round().astype(int))
    return [TREES[i] for i in picks]


@pytest.mark.parametrize("inst", _milp_cases(), ids=[inst["name"] for inst in _milp_cases()])
def test_gsm_milp_matches_stockpyl_optimal_cost(inst: dict[str, Any]) -> None:
    net = _tree(inst)
    sol = gsm_milp(net)
    assert sol.optimal
    assert sol.total_cost == pytest.approx(inst["stockpyl"]["total_cost"], rel=GSM_REL)
    again = gsm_solution_from_service_times(net, sol.committed_service_time)
    assert again.total_cost == pytest.approx(sol.total_cost, rel=1e-9)


def _serial_kwargs(inst: dict[str, Any]) -> dict[str, Any]:
    return {
        "echelon_holding_cost": inst["echelon_holding_cost"],
        "lead_time": inst["lead_time"],
        "stockout_cost": inst["stockout_cost"],
        "demand_mean": inst["demand_mean"],
        "demand_sd": inst["demand_sd"],
        "distribution": inst["distribution"],
    }


def _stockpyl_level_step(inst: dict[str, Any]) -> float:
    """One step of stockpyl's level grid: 1 for Poisson, its x-grid step for normal."""
    if inst["distribution"] == "poisson":
        return 1.0
    total = float(np.sum(inst["lead_time"]))
    mean = inst["demand_mean"] * total
    sd = inst["demand_sd"] * np.sqrt(total)
    lo = stats.norm.ppf(STOCKPYL_TAIL, mean, sd)
    hi = stats.norm.isf(STOCKPYL_TAIL, mean, sd)
    return float((hi - (lo - hi)) / STOCKPYL_X_STEPS)


@pytest.mark.parametrize("inst", SERIAL, ids=[inst["name"] for inst in SERIAL])
def test_serial_ssm_matches_stockpyl(inst: dict[str, Any]) -> None:
    """Cost within 1e-3 relative, levels within one stockpyl grid step (module docstring)."""
    kwargs = _serial_kwargs(inst)
    sol = serial_base_stock_levels(**kwargs)
    peer = inst["stockpyl"]
    assert sol.expected_cost == pytest.approx(peer["expected_cost"], rel=SSM_COST_REL)
    theirs = np.asarray(peer["echelon_base_stock"])
    step = _stockpyl_level_step(inst)
    assert np.all(np.abs(sol.echelon_base_stock - theirs) <= step + 1e-9), (
        f"{inst['name']}: ours {sol.echelon_base_stock.round(3).tolist()}, "
        f"stockpyl {theirs.round(3).tolist()}, allowed +-{step:.3f}"
    )
    at_theirs = serial_base_stock_cost(theirs, **kwargs)
    assert at_theirs >= sol.expected_cost * (1 - 1e-9)
    assert at_theirs == pytest.approx(sol.expected_cost, rel=SSM_AT_PEER_LEVELS_REL)
    if "published_cost" in inst:
        assert round(sol.expected_cost, 3) == inst["published_cost"]
