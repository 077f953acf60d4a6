"""Combining the components into the score, its band, its best, worst and data-gap cases, and the
reassessment date (the method: docs/methodology.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from exportrisk.schema import (
    BANDS,
    INDETERMINATE,
)
from exportrisk.scoring.components import abuse_record, destination_record
from exportrisk.scoring.config import FLOOR_NAMES, ScoringConfig
from exportrisk.scoring.frames import distinct_pairs, distinct_rows, gather_column, gather_frame

BAND_DTYPE = pd.CategoricalDtype((INDETERMINATE, *BANDS), ordered=True)


def bands_of(scores: np.ndarray, cfg: ScoringConfig) -> pd.Categorical:
    """The band of each score (ordered categorical Low < ... < Critical)."""
    codes = np.searchsorted(np.array(list(cfg.bands.values())), scores, side="right") - 1
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(BANDS, ordered=True))


def band_with_gaps(score: np.ndarray, best: np.ndarray, worst: np.ndarray, cfg: ScoringConfig) -> pd.Categorical:
    """The band of the score, or 'indeterminate (data gap)' where the best and worst cases fall in different bands."""
    codes = bands_of(score, cfg).codes + 1
    gap = bands_of(best, cfg).codes != bands_of(worst, cfg).codes
    return pd.Categorical.from_codes(np.where(gap, 0, codes), dtype=BAND_DTYPE)


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


def _context(parts: pd.DataFrame, cfg: ScoringConfig, abuse: bool) -> tuple[np.ndarray, np.ndarray]:
    """The weighted mean of D and U (and E if ``abuse``) where present, 50 (the middle) where none is, and
    whether any is present. An unknown end-user drops out, but the mean stays within what a known one could
    make it."""
    w = cfg.weights
    components = [(parts["d"], w.destination), (parts["u"], w.end_user), *([(parts["e"], w.abuse)] if abuse else [])]
    weighted = sum(np.nan_to_num(v.to_numpy(dtype=float)) * weight for v, weight in components)
    present = sum(v.notna().to_numpy() * weight for v, weight in components)
    context = np.where(present > 0, weighted / np.where(present > 0, present, 1), 50.0)
    if cfg.end_user.unknown is None:
        scores = cfg.end_user.scores.values()
        with_u = [(weighted + w.end_user * u) / (present + w.end_user) for u in (min(scores), max(scores))]
        context = np.where(parts["u"].isna().to_numpy() & (present > 0), np.clip(context, *with_u), context)
    return context, present > 0


def combine(parts: pd.DataFrame, cfg: ScoringConfig) -> pd.DataFrame:
    """The score: weighted context of D, U and (where it raises it) E, times the goods factor, plus X and P,
    capped; floors.

    raw = min(100, context x (keep + (1 - keep) x I / 100) + X + P). A floor that fires places the line
    inside its band by its raw score, lo + (hi - lo) x raw / 100, unless raw is already higher: floored lines
    keep their relative order, and two lines tie only where their inputs tie. Only the Critical floor reaches
    Critical: other scores above the band below it are compressed into that band, in order. Rounded to two
    decimals before banding, so that score and band agree. Returns score, raw_score, context_score,
    goods_factor, abuse_counted (E in the context) and, per floor, whether it fired.
    """
    keep, f = cfg.goods.keep_share, cfg.floors
    without_e, known = _context(parts, cfg, abuse=False)
    with_e, _ = _context(parts, cfg, abuse=True)
    # E counts where it raises the context: documented abuse adds to the destination's record, but its absence
    # is not evidence of a clean record (the evidence is sparse), so it never pulls the record down
    abuse_counted = parts["e"].notna().to_numpy() & (~known | (with_e > without_e))
    context = np.where(abuse_counted, with_e, without_e)
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
    # only the Critical floor reaches Critical: a raw score above the band below it is compressed into that band
    reserved = cfg.bound(f.critical.band)
    below = cfg.bands[list(cfg.bands)[list(cfg.bands).index(f.critical.band) - 1]]
    score = np.where(raw > below, below + (reserved - below) * (raw - below) / (100 - below), raw)
    tops = [*list(cfg.bands.values())[1:], 100.0]
    for name, hit in fired.items():
        band = getattr(f, name).band
        low, high = cfg.bound(band), tops[list(cfg.bands).index(band)]
        score = np.where(hit, np.maximum(score, low + (high - low) * raw / 100), score)
    score = np.where(fired["critical"], score, np.minimum(score, reserved - 0.01))
    return pd.DataFrame(
        {
            "score": np.round(score, 2),
            "raw_score": raw,
            "context_score": context,
            "goods_factor": factor,
            "abuse_counted": abuse_counted,
            **fired,
        }
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
    start = pd.Series(decided).groupby(profile).min().to_numpy("datetime64[ms]")
    day = np.timedelta64(1, "D")
    # each profile's change days after its start: every indicator edition, then its country's evidence
    editions = (np.unique(indicators["published_date"].to_numpy("datetime64[ms]")) + day).astype("datetime64[ms]")
    after = np.searchsorted(editions, start, side="right")
    count = len(editions) - after
    at = np.repeat(after - np.cumsum(count) + count, count) + np.arange(count.sum())
    counted = evidence[evidence["country_role"].isin(cfg.abuse.roles) & evidence["country_code"].notna()]
    found = pd.DataFrame({"country_code": counted["country_code"].astype("string")})
    found["date"] = counted["published_date"] + pd.Timedelta(days=1)
    dated = pd.DataFrame({"profile": np.arange(len(profiles)), "country_code": profiles["country_code"]})
    dated = dated.merge(found.drop_duplicates(), on="country_code")
    grid = pd.concat(
        [
            pd.DataFrame({"profile": np.repeat(np.arange(len(profiles)), count), "date": editions[at]}),
            dated[["profile", "date"]].astype({"date": "datetime64[ms]"}),
        ],
        ignore_index=True,
    )
    grid = grid[grid["date"].to_numpy() > start[grid["profile"].to_numpy()]].drop_duplicates(["profile", "date"])
    grid = grid.reset_index(drop=True)
    on = grid["profile"].to_numpy()
    at, pairs = distinct_pairs(gather_column(profiles["country_code"], on), grid["date"])
    dest = gather_frame(destination_record(indicators, pairs, cfg), at)
    abuse = gather_frame(abuse_record(evidence, pairs, cfg), at)
    parts = scenario_parts(gather_frame(profiles, on).assign(no_state=False), dest, abuse, "central")
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
