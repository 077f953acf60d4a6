"""Country names to ISO 3166 alpha-3 codes through committed, reviewed mappings, never by guessing.

Each source has its own mapping file in ``metadata/countries/<source>.csv`` (name, country_code,
destination_type, note), as Our World in Data does. A name that is in no mapping is reported as unknown,
not matched fuzzily: fuzzy matchers send "Republic of Korea" to North Korea. Exact ISO 3166 names and codes
(current and historic) are accepted too, so a researcher's mapping only lists the names ISO does not spell.
"""

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pycountry

from exportrisk.config import METADATA_DIR
from exportrisk.errors import InputError
from exportrisk.ingest import registry
from exportrisk.ingest.parse import per_unique
from exportrisk.ingest.rejects import quote

COUNTRY_DIR = METADATA_DIR / "countries"
# Codes ISO leaves to users that sources need: Kosovo (as the EU and World Bank use it).
USER_ASSIGNED = {"XKX": "Kosovo"}
LIST_SEPARATORS = re.compile(r"\s*(?:,|;|/|\+|&|\ben\b|\band\b)\s*")
VIA = re.compile(r"\s*,?\s+via\s+")


def normalise(name: str) -> str:
    """One spelling per name: Unicode NFC, case-folded, collapsed whitespace, no stray punctuation."""
    text = unicodedata.normalize("NFC", str(name)).casefold()
    return re.sub(r"\s+", " ", text).strip(" .")


@functools.cache
def valid_codes() -> dict[str, str]:
    """alpha-3 code -> English name for current and historic ISO 3166 countries, plus user-assigned ones."""
    codes = {c.alpha_3: getattr(c, "common_name", c.name) for c in pycountry.countries}
    codes.update({c.alpha_3: c.name for c in pycountry.historic_countries if c.alpha_3 not in codes})
    codes.update(USER_ASSIGNED)
    return codes


def country_name(code: str) -> str:
    return valid_codes().get(code, code)


@dataclass(frozen=True)
class Entry:
    country_code: str | None
    destination_type: str


@functools.cache
def iso_names() -> dict[str, Entry]:
    """Exact ISO names (official, common and short) and alpha-3 codes, normalised."""
    out: dict[str, Entry] = {}
    for c in pycountry.countries:
        for n in (c.alpha_3, c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)):
            if n:
                out[normalise(n)] = Entry(c.alpha_3, "country")
    for code, name in USER_ASSIGNED.items():
        out[normalise(code)] = out[normalise(name)] = Entry(code, "country")
    return out


def parse_mapping(rows: list[dict[str, str]], origin: str) -> dict[str, Entry]:
    """Check and index mapping rows; ``origin`` names the file in errors (row numbers count the header)."""
    out: dict[str, Entry] = {}
    for i, row in enumerate(rows, start=2):
        key = normalise(row.get("name") or "")
        code = (row.get("country_code") or "").strip().upper() or None
        kind = (row.get("destination_type") or "country").strip()
        if not key:
            raise InputError(origin, "empty name", row=i, column="name")
        if kind not in ("country", "multiple", "unspecified", "non_country"):
            raise InputError(origin, f"unknown destination_type {kind!r}", row=i, column="destination_type")
        if (kind == "country") != (code is not None):
            raise InputError(origin, "a country needs a code and only a country has one", row=i, column="country_code")
        if code and code not in valid_codes():
            raise InputError(origin, f"{code!r} is not an ISO 3166 alpha-3 code", row=i, column="country_code")
        entry = Entry(code, kind)
        if out.get(key, entry) != entry:
            raise InputError(origin, f"{row['name']!r} is mapped twice, differently", row=i, column="name")
        out[key] = entry
    return out


def over_iso(entries: dict[str, Entry]) -> dict[str, Entry]:
    """A source's own entries layered on top of the exact ISO names."""
    return {**iso_names(), **entries}


def read_mapping(path: Path) -> dict[str, Entry]:
    with path.open(encoding="utf-8", newline="") as fh:
        return parse_mapping(list(csv.DictReader(fh)), str(path))


@functools.cache
def _load_mapping(source: str, project: Path, stamp: int | None) -> dict[str, Entry]:
    package = COUNTRY_DIR / f"{source}.csv"
    entries = read_mapping(package) if package.exists() else {}
    if stamp is not None:
        for i, (name, entry) in enumerate(read_mapping(project).items(), start=2):
            if entries.get(name, entry) != entry:
                message = f"{name!r} is mapped differently in the package's exportrisk/metadata/countries/{source}.csv"
                raise InputError(project, message, row=i, column="name")
            entries[name] = entry
    return over_iso(entries)


def load_mapping(source: str) -> dict[str, Entry]:
    """The committed mapping of one source (the package's and the project's metadata/countries/), over ISO names."""
    project = registry.project_metadata() / "countries" / f"{source}.csv"
    return _load_mapping(source, project, project.stat().st_mtime_ns if project.is_file() else None)


class CountryMapping(NamedTuple):
    """The names a source is resolved with, and where a missing name is to be added (named in rejects)."""

    entries: dict[str, Entry]
    origin: str


def source_mapping(source: str) -> CountryMapping:
    """The committed mapping of a registry source; new names go to the package's file, or the project's for its own."""
    base = "metadata" if registry.is_project_source(source) else "exportrisk/metadata"
    return CountryMapping(load_mapping(source), f"{base}/countries/{source}.csv")


def lookup(names: pd.Series, entries: dict[str, Entry]) -> pd.DataFrame:
    """Each name's country_code and destination_type through a mapping's entries, once per distinct name; both
    null for a name the mapping does not hold (never guessed: see unknown_country)."""
    found = per_unique(names, lambda n: entries.get(normalise(n)))
    return pd.DataFrame(
        {
            "country_code": found.map(lambda e: e.country_code if e else None).astype("string"),
            "destination_type": found.map(lambda e: e.destination_type if e else None).astype("string"),
        },
        index=names.index,
    )


def unknown_country(names: pd.Series, origin: str) -> pd.Series:
    """The reject message for names no mapping holds: the name as published, and the file to add it to."""
    return "unknown country " + quote(names) + f": add it to {origin}"


def alpha3(alpha2: pd.Series) -> pd.Series:
    """ISO 3166 alpha-2 codes (any case, spaces around) as alpha-3; null where ISO has no such code."""
    codes = {c.alpha_2: c.alpha_3 for c in pycountry.countries}
    return alpha2.str.strip().str.upper().map(codes, na_action="ignore").astype("string")


def split_destination(raw: str, mapping: dict[str, Entry]) -> tuple[list[Entry], Entry | None] | None:
    """Resolve one destination cell into its destination entries and an optional transit country.

    A whole-cell mapping wins; otherwise "X via Y" names a transit country and lists ("A, B", "A en B")
    name several destinations. Returns None when any part is unknown, so nothing is guessed.
    """
    key = normalise(raw)
    if key in mapping:
        return [mapping[key]], None
    transit = None
    parts = VIA.split(key)
    if len(parts) == 2:
        transit = mapping.get(parts[1])
        if transit is None or transit.destination_type != "country":
            return None
        key = parts[0]
        if key in mapping:
            return [mapping[key]], transit
    names = [p for p in LIST_SEPARATORS.split(key) if p]
    entries = [mapping.get(p) for p in names]
    if len(names) < 2 or any(e is None for e in entries):
        return None
    return list(dict.fromkeys(entries)), transit  # type: ignore[arg-type]


def unknown_part(raw: str, mapping: dict[str, Entry]) -> str:
    """The first name of a destination cell that no mapping knows, as published (the cell if it is one name)."""
    named = VIA.split(raw.strip())
    parts = [p for cell in named for p in re.split(LIST_SEPARATORS.pattern, cell, flags=re.IGNORECASE) if p]
    if len(parts) < 2 or normalise(raw) in mapping:
        return raw.strip()
    return next((p for p in parts if normalise(p) not in mapping), raw.strip())


def resolve(raw: pd.Series, mapping: dict[str, Entry]) -> pd.DataFrame:
    """Explode destination cells into one row per destination.

    Returns ``row`` (position in ``raw``), ``destination_type``, ``destination_country_code`` and
    ``transit_country_code``; unknown cells come back with destination_type null. Work is done once per
    distinct spelling, which keeps a million rows fast.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    parts: list[tuple[int, str | None, str | None, str | None]] = []
    for u, name in enumerate(uniques):
        found = split_destination(name, mapping) if isinstance(name, str) else None
        if found is None:
            parts.append((u, None, None, None))
            continue
        entries, transit = found
        for e in entries:
            parts.append((u, e.destination_type, e.country_code, transit.country_code if transit else None))
    table = pd.DataFrame(
        parts, columns=["unique", "destination_type", "destination_country_code", "transit_country_code"]
    )
    rows = pd.DataFrame({"row": range(len(raw)), "unique": codes})
    return rows.merge(table, on="unique", how="left", sort=False).drop(columns="unique")


def suggest_mapping(names: list[str], path: Path) -> None:
    """Write a draft mapping for review: exact ISO matches filled in, the rest left blank to decide."""
    iso = iso_names()
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "country_code", "destination_type", "note"])
        for n in sorted({str(x).strip() for x in names}):
            e = iso.get(normalise(n))
            w.writerow([n, e.country_code if e else "", "country" if e else "", "" if e else "REVIEW"])
