"""The founding case in the Bulgaria and Cyprus licensing reports: each curated licence with its source and caveats,
the worked explanation of its score, the European Parliament's export-hub finding, and what data does not exist.

Access Now's letter of May 2019 asked Bulgaria and Cyprus to scrutinise NSO-linked exports; neither state
published licence-level data on dual-use exports before 2021, so the licences known are those reported in the
press, curated one row each (exportrisk/curated/reported_licences.csv) with a note that records how each field
was read. The caveats below are read from those notes, whose wording the curated file's header fixes.
"""

from __future__ import annotations

import csv
import re

import pandas as pd

from exportrisk import listcols
from exportrisk.config import CURATED_DIR
from exportrisk.reference import countries

COMPONENTS = {"d_score": "D", "e_score": "E", "u_score": "U", "i_score": "I", "x_score": "X"}
STATES = ("BGR", "CYP")  # the states the founding letter was sent to
VENDOR = "nso-group"  # the curated entity whose reported licences from those states the letter was about
HUBS = "curated:ep-pega-2023-export-hubs"
NOTES_FILE = "reported_licences.csv"
EVIDENCE_FILE = "evidence.csv"
# Caveat shown -> the wording of the curated note that records it.
CAVEATS = {
    "value is a lower bound": r"lower bound",
    "date known only to the month (first day shown)": r"first day of the stated month",
    "decision date not reported (the report's date shown)": r"recorded as that publication date",
    "control code read by us, not the report's": r"our reading, not the report's",
    "goods, code and destination not stated": r"Goods, control code and destinations not stated",
}
NO_DATA = (
    "{state} published no official licence-level data on dual-use exports before 2021: the licences shown are "
    "known only from reporting, one row each, and earlier decisions (the founding letter is of May 2019) cannot "
    "be checked against official data."
)


def curated_notes() -> pd.DataFrame:
    """The curated licences' notes by licence_id ('curated:<id>'), from the package's curated file."""
    with (CURATED_DIR / NOTES_FILE).open(encoding="utf-8", newline="") as fh:
        rows = [(f"curated:{r['id']}", r["note"]) for r in csv.DictReader(fh)]
    return pd.DataFrame(rows, columns=["licence_id", "note"])


def caveats(note: str) -> list[str]:
    return [shown for shown, wording in CAVEATS.items() if re.search(wording, note or "")]


def worked(row: pd.Series) -> str:
    """How the line's score is made: D, E and U weighed into the context, scaled by the goods (I), plus X, then
    any floor (docs/methodology.md), with the best-worst interval over missing inputs."""
    parts = [f"{name} {row[c]:.1f}" for c, name in COMPONENTS.items() if pd.notna(row[c])]
    floors = row["floors"]
    lifted = f"; floors {floors} lift it" if pd.notna(floors) and floors else ""
    interval = f"best {row['score_best']:.1f}, worst {row['score_worst']:.1f}"
    return f"{', '.join(parts)}{lifted}: {row['score']:.1f}, {row['band']} ({interval})"


def curated_licences(scored: pd.DataFrame, notes: pd.DataFrame, state: str) -> pd.DataFrame:
    """The curated licences of ``state`` (scored licence lines, licence columns with score_lines'), one row per
    line: when, to where, what, value, confidence, source, caveats, score and its worked explanation."""
    mine = scored[scored["source"].eq("curated") & scored["licensing_country_code"].eq(state)]
    mine = mine.merge(notes, on="licence_id", how="left").sort_values(["decision_date", "licence_id", "line_no"])
    mine = mine.assign(floors=listcols.join(mine["floors"]))
    return pd.DataFrame(
        {
            "licence": mine["licence_id"],
            "decided": mine["decision_date"].dt.strftime("%Y-%m-%d"),
            "destination": mine["destination_country_code"].fillna(mine["destination_raw"]),
            "control_code": mine["control_code"],
            "goods": mine["goods_description"],
            "value": mine["value"],
            "is_value_lower_bound": mine["is_value_lower_bound"],
            "currency": mine["currency_code"],
            "exporter": mine["exporter_name"],
            "confidence": mine["confidence"],
            "source": mine["source_url"],
            "caveats": ["; ".join(caveats(n)) for n in mine["note"].fillna("")],
            "band": mine["band"],
            "explanation": [worked(r) for _, r in mine.iterrows()],
            "note": mine["note"],
        }
    ).reset_index(drop=True)


def hub_finding(state: str) -> str:
    """The European Parliament's finding that ``state`` is an export hub, with its date and source (curated)."""
    with (CURATED_DIR / EVIDENCE_FILE).open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if f"curated:{r['evidence_id']}" == HUBS]
    row = next((r for r in rows if countries.country_name(state) == r["country"]), None)
    if row is None:
        return ""
    return (
        f"{row['publisher']} ({row['published_date']}): {row['country']} is an export hub for spyware, the "
        f"licensing state rather than an operator ({row['title']}; {row['source_urls']})."
    )


def founding_text(table: pd.DataFrame, state: str) -> str:
    """The section's text: the letter, the export-hub finding, what data does not exist, how to read the table."""
    name = countries.country_name(state)
    return " ".join(
        [
            f"In May 2019 Access Now asked {name} to scrutinise any further or renewed export applications from "
            "NSO Group, its affiliates or similar surveillance exporters.",
            hub_finding(state),
            NO_DATA.format(state=name),
            f"{len(table)} curated licence line(s), each with its source, confidence and the caveats of how it was "
            "read, and the worked explanation of its ex-ante score (D destination record, E documented abuse, U "
            "end user, I goods, X transaction and exporter).",
        ]
    )
