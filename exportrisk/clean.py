"""``exportrisk clean``: every raw licence source into data/processed/, nothing lost.

Writes licences.parquet, rejects.parquet and reconciliation.csv (raw rows, rows in the clean table and
rows rejected, per raw file: the first must equal the sum of the other two).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from exportrisk import licences
from exportrisk.errors import InputError
from exportrisk.io import atomic_path, write_parquet
from exportrisk.rejects import malformed_rejects
from exportrisk.schema import LICENCES, REJECTS, conform, validate
from exportrisk.sources import Staged, caat_uk

LICENCE_SOURCES: dict[str, Callable[[Path], list[Staged]]] = {caat_uk.NAME: caat_uk.stage}


@dataclass
class CleanResult:
    licences: pd.DataFrame
    rejects: pd.DataFrame
    reconciliation: pd.DataFrame
    skipped: list[str]


def clean_staged(staged: list[Staged], source: str, today: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Finalise each raw file of a source; return its licence lines and rejects."""
    lines, rejects = [], []
    for part in staged:
        ok, bad = licences.finalise(part.rows, part.raw, source, part.columns, today)
        lines.append(ok)
        rejects.append(bad)
        if len(part.malformed):
            file = str(part.rows["source_file"].iloc[0]) if len(part.rows) else ""
            rejects.append(malformed_rejects(part.malformed, source, file, "licences"))
    return pd.concat(lines, ignore_index=True), pd.concat(rejects, ignore_index=True)


def reconcile(raw_rows: dict[str, int], lines: pd.DataFrame, rejects: pd.DataFrame) -> pd.DataFrame:
    """Per raw file: raw rows = rows kept + rows rejected, with no row in both."""
    kept = lines.drop_duplicates(["source_file", "source_row"]).groupby("source_file").size()
    dropped = rejects.groupby("source_file").size()
    table = pd.DataFrame({"source_file": sorted(raw_rows)})
    table["raw_rows"] = table["source_file"].map(raw_rows)
    table["clean_rows"] = table["source_file"].map(kept).fillna(0).astype(int)
    table["rejected_rows"] = table["source_file"].map(dropped).fillna(0).astype(int)
    table["licence_lines"] = table["source_file"].map(lines.groupby("source_file").size()).fillna(0).astype(int)
    table["reconciled"] = table["raw_rows"] == table["clean_rows"] + table["rejected_rows"]
    return table


def clean(raw_dir: Path, processed_dir: Path, today: dt.date | None = None) -> CleanResult:
    today_ts = pd.Timestamp(today or dt.date.today())
    all_lines, all_rejects, raw_rows, skipped = [], [], {}, []
    for name, stage in sorted(LICENCE_SOURCES.items()):
        folder = raw_dir / name
        if not folder.is_dir():
            skipped.append(name)
            continue
        staged = stage(folder)
        for part in staged:
            file = str(part.rows["source_file"].iloc[0])
            raw_rows[file] = len(part.raw) + len(part.malformed)
        lines, rejects = clean_staged(staged, name, today_ts)
        all_lines.append(lines)
        all_rejects.append(rejects)
    lines = conform(pd.concat([LICENCES.empty(), *all_lines], ignore_index=True), LICENCES)
    rejects = conform(pd.concat([REJECTS.empty(), *all_rejects], ignore_index=True), REJECTS)
    rejects = rejects.sort_values(["source_file", "source_row"], ignore_index=True)
    validate(lines, LICENCES)
    validate(rejects, REJECTS)
    table = reconcile(raw_rows, lines, rejects)
    if not table["reconciled"].all():
        bad = table[~table["reconciled"]].iloc[0]
        raise InputError(bad["source_file"], "raw rows do not reconcile with clean and rejected rows (a bug)")
    write_parquet(lines, processed_dir / "licences.parquet")
    write_parquet(rejects, processed_dir / "rejects.parquet")
    with atomic_path(processed_dir / "reconciliation.csv") as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    return CleanResult(lines, rejects, table, skipped)
