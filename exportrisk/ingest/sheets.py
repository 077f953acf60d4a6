"""Reading a researcher's CSV or XLSX file into text cells, numbered as the file numbers its rows.

Everything is read as text (a CSV has nothing else) so that the mapping decides how each cell is read; for
XLSX the reader also says which cells were real numbers, since those must not be read with a decimal comma.
"""

import datetime as dt
import zipfile
from pathlib import Path
from typing import NamedTuple

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_csv_text
from exportrisk.ingest.records import Counted, csv_records, scan_xlsx

XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")


class Read(NamedTuple):
    """A file as read: rows as text with ``source_row``, the malformed rows, which cells held real numbers, and
    the file's records counted independently of this reader, for reconciliation."""

    rows: pd.DataFrame
    malformed: pd.DataFrame
    native: pd.DataFrame
    counted: Counted


def cell_text(value: object) -> str:
    """An XLSX cell as text: real dates as ISO dates, whole numbers without '.0', empty cells as ''."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def formula_cells(path: Path, title: str, header_row: int) -> list[tuple[int, int, str]]:
    """(sheet row, column position, cell) of every formula below the header; most workbooks have none.

    A workbook written by a program rather than saved by a spreadsheet keeps formulas without their results;
    read for values, such a cell is empty and a row of them would vanish. The raw XML is checked first.
    """
    with zipfile.ZipFile(path) as z:
        if not any(b"<f" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")):
            return []
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        rows = book[title].iter_rows(min_row=header_row + 1)
        return [(c.row, c.column - 1, c.coordinate) for row in rows for c in row if c.data_type == "f"]
    finally:
        book.close()


def read_xlsx(path: Path, sheet: str | None, header_row: int) -> Read:
    """Read one sheet like read_csv_text reads a CSV, numbering rows as the sheet does.

    Rows above ``header_row`` (titles, notes) are skipped and empty rows are not records. A row with values
    right of the header's last column is malformed, as a CSV row with extra fields is. Also returns which
    cells held real numbers, since those must not be read with the source's decimal mark.
    """
    counted = scan_xlsx(path, sheet, header_row)  # bounds the workbook before openpyxl unpacks it
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputError(path, f"not a readable XLSX workbook ({exc})") from None
    if sheet is not None and sheet not in book.sheetnames:
        raise InputError(path, f"no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    cells = pd.DataFrame(list(ws.iter_rows(min_row=header_row, values_only=True)), dtype=object)
    text = cells.map(cell_text)
    header = [h.strip() for h in text.iloc[0]] if len(text) else []
    width = max((i + 1 for i, h in enumerate(header) if h), default=0)
    if width == 0:
        raise InputError(path, f"no header in sheet {ws.title!r} (set header_row)", row=header_row)
    names = [h or f"column {get_column_letter(i + 1)}" for i, h in enumerate(header[:width])]
    if len(set(names)) < len(names):
        dupe = next(n for n in names if names.count(n) > 1)
        raise InputError(path, "duplicate column name in the header", row=header_row, column=dupe)
    body, numbers = text.iloc[1:], cells.iloc[1:].map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    filled = body.ne("")
    source_row = pd.array(body.index + header_row, dtype="Int64")
    uncached: dict[int, str] = {}
    for row, col, coordinate in formula_cells(path, ws.title, header_row):
        if row - header_row < len(cells) and col < cells.shape[1] and cells.iat[row - header_row, col] is None:
            uncached.setdefault(row, coordinate)
    formula = pd.Series([int(r) in uncached for r in source_row], index=body.index)
    record = filled.any(axis=1) | formula
    extra = record & filled.iloc[:, width:].any(axis=1) & ~formula
    if not record.any():
        raise InputError(path, "file has a header but no data rows", row=header_row)
    used = filled[extra].iloc[:, ::-1].idxmax(axis=1) + 1  # position of the last filled cell
    fix = "is a formula without a saved value: open the file in a spreadsheet program, save it and run again"
    malformed = pd.concat(
        [
            pd.DataFrame(
                {
                    "source_row": source_row[extra.to_numpy()],
                    "message": [f"has {n} cells where the header has {width}" for n in used],
                    "text": ["\t".join(r[:n]) for r, n in zip(body[extra].to_numpy().tolist(), used, strict=True)],
                }
            ),
            pd.DataFrame(
                {
                    "source_row": source_row[formula.to_numpy()],
                    "message": [f"cell {uncached[int(r)]} {fix}" for r in source_row[formula.to_numpy()]],
                    "text": ["\t".join(r[:width]) for r in body[formula].to_numpy().tolist()],
                }
            ),
        ],
        ignore_index=True,
    ).sort_values("source_row", ignore_index=True)
    keep = (record & ~extra & ~formula).to_numpy()
    frame = body.loc[keep, : width - 1].set_axis(names, axis=1).reset_index(drop=True)
    frame.insert(0, "source_row", source_row[keep])
    native = numbers.loc[keep, : width - 1].set_axis(names, axis=1).reset_index(drop=True)
    return Read(frame.astype({n: "string" for n in names}), malformed, native, counted)


def read_records(
    path: Path, sheet: str | None = None, header_row: int = 1, encoding: str = "utf-8", delimiter: str | None = None
) -> Read:
    """One CSV or XLSX file as read, with its records counted a second way (exportrisk.ingest.records)."""
    if path.suffix.lower() in XLSX_SUFFIXES:
        return read_xlsx(path, sheet, header_row)
    try:
        frame, malformed = read_csv_text(path, encoding, delimiter)
    except UnicodeDecodeError as exc:
        row = exc.object[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not valid {encoding} (byte 0x{exc.object[exc.start]:02x})", row=row) from None
    native = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    return Read(frame, malformed, native, csv_records(path, encoding, delimiter))
