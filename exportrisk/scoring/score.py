"""Score every licence line for human-rights risk: components D, E, U, I, X, floors and bands, point in time.

The method and its reasons are in docs/methodology.md, every number in metadata/scoring.yaml. The core
functions take and return DataFrames and never touch files; ``run`` reads and writes at the edge. Nothing is
computed per line in Python: what depends on time (D, E) is computed once per distinct (country, date) pair,
what depends on the licence record alone (U, I, X) once per distinct combination of the columns it reads,
the score once per distinct combination of those, and the results are gathered back to the lines by
position. Nothing published on or after a line's decision day is used, except in the hindsight view, which
says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from exportrisk import __version__, listcols
from exportrisk.errors import InputError
from exportrisk.ingest.files import about, file_sha256, read_table, write_parquet
from exportrisk.schema import (
    ENTITIES,
    EVIDENCE,
    INDICATORS,
    LICENCES,
    RELATIONS,
    SCORE_LINES,
    SCORES,
    Table,
    conform,
    validate,
)
from exportrisk.scoring import explain
from exportrisk.scoring.combine import (
    BAND_DTYPE,
    SCENARIOS,
    band_with_gaps,
    bands_of,
    combine,
    reassessment_dates,
    scenario_parts,
)
from exportrisk.scoring.components import (
    STATIC_COLUMNS,
    X_FLAGS,
    abuse_record,
    destination_record,
    end_user_component,
    goods_component,
    line_components,
    line_precedents,
    linked_lines,
    network_links,
)
from exportrisk.scoring.config import DEFAULT_CONFIG, FLOOR_NAMES, ScoringConfig, Weights, check_config, load_config
from exportrisk.scoring.frames import (
    distinct_pairs,
    distinct_rows,
    first_rows,
    flag_lists,
    gather_column,
    gather_frame,
    gather_replacing,
)
from exportrisk.scoring.network import PARTY_COLUMNS
from exportrisk.scoring.rollup import summarise

# the public names reports, the API, sensitivity, checks and tests use, kept here where they always were
__all__ = [
    "BAND_DTYPE",
    "DEFAULT_CONFIG",
    "FLOOR_NAMES",
    "SCENARIOS",
    "SCORED_COLUMNS",
    "ScoringConfig",
    "Weights",
    "abuse_record",
    "band_with_gaps",
    "bands_of",
    "check_config",
    "combine",
    "destination_record",
    "distinct_pairs",
    "distinct_rows",
    "end_user_component",
    "gather_frame",
    "goods_component",
    "line_components",
    "load_config",
    "network_links",
    "read_processed",
    "run",
    "scenario_parts",
    "score_against",
    "score_lines",
    "summarise",
]


def score_combinations(
    combos: pd.DataFrame,
    static: pd.DataFrame,
    pairs: pd.DataFrame,
    indicators: pd.DataFrame,
    evidence: pd.DataFrame,
    cfg: ScoringConfig,
) -> pd.DataFrame:
    """Every score column for each distinct combination of date-free components, (country, date) pair and link.

    ``combos`` columns: static (row of ``static``), pair (row of ``pairs``, -1 without a country),
    exporter_linked, precedent_weight and precedent_ids. Returns the score_lines columns that follow from them,
    plus reached_date (the first day the score reaches the reassessment band, before checking outcome and time
    in force).
    """
    st = gather_frame(static, combos["static"].to_numpy())
    st["exporter_linked"] = combos["exporter_linked"].to_numpy(dtype=bool)
    p = cfg.precedent
    st["p_score"] = p.points * (1 - np.exp(-combos["precedent_weight"].to_numpy(dtype=float) / p.saturation))
    t = cfg.transaction
    st["x_score"] = np.minimum(t.cap, sum(st[name].to_numpy() * getattr(t, name) for name in X_FLAGS)).astype(float)
    at = combos["pair"].to_numpy()
    dest = gather_frame(destination_record(indicators, pairs, cfg), at)
    abuse = gather_frame(abuse_record(evidence, pairs, cfg), at)
    parts = scenario_parts(st, dest, abuse, "central")
    central = combine(parts, cfg)
    best, worst, gap_best, gap_worst = (
        combine(scenario_parts(st, dest, abuse, case), cfg)["score"].to_numpy() for case in SCENARIOS[1:]
    )
    hindsight_abuse = gather_frame(abuse_record(evidence, pairs, cfg, hindsight=True), at)
    hindsight = combine(scenario_parts(st, dest, hindsight_abuse, "central"), cfg)["score"].to_numpy()
    score = central["score"].to_numpy()
    no_state, has_country = st["no_state"].to_numpy(), at >= 0
    n_measures = len(cfg.destination.measures)
    measures = np.where(no_state, n_measures, dest["n_measures"].fillna(0).to_numpy())
    known = st["u_known"].to_numpy(dtype=int) + ~st["goods_unclassified"].to_numpy()
    flags = {
        **{name: st[name].to_numpy() for name in X_FLAGS},
        "destination_not_a_country": no_state,
        "indicator_missing": has_country & (measures < n_measures),
        "stale_indicator": dest["is_stale"].fillna(False).to_numpy(dtype=bool),
        "end_user_unknown": ~st["u_known"].to_numpy(),
        "goods_unclassified": st["goods_unclassified"].to_numpy(),
        "goods_from_description": st["goods_from_description"].to_numpy(),
    }
    dated = st.assign(country_code=gather_column(pairs["country_code"], at), date=gather_column(pairs["date"], at))
    floors = flag_lists({name: central[name].to_numpy() for name in FLOOR_NAMES})
    w = cfg.weights
    shares = {
        "weight_d": parts["d"].notna().to_numpy() * w.destination,
        "weight_e": central["abuse_counted"].to_numpy() * w.abuse,
        "weight_u": parts["u"].notna().to_numpy() * w.end_user,
    }
    total = sum(shares.values())
    reasons = pd.DataFrame(
        {
            "band": bands_of(score, cfg),
            "floors": floors,
            **{c: parts[c] for c in ("d", "e", "u", "x", "p", "i")},
            **{
                k: np.divide(v, total, out=np.zeros_like(total, dtype=float), where=total > 0)
                for k, v in shares.items()
            },
            "goods_factor": central["goods_factor"],
            "goods_rule": st["goods_rule"],
            "x_flags": flag_lists({name: st[name].to_numpy() for name in X_FLAGS}),
            "evidence_ids": abuse["evidence_ids"],
            "precedent_ids": combos["precedent_ids"],
        }
    )
    return pd.DataFrame(
        {
            "score": score,
            "band": band_with_gaps(score, gap_best, gap_worst, cfg),
            "score_band": bands_of(score, cfg),
            "d_score": dest["d_score"].where(~no_state, 0.0),
            "e_score": abuse["e_score"].where(~no_state, 0.0),
            "u_score": st["u_score"],
            "i_score": st["i_score"],
            "x_score": st["x_score"],
            "p_score": st["p_score"],
            "coverage": (measures + has_country + no_state + known) / (n_measures + 3),
            "score_best": best,
            "score_worst": worst,
            "floors": floors,
            "why": explain.why(reasons),
            "flags": flag_lists(flags),
            "evidence_ids": abuse["evidence_ids"],
            "hindsight_score": hindsight,
            "hindsight_band": bands_of(hindsight, cfg),
            "reached_date": reassessment_dates(dated, score, indicators, evidence, cfg),
            "context_score": central["context_score"],
            "goods_factor": central["goods_factor"],
            "goods_rule": st["goods_rule"],
            "d_inputs": dest["d_inputs"],
        }
    )


def typed_columns(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The columns of ``frame`` in the types ``table`` declares for them (schema.conform of those alone)."""
    return conform(frame, table.select(frame.columns))[list(frame.columns)]


def score_lines(
    licences: pd.DataFrame,
    indicators: pd.DataFrame,
    evidence: pd.DataFrame,
    links: pd.DataFrame,
    cfg: ScoringConfig,
    refusals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every licence line as of its decision date (table score_lines), with best, worst and hindsight views.

    ``refusals`` holds the licence records whose refusals can be precedents (default: ``licences`` itself).
    Each distinct combination of date-free components, (country, date) pair, network link and precedent is
    scored once and gathered to its lines; the reassessment date is kept for issued lines while in force.
    """
    if licences.empty:
        return SCORE_LINES.empty()
    lines = licences.reset_index(drop=True).astype({"decision_date": "datetime64[ms]", "expiry_date": "datetime64[ms]"})
    as_of = lines["decision_date"].dt.normalize()
    network = linked_lines(lines, links)
    static_at, static = line_components(lines, cfg)
    pair_at, pairs = distinct_pairs(lines["destination_country_code"], as_of)
    linked = network["evidence_ids"].notna().to_numpy()
    state, _ = pd.factorize(lines["licensing_country_code"], use_na_sentinel=False)
    combo_at, combos = distinct_rows(
        pd.DataFrame({"static": static_at, "pair": pair_at, "exporter_linked": linked, "state": state})
    )
    # the precedent depends on the licensing state, destination, goods and day: once per combination too
    first = first_rows(combo_at)
    asked = lines[["licensing_country_code", "destination_country_code", "control_code", "goods_category"]]
    prior = line_precedents(asked.iloc[first], as_of.iloc[first], lines if refusals is None else refusals, cfg)
    combos = combos.assign(precedent_weight=prior["precedent_weight"], precedent_ids=prior["precedent_ids"])
    per_combo = score_combinations(combos, static, pairs, indicators, evidence, cfg)
    reached = gather_column(per_combo.pop("reached_date"), combo_at)
    # a line's evidence: its combination's, then its exporter's (few lines): joined on the linked lines only
    own_ids = per_combo.pop("evidence_ids")
    linked_at = np.flatnonzero(linked)
    network_ids = listcols.concat(gather_column(own_ids, combo_at[linked_at]), network["evidence_ids"].iloc[linked_at])
    # typed as declared once per combination, so that the lines gather typed columns and nothing is converted at 1M
    per_combo = typed_columns(per_combo.assign(precedent_ids=prior["precedent_ids"]), SCORE_LINES)
    term = pd.DateOffset(years=cfg.reassessment.years_in_force_if_unknown)
    in_force = lines["expiry_date"].fillna(lines["decision_date"] + term)
    out = pd.concat([lines[["licence_id", "line_no"]], gather_frame(per_combo, combo_at)], axis=1).assign(
        as_of_date=as_of,
        destination_country_code=lines["destination_country_code"],
        control_code=lines["control_code"],
        evidence_ids=gather_replacing(own_ids, combo_at, linked_at, network_ids),
        reassessment_date=reached.where(lines["outcome"].eq("issued") & (reached <= in_force)),
        method_version=cfg.method_version,
        network_path=network["path"],
    )
    return conform(out, SCORE_LINES)


# --- the edge: read, score, write --------------------------------------------------------------------------


READS = (LICENCES, INDICATORS, EVIDENCE, ENTITIES, RELATIONS)
# The licence columns scoring reads (score_lines, network_links, the precedents, summarise): `exportrisk score`
# loads only these, under half the licence table's memory (sources, citations and terms are long texts).
SCORED_COLUMNS = (
    "licence_id",
    "line_no",
    "licensing_country_code",
    "decision_date",
    "expiry_date",
    "outcome",
    "destination_type",
    "destination_country_code",
    "transit_country_code",
    "onward_country_codes",
    "refusal_criteria",
    *STATIC_COLUMNS,
    *PARTY_COLUMNS.values(),
)


def read_processed(processed_dir: Path, licence_columns: Collection[str] | None = None) -> dict[str, pd.DataFrame]:
    """The cleaned tables scoring reads (of the licences, only ``licence_columns`` where given, e.g.
    SCORED_COLUMNS); a missing one is an InputError that says to run clean."""
    tables = {}
    for table in READS:
        path = processed_dir / f"{table.name}.parquet"
        if not path.is_file():
            raise InputError(path, "missing: run `exportrisk clean` first")
        tables[table.name] = read_table(path, table, licence_columns if table is LICENCES else None)
    return tables


def score_against(lines: pd.DataFrame, tables: dict[str, pd.DataFrame], cfg: ScoringConfig) -> pd.DataFrame:
    """score_lines of any licence lines against the processed tables, the exporter network linked as of their dates.

    The one entry for scoring: ``exportrisk score``, the sensitivity analysis, the checks and ``er.score`` all
    come through here, so they cannot score differently.
    """
    links = network_links(lines, tables["entities"], tables["relations"], tables["evidence"])
    return score_lines(lines, tables["indicators"], tables["evidence"], links, cfg, refusals=tables["licences"])


def scored_from(processed_dir: Path, config_path: Path) -> str:
    """One sha256 over what a scoring depends on: the package version, the configuration file and every table
    scoring reads. The saved scores carry it, so a reader can tell whether they are still the scores of these."""
    digest = hashlib.sha256(__version__.encode())
    for path in (config_path, *(processed_dir / f"{t.name}.parquet" for t in READS)):
        digest.update(file_sha256(path).encode() if path.is_file() else b"missing")
    return digest.hexdigest()


def run(processed_dir: Path, config_path: Path = DEFAULT_CONFIG) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``exportrisk score``: score the processed tables, write scores.parquet and score_lines.parquet."""
    cfg = load_config(config_path)
    t = read_processed(processed_dir, SCORED_COLUMNS)
    lines = score_against(t["licences"], t, cfg)
    scores = summarise(lines, t["licences"], cfg)
    validate(lines, SCORE_LINES)
    validate(scores, SCORES)
    made_from = {"scored_from": scored_from(processed_dir, config_path)}
    write_parquet(scores, processed_dir / f"{SCORES.name}.parquet", made_from)
    write_parquet(lines, processed_dir / f"{SCORE_LINES.name}.parquet", made_from)
    return scores, lines


def read_scored(processed_dir: Path, config_path: Path = DEFAULT_CONFIG) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The saved licence scores and lines, if they were scored from the tables now in ``processed_dir`` with this
    configuration and package version; None otherwise (the caller scores anew). Read, not recomputed: the
    checks report on the very scores the reports show."""
    want = scored_from(processed_dir, config_path)
    paths = [processed_dir / f"{t.name}.parquet" for t in (SCORES, SCORE_LINES)]
    if any(about(p).get("scored_from") != want for p in paths):
        return None
    return read_table(paths[0], SCORES), read_table(paths[1], SCORE_LINES)
