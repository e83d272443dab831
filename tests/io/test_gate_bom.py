"""The validation gate on bills of material: every reason, cycles named, counts reconcile."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.io.gate import GateOptions, Reason, validate

OPTIONS = GateOptions(as_of=date(2026, 3, 2), freshness_days=None)
ITEMS = pl.DataFrame({"item_id": ["A", "B", "C", "D", "E"], "unit_cost": ["5"] * 5})
LOCATIONS = pl.DataFrame({"location_id": ["PLANT", "DC"]})


def _bom(rows: list[tuple[str | None, ...]]) -> pl.DataFrame:
    columns = ("parent_item_id", "component_item_id", "quantity_per", "location_id")
    return pl.DataFrame(
        [dict(zip(columns, row, strict=False)) for row in rows],
        schema=dict.fromkeys(columns, pl.String),
    )


def _run(bom: pl.DataFrame):  # type: ignore[no-untyped-def]
    return validate(
        {"items": ITEMS, "locations": LOCATIONS, "bill_of_materials": bom}, options=OPTIONS
    )


def _reasons(result) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    frame = result.quarantine.filter(pl.col("entity") == "bill_of_materials")
    return list(zip(frame["reason"], frame["row_number"], strict=True))


def test_each_reason_is_caught_and_the_counts_reconcile() -> None:
    bom = _bom(
        [
            ("A", "B", "2", "PLANT"),  # row 2: fine
            ("A", "B", "1", "PLANT"),  # 3: duplicate key (parent, component, location)
            ("A", "C", "0", "PLANT"),  # 4: quantity must be > 0
            ("A", "C", "-1", None),  # 5: quantity must be > 0
            ("C", "C", "1", None),  # 6: self-reference
            ("Z", "C", "1", None),  # 7: unknown parent item
            ("A", "Y", "1", None),  # 8: unknown component item
            ("A", "D", "1", "NOWHERE"),  # 9: unknown location
            ("A", None, "1", None),  # 10: missing component
            ("A", "D", "x", None),  # 11: quantity not a number
            ("A", "B", "1", "DC"),  # 12: fine (another assembly location)
        ]
    )
    result = _run(bom)
    assert _reasons(result) == [
        ("duplicate", 3),
        ("invalid_value", 4),
        ("invalid_value", 5),
        ("invalid_value", 6),
        ("unknown_key", 7),
        ("unknown_key", 8),
        ("unknown_key", 9),
        ("missing_value", 10),
        ("invalid_type", 11),
    ]
    details = result.quarantine["detail"].to_list()
    assert "own component" in details[3]
    assert "parent_item_id Z is not a known items key" in details[4]
    assert "location_id NOWHERE is not a known locations key" in details[6]
    counts = next(e for e in result.report.entities if e.entity == "bill_of_materials")
    assert (counts.rows_in, counts.rows_loaded, counts.rows_quarantined) == (11, 2, 9)
    assert result.report.reconciles
    assert result.accepted["bill_of_materials"]["quantity_per"].to_list() == [2.0, 1.0]


def test_cycle_closing_row_is_quarantined_naming_the_rows_on_the_cycle() -> None:
    bom = _bom(
        [
            ("A", "B", "1"),  # row 2
            ("B", "C", "1"),  # 3
            ("D", "E", "1"),  # 4: not on the cycle
            ("C", "A", "1"),  # 5: closes A -> B -> C -> A
            ("E", "B", "1"),  # 6: fine (D -> E -> B -> C)
        ]
    )
    result = _run(bom)
    assert _reasons(result) == [("cycle", 5)]
    detail = result.quarantine["detail"][0]
    assert "C -> A -> B -> C" in detail
    assert "(rows 5, 2, 3)" in detail
    assert result.report.by_reason == {Reason.CYCLE: 1}
    assert result.accepted["bill_of_materials"].height == 4


def test_a_cycle_through_different_assembly_locations_is_still_a_cycle() -> None:
    bom = _bom([("A", "B", "1", "PLANT"), ("B", "A", "1", "DC")])
    assert _reasons(_run(bom)) == [("cycle", 3)]


def test_invalid_rows_do_not_take_part_in_cycles() -> None:
    # The closing row's partner is quarantined (quantity 0), so nothing cycles.
    bom = _bom([("A", "B", "0"), ("B", "A", "1")])
    assert _reasons(_run(bom)) == [("invalid_value", 2)]


def _acyclic(edges: list[tuple[str, str]]) -> bool:
    succ: dict[str, set[str]] = {}
    for up, down in edges:
        succ.setdefault(up, set()).add(down)
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        state[node] = 1
        for child in succ.get(node, ()):
            if state.get(child) == 1 or (child not in state and not visit(child)):
                return False
        state[node] = 2
        return True

    return all(state.get(n) == 2 or visit(n) for n in list(succ))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("ABCDE"), st.sampled_from("ABCDE")).filter(
            lambda e: e[0] != e[1]
        ),
        max_size=14,
        unique=True,
    )
)
def test_accepted_structure_is_acyclic_and_every_cycle_row_would_close_one(
    edges: list[tuple[str, str]],
) -> None:
    result = _run(_bom([(p, c, "1") for p, c in edges]))
    accepted = list(
        result.accepted["bill_of_materials"]
        .select("parent_item_id", "component_item_id")
        .iter_rows()
    )
    assert _acyclic(accepted)
    quarantined = result.quarantine
    assert set(quarantined["reason"]) <= {"cycle"}
    for row in quarantined["row_number"].to_list():
        assert not _acyclic([*accepted, edges[row - 2]])
    assert len(accepted) + quarantined.height == len(edges)
