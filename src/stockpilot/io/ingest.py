"""Apply source mappings to extracts, and build the planning demand from several sources.

The flow of an import (the import service drives it):

1. :func:`prepare_import` reads the folder's canonical files and every mapped extract
   into canonical *string* frames (:func:`apply_mapping`): columns renamed, constants
   and value maps applied, dates rewritten to ISO, product codes crosswalked to
   ``item_id``, quantities converted to base units; each row keeps ``_source_file``,
   ``_row_number`` and ``_raw`` (JSON of the values as the source had them). A code
   without a crosswalk entry or a unit without a factor is flagged for the gate
   (``unknown_key`` / ``invalid_value``), never dropped.
2. :func:`stockpilot.io.gate.validate` checks everything (:func:`validate_import` does
   1 and 2 together).
3. The store keeps the accepted demand as canonical records, one row per source record
   in its own bucket, from every source. The *planning* view is built by
   :func:`planning_demand`: :func:`combine_sources` keeps, per channel, only the
   authoritative source (so POS retail sales are not counted again from the ERP's copy
   of store deliveries), then each source's bucket is harmonized to the planning bucket
   (a monthly quantity is spread evenly over the days of its month, then re-aggregated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType

import polars as pl

from stockpilot.errors import ConfigurationError, InvalidDataError
from stockpilot.io.buckets import harmonize_demand
from stockpilot.io.gate import PRE_DETAIL, PRE_REASON, RAW_JSON, GateOptions, GateResult, validate
from stockpilot.io.mapping import SourceMapping, channel_authority, load_mappings
from stockpilot.io.readers import ROW_NUMBER, SOURCE_FILE, RawTable, read_file, read_folder
from stockpilot.schema import ENTITIES, ColumnType
from stockpilot.vocab import Bucket

ISO_DATE = "%Y-%m-%d"


@dataclass(frozen=True)
class PreparedImport:
    """Canonical string frames ready for the gate, and the mappings that produced them.

    Attributes
    ----------
    folder
        The import folder.
    tables
        Entity -> one string frame per file (canonical file and mapped extracts).
    mappings
        The source mappings applied.
    """

    folder: Path | None
    tables: Mapping[str, tuple[pl.DataFrame, ...]]
    mappings: tuple[SourceMapping, ...]
    # Extract file label (as in ``_source_file``) -> the mapping that read it.
    extract_files: Mapping[str, SourceMapping] = field(default_factory=lambda: MappingProxyType({}))

    def source_freshness(self) -> Mapping[str, int]:
        """Source -> freshness limit in days, from the mappings that declare one.

        Entities without a ``source`` column (``on_hand``) are judged per file, so their
        extracts' limits are listed under the file label as well.
        """
        limits = {m.source: m.freshness_days for m in self.mappings if m.freshness_days is not None}
        for label, m in self.extract_files.items():
            if m.freshness_days is not None and "source" not in ENTITIES[m.entity].column_names:
                limits[label] = m.freshness_days
        return MappingProxyType(limits)

    def source_buckets(self) -> Mapping[str, Bucket]:
        """Source -> the time bucket of its demand records."""
        return MappingProxyType({m.source: m.bucket for m in self.mappings})

    def authority(self) -> Mapping[str, str]:
        """Channel -> authoritative source (see :func:`combine_sources`)."""
        return channel_authority(self.mappings)


def _crosswalk(
    mapping: SourceMapping, code_mappings: pl.DataFrame | None
) -> tuple[dict[str, str], dict[str, float]]:
    assert mapping.codes is not None
    if mapping.codes.table is not None:
        return dict(mapping.codes.table), {}
    if code_mappings is None or code_mappings.height == 0:
        return {}, {}
    needed = ("source_system", "source_code", "item_id")
    missing = [c for c in needed if c not in code_mappings.columns]
    if missing:
        raise InvalidDataError(
            f"code_mappings lacks column(s) {missing}; it has {code_mappings.columns}."
        )
    rows = code_mappings.filter(
        (pl.col("source_system").cast(pl.String) == mapping.codes.source_system)
        & pl.col("source_code").is_not_null()
        & pl.col("item_id").is_not_null()
    )
    if "factor" in rows.columns:
        factor = pl.col("factor").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    else:
        factor = pl.lit(None, dtype=pl.Float64)
    rows = rows.select(
        pl.col("source_code").cast(pl.String).str.strip_chars(),
        pl.col("item_id").cast(pl.String).str.strip_chars(),
        factor.alias("factor"),
    ).unique("source_code", keep="first", maintain_order=True)
    codes = dict(zip(rows["source_code"], rows["item_id"], strict=True))
    factors = {
        c: float(f)
        for c, f in zip(rows["source_code"], rows["factor"], strict=True)
        if f is not None and f > 0
    }
    return codes, factors


def _pick(frame: pl.DataFrame, name: str, mapping: SourceMapping, key: str) -> str:
    """A column named in the mapping: its canonical name after renaming, or a source name."""
    renamed = mapping.columns.get(name, name)
    if renamed in frame.columns:
        return renamed
    raise ConfigurationError(
        f"{mapping.origin}: key {key!r} names column {name!r}, which the extract does not have "
        f"(columns after renaming: {[c for c in frame.columns if not c.startswith('_')]})."
    )


def apply_mapping(
    raw: RawTable | pl.DataFrame,
    mapping: SourceMapping,
    *,
    code_mappings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Turn one source extract into canonical string records for the gate.

    Parameters
    ----------
    raw
        The extract as read (all ``String``, with ``_source_file`` and ``_row_number``).
    mapping
        Its :class:`~stockpilot.io.mapping.SourceMapping`.
    code_mappings
        Crosswalk rows (``source_system, source_code, item_id, factor``) from this import
        and the store, used when the mapping's ``codes`` has no inline table.

    Returns
    -------
    polars.DataFrame
        Canonical columns as strings, ``source`` (when the entity has it), provenance
        (``_source_file``, ``_row_number``, ``_raw``) and ``_reason``/``_detail`` set for
        rows a mapping step could not translate. Row count and order are unchanged.
    """
    frame = raw.frame if isinstance(raw, RawTable) else raw
    ent = ENTITIES[mapping.entity]
    if SOURCE_FILE not in frame.columns:
        frame = frame.with_columns(pl.lit(mapping.source).alias(SOURCE_FILE))
    if ROW_NUMBER not in frame.columns:
        frame = frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(ROW_NUMBER))
    data_cols = [c for c in frame.columns if not c.startswith("_")]
    frame = frame.with_columns(
        pl.struct(data_cols).struct.json_encode().alias(RAW_JSON)
        if data_cols
        else pl.lit("{}").alias(RAW_JSON)
    )
    frame = frame.rename({s: d for s, d in mapping.columns.items() if s in frame.columns})
    issues: list[tuple[str, pl.Expr, pl.Expr]] = []

    for col, value in mapping.constants.items():
        current = pl.col(col) if col in frame.columns else pl.lit(None, dtype=pl.String)
        frame = frame.with_columns(pl.coalesce(current.cast(pl.String), pl.lit(value)).alias(col))
    for col, table in mapping.value_map.items():
        if col in frame.columns:
            frame = frame.with_columns(
                pl.col(col).str.strip_chars().replace(dict(table)).alias(col)
            )
    date_format = mapping.date_format or ISO_DATE
    if date_format != ISO_DATE:
        for column in ent.columns:
            if column.kind is not ColumnType.DATE or column.name not in frame.columns:
                continue
            text = pl.col(column.name).str.strip_chars()
            if "%d" in date_format:
                parsed = text.str.to_date(date_format, strict=False)
            else:  # month-level formats such as %Y-%m: the bucket starts on the 1st
                parsed = (text + "|01").str.to_date(date_format + "|%d", strict=False)
            frame = frame.with_columns(
                pl.when(parsed.is_not_null())
                .then(parsed.dt.to_string(ISO_DATE))
                .otherwise(pl.col(column.name))
                .alias(column.name)
            )

    factor: pl.Expr = pl.lit(1.0)
    if mapping.codes is not None:
        code_col = _pick(frame, mapping.codes.column, mapping, "codes.column")
        codes, code_factors = _crosswalk(mapping, code_mappings)
        code = pl.col(code_col).str.strip_chars()
        item = code.replace_strict(codes, default=None, return_dtype=pl.String)
        unknown = code.is_not_null() & item.is_null()
        issues.append(
            (
                "unknown_key",
                unknown,
                pl.format(
                    f"source code {{}} of system {mapping.codes.source_system!r} has no "
                    "code_mappings entry",
                    code,
                ),
            )
        )
        frame = frame.with_columns(item.alias("item_id"))
        if mapping.uom is not None and mapping.uom.from_code_mappings:
            factor = factor * code.replace_strict(
                code_factors, default=1.0, return_dtype=pl.Float64
            )
        if code_col != "item_id" and code_col in frame.columns:
            frame = frame.with_columns(code.alias(code_col))
    if mapping.uom is not None and mapping.uom.column is not None:
        uom_col = _pick(frame, mapping.uom.column, mapping, "uom.column")
        unit = pl.col(uom_col).str.strip_chars()
        unit_factor = unit.replace_strict(
            dict(mapping.uom.factors), default=None, return_dtype=pl.Float64
        )
        issues.append(
            (
                "invalid_value",
                unit_factor.is_null(),
                pl.format(
                    f"unit of measure '{{}}' has no factor; known units: "
                    f"{', '.join(mapping.uom.factors)}",
                    pl.coalesce(unit, pl.lit("")),
                ),
            )
        )
        factor = factor * unit_factor
    if mapping.uom is not None:
        quantities = [
            c.name
            for c in ent.columns
            if c.kind is ColumnType.FLOAT and c.unit.startswith("base units")
        ]
        frame = frame.with_columns(factor.alias("__factor"))
        for col in quantities:
            if col not in frame.columns:
                continue
            number = pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)
            converted = (number * pl.col("__factor")).cast(pl.String)
            frame = frame.with_columns(
                pl.when(number.is_not_null() & pl.col("__factor").is_not_null())
                .then(converted)
                .otherwise(pl.col(col))
                .alias(col)
            )
        frame = frame.drop("__factor")
    if "source" in ent.column_names:
        frame = frame.with_columns(pl.lit(mapping.source).alias("source"))

    reason = pl.coalesce(
        *[pl.when(mask).then(pl.lit(r)) for r, mask, _ in issues], pl.lit(None, dtype=pl.String)
    )
    detail = pl.concat_str(
        [pl.lit(None, dtype=pl.String), *[pl.when(mask).then(text) for _, mask, text in issues]],
        separator="; ",
        ignore_nulls=True,
    )
    frame = frame.with_columns(
        reason.cast(pl.String).alias(PRE_REASON),
        pl.when(detail != "").then(detail).cast(pl.String).alias(PRE_DETAIL),
    )
    keep = [c for c in ent.column_names if c in frame.columns]
    return frame.select(*keep, SOURCE_FILE, ROW_NUMBER, RAW_JSON, PRE_REASON, PRE_DETAIL)


def read_source(
    mapping: SourceMapping,
    *,
    import_folder: Path | str | None = None,
    code_mappings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Read the extract a mapping names and apply the mapping (:func:`apply_mapping`)."""
    path = mapping.resolve_file(import_folder)
    root = import_folder if import_folder is not None else path.parent
    raw = read_file(path, entity=mapping.entity, root=root)
    return apply_mapping(raw, mapping, code_mappings=code_mappings)


def prepare_import(
    folder: Path | str | None,
    *,
    mappings: Iterable[SourceMapping | Path | str] = (),
    code_mappings: pl.DataFrame | None = None,
) -> PreparedImport:
    """Read an import folder and its mapped extracts into canonical string frames.

    Parameters
    ----------
    folder
        Folder of canonical entity files (``items.csv``...), or ``None`` for extracts only.
    mappings
        :class:`SourceMapping` objects or YAML paths (a folder of them is expanded).
    code_mappings
        Crosswalk rows already in the store; the folder's own ``code_mappings`` file is
        used as well.
    """
    parsed: list[SourceMapping] = []
    paths: list[Path | str] = []
    for item in mappings:
        if isinstance(item, SourceMapping):
            parsed.append(item)
        else:
            paths.append(item)
    parsed.extend(load_mappings(paths))
    channel_authority(parsed)  # fail early on two authorities for one channel
    tables: dict[str, list[pl.DataFrame]] = {}
    crosswalk_parts = []
    if code_mappings is not None:
        crosswalk_parts.append(code_mappings.select(pl.all().cast(pl.String)))
    root = Path(folder) if folder is not None else None
    if root is not None:
        contents = read_folder(root)
        for name, table in contents.tables.items():
            tables.setdefault(name, []).append(table.frame)
        if "code_mappings" in contents.tables:
            crosswalk_parts.append(contents.tables["code_mappings"].frame)
    crosswalk = pl.concat(crosswalk_parts, how="diagonal_relaxed") if crosswalk_parts else None
    extract_files: dict[str, SourceMapping] = {}
    for mapping in parsed:
        frame = read_source(mapping, import_folder=root, code_mappings=crosswalk)
        tables.setdefault(mapping.entity, []).append(frame)
        if frame.height:
            extract_files[str(frame.get_column(SOURCE_FILE)[0])] = mapping
    return PreparedImport(
        root,
        MappingProxyType({k: tuple(v) for k, v in tables.items()}),
        tuple(parsed),
        MappingProxyType(extract_files),
    )


def validate_import(
    prepared: PreparedImport,
    *,
    as_of: date,
    outlier_z: float = 6.0,
    outlier_min_history: int = 8,
    freshness_days: int | None = 14,
    known_keys: Mapping[str, Iterable[str]] | None = None,
) -> GateResult:
    """Run the gate over a :class:`PreparedImport` with each source's freshness limit."""
    options = GateOptions(
        as_of=as_of,
        outlier_z=outlier_z,
        outlier_min_history=outlier_min_history,
        freshness_days=freshness_days,
        source_freshness=prepared.source_freshness(),
    )
    return validate(prepared.tables, options=options, known_keys=known_keys)


def combine_sources(demand: pl.DataFrame, authority: Mapping[str, str]) -> pl.DataFrame:
    """Keep, per channel, only the demand of the authoritative source.

    Rule: a channel with a declared authority keeps that source's rows and drops every
    other source's rows for it (they describe the same sales again). A channel without
    a declared authority is kept when exactly one source reports it; when several do,
    there is no way to tell which is right, and the function raises rather than double
    count. Rows without a channel form their own channel under the same rule.

    Parameters
    ----------
    demand
        Canonical demand with ``source`` and ``channel``.
    authority
        Channel -> source (:func:`stockpilot.io.mapping.channel_authority`).

    Raises
    ------
    InvalidDataError
        When several sources report a channel that has no authority.

    Examples
    --------
    >>> import polars as pl
    >>> d = pl.DataFrame({"source": ["erp", "pos", "erp"], "channel": ["retail"] * 2 + ["b2b"],
    ...                   "quantity": [5.0, 5.0, 2.0]})
    >>> combine_sources(d, {"retail": "pos"})["quantity"].sum()
    7.0
    """
    missing = [c for c in ("source", "channel") if c not in demand.columns]
    if missing:
        raise InvalidDataError(
            f"combine_sources: demand lacks column(s) {missing}; got {demand.columns}."
        )
    reported = demand.group_by("channel").agg(pl.col("source").unique().sort())
    clashes = [
        (ch, list(srcs))
        for ch, srcs in reported.iter_rows()
        if len(srcs) > 1 and ch not in authority
    ]
    if clashes:
        listed = "; ".join(f"channel {ch!r} from {srcs}" for ch, srcs in sorted(clashes, key=str))
        raise InvalidDataError(
            f"combine_sources: several sources report the same channel and none is declared "
            f"authoritative ({listed}). Add 'authoritative_for: [channel]' to one source's "
            "mapping so the demand is not counted twice."
        )
    if not authority:
        return demand
    owner = pl.col("channel").replace_strict(dict(authority), default=None, return_dtype=pl.String)
    return demand.filter(owner.is_null() | (owner == pl.col("source")))


def planning_demand(
    demand: pl.DataFrame,
    *,
    bucket: Bucket | str,
    source_buckets: Mapping[str, Bucket | str] | None = None,
    authority: Mapping[str, str] | None = None,
    by_channel: bool = False,
) -> pl.DataFrame:
    """The demand planning works on: authoritative sources only, in the planning bucket.

    Parameters
    ----------
    demand
        Accepted canonical demand (``item_id, location_id, date, quantity, source,
        channel``), each source in its own bucket.
    bucket
        The planning bucket.
    source_buckets
        Source -> bucket of its records; a coarser bucket is spread evenly over its days
        before re-aggregation (:func:`stockpilot.io.buckets.harmonize_demand`). Sources
        not listed are taken as dated points.
    authority
        Channel -> authoritative source (:func:`combine_sources`).
    by_channel
        Keep ``channel`` in the output instead of summing over channels.

    Returns
    -------
    polars.DataFrame
        ``item_id, location_id, [channel,] period, quantity`` sorted; returns (negative
        quantities) are netted in.
    """
    combined = combine_sources(demand, authority or {})
    buckets = {s: Bucket(b) for s, b in (source_buckets or {}).items()}
    extra = ("channel",) if by_channel else ()
    parts = []
    for (source,), rows in combined.partition_by(
        "source", as_dict=True, maintain_order=True
    ).items():
        parts.append(
            harmonize_demand(
                rows,
                bucket=bucket,
                source_bucket=buckets.get(str(source)) if source is not None else None,
                extra_keys=extra,
            )
        )
    keys = ["item_id", "location_id", *extra, "period"]
    if not parts:
        schema = {k: pl.String for k in keys} | {"period": pl.Date, "quantity": pl.Float64}
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).group_by(keys).agg(pl.col("quantity").sum()).sort(keys)
