"""Screen applications against the processed tables: score, findings and memo per application, and one table.

``screen`` is the pure core (applications and tables in, a list of Memo out); ``run`` reads the processed
tables, writes the memos (HTML, PDF) and the table ``screenings.csv`` atomically, and is what
``exportrisk screen`` and ``er.screen`` call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from exportrisk import listcols
from exportrisk.ingest.files import write_csv as write_published
from exportrisk.knowledge.evidence import country_evidence_as_of
from exportrisk.schema import BANDS
from exportrisk.scoring import network
from exportrisk.scoring import score as scoring
from exportrisk.screening import applications, findings

COMPONENTS = {"d_score": "D", "e_score": "E", "u_score": "U", "i_score": "I", "x_score": "X"}
UNKNOWN_END_USER = "unknown"


@dataclass
class Memo:
    """Everything one screening memo shows (see findings for how each part is found)."""

    application: dict[str, object]
    lines: pd.DataFrame  # score_lines of the application's licence lines
    top: pd.Series  # the highest-scoring line: the application's score
    reason: str
    evidence: pd.DataFrame
    victim_entries: pd.DataFrame
    exporter: dict[str, object] | None
    network: dict[str, pd.DataFrame] | None
    similar: pd.DataFrame
    precedent: pd.DataFrame
    refusal_publishers: list[str]
    changes: pd.DataFrame
    next_evidence: pd.Series | None

    @property
    def band(self) -> str:
        return str(self.top["band"])


def read_tables(processed: Path) -> findings.Tables:
    """The processed tables a screening needs, as scoring reads them (a missing one says to run clean)."""
    return findings.Tables(**scoring.read_processed(processed))


def alternatives(lines: pd.DataFrame, cfg: scoring.ScoringConfig) -> pd.DataFrame:
    """All applications' lines with one input changed, for 'what would change the band': each end-user type the
    configuration knows (and unknown) instead of the given one, and, for a named exporter, no exporter link.
    Each variant is a licence of its own, '<licence_id>~<change>', with the change in words in ``change``."""
    current = lines["end_user_type"].fillna(UNKNOWN_END_USER)
    variants = []
    for t in (*cfg.end_user.scores, UNKNOWN_END_USER):
        other = lines[current.ne(t)]
        variants.append(
            other.assign(
                licence_id=other["licence_id"] + f"~{t}",
                end_user_type=None if t == UNKNOWN_END_USER else t,
                change="end user " + t + " instead of " + current[other.index],
            )
        )
    named = lines[lines["exporter_name"].notna()]
    unlinked = "an exporter with no link to documented misuse"
    variants.append(named.assign(licence_id=named["licence_id"] + "~unlinked", exporter_name=pd.NA, change=unlinked))
    return pd.concat(variants, ignore_index=True)


def _scored(lines: pd.DataFrame, tables: findings.Tables, cfg: scoring.ScoringConfig) -> pd.DataFrame:
    scored = scoring.score_against(lines.drop(columns="change", errors="ignore"), tables.as_scoring(), cfg)
    return scored.assign(change=lines["change"].to_numpy()) if "change" in lines else scored


def top_lines(scored: pd.DataFrame) -> pd.DataFrame:
    """Per licence, its highest-scoring line (ties: the first line), as the licence's score."""
    order = scored.sort_values(["licence_id", "score", "line_no"], ascending=[True, False, True])
    return order.drop_duplicates("licence_id").set_index("licence_id")


def band_changes(tops: pd.DataFrame, alt_tops: pd.DataFrame) -> pd.DataFrame:
    """The one-input changes that move each application's band, smallest score change first: (base, change,
    score, band, delta), ``base`` the application's licence_id."""
    alt = alt_tops.assign(base=alt_tops.index.str.rsplit("~", n=1).str[0]).reset_index(drop=True)
    alt = alt.merge(tops[["score", "band"]], left_on="base", right_index=True, suffixes=("", "_base"))
    alt["delta"] = (alt["score"] - alt["score_base"]).astype(float)
    moved = alt[alt["band"].astype(str) != alt["band_base"].astype(str)].assign(size=lambda m: m["delta"].abs())
    moved = moved.sort_values(["base", "size", "change"])
    return moved[["base", "change", "score", "band", "delta"]].reset_index(drop=True)


@dataclass
class Screening:
    """Screened applications: the scores of all at once (a table in seconds for thousands), the memo of each
    on request (its findings are gathered one application at a time)."""

    apps: pd.DataFrame
    scored: pd.DataFrame  # score_lines of every line
    tops: pd.DataFrame  # per licence_id, the highest line
    changes: pd.DataFrame  # band_changes
    exporters: pd.DataFrame  # per application: entity_id, match_type, confidence of its exporter
    tables: findings.Tables

    def licence_id(self, i: int) -> str:
        return applications.SOURCE + ":" + self.apps["application_id"].iloc[i]

    def reason(self, i: int) -> str:
        """The scorer's sentence on the band and its largest contributors, with the score and its interval."""
        top = self.tops.loc[self.licence_id(i)]
        interval = f"best {top['score_best']:.1f}, worst {top['score_worst']:.1f}"
        return f"{top['why']} (score {top['score']:.1f}, {interval})."

    def memo(self, i: int) -> Memo:
        app, tables = self.apps.iloc[i].to_dict(), self.tables
        licence_id = self.licence_id(i)
        day, country = pd.Timestamp(app["date"]), app["destination_country_code"]
        found = self.exporters.iloc[i]
        exporter = None if pd.isna(found["entity_id"]) else found.to_dict()
        entity_id = None if exporter is None else str(exporter["entity_id"])
        evidence, victims = findings.destination_evidence(tables.evidence, country, day)
        return Memo(
            application={**app, "destination_label": findings.country_label(country)},
            lines=self.scored[self.scored["licence_id"].eq(licence_id)].reset_index(drop=True),
            top=self.tops.loc[licence_id],
            reason=self.reason(i),
            evidence=evidence,
            victim_entries=victims,
            exporter=exporter,
            network=None if entity_id is None else findings.exporter_network(tables, entity_id, day),
            similar=findings.similar_exporters(tables, entity_id, country, day),
            precedent=findings.precedent(tables.licences, country, app["codes"], day),
            refusal_publishers=findings.refusal_publishers(tables.licences),
            changes=self.changes[self.changes["base"].eq(licence_id)].reset_index(drop=True),
            next_evidence=findings.next_evidence(tables, country, entity_id, day),
        )


def screen(apps: pd.DataFrame, tables: findings.Tables, cfg: scoring.ScoringConfig) -> Screening:
    """Score checked applications (applications.check_applications) and every one-input variant of them."""
    lines = applications.licence_lines(apps)
    scored = _scored(lines, tables, cfg)
    tops = top_lines(scored)
    changes = band_changes(tops, top_lines(_scored(alternatives(lines, cfg), tables, cfg)))
    exporters = network.classify_names(apps["exporter"], tables.entities).set_index("name_raw")
    exporters = exporters.reindex(apps["exporter"]).reset_index(drop=True)
    return Screening(apps.reset_index(drop=True), scored, tops, changes, exporters, tables)


def reaches(top: pd.Series, threshold: str, cfg: scoring.ScoringConfig) -> bool:
    """Whether a screened band is at or above ``threshold``; an indeterminate band counts by its worst case."""
    band = str(top["band"])
    if band not in BANDS:
        band = findings.band_of(float(top["score_worst"]), cfg)
    return BANDS.index(band) >= BANDS.index(threshold)


def summary(memo: Memo) -> str:
    """What the command prints for one application: the band and reason, the network path to misuse and the
    destination's evidence with dates and URLs."""
    app = memo.application
    out = [f"{app['application_id']}: {memo.reason}"]
    if memo.network is not None:
        out.append("exporter network on the date:")
        out += [f"  {p}" for p in memo.network["affiliates"]["path"].head(5)]
        out += [
            f"  misuse: {r.network_path} -> {r.evidence_id} ({r.published_date.date()})"
            for r in memo.network["misuse"].itertuples()
        ]
    out.append(f"evidence about {app['destination_label']} public before {pd.Timestamp(app['date']).date()}:")
    out += [
        f"  {r.published_date.date()} {r.title or r.kind}: {listcols.SEPARATOR.join(r.source_urls)}"
        for r in memo.evidence.itertuples()
    ]
    out += [
        f"  {r.first.date()} to {r.last.date()}: {r.entries} {r.kind} entries of the Pegasus victim database"
        for r in memo.victim_entries.itertuples()
    ]
    if len(memo.changes):
        out.append(
            f"smallest change that moves the band: {memo.changes['change'].iloc[0]} -> {memo.changes['band'].iloc[0]}"
        )
    return "\n".join(out)


def table(screening: Screening, files: dict[str, dict[str, str]]) -> pd.DataFrame:
    """One row per screened application: inputs, score, band, interval, components, reason, what would move it,
    how much evidence about the destination and through the exporter's network was public on the date."""
    apps, tables = screening.apps, screening.tables
    tops = screening.tops.loc[[screening.licence_id(i) for i in range(len(apps))]].reset_index()
    asked = pd.DataFrame({"country_code": apps["destination_country_code"], "as_of_date": apps["date"]})
    known = country_evidence_as_of(tables.evidence, asked).groupby("query")["evidence_id"].nunique()
    days = pd.DataFrame({"entity_id": screening.exporters["entity_id"], "day": apps["date"]}).reset_index()
    links = days.merge(tables.links, on="entity_id")
    links = links[
        (links["link_from"] <= links["day"]) & (links["link_until"].isna() | (links["day"] < links["link_until"]))
    ]
    reached = links.groupby("index")["evidence_id"].nunique()
    first = screening.changes.drop_duplicates("base").set_index("base")
    smallest = (first["change"] + ": " + first["band"].astype(str)).reindex(tops["licence_id"]).to_numpy()
    out = pd.DataFrame(
        {
            "application_id": apps["application_id"],
            "date": apps["date"].dt.strftime("%Y-%m-%d"),
            "exporter": apps["exporter"],
            "exporter_entity_id": screening.exporters["entity_id"],
            "end_user": apps["end_user"],
            "end_user_type": apps["end_user_type"],
            "destination_country_code": apps["destination_country_code"],
            "goods": apps["goods"],
            **{c: tops[c] for c in ("score", "band", "score_best", "score_worst", *COMPONENTS)},
            **{c: listcols.join(tops[c]) for c in ("floors", "flags")},
            "reason": [screening.reason(i) for i in range(len(apps))],
            "destination_evidence": known.reindex(apps.index, fill_value=0).to_numpy(),
            "network_misuse": reached.reindex(apps.index, fill_value=0).to_numpy(),
            "smallest_change": smallest,
            "reassessment_date": tops["reassessment_date"],
        }
    )
    paths = pd.DataFrame.from_dict(files, orient="index").reindex(apps["application_id"]).reset_index(drop=True)
    return pd.concat([out, paths], axis=1)


def readable(path: Path) -> None:
    """Give a written file the usual mode (atomic writes create it private): memos are for reading."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(0o666 & ~mask)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A published table: no cell a spreadsheet would run as a formula (exporter names are user input)."""
    write_published(frame, path)
    readable(path)
