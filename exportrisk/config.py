"""Path constants, so that no module or notebook hard-codes a location.

A project is a folder holding ``data/`` (raw and processed) and ``reports/``. Its root is ``EXPORTRISK_ROOT``
when set (the command line's ``--root`` sets it, so report kernels inherit it), else the current folder: never
the place the package is installed, which may be site-packages.
"""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
METADATA_DIR = PACKAGE_DIR / "metadata"
ROOT_VARIABLE = "EXPORTRISK_ROOT"
CURATED_DIR = PACKAGE_DIR / "curated"  # the project's curated source, package data (fetch copies it to data/raw/)


def project_root() -> Path:
    return Path(os.environ.get(ROOT_VARIABLE) or Path.cwd()).resolve()


def raw_dir() -> Path:
    return project_root() / "data" / "raw"


def processed_dir() -> Path:
    return project_root() / "data" / "processed"
