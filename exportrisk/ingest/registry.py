"""The source registry (metadata/sources.yaml): what each public source is and where it comes from."""

import functools
from dataclasses import dataclass

import yaml

from exportrisk.config import METADATA_DIR

PACKAGED = "package:"  # a base_url with this prefix names a folder of the installed package (the curated data)


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    kind: str
    homepage: str
    base_url: str
    licence: str
    citation: str
    files: dict[str, str | None]  # file name -> expected sha256 (None: not pinned)


@functools.cache
def sources() -> dict[str, Source]:
    with (METADATA_DIR / "sources.yaml").open(encoding="utf-8") as fh:
        entries = yaml.safe_load(fh)
    return {name: Source(name=name, **entry) for name, entry in entries.items()}
