"""Reading raw files and writing outputs atomically (temporary file, then rename)."""

import contextlib
import csv
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from exportrisk import listcols
from exportrisk.errors import InputError
from exportrisk.ingest import generation
from exportrisk.schema import Table, conform

DELIMITERS = ",;\t|"
LINE_END = re.compile(rb"\r\n|\r|\n")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds. Inside a step's
    generation (exportrisk.ingest.generation) the rename waits for the step's other outputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        held = generation.holding(path)
        if held is not None:
            held.add(Path(tmp), path)
            tmp = ""  # the generation renames it or removes it
        else:
            os.replace(tmp, path)
    finally:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks: a source file never has to fit in memory."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


ABOUT = b"exportrisk"  # the file's own metadata key: what the table was made from (write_parquet's ``about``)


def write_parquet(df: pd.DataFrame, path: Path, about: dict[str, str] | None = None) -> None:
    """Write a table reproducibly: no index, fixed compression, same bytes for the same data; ``about`` (what the
    table was made from) is kept in the file's metadata, read back by ``about``.

    List columns are Parquet list<string>; their pandas type is recorded as 'object' (what pandas reads such
    a column as), since pandas cannot read back the name of its own Arrow list type (pandas 2.2 to 3.1)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = json.loads(table.schema.metadata[b"pandas"])
    for column in meta["columns"]:
        if column["name"] in df and listcols.is_list(df[column["name"]]):
            column["numpy_type"] = "object"
    extra = {ABOUT: json.dumps(about, sort_keys=True).encode()} if about else {}
    table = table.replace_schema_metadata({**table.schema.metadata, b"pandas": json.dumps(meta).encode(), **extra})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def about(path: Path) -> dict[str, str]:
    """What a table written with ``about`` was made from ({} for a missing or unreadable file, or none given)."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError):
        return {}
    return json.loads(meta[ABOUT]) if ABOUT in meta else {}


def read_parquet(path: Path, **options: Any) -> pd.DataFrame:
    """A Parquet file as a frame; a garbled or truncated one is one line naming it, never pyarrow's own error, and
    none is read while its step's tables are half replaced (exportrisk.ingest.generation)."""
    if (path.parent / generation.JOURNAL).is_file():
        raise InputError(path, "its step's tables are being replaced, or a run was killed doing so: `exportrisk build`")
    try:
        return pd.read_parquet(path, **options)
    except (pa.ArrowException, OSError, ValueError) as exc:
        if not path.is_file():
            raise InputError(path, "table is missing: run `exportrisk build`") from None
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"not a readable Parquet table ({why}): `exportrisk build` rebuilds it") from None


def read_table(path: Path, table: Table, columns: Collection[str] | None = None) -> pd.DataFrame:
    """Read a canonical table back with its declared types (Parquet drops the categories of empty columns);
    only ``columns`` (in declared order) where given, for a reader that needs no more.

    Read as Arrow-backed columns and then conformed: pandas' default would make a NumPy array of each list cell
    (a million Python objects for 1M licences, their memory kept by the allocator once converted)."""
    if columns is None:
        return conform(read_parquet(path, dtype_backend="pyarrow"), table)
    narrowed = table.select(columns)
    return conform(read_parquet(path, columns=narrowed.columns, dtype_backend="pyarrow"), narrowed)


# A cell starting with one of these is run as a formula by spreadsheet programs (OWASP, "CSV Injection").
FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """The table with each text cell that a spreadsheet would run as a formula prefixed with ' (as OWASP
    advises), so that opening a published CSV runs nothing: '=HYPERLINK(...)' is shown, not followed.

    Only text columns change: numbers, dates and booleans cannot hold a formula (a negative number stays one).
    A list column becomes one cell of its values joined by '; '.
    """
    out = table.copy()
    for column in out.columns:
        if out[column].dtype.kind in "biufcmM":
            continue
        text = listcols.readable(out[column])
        if listcols.is_list(out[column]):
            out[column] = text
        formula = text.str.contains(FORMULA_START, regex=True).fillna(False).astype(bool)
        if formula.any():
            out[column] = text.mask(formula, "'" + text)
    return out


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """A table as a published CSV, the same bytes every time: no index, '\\n' line ends, UTF-8, and no cell a
    spreadsheet would run as a formula (neutralise_formulas). Parquet and processed tables keep the values."""
    with atomic_path(path) as tmp:
        neutralise_formulas(table).to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    return path


def write_json(obj: object, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def read_utf8(path: Path, encoding: str = "utf-8") -> bytes:
    """Return the file as UTF-8 bytes without BOM; a wrong encoding is reported with its row."""
    data = path.read_bytes()
    if not data.strip():
        raise InputError(path, "file is empty")
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        data = data.removeprefix(b"\xef\xbb\xbf")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            row = data[: exc.start].count(b"\n") + 1
            raise InputError(
                path,
                f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); declare the file's encoding, e.g. latin-1",
                row=row,
            ) from None
        return data
    return data.decode(encoding).encode("utf-8")


def sniff_delimiter(header_line: str) -> str:
    """Pick the delimiter that splits the header line into the most fields (ties: the earlier one)."""
    return max(DELIMITERS, key=lambda d: len(next(csv.reader([header_line], delimiter=d))))


def read_csv_text(
    path: Path, encoding: str = "utf-8", delimiter: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a CSV as all-string columns with ``source_row`` (header = row 1, one row per record).

    Returns the rows and the malformed ones (wrong number of fields) as ``source_row, message, text``,
    so that the caller can reject them instead of losing them.
    """
    data = read_utf8(path, encoding)
    # Any line end: a CSV saved by older Mac spreadsheets ends its lines with a bare CR, and is read as written.
    header_line = LINE_END.split(data, maxsplit=1)[0].decode("utf-8")
    sep = delimiter or sniff_delimiter(header_line)
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=sep))]
    if len(header) < 2:
        raise InputError(path, "cannot find a delimiter in the header line", row=1)
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(path, "duplicate column name in the header", row=1, column=dupes[0])
    bad: list[tuple[int, str, str]] = []

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        # pyarrow numbers records from 1 counting the skipped header, which is the numbering we want.
        msg = f"has {row.actual_columns} fields where the header has {row.expected_columns}"
        bad.append((row.number, msg, row.text))
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_bad_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows == 0 and not bad:
        raise InputError(path, "file has a header but no data rows", row=1)
    bad_rows = {n for n, _, _ in bad}
    rows = [n for n in range(2, table.num_rows + len(bad) + 2) if n not in bad_rows]
    frame = table.to_pandas()
    frame.insert(0, "source_row", pd.array(rows, dtype="Int64"))
    malformed = pd.DataFrame(bad, columns=["source_row", "message", "text"])
    return frame, malformed
