"""One run at a time on a project: the commands that write data/ or reports/ hold a lock on the project.

Two runs at once (a nightly build still going when the next starts, a researcher's `exportrisk clean` during
it) would each rewrite the same tables and state files. The lock is an OS file lock (filelock: flock on
data/.lock), so it goes with its process however that ends, kill -9 included: a crashed run never blocks the
next. Beside it, data/.lock.json says who holds it since when, so the run that finds it taken can say so. A run
that takes the lock first tidies what a killed run left in data/ (exportrisk.ingest.generation.tidy).
"""

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import filelock

from exportrisk.ingest.files import write_json
from exportrisk.ingest.generation import tidy

LOCK = ".lock"
HOLDER = ".lock.json"
EXIT_LOCKED = 75  # EX_TEMPFAIL (sysexits.h): try again later

log = logging.getLogger(__name__)


class Locked(Exception):
    """Another run holds the project's lock; the message says which and since when."""


def holder(data: Path, patience: float = 2.0) -> str:
    """Who holds the lock, as the holder wrote it: 'exportrisk build (pid 123 on host) since <UTC time>'.

    The holder writes its file just after taking the lock, so a run that finds the lock taken in that instant
    waits up to ``patience`` seconds for the file before saying it does not know.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            found = json.loads((data / HOLDER).read_text(encoding="utf-8"))
            return f"exportrisk {found['command']} (pid {found['pid']} on {found['host']}) since {found['since']}"
        except (OSError, ValueError, KeyError):
            if time.monotonic() >= deadline:
                return "a run that has not said since when"
            time.sleep(0.05)


@contextlib.contextmanager
def project_lock(data: Path, command: str, wait: float = 0) -> Iterator[None]:
    """Hold the project's lock for the block; wait up to ``wait`` seconds for it, else raise Locked."""
    data.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(data / LOCK)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        held = f"another run holds the lock on {data.parent}: {holder(data)}"
        if not wait:
            raise Locked(held) from None
        log.info("waiting up to %g s for the lock: %s", wait, held)
        try:
            lock.acquire(timeout=wait)
        except filelock.Timeout:
            raise Locked(f"{held} (waited {wait:g} s)") from None
    try:
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        write_json(
            {"command": command, "pid": os.getpid(), "host": socket.gethostname(), "since": since}, data / HOLDER
        )
        tidy(data)  # what a killed run left: finish its committed generations, remove its temporary files
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            (data / HOLDER).unlink()
        lock.release()
