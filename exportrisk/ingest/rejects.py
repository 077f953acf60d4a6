"""Rejected rows: marking them while cleaning, and the rejects table that keeps them whole.

A row is rejected by the first check that fails; its reason code, the raw column at fault, a readable
message and the raw row itself (as JSON) go to data/processed/rejects.parquet.
"""

import json
from collections.abc import Callable

import pandas as pd

from exportrisk.schema import REJECTS, conform

REJECT_COLUMNS = ["reject_reason", "reject_column", "reject_message"]


def mark(
    staged: pd.DataFrame,
    mask: object,
    reason: str,
    column: str | None,
    message: str | pd.Series | Callable[[pd.Index], pd.Series],
) -> None:
    """Reject the rows in ``mask`` that are not rejected yet (the first reason found wins).

    ``message`` may be a function of the rejected rows' index, so that messages are only built for the
    few rows rejected, not for a million rows that pass.
    """
    for c in REJECT_COLUMNS:
        if c not in staged:
            staged[c] = pd.Series(pd.NA, index=staged.index, dtype="string")
    todo = pd.Series(mask, index=staged.index).fillna(False).astype(bool) & staged["reject_reason"].isna()
    if not todo.any():
        return
    staged.loc[todo, "reject_reason"] = reason
    staged.loc[todo, "reject_column"] = column
    staged.loc[todo, "reject_message"] = message(staged.index[todo]) if callable(message) else message


def check_required(staged: pd.DataFrame, labels: dict[str, str], columns: dict[str, str]) -> None:
    """Reject rows missing a required value (null or blank); ``columns`` names the raw column behind each."""
    for col, label in labels.items():
        values = staged[col]
        empty = values.isna()
        if not pd.api.types.is_datetime64_any_dtype(values):
            empty |= values.astype("string").str.strip() == ""
        mark(staged, empty, "missing_value", columns.get(col, col), f"no {label}")


def quote(values: pd.Series) -> pd.Series:
    return "'" + values.astype("string").fillna("") + "'"


def rejects_from(rejected: pd.DataFrame, raw: pd.DataFrame, table: str) -> pd.DataFrame:
    """Reject records carrying the raw row as JSON, so nothing is lost."""
    fields = [c for c in raw.columns if c not in ("source", "source_file", "source_row")]
    records = raw.loc[rejected.index, fields].astype("string").to_dict(orient="records")
    out = pd.DataFrame(
        {
            "source": rejected["source"],
            "source_file": rejected["source_file"],
            "source_row": rejected["source_row"],
            "table": table,
            "reason_code": rejected["reject_reason"],
            "column_name": rejected["reject_column"],
            "message": rejected["reject_message"],
            "raw_values": [json.dumps(r, ensure_ascii=False, default=str) for r in records],
        },
        index=rejected.index,
    )
    return conform(out, REJECTS)


def malformed_rejects(malformed: pd.DataFrame, source: str, source_file: str, table: str) -> pd.DataFrame:
    """Rows the CSV reader could not split into the header's fields."""
    out = pd.DataFrame(
        {
            "source": source,
            "source_file": source_file,
            "source_row": malformed["source_row"],
            "table": table,
            "reason_code": "malformed_row",
            "column_name": None,
            "message": malformed["message"],
            "raw_values": [json.dumps({"text": t}, ensure_ascii=False) for t in malformed["text"]],
        }
    )
    return conform(out, REJECTS)
