"""Benchmark `exportrisk screen` on a CSV of 1,000 applications drawn from the real data.

Builds a project from the shared datasets and the package's curated source (fetch, clean), then writes a CSV
of applications: destination, control code and date of real licence lines drawn at random, the exporter a
curated entity's name for half of them (so that networks are walked) and an unknown company for the rest,
end-user types drawn from the scoring configuration's. Times, median of the runs, the whole screening
(read the tables, check, score, findings, screenings.csv) without memos and with HTML and PDF memos, and
as a baseline in the same run the pipeline's scorer alone on the same licence lines (score_against).
Usage: python benchmarks/screen.py [--runs 3] [--memo-runs 1] [--applications 1000] [--shared ../shared/datasets]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry

from exportrisk.ingest.clean import clean
from exportrisk.ingest.fetch import fetch_all
from exportrisk.ingest.files import read_table
from exportrisk.schema import ENTITIES, LICENCES
from exportrisk.scoring import score as scoring
from exportrisk.screening import applications, runner, screen

REPO = Path(__file__).resolve().parents[1]


def build_project(root: Path, shared: Path) -> Path:
    raw, processed = root / "data" / "raw", root / "data" / "processed"
    fetch_all(raw, shared, None)
    clean(raw, processed)
    return processed


def application_csv(processed: Path, path: Path, n: int, seed: int = 0) -> None:
    """n applications from real licence lines with a country destination and a control code."""
    rng = np.random.default_rng(seed)
    lines = read_table(processed / "licences.parquet", LICENCES)
    lines = lines.dropna(subset=["destination_country_code", "control_code"])
    current = lines["destination_country_code"].map(lambda c: pycountry.countries.get(alpha_3=c) is not None)
    lines = lines[current]  # an application names a current state (the data also hold e.g. the Netherlands Antilles)
    picked = lines.iloc[rng.integers(0, len(lines), n)].reset_index(drop=True)
    names = read_table(processed / "entities.parquet", ENTITIES)["name"].to_numpy()
    known = rng.random(n) < 0.5
    exporters = np.where(known, names[rng.integers(0, len(names), n)], [f"Exporter {i} Ltd" for i in range(n)])
    types = [*scoring.load_config().end_user.scores, ""]
    apps = pd.DataFrame(
        {
            "application_id": [f"b{i}" for i in range(n)],
            "exporter": exporters,
            "end_user_type": np.array(types)[rng.integers(0, len(types), n)],
            "destination": picked["destination_country_code"],
            "goods": picked["control_code"],
            "date": picked["decision_date"].dt.strftime("%Y-%m-%d"),
            "licensing_country": picked["licensing_country_code"],
        }
    )
    apps.to_csv(path, index=False)


def timed(runs: int, work) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--memo-runs", type=int, default=1, help="runs with memos (slow: one PDF each)")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "datasets")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        processed = build_project(Path(tmp), args.shared)
        csv_path = Path(tmp) / "applications.csv"
        application_csv(processed, csv_path, args.applications)
        tables = screen.read_tables(processed)
        cfg = scoring.load_config()
        lines = applications.licence_lines(applications.read_applications(csv_path, tables.entities))
        baseline = timed(args.runs, lambda: scoring.score_against(lines, tables.as_scoring(), cfg))
        table_only = timed(args.runs, lambda: runner.run(processed, csv_path, Path(tmp) / "t", formats=()))
        memos = timed(args.memo_runs, lambda: runner.run(processed, csv_path, Path(tmp) / "m"))
    n, med = args.applications, statistics.median
    print(f"screen {n:,} applications ({len(lines):,} licence lines), median of the runs:")
    print(f"  table only (screenings.csv): {med(table_only):.2f} s {[round(t, 2) for t in table_only]}")
    if memos:
        print(f"  with HTML and PDF memos:     {med(memos):.2f} s {[round(t, 2) for t in memos]}")
    print(f"  baseline, the scorer alone on the same lines: {med(baseline):.2f} s {[round(t, 2) for t in baseline]}")
    print(f"  ratio table only / scorer: {med(table_only) / med(baseline):.1f}x")


if __name__ == "__main__":
    main()
