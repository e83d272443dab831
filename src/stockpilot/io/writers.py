"""Write canonical frames and results to CSV, Parquet or Excel.

The format follows the file suffix (``.csv``, ``.parquet``, ``.xlsx``). Dates are written
ISO (``2026-01-31``) so that :mod:`stockpilot.io.readers` reads them back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from stockpilot.errors import InvalidParameterError, choice_error

FORMATS = ("csv", "parquet", "xlsx")
EXCEL_SHEET_NAME_LIMIT = 31


def _format_of(path: Path, format: str | None) -> str:
    chosen = format if format is not None else path.suffix.lower().lstrip(".")
    if chosen not in FORMATS:
        raise choice_error("write_table", "format", chosen, FORMATS)
    return chosen


def _sheet(name: str) -> str:
    if not name or len(name) > EXCEL_SHEET_NAME_LIMIT or any(c in name for c in "[]:*?/\\"):
        raise InvalidParameterError(
            f"The worksheet name {name!r} is not valid in Excel: it must have 1 to "
            f"{EXCEL_SHEET_NAME_LIMIT} characters and none of []:*?/\\."
        )
    return name


def write_table(
    frame: pl.DataFrame, path: Path | str, *, format: str | None = None, sheet: str = "data"
) -> Path:
    """Write one frame; the format comes from ``format`` or the file suffix.

    Parameters
    ----------
    frame
        Any polars DataFrame (canonical entity, forecasts, policies, quarantine).
    path
        Target file; parent folders are created.
    format
        ``csv``, ``parquet`` or ``xlsx`` (default: from the suffix).
    sheet
        Worksheet name for Excel.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    chosen = _format_of(path, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "csv":
        frame.write_csv(path, date_format="%Y-%m-%d")
    elif chosen == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_excel(path, worksheet=_sheet(sheet), autofit=True)
    return path


def write_tables(
    tables: Mapping[str, pl.DataFrame], folder: Path | str, *, format: str = "csv"
) -> tuple[Path, ...]:
    """Write one file per entity (``<name>.<format>``) into ``folder``, the import layout."""
    if format not in FORMATS:
        raise choice_error("write_tables", "format", format, FORMATS)
    folder = Path(folder)
    return tuple(
        write_table(frame, folder / f"{name}.{format}", format=format, sheet=name[:31])
        for name, frame in tables.items()
    )


def write_workbook(tables: Mapping[str, pl.DataFrame], path: Path | str) -> Path:
    """Write several frames as the worksheets of one Excel workbook (sheet = key)."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with xlsxwriter.Workbook(str(path)) as workbook:
        for name, frame in tables.items():
            frame.write_excel(workbook, worksheet=_sheet(name), autofit=True)
    return path
