"""The validation gate on items' analogue references (like-item forecasting)."""

from __future__ import annotations

from datetime import date

import polars as pl

from stockpilot.io.gate import GateOptions, validate

OPTIONS = GateOptions(as_of=date(2026, 3, 2), freshness_days=None)


def test_an_analogue_must_be_a_known_item() -> None:
    items = pl.DataFrame(
        {
            "item_id": ["A", "B", "C"],
            "unit_cost": ["5", "6", "7"],
            "analogue_item_id": [None, "A", "GHOST"],
            "analogue_factor": [None, "0.8", None],
        }
    )
    result = validate({"items": items}, options=OPTIONS)
    bad = result.quarantine.filter(pl.col("entity") == "items")
    assert bad["reason"].to_list() == ["unknown_key"]
    assert bad["row_number"].to_list() == [4]
    assert "analogue_item_id GHOST is not a known items key" in bad["detail"][0]
    good = result.accepted["items"]
    assert good["item_id"].to_list() == ["A", "B"]
    assert good["analogue_factor"].to_list() == [None, 0.8]


def test_a_negative_analogue_factor_is_rejected_with_its_line() -> None:
    """Regression: a negative factor passed the gate and failed later inside
    borrow_history with an unreadable message."""
    items = pl.DataFrame(
        {
            "item_id": ["A", "B", "C"],
            "unit_cost": ["5", "6", "7"],
            "analogue_item_id": [None, "A", "A"],
            "analogue_factor": [None, "-0.5", "0"],
        }
    )
    result = validate({"items": items}, options=OPTIONS)
    bad = result.quarantine.filter(pl.col("entity") == "items")
    assert bad["reason"].to_list() == ["invalid_value"]
    assert bad["row_number"].to_list() == [3]
    assert "analogue_factor = -0.5 must be >= 0" in bad["detail"][0]
    assert result.accepted["items"]["item_id"].to_list() == ["A", "C"]
