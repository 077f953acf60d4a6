"""The published tables as a Frictionless data package: CSV for any tool, Parquet with the types, and
datapackage.json generated from the declared schemas (exportrisk/schema.py), so it cannot disagree with them.

Same tables, same bytes: rows keep the processed order, numbers print the shortest way that reads back
exactly, dates as ISO days, and the descriptor has no timestamp. The CSVs go through
exportrisk.ingest.files.write_csv, so no cell runs as a formula in a spreadsheet; Parquet keeps the values.
"""

from pathlib import Path

import pandas as pd

from exportrisk import listcols
from exportrisk.ingest.fetch import file_sha256
from exportrisk.ingest.files import write_csv, write_json, write_parquet
from exportrisk.ingest.registry import sources
from exportrisk.publish.tables import PERSONAL_SOURCES
from exportrisk.schema import Field, Table

DESCRIPTOR = "datapackage.json"
FRICTIONLESS_TYPES = {
    "string": "string",
    "category": "string",
    "Int64": "integer",
    "Float64": "number",
    "boolean": "boolean",
    "date": "date",
    "list": "list",  # Table Schema v2: the values in one cell, split on its delimiter
}


def field_descriptor(field: Field) -> dict[str, object]:
    constraints: dict[str, object] = {}
    if field.required:
        constraints["required"] = True
    if field.categories:
        constraints["enum"] = list(field.categories)
    if field.pattern:
        constraints["pattern"] = field.pattern.removeprefix("^").removesuffix("$")  # Frictionless anchors it
    if field.min_value is not None:
        constraints["minimum"] = field.min_value
    out: dict[str, object] = {"name": field.name, "type": FRICTIONLESS_TYPES[field.dtype]}
    out["description"] = field.description
    if field.dtype == "boolean":
        out |= {"trueValues": ["true"], "falseValues": ["false"]}
    if field.dtype == "list":
        out |= {"delimiter": listcols.SEPARATOR, "itemType": "string"}
    return out | ({"constraints": constraints} if constraints else {})


def as_text(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Dates as ISO days, booleans as true/false and lists as their values joined, as the descriptor declares."""
    out = frame.copy()
    for field in table.fields:
        col = out[field.name]
        if field.dtype == "date":
            out[field.name] = col.dt.strftime("%Y-%m-%d").astype("string")
        elif field.dtype == "boolean":
            out[field.name] = col.map({True: "true", False: "false"}, na_action="ignore").astype("string")
        elif field.dtype == "list":
            out[field.name] = listcols.join(col)
    return out


def file_facts(path: Path, folder: Path) -> dict[str, object]:
    return {
        "path": path.relative_to(folder).as_posix(),
        "bytes": path.stat().st_size,
        "hash": f"sha256:{file_sha256(path)}",
    }


def write_datapackage(tables: dict[str, tuple[Table, pd.DataFrame]], folder: Path) -> Path:
    """CSV and Parquet of every table under ``folder``, described by folder/datapackage.json."""
    resources = []
    for name, (table, frame) in tables.items():
        csv = write_csv(as_text(frame, table), folder / "csv" / f"{name}.csv")
        parquet = folder / "parquet" / f"{name}.parquet"
        write_parquet(frame, parquet)
        schema: dict[str, object] = {
            "fields": [field_descriptor(f) for f in table.fields],
            "primaryKey": list(table.primary_key),
            "missingValues": [""],
        }
        resources.append(
            {
                "name": name,
                "title": name,
                "description": table.description,
                **file_facts(csv, folder),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "profile": "tabular-data-resource",
                "schema": schema,
            }
        )
        resources.append(
            {
                "name": f"{name}-parquet",
                "title": f"{name} (Parquet)",
                "description": f"The {name} table as Parquet, with its types (categories, dates, nullable integers).",
                **file_facts(parquet, folder),
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "type": "file",  # its bytes are checked; its rows are the CSV's (Frictionless reads no Parquet)
            }
        )
    descriptor = {
        "profile": "data-package",  # a tabular package would take CSV resources only
        "name": "exportrisk",
        "title": "exportrisk: export licences screened for human-rights risk",
        "description": "Cleaned export licences, the rows set aside with their reasons, country indicators, "
        "dated evidence of surveillance abuse, the vendor network and the risk scores, as built by exportrisk. "
        "Each row's source column names its source; the sources' terms are listed below and apply to the rows "
        "taken from them.",
        "sources": [
            {"title": s.title, "path": s.homepage, "description": f"{s.citation}. Terms: {s.licence}."}
            for s in sources().values()
            if s.name not in PERSONAL_SOURCES
        ],
        "resources": resources,
    }
    path = folder / DESCRIPTOR
    write_json(descriptor, path)
    return path
