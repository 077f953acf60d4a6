"""``exportrisk export``: the processed tables, as published (exportrisk.publish.tables), into one folder:

    datapackage.json, csv/<table>.csv, parquet/<table>.parquet   a Frictionless data package
    exportrisk.sqlite, metadata.json                             one database for Datasette

Every file is written to a temporary name and renamed, and the folder's files end up world-readable (the
temporary files are private), like the reports beside it.
"""

from dataclasses import dataclass
from pathlib import Path

from exportrisk.publish.datapackage import write_datapackage
from exportrisk.publish.sqlite import write_sqlite
from exportrisk.publish.tables import load_published


@dataclass(frozen=True)
class Exported:
    datapackage: Path
    database: Path
    rows: dict[str, int]  # rows per published table


def export(data: Path, folder: Path) -> Exported:
    """Publish data/processed/ (victim names read from data/raw/ for the last guard) into ``folder``; where that
    is the data folder of a report site (reports/data/), the site's index then links it."""
    from exportrisk.reporting import sections
    from exportrisk.reporting.runner import readable, victim_pattern, write_index  # the reports' own guard and modes

    tables = load_published(data / "processed", victim_pattern(data / "raw"))
    exported = Exported(
        write_datapackage(tables, folder),
        write_sqlite(tables, folder),
        {name: len(frame) for name, (_, frame) in tables.items()},
    )
    readable(folder)
    if folder.name == "data" and (folder.parent / sections.INDEX).is_file():
        write_index(folder.parent)
    return exported
