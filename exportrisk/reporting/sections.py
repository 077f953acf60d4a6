"""What a country report says, as pure functions of the canonical tables: no files, no plotting.

A report looks at one state in one role: ``licensing`` (what the state licensed) or ``destination`` (what
was licensed to it). Each section is a ``Section``: a title, a sentence or two saying what it shows and
what the data cannot show, the table behind it and, where there is one, the name of the chart drawing that
table (``exportrisk.reporting.plots.CHARTS``). The notebook ``templates/country_report.ipynb`` only lays the
sections out, so everything a report states is computed here, and tested here.

A licence is counted once per report: by its highest-scoring line among the lines the report is about (all
its lines for the licensing state; its lines to the country for a destination), which is how the scorer
scores a licence. Values are summed as value / value_shared_by, so a value published once for several
destinations or codes is not counted several times.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from calendar import month_name
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import networkx as nx
import pandas as pd
import yaml

from exportrisk import __version__, config, listcols
from exportrisk.errors import InputError
from exportrisk.ingest.registry import sources
from exportrisk.reference import countries, pseudonyms
from exportrisk.reporting import founding
from exportrisk.schema import BANDS, INDETERMINATE, RELATIONS
from exportrisk.scoring import network

# the notebook each report runs: package data, so that an installed wheel renders reports too
TEMPLATE = config.PACKAGE_DIR / "reporting" / "templates" / "country_report.ipynb"
INDEX = "index.html"  # reports/index.html: every report and its key figures
STATUS = "status.json"  # reports/status.json: the last run of each report
ROLES = {
    "licensing": "what this state licensed",
    "destination": "what was licensed to this state",
}
ROLE_COLUMN = {"licensing": "licensing_country_code", "destination": "destination_country_code"}
HIGH = BANDS[BANDS.index("High") :]  # "High or above"
PERIOD = re.compile(r"^\s*(\d{4})?\s*(?:(-)\s*(\d{4})?)?\s*$")
TOP_N = 10
TIE_DECIMALS = 1  # scores as a list shows them: equal to one decimal is a tie
EVIDENCE_SHOWN = 5  # evidence ids a list's cell shows; the CSV has all
CONTEXT_YEARS = 5  # indicator years shown before a destination's first licence
NETWORK_COLUMNS = ["from_entity", "from_name", "from_role", "relation", "to_entity", "to_name", "to_role", "period"]
NETWORK_COLUMNS += ["source_urls"]
# EU Common Position 2008/944/CFSP, Article 2: the criteria a refusal cites.
CRITERIA = {
    "1": "international obligations, sanctions and embargoes",
    "2": "human rights and internal repression",
    "3": "internal tensions or armed conflict in the destination",
    "4": "regional peace, security and stability",
    "5": "national security of member states and allies",
    "6": "behaviour towards terrorism and international law",
    "7": "risk of diversion or re-export",
    "8": "compatibility with the recipient's technical and economic capacity",
}
COMPONENTS = {"d_score": "D", "e_score": "E", "u_score": "U", "i_score": "I", "x_score": "X"}
SCORE_COLUMNS = [
    "licence_id",
    "line_no",
    "score",
    "band",
    "score_best",
    "score_worst",
    *COMPONENTS,
    "coverage",
    "floors",
    "flags",
    "evidence_ids",
    "network_path",
    "method_version",
]


class ParameterError(InputError):
    """A report parameter that cannot be used. In a notebook it shows as one line, not a traceback."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"parameter {parameter}", message)

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"error: {self}"]


@dataclass(frozen=True)
class ReportSpec:
    """A checked report request: an ISO3 code, a role and the decision years covered (None: open)."""

    country_code: str
    role: str
    first_year: int | None = None
    last_year: int | None = None

    @property
    def country_name(self) -> str:
        return countries.country_name(self.country_code)

    @property
    def period(self) -> str:
        """The period as the notebook parameter gives it: '', '2014', '2010-2015', '2010-' or '-2015'."""
        if self.first_year is None and self.last_year is None:
            return ""
        if self.first_year == self.last_year:
            return str(self.first_year)
        return f"{self.first_year or ''}-{self.last_year or ''}"

    @property
    def period_label(self) -> str:
        return self.period or "all years"

    @property
    def key(self) -> str:
        """Where the report goes under reports/: '<role>/<ISO3>'."""
        return f"{self.role}/{self.country_code}"


@dataclass(frozen=True)
class ReportData:
    """The tables one report needs, already limited to it where that saves reading (see select_lines)."""

    licences: pd.DataFrame  # licence lines (any superset of the report's)
    score_lines: pd.DataFrame  # scores of those lines
    indicators: pd.DataFrame  # the country's indicator values (destination role)
    indicator_titles: dict[str, str]  # indicator_code -> title
    evidence: pd.DataFrame
    entities: pd.DataFrame
    manifests: dict[str, dict]  # per source: its fetch.json (or the same fields for a folder without one)
    partial_years: pd.DataFrame  # partial_years() of the whole licences table
    source_ends: dict[str, pd.Timestamp]  # each licence source's last decision date, in the whole licences table
    aggregates: pd.DataFrame  # the report's aggregate records (totals a source publishes instead of licences)
    relations: pd.DataFrame = dataclasses.field(default_factory=RELATIONS.empty)  # the vendor network's, dated


@dataclass(frozen=True)
class Section:
    key: str  # file stem of its chart and table
    title: str
    text: str  # markdown
    table: pd.DataFrame  # behind the chart, written as tables/<key>.csv
    chart: str | None = None  # a key of exportrisk.reporting.plots.CHARTS
    shown: pd.DataFrame | None = None  # what the page shows, where not the table itself
    source: str | None = None  # the chart's own source line, where not the report's

    @property
    def display_table(self) -> pd.DataFrame:
        return self.table if self.shown is None else self.shown


@dataclass(frozen=True)
class Report:
    spec: ReportSpec
    title: str
    headline: dict[str, object]  # label -> number or text, also listed in reports/index.html
    caveats: list[str]  # what to know before quoting the headline (see caveats())
    sections: list[Section]
    source_line: str  # under every chart
    sources: pd.DataFrame
    checksums: pd.DataFrame
    method_versions: list[str]


# --- parameters ---


def _known_names() -> dict[str, countries.Entry]:
    """Every country name a mapping knows: exact ISO names and codes, then each source's reviewed names."""
    names = dict(countries.iso_names())
    for path in sorted(countries.COUNTRY_DIR.glob("*.csv")):
        names.update(countries.load_mapping(path.stem))
    return names


def country_code(text: object) -> str:
    """An ISO3 code, or a country name one of the mappings knows, as its ISO3 code."""
    raw = str(text or "").strip()
    if raw.upper() in countries.valid_codes():
        return raw.upper()
    entry = _known_names().get(countries.normalise(raw))
    if entry is None:
        raise ParameterError("country", f"{raw!r} is not an ISO 3166 alpha-3 code or a country name the mappings know")
    if entry.country_code is None:
        raise ParameterError("country", f"{raw!r} names no single country ({entry.destination_type})")
    return entry.country_code


def parse_period(text: object) -> tuple[int | None, int | None]:
    """'' (all years), '2014', '2010-2015', '2010-' or '-2015' as (first, last) decision years."""
    found = PERIOD.match(str(text or ""))
    if not found:
        raise ParameterError("period", f"{text!r} is not YYYY, YYYY-YYYY, YYYY- or -YYYY")
    first, dash, last = found.groups()
    first_year = int(first) if first else None
    last_year = int(last) if last else (first_year if not dash else None)
    if first_year and last_year and first_year > last_year:
        raise ParameterError("period", f"{text!r} ends before it starts")
    return first_year, last_year


def check_role(role: object) -> str:
    if role not in ROLES:
        raise ParameterError("role", f"{role!r} is not one of: {', '.join(ROLES)}")
    return str(role)


def check_parameters(country: object, role: object, period: object = "") -> ReportSpec:
    """The notebook's parameters checked: one ParameterError naming the first that cannot be used."""
    return ReportSpec(country_code(country), check_role(role), *parse_period(period))


# --- selecting and scoring the report's licences ---


def within(years: pd.Series, first_year: int | None, last_year: int | None) -> pd.Series:
    """Which years fall in the period (None: open at that end)."""
    keep = pd.Series(True, index=years.index)
    if first_year is not None:
        keep &= years >= first_year
    if last_year is not None:
        keep &= years <= last_year
    return keep.fillna(False).astype(bool)


def aggregate_records(aggregates: pd.DataFrame, spec: ReportSpec) -> pd.DataFrame:
    """A source's published totals for the report's country, per year, counterpart and what a row totals.

    They are never licences: no licence count, value total or score of the report includes them.
    """
    other = "destination" if spec.role == "licensing" else "licensing"
    counterpart = aggregates[ROLE_COLUMN[other]].astype("string").fillna(aggregates["destination_raw"])
    table = aggregates.assign(
        year=aggregates["decision_date"].dt.year.astype("Int64"),
        counterpart=counterpart,
        value_share=aggregates["value"] / aggregates["value_shared_by"],  # a total published for several lines
        count_share=aggregates["item_count"] / aggregates["value_shared_by"],
    )
    grouped = table.groupby(
        ["year", "counterpart", "granularity", "currency_code"], dropna=False, observed=True, sort=True
    ).agg(records=("aggregate_id", "nunique"), licences=("count_share", "sum"), value=("value_share", "sum"))
    grouped = grouped.reset_index().rename(
        columns={"counterpart": "licensed by" if other == "licensing" else "destination", "currency_code": "currency"}
    )
    return grouped.rename(columns={"licences": "licences counted (source's total)", "value": "value (source's total)"})


def aggregate_section(aggregates: pd.DataFrame, spec: ReportSpec) -> list[Section]:
    """The section of aggregate records, where the report's country has any."""
    if aggregates.empty:
        return []
    table = aggregate_records(aggregates, spec)
    return [
        Section(
            "aggregate_records",
            "Published totals (not licences)",
            f"{len(aggregates):,} records in which a source publishes totals (licences or values per year, "
            "counterpart and category) instead of single licences. They are shown apart and counted in no "
            "licence figure, chart or score of this report; the source's own totals are given as published.",
            table,
        )
    ]


def select_lines(licences: pd.DataFrame, spec: ReportSpec) -> pd.DataFrame:
    """The licence lines a report is about: by the state or to it, decided within the period."""
    keep = licences[ROLE_COLUMN[spec.role]].eq(spec.country_code).fillna(False).astype(bool)
    keep &= within(licences["decision_date"].dt.year, spec.first_year, spec.last_year)
    return licences[keep].reset_index(drop=True)


def scored_lines(lines: pd.DataFrame, score_lines: pd.DataFrame) -> pd.DataFrame:
    """Lines with their scores (missing where the line was not scored) and value_share, the value to sum."""
    scored = lines.merge(score_lines[SCORE_COLUMNS], on=["licence_id", "line_no"], how="left", validate="1:1")
    scored["value_share"] = scored["value"] / scored["value_shared_by"]
    scored["is_value_lower_bound"] = scored["is_value_lower_bound"].fillna(False).astype(bool)
    scored["year"] = scored["decision_date"].dt.year.astype("Int64")
    return scored


def licence_units(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per licence: its highest-scoring line (ties: the first) and the value of all the lines given."""
    ranked = scored.sort_values(["licence_id", "score", "line_no"], ascending=[True, False, True], na_position="last")
    units = ranked.drop_duplicates("licence_id").set_index("licence_id")
    units["value"] = scored.groupby("licence_id")["value_share"].sum(min_count=1)
    units["is_value_lower_bound"] = scored.groupby("licence_id")["is_value_lower_bound"].any()
    units["n_lines"] = scored.groupby("licence_id").size()
    return units.reset_index().sort_values(["decision_date", "licence_id"], ignore_index=True)


def _known_sum(values: pd.Series) -> object:
    """A total that stays missing where no value is known: pandas' plain sum would say 0."""
    return values.sum(min_count=1)


# Named aggregations of licence units, shared by the report's tables: how many licences, their value, and
# whether any of those values is only a lower bound ("over EUR 200,000").
LICENCE_COUNT = ("licence_id", "size")
VALUE_SUM = ("value", _known_sum)
ANY_LOWER_BOUND = ("is_value_lower_bound", "any")


def _band_text(band: pd.Series) -> pd.Series:
    return band.astype("string").fillna("not scored")


def _currency(units: pd.DataFrame) -> str:
    found = sorted(units["currency_code"].dropna().unique())
    return ", ".join(found) if found else "no values"


def is_high(band: pd.Series) -> pd.Series:
    return band.astype("string").isin(HIGH).fillna(False).astype(bool)


# --- sections shared by both roles ---


def by_year_and_band(units: pd.DataFrame) -> pd.DataFrame:
    """Licences and value per decision year and risk band (the licensing chart's table)."""
    table = (
        units.assign(band=_band_text(units["band"]))
        .groupby(["year", "band", "currency_code"], dropna=False, observed=True)
        .agg(
            licences=LICENCE_COUNT,
            value=VALUE_SUM,
            is_value_lower_bound=ANY_LOWER_BOUND,
        )
        .reset_index()
        .rename(columns={"currency_code": "currency"})
    )
    order = {b: i for i, b in enumerate((*BANDS, INDETERMINATE, "not scored"))}
    return table.sort_values(["year", "band"], key=lambda c: c.map(order) if c.name == "band" else c, ignore_index=True)


def scoring_yaml() -> dict:
    """The packaged scoring configuration, parsed once per file version (a warm report kernel runs hundreds of
    reports; parsing it took 4% of each). Callers never modify it."""
    path = config.METADATA_DIR / "scoring.yaml"
    stat = path.stat()
    return _parsed_yaml(path, (stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=4)
def _parsed_yaml(path: Path, _stamp: tuple[int, int]) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def band_bounds() -> dict[str, float]:
    """Each band's lower bound on the 0-100 score, as the scorer's configuration sets them."""
    return scoring_yaml()["bands"]


def uncertainty_indicators() -> set[str]:
    """Indicators that hold another's standard deviation (the scorer's readings name them as ``sd``): not a
    record of the country, so no risk line of theirs is drawn."""
    measures = scoring_yaml()["destination"]["measures"].values()
    return {r["sd"] for m in measures for r in m["readings"] if r.get("sd")}


def band_meaning() -> str:
    """What the bands mean, in the words a list heading needs."""
    bounds = list(band_bounds().items())
    ranges = [
        f"{band} {low:g}-{bounds[i + 1][1]:g}" if i + 1 < len(bounds) else f"{band} {low:g}-100"
        for i, (band, low) in enumerate(bounds)
    ]
    return (
        f"Bands of the 0-100 score: {', '.join(ranges)}. A band says how strongly the public record at the decision "
        "date speaks against the licence, not that abuse followed."
    )


def determinate(units: pd.DataFrame) -> pd.Series:
    """Licences whose band the data settles (scored, and not indeterminate)."""
    return units["band"].astype("string").isin(BANDS).fillna(False).astype(bool)


def ranked(units: pd.DataFrame, by: list[str], within: str = "licence_id") -> pd.DataFrame:
    """Rows (licences) in order of ``by`` (descending), with their rank: equal values, as shown to one decimal,
    share a rank ('=3'), since their order is not a ranking. Tied rows are listed by ``within``."""
    keys = units[by].round(TIE_DECIMALS)
    order = units.assign(**{f"_{c}": keys[c] for c in by}).sort_values(
        [*(f"_{c}" for c in by), within], ascending=[*([False] * len(by)), True]
    )
    position = order[[f"_{c}" for c in by]].apply(tuple, axis=1)
    first = pd.Series(range(1, len(order) + 1), index=order.index).groupby(position).transform("min")
    size = position.map(position.value_counts())
    rank = first.astype(str).where(size.eq(1), "=" + first.astype(str))
    return order.drop(columns=[f"_{c}" for c in by]).assign(rank=rank, tied_with=size - 1)


def cut(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first n rows, and every row tied with the n-th: a list never splits a tie without saying so."""
    if len(table) <= n:
        return table
    last = table["rank"].iloc[n - 1]
    return table[(pd.RangeIndex(len(table)) < n) | table["rank"].eq(last).to_numpy()]


def listed_licences(top: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Listed licences with the lines' destinations and codes, and readable columns (the CSV keeps every
    evidence id; the page shortens long lists, see shorten_evidence)."""
    lines = scored[scored["licence_id"].isin(top["licence_id"])]
    joined = lines.groupby("licence_id").agg(
        destinations=("destination_raw", lambda s: "; ".join(dict.fromkeys(s.dropna()))),
        control_codes=("control_code", lambda s: "; ".join(dict.fromkeys(s.dropna()))),
    )
    table = top.join(joined, on="licence_id")
    table = table.assign(
        decided=table["decision_date"].dt.strftime("%Y-%m-%d"),
        kind=table["licence_kind"].astype("string"),
        band=_band_text(table["band"]),
        floors=listcols.join(table["floors"]),
        flags=listcols.join(table["flags"]),
        evidence_shown=listcols.join(pseudonyms.public_evidence_ids(table["evidence_ids"])),
    )
    columns = {
        "rank": "rank",
        "licence_id": "licence",
        "decided": "decided",
        "kind": "kind",
        "licensing_country_code": "licensed by",
        "destinations": "destination",
        "control_codes": "control codes",
        "goods_description": "goods",
        "value": "value",
        "is_value_lower_bound": "is_value_lower_bound",
        "currency_code": "currency",
        "score": "score",
        "score_best": "best case",
        "score_worst": "worst case",
        "band": "band",
        **COMPONENTS,
        "floors": "floors",
        "flags": "flags",
        "evidence_shown": "evidence",
    }
    return table[list(columns)].rename(columns=columns).reset_index(drop=True)


def top_licences(units: pd.DataFrame, scored: pd.DataFrame, n: int = TOP_N) -> pd.DataFrame:
    """The n highest-risk licences whose band the data settles, ranked by band then score, ties marked and
    kept whole (see cut), with the component breakdown of their highest line and its evidence."""
    sure = units[determinate(units)].assign(band_rank=lambda u: u["band"].astype("string").map(BANDS.index))
    return listed_licences(cut(ranked(sure, ["band_rank", "score"]), n), scored)


def indeterminate_licences(units: pd.DataFrame, scored: pd.DataFrame, n: int = TOP_N) -> pd.DataFrame:
    """The licences the data cannot place in one band, the worst case first: listed apart, never ranked
    among the determinate ones."""
    open_band = units[units["band"].astype("string").eq(INDETERMINATE).fillna(False).astype(bool)]
    return listed_licences(cut(ranked(open_band, ["score_worst", "score"]), n), scored)


def ties_text(table: pd.DataFrame, key: str, n: int = TOP_N) -> str:
    """What the list's ties are, in words (empty without ties)."""
    tied = table[table["rank"].str.startswith("=")]
    if tied.empty:
        return ""
    groups = tied.groupby("rank", sort=False).size()
    said = ", ".join(f"{size:,} at rank {rank[1:]}" for rank, size in groups.items())
    more = f" The page shows the first {n}; all {len(table):,}, down to the last tie, are in tables/{key}.csv."
    return (
        f" Ties ('=' before the rank) are licences with the same band and score ({said}): their order is by "
        f"licence id, not by risk.{more if len(table) > n else ''}"
    )


def shown_list(table: pd.DataFrame, key: str, n: int = TOP_N, keep: int = EVIDENCE_SHOWN) -> pd.DataFrame:
    """The page's form of a list: its first n rows, evidence cells of more than ``keep`` ids cut, pointing to
    the CSV that has them all."""

    def short(text: object) -> object:
        if not isinstance(text, str):
            return text
        ids = text.split("; ")
        if len(ids) <= keep:
            return text
        return "; ".join(ids[:keep]) + f"; and {len(ids) - keep} more (tables/{key}.csv)"

    return table.head(n).assign(evidence=table["evidence"].head(n).map(short))


def evidence_ids(ids: pd.Series) -> list[str]:
    """The distinct evidence ids of a list column, in order of appearance."""
    return list(dict.fromkeys(ids.explode().dropna()))


def evidence_listing(evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per piece of evidence, dated, with the states it names and a link; never a victim's name.

    Victims appear only as the kind of person targeted (victim_role_type): their evidence ids, which hold a
    pseudonymous id anyone with the public list could recompute, are shown as 'victim entry'.
    """
    lines = evidence.sort_values(["published_date", "evidence_id", "line_no"])
    first = lines.drop_duplicates("evidence_id")
    named = lines.groupby("evidence_id", sort=False)["country_code"].agg(lambda c: ", ".join(c.dropna().unique()))
    return pd.DataFrame(
        {
            "published": first["published_date"].dt.strftime("%Y-%m-%d"),
            "evidence": first["evidence_id"].where(first["victim_id"].isna(), "victim entry"),
            "kind": first["kind"].astype("string").str.replace("_", " "),
            "strength": first["strength"].astype("string").str.replace("_", " "),
            "states named": first["evidence_id"].map(named),
            "state's role": first["country_role"].astype("string").str.replace("_", " "),
            "vendor": first["vendor_name"],
            "product": first["product"],
            "person targeted": first["victim_role_type"].astype("string").str.replace("_", " "),
            "publisher": first["publisher"],
            "title": first["title"],
            "link": first["source_urls"].list[0],
        }
    ).reset_index(drop=True)


def coverage(scored: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """What the data holds and lacks for the report's lines: shares present, unscored and indeterminate."""

    def row(measure: str, count: int, of: int) -> dict[str, object]:
        return {"measure": measure, "count": count, "of": of, "share (%)": round(100 * count / of, 1) if of else None}

    n, n_units = len(scored), len(units)
    return pd.DataFrame(
        [
            row("licence lines with one destination country", int(scored["destination_country_code"].notna().sum()), n),
            row("licence lines with a control code", int(scored["control_code"].notna().sum()), n),
            row("licence lines with a value", int(scored["value"].notna().sum()), n),
            row("licence lines naming the exporter", int(scored["exporter_name"].notna().sum()), n),
            row("licence lines naming the end-user type", int(scored["end_user_type"].notna().sum()), n),
            row("licence lines with destination indicators (D)", int(scored["d_score"].notna().sum()), n),
            row("licence lines scored", int(scored["score"].notna().sum()), n),
            row(
                f"licences in band '{INDETERMINATE}'",
                int(units["band"].astype("string").eq(INDETERMINATE).sum()),
                n_units,
            ),
            row("licences whose band rests on full data (coverage 1)", int(units["coverage"].eq(1).sum()), n_units),
        ]
    )


def coverage_text(table: pd.DataFrame) -> str:
    by = table.set_index("measure")
    indeterminate = by.loc[f"licences in band '{INDETERMINATE}'"]
    return (
        "How much of what the score uses the data has. A missing input is averaged out and the score is also "
        "computed with it at its best and its worst value; where those fall in different bands the licence is "
        f"'{INDETERMINATE}' ({int(indeterminate['count']):,} of {int(indeterminate['of']):,} licences here): it "
        "claims no band, and is not counted as High or above."
    )


# --- licensing role ---


def risk_lists(units: pd.DataFrame, scored: pd.DataFrame, lines: str) -> list[Section]:
    """The highest-risk licences whose band the data settles, then apart those it cannot place in one band.

    ``lines`` says which line of a licence is its score's ('their highest line', 'their highest line to X').
    """
    top = top_licences(units, scored)
    open_band = indeterminate_licences(units, scored)
    key, open_key = "highest_risk_licences", "indeterminate_licences"
    return [
        Section(
            key,
            "The highest-risk licences",
            f"The {TOP_N} licences with the highest ex-ante band and score among those whose band the data settles, "
            f"with the components of {lines}: D destination record, E documented abuse, U end-user, I goods "
            f"(tier), X transaction and exporter points. {band_meaning()}{ties_text(top, key)} Licences whose band the "
            "data cannot settle are listed apart, in the next section.",
            top,
            shown=shown_list(top, key),
        ),
        Section(
            open_key,
            "Licences the data cannot place in one band",
            f"{int((units['band'].astype('string') == INDETERMINATE).sum()):,} licences score in different bands "
            "when their missing inputs are set to the best and to the worst value: they claim no band and are not "
            f"ranked with the list above. The {TOP_N} with the worst worst case are shown, with both cases."
            + ties_text(open_band, open_key).replace("same band and score", "same worst case and score"),
            open_band,
            shown=shown_list(open_band, open_key),
        ),
    ]


def surveillance_to_high(scored: pd.DataFrame) -> pd.DataFrame:
    """Lines of cyber-surveillance goods whose ex-ante band is High or above: the lines Criterion 2 is about."""
    rows = scored[scored["surveillance_type"].notna() & is_high(scored["band"])]
    rows = rows.sort_values(["score", "decision_date"], ascending=[False, True])
    return pd.DataFrame(
        {
            "licence": rows["licence_id"],
            "decided": rows["decision_date"].dt.strftime("%Y-%m-%d"),
            "destination": rows["destination_country_code"].fillna(rows["destination_raw"]),
            "control code": rows["control_code"],
            "surveillance type": rows["surveillance_type"].astype("string").str.replace("_", " "),
            "outcome": rows["outcome"].astype("string"),
            "value": rows["value_share"],
            "is_value_lower_bound": rows["is_value_lower_bound"],
            "score": rows["score"],
            "band": rows["band"].astype("string"),
            "floors": listcols.join(rows["floors"]),
        }
    ).reset_index(drop=True)


def refusals(units: pd.DataFrame) -> pd.DataFrame:
    """Refused licences per criterion cited (a refusal citing several counts under each)."""
    refused = units[units["outcome"].astype("string").eq("refused")]
    cited = refused["refusal_criteria"].explode().fillna("not published")
    counts = cited.value_counts().rename_axis("criterion").reset_index(name="refusals")
    counts["meaning"] = counts["criterion"].map(CRITERIA).fillna("")
    counts["order"] = pd.to_numeric(counts["criterion"], errors="coerce")
    return counts.sort_values(["order", "criterion"], ignore_index=True)[["criterion", "meaning", "refusals"]]


def refusals_text(table: pd.DataFrame, units: pd.DataFrame) -> str:
    n = int(table["refusals"].sum()) if len(table) else 0
    if not units["outcome"].astype("string").eq("refused").any():
        return "The data holds no refused licence for this state: its source may publish issued licences only."
    human_rights = int(table.loc[table["criterion"].eq("2"), "refusals"].sum())
    return (
        f"{n:,} criterion citations on refused licences; {human_rights:,} cite Criterion 2 (human rights and "
        "internal repression). Criteria as the source gives them (EU Common Position 2008/944/CFSP)."
    )


def exporter_links(scored: pd.DataFrame) -> pd.DataFrame:
    """Licence lines whose exporter, or a company tied to it, was linked to documented misuse when decided.

    The path is the scorer's (exportrisk.scoring.network): exporter -[relation period]-> affiliate ... -> evidence.
    """
    linked = scored[scored["network_path"].notna()].sort_values(["decision_date", "licence_id", "line_no"])
    return pd.DataFrame(
        {
            "licence": linked["licence_id"],
            "decided": linked["decision_date"].dt.strftime("%Y-%m-%d"),
            "exporter": linked["exporter_name"],
            "destination": linked["destination_country_code"].fillna(linked["destination_raw"]),
            "path": linked["network_path"],
        }
    ).reset_index(drop=True)


def destinations_section(scored: pd.DataFrame, name: str) -> Section:
    """The top destinations by risk of a licensing state (top_destinations), with what the list leaves out."""
    table = top_destinations(scored)
    apart = int(_band_text(destination_units(scored)["band"]).eq(INDETERMINATE).sum())
    text = (
        f"The destinations of the most issued export licences of {name} with a band of High or above (a licence "
        "counted once per destination, by its highest line to it), ranked by that count; ties ('=' before the rank) "
        "share a rank and are listed by name. Beside each bar, all the destination's licences. Licences the data "
        f"cannot place in one band ({apart:,} in all) rank no destination: the table counts them apart. Licences to "
        f"several or unspecified destinations are not in this list. {band_meaning()}"
    )
    if table.empty:
        text = f"No issued export licence of {name} to a single country has a band of High or above. {band_meaning()}"
    chart = "top_destinations" if len(table) else None
    return Section("top_destinations", "Top destinations by risk", text, table, chart, shown=destinations_shown(table))


def network_section(scored: pd.DataFrame, data: ReportData, spec: ReportSpec) -> list[Section]:
    """The vendor network of the state's exporters (vendor_network), where there is one."""
    table = vendor_network(scored, data.entities, data.relations, spec.country_code)
    if table.empty:
        return []
    roles = pd.concat(
        [
            table[["from_name", "from_role"]].set_axis(["name", "role"], axis=1),
            table[["to_name", "to_role"]].set_axis(["name", "role"], axis=1),
        ]
    ).drop_duplicates("name")
    exporters = sorted(roles.loc[roles["role"].eq("exporter"), "name"])
    letter = sorted(roles.loc[roles["role"].eq("founding_letter"), "name"])
    who = [f"the exporters named on its licences ({', '.join(exporters)})"] if exporters else []
    who += (
        [f"{', '.join(letter)}, the vendor of Access Now's letter of May 2019 to {spec.country_name}"] if letter else []
    )
    text = (
        f"The companies and investors tied at any time to {' and to '.join(who)}, by ownership, merger, sales arm, "
        f"renaming or affiliation, as curated from public reporting: {len(roles):,} entities and {len(table):,} "
        "relations, dated where the reports date them. A tie says whom an exporter belongs with, not that anything "
        "was exported; each relation's sources are in the CSV."
    )
    shown = pd.DataFrame(
        {
            "from": table["from_name"],
            "relation": table["relation"].str.replace("_", " "),
            "to": table["to_name"],
            "when": table["period"],
            "source": table["source_urls"].str.split(";").str[0].str.strip(),
        }
    )
    title = "The vendor network of its exporters"
    return [Section("vendor_network", title, text, table, "vendor_network", shown=shown, source=network_source(table))]


def licensing_sections(scored: pd.DataFrame, units: pd.DataFrame, data: ReportData, spec: ReportSpec) -> list[Section]:
    yearly = by_year_and_band(units)
    lists = risk_lists(units, scored, "their highest line")
    top = lists[0].table
    surveillance = surveillance_to_high(scored)
    refused = refusals(units)
    links = exporter_links(scored)
    cover = coverage(scored, units)
    top_ids = units.loc[units["licence_id"].isin(top["licence"]), "evidence_ids"]
    named = data.evidence[data.evidence["evidence_id"].isin(evidence_ids(top_ids))]
    wide = yearly.pivot_table(index="year", columns="band", values="licences", aggfunc="sum", observed=True)
    wide = wide.reindex(columns=[b for b in (*BANDS, INDETERMINATE, "not scored") if b in wide.columns])
    return [
        Section(
            "licences_by_year_and_band",
            "Licences and value by year and risk band",
            f"Licences decided per year, by the ex-ante band of their highest line, and their value "
            f"({_currency(units)}; lines without a value count as licences but add nothing to the value).",
            yearly,
            "licences_by_year_and_band",
            shown=wide.fillna(0).astype(int).reset_index(),
        ),
        destinations_section(scored, spec.country_name),
        *lists,
        Section(
            "evidence_behind_highest_risk",
            "Evidence behind the highest-risk licences",
            "Every piece of evidence the highest-risk licences' scores used, as published before their decision.",
            evidence_listing(named),
        ),
        Section(
            "surveillance_to_high_risk",
            "Surveillance goods with a High or higher band",
            f"{len(surveillance):,} licence lines of cyber-surveillance goods (see docs/taxonomy.md) whose "
            "ex-ante band, which reflects the destination's record at the decision date, is High or above.",
            surveillance,
        ),
        Section("refusals", "Refusals and their criteria", refusals_text(refused, units), refused),
        Section(
            "exporters_in_vendor_network",
            "Exporters linked to the spyware-vendor network",
            f"{len(links):,} licence lines whose exporter, or a company tied to it by ownership, merger, sales "
            "arm or rebrand, was linked to documented misuse before the decision, with the path. Only names that "
            "match a curated entity count; most sources do not name exporters at all (see coverage).",
            links,
        ),
        *network_section(scored, data, spec),
        Section("coverage", "Coverage, gaps and indeterminate bands", coverage_text(cover), cover),
    ]


# --- where a licensing state's licences went, and who exported them ---


def destination_units(scored: pd.DataFrame) -> pd.DataFrame:
    """Issued export licences per destination country, one row per destination and licence: the licence's
    highest line to that destination, and the value of its lines there."""
    issued = is_export(scored) & scored["outcome"].astype("string").eq("issued").fillna(False).astype(bool)
    lines = scored[issued & scored["destination_country_code"].notna()]
    keys = ["destination_country_code", "licence_id"]
    ordered = lines.sort_values([*keys, "score", "line_no"], ascending=[True, True, False, True], na_position="last")
    units = ordered.drop_duplicates(keys).set_index(keys)
    units["value"] = lines.groupby(keys)["value_share"].sum(min_count=1)
    units["is_value_lower_bound"] = lines.groupby(keys)["is_value_lower_bound"].any()
    return units.reset_index()


def top_destinations(scored: pd.DataFrame, n: int = TOP_N) -> pd.DataFrame:
    """The destinations of the most issued export licences High or above, ranked (ties marked and kept whole, see
    cut), one row per destination and band: licences (count) and their value (in currency; none where the state's
    values are in several currencies, which are not added up).

    Only a determinate band ranks a destination: its indeterminate licences are a row of their own, never in the
    rank. Licences to several or unspecified destinations have no destination to rank.
    """
    units = destination_units(scored).assign(band=lambda u: _band_text(u["band"]))
    currencies = units["currency_code"].dropna().unique()
    per_band = (
        units.groupby(["destination_country_code", "band"], observed=True)
        .agg(
            licences=LICENCE_COUNT,
            value=VALUE_SUM,
            is_value_lower_bound=ANY_LOWER_BOUND,
        )
        .reset_index()
        .rename(columns={"destination_country_code": "destination_code"})
    )
    if len(currencies) != 1:  # amounts in several currencies are not added up
        per_band["value"] = pd.NA
    per_band["currency"] = pd.array([currencies[0] if len(currencies) == 1 else None] * len(per_band), dtype="string")
    high = per_band[per_band["band"].isin(HIGH)].groupby("destination_code")["licences"].sum()
    ranks = pd.DataFrame({"destination_code": high.index, "high": high.to_numpy()})
    ranks["destination"] = [countries.country_name(c) for c in ranks["destination_code"]]
    top = cut(ranked(ranks, ["high"], within="destination"), n) if len(ranks) else ranks.assign(rank="")
    order = {b: i for i, b in enumerate((*BANDS, INDETERMINATE, "not scored"))}
    table = top[["rank", "destination_code", "destination"]].merge(per_band, on="destination_code", how="left")
    table = table.assign(_at=table["destination_code"].map({c: i for i, c in enumerate(top["destination_code"])}))
    table = table.sort_values(["_at", "band"], key=lambda c: c.map(order) if c.name == "band" else c)
    return table.drop(columns="_at").reset_index(drop=True)


def destinations_shown(table: pd.DataFrame) -> pd.DataFrame:
    """The top destinations as the page lists them: one row each, the count that ranks them first."""
    counts = table.pivot_table(
        index="destination_code", columns="band", values="licences", aggfunc="sum", observed=True
    )
    firsts = table.drop_duplicates("destination_code").set_index("destination_code")
    sums = table.groupby("destination_code").agg(value=VALUE_SUM, is_value_lower_bound=ANY_LOWER_BOUND)
    at = firsts.index
    return pd.DataFrame(
        {
            "rank": firsts["rank"],
            "destination": firsts["destination"],
            "licences High or above": counts.reindex(index=at, columns=list(HIGH)).fillna(0).sum(axis=1).astype(int),
            "all licences": counts.reindex(at).fillna(0).sum(axis=1).astype(int),
            "not placed in one band": counts.reindex(index=at, columns=[INDETERMINATE])
            .fillna(0)
            .sum(axis=1)
            .astype(int),
            "value": sums["value"].reindex(at),
            "is_value_lower_bound": sums["is_value_lower_bound"].reindex(at),
            "currency": firsts["currency"],
        }
    ).reset_index(drop=True)


def network_starts(scored: pd.DataFrame, entities: pd.DataFrame, state: str) -> dict[str, str]:
    """The entities a licensing state's vendor network grows from, each with why: a curated entity named as the
    exporter of one of its licences ('exporter'), and, in a state the founding letter went to, the vendor the
    letter was about ('founding_letter')."""
    parties = network.match_parties(scored, entities)
    starts = {e: "exporter" for e in sorted(parties.loc[parties["party_role"].eq("exporter"), "entity_id"].dropna())}
    if state in founding.STATES and founding.VENDOR in set(entities["entity_id"]):
        starts.setdefault(founding.VENDOR, "founding_letter")
    return starts


def _or_empty(values: object) -> list[str]:
    return list(values) if isinstance(values, list | tuple) else []


def vendor_network(scored: pd.DataFrame, entities: pd.DataFrame, relations: pd.DataFrame, state: str) -> pd.DataFrame:
    """Every curated relation among the companies and investors linked at any time to the state's exporters (see
    network_starts), one row each as reported: who, which relation, to whom, when, and its sources."""
    starts = network_starts(scored, entities, state)
    graph = network.build_graph(entities, relations)
    linked = graph.to_undirected(as_view=True)
    members = set().union(*(nx.node_connected_component(linked, e) for e in starts))
    names = dict(graph.nodes(data="name"))
    rows = [
        {
            "from_entity": subject,
            "from_name": names[subject],
            "from_role": starts.get(subject, ""),
            "relation": kind,
            "to_entity": obj,
            "to_name": names[obj],
            "to_role": starts.get(obj, ""),
            "period": network.relation_label(relation).removeprefix(f"{kind} "),
            "source_urls": "; ".join(_or_empty(relation["source_urls"])),  # a list column, read as a CSV shows it
        }
        for subject, obj, kind, relation in graph.subgraph(members).edges(keys=True, data=True)
    ]
    return pd.DataFrame(rows, columns=NETWORK_COLUMNS).sort_values(
        ["from_entity", "relation", "to_entity"], ignore_index=True
    )


def network_source(table: pd.DataFrame) -> str:
    """The network chart's own source line: where its relations were reported (the CSV has every address)."""
    urls = table["source_urls"].str.split(";").explode().str.strip()
    hosts = urls[urls.ne("")].map(lambda u: urlparse(u).netloc.removeprefix("www."))
    counts = hosts.value_counts()
    top = sorted(counts.index, key=lambda h: (-counts[h], h))[:4]
    more = " and others" if len(counts) > len(top) else ""
    return (
        f"companies, investors and relations curated from public reporting ({', '.join(top)}{more}; each "
        f"relation's sources in the chart's CSV). Analysis: exportrisk {__version__}."
    )


# --- destination role ---


def by_year_and_state(units: pd.DataFrame) -> pd.DataFrame:
    """Licences and value per decision year and licensing state (the destination chart's table)."""
    return (
        units.groupby(["year", "licensing_country_code", "currency_code"], dropna=False)
        .agg(licences=LICENCE_COUNT, value=VALUE_SUM)
        .reset_index()
        .rename(columns={"licensing_country_code": "licensing_state", "currency_code": "currency"})
        .sort_values(["year", "licensing_state"], ignore_index=True)
    )


def by_state_and_goods(units: pd.DataFrame) -> pd.DataFrame:
    """What each state licensed to the destination, by goods category and surveillance type."""
    goods = units.assign(
        goods=units["goods_category"].astype("string"),
        surveillance=units["surveillance_type"].astype("string").fillna(""),
    )
    table = goods.groupby(["licensing_country_code", "goods", "surveillance", "currency_code"], dropna=False).agg(
        licences=LICENCE_COUNT, value=VALUE_SUM
    )
    return table.reset_index().rename(
        columns={"licensing_country_code": "licensing state", "currency_code": "currency"}
    )


def indicator_trends(
    indicators: pd.DataFrame, titles: dict[str, str], spec: ReportSpec, first_year: int | None = None
) -> pd.DataFrame:
    """Per indicator and year covered from ``first_year``, the latest edition's value, and as risk on 0-100
    (standard deviations left out: see uncertainty_indicators).

    The latest edition is the best estimate of a year in hindsight; what a score could use at a date is the
    scorer's point-in-time question, not this chart's. Risk is 0 at the scale's best end, 100 at its worst.
    """
    rows = indicators[indicators["country_code"].eq(spec.country_code).fillna(False).astype(bool)]
    rows = rows[~rows["indicator_code"].isin(uncertainty_indicators())]
    rows = rows[within(rows["year"], spec.first_year if first_year is None else first_year, spec.last_year)]
    latest = rows.sort_values(["published_date", "edition"]).drop_duplicates(["indicator_code", "year"], keep="last")
    scale = latest["scale_max"] - latest["scale_min"]
    risk = (latest["value"] - latest["scale_min"]) / scale * 100
    risk = risk.where(latest["is_higher_worse"], 100 - risk)
    table = pd.DataFrame(
        {
            "year": latest["year"],
            "indicator": latest["indicator_code"],
            "title": latest["indicator_code"].map(titles),
            "value": latest["value"],
            "scale": latest["scale_min"].astype(str) + " to " + latest["scale_max"].astype(str),
            "risk": risk.round(1),
            "edition": latest["edition"],
            "source": latest["source"],
        }
    )
    return table.sort_values(["indicator", "year"], ignore_index=True)


def licences_and_record(by_state: pd.DataFrame, trends: pd.DataFrame, data_to: int | None) -> pd.DataFrame:
    """The table behind the destination's chart, one measure per column: licences (count) per year and licensing
    state, then risk (0 best, 100 worst) per year and indicator with its name; licence_data_to is the last year
    the licence sources cover (the chart marks it)."""
    licences = by_state.groupby(["year", "licensing_state"], as_index=False)["licences"].sum()
    record = trends.assign(indicator_name=trends["title"])[["year", "indicator", "indicator_name", "risk"]]
    table = pd.concat([licences, record], ignore_index=True)
    table = table.astype({"year": "Int64", "licences": "Int64", "risk": "Float64"})
    return table.assign(licence_data_to=pd.array([data_to] * len(table), dtype="Int64"))


def last_licence_day(units: pd.DataFrame, source_ends: dict[str, pd.Timestamp]) -> pd.Timestamp | None:
    """The last day the report's licence sources cover (``source_ends``: each source's last decision date)."""
    days = [source_ends[s] for s in units["source"].astype("string").unique() if s in source_ends]
    return max(days) if days else None


def licence_data_to(units: pd.DataFrame, source_ends: dict[str, pd.Timestamp]) -> int | None:
    """The last year the report's licence sources cover."""
    last = last_licence_day(units, source_ends)
    return None if last is None else last.year


def latest_indicators(trends: pd.DataFrame) -> pd.DataFrame:
    """The last year of each indicator: what the page shows under the chart."""
    return trends.sort_values("year").drop_duplicates("indicator", keep="last").sort_values("indicator")


def country_evidence(evidence: pd.DataFrame, spec: ReportSpec) -> pd.DataFrame:
    rows = evidence[evidence["country_code"].eq(spec.country_code).fillna(False).astype(bool)]
    return rows[within(rows["published_date"].dt.year, spec.first_year, spec.last_year)]


def evidence_by_day(rows: pd.DataFrame) -> pd.DataFrame:
    """Entries per publication day, kind and strength (the timeline chart's table)."""
    return (
        rows.groupby(["published_date", "kind", "strength"], observed=True)
        .size()
        .reset_index(name="entries")
        .astype({"kind": "string", "strength": "string"})
    )


def licences_and_evidence(units: pd.DataFrame, evidence: pd.DataFrame, data_to: pd.Timestamp | None) -> pd.DataFrame:
    """The table behind the destination's timeline, one measure per column: licences (count) per decision month,
    then evidence entries per publication day, kind and strength; licence_data_to is the last day the licence
    sources cover."""
    months = units["decision_date"].dt.to_period("M").dt.to_timestamp()
    licences = months.value_counts().sort_index().rename_axis("month").reset_index(name="licences")
    table = pd.concat([licences, evidence_by_day(evidence)], ignore_index=True)
    table = table.astype({"month": "datetime64[ns]", "licences": "Int64", "entries": "Int64"})
    return table.assign(licence_data_to=pd.Series([data_to] * len(table), dtype="datetime64[ns]"))


def band_distribution(units: pd.DataFrame) -> pd.DataFrame:
    """Licences per ex-ante band (rows, every band) and licensing state (columns), with a total."""
    bands = [*BANDS, INDETERMINATE] + (["not scored"] if units["band"].isna().any() else [])
    table = pd.crosstab(_band_text(units["band"]), units["licensing_country_code"])
    table = table.reindex(bands, fill_value=0).rename_axis(index="band", columns=None)
    table["all states"] = table.sum(axis=1)
    return table.reset_index()


def destination_sections(
    scored: pd.DataFrame, units: pd.DataFrame, data: ReportData, spec: ReportSpec
) -> list[Section]:
    name = spec.country_name
    context = None if spec.first_year is not None or units.empty else int(units["year"].min()) - CONTEXT_YEARS
    trends = indicator_trends(data.indicators, data.indicator_titles, spec, context)
    evidence = country_evidence(data.evidence, spec)
    listing = evidence_listing(evidence)
    bands = band_distribution(units)
    cover = coverage(scored, units)
    high = int(bands.loc[bands["band"].isin(HIGH), "all states"].sum())
    targeting = evidence[evidence["kind"].astype("string").eq("targeting_incident")]
    return [
        Section(
            "licences_and_indicators",
            f"Who licensed what to {name}, and its human-rights record",
            f"Above, licences with a line to {name} per decision year and licensing state; below, {name}'s "
            "indicators on one scale, 0 (best) to 100 (worst), from the latest edition covering each year"
            + (f", from {CONTEXT_YEARS} years before the first licence" if context is not None else "")
            + ". The table gives what each state licensed, by goods; values are in each state's currency, and a "
            "licence for several destinations counts its share of the value.",
            licences_and_record(by_year_and_state(units), trends, licence_data_to(units, data.source_ends)),
            "licences_and_indicators",
            shown=by_state_and_goods(units),
        ),
        Section(
            "indicator_trends",
            "Human-rights indicators",
            "The last year of each indicator in the chart above, as published; the CSV has every year.",
            trends,
            shown=latest_indicators(trends),
        ),
        Section(
            "evidence_timeline",
            "Licences and published evidence on one timeline",
            f"Above, licences to {name} per decision month; below, {evidence['evidence_id'].nunique():,} pieces of "
            f"evidence naming {name}'s state, dated by publication, {len(targeting):,} of them targeting "
            "incidents. The dotted line is where the licence data ends: no bar after it means no data, not no "
            "licence. People targeted appear only as the kind of person they are: never by name.",
            licences_and_evidence(units, evidence, last_licence_day(units, data.source_ends)),
            "licences_and_evidence",
            shown=listing,
        ),
        Section(
            "band_distribution",
            "Risk distribution of licences",
            f"{high:,} of {len(units):,} licences to {name} are High or above (ex ante, by their highest line to "
            f"{name}), per licensing state.",
            bands,
        ),
        *risk_lists(units, scored, f"their highest line to {name}"),
        Section("coverage", "Coverage, gaps and indeterminate bands", coverage_text(cover), cover),
    ]


# --- headline, sources, the whole report ---


def money(value: float, currency: str, lower_bound: bool = False) -> str:
    """An amount as a sentence states it: 'EUR 134.6 bn', 'GBP 7.8 m', 'EUR 200,000', 'over EUR 200,000'."""
    over = "over " if lower_bound else ""
    for size, unit in ((1e9, "bn"), (1e6, "m")):
        if abs(value) >= size:
            return f"{over}{currency} {value / size:,.1f} {unit}"
    return f"{over}{currency} {value:,.0f}"


def stated(value: float, lower_bound: bool) -> object:
    """A total as a table shows it: the number, or 'over <number>' where it includes a lower bound, never the
    bound alone as if it were exact."""
    return f"over {value:,.0f}" if lower_bound else round(float(value))


def is_export(units: pd.DataFrame) -> pd.Series:
    return units["licence_kind"].astype("string").eq("export").fillna(False).astype(bool)


def open_destination(units: pd.DataFrame) -> pd.Series:
    """Licences to several or unspecified countries ('Diverse landen', 'EU', 'NAVO'): global or open licences."""
    return units["destination_type"].astype("string").isin(["multiple", "unspecified"]).fillna(False).astype(bool)


def partial_years(licences: pd.DataFrame) -> pd.DataFrame:
    """Each year a source covers only in part (source, year, first_month, last_month): fewer months with a
    decision than a year it covers in full. Computed over a source's whole table, not one report's lines (a
    destination may get no licence for months of a full year); a source that never covers a whole year (a few
    reported licences) has none."""
    dated = licences.dropna(subset=["decision_date"])
    found = (
        pd.DataFrame({"source": dated["source"].astype("string"), "date": dated["decision_date"]})
        .assign(year=lambda d: d["date"].dt.year, month=lambda d: d["date"].dt.month)
        .groupby(["source", "year"])["month"]
        .agg(first_month="min", last_month="max", months="nunique")
        .reset_index()
    )
    whole = found.groupby("source")["months"].transform("max").eq(12)
    return found[whole & found["months"].lt(12)].drop(columns="months").reset_index(drop=True)


def caveats(units: pd.DataFrame, partial: pd.DataFrame) -> list[str]:
    """What a reader must know before quoting the key figures: kinds counted apart, open-licence ceilings, a
    licence that is most of a total (of several), years the data covers in part (``partial``: partial_years of
    the whole licences table)."""
    notes = []
    exports = units[is_export(units)]
    for kind, n in units.loc[~is_export(units), "licence_kind"].astype("string").value_counts().sort_index().items():
        notes.append(
            f"{n:,} {kind} licences are counted apart: they are in no figure about export licences or their value."
        )
    for currency, part in exports.groupby("currency_code", sort=True):
        total = part["value"].sum()
        if not total > 0:
            continue
        ceilings = part[open_destination(part)]
        share = 100 * ceilings["value"].sum() / total
        if ceilings["value"].sum() > 0:
            named = ", ".join(f"'{d}'" for d in ceilings["destination_raw"].value_counts().index[:3])
            notes.append(
                f"{money(ceilings['value'].sum(), currency)} of the {money(total, currency)} export value "
                f"({f'{share:.0f}%' if share >= 1 else 'under 1%'}) is in {len(ceilings):,} licences to several or "
                f"unspecified destinations ({named}, ...): where such a licence is a global or open licence, its "
                "value is a ceiling on what may be shipped, not a shipment."
            )
        bounded = part[part["is_value_lower_bound"]]
        if len(bounded):
            said = "; ".join(
                f"{i}, {money(v, currency, True)}" for i, v in zip(bounded["licence_id"], bounded["value"], strict=True)
            )
            notes.append(
                f"{len(bounded):,} licence(s) published with a lower bound for a value ({said}): the {currency} export "
                f"value, {money(total, currency, True)}, and any total that includes them are lower bounds, shown "
                "as 'over'."
            )
        largest = part.loc[part["value"].idxmax()]
        if len(part) > 1 and largest["value"] > total / 2:
            notes.append(
                f"One licence, {largest['licence_id']} (decided {largest['decision_date']:%Y-%m-%d}, "
                f"{largest['control_code'] if pd.notna(largest['control_code']) else 'no control code'}, to "
                f"{largest['destination_raw']}), is {100 * largest['value'] / total:.0f}% of the {currency} total: "
                f"{money(largest['value'], currency)}."
            )
    in_report = set(zip(units["source"].astype("string"), units["year"], strict=True))
    for source, year, first, last in partial.itertuples(index=False):
        if (source, year) not in in_report:
            continue
        span = f"{month_name[first]}-{month_name[last]}" if first != last else month_name[first]
        notes.append(f"{year} is a partial year in {source}: it covers {span} only; do not compare it with full years.")
    return notes


def headline(units: pd.DataFrame, scored: pd.DataFrame, data: ReportData, spec: ReportSpec) -> dict[str, object]:
    """The key figures of a report: shown at its top and listed in reports/index.html.

    Export licences and their value are counted apart from other kinds (transit); read them with caveats().
    """
    high = is_high(units["band"])
    exports = units[is_export(units)]
    values = exports.groupby("currency_code")["value"].sum(min_count=1).dropna()
    bounds = exports.groupby("currency_code")["is_value_lower_bound"].any()
    kinds = units.loc[~is_export(units), "licence_kind"].astype("string").value_counts().sort_index()
    figures: dict[str, object] = {
        "export licences": len(exports),
        **{f"{kind} licences": int(n) for kind, n in kinds.items()},
        "licence lines": len(scored),
        **{f"export value ({currency})": stated(v, bounds[currency]) for currency, v in values.items()},
        "High or above": int(high.sum()),
        "High or above (%)": round(100 * float(high.mean()), 1) if len(units) else 0.0,
        INDETERMINATE: int(units["band"].astype("string").eq(INDETERMINATE).sum()),
    }
    if spec.role == "licensing":
        figures["surveillance lines High or above"] = len(surveillance_to_high(scored))
        figures["refused"] = int(units["outcome"].astype("string").eq("refused").sum())
        figures["lines linked to vendor network"] = int(scored["network_path"].notna().sum())
    else:
        figures["licensing states"] = int(units["licensing_country_code"].nunique())
        figures["evidence items"] = int(country_evidence(data.evidence, spec)["evidence_id"].nunique())
    return figures


def sources_table(manifests: dict[str, dict]) -> pd.DataFrame:
    """The sources behind the tables, with the terms they are published under (from the source registry)."""
    rows = [
        {
            "source": name,
            "title": m.get("title", ""),
            "licence": m.get("licence", ""),
            "citation": m.get("citation", ""),
            "retrieved": m.get("retrieved", ""),
        }
        for name, m in sorted(manifests.items())
    ]
    return pd.DataFrame(rows, columns=["source", "title", "licence", "citation", "retrieved"])


def checksums_table(manifests: dict[str, dict]) -> pd.DataFrame:
    """sha256 of every raw file the report rests on, as recorded when fetched. (The processed tables hold every
    country's rows, so their checksums would change with any country's data: provenance.json has instead the
    report's fingerprint over exactly the rows it uses.)"""
    rows = [
        {"file": f"data/raw/{name}/{file}", "sha256": info["sha256"]}
        for name, m in sorted(manifests.items())
        for file, info in sorted(m.get("files", {}).items())
    ]
    return pd.DataFrame(rows, columns=["file", "sha256"])


def used_sources(scored: pd.DataFrame, data: ReportData) -> dict[str, dict]:
    """The manifests of the sources a report rests on: its licences' sources, and every indicator, evidence and
    network source (the scores use them)."""
    registry = sources()
    names = {*scored["source"], *data.evidence["source"], *data.entities["source"]}
    names |= {n for n, s in registry.items() if s.kind in ("indicators", "evidence")}
    return {name: m for name, m in data.manifests.items() if name in names}


def publishers(evidence: pd.DataFrame, most: int = 4) -> list[str]:
    """Who published the evidence, the most frequent first (ties by name)."""
    named = evidence.drop_duplicates("evidence_id")["publisher"].dropna().str.split(";").explode().str.strip()
    counts = named[named.ne("")].value_counts()
    return sorted(counts.index, key=lambda p: (-counts[p], p))[:most]


def source_line(manifests: dict[str, dict], method_versions: list[str], evidence: pd.DataFrame) -> str:
    """What goes under every chart, so that a chart lifted from the page still says where it comes from: the
    sources by name (the report lists them in full with their terms), who published the evidence it shows, and
    the analysis."""
    registered = sources()
    names = [m.get("title") or name for name, m in sorted(manifests.items()) if name in registered]
    if any(name not in registered for name in manifests):
        names.append("licences and evidence curated from public reporting (each row cites its source)")
    by = publishers(evidence)
    said = f"; evidence published by {', '.join(by)}" + (" and others" if len(by) == 4 else "") if by else ""
    method = f", scoring method {', '.join(method_versions)}" if method_versions else ""
    return f"{'; '.join(names)}{said}. Analysis: exportrisk {__version__}{method}."


def report_evidence(scored: pd.DataFrame, data: ReportData, spec: ReportSpec) -> pd.DataFrame:
    """The evidence a report rests on: what its lines' scores used and, for a destination, what names its state."""
    used = data.evidence[data.evidence["evidence_id"].isin(evidence_ids(scored["evidence_ids"]))]
    if spec.role == "destination":
        used = pd.concat([used, country_evidence(data.evidence, spec)])
    return used


def founding_section(scored: pd.DataFrame, state: str) -> Section:
    """Bulgaria and Cyprus, where the founding letter went: their curated licences in full (reporting.founding)."""
    table = founding.curated_licences(scored, founding.curated_notes(), state)
    title = "The founding case: curated licences, their sources, and what data does not exist"
    return Section("founding_case", title, founding.founding_text(table, state), table)


def build_report(data: ReportData, spec: ReportSpec) -> Report:
    """Every section of one report, from tables that hold at least its rows."""
    scored = scored_lines(select_lines(data.licences, spec), data.score_lines)
    units = licence_units(scored)
    if spec.role == "licensing":
        sections = licensing_sections(scored, units, data, spec)
        if spec.country_code in founding.STATES:
            sections.append(founding_section(scored, spec.country_code))
        title = f"Export licences decided by {spec.country_name}"
    else:
        sections = destination_sections(scored, units, data, spec)
        title = f"Export licences to {spec.country_name}"
    sections += aggregate_section(select_lines(data.aggregates, spec), spec)
    versions = sorted(scored["method_version"].dropna().unique())
    used = used_sources(scored, data)
    return Report(
        spec=spec,
        title=f"{title} ({spec.period_label})",
        headline=headline(units, scored, data, spec),
        caveats=caveats(units, data.partial_years),
        sections=sections,
        source_line=source_line(used, versions, report_evidence(scored, data, spec)),
        sources=sources_table(used),
        checksums=checksums_table(used),
        method_versions=versions,
    )


def headline_table(report: Report) -> pd.DataFrame:
    """The key figures as a two-column table (values kept as they are: counts stay integers)."""
    values = pd.Series(list(report.headline.values()), dtype=object)
    return pd.DataFrame({"figure": list(report.headline), "value": values})


def caveats_text(report: Report) -> str:
    """The caveats as the page shows them, under the key figures (empty without any)."""
    if not report.caveats:
        return ""
    return "**Read these figures with care:**\n\n" + "\n".join(f"- {note}" for note in report.caveats)


def provenance_text(report: Report) -> str:
    """The closing section's words: how the report was made, before its sources and checksums."""
    method = ", ".join(report.method_versions) or "none (no scored lines)"
    return (
        "## Sources, data licences, method and checksums\n\n"
        f"Made by exportrisk {__version__} with scoring method version {method} "
        "(exportrisk/metadata/scoring.yaml; the method: docs/methodology.md). Scores are ex ante: each uses "
        "only evidence and indicator editions published before the licence's decision date. Below: the "
        "sources with the terms they are published under, and the sha256 of every raw input file (provenance.json "
        "adds the report's fingerprint, a sha256 over exactly the rows, evidence and code it uses)."
    )


def provenance(report: Report) -> dict[str, object]:
    """provenance.json: what the report is, its key figures, and everything needed to reproduce it.

    No timestamps: the same inputs give the same file, so a rerun that changed nothing shows no change.
    """
    spec = report.spec
    return {
        "report": {**dataclasses.asdict(spec), "country_name": spec.country_name, "period": spec.period_label},
        "title": report.title,
        "headline": headline_table(report).to_dict(orient="records"),  # a list: JSON keys get sorted
        "caveats": report.caveats,
        "exportrisk_version": __version__,
        "method_versions": report.method_versions,
        "sources": report.sources.to_dict(orient="records"),
        "inputs": dict(zip(report.checksums["file"], report.checksums["sha256"], strict=True)),
        "sections": [s.key for s in report.sections],
    }
