"""Read canonical tables from files and DataFrames, every value as a string.

Nothing is typed here: a quantity written ``"12,5x"`` must reach the validation gate as
that exact text so it can be quarantined with its raw value, never turned into a silent
null or a crash. Each record keeps where it came from: ``_source_file`` (the file name,
relative to the import folder) and ``_row_number`` (1-based as a spreadsheet shows it:
the header is row 1, the first data row is row 2; Parquet files and DataFrames use the
same numbering so every source reads alike).

A folder holds one file per entity, named after it: ``items.csv``, ``demand.parquet``,
``locations.xlsx`` (first worksheet). Sub-folders (source extracts, mappings) and files
that are not tables (``.yaml``, ``.md``) are left alone; a table file whose name is not an
entity is an error, so a misspelt ``item.csv`` is never skipped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from stockpilot.errors import InvalidDataError, choice_error
from stockpilot.schema import ENTITIES

SOURCE_FILE = "_source_file"
ROW_NUMBER = "_row_number"
PROVENANCE = (SOURCE_FILE, ROW_NUMBER)
TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")
FIRST_DATA_ROW = 2


@dataclass(frozen=True)
class RawTable:
    """One entity's records as read, all columns ``String``.

    Attributes
    ----------
    entity
        Canonical entity name (``items``, ``demand``, ...).
    source_file
        Where the records came from (file name relative to the import folder, or a label
        for a DataFrame).
    frame
        The source columns as ``String`` plus ``_source_file`` (String) and
        ``_row_number`` (Int64).
    """

    entity: str
    source_file: str
    frame: pl.DataFrame

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def data_columns(self) -> tuple[str, ...]:
        """The columns read from the source (provenance columns excluded)."""
        return tuple(c for c in self.frame.columns if not c.startswith("_"))


@dataclass(frozen=True)
class FolderContents:
    """The entity tables found in an import folder, keyed by entity name."""

    folder: Path
    tables: Mapping[str, RawTable]


def _as_strings(frame: pl.DataFrame) -> pl.DataFrame:
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            casts.append(pl.col(name))
        elif dtype == pl.Date:
            casts.append(pl.col(name).dt.to_string("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.to_string("%Y-%m-%dT%H:%M:%S"))
        elif dtype == pl.Null:
            casts.append(pl.col(name).cast(pl.String))
        elif dtype.is_nested():
            casts.append(pl.col(name).cast(pl.String, strict=False))
        else:
            casts.append(pl.col(name).cast(pl.String))
    return frame.select(casts)


def _with_provenance(frame: pl.DataFrame | pl.LazyFrame, source_file: str) -> pl.DataFrame:
    names = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
    for name in names:
        if name.startswith("_"):
            raise InvalidDataError(
                f"{source_file}: column {name!r} starts with '_', which stockpilot reserves "
                "for provenance columns. Rename the column in the source."
            )
    # Added in the same lazy plan as the read: the row numbers then come in the same
    # chunks as the data, so later steps need not copy every column into one chunk.
    return (
        frame.lazy()
        .with_columns(
            pl.lit(source_file, dtype=pl.String).alias(SOURCE_FILE),
            pl.int_range(FIRST_DATA_ROW, pl.len() + FIRST_DATA_ROW, dtype=pl.Int64).alias(
                ROW_NUMBER
            ),
        )
        .collect()
    )


def _check_entity(name: str, where: str) -> str:
    if name not in ENTITIES:
        raise InvalidDataError(
            f"{where}: {name!r} is not a canonical entity, so stockpilot cannot tell what the "
            f"file holds. Name the file after one of {sorted(ENTITIES)} (e.g. items.csv), "
            "or describe it with a source mapping."
        )
    return name


def read_table_file(path: Path | str, *, label: str | None = None) -> pl.DataFrame:
    """Read one CSV, Parquet or Excel file with every column as ``String``.

    Parameters
    ----------
    path
        The file (``.csv``, ``.parquet`` or ``.xlsx``; Excel reads the first worksheet).
    label
        Name recorded in ``_source_file`` (default: the file name).

    Returns
    -------
    polars.DataFrame
        The file's columns as strings plus ``_source_file`` and ``_row_number``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise choice_error("read_table_file", "file suffix", suffix, TABLE_SUFFIXES)
    if not path.is_file():
        raise InvalidDataError(f"{path}: no such file. Check the path or the mapping's 'file'.")
    frame: pl.DataFrame | pl.LazyFrame
    if suffix == ".csv":
        # Scanned rather than read: polars' lazy CSV scan reads text columns faster here.
        frame = pl.scan_csv(path, infer_schema=False, raise_if_empty=False)
    elif suffix == ".parquet":
        frame = _as_strings(pl.read_parquet(path))
    else:
        frame = _as_strings(pl.read_excel(path, engine="calamine", infer_schema_length=0))
        # Excel stores dates as date-times; a midnight time is a plain date.
        frame = frame.with_columns(
            pl.col(pl.String).str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(\.0+)?$", "$1")
        )
    return _with_provenance(frame, label if label is not None else path.name)


def read_file(
    path: Path | str, *, entity: str | None = None, root: Path | str | None = None
) -> RawTable:
    """Read one entity file; the entity defaults to the file stem (``items.csv`` -> items).

    ``root`` makes ``_source_file`` relative to the import folder (``extracts/pos.csv``).
    """
    path = Path(path)
    name = _check_entity(entity if entity is not None else path.stem, str(path))
    label = path.name
    if root is not None:
        try:
            label = path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            label = path.name
    return RawTable(name, label, read_table_file(path, label=label))


def read_folder(folder: Path | str) -> FolderContents:
    """Read every entity file at the top level of ``folder``.

    Raises
    ------
    InvalidDataError
        When the folder is missing, a table file is not named after an entity, or two
        files name the same entity (``items.csv`` and ``items.xlsx``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidDataError(f"{folder}: not a folder. Give the folder holding items.csv etc.")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in TABLE_SUFFIXES:
            continue
        if path.name.startswith((".", "~$")):
            continue
        name = _check_entity(path.stem, str(path))
        if name in found:
            raise InvalidDataError(
                f"{folder}: entity {name!r} is in two files, {found[name].name} and "
                f"{path.name}. Keep one file per entity."
            )
        found[name] = path
    tables = {name: read_file(path, entity=name, root=folder) for name, path in found.items()}
    return FolderContents(folder, MappingProxyType(tables))


def read_frame(frame: Any, *, entity: str, source_file: str = "<dataframe>") -> RawTable:
    """Wrap a pandas or polars DataFrame as a :class:`RawTable` (values become strings).

    Examples
    --------
    >>> import polars as pl
    >>> t = read_frame(pl.DataFrame({"item_id": ["A"], "unit_cost": [2.5]}), entity="items")
    >>> t.frame.row(0)
    ('A', '2.5', '<dataframe>', 2)
    """
    name = _check_entity(entity, source_file)
    if isinstance(frame, pl.DataFrame):
        polars_frame = frame
    elif isinstance(frame, pl.LazyFrame):
        polars_frame = frame.collect()
    else:
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a dependency
            pd = None
        if pd is None or not isinstance(frame, pd.DataFrame):
            raise InvalidDataError(
                f"read_frame: expected a pandas or polars DataFrame for {entity!r}; "
                f"got {type(frame).__name__}."
            )
        polars_frame = pl.from_pandas(frame.reset_index(drop=True))
    return RawTable(name, source_file, _with_provenance(_as_strings(polars_frame), source_file))
