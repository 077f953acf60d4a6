"""The published tables as one SQLite database for Datasette (or sqlite3, or any SQL tool).

Each column's meaning travels in the file itself, as a comment in its table's CREATE statement (`.schema`
shows it), and beside it in metadata.json, which `datasette exportrisk.sqlite --metadata metadata.json`
shows on every table page. The file is built in a temporary file by the same statements in the same order
every time, so the same tables give the same bytes.
"""

import contextlib
import sqlite3
from pathlib import Path

import pandas as pd

from exportrisk import listcols
from exportrisk.ingest.files import atomic_path, write_json
from exportrisk.schema import Field, Table

DATABASE = "exportrisk.sqlite"
METADATA = "metadata.json"
SQL_TYPES = {"string": "TEXT", "category": "TEXT", "Int64": "INTEGER", "Float64": "REAL", "boolean": "INTEGER"}
SQL_TYPES["date"] = "TEXT"  # ISO days sort and compare as text; Datasette shows them as they are
SQL_TYPES["list"] = "TEXT"  # the values joined by '; ', as in the CSV


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_sql(field: Field) -> str:
    comment = " ".join(field.description.split())
    return f"  {quoted(field.name)} {SQL_TYPES[field.dtype]}{' NOT NULL' if field.required else ''}, -- {comment}"


def create_sql(table: Table) -> str:
    key = ", ".join(map(quoted, table.primary_key))
    lines = [f"CREATE TABLE {quoted(table.name)} ( -- {' '.join(table.description.split())}"]
    lines += [column_sql(f) for f in table.fields]
    lines.append(f"  PRIMARY KEY ({key})\n)")
    return "\n".join(lines)


def rows(frame: pd.DataFrame, table: Table) -> list[tuple[object, ...]]:
    """Python values sqlite3 stores: None for missing, ISO text for dates, 0/1 for booleans, lists joined."""
    columns = []
    for field in table.fields:
        col = frame[field.name]
        if field.dtype == "date":
            col = col.dt.strftime("%Y-%m-%d")
        elif field.dtype == "list":
            col = listcols.join(col)
        values = col.astype(object).where(col.notna(), None)
        columns.append([bool(v) if field.dtype == "boolean" and v is not None else v for v in values])
    return list(zip(*columns, strict=True))


def write_sqlite(tables: dict[str, tuple[Table, pd.DataFrame]], folder: Path) -> Path:
    path = folder / DATABASE
    with atomic_path(path) as tmp, contextlib.closing(sqlite3.connect(tmp)) as db:
        db.execute("PRAGMA journal_mode = OFF")  # the temporary file is the journal: renamed in only when whole
        for name, (table, frame) in tables.items():
            db.execute(create_sql(table))
            marks = ", ".join("?" * len(table.fields))
            db.executemany(f"INSERT INTO {quoted(name)} VALUES ({marks})", rows(frame, table))
        db.commit()
    write_json(datasette_metadata(tables), folder / METADATA)
    return path


def datasette_metadata(tables: dict[str, tuple[Table, pd.DataFrame]]) -> dict[str, object]:
    """Titles and descriptions of every table and column, in the layout of Datasette's metadata.json."""
    return {
        "title": "exportrisk",
        "description": "Export licences screened for human-rights risk; each column's meaning is shown with it.",
        "databases": {
            Path(DATABASE).stem: {
                "tables": {
                    name: {
                        "description": table.description,
                        "columns": {f.name: f.description for f in table.fields},
                    }
                    for name, (table, _) in tables.items()
                }
            }
        },
    }
