"""Checks of the ex-ante score against the world: refusals, named spyware operators, published export figures.

The weights were set from their reasons (docs/methodology.md), not fitted: these checks measure the method
on outcomes it never saw, and nothing here feeds back into it. Each check is a pure function of the cleaned
tables and returns rows of the ``checks`` table (check, scope, statistic, value); ``run`` reads, scores and
writes at the edge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from exportrisk import listcols
from exportrisk.ingest.files import atomic_path
from exportrisk.knowledge.indicators import indicators_as_of_many, spec_for
from exportrisk.schema import BANDS, CHECKS, conform, validate
from exportrisk.scoring import score as scoring

UK, NL = "GBR", "NLD"
REPRESSION_CRITERION = "2"  # EU Common Position Criterion 2: internal repression
CATEGORIES = ("military", "dual_use")
# CAAT publishes control entries at entry level: 5A001 / 5D001 (telecom_unspecified) may hold interception
# (5A001.f) and IP network surveillance (5A001.j), which a more detailed source would give as such
INTERCEPTION_TYPES = ("telecom_unspecified", "interception", "ip_network_surveillance")
DAY = pd.Timedelta(days=1)
Row = tuple[str, str, str, float]  # check, scope, statistic, value


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by ranks (Mann-Whitney U / n1 n0): the chance that a positive outscores a negative, ties half.

    NaN without positives or negatives.
    """
    positive = np.asarray(positive, dtype=bool)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    if not n1 or not n0:
        return float("nan")
    ranks = pd.Series(np.asarray(scores, dtype=float)).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def share(flags: np.ndarray | pd.Series) -> float:
    """The share of true flags, NaN for none at all (no lines is not a share of 0)."""
    return float(np.mean(flags)) if len(flags) else float("nan")


def check_rows(check: str, scope: str, **values: float) -> list[Row]:
    """One row of the checks table per statistic given."""
    return [(check, scope, statistic, float(v)) for statistic, v in values.items()]


def uk_criterion2(scores: pd.DataFrame, licences: pd.DataFrame) -> pd.DataFrame:
    """UK licences refused under Criterion 2 or issued, one row per licence: its score, band, the goods category
    of its top line, its decision year and whether it was refused. Refusals on other criteria only are left
    out: they say nothing about repression."""
    top = licences[["licence_id", "line_no", "goods_category", "refusal_criteria", "decision_date"]].rename(
        columns={"line_no": "top_line_no"}
    )
    uk = scores[scores["licensing_country_code"].eq(UK)].merge(top, on=["licence_id", "top_line_no"])
    refused = uk["outcome"].eq("refused").to_numpy() & listcols.contains(uk["refusal_criteria"], REPRESSION_CRITERION)
    uk = uk.assign(refused=refused, year=uk["decision_date"].dt.year)
    return uk[refused | uk["outcome"].eq("issued").to_numpy()].reset_index(drop=True)


def criterion2_auc(scores: pd.DataFrame, licences: pd.DataFrame) -> list[Row]:
    """UK licences refused under Criterion 2 against issued UK licences: ROC AUC of the ex-ante score.

    Per licence (its score is its highest line's): overall, within the goods category of the line that gives
    the score, per decision year, and for 2013-2015 alone (the years the later evidence begins to reach).
    Beside the AUC, the share of each side the score puts at High or above, where a screen would flag it.
    """
    uk = uk_criterion2(scores, licences)
    refused, category, year = uk["refused"].to_numpy(), uk["goods_category"].to_numpy(), uk["year"].to_numpy()
    score, high = uk["score"].to_numpy(dtype=float), (uk["score_band"] >= "High").to_numpy()
    compared = np.ones(len(uk), dtype=bool)
    scopes = {
        "all": compared,
        **{c: category == c for c in CATEGORIES},
        **{str(y): year == y for y in sorted(set(year))},
        "2013-2015": (year >= 2013) & (year <= 2015),
        # the split of issue 9: anything fitted is fitted on the first period and reported on the second
        "2008-2011": (year >= 2008) & (year <= 2011),
        "2012-2015": (year >= 2012) & (year <= 2015),
    }
    out = []
    for scope, keep in scopes.items():
        issued = keep & ~refused
        out += check_rows(
            "criterion2_auc",
            scope,
            auc=roc_auc(score[keep], refused[keep]),
            refused=refused[keep].sum(),
            issued=issued.sum(),
            share_high_refused=share(high[keep & refused]),
            share_high_issued=share(high[issued]),
        )
    return out


def criterion2_share_by_band(scores: pd.DataFrame, licences: pd.DataFrame) -> list[Row]:
    """Calibration: in each band (of the score itself), the share of the compared UK licences refused under
    Criterion 2. A score that ranks well shows a share rising with the band."""
    uk = uk_criterion2(scores, licences)
    out = []
    for band in BANDS:
        mine = uk[uk["score_band"].eq(band)]
        out += check_rows(
            "criterion2_share_by_band",
            band,
            licences=len(mine),
            refused=mine["refused"].sum(),
            refused_share=share(mine["refused"].to_numpy()),
        )
    return out


def score_spread(lines: pd.DataFrame, scores: pd.DataFrame, top: int = 100) -> list[Row]:
    """How far the scores spread: the lines in each band (with indeterminate), the highest score, and the
    distinct scores among the ``top`` highest-scoring UK licences (a ranking needs them to differ)."""
    bands = lines["band"].value_counts(sort=False)
    uk = scores.loc[scores["licensing_country_code"].eq(UK), "score"].astype(float)
    return [
        *[row for band, n in bands.items() for row in check_rows("band_lines", str(band), lines=n)],
        *check_rows("score_spread", "all", max_score=lines["score"].max()),
        *check_rows("score_spread", f"uk_top_{top}", distinct_scores=uk.nlargest(top).nunique()),
    ]


def named_operator_high(tables: dict[str, pd.DataFrame], cfg: scoring.ScoringConfig) -> list[Row]:
    """Official UK and Dutch surveillance lines to states named as spyware operators: High or above, when?

    A state is named from the first publication of evidence naming it as an operator; evidence counts from
    the day after. Lines decided up to the naming are scored as decided (before); lines decided after it as
    decided, together with the earlier lines as if decided on the first day the naming could be known (after).
    """
    evidence, licences = tables["evidence"], tables["licences"]
    operators = evidence[evidence["country_role"].eq("operator") & evidence["country_code"].notna()]
    named = operators.groupby(operators["country_code"].astype("string"))["published_date"].min()
    lines = licences[
        licences["licensing_country_code"].isin([UK, NL])
        & licences["confidence"].eq("official")
        & licences["surveillance_type"].notna()
        & licences["destination_country_code"].isin(named.index)
    ].reset_index(drop=True)
    naming = pd.Series(lines["destination_country_code"].map(named).to_numpy(), dtype="datetime64[ms]")
    before = (lines["decision_date"].dt.normalize() <= naming).to_numpy()
    after = pd.concat([lines[~before], lines[before].assign(decision_date=naming[before] + DAY)])
    high = cfg.bound("High")
    scored = {
        "before": scoring.score_against(lines[before], tables, cfg),
        "after": scoring.score_against(after.reset_index(drop=True), tables, cfg),
    }
    out = []
    for scope in ("all", *sorted(lines["destination_country_code"].unique())):
        counts: dict[str, float] = {}
        for when, s in scored.items():
            mine = s if scope == "all" else s[s["destination_country_code"].eq(scope)]
            counts[f"lines_{when}"] = len(mine)
            counts[f"share_high_{when}"] = share(mine["score"] >= high)
        out += check_rows("named_operator_high", scope, **counts)
    return out


def interception_not_free_value(
    licences: pd.DataFrame, indicators: pd.DataFrame, cfg: scoring.ScoringConfig
) -> list[Row]:
    """Issued UK telecommunications interception licences to Freedom House Not Free destinations, GBP by year.

    Freedom House status as public before the decision (carried forward as far as D's indicators are); values
    counted once per raw row (value / value_shared_by). Also the total to all destinations, for the share.
    """
    uk = licences[
        licences["licensing_country_code"].eq(UK)
        & licences["outcome"].eq("issued")
        & licences["surveillance_type"].isin(INTERCEPTION_TYPES)
        & licences["currency_code"].eq("GBP")
    ].reset_index(drop=True)
    status = spec_for("freedomhouse").indicators["fh_status"]
    queries = pd.DataFrame(
        {"country_code": uk["destination_country_code"], "date": uk["decision_date"].dt.normalize(), "row": uk.index}
    )
    found = indicators_as_of_many(
        indicators[indicators["indicator_code"].eq(status.code)], queries, cfg.destination.max_years_behind
    )
    not_free = uk.index.isin(found.loc[found["value"].eq(status.labels["NF"]), "row"])
    value = (uk["value"] / uk["value_shared_by"]).astype(float).fillna(0.0)
    year = uk["decision_date"].dt.year
    out = []
    for y in sorted(year.unique()):
        in_year = year.eq(y).to_numpy()
        total, to_not_free = value[in_year].sum(), value[in_year & not_free].sum()
        out += check_rows(
            "interception_not_free_value",
            str(y),
            value_gbp=to_not_free,
            licences=uk.loc[in_year & not_free, "licence_id"].nunique(),
            total_value_gbp=total,
            share_of_value=to_not_free / total if total else np.nan,
        )
    return out


def all_checks(
    tables: dict[str, pd.DataFrame],
    cfg: scoring.ScoringConfig,
    scored: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Every check, as the checks table, of the saved ``scored`` (scores, lines) when given, else scored here."""
    licences = tables["licences"]
    if scored is None:
        lines = scoring.score_against(licences, tables, cfg)
        scores = scoring.summarise(lines, licences, cfg)
    else:
        scores, lines = scored
    found = [
        *criterion2_auc(scores, licences),
        *criterion2_share_by_band(scores, licences),
        *score_spread(lines, scores),
        *named_operator_high(tables, cfg),
        *interception_not_free_value(licences, tables["indicators"], cfg),
    ]
    return conform(pd.DataFrame(found, columns=["check", "scope", "statistic", "value"]), CHECKS)


def run(processed_dir: Path, config_path: Path = scoring.DEFAULT_CONFIG) -> pd.DataFrame:
    """``exportrisk checks``: run every check on the saved scores (scoring anew only if they are not those of
    these tables and this configuration), write checks.csv."""
    cfg = scoring.load_config(config_path)
    saved = scoring.read_scored(processed_dir, config_path)
    checks = validate(all_checks(scoring.read_processed(processed_dir), cfg, saved), CHECKS)
    with atomic_path(processed_dir / f"{CHECKS.name}.csv") as tmp:
        checks.to_csv(tmp, index=False, lineterminator="\n")
    return checks
