"""From staged source rows to the canonical licence table and its rejects.

Each source module reads its raw files and returns *staged* rows: one per raw row, with the canonical
columns it can fill and, for rows it could not read, a reject reason. Everything shared by all sources
happens here, once: required values, future dates, negative values, country names, control codes,
duplicates, line numbers, and the split into licences and rejects. Every raw row ends in exactly one of
the two tables.
"""

import pandas as pd

from exportrisk.ingest import registry
from exportrisk.ingest.parse import per_unique
from exportrisk.ingest.rejects import check_required, mark, quote, rejects_from
from exportrisk.reference import controlcodes, countries
from exportrisk.schema import AGGREGATES, LICENCES, conform, conform_staged

REQUIRED = {"licence_id": "licence id", "decision_date": "decision date", "destination_raw": "destination"}
# What a licence decides once: rows of one licence id that disagree on these cannot both be right.
DECIDED_ONCE = ["decision_date", "outcome", "licensing_country_code", "licence_kind"]
BUSINESS = [c for c in LICENCES.columns if c not in ("line_no", "source", "source_file", "source_row")]


def check_values(staged: pd.DataFrame, columns: dict[str, str], today: pd.Timestamp) -> None:
    """Reject rows lacking required values, dated in the future, or with a negative value.

    ``columns`` names the raw column behind each canonical one, so messages point at the raw file.
    """
    check_required(staged, REQUIRED, columns)
    dates = staged["decision_date"]
    mark(
        staged,
        dates > today,
        "future_date",
        columns.get("decision_date"),
        lambda idx: "decision date " + dates[idx].dt.strftime("%Y-%m-%d") + " is in the future",
    )
    if "value" in staged:
        mark(
            staged,
            staged["value"] < 0,
            "negative_value",
            columns.get("value"),
            lambda idx: "negative value " + quote(staged.loc[idx, "value"]),
        )


def explode_destinations(
    staged: pd.DataFrame, source: str, column: str | None, names: countries.CountryMapping | None = None
) -> pd.DataFrame:
    """One row per destination; cells naming an unknown country are rejected, never guessed.

    ``names`` defaults to the source's committed mapping; a researcher's source brings its own.
    """
    names = names or countries.source_mapping(source)
    mapping = names.entries
    ok = staged["reject_reason"].isna()
    cells = staged["destination_list"] if "destination_list" in staged else staged["destination_raw"]
    resolved = countries.resolve(cells[ok], mapping)
    resolved.index = staged.index[ok][resolved.pop("row").to_numpy()]
    unknown = resolved.index[resolved["destination_type"].isna()]
    hint = f": add it to {names.origin}"

    def message(idx: pd.Index) -> pd.Series:
        """Name the part no mapping knows, and the cell as published when the cell lists several."""
        published = staged.loc[idx, "destination_raw"]
        parts = per_unique(cells[idx], lambda c: countries.unknown_part(c, mapping))
        whole = parts.eq(cells[idx].str.strip())
        return "unknown destination " + quote(parts) + (" in " + quote(published)).mask(whole, "") + hint

    mark(staged, staged.index.isin(unknown), "unknown_country", column, message)
    if "transit_raw" in staged:
        transit = staged["transit_raw"].astype("string").str.strip().replace("", pd.NA)
        found = {t: mapping.get(countries.normalise(t)) for t in transit.dropna().unique()}
        codes = transit.map({t: e.country_code for t, e in found.items() if e is not None})
        bad = transit.notna() & codes.isna()
        mark(staged, bad, "unknown_country", "transit", "unknown transit country " + quote(transit) + hint)
        staged["transit_direct"] = codes
    keep = resolved.drop(index=unknown)
    lines = staged.drop(columns=["transit_country_code"], errors="ignore").join(keep, how="inner")
    if "transit_direct" in lines:
        lines["transit_country_code"] = lines["transit_country_code"].fillna(lines.pop("transit_direct"))
    return lines[lines["reject_reason"].isna()]


def explode_codes(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per control code named in the cell, classified by the taxonomy."""
    raw = lines.pop("control_code_list") if "control_code_list" in lines else lines["control_code_raw"]
    if any(len(controlcodes.split_codes(r)) > 1 for r in raw.dropna().unique()):
        lines = lines.assign(code_part=per_unique(raw, controlcodes.split_codes)).explode("code_part")
    else:  # the common case, one code per cell: no need to explode
        lines = lines.assign(code_part=raw)
    classes = controlcodes.classify(lines["code_part"].astype("string").replace("", pd.NA))
    hint = lines.get("goods_category_hint")
    lines = lines.drop(columns=["code_part", "goods_category_hint"], errors="ignore")
    for c in classes:  # positional: the exploded index repeats
        lines[c] = classes[c].to_numpy()
    if hint is not None:
        lines["goods_category"] = hint.where(hint.notna(), lines["goods_category"])
    return lines


def reject_conflicts(staged: pd.DataFrame) -> None:
    """Reject every row of a licence id whose rows disagree on its decision (date, outcome, state, kind).

    Merging them would pick one of the values; which one is right is for the researcher to say, so all go to
    rejects, each naming the other rows.
    """
    ok = staged[staged["reject_reason"].isna()]
    ok = ok[ok["licence_id"].duplicated(keep=False)]  # only rows sharing an id can disagree
    if ok.empty:
        return
    decided = [c for c in DECIDED_ONCE if c in ok]
    distinct = ok[decided].astype("string").fillna("").agg("|".join, axis=1).groupby(ok["licence_id"]).nunique()
    clashing = ok["licence_id"].map(distinct).gt(1)
    rows = ok.loc[clashing, "source_row"].astype("string").groupby(ok.loc[clashing, "licence_id"]).agg(", ".join)
    what = " disagree on this licence's decision date, outcome, licensing state or kind: none is kept rather than one"
    message = "rows " + ok.loc[clashing, "licence_id"].map(rows) + what
    mark(staged, staged.index.isin(ok.index[clashing]), "conflicting_duplicate", None, message)


def filled(lines: pd.DataFrame, column: str, value: str) -> pd.Series:
    """A text column with its blanks (or all of it, where a source has no such column) set to ``value``."""
    current = lines[column] if column in lines else pd.Series(pd.NA, index=lines.index)
    return current.astype("string").fillna(value)


def finalise(
    staged: pd.DataFrame,
    raw: pd.DataFrame,
    source: str,
    columns: dict[str, str],
    today: pd.Timestamp,
    names: countries.CountryMapping | None = None,
    table: str = "licences",
    conflicts: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split staged rows (index aligned with ``raw``) into canonical licence lines and rejects (for ``table``)."""
    staged = staged.copy()
    check_values(staged, columns, today)
    staged["licence_id"] = source + ":" + staged["licence_id"].astype("string").str.strip()
    # Only rows sharing a licence id can repeat each other: check those alone.
    shared = staged["licence_id"].duplicated(keep=False) & staged["reject_reason"].isna()
    same = staged[shared].duplicated([c for c in BUSINESS if c in staged], keep="first")
    dupes = same.reindex(staged.index, fill_value=False)
    mark(staged, dupes, "duplicate_row", None, "repeats an earlier row of the same licence exactly")
    if conflicts:
        reject_conflicts(staged)
    lines = explode_codes(explode_destinations(staged, source, columns.get("destination_raw"), names))
    lines["line_no"] = lines.groupby("licence_id", sort=False).cumcount() + 1
    # The index is still the raw row's: lines exploded from one row share its published value.
    lines["value_shared_by"] = lines.index.value_counts().reindex(lines.index).to_numpy()
    lines["decision_date_precision"] = filled(lines, "decision_date_precision", "day")
    about = registry.sources().get(source)
    if about is not None:  # a registry source's rows cite it and carry its terms
        lines["source_citation"] = filled(lines, "source_citation", about.citation)
        lines["source_terms"] = filled(lines, "source_terms", about.licence)
    rejected = staged[staged["reject_reason"].notna()]
    return conform_staged(lines, LICENCES), rejects_from(rejected, raw, table)


def as_aggregates(lines: pd.DataFrame, granularity: str) -> pd.DataFrame:
    """Lines read from a sheet of published totals, as aggregates: never counted as licences."""
    return conform(lines.rename(columns={"licence_id": "aggregate_id"}).assign(granularity=granularity), AGGREGATES)
