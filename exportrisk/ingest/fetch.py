"""Fetch the public originals of each registered source into data/raw/<source>/, with provenance.

Files come from the source's URL (streamed to disk by pooch, tried again after a dropped connection or a
server error) or from a local mirror folder laid out like data/raw/ (one folder per source); the project's own
curated source ships inside the package and is copied from there. Every file is
checked against the sha256 the registry pins, if it pins one: a file that differs is not the source the
project cites, so the source is refused, never written. A source's files are first gathered in a staging
folder beside data/raw/ and moved in only when all of them arrived and passed, so a failed fetch leaves the
earlier copy as it was. Beside the files, ``fetch.json`` records origin, sha256, size and retrieval date,
so every report can cite its inputs.
"""

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pooch

from exportrisk import __version__, config
from exportrisk.errors import InputError
from exportrisk.ingest.files import atomic_path, file_sha256, write_json
from exportrisk.ingest.generation import generation
from exportrisk.ingest.registry import PACKAGED, Source, sources

MANIFEST = "fetch.json"
STAGING_PREFIX = ".fetch-"  # staging folders in data/, hidden, never inside data/raw/
RETRIES = 3  # a download is tried again this often (pooch waits 1, 2, 3 s between tries)
TIMEOUT = 30  # seconds without an answer before a try counts as failed

log = logging.getLogger(__name__)
pooch.get_logger().setLevel(logging.WARNING)  # pooch prints each download itself; this module logs them


class Unavailable(Exception):
    """A source cannot be had right now; the message says why."""


@dataclass(frozen=True)
class FetchResult:
    source: str
    status: str  # "fetched", "unchanged" or "unavailable"
    detail: str
    present: bool = True  # usable raw files are in data/raw/<source>/ (from this fetch or an earlier one)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _reason(exc: OSError, url: str) -> str:
    """One readable phrase for a failed download (requests' own messages run to several hundred characters)."""
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason} from {url}"
    if getattr(exc, "request", None) is not None:  # a requests error without an answer
        return f"no answer from {urlsplit(url).netloc} ({type(exc).__name__})"
    return str(exc)


def packaged(source: Source) -> Path | None:
    """The package folder a source ships in (the curated data, wherever installed), None for a public source."""
    if not source.base_url.startswith(PACKAGED):
        return None
    return config.PACKAGE_DIR / source.base_url.removeprefix(PACKAGED)


def expected_files(source: Source) -> dict[str, str | None]:
    """File name -> pinned sha256 (None: not pinned); a packaged source is every file of its folder."""
    folder = packaged(source)
    if folder is None:
        return source.files
    return {p.name: None for p in sorted(folder.iterdir()) if p.is_file()} if folder.is_dir() else {}


def _download(source: Source, staging: Path, timeout: float, retries: int) -> None:
    fetcher = pooch.create(
        path=staging,
        base_url=source.base_url,
        registry=dict.fromkeys(source.files),  # checked below, as mirror copies are, with one message
        retry_if_failed=retries,
    )
    for name in source.files:
        log.info("%s: downloading %s%s", source.name, source.base_url, name)
        try:
            fetcher.fetch(name, downloader=pooch.HTTPDownloader(timeout=timeout))
        except OSError as exc:  # requests' errors are OSErrors
            raise Unavailable(f"{name}: {_reason(exc, source.base_url + name)}") from exc


def _copy(files: dict[str, str | None], staging: Path, folder: Path) -> None:
    if not files:
        raise Unavailable(f"{folder} holds no files")
    for name in files:
        path = folder / name
        if not path.is_file():
            raise Unavailable(f"{path} is missing")
        shutil.copyfile(path, staging / name)


def _check(files: dict[str, str | None], staging: Path) -> dict[str, str]:
    """Each staged file's sha256, after checking it against the registry's pin."""
    digests = {name: file_sha256(staging / name) for name in files}
    for name, pinned in files.items():
        if pinned and digests[name] != pinned:
            raise Unavailable(
                f"{name}: sha256 {digests[name][:12]}... differs from the registry's {pinned[:12]}... "
                "(a changed or corrupted file; if the source was updated, pin the new sha256 in sources.yaml)"
            )
    return digests


def earlier_copy(source: Source, raw_dir: Path) -> str | None:
    """The retrieval date of a complete earlier fetch of the source in raw_dir, or None."""
    dest = raw_dir / source.name
    if not (dest / MANIFEST).is_file() or not all((dest / name).is_file() for name in expected_files(source)):
        return None
    try:
        return str(json.loads((dest / MANIFEST).read_text(encoding="utf-8")).get("retrieved", "an unknown date"))
    except (OSError, ValueError, AttributeError):
        return None


def altered(raw_dir: Path, names: list[str] | None = None) -> list[tuple[Path, str]]:
    """Each fetched file (of the named sources, default all) that is no longer what fetch.json recorded, and how.

    A raw file edited, truncated or replaced after fetch would otherwise be cleaned and cited with the checksum
    of the file it replaced. A folder without fetch.json (a researcher's own source) has nothing to check."""
    manifests = [raw_dir / n / MANIFEST for n in names] if names else sorted(raw_dir.glob(f"*/{MANIFEST}"))
    found: list[tuple[Path, str]] = []
    for manifest in manifests:
        if not manifest.exists():
            continue
        try:
            recorded = {name: str(f["sha256"]) for name, f in json.loads(manifest.read_text("utf-8"))["files"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            found.append((manifest, "unreadable (changed after fetch wrote it)"))
            continue
        for name, pinned in sorted(recorded.items()):
            path = manifest.parent / name
            if not path.is_file():
                found.append((path, "missing, though fetch.json lists it"))
            elif (digest := file_sha256(path)) != pinned:
                changed = f"sha256 {digest[:12]}... differs from {pinned[:12]}... in fetch.json (changed after fetch)"
                found.append((path, changed))
    return found


def verify(raw_dir: Path) -> None:
    """Stop, with one line naming the file, on a fetched file that is not what fetch wrote: never clean it."""
    found = altered(raw_dir)
    if found:
        path, how = found[0]
        more = f" (and {len(found) - 1} more file(s))" if len(found) > 1 else ""
        raise InputError(path, f"{how}{more}; `exportrisk fetch` restores it (with --from DIR, from a mirror)")


@contextlib.contextmanager
def staging_folder(raw_dir: Path, name: str) -> Iterator[Path]:
    """A fresh folder beside raw_dir (same file system, so files move in by rename), removed afterwards."""
    raw_dir.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{name}-", dir=raw_dir.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fetch_source(
    source: Source, raw_dir: Path, mirror: Path | None, timeout: float = TIMEOUT, retries: int = RETRIES
) -> FetchResult:
    package = packaged(source)
    files = expected_files(source)
    where = "package" if package else "mirror" if mirror is not None else "network"
    dest = raw_dir / source.name
    with staging_folder(raw_dir, source.name) as staging:
        try:
            if package is not None:
                _copy(files, staging, package)
            elif mirror is not None:
                _copy(files, staging, mirror / source.name)
            else:
                _download(source, staging, timeout, retries)
            digests = _check(files, staging)
        except (Unavailable, OSError) as exc:
            retrieved = earlier_copy(source, raw_dir)
            kept = f"present from an earlier fetch ({retrieved})" if retrieved else "no earlier copy"
            kept += "".join(f"; but {path.name} is {how}" for path, how in altered(raw_dir, [source.name])[:1])
            return FetchResult(
                source.name, "unavailable", f"not available from the {where}: {exc}; {kept}", bool(retrieved)
            )
        altered_here = [path.name for path, _ in altered(raw_dir, [source.name])]
        if not altered_here and earlier_copy(source, raw_dir) is not None:
            recorded = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))["files"]
            if {n: f["sha256"] for n, f in recorded.items()} == digests:
                return FetchResult(source.name, "unchanged", f"{len(digests)} file(s) already present")
        if package is not None:
            origin = f"exportrisk {__version__} package data ({source.base_url})"
        else:
            origin = str(mirror / source.name) if mirror is not None else source.base_url
        manifest = {
            "source": source.name,
            "title": source.title,
            "origin": origin,
            "licence": source.licence,
            "citation": source.citation,
            "retrieved": dt.date.today().isoformat(),
            "files": {
                n: {"sha256": d, "bytes": (staging / n).stat().st_size, "pinned": bool(files[n])}
                for n, d in digests.items()
            },
        }
        with generation(dest, "fetch"):  # the files and their manifest arrive together
            for name in digests:
                with atomic_path(dest / name) as tmp:
                    os.replace(staging / name, tmp)
            write_json(manifest, dest / MANIFEST)
    restored = f"; restored {', '.join(altered_here)}, changed since the earlier fetch" if altered_here else ""
    return FetchResult(source.name, "fetched", f"{len(digests)} file(s) from {origin}{restored}")


def remove_stale_staging(raw_dir: Path) -> None:
    """Staging folders left by a fetch that was killed: nothing reads them, but they take space."""
    for folder in raw_dir.parent.glob(f"{STAGING_PREFIX}*") if raw_dir.parent.is_dir() else []:
        shutil.rmtree(folder, ignore_errors=True)


def fetch_all(raw_dir: Path, mirror: Path | None = None, names: list[str] | None = None) -> list[FetchResult]:
    registry = sources()
    remove_stale_staging(raw_dir)
    return [fetch_source(registry[n], raw_dir, mirror) for n in (names or sorted(registry))]


def missing(raw_dir: Path) -> list[str]:
    """The registered sources with no complete copy in raw_dir."""
    return [name for name, source in sources().items() if earlier_copy(source, raw_dir) is None]


def summary(results: list[FetchResult]) -> tuple[str, list[str]]:
    """One line on a fetch, and the sources missing with no earlier copy (what a scheduler must hear of)."""
    absent = [r.source for r in results if not r.present]
    stale = [r.source for r in results if r.status == "unavailable" and r.present]
    line = f"{len(results) - len(absent) - len(stale)} of {len(results)} source(s) fetched or unchanged"
    if stale:
        line += f"; {', '.join(stale)} unavailable, present from an earlier fetch"
    if absent:
        line += f"; {', '.join(absent)} missing with no earlier copy"
    return line, absent
