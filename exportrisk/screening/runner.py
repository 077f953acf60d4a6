"""The edge of screening: read the processed tables and the applications, write memos and screenings.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from exportrisk.scoring import score as scoring
from exportrisk.screening import applications, memo, screen

TABLE = "screenings.csv"


def run(
    processed: Path,
    apps: pd.DataFrame | Path,
    out: Path,
    config_path: Path = scoring.DEFAULT_CONFIG,
    formats: tuple[str, ...] = ("html", "pdf"),
) -> tuple[pd.DataFrame, screen.Screening]:
    """Screen applications (a CSV path, or a frame of applications.COLUMNS from flags) into ``out``.

    Everything is checked before anything is written; each file is written whole or not at all.
    """
    cfg = scoring.load_config(config_path)
    tables = screen.read_tables(processed)
    if isinstance(apps, Path):
        checked = applications.read_applications(apps, tables.entities)
    else:
        checked = applications.check_applications(apps, "--flags", tables.entities)
    screening = screen.screen(checked, tables, cfg)
    files = {}
    for i in range(len(checked)) if formats else ():
        files[checked["application_id"].iloc[i]] = memo.write(screening.memo(i), out, formats)
    found = screen.table(screening, files)
    screen.write_csv(found, out / TABLE)
    return found, screening
