"""Evidence of surveillance abuse, and the vendor network it ties to, as point-in-time tables.

Component E of the score asks what was publicly known, on a licence's decision date, about surveillance
abuse by the destination's government; component X asks the same of the exporter and its affiliates. This
module builds the tables that answer it: ``evidence`` (one line per piece of evidence and country it
names, dated by publication), ``entities`` and ``relations`` (the curated vendor network), each from
staged rows through the same checks and rejects as licences, and ``evidence_as_of`` to query them
without look-ahead.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd

from exportrisk import listcols
from exportrisk.ingest.parse import from_parts, parse_dates
from exportrisk.ingest.rejects import check_required, mark, quote, rejects_from
from exportrisk.ingest.sources import (
    Staged,
    citizenlab_finfisher_scan,
    citizenlab_planet_netsweeper,
    curated,
    pegasus_victims,
)
from exportrisk.ingest.staged import StepResult
from exportrisk.reference import countries, pseudonyms
from exportrisk.reference.entities import match_entities
from exportrisk.schema import (
    ATTACK_RESULTS,
    CONFIDENCE_TYPES,
    ENTITIES,
    ENTITY_ID,
    ENTITY_TYPES,
    EVIDENCE,
    EVIDENCE_KINDS,
    EVIDENCE_STRENGTHS,
    RELATION_KINDS,
    RELATIONS,
    VICTIM_ROLE_TYPES,
    conform_staged,
)

# Country roles a source states; operator_unknown is derived (an operator cell that is empty or names
# no single country), so that an unknown operator is explicit, never a silently missing code.
STATED_ROLES = ("operator", "customer", "export_hub", "no_country")
NEEDS_COUNTRY = ("customer", "export_hub")
PARTIAL_DATE = r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$"


def check_categories(staged: pd.DataFrame, allowed: dict[str, tuple[str, ...]], columns: dict[str, str]) -> None:
    """Reject rows whose value is not one of a column's declared categories."""
    for col, values in allowed.items():
        bad = staged[col].notna() & ~staged[col].isin(values)

        def not_one_of(idx: pd.Index, c: str = col, v: tuple[str, ...] = values) -> pd.Series:
            return f"{c} " + quote(staged.loc[idx, c]) + f" is not one of: {', '.join(v)}"

        mark(staged, bad, "unknown_category", columns.get(col, col), not_one_of)


def check_duplicates(staged: pd.DataFrame, key: list[str], message: str) -> None:
    """Reject rows repeating the key of an earlier row that is kept (run last: a rejected row is no original)."""
    kept = staged["reject_reason"].isna()
    mark(staged, staged[kept].duplicated(key).reindex(staged.index, fill_value=False), "duplicate_row", None, message)


def partial_dates(staged: pd.DataFrame, name: str, columns: dict[str, str]) -> None:
    """Read ``<name>_raw`` ('2014', '2014-05', '2014-05-20') into ``<name>`` (first day) and its precision."""
    raw = staged[f"{name}_raw"]
    parts = raw.astype("string").str.extract(PARTIAL_DATE).apply(pd.to_numeric).astype("Int64")
    staged[name] = from_parts(parts[0], parts[1].fillna(1), parts[2].fillna(1))
    precision = pd.Series(pd.NA, index=staged.index, dtype="string")
    for col, label in ((0, "year"), (1, "month"), (2, "day")):
        precision = precision.mask(parts[col].notna(), label)
    staged[f"{name}_precision"] = precision
    mark(
        staged,
        raw.notna() & staged[name].isna(),
        "unparseable_date",
        columns.get(f"{name}_raw"),
        lambda idx: "date " + quote(raw[idx]) + " is not YYYY, YYYY-MM or YYYY-MM-DD",
    )


def period_end(dates: pd.Series, precision: pd.Series) -> pd.Series:
    """Last day of the period a partial date stands for: 2019 -> 2019-12-31, 2019-02 -> 2019-02-28."""
    ends = dates.where(precision.ne("year"), dates + pd.offsets.YearEnd(0))
    return ends.where(precision.ne("month"), dates + pd.offsets.MonthEnd(0))


def publication_dates(staged: pd.DataFrame, column: str | None, today: pd.Timestamp) -> pd.DataFrame:
    """Each row's publication date(s), ';'-separated, as (row, pos, date); unreadable or future ones rejected."""
    items = staged["published_date_raw"].str.split(";").explode().str.strip()
    dates = pd.DataFrame({"row": items.index, "date": parse_dates(items, "ISO").to_numpy()})
    dates["pos"] = dates.groupby("row").cumcount()
    raw = staged["published_date_raw"]
    mark(
        staged,
        staged.index.isin(dates.loc[dates["date"].isna(), "row"]) & raw.notna(),
        "unparseable_date",
        column,
        lambda idx: "publication date " + quote(raw[idx]) + " is not YYYY-MM-DD (several: ';'-separated)",
    )
    mark(
        staged,
        staged.index.isin(dates.loc[dates["date"] > today, "row"]),
        "future_date",
        column,
        lambda idx: "publication date " + quote(raw[idx]) + " is in the future",
    )
    return dates.dropna(subset=["date"])


def country_lines(staged: pd.DataFrame, names: countries.CountryMapping, column: str | None) -> pd.DataFrame:
    """One line per country a row names, as (row, country_code, country_role), rejecting unknown names.

    An operator cell that is empty or names no single country ('unknown', a region) gives one line with
    country_role 'operator_unknown'. A customer or export hub must be a known country.
    """
    ok = staged["reject_reason"].isna() & staged["country_raw"].notna()
    resolved = countries.resolve(staged.loc[ok, "country_raw"], names.entries)
    resolved.index = staged.index[ok][resolved.pop("row").to_numpy()]
    operator = staged["country_role"].reindex(resolved.index).eq("operator")
    single = resolved["destination_type"].eq("country")
    unknown = resolved.index[resolved["destination_type"].isna() | (~single & ~operator)]
    message = countries.unknown_country(staged["country_raw"], names.origin)
    mark(staged, staged.index.isin(unknown), "unknown_country", column, message)
    kept = staged.index[staged["reject_reason"].isna()]
    found = resolved.loc[~resolved.index.isin(unknown), ["destination_country_code"]]
    lines = pd.DataFrame(index=kept).join(found, how="left").rename_axis("row").reset_index()
    lines = lines.rename(columns={"destination_country_code": "country_code"})
    role = staged["country_role"].reindex(lines["row"]).reset_index(drop=True)
    lines["country_role"] = role.mask(role.eq("operator") & lines["country_code"].isna(), "operator_unknown")
    return lines


def finalise_evidence(
    part: Staged,
    names: countries.CountryMapping,
    entities: pd.DataFrame,
    today: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split staged evidence rows into evidence lines (one per country named) and rejects.

    Several publication dates pair with the countries in order when there are as many (each country's
    evidence became public on its own date); otherwise a single country takes the earliest date (its
    evidence was public from then) and several countries the latest, so no line is dated before its
    evidence was public.
    """
    staged, columns = part.rows.copy(), part.columns
    required = {
        "evidence_id": "evidence id",
        "kind": "kind",
        "country_role": "country role",
        "published_date_raw": "publication date",
        "strength": "strength",
        "source_urls": "source URL",
    }
    check_required(staged, required, columns)
    categories = {
        "kind": EVIDENCE_KINDS,
        "country_role": STATED_ROLES,
        "strength": EVIDENCE_STRENGTHS,
        "victim_role_type": VICTIM_ROLE_TYPES,
        "attack_result_type": ATTACK_RESULTS,
        "confidence": CONFIDENCE_TYPES,
    }
    check_categories(staged, {c: v for c, v in categories.items() if c in staged}, columns)
    role, country = staged["country_role"], staged["country_raw"]
    column = columns.get("country_raw")
    mark(
        staged,
        role.isin(NEEDS_COUNTRY) & country.isna(),
        "missing_value",
        column,
        lambda idx: "no country for country role " + quote(role[idx]),
    )
    mark(
        staged,
        role.eq("no_country") & country.notna(),
        "inconsistent_values",
        column,
        lambda idx: "country " + quote(country[idx]) + " given with country role 'no_country'",
    )
    dates = publication_dates(staged, columns.get("published_date_raw"), today)
    lines = country_lines(staged, names, column)
    check_duplicates(staged, ["evidence_id", "country_raw", "vendor_name"], "repeats an earlier row of the evidence")
    lines = lines[staged.loc[lines["row"], "reject_reason"].isna().to_numpy()].reset_index(drop=True)
    lines["pos"] = lines.groupby("row").cumcount()
    lines["n_countries"] = lines.groupby("row")["pos"].transform("size")
    stats = dates.groupby("row")["date"].agg(n_dates="size", first="min", last="max")
    lines = lines.merge(dates, on=["row", "pos"], how="left").join(stats, on="row")
    unpaired = lines["first"].where(lines["n_countries"].eq(1), lines["last"])
    lines["published_date"] = lines["date"].where(lines["n_countries"].eq(lines["n_dates"]), unpaired)
    business = staged.drop(columns=["country_role"])
    lines = lines.join(business, on="row")
    lines["vendor_entity_id"] = match_entities(lines["vendor_name"], entities)
    lines["line_no"] = lines.groupby("evidence_id").cumcount() + 1
    rejected = staged[staged["reject_reason"].notna()]
    return conform_staged(lines, EVIDENCE), rejects_from(rejected, part.raw, "evidence")


def finalise_entities(part: Staged, names: countries.CountryMapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split staged entity rows into the entities table and rejects."""
    staged, columns = part.rows.copy(), part.columns
    labels = {"entity_id": "entity id", "name": "name", "entity_type": "entity type", "source_urls": "source URL"}
    check_required(staged, labels, columns)
    check_categories(staged, {"entity_type": ENTITY_TYPES, "confidence": CONFIDENCE_TYPES}, columns)
    ids = staged["entity_id"]
    mark(
        staged,
        ~ids.fillna("").str.fullmatch(ENTITY_ID),
        "unparseable_value",
        columns.get("entity_id"),
        lambda idx: "entity id " + quote(ids[idx]) + " is not lower-case words joined by '-'",
    )
    staged["country_code"] = countries.lookup(staged["country_raw"], names.entries)["country_code"]
    unknown = staged["country_raw"].notna() & staged["country_code"].isna()
    message = countries.unknown_country(staged["country_raw"], names.origin)
    mark(staged, unknown, "unknown_country", columns.get("country_raw"), message)
    partial_dates(staged, "founded_date", columns)
    partial_dates(staged, "published_date", columns)
    check_duplicates(staged, ["entity_id"], "repeats an earlier entity id")
    rejected = staged["reject_reason"].notna()
    return conform_staged(staged[~rejected], ENTITIES), rejects_from(staged[rejected], part.raw, "entities")


def finalise_relations(part: Staged, entity_ids: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split staged relation rows into the relations table and rejects; both ends must be known entities."""
    staged, columns = part.rows.copy(), part.columns
    labels = {
        "subject_entity_id": "subject entity",
        "relation_kind": "relation kind",
        "object_entity_id": "object entity",
        "source_urls": "source URL",
    }
    check_required(staged, labels, columns)
    check_categories(staged, {"relation_kind": RELATION_KINDS, "confidence": CONFIDENCE_TYPES}, columns)
    for end in ("subject_entity_id", "object_entity_id"):

        def unknown(idx: pd.Index, e: str = end) -> pd.Series:
            return "entity " + quote(staged.loc[idx, e]) + " is not a (kept) row of entities.csv"

        mark(staged, ~staged[end].isin(entity_ids), "unknown_entity", columns.get(end), unknown)
    subject, obj = staged["subject_entity_id"], staged["object_entity_id"]
    mark(staged, subject.eq(obj), "inconsistent_values", columns.get("object_entity_id"), "an entity related to itself")
    partial_dates(staged, "start_date", columns)
    partial_dates(staged, "end_date", columns)
    partial_dates(staged, "published_date", columns)
    backwards = period_end(staged["end_date"], staged["end_date_precision"]) < staged["start_date"]
    mark(
        staged,
        backwards,
        "inconsistent_values",
        columns.get("end_date_raw"),
        lambda idx: "ends " + quote(staged.loc[idx, "end_date_raw"]) + " before it starts",
    )
    key = ["subject_entity_id", "relation_kind", "object_entity_id"]
    check_duplicates(staged, key, "repeats an earlier relation between the same entities")
    rejected = staged["reject_reason"].notna()
    return conform_staged(staged[~rejected], RELATIONS), rejects_from(staged[rejected], part.raw, "relations")


def clean_evidence(raw_dir: Path, today: pd.Timestamp) -> StepResult:
    """The cleaning step for entities, relations and evidence: the curated files, the victim database, then
    Citizen Lab's vendor scans (FinFisher servers, Netsweeper installations).

    A missing curated file or victim folder is skipped (and reported), not an error: the tables are
    then written with what there is.
    """
    out = StepResult()
    folder, names = raw_dir / curated.NAME, countries.source_mapping(curated.NAME)
    staged = {f: curated.stage(folder, f) for f in curated.COLUMNS if (folder / f).is_file()}
    out.skipped += [f"{curated.NAME}/{f}" for f in curated.COLUMNS if f not in staged]
    entities, relations, evidence = ENTITIES.empty(), RELATIONS.empty(), [EVIDENCE.empty()]
    if curated.ENTITIES in staged:
        part = staged[curated.ENTITIES]
        entities = out.record(part, curated.NAME, "entities", *finalise_entities(part, names))
    if curated.RELATIONS in staged:
        part = staged[curated.RELATIONS]
        relations = out.record(part, curated.NAME, "relations", *finalise_relations(part, entities["entity_id"]))
    if curated.EVIDENCE in staged:
        part = staged[curated.EVIDENCE]
        evidence.append(out.record(part, curated.NAME, "evidence", *finalise_evidence(part, names, entities, today)))
    victims, victim_names = raw_dir / pegasus_victims.NAME, None
    if victims.is_dir():
        part, victim_names = pegasus_victims.stage(victims, pseudonyms.salt())
        lines, rejected = finalise_evidence(part, countries.source_mapping(pegasus_victims.NAME), entities, today)
        evidence.append(out.record(part, pegasus_victims.NAME, "evidence", lines, rejected))
        for frame in (lines, *out.rejects):
            pseudonyms.check_no_names(frame, victim_names, part.source_file)
    else:
        out.skipped.append(pegasus_victims.NAME)
    for vendor_scan in (citizenlab_finfisher_scan, citizenlab_planet_netsweeper):
        folder = raw_dir / vendor_scan.NAME
        if not folder.is_dir():
            out.skipped.append(vendor_scan.NAME)
            continue
        part = vendor_scan.stage(folder)
        names = countries.source_mapping(vendor_scan.NAME)
        evidence.append(
            out.record(part, vendor_scan.NAME, "evidence", *finalise_evidence(part, names, entities, today))
        )
    table = pd.concat(evidence, ignore_index=True)
    if victim_names is not None:
        table = without_naming_urls(table, victim_names)
    out.tables.update(entities=entities, relations=relations, evidence=table)
    return out


def without_naming_urls(evidence: pd.DataFrame, victim_names: re.Pattern[str]) -> pd.DataFrame:
    """Every source's URLs less those holding part of a victim's name, not only the victim database's own.

    A report's address may name its authors, and an author may share a name with a victim (the 2013
    FinFisher report's does): such an address is left out, and a row left with none cites its publisher
    and date instead.
    """
    kept = pseudonyms.drop_naming(evidence["source_urls"], victim_names)
    withheld = evidence["source_urls"].notna() & kept.isna()
    cited = (
        evidence["publisher"].fillna("source")
        + ", "
        + evidence["published_date"].dt.strftime("%Y-%m-%d")
        + " (address withheld: it holds part of a name)"
    )
    return evidence.assign(source_urls=kept.where(~withheld, listcols.of_one(cited)))


def evidence_as_of(evidence: pd.DataFrame, date: pd.Timestamp | dt.date | str) -> pd.DataFrame:
    """The evidence public strictly before ``date``'s day: what a decision taken that day could know.

    Publication dates are days, so evidence published on the decision day itself is left out (it may
    have appeared after the decision).
    """
    return evidence[evidence["published_date"] < pd.Timestamp(date).normalize()]


def country_evidence_as_of(evidence: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """Many (country_code, as_of_date) queries at once: each query's country evidence public before its date.

    Returns the matching evidence lines with the query's index label in ``query`` and its ``as_of_date``
    (a query with no evidence has no line), by one join instead of a loop over queries.
    """
    asked = queries[["country_code", "as_of_date"]].rename_axis("query").reset_index()
    asked["as_of_date"] = pd.to_datetime(asked["as_of_date"]).dt.normalize()
    found = asked.merge(evidence, on="country_code", how="inner")
    return found[found["published_date"] < found["as_of_date"]].reset_index(drop=True)
