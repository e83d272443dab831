"""Item-master inputs of classification on frames: margin from price, end-of-life flags."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from stockpilot.core.classify import ClassificationConfig
from stockpilot.engine.forecasting import Forecaster, classify_demand, item_inputs
from stockpilot.errors import InvalidParameterError


def _demand() -> pl.DataFrame:
    weeks = [date(2025, 1, 6) + timedelta(weeks=k) for k in range(60)]
    rows = []
    # A: 10 a week, cheap margin; B: 4 a week, rich margin; C: 40 every 4th week.
    for item, pattern in (("A", [10.0]), ("B", [4.0]), ("C", [40.0, 0.0, 0.0, 0.0])):
        rows += [(item, "L1", w, pattern[k % len(pattern)]) for k, w in enumerate(weeks)]
    return pl.DataFrame(rows, schema=["item_id", "location_id", "period", "quantity"], orient="row")


ITEMS = pl.DataFrame(
    {
        "item_id": ["A", "B", "C"],
        "unit_cost": [5.0, 5.0, 5.0],
        "price": [5.5, 15.0, None],
        "lifecycle_flag": ["active", "phase_out", None],
        "obsolete": [False, False, True],
    }
)


def test_item_inputs_align_and_flag_end_of_life() -> None:
    keys = pl.DataFrame({"item_id": ["C", "A", "Z", "B"]})
    got = item_inputs(ITEMS, keys)
    assert got.end_of_life_flag.tolist() == [True, False, False, True]
    assert got.unit_price is not None
    np.testing.assert_array_equal(got.unit_price, [np.nan, 5.5, np.nan, 15.0])
    assert got.missing_price == 2
    assert np.isnan(got.unit_cost[2])


def test_classify_demand_uses_price_for_margin_and_flags_for_lifecycle() -> None:
    config = ClassificationConfig(abc_criteria={"margin": 1.0}, abc_cutoffs=(0.5, 0.9))
    out = classify_demand(_demand(), bucket="week", config=config, items=ITEMS).sort("item_id")
    # Margin per year: A 10*52*0.5 = 260, B 4*52*10 = 2080, C unknown price -> 0.
    np.testing.assert_allclose(out["criterion_margin"].to_numpy(), [260.0, 2080.0, 0.0])
    assert out["abc"].to_list() == ["B", "A", "C"]
    assert out["lifecycle"].to_list() == ["mature", "end_of_life", "end_of_life"]
    lines = classify_demand(
        _demand(),
        bucket="week",
        config=ClassificationConfig(abc_criteria={"order_lines": 1.0}),
        items=ITEMS,
    ).sort("item_id")
    assert lines["criterion_order_lines"].to_list() == [52.0, 52.0, 13.0]
    with pytest.raises(InvalidParameterError, match="'margin' needs unit_price"):
        classify_demand(_demand(), bucket="week", config=config)


def test_forecaster_classifies_with_the_item_master() -> None:
    config = ClassificationConfig(abc_criteria={"margin": 0.5, "volume": 0.5})
    fitted = Forecaster(horizon=2, bucket="week", classification=config, items=ITEMS)
    diagnostics = fitted.fit(_demand()).predict().diagnostics.sort("item_id")
    assert diagnostics["lifecycle"].to_list() == ["mature", "end_of_life", "end_of_life"]
    with pytest.raises(InvalidParameterError, match="margin"):
        Forecaster(horizon=2, bucket="week", classification=config).fit(_demand())
