"""What a run did, kept where a scheduler's owner can read it: a log with timestamps and levels, and a JSON
summary of each build.

The log goes to data/logs/exportrisk.log (never reports/, which is published) and, without the timestamps,
to the terminal, which shows what it always showed. Each `exportrisk build` also leaves
data/logs/builds/<UTC start>.json and a copy as data/logs/last-build.json: its steps with their durations,
the sources fetched or unavailable and why, the rows of every processed table, the reports written and
those that failed, and the exit code.
"""

import contextlib
import datetime as dt
import logging
import logging.handlers
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from exportrisk.errors import InputError
from exportrisk.ingest.files import write_json

LOGS = "logs"  # under data/
LOG = "exportrisk.log"
LAST_BUILD = "last-build.json"
log = logging.getLogger(__name__)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_BYTES, LOG_KEEP = 10_000_000, 5  # rotated at 10 MB, five old logs kept: a nightly run never fills the disk


class UTCFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")


@contextlib.contextmanager
def logging_to(logs: Path) -> Iterator[Path]:
    """Log the package's messages to logs/exportrisk.log and to the terminal for the block (a command's run)."""
    logs.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("exportrisk")
    file = logging.handlers.RotatingFileHandler(logs / LOG, maxBytes=LOG_BYTES, backupCount=LOG_KEEP, encoding="utf-8")
    file.setFormatter(UTCFormatter(FORMAT))
    terminal = logging.StreamHandler(sys.stdout)  # the stdout of this moment: tests and notebooks redirect it
    terminal.setFormatter(logging.Formatter("%(message)s"))
    terminal.addFilter(lambda record: record.levelno < logging.ERROR)  # errors: the CLI's one line on stderr
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(file)
    logger.addHandler(terminal)
    try:
        yield logs / LOG
    finally:
        for handler in (file, terminal):
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)


def table_rows(processed: Path) -> dict[str, int | None]:
    """Rows of each processed table, from the Parquet footers (no table is read); None for an unreadable one."""
    return {p.stem: footer_rows(p) for p in sorted(processed.glob("*.parquet"))}


def footer_rows(path: Path) -> int | None:
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, ValueError, pa.ArrowException):
        return None


def write_summary(logs: Path, summary: dict[str, object]) -> Path:
    """One build's summary as logs/builds/<UTC start>.json, and the same as logs/last-build.json."""
    stamp = str(summary["started"]).replace("-", "").replace(":", "").replace("+0000", "Z")
    path = logs / "builds" / f"{stamp}.json"
    write_json(summary, path)
    write_json(summary, logs / LAST_BUILD)
    return path


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class BuildSummary:
    """What one build did, written when it ends however it ends (see the module's docstring)."""

    arguments: dict[str, object]
    started: str = field(default_factory=now)
    steps: list[object] = field(default_factory=list)  # build.StepResult, in order
    found: dict[str, object] = field(default_factory=dict)  # what the steps tell: sources, reports
    exit_code: int | None = None

    @contextlib.contextmanager
    def kept(self, data: Path) -> Iterator[None]:
        error = None
        try:
            yield
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.exit_code = 2 if isinstance(exc, InputError) else 1
            raise
        finally:
            summary = {
                "started": self.started,
                "finished": now(),
                "exit_code": self.exit_code,
                "error": error,
                "arguments": self.arguments,
                "steps": [asdict(step) for step in self.steps],  # type: ignore[call-overload]
                "sources": self.found.get("sources", []),
                "reports": self.found.get("reports"),
                "tables": table_rows(data / "processed"),
            }
            log.info("build: summary in %s", write_summary(data / LOGS, summary))
