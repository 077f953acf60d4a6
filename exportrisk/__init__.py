"""exportrisk: screen export licences for human-rights risk.

In Python or a notebook: ``import exportrisk as er``, then ``er.load("licences")``, ``er.score(lines)``,
``er.affiliates("NSO Group", "2020-01-01")``, ``er.indicators_as_of(date, country)``, ``er.evidence_as_of(date)``,
``er.display(table)`` and ``er.plots.*`` (exportrisk.api). Importing the package stays instant, as the command
line needs it to be: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "affiliates",
    "describe",
    "display",
    "evidence_as_of",
    "find_entity",
    "indicators_as_of",
    "load",
    "plots",
    "score",
    "screen",
    "vendor_network",
]
# Submodules offered at the top level for exploration, by their short name.
SUBMODULES = {"plots": "reporting.plots", "reports": "reporting.sections"}
API = frozenset(__all__) - set(SUBMODULES)  # the functions of exportrisk.api

if TYPE_CHECKING:
    from exportrisk.api import (
        affiliates,
        describe,
        display,
        evidence_as_of,
        find_entity,
        indicators_as_of,
        load,
        score,
        screen,
        vendor_network,
    )
    from exportrisk.reporting import plots


def __getattr__(name: str) -> object:
    """An API function from exportrisk.api, or a submodule (``er.plots``), imported on first access."""
    if name in API:
        value = getattr(importlib.import_module(f"{__name__}.api"), name)
    else:
        try:
            value = importlib.import_module(f"{__name__}.{SUBMODULES.get(name, name)}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names only, so that tab completion on ``er.`` offers the API, not this module's imports."""
    return sorted([*__all__, "__version__"])
