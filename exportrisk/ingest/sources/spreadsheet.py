"""Researchers' own spreadsheets, read through a declarative mapping file instead of Python.

A folder ``data/raw/<source>/`` holding CSV or XLSX files and an ``exportrisk.yaml`` is a source. The mapping
says which files, sheet and header row to read, which raw column (or constant) fills each canonical column and
how to read its cells (date order, decimal mark, list separator, outcome labels), and which country names the
source spells its own way. The YAML is checked strictly, because a mistyped key would otherwise drop a column
without a word; cells the mapping cannot read become rejects that name the raw value.
"""

import datetime as dt
import functools
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import openpyxl
import pandas as pd
import pycountry
import yaml
from openpyxl.utils import get_column_letter

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_csv_text, read_utf8
from exportrisk.ingest.parse import parse_amounts, parse_dates, per_unique
from exportrisk.ingest.rejects import mark, quote
from exportrisk.ingest.sources import Staged, source_file
from exportrisk.reference import countries
from exportrisk.schema import DESTINATION_TYPES, LICENCES

MAPPING_FILE = "exportrisk.yaml"
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
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
TOP_KEYS = ("file", "sheet", "header_row", "encoding", "delimiter", *DEFAULTS, "columns", "countries")
CATEGORIES = {f.name: f.categories for f in LICENCES.fields if f.name in ("outcome", "licence_kind", "confidence")}
DATES = ("decision_date", "expiry_date")
NUMBERS = {"value": "Float64", "item_count": "Int64"}
LISTS = ("destination_raw", "control_code_raw")
TEXT = (
    "licence_id",
    "goods_description",
    "end_use_description",
    "exporter_name",
    "end_user_name",
    "end_user_type",
    "refusal_criteria",
    "source_url",
)
COLUMNS = (*TEXT, *LISTS, *DATES, *NUMBERS, *CATEGORIES, "licensing_country_code", "currency_code")
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


@dataclass(frozen=True)
class Where:
    """The mapping file and the line of each key in it, so that an error points at the key."""

    path: Path
    lines: dict[str, int]

    def error(self, key: str, message: str) -> InputError:
        return InputError(self.path, f"key {key!r}: {message}", row=self.lines.get(key))


def key_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    """Line of every key in a composed YAML document, by dotted path ('columns.value.decimal' -> 12)."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            lines[name] = key.start_mark.line + 1
            lines.update(key_lines(value, name + "."))
    return lines


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
        extra: tuple[str, ...] = ("format",)
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
    if ("column" in spec) == ("value" in spec):
        raise where.error(key, "give either column (a raw column name) or value (one value for every row)")
    text = {k: scalar(v, f"{key}.{k}", where) for k, v in spec.items() if k != "map"}
    out = ColumnSpec(
        column=text["column"].strip() if "column" in text else None,
        value=checked_constant(name, text["value"], f"{key}.value", where) if "value" in text else None,
        format=one_of(text.get("format", "ISO"), DATE_FORMATS, f"{key}.format", where),
        decimal=single_char(text.get("decimal", "."), f"{key}.decimal", where),
        thousands=single_char(text["thousands"], f"{key}.thousands", where) if "thousands" in text else None,
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


def parse_spec(doc: object, where: Where, source: str) -> SourceSpec:
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

    given = checked_keys(top["columns"], "columns", COLUMNS, REQUIRED, where)
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
        countries=parse_countries(top.get("countries"), where, f"the countries: section of {source}/{MAPPING_FILE}"),
    )


def load_spec(folder: Path) -> SourceSpec:
    """Read and check the mapping file of a source folder."""
    path = folder / MAPPING_FILE
    text = read_utf8(path).decode("utf-8")
    try:
        doc = yaml.load(text, Loader=TextLoader)  # a SafeLoader subclass: no arbitrary objects
        lines = key_lines(yaml.compose(text, Loader=TextLoader))
    except yaml.YAMLError as exc:
        problem_mark = getattr(exc, "problem_mark", None)
        row = problem_mark.line + 1 if problem_mark else None
        raise InputError(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", row=row) from None
    return parse_spec(doc, Where(path, lines), folder.name)


def cell_text(value: object) -> str:
    """An XLSX cell as text: real dates as ISO dates, whole numbers without '.0', empty cells as ''."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(path: Path, sheet: str | None, header_row: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read one sheet like read_csv_text reads a CSV, numbering rows as the sheet does.

    Rows above ``header_row`` (titles, notes) are skipped and empty rows are not records. A row with values
    right of the header's last column is malformed, as a CSV row with extra fields is. Also returns which
    cells held real numbers, since those must not be read with the source's decimal mark.
    """
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputError(path, f"not a readable XLSX workbook ({exc})") from None
    if sheet is not None and sheet not in book.sheetnames:
        raise InputError(path, f"no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    cells = pd.DataFrame(list(ws.iter_rows(min_row=header_row, values_only=True)), dtype=object)
    text = cells.map(cell_text)
    header = [h.strip() for h in text.iloc[0]] if len(text) else []
    width = max((i + 1 for i, h in enumerate(header) if h), default=0)
    if width == 0:
        raise InputError(path, f"no header in sheet {ws.title!r} (set header_row)", row=header_row)
    names = [h or f"column {get_column_letter(i + 1)}" for i, h in enumerate(header[:width])]
    if len(set(names)) < len(names):
        dupe = next(n for n in names if names.count(n) > 1)
        raise InputError(path, "duplicate column name in the header", row=header_row, column=dupe)
    body, numbers = text.iloc[1:], cells.iloc[1:].map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    filled = body.ne("")
    record = filled.any(axis=1)
    extra = record & filled.iloc[:, width:].any(axis=1)
    if not record.any():
        raise InputError(path, "file has a header but no data rows", row=header_row)
    source_row = pd.array(body.index + header_row, dtype="Int64")
    used = filled[extra].iloc[:, ::-1].idxmax(axis=1) + 1  # position of the last filled cell
    malformed = pd.DataFrame(
        {
            "source_row": source_row[extra.to_numpy()],
            "message": [f"has {n} cells where the header has {width}" for n in used],
            "text": ["\t".join(row[:n]) for row, n in zip(body[extra].to_numpy().tolist(), used, strict=True)],
        }
    )
    keep = (record & ~extra).to_numpy()
    frame = body.loc[keep, : width - 1].set_axis(names, axis=1).reset_index(drop=True)
    frame.insert(0, "source_row", source_row[keep])
    native = numbers.loc[keep, : width - 1].set_axis(names, axis=1).reset_index(drop=True)
    return frame.astype({n: "string" for n in names}), malformed, native


def read_table(path: Path, spec: SourceSpec) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of one file as text with ``source_row``, its malformed rows, and which cells are real numbers."""
    if not path.is_file():
        raise InputError(path, f"file named in {MAPPING_FILE} is missing")
    if path.suffix.lower() in XLSX_SUFFIXES:
        return read_xlsx(path, spec.sheet, spec.header_row)
    try:
        frame, malformed = read_csv_text(path, spec.encoding, spec.delimiter)
    except UnicodeDecodeError as exc:
        row = exc.object[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not valid {spec.encoding} (byte 0x{exc.object[exc.start]:02x})", row=row) from None
    return frame, malformed, pd.DataFrame(False, index=frame.index, columns=frame.columns)


def cells(raw: pd.DataFrame, col: ColumnSpec) -> pd.Series:
    """The cells a canonical column is read from: blank ones take the spec's value (or are null)."""
    text = raw[col.column] if col.column else pd.Series(pd.NA, index=raw.index, dtype="string")
    blank = text.isna() | text.str.strip().eq("")
    return text.mask(blank.fillna(True), col.value).astype("string")


def relabel(text: pd.Series, col: ColumnSpec) -> pd.Series:
    """Apply the spec's map (labels compared normalised); unmapped cells pass through unchanged."""
    if not col.map:
        return text
    return per_unique(text, lambda t: col.map.get(countries.normalise(t), t)).astype("string")


def stage_dates(rows: pd.DataFrame, name: str, text: pd.Series, col: ColumnSpec, column: str) -> None:
    """Dates in the declared order; cells already in ISO form (as XLSX writes real dates) read as ISO."""
    declared = parse_dates(text, col.format)
    dates = declared.fillna(parse_dates(text, "ISO")).dt.normalize()
    rows[name] = dates
    if name == "decision_date":
        rows["decision_date_format"] = pd.Series(col.format, index=rows.index).where(declared.notna(), "ISO")
    hint = f" cannot be read as {DATE_FORMATS[col.format]}"
    label = name.replace("_", " ")
    mark(rows, dates.isna() & text.notna(), "unparseable_date", column, lambda i: label + " " + quote(text[i]) + hint)


def stage_number(
    rows: pd.DataFrame, name: str, text: pd.Series, native: pd.Series, col: ColumnSpec, column: str
) -> None:
    """Amounts with the declared marks; cells that are real numbers in an XLSX are read as they are."""
    local = parse_amounts(text.where(~native), col.decimal, col.thousands)
    number = local.fillna(pd.to_numeric(text.where(native), errors="coerce"))
    if name == "item_count":
        number = number.where(number % 1 == 0)
    rows[name] = number.astype(NUMBERS[name])
    what = "a whole number" if name == "item_count" else "a number"
    mark(
        rows,
        number.isna() & text.notna(),
        "unparseable_value",
        column,
        lambda i: name.replace("_", " ") + " " + quote(text[i]) + f" is not {what}",
    )


def stage_category(rows: pd.DataFrame, name: str, text: pd.Series, col: ColumnSpec, column: str, path: Path) -> None:
    """Outcomes a mapping cannot read are rejected; a bad licence kind or confidence is a fatal typo."""
    values = relabel(text, col).str.strip().str.casefold()
    ok = values.isin(CATEGORIES[name]).fillna(False)
    allowed = ", ".join(CATEGORIES[name])
    rows[name] = values.where(ok)
    if name == "outcome":
        hint = f" is not one of {allowed}: add it to the map of columns.outcome in {MAPPING_FILE}"
        mark(rows, ~ok, "unknown_outcome", column, lambda i: "outcome " + quote(text[i]) + hint)
    elif not ok.all():
        first = ok.idxmin()
        value = "" if pd.isna(text[first]) else text[first]
        row = int(rows.at[first, "source_row"])
        raise InputError(path, f"{name} {value!r} is not one of {allowed}", row=row, column=column)


def stage_country(rows: pd.DataFrame, text: pd.Series, column: str, names: countries.CountryMapping) -> None:
    """The licensing state, by the same names as destinations; a marker (several, unknown) is no state."""
    entries = names.entries
    code = per_unique(text, lambda t: getattr(entries.get(countries.normalise(t)), "country_code", None))
    rows["licensing_country_code"] = code.astype("string")
    mark(rows, text.isna(), "missing_value", column, "no licensing country")
    hint = f": add it to {names.origin}"
    mark(rows, code.isna(), "unknown_country", column, lambda i: "unknown licensing country " + quote(text[i]) + hint)


def stage_currency(rows: pd.DataFrame, text: pd.Series, column: str) -> None:
    code = text.str.strip().str.upper()
    bad = code.notna() & ~code.isin(currency_codes())
    rows["currency_code"] = code.where(~bad)
    mark(rows, bad, "unparseable_value", column, lambda i: "currency " + quote(text[i]) + " is not an ISO 4217 code")


def canonical_rows(
    raw: pd.DataFrame, native: pd.DataFrame, spec: SourceSpec, source: str, lineage: str, path: Path
) -> pd.DataFrame:
    """Staged rows in canonical columns, each column read as the mapping says; unreadable cells marked."""
    rows = pd.DataFrame(
        {"source": source, "source_file": lineage, "source_row": raw["source_row"]},
        index=raw.index,
    )
    for name, col in spec.columns.items():
        text = cells(raw, col)
        column = col.column or name
        if name in DATES:
            stage_dates(rows, name, text, col, column)
        elif name in NUMBERS:
            is_native = native[col.column] if col.column else pd.Series(False, index=raw.index)
            stage_number(rows, name, text, is_native, col, column)
        elif name in CATEGORIES:
            stage_category(rows, name, text, col, column, path)
        elif name == "licensing_country_code":
            stage_country(rows, relabel(text, col), column, spec.countries)
        elif name == "currency_code":
            stage_currency(rows, relabel(text, col), column)
        elif col.split:  # finalise splits lists on ';' (and , / & and en): write the declared separator as ';'
            rows[name] = text.str.replace(col.split, ";", regex=False)
        else:
            rows[name] = relabel(text, col)
    if "control_code_raw" not in rows:  # finalise splits codes, so a source without them has an empty column
        rows["control_code_raw"] = pd.Series(pd.NA, index=rows.index, dtype="string")
    return rows


def stage_file(folder: Path, name: str, spec: SourceSpec) -> Staged:
    path = folder / name
    raw, malformed, native = read_table(path, spec)
    for canonical, col in spec.columns.items():
        if col.column is not None and col.column not in raw:
            found = ", ".join(c for c in raw.columns if c != "source_row")
            message = f"column named by columns.{canonical} in {MAPPING_FILE} is missing (found: {found})"
            raise InputError(path, message, row=spec.header_row, column=col.column)
    rows = canonical_rows(raw, native, spec, folder.name, source_file(folder, name), path)
    columns = {canonical: col.column for canonical, col in spec.columns.items() if col.column}
    return Staged(source_file(folder, name), rows, raw, columns, malformed)


def stage(folder: Path, spec: SourceSpec | None = None) -> list[Staged]:
    """Stage every file a source folder's mapping names (the mapping is read here unless given)."""
    spec = spec or load_spec(folder)
    return [stage_file(folder, name, spec) for name in spec.files]
