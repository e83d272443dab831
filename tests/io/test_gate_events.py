"""The validation gate on events: a row the forecast step cannot apply is quarantined at
import with its line and reason, not accepted to fail every later plan."""

from __future__ import annotations

from datetime import date

import polars as pl

from stockpilot.io.gate import GateOptions, validate

OPTIONS = GateOptions(as_of=date(2026, 11, 2), freshness_days=None)


def test_events_a_forecast_cannot_apply_are_quarantined_with_their_reason() -> None:
    rows = [
        # event_id, kind, uplift_pct, quantity
        ("OK-UP", "promotion", "20", None),
        ("OK-QTY", "Promotion", None, "12"),
        ("OK-SHUT", "shutdown", None, None),
        ("NEG-UP", "promotion", "-150", None),
        ("NEG-QTY", "promotion", None, "-5"),
        ("NO-VALUE", "promotion", None, None),
        ("TYPO", "promo", "10", None),
        ("INF", "promotion", "inf", None),
    ]
    events = pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "start_date": "2026-11-16",
            "end_date": "2026-11-29",
            "uplift_pct": [r[2] for r in rows],
            "quantity": [r[3] for r in rows],
        },
        schema_overrides={"uplift_pct": pl.String, "quantity": pl.String},
    )
    result = validate({"events": events}, options=OPTIONS)
    assert result.accepted["events"]["event_id"].to_list() == ["OK-UP", "OK-QTY", "OK-SHUT"]
    bad = result.quarantine.filter(pl.col("entity") == "events").sort("row_number")
    assert bad["row_number"].to_list() == [5, 6, 7, 8, 9]
    # an infinite number is not a number the gate reads (invalid_type); the rest are values
    assert bad["reason"].to_list() == ["invalid_value"] * 4 + ["invalid_type"]
    details = bad["detail"].to_list()
    assert "uplift_pct = -150.0 must be a finite percent > -100" in details[0]
    assert "quantity = -5.0 must be a finite quantity >= 0" in details[1]
    assert "a promotion event needs uplift_pct or quantity" in details[2]
    assert "kind = promo must be one of promotion, shutdown, launch, other" in details[3]
    assert date(2026, 11, 16) == result.accepted["events"]["start_date"][0]
