"""The source registry and the metadata beside it, the package's merged with the project's own.

The package ships ``exportrisk/metadata/`` (sources.yaml, indicators/, countries/, mappings/). A project folder
(the one holding data/) may carry a ``metadata/`` folder laid out the same way: its registry rows, indicator
specs, licence-source mappings and country-name mappings are used beside the package's, so a researcher adds
a source without touching the installed package. A name defined on both sides is an error, never a silent
override; a country-name mapping may add names to a package source's but not map one differently.
"""

import functools
from pathlib import Path
from typing import Literal

from exportrisk import config
from exportrisk.errors import InputError
from exportrisk.ingest import strictyaml

REGISTRY = "sources.yaml"
PACKAGED = "package:"  # a base_url with this prefix names a folder of the installed package (the curated data)


class Source(strictyaml.Strict):
    """One registry row: what the source is, where its files come from, under what terms."""

    name: str
    title: str
    kind: Literal["licences", "indicators", "evidence", "curated"]
    homepage: str
    base_url: str
    licence: str
    citation: str
    files: dict[str, str | None]  # file name -> expected sha256 (None: not pinned)


def project_metadata() -> Path:
    """The project's own metadata folder (it need not exist)."""
    return config.project_root() / "metadata"


def shown(path: Path) -> str:
    """A metadata path as messages show it: relative to the package's or the project's folder."""
    for base, name in ((config.METADATA_DIR, "exportrisk/metadata"), (project_metadata(), "metadata")):
        if path.is_relative_to(base):
            return f"{name}/{path.relative_to(base).as_posix()}"
    return str(path)


def metadata_path(*parts: str) -> Path:
    """The metadata file ``parts`` from the project or the package (where it is: a clash if in both)."""
    package, project = config.METADATA_DIR.joinpath(*parts), project_metadata().joinpath(*parts)
    if package.is_file() and project.is_file() and project != package:
        raise InputError(
            project, f"clashes with the package's {shown(package)}: give the project's source its own name"
        )
    return project if project.is_file() else package


def metadata_files(folder: str, suffix: str) -> list[Path]:
    """Every file of a metadata folder, the package's and the project's."""
    found = [d / folder for d in (config.METADATA_DIR, project_metadata())]
    return sorted({p for d in found if d.is_dir() for p in d.glob(f"*{suffix}")})


def read_registry(path: Path) -> dict[str, Source]:
    doc, lines = strictyaml.load(path)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(path, "must map source names to their registry rows")
    rows = {}
    for name, entry in doc.items():
        row = {"name": str(name), **entry} if isinstance(entry, dict) else entry
        rows[str(name)] = strictyaml.check(Source, row, path, lines, prefix=str(name))
    return rows


@functools.cache
def _sources(project: Path, stamp: int | None) -> dict[str, Source]:
    found = read_registry(config.METADATA_DIR / REGISTRY)
    if stamp is not None:
        own = read_registry(project)
        lines = strictyaml.load(project)[1]
        for name in own:
            if name in found:
                message = f"source {name!r} is also in the package's registry: give the project's source its own name"
                raise InputError(project, message, row=lines.get(name))
        found.update(own)
    return found


def sources() -> dict[str, Source]:
    """Every registered source: the package's registry and the project's metadata/sources.yaml."""
    project = project_metadata() / REGISTRY
    return _sources(project, project.stat().st_mtime_ns if project.is_file() else None)


def is_project_source(name: str) -> bool:
    """Whether a source is registered by the project's metadata rather than the package's."""
    return name in sources() and name not in _sources(project_metadata() / REGISTRY, None)
