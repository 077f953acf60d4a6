"""The components of a line's score: D and E per (country, date) pair, U, I and X's record flags per distinct
licence record, the exporter network and precedent per line (the method: docs/methodology.md)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from exportrisk import listcols
from exportrisk.ingest.parse import per_unique
from exportrisk.knowledge.evidence import country_evidence_as_of
from exportrisk.knowledge.indicators import indicators_as_of_many
from exportrisk.reference.controlcodes import Rule, classify_code
from exportrisk.scoring import network, precedent
from exportrisk.scoring.config import FLOOR_NAMES, ScoringConfig
from exportrisk.scoring.frames import distinct_rows, gather_frame

DAYS_PER_YEAR = 365.25
NETWORK_COLUMNS = ["licence_id", "line_no", "evidence_ids", "path"]
X_FLAGS = ("destination_hidden", "transit", "re_export", "exporter_linked")
STATIC_COLUMNS = [
    "control_code",
    "surveillance_type",
    "goods_category",
    "taxonomy_rule",
    "goods_description",
    "end_user_type",
    "destination_type",
    "end_use_description",
]


# --- components per (country, date) pair: D and E ----------------------------------------------------------


def destination_record(indicators: pd.DataFrame, pairs: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """D for each (country_code, date) pair, from the indicator editions public before the date.

    Each indicator value maps linearly to risk (best 0, worst 100, clipped); a reading is the worst or the
    mean of its indicators; a measure takes the reading covering the newest year (ties: the first listed);
    D is the weighted mean of the measures present. Returns, row for row with ``pairs``: d_score (NaN
    without any measure), d_best and d_worst (missing measures at 0 and 100), floor_measure (the risk of the
    measure the political-terror floor reads), n_measures, is_stale and d_inputs.

    All dates between two publication days see the same editions (staleness too is measured against what is
    published), so each country is read once per such period, as of its first day, and gathered back.
    """
    days = np.unique(indicators["published_date"].to_numpy("datetime64[ms]"))
    if not len(days):
        return _destination_record(indicators, pairs, cfg)
    published_before = np.searchsorted(days, pairs["date"].to_numpy("datetime64[ms]"), side="left")
    first_day = np.where(
        published_before > 0, days[np.maximum(published_before - 1, 0)] + np.timedelta64(1, "D"), days[0]
    )
    at, periods = distinct_rows(pd.DataFrame({"country_code": pairs["country_code"], "date": first_day}))
    return gather_frame(_destination_record(indicators, periods, cfg), at)


def _destination_record(indicators: pd.DataFrame, pairs: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """destination_record for each pair as given (see there)."""
    d = cfg.destination
    readings = pd.DataFrame(
        [
            (name, no, code, r.combine, r.best, r.worst, r.sd)
            for name, m in d.measures.items()
            for no, r in enumerate(m.readings)
            for code in r.indicators
        ],
        columns=["measure", "reading_no", "indicator_code", "combine", "best", "worst", "sd_code"],
    )
    queries = pairs[["country_code", "date"]].assign(pair=np.arange(len(pairs)))
    codes = [*readings["indicator_code"], *readings["sd_code"].dropna()]
    known = indicators_as_of_many(indicators[indicators["indicator_code"].isin(codes)], queries, d.max_years_behind)
    found = known.merge(readings, on="indicator_code")
    sd = known[["pair", "indicator_code", "year", "value"]].rename(columns={"indicator_code": "sd_code", "value": "sd"})
    found = found.merge(sd, on=["pair", "sd_code", "year"], how="left")
    span = found["worst"] - found["best"]
    scaled = (found["value"].astype(float) - found["best"]) / span
    found["risk"] = (scaled * 100).clip(0, 100)
    # a reading with a standard deviation: its value -/+ z sd, in risk points (the interval of D's best and worst)
    margin = (d.interval_z * found["sd"].astype(float) / span.abs() * 100).fillna(0.0)
    found["risk_low"], found["risk_high"] = (found["risk"] - margin).clip(0, 100), (found["risk"] + margin).clip(0, 100)
    keys = ["pair", "measure", "reading_no"]
    per_reading = found.groupby(keys, sort=False).agg(
        worst_risk=("risk", "max"),
        mean_risk=("risk", "mean"),
        low=("risk_low", "max"),
        high=("risk_high", "max"),
        year=("year", "max"),
        combine=("combine", "first"),
    )
    worst = per_reading["combine"] == "worst"
    per_reading["risk"] = per_reading["worst_risk"].where(worst, per_reading["mean_risk"])
    per_reading["low"] = per_reading["low"].where(worst, per_reading["risk"])  # a mean of readings has no sd
    per_reading["high"] = per_reading["high"].where(worst, per_reading["risk"])
    chosen = per_reading.reset_index().sort_values(
        ["pair", "measure", "year", "reading_no"], ascending=[True, True, False, True], kind="stable"
    )
    chosen = chosen.drop_duplicates(["pair", "measure"])
    risk, low, high = (
        chosen.pivot(index="pair", columns="measure", values=v).reindex(
            index=range(len(pairs)), columns=list(d.measures)
        )
        for v in ("risk", "low", "high")
    )
    weights = np.array([m.weight for m in d.measures.values()])
    values = risk.to_numpy(dtype=float)
    present = ~np.isnan(values)
    shares = present @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        d_score = np.nan_to_num(values) @ weights / shares
    used = found.merge(chosen[keys], on=keys)
    value_text = per_unique(used["value"].astype(float), lambda v: f"{v:g}")
    used["text"] = used["indicator_code"] + " " + used["year"].astype("string") + "=" + value_text
    used["text"] = used["text"] + used["is_stale"].map({True: "*", False: ""}).astype("string")
    used = used.sort_values(["pair", "measure", "indicator_code"], kind="stable")
    stale = used.groupby("pair")["is_stale"].any()
    return pd.DataFrame(
        {
            "d_score": d_score,
            "d_best": np.where(present, low.to_numpy(dtype=float), 0) @ weights,
            "d_worst": np.where(present, high.to_numpy(dtype=float), 100) @ weights,
            "d_gap_best": np.where(present, values, 0) @ weights,
            "d_gap_worst": np.where(present, values, 100) @ weights,
            "floor_measure": risk[cfg.floors.political_terror.measure].to_numpy(dtype=float),
            "n_measures": present.sum(axis=1).astype(float),
            "is_stale": pd.array(stale.reindex(range(len(pairs)), fill_value=False), dtype="boolean"),
            "d_inputs": listcols.per_group(used["pair"].to_numpy(), used["text"], len(pairs)),
        }
    )


def abuse_record(
    evidence: pd.DataFrame, pairs: pd.DataFrame, cfg: ScoringConfig, hindsight: bool = False
) -> pd.DataFrame:
    """E for each (country_code, date) pair, the floors' evidence weight and the ids of the evidence used.

    Evidence counts on lines naming the country in a counted role (cfg.abuse.roles), once per evidence_id.
    Each weighs its strength x 0.5 ^ (age / half-life); E = 100 x (1 - exp(-sum / saturation)). The floors'
    weight adds the undecayed strengths of operator lines published within the floor window. Ex ante only
    evidence published strictly before the date counts; with ``hindsight`` all of it, evidence published
    later counting at age 0. Returns, row for row with ``pairs``: e_score, floor_weight, evidence_ids.
    """
    read = ["country_code", "country_role", "evidence_id", "strength", "published_date"]  # joined with every pair
    a, counted = cfg.abuse, evidence.loc[evidence["country_role"].isin(cfg.abuse.roles), read]
    queries = pairs.rename(columns={"date": "as_of_date"})[["country_code", "as_of_date"]]
    queries = queries[queries["country_code"].isin(counted["country_code"].dropna().unique())]  # the rest: none
    if hindsight:
        found = queries.rename_axis("query").reset_index().merge(counted, on="country_code")
    else:
        found = country_evidence_as_of(counted, queries)
    found = found.sort_values(["query", "evidence_id", "published_date"]).drop_duplicates(["query", "evidence_id"])
    strength = found["strength"].astype("string").map(a.strengths).astype(float)
    age_years = (found["as_of_date"] - found["published_date"]).dt.days.clip(lower=0) / DAYS_PER_YEAR
    decayed = strength * 0.5 ** (age_years / a.half_life_years)
    recent_operator = found["country_role"].eq("operator") & (age_years <= cfg.floors.window_years)
    total = decayed.groupby(found["query"]).sum().reindex(range(len(pairs)), fill_value=0.0)
    floor_weight = strength.where(recent_operator, 0.0).groupby(found["query"]).sum()
    return pd.DataFrame(
        {
            "e_score": 100 * (1 - np.exp(-total.to_numpy() / a.saturation)),
            "floor_weight": floor_weight.reindex(range(len(pairs)), fill_value=0.0).to_numpy(),
            "evidence_ids": listcols.per_group(found["query"].to_numpy(), found["evidence_id"], len(pairs)),
        }
    )


# --- components of the licence record: U, I, X -------------------------------------------------------------


def end_user_component(end_user_type: pd.Series, cfg: ScoringConfig) -> pd.DataFrame:
    """U from end_user_type (trimmed, lower case, through the aliases), with its best and worst case.

    An unknown type is not a number: U is null (it drops out of the point score) and spans the lowest to the
    highest known score in the best and worst case; a configured ``unknown`` value scores it in every case.
    """
    u = cfg.end_user
    lookup = {**{k: k for k in u.scores}, **u.aliases}
    category = per_unique(end_user_type, lambda t: lookup.get(" ".join(str(t).lower().split())))
    known = category.notna().to_numpy()
    score = category.map(u.scores).astype(float)
    low, high = (min(u.scores.values()), max(u.scores.values())) if u.unknown is None else (u.unknown, u.unknown)
    return pd.DataFrame(
        {
            "u_score": score.fillna(np.nan if u.unknown is None else u.unknown).to_numpy(),
            "u_best": score.fillna(low).to_numpy(),
            "u_worst": score.fillna(high).to_numpy(),
            "u_known": known,
        }
    )


def goods_component(lines: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """I, its best and worst case, the rule that set it, and the line's surveillance type (stated or from keywords).

    The first that applies wins: the most specific code rule; the surveillance_type and then the
    goods_category of a line the taxonomy classified; the first keyword rule matching goods_description; the
    unclassified tier, with the lowest and highest tier the line's goods_category can have as best and worst.
    """
    g = cfg.goods
    # the configuration only holds codes the taxonomy knows (config.check_config)
    categories = {c: rule.goods_category for c in g.codes if (rule := classify_code(c)) is not None}
    rules = sorted((Rule(c, categories[c], None, c) for c in g.codes), key=lambda r: r.specificity)
    code = per_unique(lines["control_code"], lambda c: next((r.rule for r in reversed(rules) if r.matches(c)), None))
    surveillance = lines["surveillance_type"].astype("string")
    category = lines["goods_category"].astype("string")
    classified = lines["taxonomy_rule"].notna() | code.notna()
    patterns = [(re.compile(k.pattern, re.IGNORECASE), k.label) for k in g.keywords]  # compiled once, not per text
    keyword = per_unique(
        lines["goods_description"].where(~classified),
        lambda text: next((label for pattern, label in patterns if pattern.search(text)), None),
    )
    unclassified = ~classified & keyword.isna()
    candidates = [  # (tier, rule text) in order of precedence
        (code.map(g.codes), "code " + code),
        (surveillance.map(g.surveillance_types).where(classified), "surveillance_type " + surveillance),
        (category.map(g.goods_categories).where(classified), "goods_category " + category),
        (keyword.map({k.label: k.tier for k in g.keywords}), "keyword " + keyword),
        (pd.Series(g.unclassified_tier, index=lines.index).where(unclassified), "unclassified " + category),
    ]
    tier = pd.Series(np.nan, index=lines.index)
    rule = pd.Series(pd.NA, index=lines.index, dtype="string")
    for value, text in candidates:
        value = value.astype(float)
        rule = rule.fillna(text.where(value.notna() & tier.isna()))
        tier = tier.fillna(value)
    military = [v for c, v in g.codes.items() if categories[c] == "military"]
    dual_use = [v for c, v in g.codes.items() if categories[c] == "dual_use"]
    ranges = {
        "military": [*military, g.goods_categories["military"]],
        "dual_use": [*dual_use, *g.surveillance_types.values(), g.goods_categories["dual_use"]],
    }
    ranges["unknown"] = ranges["military"] + ranges["dual_use"]
    low, high = (category.map({c: pick(t) for c, t in ranges.items()}).astype(float) for pick in (min, max))
    keyword_type = keyword.map({k.label: k.surveillance_type for k in g.keywords if k.surveillance_type})
    return pd.DataFrame(
        {
            "i_score": tier.to_numpy(),
            "i_best": low.where(unclassified, tier).to_numpy(),
            "i_worst": high.where(unclassified, tier).to_numpy(),
            "goods_rule": rule,
            "item_type": surveillance.fillna(keyword_type.astype("string")),
            "goods_unclassified": unclassified.to_numpy(),
            "goods_from_description": (~classified & keyword.notna()).to_numpy(),
        }
    )


def network_links(
    licences: pd.DataFrame, entities: pd.DataFrame, relations: pd.DataFrame, evidence: pd.DataFrame
) -> pd.DataFrame:
    """Licence lines whose exporter, or an affiliate, is linked to documented misuse public before the decision.

    Exporters are matched to the curated entities (exportrisk.scoring.network.matched_exporters) and followed
    through the relations in force on the decision day (exportrisk.scoring.network.exporter_links). Columns:
    licence_id, line_no, evidence_ids (a list column), path (the chain of entities, readable).
    """
    types = {"line_no": "Int64", "evidence_ids": listcols.LIST_DTYPE}
    empty = pd.DataFrame({c: pd.Series(dtype=types.get(c, "string")) for c in NETWORK_COLUMNS})
    parties = network.matched_exporters(licences[["licence_id", "line_no", "exporter_name", "decision_date"]], entities)
    if parties.empty:
        return empty
    parties = parties[["licence_id", "line_no", "entity_id", "decision_date"]]
    found = network.exporter_links(parties, network.misuse_links(entities, relations, evidence))
    found = found.astype({"path": "string"}).assign(evidence_ids=listcols.split(found["evidence_ids"].astype("string")))
    return pd.concat([empty, found[NETWORK_COLUMNS]], ignore_index=True)


def linked_lines(lines: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Each line's network evidence_ids and path, null where the network links nothing."""
    out = pd.DataFrame({"path": pd.NA}, index=lines.index, dtype="string")
    links = links[links["evidence_ids"].notna()]
    if links.empty:
        return out.assign(evidence_ids=listcols.as_lists(pd.Series(pd.NA, index=lines.index)))
    key = ["licence_id", "line_no"]
    # each line's paths in the order found, joined in Arrow (a Python join per line took 0.3 s at 1M lines)
    group, paths = distinct_rows(links[key])
    named = links["path"].notna().to_numpy()
    joined = listcols.join(listcols.per_group(group[named], links["path"][named], len(paths)), " | ")
    paths = paths.assign(path=joined.fillna(""))  # a line whose links all lack a path: empty, not null
    near = lines.loc[lines["licence_id"].isin(links["licence_id"]), key].reset_index()
    hit = near.merge(paths, on=key)
    out.loc[hit["index"], "path"] = hit["path"].to_numpy()
    ids = near.merge(links[[*key, "evidence_ids"]].explode("evidence_ids"), on=key)
    ids = ids.drop_duplicates(["index", "evidence_ids"]).sort_values(["index", "evidence_ids"])
    positions = lines.index.get_indexer(ids["index"])
    evidence_ids = listcols.per_group(positions, ids["evidence_ids"], len(lines)).set_axis(lines.index)
    return out.assign(evidence_ids=evidence_ids)


def transaction_flags(rows: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """X's flags that the licence record shows: a hidden destination, a transit country, re-export."""
    pattern = cfg.transaction.re_export_pattern
    stated = rows["end_use_description"].str.contains(pattern, case=False, regex=True, na=False).to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "destination_hidden": rows["destination_type"].isin(["multiple", "unspecified"]).to_numpy(dtype=bool),
            "transit": rows["has_transit"].to_numpy(dtype=bool),
            "re_export": (rows["has_onward"] | stated).to_numpy(dtype=bool),
        }
    )


def floor_items(category: pd.Series, item_type: pd.Series, unclassified: np.ndarray, cfg: ScoringConfig) -> dict:
    """Per floor, whether a line's goods qualify (``<floor>``) and could qualify at worst (``<floor>_worst``).

    Goods the taxonomy did not classify could be anything their goods_category allows (any category when
    unknown): a floor they could reach applies in the worst case only.
    """
    out = {}
    for name in FLOOR_NAMES:
        floor = getattr(cfg.floors, name)
        stated = tuple(getattr(floor, "goods_categories", ()))
        reachable = {*stated, *(["dual_use"] if floor.surveillance_types else [])}
        possible = category.isin(reachable) | (category.eq("unknown") & bool(reachable))
        out[name] = (item_type.isin(floor.surveillance_types) | category.isin(stated)).to_numpy(dtype=bool)
        out[f"{name}_worst"] = out[name] | (unclassified & possible.to_numpy(dtype=bool))
    return out


def line_components(lines: pd.DataFrame, cfg: ScoringConfig) -> tuple[np.ndarray, pd.DataFrame]:
    """What a line's score reads that depends neither on its date nor on its exporter: U, I, X's record flags.

    Returns each line's position among the distinct combinations of the columns read, and per combination its
    components and the floors its goods qualify for (computed once per combination).
    """
    rows = lines[STATIC_COLUMNS].assign(
        has_transit=lines["transit_country_code"].notna(), has_onward=lines["onward_country_codes"].notna()
    )
    positions, distinct = distinct_rows(rows)
    goods = goods_component(distinct, cfg)
    category = distinct["goods_category"].astype("string")
    items = floor_items(category, goods["item_type"], goods["goods_unclassified"].to_numpy(), cfg)
    static = pd.concat(
        [
            end_user_component(distinct["end_user_type"], cfg),
            goods,
            transaction_flags(distinct, cfg),
            pd.DataFrame(items),
            pd.DataFrame({"no_state": distinct["destination_type"].eq("non_country").to_numpy(dtype=bool)}),
        ],
        axis=1,
    )
    return positions, static


def line_precedents(lines: pd.DataFrame, as_of: pd.Series, refusals: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """Each line's precedent weight and the refused licences it counts (see exportrisk.scoring.precedent),
    computed once per distinct licensing state, destination, goods family and day."""
    p = cfg.precedent
    keys = pd.DataFrame(
        {
            "licensing_country_code": lines["licensing_country_code"].astype("string"),
            "destination_country_code": lines["destination_country_code"].astype("string"),
            "family": precedent.goods_family(lines["control_code"], lines["goods_category"]),
            "date": as_of,
        }
    )
    at, distinct = distinct_rows(keys)
    found = precedent.precedents(refusals, p.criteria, p.lag_months)
    return gather_frame(precedent.precedent_record(distinct, found, p.other_family, p.half_life_years), at)
