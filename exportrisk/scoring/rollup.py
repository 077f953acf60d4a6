"""The licence summary: each licence by its highest line (table scores)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from exportrisk.schema import (
    SCORES,
    conform,
)
from exportrisk.scoring.combine import bands_of
from exportrisk.scoring.config import ScoringConfig


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
    order = np.argsort(codes, kind="stable")  # each licence's lines together, in their order (linear when they are)
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    top = order[starts + highest_line(score[order], scored["line_no"].to_numpy(dtype=np.int64)[order], starts)]

    def highest(column: str) -> np.ndarray:
        return np.maximum.reduceat(scored[column].to_numpy(dtype=float)[order], starts)

    dates = scored["reassessment_date"].to_numpy("datetime64[ms]")
    first = np.minimum.reduceat(np.where(np.isnat(dates), np.datetime64("9999-12-31", "ms"), dates)[order], starts)
    over_lines = ("score_best", "score_worst", "hindsight_score", "hindsight_band", "reassessment_date")  # set below
    kept = [c for c in SCORES.columns if c in scored.columns and c not in over_lines]
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


def highest_line(score: np.ndarray, line_no: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Within each group of rows (group k from starts[k]), the offset of the row with the highest score, ties
    to the lowest line_no and then to the first: one pass over the rows, no sort."""
    sizes = np.diff(np.r_[starts, len(score)])
    group = np.repeat(np.arange(len(starts)), sizes)
    best = score == np.repeat(np.maximum.reduceat(score, starts), sizes)
    line = np.where(best, line_no, np.iinfo(np.int64).max)
    chosen = np.flatnonzero(best & (line == np.repeat(np.minimum.reduceat(line, starts), sizes)))
    first = chosen[np.r_[True, np.diff(group[chosen]) != 0]]
    return first - starts
