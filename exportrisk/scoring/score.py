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

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from exportrisk.config import METADATA_DIR
from exportrisk.errors import InputError
from exportrisk.ingest.files import read_table, write_parquet
from exportrisk.ingest.parse import per_unique
from exportrisk.ingest.registry import sources
from exportrisk.knowledge.evidence import country_evidence_as_of
from exportrisk.knowledge.indicators import SPEC_DIR, checked_keys, indicators_as_of_many, load_spec
from exportrisk.reference.controlcodes import Rule, classify_code
from exportrisk.schema import (
    BANDS,
    COUNTRY_ROLES,
    ENTITIES,
    EVIDENCE,
    EVIDENCE_STRENGTHS,
    GOODS_CATEGORIES,
    INDETERMINATE,
    INDICATORS,
    LICENCES,
    RELATIONS,
    SCORE_LINES,
    SCORES,
    SURVEILLANCE_TYPES,
    conform,
    validate,
)
from exportrisk.scoring import explain, network, precedent

DEFAULT_CONFIG = METADATA_DIR / "scoring.yaml"
DAYS_PER_YEAR = 365.25
BAND_DTYPE = pd.CategoricalDtype((INDETERMINATE, *BANDS), ordered=True)
NETWORK_COLUMNS = ["licence_id", "line_no", "evidence_ids", "path"]
FLOOR_NAMES = ("critical", "prior_use", "named_operator", "political_terror")
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


# --- configuration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    destination: float
    abuse: float
    end_user: float


@dataclass(frozen=True)
class Reading:
    indicators: tuple[str, ...]
    combine: str  # "worst" or "mean" of the indicators' risks
    best: float
    worst: float
    sd: str | None = None  # an indicator holding the standard deviation of the (single) indicator read


@dataclass(frozen=True)
class Measure:
    weight: float
    readings: tuple[Reading, ...]


@dataclass(frozen=True)
class Destination:
    max_years_behind: int
    interval_z: float  # a reading with a standard deviation spans value -/+ interval_z x sd in best and worst
    measures: dict[str, Measure]


@dataclass(frozen=True)
class Abuse:
    roles: tuple[str, ...]
    strengths: dict[str, float]
    half_life_years: float
    saturation: float


@dataclass(frozen=True)
class EndUser:
    scores: dict[str, float]
    aliases: dict[str, str]
    unknown: float | None  # None: an unknown end-user drops U from the point score


@dataclass(frozen=True)
class Keyword:
    pattern: str
    tier: float
    label: str
    surveillance_type: str | None = None


@dataclass(frozen=True)
class Goods:
    keep_share: float
    codes: dict[str, float]
    surveillance_types: dict[str, float]
    goods_categories: dict[str, float]
    unclassified_tier: float
    keywords: tuple[Keyword, ...]


@dataclass(frozen=True)
class Transaction:
    cap: float
    transit: float
    re_export: float
    destination_hidden: float
    exporter_linked: float
    re_export_pattern: str


@dataclass(frozen=True)
class Precedent:
    criteria: tuple[str, ...]  # refusal criteria that make a refusal a precedent
    lag_months: int  # public from the first day of the month lag_months after the end of the quarter
    points: float  # P = points x (1 - exp(-weight / saturation))
    saturation: float
    other_family: float  # weight of a refusal for the same destination but another goods family
    half_life_years: float


@dataclass(frozen=True)
class EvidenceFloor:
    min_evidence_weight: float
    surveillance_types: tuple[str, ...]
    band: str


@dataclass(frozen=True)
class CriticalFloor:
    min_evidence_weight: float
    surveillance_types: tuple[str, ...]
    exporter_linked: bool  # an exporter linked to documented misuse also fires it, for the same items
    band: str


@dataclass(frozen=True)
class TerrorFloor:
    measure: str
    min_measure_score: float
    goods_categories: tuple[str, ...]
    surveillance_types: tuple[str, ...]
    band: str


@dataclass(frozen=True)
class Floors:
    window_years: float
    critical: CriticalFloor
    prior_use: EvidenceFloor
    named_operator: EvidenceFloor
    political_terror: TerrorFloor


@dataclass(frozen=True)
class Reassessment:
    band: str
    years_in_force_if_unknown: int


@dataclass(frozen=True)
class ScoringConfig:
    method_version: str
    weights: Weights
    destination: Destination
    abuse: Abuse
    end_user: EndUser
    goods: Goods
    transaction: Transaction
    precedent: Precedent
    floors: Floors
    bands: dict[str, float]
    reassessment: Reassessment

    def bound(self, band: str) -> float:
        return self.bands[band]


def _typed(kind: object, value: object, where: str, path: Path) -> object:
    """``value`` read as ``kind`` (a config dataclass, dict, tuple, optional, float, int or str), else one error."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        fields = dataclasses.fields(kind)
        required = {f.name for f in fields if f.default is dataclasses.MISSING}
        mapping = checked_keys(value, {f.name for f in fields}, where or "the file", path, required)
        hints = typing.get_type_hints(kind)
        return kind(**{k: _typed(hints[k], v, f"{where}.{k}" if where else k, path) for k, v in mapping.items()})
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(path, f"{where} must be a mapping")
        return {str(k): _typed(args[1], v, f"{where}.{k}", path) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list):
            raise InputError(path, f"{where} must be a list")
        return tuple(_typed(args[0], v, f"{where}[{i}]", path) for i, v in enumerate(value))
    if origin is types.UnionType:  # "X | None"
        return None if value is None else _typed(args[0], value, where, path)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is bool and isinstance(value, bool):
        return value
    if kind is float and numeric:
        return float(value)
    if (kind is int and numeric and float(value).is_integer()) or (kind is str and isinstance(value, str)):
        return kind(value)
    expected = {float: "a number", int: "a whole number", str: "text", bool: "true or false"}[kind]
    raise InputError(path, f"{where} must be {expected}, not {value!r}")


def _require(ok: bool, path: Path, message: str) -> None:
    if not ok:
        raise InputError(path, message)


def _within(values: dict[str, float] | tuple[float, ...], where: str, path: Path, high: float = 100) -> None:
    for key, v in values.items() if isinstance(values, dict) else enumerate(values):
        _require(0 <= v <= high, path, f"{where}.{key} must be between 0 and {high:g}, not {v:g}")


def _sums_to_one(weights: dict[str, float], where: str, path: Path) -> None:
    total = sum(weights.values())
    _require(abs(total - 1) < 1e-9, path, f"{where}: {' + '.join(weights)} must sum to 1, not {total:g}")


def _one_of(values: typing.Iterable[str], allowed: typing.Collection[str], where: str, path: Path) -> None:
    for v in values:
        _require(v in allowed, path, f"{where}: {v!r} is not one of {', '.join(allowed)}")


def check_config(cfg: ScoringConfig, path: Path) -> ScoringConfig:
    """The checks a type cannot express: weights that sum to 1, names that exist, numbers in range."""
    d = cfg.destination
    for where, weights in [
        ("weights", dataclasses.asdict(cfg.weights)),
        ("destination.measures weights", {k: m.weight for k, m in d.measures.items()}),
    ]:
        _within(weights, where, path, high=1)
        _sums_to_one(weights, where, path)
    _require(d.max_years_behind >= 0, path, "destination.max_years_behind must not be negative")
    declared = {
        code
        for name, source in sources().items()
        if source.kind == "indicators"
        for code in load_spec(SPEC_DIR / f"{name}.yaml", name).indicators
    }
    for name, m in d.measures.items():
        _require(len(m.readings) > 0, path, f"destination.measures.{name}.readings is empty")
        for i, r in enumerate(m.readings):
            where = f"destination.measures.{name}.readings[{i}]"
            _one_of([r.combine], ("worst", "mean"), f"{where}.combine", path)
            _require(r.best != r.worst, path, f"{where}: best and worst must differ")
            _require(len(r.indicators) > 0, path, f"{where}.indicators is empty")
            _one_of(r.indicators, sorted(declared), f"{where}.indicators", path)
            if r.sd is not None:
                _require(len(r.indicators) == 1, path, f"{where}: a reading with an sd reads one indicator")
                _one_of([r.sd], sorted(declared), f"{where}.sd", path)
    _require(d.interval_z >= 0, path, "destination.interval_z must not be negative")
    a = cfg.abuse
    _one_of(a.roles, COUNTRY_ROLES, "abuse.roles", path)
    needed = ", ".join(EVIDENCE_STRENGTHS)
    _require(set(a.strengths) == set(EVIDENCE_STRENGTHS), path, f"abuse.strengths needs exactly {needed}")
    _within(a.strengths, "abuse.strengths", path, high=1)
    _require(a.half_life_years > 0 and a.saturation > 0, path, "abuse.half_life_years and saturation must be > 0")
    u = cfg.end_user
    _within({**u.scores, **({} if u.unknown is None else {"unknown": u.unknown})}, "end_user.scores", path)
    _one_of(u.aliases.values(), list(u.scores), "end_user.aliases", path)
    g = cfg.goods
    _require(0 <= g.keep_share <= 1, path, "goods.keep_share must be between 0 and 1")
    _within({**g.codes, **g.surveillance_types, **g.goods_categories}, "goods tiers", path)
    _within({"unclassified_tier": g.unclassified_tier}, "goods", path)
    _require(set(g.surveillance_types) == set(SURVEILLANCE_TYPES), path, "goods.surveillance_types needs every type")
    categories = {"military", "dual_use"}
    _require(set(g.goods_categories) == categories, path, "goods.goods_categories needs exactly military, dual_use")
    for code in g.codes:
        _require(classify_code(code) is not None, path, f"goods.codes: the taxonomy does not know {code!r}")
    labels = [k.label for k in g.keywords]
    _require(len(set(labels)) == len(labels), path, "goods.keywords: two rules have the same label")
    for i, k in enumerate(g.keywords):
        _within({"tier": k.tier}, f"goods.keywords[{i}]", path)
        _one_of([k.surveillance_type] if k.surveillance_type else [], SURVEILLANCE_TYPES, f"goods.keywords[{i}]", path)
    for where, pattern in [("transaction.re_export_pattern", cfg.transaction.re_export_pattern)] + [
        (f"goods.keywords[{i}].pattern", k.pattern) for i, k in enumerate(g.keywords)
    ]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InputError(path, f"{where} is not a regular expression: {exc}") from None
    p = cfg.precedent
    _require(p.lag_months >= 0, path, "precedent.lag_months must not be negative")
    _require(p.saturation > 0 and p.half_life_years > 0, path, "precedent.saturation and half_life_years must be > 0")
    _within({"points": p.points}, "precedent", path)
    _within({"other_family": p.other_family}, "precedent", path, high=1)
    f = cfg.floors
    for name in FLOOR_NAMES:
        floor = getattr(f, name)
        _one_of(floor.surveillance_types, SURVEILLANCE_TYPES, f"floors.{name}.surveillance_types", path)
        _one_of([floor.band], BANDS, f"floors.{name}.band", path)
    _one_of(f.political_terror.goods_categories, GOODS_CATEGORIES, "floors.political_terror.goods_categories", path)
    _one_of([f.political_terror.measure], list(d.measures), "floors.political_terror.measure", path)
    _require(list(cfg.bands) == list(BANDS), path, f"bands must be, in order: {', '.join(BANDS)}")
    bounds = list(cfg.bands.values())
    _require(bounds[0] == 0 and bounds == sorted(set(bounds)), path, "bands: bounds must rise from 0")
    _one_of([cfg.reassessment.band], BANDS, "reassessment.band", path)
    _require(cfg.reassessment.years_in_force_if_unknown > 0, path, "reassessment.years_in_force_if_unknown must be > 0")
    return cfg


def load_config(path: Path = DEFAULT_CONFIG) -> ScoringConfig:
    """Read and check a scoring configuration: any problem is one InputError naming the file and the key."""
    if not path.is_file():
        raise InputError(path, "scoring configuration not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML: {' '.join(str(exc).split())}") from None
    return check_config(typing.cast(ScoringConfig, _typed(ScoringConfig, doc, "", path)), path)


# --- helpers -----------------------------------------------------------------------------------------------


def _gather(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """``values`` at ``positions`` (-1 gives null), as a fresh column with a RangeIndex."""
    return pd.Series(values.array.take(positions, allow_fill=True))


def _join_per_group(group: np.ndarray, text: pd.Series, size: int, sep: str) -> pd.Series:
    """The texts of each group 0..size-1 joined by ``sep`` in their order (null for an empty group), in Arrow."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=size)
    values = pa.array(text.astype("string").take(order).reset_index(drop=True), type=pa.large_string())
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    lists = pa.LargeListArray.from_arrays(pa.array(np.r_[0, np.cumsum(counts)], pa.int64()), values)
    joined = pc.binary_join(lists, pa.scalar(sep, values.type))
    joined = pc.if_else(pa.array(counts == 0), pa.scalar(None, values.type), joined)
    return pd.Series(pd.array(joined, dtype="string"))


def _flag_text(flags: dict[str, np.ndarray]) -> pd.Series:
    """';'-joined names of the flags set in each row (null if none), built once per distinct combination."""
    names = list(flags)
    bits = np.zeros(len(next(iter(flags.values()))), dtype=np.int64)
    for i, name in enumerate(names):
        bits |= np.asarray(flags[name], dtype=bool).astype(np.int64) << i
    positions, uniques = pd.factorize(bits)
    texts = [";".join(n for i, n in enumerate(names) if u >> i & 1) or None for u in uniques]
    return pd.Series(pd.array(texts, dtype="string").take(positions))


def bands_of(scores: np.ndarray, cfg: ScoringConfig) -> pd.Categorical:
    """The band of each score (ordered categorical Low < ... < Critical)."""
    codes = np.searchsorted(np.array(list(cfg.bands.values())), scores, side="right") - 1
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(BANDS, ordered=True))


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position among the distinct rows of ``frame`` (nulls equal), and those rows in first-seen order.

    What depends only on these columns is then computed once per distinct row and gathered back by position.
    """
    key = np.zeros(len(frame), dtype=np.int64)
    for column in frame.columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        key, _ = pd.factorize(key * (len(uniques) + 1) + codes + 1)
    first = np.full(key.max() + 1 if len(key) else 0, len(key), dtype=np.int64)
    np.minimum.at(first, key, np.arange(len(key)))  # each distinct row's first occurrence
    return key, frame.iloc[first].reset_index(drop=True)


def distinct_pairs(countries: pd.Series, dates: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position in the table of distinct (country_code, date) pairs (-1 without a country), and the table."""
    has = countries.notna().to_numpy()
    positions = np.full(len(countries), -1, dtype=np.int64)
    positions[has], pairs = distinct_rows(pd.DataFrame({"country_code": countries[has], "date": dates[has]}))
    return positions, pairs


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
            "d_inputs": _join_per_group(used["pair"].to_numpy(), used["text"], len(pairs), "; "),
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
    a, counted = cfg.abuse, evidence[evidence["country_role"].isin(cfg.abuse.roles)]
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
            "evidence_ids": _join_per_group(found["query"].to_numpy(), found["evidence_id"], len(pairs), ";"),
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
    rules = sorted((Rule(c, classify_code(c).goods_category, None, c) for c in g.codes), key=lambda r: r.specificity)
    code = per_unique(lines["control_code"], lambda c: next((r.rule for r in reversed(rules) if r.matches(c)), None))
    surveillance = lines["surveillance_type"].astype("string")
    category = lines["goods_category"].astype("string")
    classified = lines["taxonomy_rule"].notna() | code.notna()
    keyword = per_unique(
        lines["goods_description"].where(~classified),
        lambda text: next((k.label for k in g.keywords if re.search(k.pattern, text, re.IGNORECASE)), None),
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
    military = [v for c, v in g.codes.items() if classify_code(c).goods_category == "military"]
    dual_use = [v for c, v in g.codes.items() if classify_code(c).goods_category == "dual_use"]
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

    Exporters are matched to the curated entities (exportrisk.scoring.network.match_parties) and followed through the
    relations in force on the decision day (exportrisk.scoring.network.exporter_links). Columns: licence_id, line_no,
    evidence_ids (';'-separated), path (the chain of entities, readable).
    """
    empty = pd.DataFrame({c: pd.Series(dtype="Int64" if c == "line_no" else "string") for c in NETWORK_COLUMNS})
    parties = network.match_parties(licences, entities)
    parties = parties[(parties["party_role"] == "exporter") & parties["entity_id"].notna()]
    if parties.empty:
        return empty
    key = ["licence_id", "line_no"]
    parties = parties[[*key, "entity_id"]].merge(licences[[*key, "decision_date"]], on=key)
    found = network.exporter_links(parties, network.misuse_links(entities, relations, evidence))
    found = found.astype({"evidence_ids": "string", "path": "string"})
    found["evidence_ids"] = found["evidence_ids"].str.replace("; ", ";", regex=False)
    return pd.concat([empty, found[NETWORK_COLUMNS]], ignore_index=True)


def linked_lines(lines: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Each line's network evidence_ids and path, null where the network links nothing."""
    out = pd.DataFrame({"evidence_ids": pd.NA, "path": pd.NA}, index=lines.index, dtype="string")
    links = links[links["evidence_ids"].fillna("").ne("")]
    if links.empty:
        return out
    key = ["licence_id", "line_no"]
    ids = links.assign(evidence_ids=links["evidence_ids"].str.split(";")).explode("evidence_ids")
    merged = ids.groupby(key)["evidence_ids"].agg(lambda s: ";".join(sorted(set(s))))
    paths = links.groupby(key)["path"].agg(lambda s: " | ".join(s.dropna()))
    near = lines.index[lines["licence_id"].isin(links["licence_id"])]
    hit = lines.loc[near, key].reset_index().merge(pd.concat([merged, paths], axis=1).reset_index(), on=key)
    out.loc[hit["index"], ["evidence_ids", "path"]] = hit[["evidence_ids", "path"]].to_numpy()
    return out


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


# --- combining ---------------------------------------------------------------------------------------------


def gather_frame(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """Results computed once per distinct row, brought back to the rows (row i takes positions[i]; -1: nulls)."""
    return pd.DataFrame({c: _gather(frame[c], positions) for c in frame.columns})


SCENARIOS = ("central", "best", "worst", "gap_best", "gap_worst")


def scenario_parts(static: pd.DataFrame, dest: pd.DataFrame, abuse: pd.DataFrame, case: str) -> pd.DataFrame:
    """combine's inputs for each line in one case of SCENARIOS.

    'central': missing D or E, and an unknown end-user, left out. 'best' and 'worst' put every missing or
    uncertain input at its lowest- and highest-risk value: D measures and E at 0 or 100, a measure with a
    standard deviation at its interval's end, an unknown end-user at the lowest or highest known U, the
    floors' evidence at none or enough, unclassified goods at the lowest or highest tier their category
    allows. 'gap_best' and 'gap_worst' vary only the data gaps particular to a line (missing measures, E,
    goods), not U or a measure's sd: they decide whether the band is indeterminate. ``dest`` and ``abuse`` are
    row for row with ``static`` (null for lines without a country). A place that is not a country has no
    government: its D, E and floor evidence are 0 in every case.
    """
    bound = case.removeprefix("gap_")
    fill = {"central": np.nan, "best": 0.0, "worst": 100.0}[bound]
    no_state = static["no_state"].to_numpy(dtype=bool)
    d = dest["d_score"] if case == "central" else dest[f"d_{case}"]
    u = static["u_score" if case in ("central", "gap_best", "gap_worst") else f"u_{case}"]
    parts = {
        "d": d.astype(float).fillna(fill),
        "e": abuse["e_score"].astype(float).fillna(fill),
        "floor_weight": abuse["floor_weight"].astype(float).fillna(np.inf if bound == "worst" else 0.0),
    }
    parts = {k: np.where(no_state, 0.0, v.to_numpy()) for k, v in parts.items()}
    measure = dest["floor_measure"].astype(float)
    measure = measure.fillna(fill) if bound == "worst" else measure
    return pd.DataFrame(
        {
            **parts,
            "floor_measure": np.where(no_state, np.nan, measure.to_numpy()),
            "u": u.to_numpy(),
            "i": static["i_score" if case == "central" else f"i_{bound}"].to_numpy(),
            "x": static["x_score"].to_numpy(),
            "p": static["p_score"].to_numpy(),
            "linked": static["exporter_linked"].to_numpy(dtype=bool),
            **{name: static[f"{name}_worst" if bound == "worst" else name].to_numpy() for name in FLOOR_NAMES},
        }
    )


def combine(parts: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """The score: weighted context of D, E and U present, times the goods factor, plus X and P, capped; floors.

    raw = min(100, context x (keep + (1 - keep) x I / 100) + X + P). A floor that fires places the line
    inside its band by its raw score, lo + (hi - lo) x raw / 100, unless raw is already higher: floored lines
    keep their relative order, and two lines tie only where their inputs tie. Rounded to two decimals
    before banding, so that score and band agree. Returns score, raw_score, context_score, goods_factor and,
    per floor, whether it fired.
    """
    w, keep, f = cfg.weights, cfg.goods.keep_share, cfg.floors
    components = [(parts["d"], w.destination), (parts["e"], w.abuse), (parts["u"], w.end_user)]
    weighted = sum(np.nan_to_num(v.to_numpy(dtype=float)) * weight for v, weight in components)
    present = sum(v.notna().to_numpy() * weight for v, weight in components)
    # nothing known of destination or end-user (no single country, unknown end-user): the middle of the scale
    context = np.where(present > 0, weighted / np.where(present > 0, present, 1), 50.0)
    if cfg.end_user.unknown is None:
        # an unknown end-user drops out, but the context stays within what a known one could make it
        unknown, scores = parts["u"].isna().to_numpy(), cfg.end_user.scores.values()
        with_u = [(weighted + w.end_user * u) / (present + w.end_user) for u in (min(scores), max(scores))]
        context = np.where(unknown & (present > 0), np.clip(context, *with_u), context)
    factor = keep + (1 - keep) * parts["i"].to_numpy(dtype=float) / 100
    added = parts["x"].to_numpy(dtype=float) + parts["p"].to_numpy(dtype=float)
    raw = np.minimum(100.0, context * factor + added)
    evidence, measure = parts["floor_weight"].to_numpy(dtype=float), parts["floor_measure"].to_numpy(dtype=float)
    fired = {
        "critical": parts["critical"].to_numpy(dtype=bool)
        & ((evidence >= f.critical.min_evidence_weight) | (f.critical.exporter_linked & parts["linked"].to_numpy())),
        "prior_use": parts["prior_use"].to_numpy(dtype=bool) & (evidence >= f.prior_use.min_evidence_weight),
        "named_operator": parts["named_operator"].to_numpy(dtype=bool)
        & (evidence >= f.named_operator.min_evidence_weight),
        "political_terror": parts["political_terror"].to_numpy(dtype=bool)
        & (measure >= f.political_terror.min_measure_score),
    }
    score = raw
    tops = [*list(cfg.bands.values())[1:], 100.0]
    for name, hit in fired.items():
        band = getattr(f, name).band
        low, high = cfg.bound(band), tops[list(cfg.bands).index(band)]
        score = np.where(hit, np.maximum(score, low + (high - low) * raw / 100), score)
    return pd.DataFrame(
        {"score": np.round(score, 2), "raw_score": raw, "context_score": context, "goods_factor": factor, **fired}
    )


def reassessment_dates(
    scored: pd.DataFrame, score: np.ndarray, indicators: pd.DataFrame, evidence: pd.DataFrame, cfg: ScoringConfig
) -> np.ndarray:
    """For each scored row below the reassessment band: the first later day its ex-ante score reaches the band.

    ``scored`` holds the date-free components (u_score, i_score, x_score, the floors the goods qualify for;
    the precedent points p_score are held at their decision-day value)
    with country_code and date. A score changes only with its date's inputs: an indicator edition (of any
    country: staleness is measured against the newest edition) or a piece of the destination's evidence, each
    in use from the day after it was published; between those days it can only fall (evidence ages, leaves
    the floors' window). So the rows are grouped into profiles (country and components), each profile is
    scored on those change days after its earliest date, and each row takes the first day at or above the
    band strictly after its date, by one as-of merge. NaT if never.
    """
    threshold = cfg.bound(cfg.reassessment.band)
    out = np.full(len(scored), np.datetime64("NaT"), dtype="datetime64[ms]")
    todo = scored["country_code"].notna().to_numpy() & (score < threshold)
    if not todo.any():
        return out
    held = ["country_code", "u_score", "i_score", "x_score", "p_score", "exporter_linked", *FLOOR_NAMES]
    profile, profiles = distinct_rows(scored.loc[todo, held])
    decided = scored.loc[todo, "date"].to_numpy()
    profiles = profiles.assign(profile=np.arange(len(profiles)), start=pd.Series(decided).groupby(profile).min())
    day = pd.Timedelta(days=1)
    editions = pd.DataFrame({"date": np.unique(indicators["published_date"].to_numpy()) + day})
    counted = evidence[evidence["country_role"].isin(cfg.abuse.roles) & evidence["country_code"].notna()]
    found = pd.DataFrame({"country_code": counted["country_code"].astype("string")})
    found["date"] = counted["published_date"] + day
    grid = pd.concat(
        [profiles.merge(editions, how="cross"), profiles.merge(found.drop_duplicates(), on="country_code")]
    )
    grid = grid[grid["date"] > grid["start"]].drop_duplicates(["profile", "date"]).reset_index(drop=True)
    at, pairs = distinct_pairs(grid["country_code"], grid["date"])
    dest = gather_frame(destination_record(indicators, pairs, cfg), at)
    abuse = gather_frame(abuse_record(evidence, pairs, cfg), at)
    parts = scenario_parts(grid.assign(no_state=False), dest, abuse, "central")
    high = grid.loc[combine(parts, cfg)["score"].to_numpy() >= threshold, ["profile", "date"]]
    asked = pd.DataFrame({"row": np.flatnonzero(todo), "profile": profile, "decided": decided})
    reached = pd.merge_asof(
        asked.sort_values("decided", kind="stable"),
        high.sort_values("date", kind="stable").astype({"date": "datetime64[ms]"}),
        left_on="decided",
        right_on="date",
        by="profile",
        direction="forward",
        allow_exact_matches=False,
    )
    out[reached["row"].to_numpy()] = reached["date"].to_numpy()
    return out


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
    dated = st.assign(country_code=_gather(pairs["country_code"], at), date=_gather(pairs["date"], at))
    floors = _flag_text({name: central[name].to_numpy() for name in FLOOR_NAMES})
    w = cfg.weights
    shares = {
        f"weight_{c}": parts[c].notna().to_numpy() * v
        for c, v in (("d", w.destination), ("e", w.abuse), ("u", w.end_user))
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
            "x_flags": _flag_text({name: st[name].to_numpy() for name in X_FLAGS}),
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
            "flags": _flag_text(flags),
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
    prior = line_precedents(lines, as_of, lines if refusals is None else refusals, cfg)
    combo_at, combos = distinct_rows(
        pd.DataFrame(
            {
                "static": static_at,
                "pair": pair_at,
                "exporter_linked": linked,
                "precedent_weight": prior["precedent_weight"],
                "precedent_ids": prior["precedent_ids"],
            }
        )
    )
    scored = gather_frame(score_combinations(combos, static, pairs, indicators, evidence, cfg), combo_at)
    reached = scored.pop("reached_date")
    term = pd.DateOffset(years=cfg.reassessment.years_in_force_if_unknown)
    in_force = lines["expiry_date"].fillna(lines["decision_date"] + term)
    found, network_ids = scored.pop("evidence_ids"), network["evidence_ids"]
    out = pd.concat([lines[["licence_id", "line_no"]], scored], axis=1).assign(
        as_of_date=as_of,
        destination_country_code=lines["destination_country_code"],
        control_code=lines["control_code"],
        evidence_ids=(found + ";" + network_ids).fillna(found).fillna(network_ids),
        reassessment_date=reached.where(lines["outcome"].eq("issued") & (reached <= in_force)),
        method_version=cfg.method_version,
        network_path=network["path"],
        precedent_ids=prior["precedent_ids"],
    )
    return conform(out, SCORE_LINES)


def band_with_gaps(score: np.ndarray, best: np.ndarray, worst: np.ndarray, cfg: ScoringConfig) -> pd.Categorical:
    """The band of the score, or 'indeterminate (data gap)' where the best and worst cases fall in different bands."""
    codes = bands_of(score, cfg).codes + 1
    gap = bands_of(best, cfg).codes != bands_of(worst, cfg).codes
    return pd.Categorical.from_codes(np.where(gap, 0, codes), dtype=BAND_DTYPE)


def summarise(scored: pd.DataFrame, licences: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """One row per licence (table scores): its highest line (ties: the first) gives the score, band and details.

    ``scored`` is score_lines of ``licences``, row for row. The best, worst and hindsight scores are the
    highest over the lines; the reassessment date the earliest over the lines, null if the licence was already
    in that band at its decision. Licences in order of first appearance, so that a re-run gives the same bytes.
    """
    if scored.empty:
        return SCORES.empty()
    codes, _ = pd.factorize(scored["licence_id"])
    score = scored["score"].to_numpy(dtype=float)
    order = np.lexsort((scored["line_no"].to_numpy(dtype=np.int64), -score, codes))
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    top = order[starts]

    def highest(column: str) -> np.ndarray:
        return np.maximum.reduceat(scored[column].to_numpy(dtype=float)[order], starts)

    dates = scored["reassessment_date"].to_numpy("datetime64[ms]")
    first = np.minimum.reduceat(np.where(np.isnat(dates), np.datetime64("9999-12-31", "ms"), dates)[order], starts)
    kept = [c for c in SCORES.columns if c in scored.columns]
    out = scored[kept].iloc[top].reset_index(drop=True)
    best, worst, hindsight = highest("score_best"), highest("score_worst"), highest("hindsight_score")
    already = out["score"].to_numpy(dtype=float) >= cfg.bound(cfg.reassessment.band)
    out = out.assign(
        score_best=best,
        score_worst=worst,
        hindsight_score=hindsight,
        hindsight_band=bands_of(hindsight, cfg),
        reassessment_date=np.where(already | (first == np.datetime64("9999-12-31")), np.datetime64("NaT"), first),
        top_line_no=scored["line_no"].iloc[top].to_numpy(),
        n_lines=np.diff(np.r_[starts, len(order)]),
        licensing_country_code=licences["licensing_country_code"].iloc[top].reset_index(drop=True),
        outcome=licences["outcome"].iloc[top].reset_index(drop=True),
    )
    return conform(out, SCORES)


# --- the edge: read, score, write --------------------------------------------------------------------------


def read_processed(processed_dir: Path) -> dict[str, pd.DataFrame]:
    """The cleaned tables scoring reads; a missing one is an InputError that says to run clean."""
    tables = {}
    for table in (LICENCES, INDICATORS, EVIDENCE, ENTITIES, RELATIONS):
        path = processed_dir / f"{table.name}.parquet"
        if not path.is_file():
            raise InputError(path, "missing: run `exportrisk clean` first")
        tables[table.name] = read_table(path, table)
    return tables


def score_against(lines: pd.DataFrame, tables: dict[str, pd.DataFrame], cfg: ScoringConfig) -> pd.DataFrame:
    """score_lines of any licence lines against the processed tables, the exporter network linked as of their dates.

    The one entry for scoring: ``exportrisk score``, the sensitivity analysis, the checks and ``er.score`` all
    come through here, so they cannot score differently.
    """
    links = network_links(lines, tables["entities"], tables["relations"], tables["evidence"])
    return score_lines(lines, tables["indicators"], tables["evidence"], links, cfg, refusals=tables["licences"])


def run(processed_dir: Path, config_path: Path = DEFAULT_CONFIG) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``exportrisk score``: score the processed tables, write scores.parquet and score_lines.parquet."""
    cfg = load_config(config_path)
    t = read_processed(processed_dir)
    lines = score_against(t["licences"], t, cfg)
    scores = summarise(lines, t["licences"], cfg)
    validate(lines, SCORE_LINES)
    validate(scores, SCORES)
    write_parquet(scores, processed_dir / f"{SCORES.name}.parquet")
    write_parquet(lines, processed_dir / f"{SCORE_LINES.name}.parquet")
    return scores, lines
