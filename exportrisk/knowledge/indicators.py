"""Country indicators (PTS, Freedom House, any other index) into one long table, and what was known when.

A source is declared, not coded: ``metadata/indicators/<source>.yaml`` names its indicators (scale, direction,
labels), the raw values that mean "no value", how to date each value and how to read each file; the source
registry lists it with ``kind: indicators``. Files in the ordinary long layout (a row per country and year, a
column per indicator) need nothing more; an unusual layout names a reader in ``LAYOUTS``. Every value cell is
a record and ends in indicators.parquet or in rejects with a reason.

``indicators_as_of`` answers the scoring question "what did the indices say before this date?", using each
value only from the day it became public (a recorded release date, or a documented conservative lag).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pandas as pd
import yaml

from exportrisk.config import METADATA_DIR
from exportrisk.errors import InputError
from exportrisk.ingest import registry
from exportrisk.ingest.files import read_csv_text
from exportrisk.ingest.parse import per_unique, to_number
from exportrisk.ingest.rejects import malformed_rejects, mark, quote
from exportrisk.ingest.sheets import XLSX_SUFFIXES, read_xlsx
from exportrisk.ingest.sources import freedomhouse, require_columns, source_file
from exportrisk.ingest.staged import StepResult
from exportrisk.reference import countries
from exportrisk.schema import INDICATORS, REJECTS, conform

SPEC_DIR = METADATA_DIR / "indicators"
RELEASES = SPEC_DIR / "releases.csv"
KEY = ["country_code", "indicator_code", "year", "edition"]
SPLIT = re.compile(r"(.+?)\s*\((.+)\)")  # "2(5)", "F (NF)": two published values in one cell
COUNTRY_REASONS = ("unknown_country", "not_a_country", "ambiguous_country")
MAX_YEARS_BEHIND = 2
VALUE_COLUMNS = [
    "value",
    "scale_min",
    "scale_max",
    "is_higher_worse",
    "year",
    "edition",
    "published_date",
    "published_date_basis",
    "source",
]


@dataclass(frozen=True)
class Indicator:
    code: str
    title: str
    scale_min: float
    scale_max: float
    is_higher_worse: bool
    labels: dict[str, float] = field(default_factory=dict)  # published text -> value, e.g. F/PF/NF -> 1/2/3


@dataclass(frozen=True)
class FileSpec:
    """How to read one raw file (see metadata/indicators/*.yaml)."""

    file: str
    values: dict[str, str]  # indicator code -> raw column (its header, or a wide layout's rating label)
    layout: str = "long"
    encoding: str = "utf-8"
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    header_row: int = 1
    country: str = ""
    year: dict = field(default_factory=dict)  # {column, offset}: the year covered
    edition: dict = field(default_factory=dict)  # {column} or {value}
    missing_status: dict = field(default_factory=dict)  # {columns: {value column: status column}, meanings}
    split_cells: str | None = None  # "worse": read "2(5)" as the worse of its two values


@dataclass(frozen=True)
class IndicatorSpec:
    source: str
    indicators: dict[str, Indicator]
    missing: dict[str, str]  # raw value -> what it means
    lag: tuple[int, int, int]  # a value for year Y is public from (Y + years_after, month, day)
    files: tuple[FileSpec, ...]  # in order of precedence


@dataclass
class RawCells:
    """The value cells of one raw file, before any check: what every reader returns.

    ``cells`` columns: source_row, source_column, country_raw, indicator_code, value_text, year (the year
    covered), edition, period_raw, raw_values (the raw record as JSON), missing_note (why a value is missing,
    where the source says). ``records`` is counted from the raw file, for reconciliation.
    """

    cells: pd.DataFrame
    country_column: str
    records: int
    malformed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["source_row", "message", "text"]))


def spec_mapping(obj: object, allowed: set[str], where: str, path: Path, required: set[str] | None = None) -> dict:
    """A YAML mapping of a spec or config with only known keys and all required ones: a typo must stop the run,
    not drop a column. (Mappings of sources, which report lines, use exportrisk.ingest.mapping.checked_keys.)"""
    if not isinstance(obj, dict):
        raise InputError(path, f"{where} must be a mapping")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InputError(path, f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed))})")
    missing = sorted((allowed if required is None else required) - set(obj))
    if missing:
        raise InputError(path, f"{where} needs {missing[0]!r}")
    return obj


def _file_spec(entry: object, where: str, path: Path, indicators: dict[str, Indicator]) -> FileSpec:
    entry = spec_mapping(entry, {f.name for f in fields(FileSpec)}, where, path, {"file", "values"})
    fs = FileSpec(**entry)
    if fs.layout not in LAYOUTS:
        raise InputError(path, f"{where}: unknown layout {fs.layout!r} (known: {', '.join(LAYOUTS)})")
    undeclared = sorted(set(fs.values) - set(indicators))
    if undeclared:
        raise InputError(path, f"{where} reads undeclared indicator {undeclared[0]!r}")
    if fs.layout == "long":
        spec_mapping(entry, set(entry), where, path, {"country", "year", "edition"})
        spec_mapping(fs.year, {"column", "offset"}, f"{where}.year", path, {"column"})
        if len(spec_mapping(fs.edition, {"column", "value"}, f"{where}.edition", path, set())) != 1:
            raise InputError(path, f"{where}.edition needs either 'column' or 'value'")
    return replace(fs, sheets=tuple(fs.sheets))


def load_spec(path: Path, source: str) -> IndicatorSpec:
    """Read and check one source's indicator mapping."""
    if not path.is_file():
        raise InputError(path, f"indicator source {source!r} has no mapping file")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML: {exc}") from None
    doc = spec_mapping(
        doc, {"indicators", "missing", "published", "files"}, "the mapping", path, {"indicators", "files"}
    )
    indicators = {}
    for code, entry in doc["indicators"].items():
        needed = {"title", "scale", "higher_is_worse"}
        e = spec_mapping(entry, {*needed, "labels"}, f"indicator {code!r}", path, needed)
        low, high = e["scale"]
        labels = {str(k): float(v) for k, v in (e.get("labels") or {}).items()}
        indicators[code] = Indicator(code, e["title"], float(low), float(high), bool(e["higher_is_worse"]), labels)
    published = spec_mapping(doc.get("published"), {"lag"}, "published", path)
    lag = spec_mapping(published["lag"], {"years_after", "month", "day"}, "published.lag", path)
    files = [_file_spec(entry, f"files[{i}]", path, indicators) for i, entry in enumerate(doc["files"])]
    missing = {str(k): str(v) for k, v in (doc.get("missing") or {}).items()}
    return IndicatorSpec(source, indicators, missing, (lag["years_after"], lag["month"], lag["day"]), tuple(files))


def load_releases(path: Path = RELEASES) -> pd.DataFrame:
    """Recorded release dates: source, edition, published_date, note."""
    table = pd.read_csv(path, dtype="string", keep_default_na=False)
    table["published_date"] = pd.to_datetime(table["published_date"], format="%Y-%m-%d").astype("datetime64[ms]")
    if table.duplicated(["source", "edition"]).any():
        raise InputError(path, "an edition has two release dates")
    return table


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise InputError(path, "file is missing: run `exportrisk fetch` or restore it")


def read_long(folder: Path, fs: FileSpec) -> RawCells:
    """A row per country and year, a column per indicator: a CSV in any encoding, or one XLSX sheet."""
    path = folder / fs.file
    _require_file(path)
    if path.suffix.lower() in XLSX_SUFFIXES:
        frame, malformed, _, _ = read_xlsx(path, fs.sheet, fs.header_row)
    else:
        frame, malformed = read_csv_text(path, fs.encoding)
    status = fs.missing_status.get("columns", {})
    meanings = {str(k): str(v) for k, v in fs.missing_status.get("meanings", {}).items()}
    edition_column = fs.edition.get("column")
    required = [fs.country, fs.year["column"], *([edition_column] if edition_column else []), *fs.values.values()]
    require_columns(frame, path, required + list(status.values()))
    raw = frame.drop(columns="source_row").to_dict(orient="records")
    raw_values = pd.Series([json.dumps(r, ensure_ascii=False) for r in raw], index=frame.index, dtype="string")
    year_text = frame[fs.year["column"]]
    year = to_number(year_text, "Int64") + int(fs.year.get("offset", 0))
    edition = frame[edition_column].str.strip() if edition_column else str(fs.edition["value"])
    parts = [
        pd.DataFrame(
            {
                "source_row": frame["source_row"],
                "source_column": column,
                "country_raw": frame[fs.country],
                "indicator_code": code,
                "value_text": frame[column],
                "year": year,
                "year_text": year_text,
                "edition": edition,
                "period_raw": pd.Series(pd.NA, index=frame.index, dtype="string"),
                "raw_values": raw_values,
                "missing_note": frame[status[column]].str.strip().map(meanings) if column in status else pd.NA,
            }
        )
        for code, column in fs.values.items()
    ]
    cells = pd.concat(parts, ignore_index=True).astype({"missing_note": "string"})
    message = "year " + quote(cells["year_text"]) + " is not a year"
    mark(cells, cells["year"].isna(), "unparseable_value", fs.year["column"], message)
    return RawCells(
        cells.drop(columns="year_text"), fs.country, len(frame) * len(fs.values) + len(malformed), malformed
    )


def read_freedomhouse_ratings(folder: Path, fs: FileSpec) -> RawCells:
    """Freedom House's wide 1973-2024 ratings workbook (exportrisk.ingest.sources.freedomhouse)."""
    path = folder / fs.file
    _require_file(path)
    cells, records = freedomhouse.read_ratings(path, fs.sheets, fs.values)
    return RawCells(cells.assign(missing_note=pd.NA).astype({"missing_note": "string"}), freedomhouse.NAMES, records)


LAYOUTS: dict[str, Callable[[Path, FileSpec], RawCells]] = {
    "long": read_long,
    "freedomhouse_ratings": read_freedomhouse_ratings,
}


def read_number(text: str, indicator: Indicator, split_worse: bool) -> float | None:
    """One published value as a number: a label, a plain number, or with ``split_worse`` the worse of 'a(b)'."""
    parts = SPLIT.fullmatch(text) if split_worse else None
    if parts:
        values = [v for p in parts.groups() if (v := read_number(p.strip(), indicator, False)) is not None]
        if len(values) < 2:
            return None
        return max(values) if indicator.is_higher_worse else min(values)
    if indicator.labels:
        return indicator.labels.get(text)
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_values(cells: pd.DataFrame, spec: IndicatorSpec, split_worse: bool) -> pd.Series:
    """Every cell's value as a number (null where unreadable), once per distinct text and indicator."""
    text = cells["value_text"].str.strip()
    value = pd.Series(pd.NA, index=cells.index, dtype="Float64")
    for code, indicator in spec.indicators.items():
        rows = cells["indicator_code"] == code
        if rows.any():
            read = per_unique(text[rows], functools.partial(read_number, indicator=indicator, split_worse=split_worse))
            value[rows] = read.astype("Float64")
    return value


def stage(raw: RawCells, spec: IndicatorSpec, fs: FileSpec, releases: pd.DataFrame) -> pd.DataFrame:
    """Check one file's cells and give them country codes, values, scales and publication dates.

    Rejects are marked, first reason wins: the country (unknown, or not a state), a missing value (with the
    source's reason), an unreadable or out-of-scale value. Value rejects name the value's own column.
    """
    out = raw.cells.copy()
    names = out["country_raw"]
    mapping, origin = countries.source_mapping(spec.source)
    found = countries.lookup(names, mapping)
    kind, out["country_code"] = found["destination_type"], found["country_code"]
    out["country_column"] = raw.country_column
    mark(out, kind.isna(), "unknown_country", None, countries.unknown_country(names, origin))
    message = quote(names) + " is mapped as " + kind + f" in {origin}: a territory or entity, not a state"
    mark(out, kind.ne("country"), "not_a_country", None, message)

    text = out["value_text"].str.strip()
    meaning = text.map(spec.missing).fillna("blank cell")
    missing = text.eq("") | text.isin(list(spec.missing))
    message = "value " + quote(text) + ": " + meaning + ("; " + out["missing_note"]).fillna("")
    mark(out, missing, "not_rated", None, message)
    out["value"] = read_values(out, spec, fs.split_cells == "worse")
    out["value_raw"] = out["value_text"]
    labels = out["indicator_code"].map({c: ", ".join(i.labels) or "a number" for c, i in spec.indicators.items()})
    mark(out, out["value"].isna(), "unparseable_value", None, "value " + quote(text) + " is not " + labels)
    for name in ("scale_min", "scale_max", "is_higher_worse"):
        out[name] = out["indicator_code"].map({c: getattr(i, name) for c, i in spec.indicators.items()})
    outside = (out["value"] < out["scale_min"]) | (out["value"] > out["scale_max"])
    scale = out["indicator_code"].map({c: f"{i.scale_min:g} to {i.scale_max:g}" for c, i in spec.indicators.items()})
    mark(out, outside, "out_of_range", None, "value " + quote(text) + " is outside the scale " + scale)

    recorded = releases[releases["source"] == spec.source].set_index("edition")["published_date"]
    out["published_date"] = recorded.reindex(out["edition"].to_numpy()).set_axis(out.index)
    too_early = out["published_date"].dt.year <= out["year"]
    if too_early.any():
        bad = out[too_early].iloc[0]
        raise InputError(
            RELEASES, f"{spec.source} edition {bad['edition']} is dated before the year {bad['year']} ends"
        )
    out["published_date_basis"] = out["published_date"].notna().map({True: "release_date", False: "conservative_lag"})
    years_after, month, day = spec.lag
    lag_text = (out["year"] + years_after).astype("string") + f"-{month:02d}-{day:02d}"
    lag = pd.to_datetime(lag_text, format="%Y-%m-%d", errors="coerce").astype("datetime64[ms]")
    out["published_date"] = out["published_date"].fillna(lag)
    return out


def resolve_duplicates(staged: pd.DataFrame, files: list[str]) -> None:
    """Keep one record per country, indicator, year and edition (marks the others).

    Across files the earlier file in the mapping wins and the others are superseded (Freedom House's two
    workbooks overlap for the 2013-2024 editions). Within one file two records for one key come from two
    names mapped to one code (PTS codes both Yugoslavias in 1991-1992): both are rejected, as picking one
    would be a guess.
    """
    ok = staged[staged["reject_reason"].isna()]
    groups = [ok[k] for k in KEY]
    rank = ok["source_file"].map({f: i for i, f in enumerate(files)})
    top = ok[rank == rank.groupby(groups).transform("min")]
    twins = top[top.duplicated(KEY, keep=False)]
    if len(twins):
        named = "row " + twins["source_row"].astype("string") + " " + quote(twins["country_raw"].str.strip())
        listed = named.groupby([twins[k] for k in KEY]).transform(lambda s: ", ".join(s))
        message = "several records of this file give " + twins["country_code"] + " this year and edition: " + listed
        mark(staged, staged.index.isin(twins.index), "ambiguous_country", None, message)
    winners = top.drop_duplicates(KEY)[[*KEY, "source_file", "source_row", "source_column", "value_text"]]
    losers = ok[~ok.index.isin(top.index)].reset_index().merge(winners, on=KEY, suffixes=("", "_kept"))
    losers = losers.set_index("index")
    same = losers["value_text"].str.strip() == losers["value_text_kept"].str.strip()
    detail = (", with value " + quote(losers["value_text_kept"])).where(~same, ", with the same value")
    row = losers["source_row_kept"].astype("string")
    where = losers["source_file_kept"] + " row " + row + " column " + quote(losers["source_column_kept"])
    message = "the same record is in " + where + detail
    mark(staged, staged.index.isin(losers.index), "superseded", None, message)


def rejected(staged: pd.DataFrame, source: str) -> pd.DataFrame:
    """The rejected cells as rejects: country reasons name the country column, the others the value's."""
    bad = staged[staged["reject_reason"].notna()]
    column = bad["reject_column"].mask(bad["reject_reason"].isin(COUNTRY_REASONS), bad["country_column"])
    out = pd.DataFrame(
        {
            "source": source,
            "source_file": bad["source_file"],
            "source_row": bad["source_row"],
            "source_column": bad["source_column"],
            "table": "indicators",
            "reason_code": bad["reject_reason"],
            "column_name": column.fillna(bad["source_column"]),
            "message": bad["reject_message"],
            "raw_values": bad["raw_values"],
        }
    )
    return conform(out, REJECTS)


def build_source(
    folder: Path, spec: IndicatorSpec, releases: pd.DataFrame
) -> tuple[pd.DataFrame, list[pd.DataFrame], dict[str, int]]:
    """One source's indicator rows, rejects and raw record counts per file."""
    staged, rejects, records = [], [], {}
    for fs in spec.files:
        raw = LAYOUTS[fs.layout](folder, fs)
        lineage = source_file(folder, fs.file)
        staged.append(stage(raw, spec, fs, releases).assign(source=spec.source, source_file=lineage))
        records[lineage] = raw.records
        if len(raw.malformed):
            rejects.append(malformed_rejects(raw.malformed, spec.source, lineage, "indicators"))
    cells = pd.concat(staged, ignore_index=True)
    resolve_duplicates(cells, list(records))
    rejects.append(rejected(cells, spec.source))
    return conform(cells[cells["reject_reason"].isna()], INDICATORS), rejects, records


def build(raw_dir: Path, specs: dict[str, IndicatorSpec], releases: pd.DataFrame) -> StepResult:
    """All indicator sources found under ``raw_dir``; sources without a folder are skipped."""
    codes = [c for spec in specs.values() for c in spec.indicators]
    if len(set(codes)) < len(codes):
        raise InputError(SPEC_DIR, f"indicator {next(c for c in codes if codes.count(c) > 1)!r} is declared twice")
    out = StepResult()
    tables = [INDICATORS.empty()]
    for name, spec in sorted(specs.items()):
        folder = raw_dir / name
        if not folder.is_dir():
            out.skipped.append(name)
            continue
        table, rejects, records = build_source(folder, spec, releases)
        tables.append(table)
        out.rejects += rejects
        out.raw_rows.update(records)
    out.tables["indicators"] = pd.concat(tables, ignore_index=True).sort_values(KEY, ignore_index=True)
    return out


def spec_for(source: str) -> IndicatorSpec:
    """A registered indicator source's spec, from the package's metadata or the project's (registry.metadata_path)."""
    return load_spec(registry.metadata_path("indicators", f"{source}.yaml"), source)


def indicator_specs() -> dict[str, IndicatorSpec]:
    """The spec of every registered indicator source."""
    return {s.name: spec_for(s.name) for s in registry.sources().values() if s.kind == "indicators"}


def clean_indicators(raw_dir: Path, _today: pd.Timestamp) -> StepResult:
    """The cleaning step: every registered indicator source, read through its mapping."""
    return build(raw_dir, indicator_specs(), load_releases())


def indicators_as_of_many(
    indicators: pd.DataFrame, queries: pd.DataFrame, max_years_behind: int = MAX_YEARS_BEHIND
) -> pd.DataFrame:
    """Per query (``country_code``, ``date``) and indicator: the latest value public strictly before the date.

    "Latest" is the last published (then the latest year covered). A value is carried forward while its year
    is at most ``max_years_behind`` years behind the newest year of that indicator public at the date (for
    any country); a value behind at all is flagged ``is_stale``. A later edition is never used. Returns the
    queries' columns with one row per indicator found (queries with none found are absent), plus
    ``years_behind`` and ``is_stale``. Vectorised: each distinct (country, date) pair is looked up once.
    """
    asked = queries.assign(date=pd.to_datetime(queries["date"]).astype("datetime64[ms]"))
    asked["country_code"] = asked["country_code"].astype("string")
    indicators = indicators.astype({"country_code": "string", "indicator_code": "string"})
    pairs = asked[["country_code", "date"]].dropna().drop_duplicates()
    codes = pd.DataFrame({"indicator_code": indicators["indicator_code"].drop_duplicates().sort_values()})
    grid = pairs.merge(codes, how="cross").sort_values("date", kind="stable")
    values = indicators.sort_values(["published_date", "year"], kind="stable")
    values = values.drop_duplicates(["country_code", "indicator_code", "published_date"], keep="last")
    by = ["country_code", "indicator_code"]
    if grid.empty or values.empty:  # nothing to find (an offline project has no indicators); merge_asof needs rows
        none = values[["indicator_code", *VALUE_COLUMNS]].iloc[:0].reset_index(drop=True)
        flags = {"years_behind": pd.Series(dtype="Int64"), "is_stale": pd.Series(dtype="boolean")}
        return pd.concat([asked.iloc[:0].reset_index(drop=True), none.assign(**flags)], axis=1)
    found = pd.merge_asof(
        grid, values[[*by, *VALUE_COLUMNS]], left_on="date", right_on="published_date", by=by, allow_exact_matches=False
    ).dropna(subset=["published_date"])
    newest = indicators.groupby(["indicator_code", "published_date"], as_index=False)["year"].max()
    newest["newest_year"] = newest.groupby("indicator_code")["year"].cummax()
    newest = newest.rename(columns={"published_date": "newest_date"}).drop(columns="year")
    found = pd.merge_asof(
        found,  # still in date order
        newest.sort_values("newest_date"),
        left_on="date",
        right_on="newest_date",
        by="indicator_code",
        allow_exact_matches=False,
    )
    found["years_behind"] = (found["newest_year"] - found["year"]).astype("Int64")
    found = found[found["years_behind"] <= max_years_behind].drop(columns=["newest_date", "newest_year"])
    found["is_stale"] = (found["years_behind"] > 0).astype("boolean")
    return asked.merge(found, on=["country_code", "date"], how="inner")  # in query order, then indicator


def indicators_as_of(indicators: pd.DataFrame, date: object) -> pd.DataFrame:
    """Per country and indicator, what was public strictly before ``date`` (see indicators_as_of_many)."""
    queries = pd.DataFrame({"country_code": indicators["country_code"].drop_duplicates(), "date": pd.Timestamp(date)})
    return indicators_as_of_many(indicators, queries)
