"""Freedom House's 1973-2024 ratings workbook: a wide layout, melted into one record per rating cell.

Each sheet has three header rows (the survey edition, merged over its three columns; the year or period under
review; and PR / CL / Status) and then one row per country or territory, with its ratings for every edition
side by side. The cells then go through the same checks as every indicator source (exportrisk.knowledge.indicators).
Lineage: the sheet's own row number and ``'<sheet>'!<column letter>``, so each record is a cell reference.
"""

import json
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from exportrisk.errors import InputError
from exportrisk.ingest.sheets import cell_text

HEADER_ROWS = 3
NAMES = "A"  # the column of country and territory names
YEAR = r"(\d{4})\D*$"  # the year a review period ends in: 1972, "Jan.1981-Aug. 1982" -> 1982


def edition_header(grid: pd.DataFrame, labels: dict[str, str], path: Path, sheet: str) -> pd.DataFrame:
    """Per rating column: edition, period under review, year covered and indicator, from the header rows.

    Merged cells hold their text in the first column only, so the edition and period are carried right.
    A label or period that cannot be read stops the source: the layout changed and needs a look.
    """
    head = grid.iloc[:HEADER_ROWS, 1:].T.set_axis(["edition", "period", "label"], axis=1)
    head[["edition", "period"]] = head[["edition", "period"]].replace("", pd.NA).ffill()
    head["label"] = head["label"].str.strip()
    head["letter"] = [get_column_letter(c + 1) for c in head.index]
    indicator = {label: code for code, label in labels.items()}
    unknown = head[~head["label"].isin(indicator)]
    if len(unknown):
        bad = unknown.iloc[0]
        raise InputError(path, f"unexpected rating header {bad['label']!r} in sheet {sheet!r}", 3, bad["letter"])
    head["year"] = pd.to_numeric(head["period"].str.extract(YEAR)[0]).astype("Int64")
    if head["year"].isna().any():
        bad = head[head["year"].isna()].iloc[0]
        raise InputError(path, f"cannot read the year under review in sheet {sheet!r}", 2, bad["letter"])
    head["period_raw"] = head["period"].where(~head["period"].str.fullmatch(r"\d{4}"))
    head["indicator_code"] = head["label"].map(indicator)
    return head


def melt_ratings(grid: pd.DataFrame, labels: dict[str, str], path: Path, sheet: str) -> tuple[pd.DataFrame, int]:
    """The rating cells of one sheet (a text grid, row 0 = sheet row 1) as indicator cells, and how many.

    ``labels`` maps indicator codes to the header labels (PR, CL, Status). Rows without a name are not
    records; every named row has one record per rating column, blank or not.
    """
    head = edition_header(grid, labels, path, sheet)
    names = grid.iloc[HEADER_ROWS:, 0]
    rows = names.index[names.str.strip() != ""]
    records = len(rows) * len(head)
    cells = grid.loc[rows, head.index].rename_axis(index="row", columns="col").stack().rename("value_text")
    cells = cells.reset_index().join(head, on="col")
    cells["country_raw"] = grid.loc[cells["row"], 0].to_numpy()
    raw = cells[["country_raw", "edition", "period", "label", "value_text"]].to_numpy().tolist()
    keys = ("country", "survey_edition", "years_under_review", "rating", "value")
    out = pd.DataFrame(
        {
            "source_row": (cells["row"] + 1).astype("Int64"),
            "source_column": f"'{sheet}'!" + cells["letter"],
            "country_raw": cells["country_raw"],
            "indicator_code": cells["indicator_code"],
            "value_text": cells["value_text"],
            "year": cells["year"],
            "edition": cells["edition"],
            "period_raw": cells["period_raw"],
            "raw_values": [json.dumps(dict(zip(keys, r, strict=True)), ensure_ascii=False) for r in raw],
        }
    )
    return out, records


def read_ratings(path: Path, sheets: tuple[str, ...], labels: dict[str, str]) -> tuple[pd.DataFrame, int]:
    """All rating cells of the named sheets, and the number of records the sheets hold."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    missing = [s for s in sheets if s not in book.sheetnames]
    if missing:
        raise InputError(path, f"no sheet {missing[0]!r} (sheets: {', '.join(book.sheetnames)})")
    parts, records = [], 0
    for sheet in sheets:
        grid = pd.DataFrame(list(book[sheet].iter_rows(values_only=True)), dtype=object).map(cell_text)
        cells, n = melt_ratings(grid, labels, path, sheet)
        parts.append(cells)
        records += n
    book.close()
    return pd.concat(parts, ignore_index=True), records
