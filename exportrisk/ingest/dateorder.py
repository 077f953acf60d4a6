"""Day/month order of dates in files that mix DMY and MDY, inferred per block of rows from evidence.

'05/01/2004' is 5 January (DMY) or 1 May (MDY), and the cell alone cannot tell, so the order is never
chosen cell by cell. Publishers switch order between exports (a year, a separator), not between rows of
one export, so it is decided for a *block*: a maximal run of consecutive rows whose decision date has
the same layout ('/', '-', '.', 8 digits such as '31012005') and the same year. A new layout or year is
where another export can start; the year reads the same in both orders. Another column of the same rows
(an expiry date) is decided per block and layout of its own cells, since one export can write two date
columns differently. The evidence, strongest first:

1. ``day_over_12``: a first part over 12 proves DMY, a second part over 12 proves MDY. A block with proofs
   of one order takes it; proofs of both orders are a ``conflict`` and leave the block unread (its dates
   null, to be rejected), because the blocks are then wrong, not the cells.
2. ``expiry_after_decision``: with no proof, the order under which no date falls before its lower bound
   (an expiry date before its decision date) wins when the other order puts some date before it.
3. ``neighbours``: a block still undecided takes the order proven (by 1 or 2) for the nearest blocks of
   the same layout before and after it in row order, when they agree or only one exists: a one-row block
   with a mistyped year inside a run of MDY dates reads as MDY.

Otherwise the block stays ``undecided`` and its dates null. Five-digit cells are Excel serial day numbers
(layout ``serial``), which have no order to infer.
"""

import numpy as np
import pandas as pd

from exportrisk.ingest.parse import date_parts, parse_dates

LAYOUTS = {
    "/": r"\d{1,2}/\d{1,2}/\d{4}",
    "-": r"\d{1,2}-\d{1,2}-\d{4}",
    ".": r"\d{1,2}\.\d{1,2}\.\d{4}",
    "digits": r"\d{8}",
    "serial": r"\d{5}",
}


def layout(values: pd.Series) -> pd.Series:
    """How each cell writes its date: a separator, 'digits' (8 digits), 'serial', or null (not a date)."""
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    for name, pattern in LAYOUTS.items():
        out = out.mask(text.str.fullmatch(pattern).fillna(False), name)
    return out


def _separated(values: pd.Series) -> pd.Series:
    """'31012005' -> '31-01-2005', so that 8-digit dates split into parts like separated ones."""
    text = values.astype("string").str.strip()
    return text.str.replace(r"^(\d{2})(\d{2})(\d{4})$", r"\1-\2-\3", regex=True)


def blocks(values: pd.Series) -> pd.Series:
    """Block number of each row: a new block starts where the layout or the year of ``values`` changes."""
    key = layout(values).fillna("none") + ":" + date_parts(_separated(values))["c"].astype("string").fillna("")
    starts = key.ne(key.shift()).fillna(True).astype("int64")
    return starts.cumsum().rename("block")


def evidence(values: pd.Series, groups: pd.Series, not_before: pd.Series | None = None) -> pd.DataFrame:
    """The evidence and the order decided for each (group, layout): one row per block of ``values``.

    Columns: group, layout, first_row (position), rows, dmy_proofs, mdy_proofs, dmy_too_early and
    mdy_too_early (dates before ``not_before`` under each order), order and decided_by.
    """
    lay = layout(values)
    text = _separated(values)
    parts = date_parts(text)
    frame = pd.DataFrame(
        {
            "group": groups.to_numpy(),
            "layout": lay.to_numpy(),
            "position": np.arange(len(values)),
            "dmy": ((parts["a"] > 12) & (parts["b"] <= 12)).fillna(False).to_numpy(),
            "mdy": ((parts["b"] > 12) & (parts["a"] <= 12)).fillna(False).to_numpy(),
        }
    )
    for order in ("DMY", "MDY"):
        early = False if not_before is None else (parse_dates(text, order) < not_before).fillna(False).to_numpy()
        frame[f"{order.lower()}_early"] = early
    table = (
        frame.dropna(subset=["layout"])
        .groupby(["group", "layout"], sort=False)
        .agg(
            first_row=("position", "min"),
            rows=("position", "size"),
            dmy_proofs=("dmy", "sum"),
            mdy_proofs=("mdy", "sum"),
            dmy_too_early=("dmy_early", "sum"),
            mdy_too_early=("mdy_early", "sum"),
        )
        .reset_index()
        .sort_values("first_row", ignore_index=True)
    )
    return _decide(table)


def _decide(table: pd.DataFrame) -> pd.DataFrame:
    """Apply the rules of the module docstring, in order, to the per-block evidence counts."""
    dmy, mdy = table["dmy_proofs"] > 0, table["mdy_proofs"] > 0
    dmy_early, mdy_early = table["dmy_too_early"] > 0, table["mdy_too_early"] > 0
    serial = table["layout"] == "serial"
    rules = [
        (serial, "excel_serial", "layout"),
        (dmy & mdy, None, "conflict"),
        (dmy, "DMY", "day_over_12"),
        (mdy, "MDY", "day_over_12"),
        (~dmy_early & mdy_early, "DMY", "expiry_after_decision"),
        (dmy_early & ~mdy_early, "MDY", "expiry_after_decision"),
    ]
    orders = np.array([r[1] for r in rules], dtype=object)  # a code, or None: undecided
    table["order"] = pd.Series(np.select([r[0] for r in rules], orders, np.array(None)), dtype="string")
    table["decided_by"] = pd.Series(np.select([r[0] for r in rules], [r[2] for r in rules], "undecided"))
    by_layout = table["order"].groupby(table["layout"])
    before, after = by_layout.ffill(), by_layout.bfill()
    agree = (before == after).fillna(False) | before.isna() | after.isna()
    inherited = before.fillna(after).where(agree)
    undecided = table["decided_by"] == "undecided"
    table.loc[undecided & inherited.notna(), "decided_by"] = "neighbours"
    table["order"] = table["order"].where(~undecided, inherited)
    return table


def read_dates(values: pd.Series, groups: pd.Series, not_before: pd.Series | None = None) -> pd.DataFrame:
    """Parse ``values`` with the order decided for their block: columns ``date`` and ``order`` (per row).

    ``groups`` numbers the blocks (see ``blocks``); ``not_before`` is an optional lower bound per row,
    used as evidence only. Dates stay null where the block is undecided or the date impossible.
    """
    table = evidence(values, groups, not_before)
    keys = pd.MultiIndex.from_arrays([groups.to_numpy(), layout(values).to_numpy()])
    order = table.set_index(["group", "layout"])["order"].reindex(keys)
    out = pd.DataFrame({"date": pd.Series(pd.NaT, index=values.index, dtype="datetime64[ms]")})
    out["order"] = pd.Series(order.to_numpy(), index=values.index, dtype="string")
    text = _separated(values)
    for name in out["order"].dropna().unique():
        rows = out["order"] == name
        out.loc[rows, "date"] = parse_dates(text[rows], name)
    return out
