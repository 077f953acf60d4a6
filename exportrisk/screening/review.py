"""Exporter names of the licence tables matched to the curated network, and the near misses for a person to review.

Names are matched by the network's rule (exportrisk.scoring.network: names and reviewed aliases, legal form read
apart, never by similarity); a name that only resembles an entity is written to
data/processed/exporter_review.csv and not accepted. A reviewer who finds it is the same company adds it as an
alias in the curated entities (as was done for 'Nokia Siemens Networks Oy' in the Finnish licences).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from exportrisk.scoring import network
from exportrisk.screening import screen

REVIEW_FILE = "exporter_review.csv"


def matched(licences: pd.DataFrame, entities: pd.DataFrame) -> pd.DataFrame:
    """Distinct named parties matched to an entity, with how (match_type, confidence) and on how many lines."""
    parties = network.match_parties(licences, entities).dropna(subset=["entity_id"])
    keys = ["name_raw", "party_role", "entity_id", "match_type", "confidence"]
    return parties.groupby(keys, observed=True).size().rename("n_lines").reset_index()


def exporter_review(licences: pd.DataFrame, entities: pd.DataFrame) -> pd.DataFrame:
    """The near misses (network.near_misses), each with what a reviewer can do about it."""
    found = network.near_misses(licences, entities)
    return found.assign(
        action="if it is the same company, add the name as an alias of entity_id in the curated entities; else leave it"
    )


def write_review(licences: pd.DataFrame, entities: pd.DataFrame, processed: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write exporter_review.csv into ``processed``; return (matched, review)."""
    review = exporter_review(licences, entities)
    screen.write_csv(review, processed / REVIEW_FILE)
    return matched(licences, entities), review
