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

from exportrisk.errors import InputError
from exportrisk.ingest.files import atomic_path, read_table
from exportrisk.schema import BANDS, ENTITIES, EVIDENCE, INDICATORS, LICENCES, RELATIONS
from exportrisk.scoring import score as scoring
from exportrisk.screening import applications, findings

FLOOR_REASONS = {
    "prior_use": "is documented as having used similar surveillance tools against people",
    "named_operator": "is named on credible evidence as an operator of surveillance tools",
    "political_terror": "has a Political Terror Scale level of 4 or 5",
}
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
    """The processed tables a screening needs; a missing one is an InputError that says to run clean."""
    loaded = {}
    for table in (LICENCES, INDICATORS, EVIDENCE, ENTITIES, RELATIONS):
        path = processed / f"{table.name}.parquet"
        if not path.is_file():
            raise InputError(path, "missing: run `exportrisk clean` first")
        loaded[table.name] = read_table(path, table)
    return findings.Tables(**loaded)


def reason(top: pd.Series, exporter_linked_via: str | None, destination: str) -> str:
    """One sentence: the band, then why, from the floors, the exporter link and the largest components."""
    floors = [FLOOR_REASONS[f] for f in str(_or_empty(top["floors"])).split(";") if f in FLOOR_REASONS]
    why = [f"the government of {destination} " + " and ".join(floors)] if floors else []
    if exporter_linked_via:
        why.append(f"the exporter is linked through its network to documented misuse ({exporter_linked_via})")
    if not why and pd.notna(top["e_score"]) and top["e_score"] > 0:
        why.append(f"surveillance abuse by the government of {destination} is documented (E {top['e_score']:.0f})")
    parts = [f"{name} {top[col]:.0f}" for col, name in COMPONENTS.items() if pd.notna(top[col])]
    because = "; ".join(why) if why else "no floor, exporter link or documented abuse applies"
    interval = f"best {top['score_best']:.1f}, worst {top['score_worst']:.1f}"
    return f"{top['band']} (score {top['score']:.1f}, {interval}) because {because} [{', '.join(parts)}]."


def _or_empty(value: object) -> object:
    return "" if value is None or pd.isna(value) else value


def alternatives(lines: pd.DataFrame, cfg: scoring.ScoringConfig) -> pd.DataFrame:
    """The application's lines with one input changed, for 'what would change the band': each other end-user
    type the configuration knows (and unknown), and, for a named exporter, no exporter link."""
    current = lines["end_user_type"].fillna(UNKNOWN_END_USER).iloc[0]
    options = [t for t in (*cfg.end_user.scores, UNKNOWN_END_USER) if t != current]
    variants = [
        lines.assign(end_user_type=None if t == UNKNOWN_END_USER else t, change=f"end user {t} instead of {current}")
        for t in options
    ]
    if lines["exporter_name"].notna().any():
        unlinked = "an exporter with no link to documented misuse"
        variants.append(lines.assign(exporter_name=pd.NA, change=unlinked))
    return pd.concat(variants, ignore_index=True)


def _scored(lines: pd.DataFrame, tables: findings.Tables, cfg: scoring.ScoringConfig) -> pd.DataFrame:
    scored = scoring.score_against(lines.drop(columns="change", errors="ignore"), tables.as_scoring(), cfg)
    return scored.assign(change=lines["change"].to_numpy()) if "change" in lines else scored


def top_lines(scored: pd.DataFrame) -> pd.DataFrame:
    """Per licence, its highest-scoring line (ties: the first line), as the licence's score."""
    order = scored.sort_values(["licence_id", "score", "line_no"], ascending=[True, False, True])
    return order.drop_duplicates("licence_id").set_index("licence_id")


def screen(apps: pd.DataFrame, tables: findings.Tables, cfg: scoring.ScoringConfig) -> list[Memo]:
    """Score and document checked applications (applications.check_applications) against the tables."""
    lines = applications.licence_lines(apps)
    scored = _scored(lines, tables, cfg)
    tops = top_lines(scored)
    variants = []
    for _, group in lines.groupby("licence_id", sort=False):
        alt = alternatives(group, cfg)
        variants.append(alt.assign(licence_id=alt["licence_id"] + "~" + alt.groupby("change").ngroup().astype(str)))
    alt_scored = top_lines(_scored(pd.concat(variants, ignore_index=True), tables, cfg))
    alt_scored["base"] = alt_scored.index.str.rsplit("~", n=1).str[0]
    memos = []
    for app in apps.to_dict("records"):
        licence_id = applications.SOURCE + ":" + app["application_id"]
        day, country = pd.Timestamp(app["date"]), app["destination_country_code"]
        top = tops.loc[licence_id]
        exporter = findings.exporter_entity(app["exporter"], tables.entities)
        net = findings.exporter_network(tables, exporter["entity_id"], day) if exporter else None
        via = None
        if net is not None and len(net["misuse"]):
            first = net["misuse"].iloc[0]
            via = first["network_path"] + f", {len(net['misuse'])} finding(s)"
        evidence, victims = findings.destination_evidence(tables.evidence, country, day)
        memos.append(
            Memo(
                application={**app, "destination_label": findings.country_label(country)},
                lines=scored[scored["licence_id"].eq(licence_id)].reset_index(drop=True),
                top=top,
                reason=str(top["explanation"])
                if "explanation" in top
                else reason(top, via, findings.country_label(country)),
                evidence=evidence,
                victim_entries=victims,
                exporter=exporter,
                network=net,
                similar=findings.similar_exporters(tables, exporter and exporter["entity_id"], country, day),
                precedent=findings.precedent(tables.licences, country, app["codes"], day),
                refusal_publishers=findings.refusal_publishers(tables.licences),
                changes=findings.band_changes(top, alt_scored[alt_scored["base"].eq(licence_id)], cfg),
                next_evidence=findings.next_evidence(tables, country, exporter and exporter["entity_id"], day),
            )
        )
    return memos


def reaches(band: str, top: pd.Series, threshold: str, cfg: scoring.ScoringConfig) -> bool:
    """Whether a screened band is at or above ``threshold``; an indeterminate band counts by its worst case."""
    if band not in BANDS:
        band = findings.band_of(float(top["score_worst"]), cfg)
    return BANDS.index(band) >= BANDS.index(threshold)


def summary(memo: Memo, detailed: bool) -> str:
    """What the command prints: the band and reason; for one application also the network path to misuse and
    the destination's evidence with dates and URLs."""
    app = memo.application
    out = [f"{app['application_id']}: {memo.reason}"]
    if not detailed:
        return out[0]
    if memo.network is not None:
        out.append("exporter network on the date:")
        out += [f"  {p}" for p in memo.network["affiliates"]["path"].head(5)]
        out += [
            f"  misuse: {r.network_path} -> {r.evidence_id} ({r.published_date.date()})"
            for r in memo.network["misuse"].itertuples()
        ]
    out.append(f"evidence about {app['destination_label']} public before {pd.Timestamp(app['date']).date()}:")
    out += [f"  {r.published_date.date()} {r.title or r.kind}: {r.source_urls}" for r in memo.evidence.itertuples()]
    out += [
        f"  {r.first.date()} to {r.last.date()}: {r.entries} {r.kind} entries of the Pegasus victim database"
        for r in memo.victim_entries.itertuples()
    ]
    if len(memo.changes):
        out.append(
            f"smallest change that moves the band: {memo.changes['change'].iloc[0]} -> {memo.changes['band'].iloc[0]}"
        )
    return "\n".join(out)


def table(memos: list[Memo], files: dict[str, dict[str, str]]) -> pd.DataFrame:
    """One row per screened application: inputs, score, band, interval, components, reason, what would move it."""
    rows = []
    for m in memos:
        app, top = m.application, m.top
        change = m.changes.iloc[0] if len(m.changes) else None
        rows.append(
            {
                "application_id": app["application_id"],
                "date": pd.Timestamp(app["date"]).date().isoformat(),
                "exporter": app["exporter"],
                "exporter_entity_id": m.exporter["entity_id"] if m.exporter else None,
                "end_user": app["end_user"],
                "end_user_type": app["end_user_type"],
                "destination_country_code": app["destination_country_code"],
                "goods": app["goods"],
                "score": top["score"],
                "band": m.band,
                "score_best": top["score_best"],
                "score_worst": top["score_worst"],
                **{col: top[col] for col in COMPONENTS},
                "floors": top["floors"],
                "flags": top["flags"],
                "reason": m.reason,
                "destination_evidence": len(m.evidence) + int(m.victim_entries["entries"].sum()),
                "network_misuse": len(m.network["misuse"]) if m.network else 0,
                "smallest_change": None if change is None else f"{change['change']}: {change['band']}",
                "reassessment_date": top["reassessment_date"],
                **files.get(app["application_id"], {}),
            }
        )
    return pd.DataFrame(rows)


def readable(path: Path) -> None:
    """Give a written file the usual mode (atomic writes create it private): memos are for reading."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(0o666 & ~mask)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", float_format="%.1f")
    readable(path)
