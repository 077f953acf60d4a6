"""Benchmark `exportrisk score` on 1,000,000 licence lines resampled from the real cleaned licences.

Builds a project from the shared datasets and the committed curated folder (fetch, clean), resamples whole
licences with replacement until there are 1,000,000 lines (fresh licence ids), then, in a fresh process per
run, times scoring every line with all its columns (score_lines) and the licence summary (summarise), and
separately validating and writing both tables. Prints the median wall and CPU time of the runs (CPU time
is steadier on a shared machine), the memory when scoring starts (tables loaded), the scoring's own peak
(the process's high-water mark reset as it starts, /proc/self/clear_refs) and the process's peak.

Scoring works once per distinct combination of date-free components, destination, date and precedent, so
resampled rows repeat work the real rows already had. A second, stress case spreads the decision dates
uniformly over the data's years, so that almost every line has a (destination, date) pair of its own.

The tables hold every registered source (Fariss, the Citizen Lab scans, the curated evidence), and the
resampled licences include their refusals, so precedent is computed over 1M lines against ~15,000 refusals.
The baseline, in the same run on the same tables, is the scoring of method 1.0 (the package as of commit
``--baseline``, before issue 9), extracted with ``git archive`` and timed the same way; the ratio is
method 2.0 over it. Each package reads the tables as its `exportrisk score` does (method 2 only the licence
columns scoring uses, scoring.SCORED_COLUMNS).

Measured on 29 Nov 2026 on the shared 2-core machine under a load of 1.5 to 3 (other engineers' jobs: wall
and even CPU times swing by half between runs, so two runs are given). 1M resampled lines: median 3.33 s
(CPU 3.33 s; runs 4.49, 3.07, 3.33), method 1.0 3.26 s, ratio 1.02 (CPU 1.03); then median 3.64 s (CPU
3.59 s; runs 3.55, 3.64, 6.83), method 1.0 6.57 s (CPU 4.47 s), ratio 0.55 (CPU 0.80). The scoring's peak
1,568-1,577 MB (548 MB with the tables loaded). Stress case: 16.3 s (CPU 16.0 s), method 1.0 16.0 s, ratio
1.01; then 26.7 s (CPU 17.8 s), method 1.0 17.3 s (CPU 16.6 s), ratio 1.54 (CPU 1.07); peak 3.2-3.4 GB. The
same harness before the work of that evening: 6.7-6.9 s CPU and a 2.3 GB peak at 1M lines. What remains is
mostly the size of the outputs: score_lines and scores hold 940 MB at 1M lines (290 MB of it the precedent
ids, 40 per line where a line has any), written into fresh memory.
On the idle machine (load under 0.6) after that work: 1M lines median 3.75 s (CPU 3.75 s; runs 4.77, 3.75,
3.54), method 1.0 3.67 s, ratio 1.02; peak while scoring 1,543 MB (527 MB with the tables loaded); validate +
write 2.71 s. Stress case 16.85 s, method 1.0 18.06 s, ratio 0.93; peak 3,391 MB. Targets (3 s, 1.5 GB) not met.
Usage: python benchmarks/score.py [--runs 3] [--lines 1000000] [--shared ../shared/datasets] [--baseline 1d246e9]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from exportrisk.ingest.clean import clean
from exportrisk.ingest.fetch import fetch_all
from exportrisk.ingest.files import read_table, write_parquet
from exportrisk.schema import LICENCES

REPO = Path(__file__).resolve().parents[1]
RUN_ONE = """
import json, resource, sys, time
from pathlib import Path
from exportrisk.scoring import score as scoring
from exportrisk.ingest.files import write_parquet
from exportrisk.schema import SCORE_LINES, SCORES, validate

def status_mb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith(field + ":"))

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

root = Path(sys.argv[1])
cfg = scoring.load_config()
narrowed = (scoring.SCORED_COLUMNS,) if hasattr(scoring, "SCORED_COLUMNS") else ()  # the baseline reads all
t = scoring.read_processed(root, *narrowed)  # as `exportrisk score` reads them
links = scoring.network_links(t["licences"], t["entities"], t["relations"], t["evidence"])
loaded_mb = status_mb("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the high-water mark restarts here: the peak below is the scoring's, loading left out
start, start_cpu = time.perf_counter(), cpu()
lines = scoring.score_lines(t["licences"], t["indicators"], t["evidence"], links, cfg)
scores = scoring.summarise(lines, t["licences"], cfg)
scored, scored_cpu = time.perf_counter(), cpu()
scoring_peak_mb = status_mb("VmHWM")
validate(lines, SCORE_LINES)
validate(scores, SCORES)
write_parquet(scores, root / "scores.parquet")
write_parquet(lines, root / "score_lines.parquet")
written = time.perf_counter()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
reassessed = int(lines["reassessment_date"].notna().sum())
print(json.dumps({"score_s": scored - start, "score_cpu_s": scored_cpu - start_cpu, "write_s": written - scored,
                  "loaded_mb": loaded_mb, "scoring_peak_mb": scoring_peak_mb, "peak_mb": peak_mb,
                  "lines": len(lines), "licences": len(scores), "reassessed": reassessed}))
"""


def build_project(root: Path, shared: Path, lines: int, seed: int = 0) -> Path:
    """Processed tables of the real data, with licences resampled (whole licences) to ``lines`` lines."""
    raw = root / "data" / "raw"
    fetch_all(raw, shared, None)  # every registered source, the package's curated one included
    processed = root / "data" / "processed"
    clean(raw, processed)
    real = read_table(processed / "licences.parquet", LICENCES)
    codes, _ = pd.factorize(real["licence_id"])
    by_licence = np.argsort(codes, kind="stable")  # rows of licence k: by_licence[starts[k]:starts[k] + sizes[k]]
    sizes = np.bincount(codes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    draws = np.random.default_rng(seed).integers(0, len(sizes), int(lines / sizes.mean() * 1.2))
    picked = np.concatenate([np.arange(s, s + n) for s, n in zip(starts[draws], sizes[draws], strict=True)])
    sample = real.iloc[by_licence[picked[:lines]]].reset_index(drop=True)
    draw_no = np.repeat(np.arange(len(draws)), sizes[draws])[:lines]
    sample["licence_id"] = sample["licence_id"] + "#" + pd.Series(draw_no).astype(str).to_numpy()
    write_parquet(sample, processed / "licences.parquet")
    return processed


def spread_dates(processed: Path, seed: int = 1) -> None:
    """The stress case: each line's decision date drawn uniformly between the first and last real ones."""
    licences = read_table(processed / "licences.parquet", LICENCES)
    first, last = licences["decision_date"].min(), licences["decision_date"].max()
    days = np.random.default_rng(seed).integers(0, (last - first).days + 1, len(licences))
    licences["decision_date"] = (first + pd.to_timedelta(days, unit="D")).astype("datetime64[ms]")
    write_parquet(licences, processed / "licences.parquet")


def runs_of(processed: Path, runs: int, package: Path | None = None) -> list[dict]:
    """``runs`` fresh processes scoring the tables, with the package at ``package`` first on the path if given."""
    env = {**os.environ, "PYTHONPATH": str(package)} if package else None
    return [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", RUN_ONE, str(processed)], capture_output=True, text=True, check=True, env=env
            ).stdout
        )
        for _ in range(runs)
    ]


def baseline_package(root: Path, commit: str) -> Path | None:
    """The exportrisk package as of ``commit``, extracted into ``root``; None where git cannot give it."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "exportrisk"], capture_output=True)
    if archive.returncode:
        return None
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    return root


def figures(results: list[dict]) -> str:
    """Median wall and CPU time of the scoring, and the memory: at its start (tables loaded), its own peak
    (the process's high-water mark reset as scoring starts) and the process's peak over the whole run."""

    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    return (
        f"median {median('score_s'):.2f} s (CPU {median('score_cpu_s'):.2f} s) over {len(results)} runs "
        f"{[round(r['score_s'], 2) for r in results]}; memory: {median('loaded_mb'):.0f} MB with the tables loaded, "
        f"peak while scoring {max(r['scoring_peak_mb'] for r in results):.0f} MB "
        f"(+{max(r['scoring_peak_mb'] - r['loaded_mb'] for r in results):.0f} MB), "
        f"process peak {max(r['peak_mb'] for r in results):.0f} MB"
    )


def time_score(processed: Path, runs: int, baseline: Path | None) -> str:
    results = runs_of(processed, runs)
    first = results[0]
    text = (
        f"{first['lines']:,} lines ({first['licences']:,} licences, {first['reassessed']:,} lines with a "
        f"reassessment date): {figures(results)}; validate + write both tables: median "
        f"{statistics.median(r['write_s'] for r in results):.2f} s"
    )
    if baseline is None:
        return text + "; no baseline (git archive failed)"
    before = runs_of(processed, runs, baseline)
    ratio = statistics.median(r["score_s"] for r in results) / statistics.median(r["score_s"] for r in before)
    cpu_ratio = statistics.median(r["score_cpu_s"] for r in results) / statistics.median(
        r["score_cpu_s"] for r in before
    )
    return text + f"\n  baseline (method 1.0): {figures(before)}\n  ratio {ratio:.2f} (CPU {cpu_ratio:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--baseline", default="1d246e9", help="commit whose scoring is the baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as old:
        baseline = baseline_package(Path(old), args.baseline)
        processed = build_project(Path(tmp), args.shared, args.lines)
        print(f"score, resampled real rows: {time_score(processed, args.runs, baseline)}")
        spread_dates(processed)
        print(f"score, stress case (decision dates spread): {time_score(processed, args.runs, baseline)}")


if __name__ == "__main__":
    main()
