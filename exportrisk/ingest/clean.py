"""``exportrisk clean``: every raw source into validated tables in data/processed/, nothing lost.

Cleaning runs in steps, one per family of canonical tables (licences, and later indicators and
evidence). Each step returns its tables, its rejects and the number of rows in each raw file it read;
``clean`` reconciles those counts (raw rows = rows kept + rows rejected, per file), validates every table
against its declared schema and writes them atomically, with reconciliation.csv beside them.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from exportrisk.errors import InputError
from exportrisk.ingest import licences, registry
from exportrisk.ingest.files import atomic_path, write_parquet
from exportrisk.ingest.sources import Staged, caat_uk, nl_licences, pegasus_victims, read_source_csv, spreadsheet
from exportrisk.ingest.staged import StepResult
from exportrisk.knowledge import evidence, indicators
from exportrisk.reference import countries, pseudonyms
from exportrisk.schema import AGGREGATES, LICENCES, REJECTS, TABLES, conform, validate

LICENCE_SOURCES: dict[str, Callable[[Path], list[Staged]]] = {
    caat_uk.NAME: caat_uk.stage,
    nl_licences.NAME: nl_licences.stage,
}


@dataclass
class CleanResult:
    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    reconciliation: pd.DataFrame
    skipped: list[str]
    unread: list[str] = field(default_factory=list)  # folders of data/raw/ no registry row or mapping covers

    @property
    def emptied(self) -> pd.DataFrame:
        """Raw files with records of which none was kept: the mapping or the file is wrong, not the rows."""
        recon = self.reconciliation
        return recon[(recon["raw_rows"] > 0) & (recon["clean_rows"] == 0)]

    @property
    def licences(self) -> pd.DataFrame:
        return self.tables["licences"]


def clean_staged(
    staged: list[Staged],
    source: str,
    today: pd.Timestamp,
    out: StepResult,
    names: countries.CountryMapping | None = None,
    table: str = "licences",
    own: bool = False,
) -> list[pd.DataFrame]:
    """Finalise each raw file of a licence source into lines, collecting rejects and row counts.

    A researcher's ``own`` source has its conflicting duplicates rejected too.
    """
    return [
        out.record(
            part,
            source,
            table,
            *licences.finalise(part.rows, part.raw, source, part.columns, today, names, table, own),
        )
        for part in staged
    ]


def mapped_folders(raw_dir: Path) -> list[Path]:
    """Licence folders read through a mapping: researchers' own (an exportrisk.yaml inside) and registry sources
    whose mapping is in the package's or the project's metadata/mappings/."""
    own = sorted(p.parent for p in raw_dir.glob(f"*/{spreadsheet.MAPPING_FILE}"))
    downloaded = {n for n, s in registry.sources().items() if not s.base_url.startswith(registry.PACKAGED)}
    for folder in own:  # the curated folder is a registered spreadsheet source, copied from the package
        if folder.name in LICENCE_SOURCES or folder.name in downloaded:
            raise InputError(folder / spreadsheet.MAPPING_FILE, "folder name is a registry source's: rename the folder")
    registered = [
        raw_dir / s.name for s in registry.sources().values() if s.kind == "licences" and s.name not in LICENCE_SOURCES
    ]
    return sorted(own + registered)


def victim_names(raw_dir: Path) -> re.Pattern[str] | None:
    """The pattern finding any part of a Pegasus victim's name, where the project has the victim database."""
    folder = raw_dir / pegasus_victims.NAME
    if not (folder / pegasus_victims.FILE).is_file():
        return None
    raw, _ = read_source_csv(folder, pegasus_victims.FILE, ["name"])
    return pseudonyms.name_pattern(raw["name"].str.strip().replace("", pd.NA))


def clean_mapped(
    folder: Path, today: pd.Timestamp, out: StepResult, names: re.Pattern[str] | None = None
) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """One mapped folder's licence lines and aggregates (each YAML document of its mapping is one or the other).

    A researcher's own folder (its exportrisk.yaml inside) is checked harder than a registered source: rows of
    one licence that disagree are rejected, and with ``names`` free-text cells naming a victim are rejected and
    withheld from the rejects' raw row.
    """
    own = (folder / spreadsheet.MAPPING_FILE).is_file()
    lines, totals = [], []
    for spec in spreadsheet.load_folder_specs(folder):
        staged = spreadsheet.stage(folder, [spec])
        if names is not None and own:
            for part in staged:
                spreadsheet.reject_names(part, names)
        if spec.aggregate is None:
            lines += clean_staged(staged, folder.name, today, out, spec.countries, own=own)
        else:
            parts = clean_staged(staged, folder.name, today, out, spec.countries, "aggregates", own)
            totals += [licences.as_aggregates(p, spec.aggregate) for p in parts]
    return lines, totals


def clean_licences(raw_dir: Path, today: pd.Timestamp) -> StepResult:
    out = StepResult()
    lines, totals = [LICENCES.empty()], [AGGREGATES.empty()]
    mapped = mapped_folders(raw_dir)
    names = victim_names(raw_dir)
    for name, stage in sorted(LICENCE_SOURCES.items()):
        folder = raw_dir / name
        if folder.is_dir():
            lines += clean_staged(stage(folder), name, today, out)
        else:
            out.skipped.append(name)
    for folder in mapped:
        if not folder.is_dir():
            out.skipped.append(folder.name)
            continue
        found, counted = clean_mapped(folder, today, out, names)
        lines += found
        totals += counted
    out.tables["licences"] = pd.concat(lines, ignore_index=True)  # each part is conformed already
    out.tables["aggregates"] = pd.concat(totals, ignore_index=True)
    return out


def check_source(folder: Path, today: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Dry-run one mapped folder: its reconciliation, rejects and what a count that does not add up says,
    nothing written (``exportrisk check-source``)."""
    out = StepResult()
    lines, totals = clean_mapped(folder, today, out)
    rejects = conform(pd.concat([REJECTS.empty(), *out.rejects], ignore_index=True), REJECTS)
    rejects = rejects.sort_values(["source_file", "source_row"], ignore_index=True)
    return reconcile(out.raw_rows, lines + totals, rejects), rejects, out.why


def unread_folders(raw_dir: Path) -> list[str]:
    """Folders of data/raw/ that nothing reads: neither registered nor holding a mapping file."""
    known = set(registry.sources()) | set(LICENCE_SOURCES)
    folders = sorted(p for p in raw_dir.iterdir() if p.is_dir()) if raw_dir.is_dir() else []
    return [
        f.name
        for f in folders
        if f.name not in known and not f.name.startswith(".") and not (f / spreadsheet.MAPPING_FILE).is_file()
    ]


# The cleaning steps, each turning its sources in data/raw/ into tables (pipeline.STEPS is the whole pipeline).
CLEANERS: list[Callable[[Path, pd.Timestamp], StepResult]] = [
    clean_licences,
    indicators.clean_indicators,
    evidence.clean_evidence,
]


def record_keys(table: pd.DataFrame) -> pd.DataFrame:
    """The raw records a table holds: (source_file, source_row, source_column), without repeats."""
    keys = table[["source_file", "source_row"]].astype({"source_file": "string", "source_row": "Int64"})
    keys["source_column"] = table["source_column"].astype("string") if "source_column" in table else pd.NA
    return keys.fillna({"source_column": ""}).drop_duplicates()


def reconcile(raw_rows: dict[str, int], tables: list[pd.DataFrame], rejects: pd.DataFrame) -> pd.DataFrame:
    """Per raw file: raw records = records kept + records rejected, and no record is in both.

    A record is a raw row, or for wide layouts a (row, source_column) cell group.
    """
    kept = pd.concat([record_keys(t) for t in tables if "source_row" in t] + [record_keys(rejects.iloc[:0])])
    dropped = record_keys(rejects)
    both = kept.merge(dropped, on=["source_file", "source_row", "source_column"])
    table = pd.DataFrame({"source_file": sorted(raw_rows)})
    table["raw_rows"] = table["source_file"].map(raw_rows).astype(int)
    table["clean_rows"] = table["source_file"].map(kept.groupby("source_file").size()).fillna(0).astype(int)
    table["rejected_rows"] = table["source_file"].map(dropped.groupby("source_file").size()).fillna(0).astype(int)
    table["in_both"] = table["source_file"].map(both.groupby("source_file").size()).fillna(0).astype(int)
    table["reconciled"] = (table["raw_rows"] == table["clean_rows"] + table["rejected_rows"]) & (table["in_both"] == 0)
    return table


def unreconciled(recon: pd.DataFrame, why: dict[str, str], raw_dir: Path) -> InputError:
    """The first raw file whose records do not add up, in one line: the counts, and why where its count can tell.

    Raw records are counted apart from the reader (exportrisk.ingest.records), so a record the reader folded into
    another or never saw shows here rather than as "3 = 3 + 0".
    """
    bad = recon[~recon["reconciled"]].iloc[0]
    path = raw_dir / bad["source_file"]
    if bad["in_both"]:
        return InputError(path, f"{bad['in_both']} records both kept and rejected (a bug)")
    counts = f"{bad['raw_rows']} records in the file, {bad['clean_rows']} kept + {bad['rejected_rows']} rejected"
    return InputError(path, f"{counts}: {why.get(bad['source_file']) or 'the reader lost or folded records'}")


def clean(raw_dir: Path, processed_dir: Path, today: dt.date | None = None) -> CleanResult:
    today_ts = pd.Timestamp(today or dt.date.today())
    tables: dict[str, pd.DataFrame] = {}
    rejects: list[pd.DataFrame] = [REJECTS.empty()]
    raw_rows: dict[str, int] = {}
    why: dict[str, str] = {}
    skipped: list[str] = []
    for step in CLEANERS:
        result = step(raw_dir, today_ts)
        tables.update(result.tables)
        rejects += result.rejects
        raw_rows.update(result.raw_rows)
        why.update(result.why)
        skipped += result.skipped
    all_rejects = conform(pd.concat(rejects, ignore_index=True), REJECTS)
    all_rejects = all_rejects.sort_values(["table", "source_file", "source_row", "source_column"], ignore_index=True)
    for name, table in tables.items():
        validate(table, TABLES[name])
    validate(all_rejects, REJECTS)
    recon = reconcile(raw_rows, list(tables.values()), all_rejects)
    if not recon["reconciled"].all():
        raise unreconciled(recon, why, raw_dir)
    for name, table in tables.items():
        write_parquet(table, processed_dir / f"{name}.parquet")
    write_parquet(all_rejects, processed_dir / "rejects.parquet")
    with atomic_path(processed_dir / "reconciliation.csv") as tmp:
        recon.to_csv(tmp, index=False, lineterminator="\n")
    return CleanResult(tables, all_rejects, recon, skipped, unread_folders(raw_dir))
