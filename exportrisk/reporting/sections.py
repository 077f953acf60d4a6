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
import re
from dataclasses import dataclass

import pandas as pd

from exportrisk import __version__, config
from exportrisk.errors import InputError
from exportrisk.ingest.registry import sources
from exportrisk.reference import countries, pseudonyms
from exportrisk.schema import BANDS, INDETERMINATE

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
CONTEXT_YEARS = 5  # indicator years shown before a destination's first licence
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
    input_checksums: dict[str, str]  # processed table -> sha256


@dataclass(frozen=True)
class Section:
    key: str  # file stem of its chart and table
    title: str
    text: str  # markdown
    table: pd.DataFrame  # behind the chart, written as tables/<key>.csv
    chart: str | None = None  # a key of exportrisk.reporting.plots.CHARTS
    shown: pd.DataFrame | None = None  # what the page shows, where not the table itself

    @property
    def display_table(self) -> pd.DataFrame:
        return self.table if self.shown is None else self.shown


@dataclass(frozen=True)
class Report:
    spec: ReportSpec
    title: str
    headline: dict[str, object]  # label -> number or text, also listed in reports/index.html
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


def select_lines(licences: pd.DataFrame, spec: ReportSpec) -> pd.DataFrame:
    """The licence lines a report is about: by the state or to it, decided within the period."""
    keep = licences[ROLE_COLUMN[spec.role]].eq(spec.country_code).fillna(False).astype(bool)
    keep &= within(licences["decision_date"].dt.year, spec.first_year, spec.last_year)
    return licences[keep].reset_index(drop=True)


def scored_lines(lines: pd.DataFrame, score_lines: pd.DataFrame) -> pd.DataFrame:
    """Lines with their scores (missing where the line was not scored) and value_share, the value to sum."""
    scored = lines.merge(score_lines[SCORE_COLUMNS], on=["licence_id", "line_no"], how="left", validate="1:1")
    scored["value_share"] = scored["value"] / scored["value_shared_by"]
    scored["year"] = scored["decision_date"].dt.year.astype("Int64")
    return scored


def licence_units(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per licence: its highest-scoring line (ties: the first) and the value of all the lines given."""
    ranked = scored.sort_values(["licence_id", "score", "line_no"], ascending=[True, False, True], na_position="last")
    units = ranked.drop_duplicates("licence_id").set_index("licence_id")
    units["value"] = scored.groupby("licence_id")["value_share"].sum(min_count=1)
    units["n_lines"] = scored.groupby("licence_id").size()
    return units.reset_index().sort_values(["decision_date", "licence_id"], ignore_index=True)


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
        .agg(licences=("licence_id", "size"), value=("value", lambda v: v.sum(min_count=1)))
        .reset_index()
        .rename(columns={"currency_code": "currency"})
    )
    order = {b: i for i, b in enumerate((*BANDS, INDETERMINATE, "not scored"))}
    return table.sort_values(["year", "band"], key=lambda c: c.map(order) if c.name == "band" else c, ignore_index=True)


def top_licences(units: pd.DataFrame, scored: pd.DataFrame, n: int = TOP_N) -> pd.DataFrame:
    """The n highest-risk licences with the component breakdown of their highest line and its evidence."""
    top = units.dropna(subset=["score"]).sort_values(["score", "decision_date"], ascending=[False, True]).head(n)
    lines = scored[scored["licence_id"].isin(top["licence_id"])]
    joined = lines.groupby("licence_id").agg(
        destinations=("destination_raw", lambda s: "; ".join(dict.fromkeys(s.dropna()))),
        control_codes=("control_code", lambda s: "; ".join(dict.fromkeys(s.dropna()))),
    )
    table = top.join(joined, on="licence_id")
    table = table.assign(
        decided=table["decision_date"].dt.strftime("%Y-%m-%d"),
        band=_band_text(table["band"]),
        evidence_shown=pseudonyms.public_evidence_ids(table["evidence_ids"]),
    )
    columns = {
        "licence_id": "licence",
        "decided": "decided",
        "licensing_country_code": "licensed by",
        "destinations": "destination",
        "control_codes": "control codes",
        "goods_description": "goods",
        "value": "value",
        "currency_code": "currency",
        "score": "score",
        "band": "band",
        **COMPONENTS,
        "floors": "floors",
        "flags": "flags",
        "evidence_shown": "evidence",
    }
    return table[list(columns)].rename(columns=columns).reset_index(drop=True)


def evidence_ids(text: pd.Series) -> list[str]:
    """The distinct evidence ids of ';'-separated lists, in order of appearance."""
    ids = text.dropna().str.split(";").explode().str.strip()
    return list(dict.fromkeys(ids[ids.ne("")]))


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
            "link": first["source_urls"].str.split(";").str[0].str.strip(),
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
            "score": rows["score"],
            "band": rows["band"].astype("string"),
            "floors": rows["floors"],
        }
    ).reset_index(drop=True)


def refusals(units: pd.DataFrame) -> pd.DataFrame:
    """Refused licences per criterion cited (a refusal citing several counts under each)."""
    refused = units[units["outcome"].astype("string").eq("refused")]
    cited = refused["refusal_criteria"].fillna("not published").str.split(";").explode().str.strip()
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


def licensing_sections(scored: pd.DataFrame, units: pd.DataFrame, data: ReportData) -> list[Section]:
    yearly = by_year_and_band(units)
    top = top_licences(units, scored)
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
        Section(
            "highest_risk_licences",
            "The highest-risk licences",
            "The ten licences with the highest ex-ante score, with the components of their highest line: D "
            "destination record, E documented abuse, U end-user, I goods (tier), X transaction and exporter "
            "points. Floors and flags are the scorer's; the evidence is listed below.",
            top,
        ),
        Section(
            "evidence_behind_highest_risk",
            "Evidence behind those scores",
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
        Section("coverage", "Coverage, gaps and indeterminate bands", coverage_text(cover), cover),
    ]


# --- destination role ---


def by_year_and_state(units: pd.DataFrame) -> pd.DataFrame:
    """Licences and value per decision year and licensing state (the destination chart's table)."""
    return (
        units.groupby(["year", "licensing_country_code", "currency_code"], dropna=False)
        .agg(licences=("licence_id", "size"), value=("value", lambda v: v.sum(min_count=1)))
        .reset_index()
        .rename(columns={"licensing_country_code": "licensing_country", "currency_code": "currency"})
        .sort_values(["year", "licensing_country"], ignore_index=True)
    )


def by_state_and_goods(units: pd.DataFrame) -> pd.DataFrame:
    """What each state licensed to the destination, by goods category and surveillance type."""
    goods = units.assign(
        goods=units["goods_category"].astype("string"),
        surveillance=units["surveillance_type"].astype("string").fillna(""),
    )
    table = goods.groupby(["licensing_country_code", "goods", "surveillance", "currency_code"], dropna=False).agg(
        licences=("licence_id", "size"), value=("value", lambda v: v.sum(min_count=1))
    )
    return table.reset_index().rename(
        columns={"licensing_country_code": "licensing state", "currency_code": "currency"}
    )


def indicator_trends(
    indicators: pd.DataFrame, titles: dict[str, str], spec: ReportSpec, first_year: int | None = None
) -> pd.DataFrame:
    """Per indicator and year covered from ``first_year``, the latest edition's value, and as risk on 0-100.

    The latest edition is the best estimate of a year in hindsight; what a score could use at a date is the
    scorer's point-in-time question, not this chart's. Risk is 0 at the scale's best end, 100 at its worst.
    """
    rows = indicators[indicators["country_code"].eq(spec.country_code).fillna(False).astype(bool)]
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


def licences_and_record(by_state: pd.DataFrame, trends: pd.DataFrame) -> pd.DataFrame:
    """The table behind the destination's chart, long: year, panel, series (licensing state or indicator) and
    value (licences, or indicator risk 0-100)."""
    licences = by_state.groupby(["year", "licensing_country"], as_index=False)["licences"].sum()
    parts = [
        pd.DataFrame(
            {
                "year": licences["year"],
                "panel": "licences",
                "series": licences["licensing_country"],
                "value": licences["licences"],
            }
        ),
        pd.DataFrame(
            {"year": trends["year"], "panel": "indicators", "series": trends["indicator"], "value": trends["risk"]}
        ),
    ]
    return pd.concat(parts, ignore_index=True).astype({"year": "Int64", "value": "Float64"})


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
    top = top_licences(units, scored)
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
            licences_and_record(by_year_and_state(units), trends),
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
            "Timeline of published evidence",
            f"{evidence['evidence_id'].nunique():,} pieces of evidence naming {name}'s state, dated by "
            f"publication, {len(targeting):,} of them targeting incidents. People targeted appear only as the "
            "kind of person they are: never by name.",
            evidence_by_day(evidence),
            "evidence_timeline",
            shown=listing,
        ),
        Section(
            "band_distribution",
            "Risk distribution of licences",
            f"{high:,} of {len(units):,} licences to {name} are High or above (ex ante, by their highest line to "
            f"{name}), per licensing state.",
            bands,
        ),
        Section(
            "highest_risk_licences",
            f"The highest-risk licences to {name}",
            "The ten licences with the highest ex-ante score, with the components of their highest line to "
            f"{name} (D destination, E abuse, U end-user, I goods, X transaction and exporter).",
            top,
        ),
        Section("coverage", "Coverage, gaps and indeterminate bands", coverage_text(cover), cover),
    ]


# --- headline, sources, the whole report ---


def headline(units: pd.DataFrame, scored: pd.DataFrame, data: ReportData, spec: ReportSpec) -> dict[str, object]:
    """The key figures of a report: shown at its top and listed in reports/index.html."""
    high = is_high(units["band"])
    values = units.groupby("currency_code")["value"].sum(min_count=1).dropna()
    figures: dict[str, object] = {
        "licences": len(units),
        "licence lines": len(scored),
        **{f"value ({currency})": round(float(v)) for currency, v in values.items()},
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


def checksums_table(manifests: dict[str, dict], processed: dict[str, str]) -> pd.DataFrame:
    """sha256 of every raw file (as recorded when fetched) and of the processed tables the report read."""
    rows = [
        {"file": f"data/raw/{name}/{file}", "sha256": info["sha256"]}
        for name, m in sorted(manifests.items())
        for file, info in sorted(m.get("files", {}).items())
    ]
    rows += [{"file": f"data/processed/{file}", "sha256": digest} for file, digest in sorted(processed.items())]
    return pd.DataFrame(rows, columns=["file", "sha256"])


def used_sources(scored: pd.DataFrame, data: ReportData) -> dict[str, dict]:
    """The manifests of the sources a report rests on: its licences' sources, and every indicator, evidence and
    network source (the scores use them)."""
    registry = sources()
    names = {*scored["source"], *data.evidence["source"], *data.entities["source"]}
    names |= {n for n, s in registry.items() if s.kind in ("indicators", "evidence")}
    return {name: m for name, m in data.manifests.items() if name in names}


def source_line(manifests: dict[str, dict], method_versions: list[str]) -> str:
    """What goes under every chart: the sources by their registry names (the report lists them in full), and
    the analysis. Kept short: it is drawn three times per chart, and long text is most of a chart's cost."""
    method = f", scoring method {', '.join(method_versions)}" if method_versions else ""
    return f"{', '.join(sorted(manifests))} (see the report's sources); exportrisk {__version__}{method}."


def build_report(data: ReportData, spec: ReportSpec) -> Report:
    """Every section of one report, from tables that hold at least its rows."""
    scored = scored_lines(select_lines(data.licences, spec), data.score_lines)
    units = licence_units(scored)
    if spec.role == "licensing":
        sections = licensing_sections(scored, units, data)
        title = f"Export licences decided by {spec.country_name}"
    else:
        sections = destination_sections(scored, units, data, spec)
        title = f"Export licences to {spec.country_name}"
    versions = sorted(scored["method_version"].dropna().unique())
    used = used_sources(scored, data)
    return Report(
        spec=spec,
        title=f"{title} ({spec.period_label})",
        headline=headline(units, scored, data, spec),
        sections=sections,
        source_line=source_line(used, versions),
        sources=sources_table(used),
        checksums=checksums_table(used, data.input_checksums),
        method_versions=versions,
    )


def headline_table(report: Report) -> pd.DataFrame:
    """The key figures as a two-column table (values kept as they are: counts stay integers)."""
    values = pd.Series(list(report.headline.values()), dtype=object)
    return pd.DataFrame({"figure": list(report.headline), "value": values})


def provenance_text(report: Report) -> str:
    """The closing section's words: how the report was made, before its sources and checksums."""
    method = ", ".join(report.method_versions) or "none (no scored lines)"
    return (
        "## Sources, data licences, method and checksums\n\n"
        f"Made by exportrisk {__version__} with scoring method version {method} "
        "(exportrisk/metadata/scoring.yaml; the method: docs/methodology.md). Scores are ex ante: each uses "
        "only evidence and indicator editions published before the licence's decision date. Below: the "
        "sources with the terms they are published under, and the sha256 of every input file."
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
        "exportrisk_version": __version__,
        "method_versions": report.method_versions,
        "sources": report.sources.to_dict(orient="records"),
        "inputs": dict(zip(report.checksums["file"], report.checksums["sha256"], strict=True)),
        "sections": [s.key for s in report.sections],
    }
