"""The mapping file (``exportrisk.yaml``): how a researcher's spreadsheet is read, checked strictly.

The mapping says which files, sheet and header row to read, which raw column (or constant) fills each canonical
column and how to read its cells (date order, decimal mark, list separator, labels), and which country names the
source spells its own way. A mistyped key would otherwise drop a column without a word, so every key is checked
and an error names the mapping file, the line and the key. A file may hold several YAML documents (``---``), one
per sheet or layout of the same source, e.g. a licence-level sheet and a sheet of aggregates.
"""

import datetime as dt
import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

import pycountry
import yaml

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_utf8
from exportrisk.ingest.sheets import CSV_SUFFIXES, XLSX_SUFFIXES
from exportrisk.ingest.strictyaml import compose_bounded, key_lines, yaml_error
from exportrisk.reference import countries
from exportrisk.schema import DESTINATION_TYPES, LICENCES

MAPPING_FILE = "exportrisk.yaml"
DATE_FORMATS = {
    "ISO": "YYYY-MM-DD",
    "DMY": "day/month/year",
    "MDY": "month/day/year",
    "excel_serial": "an Excel serial number",
}
# Top-level keys that give a canonical column one value for every row (or for blank cells of its column).
DEFAULTS = {
    "licensing_country": "licensing_country_code",
    "currency": "currency_code",
    "outcome": "outcome",
    "licence_kind": "licence_kind",
    "confidence": "confidence",
    "source_url": "source_url",
}
# Top-level keys that describe the source itself rather than a column.
ABOUT = ("citation", "terms", "aggregate")
TOP_KEYS = (
    "file",
    "sheet",
    "header_row",
    "encoding",
    "delimiter",
    "missing",
    "years",
    *DEFAULTS,
    *ABOUT,
    "columns",
    "countries",
)
CATEGORIES = {
    f.name: f.categories for f in LICENCES.fields if f.name in ("outcome", "licence_kind", "licence_type", "confidence")
}
DATES = ("decision_date", "expiry_date")
NUMBERS = {"value": "Float64", "item_count": "Int64"}
LISTS = ("destination_raw", "control_code_raw")
FLAGS = ("is_value_lower_bound",)  # yes/no columns
TEXT = (
    "licence_id",
    "goods_description",
    "end_use_description",
    "exporter_name",
    "exporter_business_id",
    "end_user_name",
    "end_user_type",
    "refusal_criteria",
    "source_url",
)
COLUMNS = (*TEXT, *LISTS, *DATES, *NUMBERS, *CATEGORIES, *FLAGS, "licensing_country_code", "currency_code")
REQUIRED = ("licence_id", "decision_date", "destination_raw")  # the rest may come from top-level defaults
MARKERS = tuple(t for t in DESTINATION_TYPES if t != "country")


class TextLoader(yaml.SafeLoader):
    """Safe YAML that reads yes/no/on/off as text: in spreadsheets they are labels to map, not booleans."""


TextLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is filled: from a raw column, a constant, or a raw column with a default."""

    column: str | None = None
    value: str | None = None  # the constant, or what blank cells of ``column`` read as
    format: str = "ISO"
    year: str | None = None  # dates: a raw column of years, read where the date cell says it is not available
    decimal: str = "."
    thousands: str | None = None
    split: str | None = None
    map: dict[str, str] = field(default_factory=dict)  # normalised label -> value


@dataclass(frozen=True)
class SourceSpec:
    """A checked mapping file."""

    files: tuple[str, ...]
    sheet: str | None
    header_row: int
    encoding: str
    delimiter: str | None
    columns: dict[str, ColumnSpec]
    countries: countries.CountryMapping
    missing: frozenset[str] = frozenset()  # cell texts that mean "not published", read as blank (normalised)
    years: tuple[int, int] = (1900, 2100)  # plausible years of the source's dates; others are rejected
    citation: str | None = None
    terms: str | None = None
    aggregate: str | None = None  # what one row counts, for sources that publish totals instead of licences
    sheet_in_lineage: bool = False  # several documents read one workbook: name the sheet in source_file


@dataclass(frozen=True)
class Where:
    """The mapping file and the line of each key in it, so that an error points at the key."""

    path: Path
    lines: dict[str, int]

    def error(self, key: str, message: str) -> InputError:
        return InputError(self.path, f"key {key!r}: {message}", row=self.lines.get(key))


def checked_keys(obj: object, key: str, allowed: tuple[str, ...], required: tuple[str, ...], where: Where) -> dict:
    """The mapping at ``key``, with no unknown and no missing keys."""
    if not isinstance(obj, dict):
        raise where.error(key or "(top level)", "must be a mapping of keys to values")
    prefix = f"{key}." if key else ""
    for k in obj:
        if k not in allowed:
            raise where.error(f"{prefix}{k}", f"unknown key (allowed: {', '.join(allowed)})")
    for k in required:
        if k not in obj:
            raise where.error(f"{prefix}{k}", "required key is missing")
    return obj


def scalar(obj: object, key: str, where: Where) -> str:
    """One value as text (YAML reads 2021-12-01 as a date and 5 as a number: both are wanted as text)."""
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, int | float) or (isinstance(obj, str) and obj.strip(" ")):
        return str(obj)
    raise where.error(key, "must be a single value")


def scalars(obj: object, key: str, where: Where) -> list[str]:
    """One value or a list of values, as text."""
    return [scalar(v, f"{key}.{i}", where) for i, v in enumerate(obj if isinstance(obj, list) else [obj])]


def year_range(obj: object, where: Where) -> tuple[int, int]:
    """``years: [first, last]``: the years a source's dates may fall in."""
    if not (isinstance(obj, list) and len(obj) == 2 and all(isinstance(y, int) for y in obj) and obj[0] <= obj[1]):
        raise where.error("years", "must be [first, last], two years such as [1990, 2030]")
    return obj[0], obj[1]


def one_of(value: str, allowed: tuple[str, ...] | dict[str, str], key: str, where: Where) -> str:
    if value not in allowed:
        raise where.error(key, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def single_char(text: str, key: str, where: Where) -> str:
    if len(text) != 1:
        raise where.error(key, f"{text!r} must be one character")
    return text


@functools.cache
def currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def checked_constant(name: str, value: str, key: str, where: Where) -> str:
    """A constant for a column whose values are codes or categories, checked once here rather than per row."""
    if name in CATEGORIES:
        return one_of(value, CATEGORIES[name], key, where)
    if name == "licensing_country_code" and value not in countries.valid_codes():
        raise where.error(key, f"{value!r} is not an ISO 3166 alpha-3 code")
    if name == "currency_code" and value not in currency_codes():
        raise where.error(key, f"{value!r} is not an ISO 4217 currency code")
    return value


def spec_keys(name: str) -> tuple[str, ...]:
    """Keys a column spec may have: how to read the cells depends on what the column holds."""
    if name in DATES:
        extra: tuple[str, ...] = ("format", "year")
    elif name in NUMBERS:
        extra = ("decimal", "thousands")
    elif name in LISTS:
        extra = ("split",)
    else:
        extra = ("map",)
    return ("column", "value", *extra)


def parse_labels(name: str, obj: object, key: str, where: Where) -> dict[str, str]:
    """A ``map:`` of raw labels to values, keyed by the normalised label so that case and spacing do not matter."""
    if obj is None:
        return {}
    if not isinstance(obj, dict) or not obj:
        raise where.error(key, "must map raw labels to values, e.g. {Approved: issued}")
    labels = {str(k): scalar(v, f"{key}.{k}", where) for k, v in obj.items()}
    if name in CATEGORIES:
        for label, value in labels.items():
            one_of(value, CATEGORIES[name], f"{key}.{label}", where)
    return {countries.normalise(k): v for k, v in labels.items()}


def parse_column(name: str, obj: object, where: Where) -> ColumnSpec:
    """One entry of ``columns:``: a raw column name, or a spec with column or value and how to read it."""
    key = f"columns.{name}"
    if not isinstance(obj, dict):
        return ColumnSpec(column=scalar(obj, key, where).strip())
    spec = checked_keys(obj, key, spec_keys(name), (), where)
    if ("column" in spec) == ("value" in spec) and not ("year" in spec and "value" not in spec):
        raise where.error(key, "give either column (a raw column name) or value (one value for every row)")
    text = {k: scalar(v, f"{key}.{k}", where) for k, v in spec.items() if k != "map"}
    out = ColumnSpec(
        column=text["column"].strip() if "column" in text else None,
        value=checked_constant(name, text["value"], f"{key}.value", where) if "value" in text else None,
        format=one_of(text.get("format", "ISO"), DATE_FORMATS, f"{key}.format", where),
        decimal=single_char(text.get("decimal", "."), f"{key}.decimal", where),
        thousands=single_char(text["thousands"], f"{key}.thousands", where) if "thousands" in text else None,
        year=text["year"].strip() if "year" in text else None,
        split=text.get("split"),
        map=parse_labels(name, spec.get("map"), f"{key}.map", where),
    )
    if out.thousands == out.decimal:
        raise where.error(f"{key}.thousands", "must differ from the decimal mark")
    return out


def parse_countries(obj: object, where: Where, origin: str) -> countries.CountryMapping:
    """The source's own country names (name -> ISO3 or a marker), checked by countries.parse_mapping."""
    if obj is None:
        return countries.CountryMapping(countries.over_iso({}), origin)
    if not isinstance(obj, dict):
        raise where.error("countries", "must map names to ISO3 codes or to multiple / unspecified / non_country")
    rows = []
    for name, target in obj.items():
        value = scalar(target, f"countries.{name}", where)
        kind = value if value in MARKERS else "country"
        rows.append({"name": str(name), "country_code": value if kind == "country" else "", "destination_type": kind})
    try:
        entries = countries.parse_mapping(rows, str(where.path))
    except InputError as exc:  # parse_mapping counts CSV rows; point at the YAML key instead
        raise where.error(f"countries.{rows[(exc.row or 2) - 2]['name']}", exc.message) from None
    return countries.CountryMapping(countries.over_iso(entries), origin)


def parse_spec(doc: object, where: Where, label: str) -> SourceSpec:
    """Check a parsed mapping file and resolve its defaults into one spec per canonical column."""
    top = checked_keys(doc, "", TOP_KEYS, ("file", "columns"), where)
    files = top["file"] if isinstance(top["file"], list) else [top["file"]]
    files = [scalar(f, "file", where) for f in files]
    for f in files:
        if not f.lower().endswith(XLSX_SUFFIXES + CSV_SUFFIXES):
            raise where.error("file", f"{f!r} is not a CSV or XLSX file (save older .xls files as .xlsx)")
    header_row = top.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        raise where.error("header_row", f"{header_row!r} must be a row number, 1 or more")
    if header_row != 1 and not all(f.lower().endswith(XLSX_SUFFIXES) for f in files):
        raise where.error("header_row", "applies to XLSX files only: a CSV's header must be its first line")
    encoding = scalar(top.get("encoding", "utf-8"), "encoding", where)
    try:
        "".encode(encoding)
    except LookupError:
        raise where.error("encoding", f"{encoding!r} is not an encoding Python knows") from None

    required = REQUIRED if "aggregate" not in top else tuple(c for c in REQUIRED if c != "licence_id")
    given = checked_keys(top["columns"], "columns", COLUMNS, required, where)
    columns = {name: parse_column(name, obj, where) for name, obj in given.items()}
    for key, name in DEFAULTS.items():
        if key not in top:
            continue
        value = checked_constant(name, scalar(top[key], key, where), key, where)
        if name in columns and columns[name].column is None:
            raise where.error(key, f"given twice: also as columns.{name}")
        columns[name] = replace(columns.get(name, ColumnSpec()), value=value)
    kind = columns.setdefault("licence_kind", ColumnSpec())
    if kind.value is None:  # published licences are export licences unless the mapping says otherwise
        columns["licence_kind"] = replace(kind, value="export")
    for key in ("licensing_country", "outcome", "confidence"):
        if DEFAULTS[key] not in columns:
            raise where.error(key, f"required: give one value, or a column as columns.{DEFAULTS[key]}")
    return SourceSpec(
        files=tuple(files),
        sheet=scalar(top["sheet"], "sheet", where) if "sheet" in top else None,
        header_row=header_row,
        encoding=encoding,
        delimiter=single_char(scalar(top["delimiter"], "delimiter", where), "delimiter", where)
        if "delimiter" in top
        else None,
        columns=columns,
        missing=frozenset(countries.normalise(m) for m in scalars(top.get("missing", []), "missing", where)),
        years=year_range(top.get("years", [1900, 2100]), where),
        countries=parse_countries(top.get("countries"), where, f"the countries: section of {label}"),
        citation=scalar(top["citation"], "citation", where) if "citation" in top else None,
        terms=scalar(top["terms"], "terms", where) if "terms" in top else None,
        aggregate=scalar(top["aggregate"], "aggregate", where) if "aggregate" in top else None,
    )


def contained(folder: Path, name: str, where: Where) -> Path:
    """The file a mapping names, resolved (links followed), which must lie inside the source's own folder.

    A mapping is data a researcher may have been sent: it must not make the pipeline read any file on the machine
    into the tables and reports, by an absolute path, a '..' or a link that leaves the folder.
    """
    if Path(name).is_absolute():
        raise where.error("file", f"{name!r} is an absolute path: name a file inside the source folder")
    inside = folder.resolve()
    path = (inside / name).resolve()
    if not path.is_relative_to(inside):
        how = "links to" if (folder / name).is_symlink() else "is"
        raise where.error("file", f"{name!r} {how} a file outside the source folder: name a file inside it")
    return path


def check_files(specs: list[SourceSpec], wheres: list[Where], folder: Path) -> None:
    """Every file inside the folder, and each (file, sheet) read once: a file listed twice would be read twice."""
    seen: set[tuple[Path, str | None]] = set()
    for spec, where in zip(specs, wheres, strict=True):
        for name in spec.files:
            key = (contained(folder, name, where), spec.sheet)
            if key in seen:
                what = f"{name!r}" + (f" (sheet {spec.sheet!r})" if spec.sheet else "")
                raise where.error("file", f"{what} is listed twice in the mapping: list each file once")
            seen.add(key)


def load_specs(path: Path, label: str, folder: Path) -> list[SourceSpec]:
    """Read and check the mapping file of the source ``folder``, named ``label`` in row-level messages: one spec
    per YAML document."""
    text = read_utf8(path).decode("utf-8")
    nodes = compose_bounded(text, path, TextLoader)
    try:
        docs = list(yaml.load_all(text, Loader=TextLoader))  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    wheres = [Where(path, key_lines(node)) for node in nodes]
    specs = [parse_spec(doc, where, label) for doc, where in zip(docs, wheres, strict=True)]
    if not specs:
        raise InputError(path, "file is empty")
    check_files(specs, wheres, folder)
    if len(specs) > 1:
        specs = [replace(s, sheet_in_lineage=True) for s in specs]
    return specs
