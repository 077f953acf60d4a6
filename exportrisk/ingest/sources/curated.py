"""The project's own curated files: evidence, entities and relations typed from ../shared/facts/.

``exportrisk/curated/`` holds small CSV files the project owns and ships as package data, one row per fact,
each with its source URLs, so that reports can always run, even offline; ``exportrisk fetch`` copies them to
``data/raw/curated/`` like any registered source. They pass the same checks, rejects and
schemas as public sources (exportrisk.knowledge.evidence); this module only reads them into canonical columns.
The folder also holds a researcher-spreadsheet source (exportrisk.yaml and the file it names), which the
licence step reads; this module reads only the files below.
"""

from pathlib import Path

import pandas as pd

from exportrisk.ingest.sources import Staged, read_source_csv, source_file

NAME = "curated"
EVIDENCE = "evidence.csv"
ENTITIES = "entities.csv"
RELATIONS = "relations.csv"
# Per file: canonical (staged) column -> column of the curated CSV.
COLUMNS = {
    EVIDENCE: {
        "evidence_id": "evidence_id",
        "kind": "kind",
        "country_raw": "country",
        "country_role": "country_role",
        "vendor_name": "vendor",
        "product": "product",
        "published_date_raw": "published_date",
        "strength": "strength",
        "victim_role_type": "victim_role",
        "publisher": "publisher",
        "title": "title",
        "note": "note",
        "confidence": "confidence",
        "source_urls": "source_urls",
    },
    ENTITIES: {
        "entity_id": "entity_id",
        "name": "name",
        "aliases": "aliases",
        "entity_type": "entity_type",
        "country_raw": "country",
        "founded_date_raw": "founded",
        "description": "description",
        "published_date_raw": "published_date",
        "confidence": "confidence",
        "source_urls": "source_urls",
    },
    RELATIONS: {
        "subject_entity_id": "subject_entity_id",
        "relation_kind": "relation_kind",
        "object_entity_id": "object_entity_id",
        "start_date_raw": "start_date",
        "end_date_raw": "end_date",
        "note": "note",
        "published_date_raw": "published_date",
        "confidence": "confidence",
        "source_urls": "source_urls",
    },
}


def stage(folder: Path, name: str) -> Staged:
    """One curated file in canonical columns: blank cells missing, evidence ids prefixed 'curated:'."""
    columns = COLUMNS[name]
    raw, malformed = read_source_csv(folder, name, list(columns.values()))
    rows = pd.DataFrame({c: raw[r].str.strip().replace("", pd.NA) for c, r in columns.items()}, index=raw.index)
    if "evidence_id" in rows:
        rows["evidence_id"] = NAME + ":" + rows["evidence_id"]
    lineage = source_file(folder, name)
    rows.insert(0, "source_row", raw["source_row"])
    rows.insert(0, "source_file", lineage)
    rows.insert(0, "source", NAME)
    return Staged(lineage, rows, raw, columns, malformed)
