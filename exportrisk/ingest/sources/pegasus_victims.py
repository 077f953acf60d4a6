"""Granitt's Pegasus victim database: one targeting incident per victim entry, without the victim's name.

Each row names a person (or small group) targeted with NSO Group's Pegasus, the country believed to operate
the spyware (free text: empty when unknown, sometimes several), the date the attack became public
(``disclosed``; several dates where attacks were disclosed at different times), who did forensics and
whether the attack succeeded. Strength is forensically_confirmed where someone did forensics (an attempt
traced forensically counts: it ties the operator to the target), else credible_report; the role goes
through the reviewed metadata/victim_roles.csv; an attack is successful if any attack on the entry was.

The name is replaced by a pseudonymous id (exportrisk.reference.pseudonyms) and never leaves this module: the
affiliation is dropped (it names relatives and employers: "wife of ..."), source URLs whose address names
a victim are dropped, rejects carry the raw row without either, and rows the CSV reader cannot split are
kept without their text.
"""

import csv
import functools
import re
from pathlib import Path

import pandas as pd

from exportrisk import listcols
from exportrisk.config import METADATA_DIR
from exportrisk.errors import InputError
from exportrisk.ingest.parse import per_unique
from exportrisk.ingest.rejects import mark, quote
from exportrisk.ingest.sources import Staged, read_source_csv, source_file
from exportrisk.reference import pseudonyms
from exportrisk.reference.countries import normalise
from exportrisk.schema import VICTIM_ROLE_TYPES

NAME = "pegasus-victims"
FILE = "data-pegasus-victims.csv"
ROLES = METADATA_DIR / "victim_roles.csv"
PERSONAL = ["name", "affiliation"]
VENDOR, PRODUCT = "NSO Group", "Pegasus"
ATTACK_RESULT_WORDS = re.compile(r"(?i)\b(?:attempted|successful)\b|[;\s]")
WITHHELD = "[withheld: a row that cannot be read may name a victim; see the raw file]"
# Canonical (staged) column -> raw column, for messages.
COLUMNS = {
    "evidence_id": "name",
    "victim_id": "name",
    "published_date_raw": "disclosed",
    "country_raw": "operator",
    "strength": "forensics_by",
    "victim_role_type": "role",
    "attack_result_type": "attack_result",
    "publisher": "disclosed_by",
    "source_urls": "sources",
}


@functools.cache
def load_roles(path: Path = ROLES) -> dict[str, str]:
    """The committed mapping of raw role strings (normalised) to victim_role_type."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, str] = {}
    for i, row in enumerate(rows, start=2):
        key, role = normalise(row.get("role") or ""), (row.get("victim_role_type") or "").strip()
        if not key:
            raise InputError(path, "empty role", row=i, column="role")
        if role not in VICTIM_ROLE_TYPES:
            raise InputError(path, f"{role!r} is not one of: {', '.join(VICTIM_ROLE_TYPES)}", row=i, column="role")
        if out.setdefault(key, role) != role:
            raise InputError(path, f"{row['role']!r} is mapped twice, differently", row=i, column="role")
    return out


def stage(folder: Path, key: bytes) -> tuple[Staged, re.Pattern[str]]:
    """Stage the victim entries as evidence rows, and return the pattern that finds the file's names.

    The pattern lets the caller check that nothing it writes still names a victim; rows and the raw
    frame kept for rejects are already free of names.
    """
    raw, malformed = read_source_csv(folder, FILE, [*PERSONAL, *COLUMNS.values()])
    text = raw.drop(columns="source_row").apply(lambda c: c.str.strip().replace("", pd.NA))
    pattern = pseudonyms.name_pattern(text["name"])
    victim = pseudonyms.pseudonymise(text["name"], key)
    repeat = victim.groupby(victim, dropna=False).cumcount()  # a victim with several entries: -2, -3, ...
    suffix = ("-" + (repeat + 1).astype("string")).where(repeat.gt(0), "")
    roles = per_unique(text["role"], lambda r: load_roles().get(normalise(r)))
    urls = pseudonyms.drop_naming(listcols.split(text["sources"]), pattern)
    lineage = source_file(folder, FILE)
    rows = pd.DataFrame(
        {
            "source": NAME,
            "source_file": lineage,
            "source_row": raw["source_row"],
            "evidence_id": NAME + ":" + victim + suffix,
            "kind": "targeting_incident",
            "country_raw": text["operator"],
            "country_role": "operator",
            "vendor_name": VENDOR,
            "product": PRODUCT,
            "published_date_raw": text["disclosed"],
            "strength": text["forensics_by"].notna().map({True: "forensically_confirmed", False: "credible_report"}),
            "victim_id": victim,
            "victim_role_type": roles.where(text["role"].notna(), "unknown"),
            "attack_result_type": text["attack_result"]
            .str.contains("(?i)successful")
            .map({True: "successful", False: "attempted"}),
            "publisher": text["disclosed_by"],
            "source_urls": urls,
        },
        index=raw.index,
    )
    mark(rows, victim.isna(), "missing_value", "name", "no name to derive the victim's pseudonymous id from")
    mark(
        rows,
        text["role"].notna() & roles.isna(),
        "unknown_category",
        "role",
        lambda idx: "role " + quote(text.loc[idx, "role"]) + " is not in exportrisk/metadata/victim_roles.csv: add it",
    )
    unread = text["attack_result"].str.replace(ATTACK_RESULT_WORDS, "", regex=True).fillna("").ne("")
    mark(
        rows,
        unread,
        "unknown_category",
        "attack_result",
        lambda idx: "attack result " + quote(text.loc[idx, "attack_result"]) + " is not Attempted/Successful",
    )
    mark(rows, text["sources"].notna() & urls.isna(), "missing_value", "sources", "every source URL names a victim")
    redacted = raw.drop(columns=PERSONAL).assign(sources=listcols.join(urls))
    redacted.insert(1, "victim_id", victim)
    return Staged(lineage, rows, redacted, COLUMNS, malformed.assign(text=WITHHELD)), pattern
