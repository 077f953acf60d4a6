"""One module per licence source: read its raw files and stage rows in canonical columns.

A source module exposes ``stage(folder) -> list[Staged]`` (one per raw file). Shared checks and the split
into licences and rejects are in ``exportrisk.ingest.licences``.
"""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_csv_text
from exportrisk.ingest.records import Counted


@dataclass
class Staged:
    """Rows of one raw file in canonical columns, index-aligned with the raw rows they came from."""

    source_file: str  # lineage name, '<source folder>/<file>'
    rows: pd.DataFrame
    raw: pd.DataFrame
    columns: dict[str, str]  # canonical column -> raw column it was read from, for messages
    malformed: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows the reader could not split
    counted: Counted | None = None  # the file's records counted apart from the reader, where it can be


def require_columns(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            path,
            f"required column missing (found: {', '.join(map(str, frame.columns))})",
            row=1,
            column=missing[0],
        )


def read_source_csv(folder: Path, name: str, columns: list[str], **kwargs: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one raw CSV of a source, checking its expected columns are there."""
    path = folder / name
    if not path.is_file():
        raise InputError(path, "file is missing: run `exportrisk fetch` or restore it")
    frame, malformed = read_csv_text(path, **kwargs)
    require_columns(frame, path, columns)
    return frame, malformed


def source_file(folder: Path, name: str) -> str:
    """Lineage name of a raw file: '<source folder>/<file>'."""
    return f"{folder.name}/{name}"
