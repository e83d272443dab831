"""Source mappings: how one extract (ERP, POS, CRM, an acquired company) maps onto the model.

A mapping is a small YAML file; ``docs/ingest.md`` documents every key with a full
example. It is parsed once into frozen dataclasses, and every mistake is reported with
the file, the key, the value found and the valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from stockpilot.errors import ConfigurationError
from stockpilot.schema import ENTITIES
from stockpilot.vocab import Bucket

TOP_LEVEL_KEYS = (
    "source",
    "file",
    "entity",
    "bucket",
    "columns",
    "date_format",
    "codes",
    "uom",
    "constants",
    "value_map",
    "channel",
    "authoritative_for",
    "freshness_days",
)
CODES_KEYS = ("column", "source_system", "table")
UOM_KEYS = ("column", "factors", "from_code_mappings")
# Canonical columns a mapping may also produce besides the entity's own columns.
HELPER_COLUMNS = ("source_code",)


@dataclass(frozen=True)
class CodeCrosswalk:
    """Map a source product code to the canonical ``item_id``.

    Either through the ``code_mappings`` entity rows whose ``source_system`` is
    ``source_system`` (the default: the mapping's ``source``), or through an inline
    ``table`` (source code -> item_id).
    """

    column: str
    source_system: str
    table: Mapping[str, str] | None = None


@dataclass(frozen=True)
class UomConversion:
    """Convert source quantities to base units.

    ``column`` names a source (or canonical) column holding a unit code whose factor is
    looked up in ``factors``; ``from_code_mappings`` multiplies by the ``factor`` column
    of the code crosswalk instead. Both may apply.
    """

    column: str | None = None
    factors: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    from_code_mappings: bool = False


@dataclass(frozen=True)
class SourceMapping:
    """One source extract described by a mapping file.

    Attributes
    ----------
    source
        Source system name (``erp``, ``pos``, ``crm``, ``acquired_x``); written to the
        ``source`` column of demand.
    entity
        Canonical entity the extract feeds (usually ``demand``).
    bucket
        Time bucket of the extract's dates (``day``, ``week``, ``month``).
    file
        Extract path as written in the mapping (relative to the mapping file or the
        import folder), or ``None`` when the caller supplies the extract.
    columns
        Source column -> canonical column.
    date_format
        ``strftime`` format of the date columns (default ISO ``%Y-%m-%d``).
    codes, uom
        Code crosswalk and unit-of-measure conversion, when needed.
    constants
        Canonical column -> fixed value for every row (e.g. ``location_id``).
    value_map
        Canonical column -> {source value: canonical value} (e.g. ``S``/``R`` ->
        ``is_return``); unmapped values pass unchanged.
    channel
        Shorthand for ``constants: {channel: ...}``.
    authoritative_for
        Channels for which this source is the authority when sources overlap.
    freshness_days
        The newest record may be at most this many days older than the as-of date.
    origin
        Where the mapping came from (file path or ``<dict>``), used in messages.
    """

    source: str
    entity: str
    bucket: Bucket
    file: str | None = None
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    date_format: str | None = None
    codes: CodeCrosswalk | None = None
    uom: UomConversion | None = None
    constants: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    value_map: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    channel: str | None = None
    authoritative_for: tuple[str, ...] = ()
    freshness_days: int | None = None
    origin: str = "<dict>"

    def resolve_file(self, import_folder: Path | str | None = None) -> Path:
        """Locate the extract: relative to the mapping file first, then the import folder."""
        if self.file is None:
            raise ConfigurationError(
                f"{self.origin}: the mapping has no 'file' key, so the extract must be passed "
                "explicitly. Add 'file: path/to/extract.csv'."
            )
        candidate = Path(self.file)
        if candidate.is_absolute():
            return candidate
        tried = []
        if self.origin != "<dict>":
            tried.append(Path(self.origin).parent / candidate)
        if import_folder is not None:
            tried.append(Path(import_folder) / candidate)
        for path in tried:
            if path.is_file():
                return path
        raise ConfigurationError(
            f"{self.origin}: key 'file' = {self.file!r} does not exist "
            f"(looked in {[str(p) for p in tried] or [str(candidate)]}). The path is relative "
            "to the mapping file or to the import folder."
        )


def _fail(origin: str, key: str, value: Any, constraint: str) -> ConfigurationError:
    return ConfigurationError(f"{origin}: key {key!r} must be {constraint}. Got {value!r}.")


def _text(origin: str, key: str, value: Any, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise _fail(origin, key, value, "a non-empty string (it is required)")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value) == "":
        raise _fail(origin, key, value, "a non-empty string")
    return str(value)


def _table(origin: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(origin, key, value, "a mapping of 'name: value' lines")
    return {str(k): v for k, v in value.items()}


def _unknown_keys(origin: str, where: str, data: Mapping[str, Any], valid: tuple[str, ...]) -> None:
    unknown = [k for k in data if k not in valid]
    if unknown:
        raise ConfigurationError(
            f"{origin}: unknown key(s) {unknown} in {where}. Valid keys: {', '.join(valid)}."
        )


def _canonical_column(origin: str, key: str, name: str, entity: str) -> str:
    valid = (*ENTITIES[entity].column_names, *HELPER_COLUMNS)
    if name not in valid:
        raise ConfigurationError(
            f"{origin}: key {key!r} maps to {name!r}, which is not a column of entity "
            f"{entity!r}. Valid columns: {', '.join(valid)}."
        )
    return name


def _codes(origin: str, value: Any, source: str) -> CodeCrosswalk | None:
    if value is None:
        return None
    data = _table(origin, "codes", value)
    _unknown_keys(origin, "'codes'", data, CODES_KEYS)
    column = _text(origin, "codes.column", data.get("column", "source_code"), required=True)
    system = _text(origin, "codes.source_system", data.get("source_system", source))
    table_data = data.get("table")
    table = None
    if table_data is not None:
        raw = _table(origin, "codes.table", table_data)
        table = MappingProxyType({str(k): str(v) for k, v in raw.items()})
    assert column is not None
    return CodeCrosswalk(column, system or source, table)


def _uom(origin: str, value: Any) -> UomConversion | None:
    if value is None:
        return None
    data = _table(origin, "uom", value)
    _unknown_keys(origin, "'uom'", data, UOM_KEYS)
    column = _text(origin, "uom.column", data.get("column"))
    factors: dict[str, float] = {}
    for code, factor in _table(origin, "uom.factors", data.get("factors")).items():
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
            raise _fail(origin, f"uom.factors.{code}", factor, "a number > 0")
        factors[code] = float(factor)
    from_codes = data.get("from_code_mappings", False)
    if not isinstance(from_codes, bool):
        raise _fail(origin, "uom.from_code_mappings", from_codes, "true or false")
    if column is not None and not factors:
        raise _fail(origin, "uom.factors", data.get("factors"), "a non-empty table unit: factor")
    if column is None and factors:
        raise _fail(origin, "uom.column", None, "the column holding the unit codes")
    if column is None and not from_codes:
        raise ConfigurationError(
            f"{origin}: key 'uom' needs 'column' and 'factors', or 'from_code_mappings: true'."
        )
    return UomConversion(column, MappingProxyType(factors), from_codes)


def parse_mapping(data: Any, *, origin: str = "<dict>") -> SourceMapping:
    """Parse a mapping (the YAML document as Python objects) into a :class:`SourceMapping`.

    Raises
    ------
    ConfigurationError
        Naming the file, the key and the value, and listing the valid keys or values.
    """
    if not isinstance(data, Mapping):
        raise ConfigurationError(
            f"{origin}: a source mapping must be a YAML mapping of keys "
            f"({', '.join(TOP_LEVEL_KEYS)}). Got {type(data).__name__}."
        )
    data = {str(k): v for k, v in data.items()}
    _unknown_keys(origin, "the mapping", data, TOP_LEVEL_KEYS)
    source = _text(origin, "source", data.get("source"), required=True)
    entity = _text(origin, "entity", data.get("entity", "demand"), required=True)
    assert source is not None and entity is not None
    if entity not in ENTITIES:
        raise ConfigurationError(
            f"{origin}: key 'entity' = {entity!r} is not a canonical entity. "
            f"Valid entities: {', '.join(ENTITIES)}."
        )
    bucket_value = data.get("bucket", "day")
    try:
        bucket = Bucket(bucket_value)
    except ValueError:
        raise ConfigurationError(
            f"{origin}: key 'bucket' = {bucket_value!r} is not a time bucket. "
            f"Valid buckets: {', '.join(b.value for b in Bucket)}."
        ) from None
    columns = {}
    for src, dst in _table(origin, "columns", data.get("columns")).items():
        dst_text = _text(origin, f"columns.{src}", dst, required=True)
        assert dst_text is not None
        columns[src] = _canonical_column(origin, f"columns.{src}", dst_text, entity)
    targets = list(columns.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise ConfigurationError(
            f"{origin}: key 'columns' maps several source columns onto {doubled}. "
            "Each canonical column may come from one source column only."
        )
    date_format = _text(origin, "date_format", data.get("date_format"))
    if date_format is not None and "%" not in date_format:
        raise _fail(origin, "date_format", date_format, "a strftime format such as '%d.%m.%Y'")
    constants = {}
    for col, value in _table(origin, "constants", data.get("constants")).items():
        _canonical_column(origin, f"constants.{col}", col, entity)
        text = _text(origin, f"constants.{col}", value, required=True)
        assert text is not None
        constants[col] = text
    value_map: dict[str, Mapping[str, str]] = {}
    for col, table in _table(origin, "value_map", data.get("value_map")).items():
        _canonical_column(origin, f"value_map.{col}", col, entity)
        entries = _table(origin, f"value_map.{col}", table)
        value_map[col] = MappingProxyType(
            {
                str(k): (str(v).lower() if isinstance(v, bool) else str(v))
                for k, v in entries.items()
            }
        )
    channel = _text(origin, "channel", data.get("channel"))
    if channel is not None:
        if "channel" not in ENTITIES[entity].column_names:
            raise _fail(origin, "channel", channel, f"absent: entity {entity!r} has no channel")
        constants.setdefault("channel", channel)
    authoritative = data.get("authoritative_for", ())
    if isinstance(authoritative, str):
        authoritative = [authoritative]
    if not isinstance(authoritative, list | tuple) or not all(
        isinstance(c, str) and c for c in authoritative
    ):
        raise _fail(origin, "authoritative_for", authoritative, "a list of channel names")
    freshness = data.get("freshness_days")
    if freshness is not None and (
        isinstance(freshness, bool) or not isinstance(freshness, int) or freshness < 0
    ):
        raise _fail(origin, "freshness_days", freshness, "an integer >= 0")
    codes = _codes(origin, data.get("codes"), source)
    if codes is not None and "item_id" not in ENTITIES[entity].column_names:
        raise _fail(origin, "codes", data.get("codes"), f"absent: entity {entity!r} has no item_id")
    return SourceMapping(
        source=source,
        entity=entity,
        bucket=bucket,
        file=_text(origin, "file", data.get("file")),
        columns=MappingProxyType(columns),
        date_format=date_format,
        codes=codes,
        uom=_uom(origin, data.get("uom")),
        constants=MappingProxyType(constants),
        value_map=MappingProxyType(value_map),
        channel=channel,
        authoritative_for=tuple(authoritative),
        freshness_days=freshness,
        origin=origin,
    )


def load_mapping(path: Path | str) -> SourceMapping:
    """Read and parse one YAML mapping file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"{path}: mapping file not found.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None
    return parse_mapping(data, origin=str(path))


def load_mappings(paths: Iterable[Path | str]) -> tuple[SourceMapping, ...]:
    """Read several mapping files (a folder is expanded to its ``*.yaml``/``*.yml`` files)."""
    result: list[SourceMapping] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            result.extend(load_mapping(p) for p in files)
        else:
            result.append(load_mapping(path))
    sources = [m.source for m in result if m.entity == "demand"]
    doubled = sorted({s for s in sources if sources.count(s) > 1})
    if doubled:
        raise ConfigurationError(
            f"Several demand mappings declare source {doubled}; each source system needs a "
            "distinct 'source' name so its freshness and authority stay its own."
        )
    return tuple(result)


def channel_authority(mappings: Iterable[SourceMapping]) -> Mapping[str, str]:
    """Channel -> the one source authoritative for it, from ``authoritative_for``.

    Raises
    ------
    ConfigurationError
        When two sources claim the same channel.
    """
    authority: dict[str, SourceMapping] = {}
    for mapping in mappings:
        for channel in mapping.authoritative_for:
            if channel in authority and authority[channel].source != mapping.source:
                other = authority[channel]
                raise ConfigurationError(
                    f"{mapping.origin}: key 'authoritative_for' claims channel {channel!r}, "
                    f"which {other.origin} (source {other.source!r}) already claims. "
                    "Exactly one source may be authoritative for a channel."
                )
            authority[channel] = mapping
    return MappingProxyType({c: m.source for c, m in authority.items()})
