"""Dutch military export, dual-use export and military transit licences (2004-2015), one row per licence.

Three files of the Dutch government's licence overviews, in Dutch. Quirks handled here:

- Dates switch day/month order between years and exports ('05-01-2004' DMY, '06/30/2011' MDY, expiry
  '31012005'); ``exportrisk.ingest.dateorder`` decides the order per block of rows from evidence, and expiry
  dates are read with their decision date as a lower bound. An unreadable decision date rejects the row;
  an unreadable expiry date is left null.
- Licence numbers are prefixed per file ('mil-', 'du-', 'transit-') so the files cannot collide. A
  transit consent number without a digit ('melding' = notification, 'e-mail', empty) is no number: such
  rows get the stable id 'transit-row<source_row>'. Spaces inside numbers ('2582 8321') are dropped.
- The transit file has no decision date: its application date (Datum aanvraag) stands in, and every
  record is taken as issued. It has no control code and no value.
- Military rows name a first destination (land van bestemming) and a final one (land van
  eindbestemming): the final one is the destination; a first destination naming one other country
  becomes the transit country.
- Transit rows of 2015 carry an extra calibre column: the calibre sits under 'land van herkomst', the
  origin under 'land van bestemming (**)' and the destination under 'Ad-hoc J/N (***)'. A row whose
  Ad-hoc cell is not a flag (J, N, VP, AN, empty) is read that way: destination from the Ad-hoc column,
  calibre appended to the goods description.
- Values are EUR: plain integers, or comma-grouped ('30,404,816'). The only dotted values (47 dual-use
  rows of January 2015) group thousands with dots and lost the trailing zeros of the last group to a
  float conversion ('2.308.000', '165.605', '112.95' = 112,950; no licence is worth EUR 1.75): dot groups
  are read as thousands, the last one padded back to three digits.
- Cells are right-padded with spaces ('ML5b      ', 'Duitsland   '): padding is stripped.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from exportrisk.ingest import dateorder
from exportrisk.ingest.parse import parse_amounts
from exportrisk.ingest.rejects import mark, quote
from exportrisk.ingest.sources import Staged, read_source_csv, source_file
from exportrisk.reference import countries

NAME = "nl-licences"
TRANSIT_FLAGS = ("J", "N", "VP", "AN")
Cells = dict[str, pd.Series]


def _text(values: pd.Series) -> pd.Series:
    """Cell text without its padding; empty cells null."""
    return values.astype("string").str.strip().replace("", pd.NA)


def realign_transit(text: Cells) -> Cells:
    """Read the 2015 transit rows, whose extra calibre column moves origin and destination one column right."""
    flag = text["ad_hoc"]
    shifted = flag.notna() & ~flag.str.upper().isin(TRANSIT_FLAGS).fillna(False)
    calibre = text["goods_description"] + " " + text["origin"]
    return {
        **text,
        "destination_raw": text["destination_raw"].mask(shifted, flag),
        "goods_description": text["goods_description"].mask(shifted, calibre),
    }


@dataclass(frozen=True)
class RawFile:
    """One of the three files: its name, licence id prefix, kind, goods hint and canonical -> raw columns.

    ``columns`` also names raw columns read only to ``realign`` cells that sit in the wrong column.
    ``ids_from_rows``: records without a licence number (notifications) are identified by their row.
    """

    name: str
    prefix: str
    licence_kind: str
    goods_category_hint: str
    columns: dict[str, str]
    realign: Callable[[Cells], Cells] | None = None
    ids_from_rows: bool = False


FILES = (
    RawFile(
        "Overzicht.uitvoer.militaire.goederen.2004-2014.csv",
        "mil",
        "export",
        "military",
        {
            "licence_id": "nummer",
            "decision_date": "afgifte datum",
            "expiry_date": "verval datum",
            "control_code_raw": "SGP",
            "goods_description": "goederen omschrijving",
            "destination_raw": "land van eindbestemming",
            "transit_raw": "land van bestemming",
            "value": "waarde (€)",
        },
    ),
    RawFile(
        "Overzicht.dual-use.goederen-2004-2015.csv",
        "du",
        "export",
        "dual_use",
        {
            "licence_id": "nummer",
            "decision_date": "Datum afgifte",
            "expiry_date": "Datum verval",
            "control_code_raw": "SG-Post",
            "goods_description": "Omschrijving goederen",
            "end_use_description": "Opgegeven eindgebruik",
            "destination_raw": "Land van eindbestemming",
            "value": "Waarde(€)",
        },
    ),
    RawFile(
        "Overzicht.doorvoer.militaire.goederen-2005-2015.csv",
        "transit",
        "transit",
        "military",
        {
            "licence_id": "Consent nummer",
            "decision_date": "Datum aanvraag",
            "goods_description": "Goederen omschrijving",
            "destination_raw": "land van bestemming (**)",
            "origin": "land van herkomst",  # read to realign rows, not staged
            "ad_hoc": "Ad-hoc J/N (***)",
        },
        realign=realign_transit,
        ids_from_rows=True,
    ),
)


def licence_ids(numbers: pd.Series, source_row: pd.Series, spec: RawFile) -> pd.Series:
    """'<prefix>-<number>'; where the file allows it, '<prefix>-row<source_row>' for cells without a number."""
    number = numbers.astype("string").str.replace(r"\s+", "", regex=True)
    if spec.ids_from_rows:
        number = number.where(number.str.contains(r"\d").fillna(False), "row" + source_row.astype("string"))
    return spec.prefix + "-" + number


def amounts(values: pd.Series) -> pd.Series:
    """EUR amounts: '25,740' = 25740, and dot groups with lost trailing zeros: '112.95' = 112950."""
    text = _text(values)
    dotted = text.str.fullmatch(r"\d{1,3}(?:\.\d{3})*\.\d{1,3}").fillna(False)
    padded = text.str.replace(r"\.(\d{1,2})$", lambda m: "." + m[1].ljust(3, "0"), regex=True)
    return parse_amounts(text.where(~dotted, padded.str.replace(".", "", regex=False)))


def intermediate(first: pd.Series, final: pd.Series) -> pd.Series:
    """The first destination where it names one country that is not among the final destinations."""
    mapping = countries.load_mapping(NAME)
    pairs = pd.DataFrame({"first": first, "final": final})
    unique = pairs.dropna().drop_duplicates()

    def other_country(first_name: str, final_name: str) -> bool:
        entry = mapping.get(countries.normalise(first_name))
        found = countries.split_destination(final_name, mapping)
        finals = {e.country_code for e in found[0]} if found else set()
        return entry is not None and entry.destination_type == "country" and entry.country_code not in finals

    unique["is_transit"] = [other_country(a, b) for a, b in unique.itertuples(index=False)]
    flags = pairs.merge(unique, on=["first", "final"], how="left")["is_transit"]
    return first.where(flags.fillna(False).to_numpy(dtype=bool))


def stage_file(folder: Path, spec: RawFile) -> Staged:
    raw, malformed = read_source_csv(folder, spec.name, list(spec.columns.values()))
    text = {canonical: _text(raw[column]) for canonical, column in spec.columns.items()}
    if spec.realign:
        text = spec.realign(text)
    date_column = spec.columns["decision_date"]
    blocks = dateorder.blocks(raw[date_column])
    decision = dateorder.read_dates(raw[date_column], blocks)
    lineage = source_file(folder, spec.name)
    rows = pd.DataFrame(
        {
            "source": NAME,
            "source_file": lineage,
            "source_row": raw["source_row"],
            "licence_id": licence_ids(text["licence_id"], raw["source_row"], spec),
            "licensing_country_code": "NLD",
            "licence_kind": spec.licence_kind,
            "decision_date": decision["date"],
            "decision_date_format": decision["order"],
            "outcome": "issued",
            "destination_raw": text["destination_raw"],
            "control_code_raw": text.get("control_code_raw", pd.NA),  # the transit file has none
            "goods_category_hint": spec.goods_category_hint,
            "goods_description": text["goods_description"],
            "end_use_description": text.get("end_use_description", pd.NA),
            "confidence": "official",
        },
        index=raw.index,
    )
    if "expiry_date" in spec.columns:
        rows["expiry_date"] = dateorder.read_dates(raw[spec.columns["expiry_date"]], blocks, decision["date"])["date"]
    if "transit_raw" in spec.columns:
        rows["transit_raw"] = intermediate(text["transit_raw"], text["destination_raw"])
    problem = ("is not a valid " + decision["order"] + " date").fillna("has no day/month order its block decides")
    mark(
        rows,
        decision["date"].isna() & text["decision_date"].notna(),
        "unparseable_date",
        date_column,
        "date " + quote(raw[date_column]) + " " + problem,
    )
    if "value" in spec.columns:
        rows["value"] = amounts(raw[spec.columns["value"]])
        rows["currency_code"] = "EUR"
        mark(
            rows,
            rows["value"].isna() & text["value"].notna(),
            "unparseable_value",
            spec.columns["value"],
            "value " + quote(text["value"]) + " is not a number",
        )
    return Staged(lineage, rows, raw, spec.columns, malformed)


def stage(folder: Path) -> list[Staged]:
    return [stage_file(folder, spec) for spec in FILES]
