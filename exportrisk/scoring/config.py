"""The scoring configuration: typed, checked, read from metadata/scoring.yaml (the method: docs/methodology.md).

Every weight, tier, floor, lag and band bound is in the YAML file; this module turns it into frozen dataclasses
and stops any mistake with one InputError naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml

from exportrisk.config import METADATA_DIR
from exportrisk.errors import InputError
from exportrisk.knowledge.indicators import indicator_specs, spec_mapping
from exportrisk.reference.controlcodes import classify_code
from exportrisk.schema import (
    BANDS,
    COUNTRY_ROLES,
    EVIDENCE_STRENGTHS,
    GOODS_CATEGORIES,
    SURVEILLANCE_TYPES,
)

DEFAULT_CONFIG = METADATA_DIR / "scoring.yaml"
FLOOR_NAMES = ("critical", "prior_use", "named_operator", "political_terror")


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


def _typed(kind: typing.Any, value: typing.Any, where: str, path: Path) -> object:
    """``value`` read as ``kind`` (a config dataclass, dict, tuple, optional, float, int or str), else one error.

    ``kind`` is a type form (a class, ``dict[str, float]``, ``X | None``), which no single static type covers."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        fields = dataclasses.fields(kind)
        required = {f.name for f in fields if f.default is dataclasses.MISSING}
        mapping = spec_mapping(value, {f.name for f in fields}, where or "the file", path, required)
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
    declared = {code for spec in indicator_specs().values() for code in spec.indicators}
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
    reserved = list(BANDS).index(f.critical.band)
    _require(reserved > 0, path, "floors.critical.band must be above the lowest band")
    for name in FLOOR_NAMES[1:]:
        band = getattr(f, name).band
        _require(list(BANDS).index(band) < reserved, path, f"floors.{name}.band must be below floors.critical.band")
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
