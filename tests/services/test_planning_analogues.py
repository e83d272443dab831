"""A planning run forecasts the demo's new items on their analogues' history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from _planning import plan_folder

from stockpilot.io.demo.extracts import write_demo
from stockpilot.services import runs
from stockpilot.settings import Settings
from stockpilot.store.db import open_store

AS_OF = date(2026, 11, 2)


def test_new_items_borrow_their_analogues_history(tmp_path: Path) -> None:
    folder = write_demo(tmp_path / "data", items=120, weeks=60, seed=3, as_of=AS_OF).path
    items = pl.read_csv(folder / "items.csv", infer_schema=False)
    declared = items.filter(pl.col("analogue_item_id").is_not_null())
    assert declared.height > 0
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    run = plan_folder(factory, folder, AS_OF, Settings(home=tmp_path, horizon=8))
    assert run.status.value == "succeeded", [s.message for s in run.steps]
    diag = runs.read_artifact(factory, run.id, "forecast_selection")
    assert diag is not None
    used = diag.filter(pl.col("borrowed_periods") > 0)
    assert used.height > 0
    # only items that declared an analogue borrow, and from that analogue
    pairs = dict(zip(declared["item_id"], declared["analogue_item_id"], strict=True))
    assert all(
        pairs[i] == a for i, a in zip(used["item_id"], used["analogue_item_id"], strict=True)
    )
    assert used["reason"].str.starts_with("history of analogue ").all()
    forecast = next(s for s in run.steps if s.name == "forecast")
    assert f"{used.height} new series on analogue history" in forecast.message
    # the group seasonal test of every item category is kept with the run
    groups = runs.read_artifact(factory, run.id, "season_groups")
    assert groups is not None
    assert set(groups["season_group"]) <= set(items["category"].drop_nulls()) | {""}
    assert groups.height == 8 * groups["season_group"].n_unique()


def test_season_groups_follow_the_setting(tmp_path: Path) -> None:
    # one group for all series when the setting is off
    folder = write_demo(tmp_path / "data", items=60, weeks=60, seed=4, as_of=AS_OF).path
    factory = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    settings = Settings(home=tmp_path, horizon=8, season_group_by=None)
    run = plan_folder(factory, folder, AS_OF, settings)
    assert run.status.value == "succeeded", [s.message for s in run.steps]
    groups = runs.read_artifact(factory, run.id, "season_groups")
    assert groups is not None and groups["season_group"].unique().to_list() == [""]
