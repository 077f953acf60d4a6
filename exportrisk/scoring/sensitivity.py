"""Would the bands and the country ranking survive other weights? Seeded perturbation of the scoring weights.

Critics of any index ask whether its ranking is an artefact of its weights. Each draw multiplies every weight
of the combination by its own factor, uniform in [1 - spread, 1 + spread], and renormalises each group that
must sum to one: the context weights of D, E and U; the weights of the D measures; the goods keep share and
its complement (the weight of the goods tier). The components themselves (each D measure's risk, E, U, I, X
and the floors that fire, none of which depends on these weights) are computed once by ``scoring``; a draw
only recombines them through ``scoring.combine``, once per distinct combination of components, and the
scores are then rolled up to licences (highest line) and destination countries (mean licence score),
vectorised across licences and blocks of draws. The method and the figures: docs/methodology.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from exportrisk import listcols
from exportrisk.errors import InputError
from exportrisk.ingest.files import atomic_path, write_parquet
from exportrisk.schema import BANDS, SENSITIVITY, SENSITIVITY_SUMMARY, conform, validate
from exportrisk.scoring import score as scoring

BLOCK_CELLS = 1 << 22  # line scores held at once (draws x lines): 32 MB of float64
COMPONENTS = ["d_score", "e_score", "u_score", "i_score", "x_score", "p_score"]
FLOORS = scoring.FLOOR_NAMES


# --- the draws ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightDraws:
    """The weights of the combination, one row per draw; every group of a row sums to one."""

    context: np.ndarray  # (draws, 3): D, E, U
    measures: np.ndarray  # (draws, number of D measures), in configuration order
    keep: np.ndarray  # (draws,): goods keep share; 1 - keep weighs the goods tier

    def config(self, row: int, cfg: scoring.ScoringConfig) -> scoring.ScoringConfig:
        """``cfg`` with the weights of draw ``row``: scoring with it from scratch gives that draw's scores."""
        measures = {
            name: dataclasses.replace(m, weight=float(w))
            for (name, m), w in zip(cfg.destination.measures.items(), self.measures[row], strict=True)
        }
        return dataclasses.replace(
            cfg,
            weights=scoring.Weights(*map(float, self.context[row])),
            destination=dataclasses.replace(cfg.destination, measures=measures),
            goods=dataclasses.replace(cfg.goods, keep_share=float(self.keep[row])),
        )


def base_weights(cfg: scoring.ScoringConfig) -> WeightDraws:
    """The configuration's own weights, as a single draw."""
    w = cfg.weights
    return WeightDraws(
        context=np.array([[w.destination, w.abuse, w.end_user]]),
        measures=np.array([[m.weight for m in cfg.destination.measures.values()]]),
        keep=np.array([cfg.goods.keep_share]),
    )


def check_parameters(draws: int, spread: float) -> None:
    """At least one draw; a spread below 1, so that no weight can reach zero or turn negative."""
    if draws < 1:
        raise InputError("exportrisk sensitivity", f"--draws must be at least 1, not {draws}")
    if not 0 <= spread < 1:
        raise InputError("exportrisk sensitivity", f"--spread must be at least 0 and below 1, not {spread:g}")


def draw_weights(cfg: scoring.ScoringConfig, draws: int, seed: int, spread: float) -> WeightDraws:
    """``draws`` seeded perturbations of every weight by a factor uniform in [1 - spread, 1 + spread], renormalised.

    One generator seeded with ``seed`` draws all factors in a fixed order, so that the same seed gives the same
    weights. Renormalising keeps each group a weighted mean, as the configuration requires.
    """
    check_parameters(draws, spread)
    base = base_weights(cfg)
    groups = [base.context, base.measures, np.c_[base.keep, 1 - base.keep]]
    widths = [g.shape[1] for g in groups]
    factors = 1 + np.random.default_rng(seed).uniform(-spread, spread, (draws, sum(widths)))
    perturbed = [g * f for g, f in zip(groups, np.split(factors, np.cumsum(widths)[:-1], axis=1), strict=True)]
    context, measures, keep = (w / w.sum(axis=1, keepdims=True) for w in perturbed)
    return WeightDraws(context, measures, keep[:, 0])


# --- the components, once ----------------------------------------------------------------------------------


def measure_risks(indicators: pd.DataFrame, lines: pd.DataFrame, cfg: scoring.ScoringConfig) -> pd.DataFrame:
    """Each score line's risk (0-100) on every D measure, NaN where the measure is missing; one column per measure.

    D with all the weight on one measure is that measure's risk, so ``scoring.destination_record`` is asked
    once per measure, for the distinct (destination, as-of date) pairs of the lines.
    """
    at, pairs = scoring.distinct_pairs(lines["destination_country_code"], lines["as_of_date"])
    measures = cfg.destination.measures
    risks = {}
    for name in measures:
        alone = {m: dataclasses.replace(measure, weight=float(m == name)) for m, measure in measures.items()}
        only = dataclasses.replace(cfg, destination=dataclasses.replace(cfg.destination, measures=alone))
        risks[name] = scoring.destination_record(indicators, pairs, only)["d_score"]
    return scoring.gather_frame(pd.DataFrame(risks), at).astype(float)


def combination_inputs(lines: pd.DataFrame, risks: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """What the combination reads that no weight changes, once per distinct row, and each line's row.

    From score_lines: D, E, U, I, X and the floors that fired (they depend on evidence, PTS and goods, not on
    weights); ``risks`` adds each D measure's risk, so that D can be remixed with other measure weights.
    """
    fired = {name: listcols.contains(lines["floors"], name) for name in FLOORS}
    frame = pd.concat(
        [
            risks.reset_index(drop=True).add_prefix("risk_"),
            lines[COMPONENTS].astype(float).reset_index(drop=True),
            pd.DataFrame(fired),
        ],
        axis=1,
    )
    return scoring.distinct_rows(frame)


def mixed_destination(inputs: pd.DataFrame, measures: list[str], measure_weights: np.ndarray) -> np.ndarray:
    """D under each row of ``measure_weights`` (columns in the order of ``measures``), for the distinct rows
    (rows x draws): the weighted mean of the measures present, as scoring forms D.

    A row without any measure keeps its D: null without indicators, 0 for a place that is not a country.
    """
    risks = inputs[[f"risk_{m}" for m in measures]].to_numpy(dtype=float)
    present = ~np.isnan(risks)
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = np.nan_to_num(risks) @ measure_weights.T / (present @ measure_weights.T)
    return np.where(present.any(axis=1)[:, None], mixed, inputs[["d_score"]].to_numpy())


def recombine(
    inputs: pd.DataFrame, weights: WeightDraws, cfg: scoring.ScoringConfig, destination: np.ndarray | None = None
) -> np.ndarray:
    """Scores of the distinct rows under each draw of weights (draws x rows), through ``scoring.combine``.

    The floors go in as fired, with evidence and PTS to spare, so that combine fires exactly those.
    ``destination`` (rows x draws) overrides D mixed from the measures (the baseline passes scoring's own D).
    """
    measures = list(cfg.destination.measures)
    d = mixed_destination(inputs, measures, weights.measures) if destination is None else destination
    parts = pd.DataFrame(
        {
            "e": inputs["e_score"],
            "u": inputs["u_score"],
            "i": inputs["i_score"],
            "x": inputs["x_score"],
            "p": inputs["p_score"],
            "linked": False,
            "floor_weight": np.inf,
            "floor_measure": np.inf,
            **{name: inputs[name] for name in FLOORS},
        }
    )
    return np.vstack(
        [
            scoring.combine(parts.assign(d=d[:, row]), weights.config(row, cfg))["score"].to_numpy(dtype=float)
            for row in range(len(weights.keep))
        ]
    )


# --- rolling up to licences and countries ------------------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """How line scores roll up: a licence's score for a destination is its highest line to it, a licence's
    score its highest line, a destination country's score the mean over the licences to it."""

    order: np.ndarray  # lines sorted by licence (first appearance), then destination
    group_starts: np.ndarray  # (licence, destination) groups, into order
    licence_starts: np.ndarray  # licences, into the groups
    country_order: np.ndarray  # groups with a country, sorted by country
    country_starts: np.ndarray
    country_sizes: np.ndarray
    licence_ids: pd.Index
    countries: pd.Index

    @classmethod
    def of(cls, lines: pd.DataFrame) -> Rollup:
        licence, licence_ids = pd.factorize(lines["licence_id"])
        country, countries = pd.factorize(lines["destination_country_code"], sort=True)
        order = np.lexsort((country, licence))
        by_licence, by_country = licence[order], country[order]
        group_starts = np.flatnonzero(np.r_[True, (np.diff(by_licence) != 0) | (np.diff(by_country) != 0)])
        group_licence, group_country = by_licence[group_starts], by_country[group_starts]
        with_country = np.flatnonzero(group_country >= 0)
        sizes = np.bincount(group_country[with_country], minlength=len(countries))
        return cls(
            order=order,
            group_starts=group_starts,
            licence_starts=np.flatnonzero(np.r_[True, np.diff(group_licence) != 0]),
            country_order=with_country[np.argsort(group_country[with_country], kind="stable")],
            country_starts=np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64),
            country_sizes=sizes,
            licence_ids=pd.Index(licence_ids),
            countries=pd.Index(countries),
        )

    def roll(self, line_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Licence and country scores (draws x licences, draws x countries) from line scores (draws x lines)."""
        groups = np.maximum.reduceat(line_scores[:, self.order], self.group_starts, axis=1)
        licences = np.maximum.reduceat(groups, self.licence_starts, axis=1)
        if not len(self.countries):
            return licences, np.empty((len(line_scores), 0))
        sums = np.add.reduceat(groups[:, self.country_order], self.country_starts, axis=1)
        return licences, sums / self.country_sizes


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between ranking ``x`` (n) and each row of ``y`` (rows x n), ties counted as tau-b does.

    tau-b = sum of sign(x_i - x_j) sign(y_i - y_j) over pairs / sqrt(pairs untied in x * pairs untied in y);
    NaN where either ranking is all ties. O(n^2) per row, which is nothing for some 200 countries.
    """
    i, j = np.triu_indices(len(x), k=1)
    sx = np.sign(x[i] - x[j])
    sy = np.sign(y[:, i] - y[:, j])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sy @ sx) / np.sqrt(np.abs(sx).sum() * np.abs(sy).sum(axis=1))


# --- the analysis ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sensitivity:
    """What ``analyse`` finds: the two output tables, and the taus behind the summary's."""

    licences: pd.DataFrame  # table sensitivity
    summary: pd.DataFrame  # table sensitivity_summary
    taus: np.ndarray  # Kendall tau-b of each draw's country ranking against the baseline's


def band_codes(scores: np.ndarray, cfg: scoring.ScoringConfig) -> np.ndarray:
    """Band positions (0 = Low) of scores of any shape."""
    return scoring.bands_of(scores.ravel(), cfg).codes.reshape(scores.shape)


def analyse(
    lines: pd.DataFrame, risks: pd.DataFrame, cfg: scoring.ScoringConfig, draws: int, seed: int, spread: float
) -> Sensitivity:
    """Per licence, how often its band survives ``draws`` perturbations of the weights; the country ranking's tau.

    ``lines`` is score_lines made with ``cfg``, ``risks`` its measure_risks. The baseline is recombined from
    the same inputs with the configuration's weights and must reproduce the lines' scores exactly: a scoring
    term this module does not know of stops the analysis rather than perturbing another formula.
    """
    at, inputs = combination_inputs(lines, risks)
    base = base_weights(cfg)
    baseline_lines = recombine(inputs, base, cfg, destination=inputs[["d_score"]].to_numpy())[:, at]
    if not np.array_equal(baseline_lines[0], lines["score"].to_numpy(dtype=float)):
        raise ValueError("recombining the components does not reproduce the scores: scoring changed its formula")
    rollup = Rollup.of(lines)
    (baseline,), (baseline_countries,) = rollup.roll(baseline_lines)
    baseline_band = band_codes(baseline, cfg)
    scores = recombine(inputs, draw_weights(cfg, draws, seed, spread), cfg)
    kept = np.zeros(len(baseline), dtype=np.int64)
    low, high = np.full(len(baseline), np.inf), np.full(len(baseline), -np.inf)
    countries = []
    for block in np.array_split(scores, min(draws, max(1, draws * len(lines) // BLOCK_CELLS))):
        licences, by_country = rollup.roll(block[:, at])
        kept += (band_codes(licences, cfg) == baseline_band).sum(axis=0)
        low, high = np.minimum(low, licences.min(axis=0)), np.maximum(high, licences.max(axis=0))
        countries.append(by_country)
    per_licence = pd.DataFrame(
        {
            "licence_id": rollup.licence_ids,
            "score": baseline,
            "score_band": scoring.bands_of(baseline, cfg),
            "band_kept_share": kept / draws,
            "score_min": low,
            "score_max": high,
            "lowest_band": scoring.bands_of(low, cfg),
            "highest_band": scoring.bands_of(high, cfg),
        }
    )
    taus = kendall_tau_b(baseline_countries, np.vstack(countries))
    summary = summary_table(per_licence, taus, len(rollup.countries), {"draws": draws, "seed": seed, "spread": spread})
    return Sensitivity(conform(per_licence, SENSITIVITY), summary, taus)


def summary_table(
    per_licence: pd.DataFrame, taus: np.ndarray, countries: int, parameters: dict[str, float]
) -> pd.DataFrame:
    """The headline figures: per baseline band and overall, how many licences' bands depend on the weights at
    all (some draw moves them) and mostly (most draws do), and how far the destination-country ranking moves
    (median, 5th percentile and lowest tau over the draws)."""
    rows = [(name, "all", value) for name, value in parameters.items()]
    kept_share = per_licence["band_kept_share"]
    scopes = {"all": kept_share, **{band: kept_share[per_licence["score_band"].eq(band)] for band in BANDS}}
    for scope, kept in scopes.items():
        rows += [
            ("licences", scope, len(kept)),
            ("share_band_depends_on_weights", scope, (kept < 1).mean()),
            ("share_band_kept_in_under_half", scope, (kept < 0.5).mean()),
            ("mean_band_kept_share", scope, kept.mean()),
        ]
    rows += [
        ("countries_ranked", "all", countries),
        ("kendall_tau_median", "all", np.median(taus)),
        ("kendall_tau_p05", "all", np.percentile(taus, 5)),
        ("kendall_tau_min", "all", taus.min()),
    ]
    return conform(pd.DataFrame(rows, columns=["statistic", "scope", "value"]), SENSITIVITY_SUMMARY)


# --- the edge ----------------------------------------------------------------------------------------------


def run(
    processed_dir: Path,
    config_path: Path = scoring.DEFAULT_CONFIG,
    draws: int = 200,
    seed: int = 0,
    spread: float = 0.5,
) -> Sensitivity:
    """``exportrisk sensitivity``: score the processed tables, perturb the weights, write both outputs."""
    cfg = scoring.load_config(config_path)
    check_parameters(draws, spread)
    t = scoring.read_processed(processed_dir)
    lines = scoring.score_against(t["licences"], t, cfg)
    if lines.empty:
        raise InputError(processed_dir / "licences.parquet", "no licence lines to analyse")
    result = analyse(lines, measure_risks(t["indicators"], lines, cfg), cfg, draws, seed, spread)
    write_parquet(validate(result.licences, SENSITIVITY), processed_dir / f"{SENSITIVITY.name}.parquet")
    with atomic_path(processed_dir / f"{SENSITIVITY_SUMMARY.name}.csv") as tmp:
        validate(result.summary, SENSITIVITY_SUMMARY).to_csv(tmp, index=False, lineterminator="\n")
    return result
