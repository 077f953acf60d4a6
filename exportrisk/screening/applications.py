"""Export applications to screen, checked, and the licence lines the scorer reads for them.

An application names an exporter, an end user and its type, a destination, the goods (control codes, or a
description where no code is known), a value and the date the decision is to be taken. It is screened as
the licence it asks for would be scored if issued that day: one licence line per control code, through the
pipeline's own scorer. A CSV of applications has these columns (only exporter, destination, goods and date
must be filled); a bad cell stops the run with its file, row and column, before anything is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_csv_text
from exportrisk.reference import controlcodes, countries
from exportrisk.reference.entities import match_entities
from exportrisk.schema import LICENCES, conform

COLUMNS = (
    "application_id",
    "exporter",
    "end_user",
    "end_user_type",
    "destination",
    "goods",
    "value",
    "currency",
    "date",
    "licensing_country",
)
REQUIRED = ("exporter", "destination", "goods", "date")
SOURCE = "screen"
COUNTRY_NAMES = "curated"  # destinations are read with the curated files' country names (ISO names and codes too)


def _country(text: str) -> str | None:
    entry = countries.source_mapping(COUNTRY_NAMES).entries.get(countries.normalise(text))
    return entry.country_code if entry and entry.destination_type == "country" else None


def goods_codes(goods: str) -> list[str]:
    """The control codes a goods cell names ('5A001.f; 5D001' -> two), or [] when it is a description."""
    parts = controlcodes.split_codes(goods)
    codes = [controlcodes.normalise(p) for p in parts]
    return [c for c in codes if c] if all(codes) else []


def from_flags(flags: dict[str, object]) -> pd.DataFrame:
    """One application from command-line flags (or keyword arguments) named as COLUMNS."""
    return pd.DataFrame([{c: flags.get(c) for c in COLUMNS}], dtype="string")


def check_applications(apps: pd.DataFrame, origin: str, entities: pd.DataFrame) -> pd.DataFrame:
    """Applications as typed columns (date, destination_country_code, licensing_country_code, codes, value).

    ``origin`` names the input in errors ('--flags' or the CSV path); rows count as in the file (header = 1).
    The licensing state defaults to the exporter's country of registration where the exporter is a curated
    entity. Raises InputError at the first bad cell.
    """
    apps = apps.copy()
    for col in COLUMNS:
        apps[col] = apps[col].astype("string").str.strip().replace("", pd.NA) if col in apps else pd.NA
    apps = apps.astype(dict.fromkeys(COLUMNS, "string"))
    exporter_entity = match_entities(apps["exporter"], entities)
    home = exporter_entity.map(dict(zip(entities["entity_id"], entities["country_code"], strict=True)))
    typed = []
    for (i, row), home_country in zip(apps.iterrows(), home, strict=True):
        line = i + 2 if origin != "--flags" else None
        for col in REQUIRED:
            if pd.isna(row[col]):
                raise InputError(origin, "missing value", row=line, column=col)
        try:
            date = dt.date.fromisoformat(row["date"])
        except ValueError:
            raise InputError(origin, f"date {row['date']!r} is not YYYY-MM-DD", row=line, column="date") from None
        destination = _country(row["destination"])
        if destination is None:
            raise InputError(origin, f"unknown country {row['destination']!r}", row=line, column="destination")
        licensing = home_country if pd.isna(row["licensing_country"]) else _country(row["licensing_country"])
        if pd.isna(licensing) or licensing is None:
            message = "give the licensing state (the exporter is no curated entity with a home country)"
            raise InputError(origin, message, row=line, column="licensing_country")
        value = pd.to_numeric(pd.Series([row["value"]]), errors="coerce").iloc[0]
        if pd.notna(row["value"]) and (pd.isna(value) or value < 0):
            raise InputError(origin, f"value {row['value']!r} is not an amount", row=line, column="value")
        typed.append(
            {
                "application_id": row["application_id"] if pd.notna(row["application_id"]) else f"app-{i + 1}",
                "date": pd.Timestamp(date),
                "destination_country_code": destination,
                "licensing_country_code": licensing,
                "codes": goods_codes(row["goods"]),
                "value_amount": value,
            }
        )
    out = pd.concat([apps.drop(columns=["application_id", "date"]).reset_index(drop=True), pd.DataFrame(typed)], axis=1)
    if out["application_id"].duplicated().any():
        dup = out.loc[out["application_id"].duplicated(), "application_id"].iloc[0]
        raise InputError(origin, f"application_id {dup!r} is used twice", column="application_id")
    return out


def read_applications(path: Path, entities: pd.DataFrame) -> pd.DataFrame:
    """Applications from a CSV with the columns in COLUMNS (unknown columns are an error: a typo loses data)."""
    raw, malformed = read_csv_text(path)
    if len(malformed):
        first = malformed.iloc[0]
        raise InputError(path, str(first["message"]), row=int(first["source_row"]))
    unknown = [c for c in raw.columns if c not in (*COLUMNS, "source_row")]
    if unknown:
        raise InputError(path, f"unknown column (expected some of: {', '.join(COLUMNS)})", row=1, column=unknown[0])
    return check_applications(raw.drop(columns="source_row"), str(path), entities)


def licence_lines(apps: pd.DataFrame) -> pd.DataFrame:
    """The licence lines of checked applications: one per control code (one line for a description)."""
    lines = apps.assign(control_code=apps["codes"].map(lambda c: c or [None])).explode("control_code")
    lines["line_no"] = lines.groupby("application_id").cumcount() + 1
    described = lines["control_code"].isna()
    classified = controlcodes.classify(lines["control_code"].astype("string"))
    out = pd.DataFrame(
        {
            "licence_id": SOURCE + ":" + lines["application_id"],
            "line_no": lines["line_no"],
            "source": SOURCE,
            "source_file": SOURCE,
            "source_row": lines.groupby("application_id", sort=False).ngroup() + 1,
            "licensing_country_code": lines["licensing_country_code"],
            "licence_kind": "export",
            "decision_date": lines["date"],
            "decision_date_format": "ISO",
            "outcome": "issued",  # screened as the licence asked for, issued on the date
            "destination_raw": lines["destination"],
            "destination_type": "country",
            "destination_country_code": lines["destination_country_code"],
            "control_code_raw": lines["control_code"],
            "control_code": classified["control_code"],
            "goods_category": classified["goods_category"],
            "surveillance_type": classified["surveillance_type"],
            "taxonomy_rule": classified["taxonomy_rule"],
            "goods_description": lines["goods"].where(described),
            "value": lines["value_amount"],
            "value_shared_by": lines.groupby("application_id")["line_no"].transform("size"),
            "currency_code": lines["currency"],
            "exporter_name": lines["exporter"],
            "end_user_name": lines["end_user"],
            "end_user_type": lines["end_user_type"],
            "confidence": "official",  # the application itself, as filed
        }
    )
    return conform(out.reset_index(drop=True), LICENCES)
