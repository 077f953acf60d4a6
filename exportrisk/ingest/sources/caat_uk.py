"""UK licences from Campaign Against Arms Trade's compilation of the UK's Strategic Export Controls data.

values.csv has one row per (licence group, control rating) with date, destination, value (GBP, blank for
refusals) and a refused flag; ratings.csv says whether a rating is military; refusal-criteria.csv gives the
criteria of refusals; destinations.csv the onward destinations of goods incorporated abroad.
"""

from pathlib import Path

import pandas as pd

from exportrisk.errors import InputError
from exportrisk.ingest.parse import lookup, parse_dates, per_unique, to_number
from exportrisk.ingest.rejects import mark
from exportrisk.ingest.sources import Staged, read_source_csv, source_file
from exportrisk.reference import countries

NAME = "caat-uk"
VALUES = "values.csv"
COLUMNS = {
    "licence_id": "licence_group",
    "decision_date": "date",
    "control_code_raw": "rating",
    "item_count": "count",
    "value": "value",
    "destination_raw": "country",
    "outcome": "refused",
}


def _by_licence(table: pd.DataFrame, value: str) -> pd.Series:
    """';'-joined distinct values per licence group, sorted, for one-to-many side files."""
    table = table.drop_duplicates(["licence_group", value]).sort_values(["licence_group", value])
    return table.groupby("licence_group", sort=False)[value].agg(";".join)


def onward_codes(folder: Path) -> pd.Series:
    """ISO3 codes of onward destinations per licence group; an unmapped name is an error to fix in the mapping."""
    table, _ = read_source_csv(folder, "destinations.csv", ["licence_group", "destination"])
    mapping = countries.load_mapping(NAME)
    entries = {n: mapping.get(countries.normalise(n)) for n in table["destination"].unique()}
    unknown = table[table["destination"].map(lambda n: entries[n] is None)]
    if len(unknown):
        row = unknown.iloc[0]
        raise InputError(
            folder / "destinations.csv",
            f"unknown country {row['destination']!r}: add it to exportrisk/metadata/countries/{NAME}.csv",
            row=int(row["source_row"]),
            column="destination",
        )
    table["code"] = table["destination"].map({n: e.country_code for n, e in entries.items() if e is not None})
    return _by_licence(table.dropna(subset=["code"]), "code")


def stage(folder: Path) -> list[Staged]:
    raw, malformed = read_source_csv(folder, VALUES, list(COLUMNS.values()))
    ratings, _ = read_source_csv(folder, "ratings.csv", ["rating", "military"])
    criteria, _ = read_source_csv(folder, "refusal-criteria.csv", ["licence_group", "criteria"])
    military = ratings.set_index("rating")["military"].map({"1": "military", "0": "dual_use"}).to_dict()
    criteria = _by_licence(criteria.assign(licence_group=criteria["licence_group"].str.strip()), "criteria")

    group = raw["licence_group"].str.strip()
    refused = raw["refused"].str.strip()
    value = to_number(raw["value"])
    count = to_number(raw["count"], "Int64")
    outcome = per_unique(refused, {"0": "issued", "1": "refused"})
    lineage = source_file(folder, VALUES)
    rows = pd.DataFrame(
        {
            "source": NAME,
            "source_file": lineage,
            "source_row": raw["source_row"],
            "licence_id": group,
            "licensing_country_code": "GBR",
            "licence_kind": "export",
            "decision_date": parse_dates(raw["date"], "ISO"),
            "decision_date_format": "ISO",
            "outcome": outcome,
            "destination_raw": raw["country"],
            "control_code_raw": raw["rating"],
            "goods_category_hint": per_unique(raw["rating"], lambda r: military.get(r.strip())),
            "item_count": count,
            "value": value,
            "currency_code": "GBP",
            "refusal_criteria": lookup(group, criteria).where(outcome == "refused"),
            "onward_country_codes": lookup(group, onward_codes(folder)),
            "confidence": "official",
        },
        index=raw.index,
    )
    mark(
        rows,
        rows["decision_date"].isna() & raw["date"].str.strip().ne(""),
        "unparseable_date",
        "date",
        lambda idx: "date '" + raw.loc[idx, "date"] + "' is not YYYY-MM-DD",
    )
    mark(
        rows,
        outcome.isna(),
        "unknown_outcome",
        "refused",
        lambda idx: "refused flag '" + refused[idx] + "' is not 0 or 1",
    )
    mark(
        rows,
        value.isna() & raw["value"].str.strip().ne(""),
        "unparseable_value",
        "value",
        lambda idx: "value '" + raw.loc[idx, "value"] + "' is not a number",
    )
    return [Staged(lineage, rows, raw, COLUMNS, malformed)]
