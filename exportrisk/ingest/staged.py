"""What a cleaning step returns, kept apart from ``clean`` so that step modules can import it freely."""

from dataclasses import dataclass, field

import pandas as pd

from exportrisk.ingest.rejects import malformed_rejects
from exportrisk.ingest.sources import Staged


@dataclass
class StepResult:
    """What one cleaning step produced: tables by name, rejects, rows per raw file, sources skipped."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rejects: list[pd.DataFrame] = field(default_factory=list)
    raw_rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)  # raw file -> what its own count says if it does not add up

    def record(self, part: Staged, source: str, table: str, kept: pd.DataFrame, rejected: pd.DataFrame) -> pd.DataFrame:
        """Count a raw file's rows (counted apart from the reader where it can be) and collect its rejects
        (malformed rows too); return its canonical rows."""
        self.raw_rows[part.source_file] = len(part.raw) + len(part.malformed)
        if part.counted is not None:
            self.raw_rows[part.source_file] = part.counted.records
            self.why[part.source_file] = part.counted.why
        self.rejects.append(rejected)
        if len(part.malformed):
            self.rejects.append(malformed_rejects(part.malformed, source, part.source_file, table))
        return kept
