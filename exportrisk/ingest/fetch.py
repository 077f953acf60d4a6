"""Fetch the public originals of each registered source into data/raw/<source>/, with provenance.

Files come from the source's URL, or from a local mirror folder laid out like data/raw/ (one folder per
source); the project's own curated source ships inside the package and is copied from there. A source is
written whole or not at all, and each write is atomic. Beside the files, ``fetch.json`` records origin,
sha256, size and retrieval date, so every report can cite its inputs.
"""

import datetime as dt
import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from exportrisk import __version__, config
from exportrisk.ingest.files import atomic_path, write_json
from exportrisk.ingest.registry import PACKAGED, Source, sources

MANIFEST = "fetch.json"


@dataclass(frozen=True)
class FetchResult:
    source: str
    status: str  # "fetched", "unchanged" or "unavailable"
    detail: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _collect(source: Source, mirror: Path | None, timeout: float) -> tuple[dict[str, bytes], str]:
    """All files of one source, or an exception saying why they cannot be had."""
    if source.base_url.startswith(PACKAGED):  # package data: every file of its folder, wherever installed
        folder = config.PACKAGE_DIR / source.base_url.removeprefix(PACKAGED)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        if not files:
            raise FileNotFoundError(f"{folder} holds no files")
        return files, f"exportrisk {__version__} package data ({source.base_url})"
    files = {}
    for name in source.files:
        if mirror is not None:
            path = mirror / source.name / name
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing")
            files[name] = path.read_bytes()
        else:
            files[name] = _download(source.base_url + name, timeout)
    origin = str(mirror / source.name) if mirror is not None else source.base_url
    return files, origin


def fetch_source(source: Source, raw_dir: Path, mirror: Path | None, timeout: float = 30) -> FetchResult:
    try:
        files, origin = _collect(source, mirror, timeout)
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", None) or exc
        where = "mirror" if mirror is not None else "network"
        return FetchResult(source.name, "unavailable", f"not available from the {where}: {reason}")
    dest = raw_dir / source.name
    digests = {name: sha256(data) for name, data in files.items()}
    mismatched = sorted(n for n, d in digests.items() if source.files.get(n) not in (None, d))
    current = all((dest / n).is_file() and sha256((dest / n).read_bytes()) == d for n, d in digests.items())
    if current and (dest / MANIFEST).is_file():
        return FetchResult(source.name, "unchanged", f"{len(files)} file(s) already present")
    for name, data in files.items():
        with atomic_path(dest / name) as tmp:
            tmp.write_bytes(data)
    manifest = {
        "source": source.name,
        "title": source.title,
        "origin": origin,
        "licence": source.licence,
        "citation": source.citation,
        "retrieved": dt.date.today().isoformat(),
        "files": {
            n: {"sha256": digests[n], "bytes": len(files[n]), "matches_registry": n not in mismatched} for n in files
        },
    }
    write_json(manifest, dest / MANIFEST)
    note = f"; sha256 differs from the registry for {', '.join(mismatched)}" if mismatched else ""
    return FetchResult(source.name, "fetched", f"{len(files)} file(s) from {origin}{note}")


def fetch_all(raw_dir: Path, mirror: Path | None = None, names: list[str] | None = None) -> list[FetchResult]:
    registry = sources()
    return [fetch_source(registry[n], raw_dir, mirror) for n in (names or sorted(registry))]
