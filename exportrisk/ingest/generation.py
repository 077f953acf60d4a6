"""One generation per step: a step's outputs replace the earlier ones all together or not at all.

Every output is written to a temporary file beside it (exportrisk.ingest.files.atomic_path). Inside
``generation(folder)`` the renames wait until the step has written everything; then a journal
(``folder/.generation.json``, itself written by one rename: the commit point) lists each temporary file and the
file it replaces, the renames happen, and the journal goes. A run killed before the commit point leaves the
earlier tables whole, beside temporary files; one killed after it leaves the journal. The next run that writes
(under the project lock, exportrisk.lock) calls ``tidy``: it finishes the renames a journal lists and removes
every temporary file. So between runs every step's tables are all of one run, and readers open
``data/processed/<table>.parquet`` as ever, with no manifest to consult.

A process killed (kill -9, out of memory) loses nothing the operating system already has; a power cut may
lose what it had not yet written to disk (nothing here calls fsync).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

JOURNAL = ".generation.json"
TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # atomic_path's temporary files: .<name>.<mkstemp's 8>.tmp
CRASH_AT = "EXPORTRISK_CRASH_AT"  # for the kill tests: "<label>:<point>" kills the run there (crash_point)

log = logging.getLogger(__name__)
_open: contextvars.ContextVar[Generation | None] = contextvars.ContextVar("generation", default=None)


def crash_point(label: str, point: str) -> None:
    """Kill this process with SIGKILL if EXPORTRISK_CRASH_AT names this point: how the tests crash a run exactly
    between two renames. Costs one environment look-up."""
    if os.environ.get(CRASH_AT) == f"{label}:{point}":
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Generation:
    """The outputs one step has written so far, each as (temporary file, file it will replace)."""

    folder: Path
    label: str
    moves: dict[Path, Path] = field(default_factory=dict)  # final path -> its temporary file

    def add(self, temp: Path, final: Path) -> None:
        """Hold ``temp`` until the commit; a second write of the same file replaces the first."""
        earlier = self.moves.pop(final, None)
        if earlier is not None:
            earlier.unlink(missing_ok=True)
        self.moves[final] = temp

    def discard(self) -> None:
        for temp in self.moves.values():
            temp.unlink(missing_ok=True)
        self.moves.clear()

    def commit(self) -> None:
        """Write the journal (the commit point), rename every temporary file into place, remove the journal."""
        if not self.moves:
            return
        journal = self.folder / JOURNAL
        entries = [{"temp": _rel(t, self.folder), "path": _rel(f, self.folder)} for f, t in sorted(self.moves.items())]
        staged = journal.with_name(f"{JOURNAL}.{os.getpid()}.tmp")
        staged.write_text(json.dumps({"step": self.label, "moves": entries}, indent=1) + "\n", encoding="utf-8")
        crash_point(self.label, "written")
        os.replace(staged, journal)
        crash_point(self.label, "committed")
        for i, (final, temp) in enumerate(sorted(self.moves.items())):
            os.replace(temp, final)
            if i == 0:
                crash_point(self.label, "renamed one")
        crash_point(self.label, "renamed all")
        journal.unlink()
        self.moves.clear()


def _rel(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def holding(path: Path) -> Generation | None:
    """The open generation that ``path`` is an output of, if any (atomic_path then leaves the rename to it)."""
    found = _open.get()
    return found if found is not None and path.is_relative_to(found.folder) else None


@contextlib.contextmanager
def generation(folder: Path, label: str) -> Iterator[Generation]:
    """The block's writes under ``folder`` become visible together when it ends, or not at all if it fails.

    ``label`` names the step (for the log and the kill tests). A generation opened inside another for the same
    folder joins it."""
    outer = _open.get()
    if outer is not None and folder.is_relative_to(outer.folder):
        yield outer
        return
    folder.mkdir(parents=True, exist_ok=True)
    current = Generation(folder, label)
    token = _open.set(current)
    try:
        yield current
    except BaseException:
        current.discard()
        raise
    finally:
        _open.reset(token)
    current.commit()


def tidy(folder: Path) -> list[str]:
    """Finish the generations a killed run committed and remove every temporary file under ``folder``; what it
    did, one phrase each. Call it under the project lock, before anything else writes."""
    done: list[str] = []
    if not folder.is_dir():
        return done
    for journal in sorted(folder.rglob(JOURNAL)):
        try:
            found = json.loads(journal.read_text(encoding="utf-8"))
            moves = [(journal.parent / m["temp"], journal.parent / m["path"]) for m in found["moves"]]
        except (OSError, ValueError, KeyError, TypeError):
            # never written by a commit (that renames a whole file into place): nothing in it to finish
            done.append(f"removed an unreadable {journal}")
            journal.unlink()
            continue
        finished = 0
        for temp, final in moves:
            if temp.is_file():
                os.replace(temp, final)
                finished += 1
        journal.unlink()
        done.append(f"finished {found.get('step', 'a step')}'s outputs in {journal.parent} ({finished} renamed)")
    temps = sorted(p for p in folder.rglob("*.tmp") if TEMP.match(p.name) or p.name.startswith(f"{JOURNAL}."))
    for temp in temps:
        temp.unlink(missing_ok=True)
    if temps:
        done.append(f"removed {len(temps)} temporary file(s) of an interrupted run under {folder}")
    for line in done:
        log.info("tidy: %s", line)
    return done
