"""Researchers' own spreadsheets, read through a declarative mapping file instead of Python.

A folder ``data/raw/<source>/`` holding CSV or XLSX files and an ``exportrisk.yaml`` is a source (a registry
source may instead ship its mapping in ``metadata/mappings/<source>.yaml``). The mapping (``exportrisk.ingest.
mapping``) says how each canonical column is filled; this module reads the cells accordingly and stages rows in
canonical columns. Cells the mapping cannot read become rejects that name the raw value.
"""

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from exportrisk.errors import InputError
from exportrisk.ingest import registry
from exportrisk.ingest.mapping import (
    CATEGORIES,
    DATE_FORMATS,
    DATES,
    FLAGS,
    MAPPING_FILE,
    NUMBERS,
    ColumnSpec,
    SourceSpec,
    currency_codes,
    load_specs,
)
from exportrisk.ingest.parse import amount_shape, parse_amounts, parse_dates, per_unique, to_number
from exportrisk.ingest.rejects import mark, quote
from exportrisk.ingest.sheets import read_records
from exportrisk.ingest.sources import Staged, source_file
from exportrisk.reference import countries, pseudonyms

YEARS = (1900, 2100)
MAX_AMOUNT = 1e15  # larger amounts are typing or unit errors, not licences
# List columns and the hidden column holding the list with the declared separator as ';', for finalise to split.
LISTS = {"destination_raw": "destination_list", "control_code_raw": "control_code_list"}


def cells(raw: pd.DataFrame, col: ColumnSpec, missing: frozenset[str]) -> pd.Series:
    """The cells a canonical column is read from: blank ones, and those the mapping declares ``missing`` ("N/A"),
    take the spec's value (or are null)."""
    text = raw[col.column] if col.column else pd.Series(pd.NA, index=raw.index, dtype="string")
    blank = text.isna() | text.str.strip().eq("")
    if missing:
        blank |= per_unique(text, lambda t: countries.normalise(t) in missing).astype("boolean")
    return text.mask(blank.fillna(True), col.value).astype("string")


def relabel(text: pd.Series, col: ColumnSpec) -> pd.Series:
    """Apply the spec's map (labels compared normalised); unmapped cells pass through unchanged."""
    if not col.map:
        return text
    return per_unique(text, lambda t: col.map.get(countries.normalise(t), t)).astype("string")


def year_starts(raw: pd.DataFrame, column: str) -> pd.Series:
    """1 January of each row's year (null where the cell is not a plausible year)."""
    year = to_number(raw[column], "Float64")
    year = year.where((year % 1 == 0) & year.between(*YEARS))
    return pd.to_datetime(year.astype("Int64").astype("string") + "-01-01", format="%Y-%m-%d").astype("datetime64[ms]")


def stage_dates(
    rows: pd.DataFrame,
    name: str,
    text: pd.Series,
    col: ColumnSpec,
    column: str,
    raw: pd.DataFrame,
    spec_years: tuple[int, int] = YEARS,
) -> None:
    """Dates in the declared order; cells already in ISO form (as XLSX writes real date cells) read as ISO.

    Where the mapping names a ``year`` column, a blank date cell (or one the mapping declares ``missing``, such as
    "N/A") is read as 1 January of the row's year at year precision, the earliest the decision can be. Any other
    unreadable date is rejected: a typo is not a missing date.
    """
    declared = parse_dates(text, col.format)
    dates = declared.fillna(parse_dates(text, "ISO")).dt.normalize()
    by_year = pd.Series(False, index=rows.index)
    if col.year is not None:
        starts = year_starts(raw, col.year)
        by_year = (text.isna() & starts.notna()).astype(bool)
        dates = dates.mask(by_year, starts)
    first, last = spec_years
    implausible = dates.notna() & ~dates.dt.year.between(first, last)
    rows[name] = dates.mask(implausible)
    if name == "decision_date":
        read_as = pd.Series(col.format, index=rows.index).where(declared.notna(), "ISO")
        rows["decision_date_format"] = read_as.mask(by_year, "year")
        rows["decision_date_precision"] = pd.Series("day", index=rows.index).mask(by_year, "year")
    hint = f" cannot be read as {DATE_FORMATS[col.format]}"
    if col.year is not None:
        hint += f", and column {col.year!r} gives no year to fall back on"
        text = text.fillna(raw[col.column] if col.column else "").fillna("")
    label = name.replace("_", " ")
    years = f" reads as the year {{}}, outside {first}-{last} (declare the source's years: as [first, last])"
    mark(
        rows,
        implausible,
        "unparseable_date",
        column,
        lambda i: label + " " + quote(text[i]) + dates[i].dt.year.astype("string").map(years.format),
    )
    mark(rows, dates.isna() & text.notna(), "unparseable_date", column, lambda i: label + " " + quote(text[i]) + hint)


def stage_number(
    rows: pd.DataFrame, name: str, text: pd.Series, native: pd.Series, col: ColumnSpec, column: str
) -> None:
    """Amounts with the declared marks; cells that are real numbers in an XLSX are read as they are.

    Nothing is coerced silently: a number written with marks the mapping does not declare ('1,5'), an infinite
    or absurd one (1e309, over 10^15) is rejected, not read as 15 or infinity.
    """
    typed = text.where(~native)
    local = parse_amounts(typed, col.decimal, col.thousands).where(amount_shape(typed, col.decimal, col.thousands))
    number = local.fillna(pd.to_numeric(text.where(native), errors="coerce"))
    number = number.where(number.abs() < MAX_AMOUNT)
    if name == "item_count":
        number = number.where(number % 1 == 0)
    rows[name] = number.astype(NUMBERS[name])
    what = "a whole number" if name == "item_count" else "a number"
    marks = f" (with decimal {col.decimal!r}" + (f", thousands {col.thousands!r}" if col.thousands else "") + ")"
    hint = text.str.contains(r"\d", regex=True).fillna(False).map({True: marks, False: ""})  # for numbers only
    mark(
        rows,
        number.isna() & text.notna(),
        "unparseable_value",
        column,
        lambda i: name.replace("_", " ") + " " + quote(text[i]) + f" is not {what}" + hint[i],
    )


def stage_category(rows: pd.DataFrame, name: str, text: pd.Series, col: ColumnSpec, column: str, path: Path) -> None:
    """Outcomes or licence types a mapping cannot read are rejected; a bad licence kind or confidence is a typo."""
    values = relabel(text, col).str.strip().str.casefold()
    ok = values.isin(CATEGORIES[name]).fillna(False)
    allowed = ", ".join(CATEGORIES[name])
    rows[name] = values.where(ok)
    hint = f" is not one of {allowed}: add it to the map of columns.{name} in {MAPPING_FILE}"
    if name == "outcome":
        mark(rows, ~ok, "unknown_outcome", column, lambda i: "outcome " + quote(text[i]) + hint)
    elif name == "licence_type":  # optional: a blank cell is no type, an unknown label is not read as one
        bad = ~ok & text.notna()
        mark(rows, bad, "unknown_category", column, lambda i: "licence type " + quote(text[i]) + hint)
    elif not ok.all():
        first = ok.idxmin()
        value = "" if pd.isna(text[first]) else text[first]
        row = int(rows.at[first, "source_row"])
        raise InputError(path, f"{name} {value!r} is not one of {allowed}", row=row, column=column)


FLAG_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def stage_flag(rows: pd.DataFrame, name: str, text: pd.Series, column: str) -> None:
    """A yes/no column: true, yes or 1, false, no or 0 in any case; a blank says nothing; other text is rejected."""
    word = text.str.strip().str.casefold()
    rows[name] = word.map(FLAG_WORDS).astype("boolean")
    allowed = ", ".join(FLAG_WORDS)
    mark(
        rows,
        word.notna() & ~word.isin(list(FLAG_WORDS)).fillna(False),
        "unparseable_value",
        column,
        lambda i: name.replace("_", " ") + " " + quote(text[i]) + f" is not one of {allowed}",
    )


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
        text = cells(raw, col, spec.missing)
        column = col.column or col.year or name
        if name in DATES:
            stage_dates(rows, name, text, col, column, raw, spec.years)
        elif name in NUMBERS:
            is_native = native[col.column] if col.column else pd.Series(False, index=raw.index)
            stage_number(rows, name, text, is_native, col, column)
        elif name in CATEGORIES:
            stage_category(rows, name, text, col, column, path)
        elif name in FLAGS:
            stage_flag(rows, name, relabel(text, col), column)
        elif name == "licensing_country_code":
            stage_country(rows, relabel(text, col), column, spec.countries)
        elif name == "currency_code":
            stage_currency(rows, relabel(text, col), column)
        elif name in LISTS:  # as published; finalise splits the list, on ';' (and , / & and en) as well
            rows[name] = text
            rows[LISTS[name]] = text.str.replace(col.split, ";", regex=False) if col.split else text
        else:
            rows[name] = relabel(text, col).str.strip()
    if "control_code_raw" not in rows:  # finalise splits codes, so a source without them has an empty column
        rows["control_code_raw"] = rows["control_code_list"] = pd.Series(pd.NA, index=rows.index, dtype="string")
    if spec.aggregate is not None:  # a published total has no licence id: its place in the file is its id
        rows["licence_id"] = f"{spec.sheet or Path(lineage).stem}:" + rows["source_row"].astype("string")
    rows["source_citation"], rows["source_terms"] = spec.citation, spec.terms
    return rows


def stage_file(folder: Path, name: str, spec: SourceSpec) -> Staged:
    path = folder / name
    if not path.is_file():
        raise InputError(path, f"file named in {MAPPING_FILE} is missing")
    raw, malformed, native, counted = read_records(path, spec.sheet, spec.header_row, spec.encoding, spec.delimiter)
    for canonical, col in spec.columns.items():
        for named in (col.column, col.year):
            if named is not None and named not in raw:
                found = ", ".join(c for c in raw.columns if c != "source_row")
                message = f"column named by columns.{canonical} in {MAPPING_FILE} is missing (found: {found})"
                raise InputError(path, message, row=spec.header_row, column=named)
    lineage = source_file(folder, name) + (f"#{spec.sheet}" if spec.sheet_in_lineage and spec.sheet else "")
    rows = canonical_rows(raw, native, spec, folder.name, lineage, path)
    columns = {canonical: named for canonical, col in spec.columns.items() if (named := col.column or col.year)}
    return Staged(lineage, rows, raw, columns, malformed, counted)


FREE_TEXT = ("goods_description", "end_use_description", "end_user_name", "end_user_type")
WITHHELD = "(withheld: names a person in the Pegasus victim database)"


def reject_names(part: Staged, names: re.Pattern[str]) -> None:
    """Reject rows whose free text names a victim; the message and the kept raw row never repeat the name."""
    for canonical in FREE_TEXT:
        if canonical not in part.rows:
            continue
        hit = pseudonyms.contains_name(part.rows[canonical].astype("string"), names)
        column = part.columns.get(canonical)
        message = f"{canonical.replace('_', ' ')} names a person in the Pegasus victim database: remove the name"
        mark(part.rows, hit, "names_a_person", column, message)
        if hit.any():
            part.rows.loc[hit, canonical] = WITHHELD
            if column in part.raw:
                part.raw.loc[hit, column] = WITHHELD


def mapping_path(folder: Path) -> Path:
    """The mapping of a source folder: its own exportrisk.yaml, or the one the metadata holds for its source."""
    own = folder / MAPPING_FILE
    path = own if own.is_file() else registry.metadata_path("mappings", f"{folder.name}.yaml")
    if not path.is_file():
        raise InputError(folder, f"licence source without a reader: add metadata/mappings/{folder.name}.yaml")
    return path


def load_folder_specs(folder: Path) -> list[SourceSpec]:
    """The mapping of a source folder; a registry source's also reads its committed country-name mapping."""
    path = mapping_path(folder)
    if path.parent == folder:
        return load_specs(path, f"{folder.name}/{MAPPING_FILE}", folder)
    committed = countries.source_mapping(folder.name)
    return [
        replace(s, countries=committed._replace(entries={**committed.entries, **s.countries.entries}))
        for s in load_specs(path, registry.shown(path), folder)
    ]


def stage(folder: Path, specs: list[SourceSpec] | None = None) -> list[Staged]:
    """Stage every file the mapping of a source folder names (the mapping is read here unless given)."""
    return [stage_file(folder, name, spec) for spec in specs or load_folder_specs(folder) for name in spec.files]
