"""Readers: every value as text, provenance kept, CSV/Parquet/Excel alike."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from stockpilot.errors import InvalidDataError
from stockpilot.io.docs import render_data_model
from stockpilot.io.readers import read_file, read_folder, read_frame
from stockpilot.io.writers import write_table, write_tables, write_workbook

REPO = Path(__file__).resolve().parents[2]


def test_csv_reads_every_value_as_text_with_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("item_id,unit_cost\nA,2.5\nB,n/a\nC,\n")
    table = read_file(path)
    assert table.entity == "items"
    assert table.frame.schema["unit_cost"] == pl.String
    assert table.frame["unit_cost"].to_list() == ["2.5", "n/a", None]
    # Header is row 1, so the first data row is row 2.
    assert table.frame["_row_number"].to_list() == [2, 3, 4]
    assert set(table.frame["_source_file"]) == {"items.csv"}


def test_folder_reads_one_file_per_entity_and_ignores_subfolders(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_id,unit_cost\nA,1\n")
    pl.DataFrame({"location_id": ["L1", "L2"]}).write_parquet(tmp_path / "locations.parquet")
    (tmp_path / "extracts").mkdir()
    (tmp_path / "extracts" / "erp.csv").write_text("x\n1\n")
    (tmp_path / "stockpilot.yaml").write_text("as_of: 2026-01-01\n")
    contents = read_folder(tmp_path)
    assert sorted(contents.tables) == ["items", "locations"]
    assert contents.tables["locations"].frame["_row_number"].to_list() == [2, 3]


def test_folder_rejects_a_file_not_named_after_an_entity(tmp_path: Path) -> None:
    (tmp_path / "item.csv").write_text("item_id\nA\n")
    with pytest.raises(InvalidDataError, match=r"'item' is not a canonical entity.*items"):
        read_folder(tmp_path)


def test_folder_rejects_two_files_for_one_entity(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_id\nA\n")
    pl.DataFrame({"item_id": ["A"]}).write_parquet(tmp_path / "items.parquet")
    with pytest.raises(InvalidDataError, match="two files"):
        read_folder(tmp_path)


def test_pandas_and_polars_frames_become_text() -> None:
    frame = pd.DataFrame({"item_id": ["A", "B"], "unit_cost": [1.5, float("nan")]})
    table = read_frame(frame, entity="items", source_file="api")
    assert table.frame["unit_cost"].to_list()[0] == "1.5"
    assert table.frame["_source_file"].to_list() == ["api", "api"]
    with pytest.raises(InvalidDataError, match="pandas or polars"):
        read_frame([1, 2], entity="items")


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_round_trip_through_writers(tmp_path: Path, suffix: str) -> None:
    from datetime import date

    frame = pl.DataFrame(
        {
            "item_id": ["A", "B"],
            "location_id": ["L", "L"],
            "date": [date(2026, 1, 5), date(2026, 1, 12)],
            "quantity": [1.25, 3.0],
        }
    )
    path = write_table(frame, tmp_path / f"demand.{suffix}")
    back = read_file(path).frame
    assert back["date"].to_list() == ["2026-01-05", "2026-01-12"]
    assert [float(v) for v in back["quantity"]] == [1.25, 3.0]
    assert back["item_id"].to_list() == ["A", "B"]


def test_write_tables_and_workbook(tmp_path: Path) -> None:
    tables = {"items": pl.DataFrame({"item_id": ["A"], "unit_cost": [1.0]})}
    paths = write_tables(tables, tmp_path / "out", format="parquet")
    assert read_folder(tmp_path / "out").tables["items"].height == 1
    assert paths[0].suffix == ".parquet"
    book = write_workbook({"items": tables["items"], "other": tables["items"]}, tmp_path / "b.xlsx")
    assert pl.read_excel(book, sheet_name="other")["item_id"].to_list() == ["A"]


def test_committed_data_model_doc_matches_schema() -> None:
    committed = (REPO / "docs" / "data-model.md").read_text()
    assert committed == render_data_model(), (
        "docs/data-model.md is out of date: regenerate it with "
        "stockpilot.io.docs.render_data_model()"
    )


def test_data_model_doc_lists_every_column() -> None:
    from stockpilot.schema import ENTITIES

    text = render_data_model()
    for ent in ENTITIES.values():
        assert f"## {ent.name}" in text
        for col in ent.columns:
            assert f"| `{col.name}` | {col.kind.value} |" in text
