"""Supply variability handed down flow-through stages: a stage that holds nothing
(``tau = 0``) passes its supplier's lead-time variance and defects on to the stages it
serves, which size their policies for them (Graves and Willems 2000: only a stocking
stage keeps its quoted service time with its own stock)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from _item_network import CHAIN, item_network_policies
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.engine.echelon import (
    echelon_map,
    echelon_note,
    echelon_parameters,
    pass_through_supply_variability,
    simulate_stage_networks,
)
from stockpilot.errors import InvalidDataError


def _placement(roles: dict[str, str], item: str = "A") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": [item] * len(roles),
            "location_id": list(roles),
            "stock_role": list(roles.values()),
        }
    )


def _supply(rows: dict[str, tuple[float, float]], item: str = "A") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": [item] * len(rows),
            "location_id": list(rows),
            "lead_time_sd": [sd for sd, _ in rows.values()],
            "defect_rate": [p for _, p in rows.values()],
        }
    )


def _by_location(frame: pl.DataFrame, column: str) -> dict[str, float]:
    return dict(zip(frame["location_id"].to_list(), frame[column].to_list(), strict=True))


def test_a_flow_through_dc_passes_its_supplier_sd_to_the_store() -> None:
    """DC (flow-through, bought with sd 2 and 5 % defects) -> S1: the store waits for the
    supplier's actual time, so it gets sd 2 and the 5 % on top of its own (none)."""
    locations = CHAIN.filter(pl.col("location_id") != "PLANT").with_columns(
        parent=pl.when(pl.col("location_id") == "DC").then(None).otherwise(pl.col("parent"))
    )
    placement = _placement({"DC": "flow_through", "S1": "decoupling"})
    out = pass_through_supply_variability(placement, _supply({"DC": (2.0, 0.05)}), locations)
    assert out.columns == [
        "item_id",
        "location_id",
        "lead_time_sd",
        "defect_rate",
        "passed_lead_time_sd",
        "passed_defect_rate",
    ]
    assert _by_location(out, "lead_time_sd") == {"DC": 2.0, "S1": 2.0}
    assert _by_location(out, "passed_lead_time_sd") == {"DC": 0.0, "S1": 2.0}
    assert _by_location(out, "defect_rate") == pytest.approx({"DC": 0.05, "S1": 0.05})


def test_a_stocking_dc_absorbs_its_supplier_sd() -> None:
    """The same chain with stock at the DC (tau > 0): it keeps its quoted time with its
    stock, so the store gets no supply variability at all."""
    locations = CHAIN.filter(pl.col("location_id") != "PLANT").with_columns(
        parent=pl.when(pl.col("location_id") == "DC").then(None).otherwise(pl.col("parent"))
    )
    placement = _placement({"DC": "decoupling", "S1": "decoupling"})
    out = pass_through_supply_variability(placement, _supply({"DC": (2.0, 0.05)}), locations)
    assert _by_location(out, "lead_time_sd") == {"DC": 2.0, "S1": 0.0}
    assert _by_location(out, "defect_rate") == pytest.approx({"DC": 0.05, "S1": 0.0})


def test_two_flow_through_stages_add_their_variances_and_compound_their_defects() -> None:
    """PLANT (sd 3, 10 % defects) -> DC (sd 4 of its own, 20 %) -> S1, both flow-through:
    the store's sd is sqrt(3^2 + 4^2) = 5 and its good share 0.9 x 0.8 = 0.72."""
    placement = _placement({"PLANT": "flow_through", "DC": "flow_through", "S1": "decoupling"})
    supply = _supply({"PLANT": (3.0, 0.1), "DC": (4.0, 0.2)})
    out = pass_through_supply_variability(placement, supply, CHAIN)
    assert _by_location(out, "lead_time_sd") == pytest.approx({"PLANT": 3.0, "DC": 5.0, "S1": 5.0})
    assert _by_location(out, "passed_lead_time_sd") == pytest.approx(
        {"PLANT": 0.0, "DC": 3.0, "S1": 5.0}
    )
    assert _by_location(out, "defect_rate") == pytest.approx({"PLANT": 0.1, "DC": 0.28, "S1": 0.28})
    # With stock at the DC the chain stops there: the store gets nothing.
    stocked = _placement({"PLANT": "flow_through", "DC": "decoupling", "S1": "decoupling"})
    out = pass_through_supply_variability(stocked, supply, CHAIN)
    assert _by_location(out, "lead_time_sd") == pytest.approx({"PLANT": 3.0, "DC": 5.0, "S1": 0.0})


def test_an_assembly_bounds_its_flow_through_components_by_the_sum_and_the_worst_defect() -> None:
    """BIKE assembled at the PLANT from a FRAME (sd 3, 2 % defects) and a WHEEL (sd 4, 6 %),
    both flow-through: the bike's stage waits for the later of the two; it is sized for
    Var <= 3^2 + 4^2 (sd 5) and the scarcer component's 6 %. With the wheel stocked only
    the frame's chain is passed on."""
    locations = pl.DataFrame(
        {"location_id": ["PLANT"], "parent": [None]},
        schema={"location_id": pl.String, "parent": pl.String},
    )
    bom = pl.DataFrame(
        {
            "parent_item_id": ["BIKE", "BIKE"],
            "component_item_id": ["FRAME", "WHEEL"],
            "quantity_per": [1.0, 2.0],
            "location_id": ["PLANT", "PLANT"],
        }
    )
    supply = pl.DataFrame(
        {
            "item_id": ["FRAME", "WHEEL"],
            "location_id": ["PLANT", "PLANT"],
            "lead_time_sd": [3.0, 4.0],
            "defect_rate": [0.02, 0.06],
        }
    )

    def bike(wheel_role: str) -> dict[str, float]:
        placement = pl.DataFrame(
            {
                "item_id": ["BIKE", "FRAME", "WHEEL"],
                "location_id": ["PLANT"] * 3,
                "stock_role": ["decoupling", "flow_through", wheel_role],
            }
        )
        out = pass_through_supply_variability(placement, supply, locations, bom=bom)
        return out.filter(pl.col("item_id") == "BIKE").row(0, named=True)

    both = bike("flow_through")
    assert both["lead_time_sd"] == pytest.approx(5.0)
    assert both["defect_rate"] == pytest.approx(0.06)
    frame_only = bike("decoupling")
    assert frame_only["lead_time_sd"] == pytest.approx(3.0)
    assert frame_only["defect_rate"] == pytest.approx(0.02)


def test_a_cycle_of_flow_through_stages_is_refused() -> None:
    locations = pl.DataFrame({"location_id": ["X", "Y"], "parent": ["Y", "X"]})
    placement = _placement({"X": "flow_through", "Y": "flow_through"})
    with pytest.raises(InvalidDataError, match="cycle"):
        pass_through_supply_variability(placement, _supply({"X": (1.0, 0.0)}), locations)


@st.composite
def _trees(draw: st.DrawFn) -> tuple[list[int], list[bool], list[float], list[float]]:
    """A random location tree (parent index below the own index, -1 at a root), the
    flow-through flags and each location's own supply sd and defect rate."""
    n = draw(st.integers(1, 9))
    parents = [-1] + [draw(st.integers(-1, i - 1)) for i in range(1, n)]
    flow = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    sds = draw(st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n))
    defects = draw(st.lists(st.floats(0.0, 0.3), min_size=n, max_size=n))
    return parents, flow, sds, defects


@settings(max_examples=60, deadline=None)
@given(_trees())
def test_each_stage_gets_its_flow_through_ancestors_by_brute_force(
    tree: tuple[list[int], list[bool], list[float], list[float]],
) -> None:
    """On random trees, each stage's variance is its own plus that of every ancestor
    reached through flow-through stages only (walked up one by one), and its good share
    the product of theirs."""
    parents, flow, sds, defects = tree
    names = [f"L{i}" for i in range(len(parents))]
    locations = pl.DataFrame(
        {"location_id": names, "parent": [names[p] if p >= 0 else None for p in parents]},
        schema={"location_id": pl.String, "parent": pl.String},
    )
    placement = _placement(
        {name: ("flow_through" if f else "decoupling") for name, f in zip(names, flow, strict=True)}
    )
    supply = _supply({name: (sds[i], defects[i]) for i, name in enumerate(names)})
    out = pass_through_supply_variability(placement, supply, locations)
    for i, name in enumerate(names):
        var, good = sds[i] ** 2, 1.0 - defects[i]
        up = parents[i]
        while up >= 0 and flow[up]:
            var += sds[up] ** 2
            good *= 1.0 - defects[up]
            up = parents[up]
        row = out.filter(pl.col("location_id") == name).row(0, named=True)
        assert row["lead_time_sd"] == pytest.approx(math.sqrt(var), rel=1e-9, abs=1e-12)
        assert row["defect_rate"] == pytest.approx(1.0 - good, rel=1e-9, abs=1e-12)


def test_the_store_is_sized_with_the_passed_sd_and_says_so() -> None:
    """echelon_parameters takes the passed sd and defects instead of the stage's own, and
    echelon_note names them."""
    placement = _placement(
        {"PLANT": "flow_through", "DC": "flow_through", "S1": "decoupling"}
    ).with_columns(
        net_lead_time=pl.Series([0.0, 0.0, 6.0]),
        committed_service_time=pl.Series([4.0, 5.0, 0.0]),
        inbound_service_time=pl.Series([0.0, 4.0, 5.0]),
    )
    keys = placement.select("item_id", "location_id")
    mapping = echelon_map(pl.DataFrame({"item_id": ["A"], "location_id": ["S1"]}), keys, CHAIN)
    variability = pass_through_supply_variability(placement, _supply({"PLANT": (1.5, 0.04)}), CHAIN)
    params = keys.with_columns(
        lead_time=pl.lit(1.0),
        lead_time_sd=pl.Series([1.5, 1.5, 0.0]),  # the stage's own, as before
        defect_rate=pl.Series([0.04, 0.04, 0.0]),
    )
    out = echelon_parameters(params, placement, mapping, supply_variability=variability)
    assert _by_location(out, "lead_time_sd") == pytest.approx({"PLANT": 1.5, "DC": 1.5, "S1": 1.5})
    assert _by_location(out, "defect_rate") == pytest.approx(
        {"PLANT": 0.04, "DC": 0.04, "S1": 0.04}
    )
    assert _by_location(out, "lead_time") == {"PLANT": 0.0, "DC": 0.0, "S1": 6.0}
    notes = _by_location(
        echelon_note(placement, mapping, supply_variability=variability), "echelon_note"
    )
    assert "pass on their supplier's lead-time sd 1.5 and defect rate 4.0%" in notes["S1"]
    # the flow-through DC receives the sd too, but holds nothing to size for it
    assert "pass on" not in notes["PLANT"] and "pass on" not in notes["DC"]


def test_a_store_sized_for_the_passed_sd_reaches_its_target_where_one_without_falls_short() -> None:
    """PLANT and DC work flow-through, the supplier's 4-bucket time has sd 1.5: simulated
    over 2,000 seeded buckets (8 replications) with that supply drawn at the PLANT, the
    store sized for sd 0 (as before) reads 0.835 against its 95 % fill-rate target (0.954
    with a fixed supply time); sized for the passed sd it reads 0.9945. It overshoots:
    the base-stock store orders every bucket and the shipments' times are drawn one by one,
    so they cross and the pipeline varies less than the ``mu^2 sigma_L^2`` term of the
    policy engine's lead-time demand assumes (sized for sd 0.75 it reads 0.936)."""
    rng = np.random.default_rng(2026)
    history = rng.poisson(20.0, 156).astype(float)
    target, reps, horizon = 0.95, 8, 2000
    paths = rng.poisson(20.0, (reps, horizon)).astype(float)
    keys = pl.DataFrame({"item_id": ["A"], "location_id": ["S1"]})

    def store_fill(sized_sd: float) -> float:
        placement, stages, policies = item_network_policies(
            history, target, supply=_supply({"PLANT": (sized_sd, 0.0)})
        )
        stocked = placement.filter(pl.col("stock_role") == "decoupling")["location_id"]
        assert stocked.to_list() == ["S1"]
        drawn = stages.with_columns(
            lead_time_sd=pl.when(pl.col("location_id") == "PLANT").then(1.5).otherwise(0.0),
            defect_rate=pl.lit(0.0),
        )
        out = simulate_stage_networks(
            drawn, policies, CHAIN, demand_keys=keys, demand=paths, replications=reps, warmup=50
        )
        return float(out.filter(pl.col("location_id") == "S1")["network_fill_rate"][0])

    without, sized = store_fill(0.0), store_fill(1.5)
    assert without < target - 0.05
    assert sized >= target
