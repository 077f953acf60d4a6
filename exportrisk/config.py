"""Path constants, so that no module or notebook hard-codes a location.

The project root defaults to the checkout this package lives in; set ``EXPORTRISK_ROOT`` to work on
data elsewhere (tests and benchmarks do, to keep the checkout's own data untouched).
"""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
METADATA_DIR = PACKAGE_DIR / "metadata"


def project_root() -> Path:
    return Path(os.environ.get("EXPORTRISK_ROOT", PACKAGE_DIR.parent)).resolve()


def raw_dir() -> Path:
    return project_root() / "data" / "raw"


def processed_dir() -> Path:
    return project_root() / "data" / "processed"
