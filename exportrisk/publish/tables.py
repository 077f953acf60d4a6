"""What of the processed tables is published: everything but the victim database's entries.

The Pegasus victim database is personal data of people at risk (and CC BY-NC-SA, which the other sources are
not). Its entries are left out of the published evidence table, the victim_id column with them; scores cite
victim entries only by count; a reject of the database keeps its reason but not its raw row (which holds a
victim's id). So the export never refuses because of the victims: it leaves them out, then checks, as the
reports do, that no cell it would write names a victim or shows a victim's id, and refuses if one does.
"""

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from exportrisk import listcols
from exportrisk.errors import InputError
from exportrisk.ingest.files import read_table
from exportrisk.ingest.sources import pegasus_victims
from exportrisk.reference import pseudonyms
from exportrisk.schema import TABLES, Table

# In order: the licences and what cleaning set aside, the knowledge they are scored with, the scores.
PUBLISHED = ("licences", "rejects", "indicators", "evidence", "entities", "relations", "scores", "score_lines")
PERSONAL_SOURCES = (pegasus_victims.NAME,)
WITHHELD_COLUMNS = {"evidence": ("victim_id",)}
WITHHELD_RAW = '{"withheld": "personal data of the victim database"}'


def published_schema(name: str) -> Table:
    """The declared table as published: less its withheld columns, its description saying what is left out."""
    table = TABLES[name]
    withheld = WITHHELD_COLUMNS.get(name, ())
    note = {
        "evidence": " Published without the entries of the Pegasus victim database (personal data of people at "
        "risk): see the source itself, under its own terms.",
        "rejects": " raw_values of rejected victim-database rows is withheld.",
        "scores": " Victim entries among evidence_ids are only counted ('2 victim entries').",
        "score_lines": " Victim entries among evidence_ids are only counted ('2 victim entries').",
    }.get(name, "")
    fields = tuple(f for f in table.fields if f.name not in withheld)
    return replace(table, description=table.description + note, fields=fields)


def publishable(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """One processed table as it may be published (see the module's docstring)."""
    out = frame
    if name == "evidence":
        personal = out["source"].isin(PERSONAL_SOURCES) | out["victim_id"].notna()
        out = out[~personal]
    if name in ("scores", "score_lines"):
        out = out.assign(evidence_ids=pseudonyms.public_evidence_ids(out["evidence_ids"]))
    if name == "rejects":
        out = out.assign(raw_values=out["raw_values"].mask(out["source"].isin(PERSONAL_SOURCES), WITHHELD_RAW))
    return out.drop(columns=list(WITHHELD_COLUMNS.get(name, ()))).reset_index(drop=True)


def check_publishable(name: str, frame: pd.DataFrame, names: re.Pattern[str]) -> None:
    """The last guard: refuse a table any text cell of which names a victim or shows a victim's id."""
    pseudonyms.check_no_names(frame, names, f"{name} (export)")
    for column in frame.columns:
        if frame[column].dtype.kind in "biufcmM":
            continue
        text = listcols.readable(frame[column]).dropna().unique()
        if any(pseudonyms.VICTIM_ID.search(v) for v in text):
            raise InputError(f"{name} (export)", "would show a victim's id: a bug, nothing was written", column=column)


def load_published(processed: Path, names: re.Pattern[str]) -> dict[str, tuple[Table, pd.DataFrame]]:
    """Every published table that has been built, as published, with its published schema."""
    if not (processed / "licences.parquet").is_file():
        raise InputError(processed / "licences.parquet", "table is missing: run `exportrisk clean` first")
    found = {}
    for name in PUBLISHED:
        path = processed / f"{name}.parquet"
        if path.is_file():
            frame = publishable(name, read_table(path, TABLES[name]))
            check_publishable(name, frame, names)
            found[name] = (published_schema(name), frame)
    return found
