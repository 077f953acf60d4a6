"""The UK Criterion 2 ROC AUC of issue 9, computed independently of `exportrisk checks` from scores.parquet.

Builds a project from the shared datasets (fetch --from, clean; the cleaned tables are cached in --cache, so a
second run only scores), runs `exportrisk score`, and reads back only what a reader of the published tables
has: scores.parquet (licence_id, score, top_line_no) and licences.parquet (outcome, refusal_criteria,
decision_date, goods_category). A UK licence (source caat-uk) refused with criterion 2 among its refusal
criteria is a positive, an issued one a negative, anything else is left out. The AUC is counted pair by pair
through sorted scores (the share of positive-negative pairs the positive wins, ties half), not by the rank
sums of exportrisk.scoring.backtests, so the two computations check each other.

Prints the AUC overall, per goods category of the licence's top line, per decision year, for 2013-2015 and
for the 2008-2011 / 2012-2015 split (fit nothing on the second), then the band counts over all lines, the
maximum score and the number of distinct scores among the 100 highest-scoring UK licences (of any outcome).
Usage: python benchmarks/auc.py [--cache DIR] [--shared ../shared/datasets] [--config FILE]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from exportrisk.ingest.clean import clean
from exportrisk.ingest.fetch import fetch_all
from exportrisk.scoring import score as scoring

REPO = Path(__file__).resolve().parents[1]
SOURCE = "caat-uk"


def cleaned(cache: Path, shared: Path) -> Path:
    """The processed folder of a project cleaned from ``shared`` in ``cache``, cleaned once and then reused."""
    processed = cache / "data" / "processed"
    if not (processed / "licences.parquet").is_file():
        fetch_all(cache / "data" / "raw", shared, None)
        clean(cache / "data" / "raw", processed)
    return processed


def pairwise_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Share of (positive, negative) pairs in which the positive scores higher, ties counting half."""
    negatives = np.sort(score[~positive])
    wins = np.searchsorted(negatives, score[positive], side="left")
    ties = np.searchsorted(negatives, score[positive], side="right") - wins
    pairs = positive.sum() * len(negatives)
    return float((wins.sum() + 0.5 * ties.sum()) / pairs) if pairs else float("nan")


def compared(scores: pd.DataFrame, licences: pd.DataFrame) -> pd.DataFrame:
    """One row per UK licence refused under criterion 2 or issued: score, refused, year, top line's category."""
    uk = licences[licences["source"].eq(SOURCE)]
    per_licence = uk.groupby("licence_id", observed=True).agg(
        outcome=("outcome", "first"), criteria=("refusal_criteria", "first"), decided=("decision_date", "min")
    )
    # refusal_criteria is a list column (read by pandas as arrays, null where none is given)
    cited = per_licence["criteria"].map(lambda c: c is not None and "2" in list(c))
    per_licence["refused"] = per_licence["outcome"].eq("refused") & cited.astype(bool)
    per_licence = per_licence[per_licence["refused"] | per_licence["outcome"].eq("issued")]
    top = uk[["licence_id", "line_no", "goods_category"]].rename(columns={"line_no": "top_line_no"})
    out = per_licence.reset_index().merge(scores[["licence_id", "score", "top_line_no"]], on="licence_id")
    out = out.merge(top, on=["licence_id", "top_line_no"], how="left")
    return out.assign(year=out["decided"].dt.year)


def report(frame: pd.DataFrame) -> list[str]:
    years = frame["year"]
    scopes = {
        "all": years.notna(),
        **{str(c): frame["goods_category"].eq(c) for c in ("military", "dual_use")},
        **{str(y): years.eq(y) for y in sorted(years.unique())},
        "2013-2015": years.between(2013, 2015),
        "2008-2011": years.between(2008, 2011),
        "2012-2015": years.between(2012, 2015),
    }
    out = []
    for scope, keep in scopes.items():
        mine = frame[keep.to_numpy()]
        positive = mine["refused"].to_numpy(dtype=bool)
        auc = pairwise_auc(mine["score"].to_numpy(dtype=float), positive)
        out.append(f"  {scope:>10}: AUC {auc:.3f}  ({positive.sum()} refused, {(~positive).sum():,} issued)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "exportrisk-auc")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--config", type=Path, default=scoring.DEFAULT_CONFIG)
    args = parser.parse_args()
    processed = cleaned(args.cache, args.shared)
    scoring.run(processed, args.config)
    scores = pd.read_parquet(processed / "scores.parquet")
    licences = pd.read_parquet(processed / "licences.parquet")
    frame = compared(scores, licences)
    print(f"UK Criterion 2 refusals against issued UK licences ({args.config.name}):")
    print("\n".join(report(frame)))
    lines = pd.read_parquet(processed / "score_lines.parquet")
    print("bands over all lines: " + ", ".join(f"{b} {n:,}" for b, n in lines["band"].value_counts(sort=False).items()))
    top = scores.loc[scores["licence_id"].str.startswith(f"{SOURCE}:"), "score"].nlargest(100)
    print(f"max score {lines['score'].max():.2f}; distinct scores among the 100 highest UK licences: {top.nunique()}")


if __name__ == "__main__":
    main()
