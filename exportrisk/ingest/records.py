"""A raw file's records counted a second way, apart from its reader, and what a workbook may cost before it is read.

Reconciliation checks raw records = rows kept + rows rejected. Counted from the reader's own rows, that check holds
even when the reader folds or loses a record: a stray quote joins two licences into another row's goods cell, a row
the spreadsheet library does not see vanishes, and the count still says "3 = 3 + 0". So the records are counted
here independently: a CSV's by the csv module (with the mapping's encoding and delimiter), a sheet's by a scan of
its own XML. The same scan bounds a workbook before openpyxl expands it in memory (a 1 GB sheet packed in a small
file, one far-away cell that makes a sheet of 17 billion).
"""

import csv
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_utf8, sniff_delimiter

# Uncompressed size of all of a workbook's parts (from the zip directory, before anything is unpacked). The
# largest real workbooks the project reads unpack to under 10 MB; a licence register of 100,000 rows by 20
# columns to some 100 MB. A zip bomb of 1 GB packed in 1 MB is refused before a byte of it is inflated.
MAX_XLSX_BYTES = 256 * 2**20
# Cells a sheet may span (rows by columns, from the header down, empty cells included since openpyxl makes an
# object of each): the same register is 2 million; each cell costs openpyxl some hundreds of bytes, so this keeps a
# sheet under about a gigabyte. One cell at XFD1048576 spans 17 billion.
MAX_CELLS = 2_000_000

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)")
DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+\d+:)?([A-Z]+)(\d+)"')
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def column_number(letters: str) -> int:
    """'A' -> 1, 'XFD' -> 16384."""
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


@dataclass(frozen=True)
class Counted:
    """A raw file's records counted independently of its reader, and what to say if the reader saw fewer."""

    records: int
    why: str = ""


def csv_records(path: Path, encoding: str = "utf-8", delimiter: str | None = None) -> Counted:
    """Records below the header as the csv module reads them, plus lines folded into another record's cell.

    A cell may hold line breaks, but a line inside a cell that splits into as many fields as the header is a
    record that a stray quote swallowed (a cell of free text with exactly as many commas is the rare false alarm).
    """
    lines = LINE.findall(read_utf8(path, encoding).decode("utf-8"))
    sep = delimiter or sniff_delimiter(lines[0].rstrip("\r\n"))
    reader = csv.reader(lines, delimiter=sep)
    records, folded_at = 0, None
    try:
        width = len(next(reader))
        start = reader.line_num
        for number, _ in enumerate(reader, start=2):
            inner = lines[start + 1 : reader.line_num]  # the record's physical lines after its first
            folded = sum(len(next(csv.reader([line.rstrip("\r\n")], delimiter=sep), [])) == width for line in inner)
            if folded and folded_at is None:
                folded_at = number
            records += 1 + folded
            start = reader.line_num
    except csv.Error as exc:  # a cell over the csv module's 128 KB: a quote opened and never closed
        raise InputError(
            path, f"cannot be split into records ({exc}): a quote never closed?", row=reader.line_num
        ) from None
    if folded_at is None:
        return Counted(records)
    return Counted(records, f"row {folded_at} holds lines that read as records of their own (a stray quote?)")


def sheet_part(book: zipfile.ZipFile, path: Path, sheet: str | None) -> str:
    """The zip member holding a sheet (the first sheet when ``sheet`` is None), found as Excel finds it."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    sheets = [(s.get("name", ""), s.get(OFFICE_RID, "")) for s in workbook.iter(f"{MAIN}sheet")]
    names = [name for name, _ in sheets]
    if sheet is not None and sheet not in names:
        raise InputError(path, f"no sheet {sheet!r} (sheets: {', '.join(names)})")
    rid = dict(sheets)[sheet] if sheet is not None else sheets[0][1]
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target", "") for r in rels.iter(f"{RELS}Relationship") if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def empty_strings(book: zipfile.ZipFile) -> set[int]:
    """Positions of empty texts in the shared-string table: a cell pointing at one holds nothing."""
    if "xl/sharedStrings.xml" not in book.namelist():
        return set()
    empty: set[int] = set()
    with book.open("xl/sharedStrings.xml") as part:
        items = (item for _, item in ElementTree.iterparse(part) if item.tag == f"{MAIN}si")
        for i, item in enumerate(items):
            if not "".join(t.text or "" for t in item.iter(f"{MAIN}t")):
                empty.add(i)
            item.clear()  # streamed: the table may be large
    return empty


def has_value(cell: ElementTree.Element, empty: set[int]) -> bool:
    """Whether a cell holds something the reader shows: a value, an inline text, or a formula without a value."""
    value = cell.find(f"{MAIN}v")
    if value is not None and value.text:
        return not (cell.get("t") == "s" and value.text.isdigit() and int(value.text) in empty)
    return bool("".join(t.text or "" for t in cell.iter(f"{MAIN}t"))) or cell.find(f"{MAIN}f") is not None


def refuse_extent(path: Path, rows: int, columns: int, header_row: int, why: str) -> None:
    if max(rows - header_row + 1, 0) * columns > MAX_CELLS:
        raise InputError(
            path,
            f"the sheet {why} {rows:,} rows by {columns:,} columns, more than the {MAX_CELLS:,} cells a sheet may "
            "span: delete empty rows and columns (or a stray cell) beyond the table, or save the sheet as CSV",
        )


def scan_xlsx(path: Path, sheet: str | None, header_row: int) -> Counted:
    """Bound a workbook and count its sheet's records, from its zip directory and XML, before openpyxl reads it."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, f"not a readable XLSX workbook ({exc})") from None
    with book:
        unpacked = sum(info.file_size for info in book.infolist())
        if unpacked > MAX_XLSX_BYTES:
            raise InputError(
                path,
                f"unpacks to {unpacked / 2**20:,.0f} MB, more than the {MAX_XLSX_BYTES // 2**20} MB a workbook may: "
                "split it, or save the sheet as CSV",
            )
        try:
            part = sheet_part(book, path, sheet)
            with book.open(part) as xml:
                found = DIMENSION.search(xml.read(4096))
            if found:
                refuse_extent(path, int(found[3]), column_number(found[2].decode()), header_row, "declares")
            return count_rows(book, part, path, header_row)
        except (KeyError, StopIteration, ValueError, ElementTree.ParseError, zipfile.BadZipFile) as exc:
            raise InputError(path, f"not a readable XLSX workbook ({exc})") from None


def count_rows(book: zipfile.ZipFile, part: str, path: Path, header_row: int) -> Counted:
    """Every ``<row>`` element below the header with a value (a row written twice counts twice, as it was
    written); stops as soon as the cells seen span, or number, more than MAX_CELLS."""
    empty = empty_strings(book)
    records = cells = last_row = last_column = row = column = 0
    filled = False
    with book.open(part) as xml:
        for _, element in ElementTree.iterparse(xml):
            if element.tag == f"{MAIN}c":
                ref = CELL_REF.fullmatch(element.get("r", ""))
                column = column_number(ref[1]) if ref else column + 1  # a cell without r follows the previous
                last_column, last_row = max(last_column, column), max(last_row, int(ref[2]) if ref else 0)
                filled = filled or has_value(element, empty)
                cells += 1
                element.clear()
            elif element.tag == f"{MAIN}row":
                row = int(element.get("r") or row + 1)
                last_row = max(last_row, row)
                records += filled and row > header_row
                filled, column = False, 0
                element.clear()
                refuse_extent(path, last_row, last_column, header_row, "spans")
            if cells > MAX_CELLS:
                raise InputError(path, f"the sheet holds more than the {MAX_CELLS:,} cells a sheet may: save it as CSV")
    refuse_extent(path, last_row, last_column, header_row, "spans")
    return Counted(records, "the sheet holds rows the reader did not see (a row written twice?)")
