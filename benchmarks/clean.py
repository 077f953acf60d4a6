"""Benchmark `clean` on UK-format files of 100,000 and 1,000,000 rows resampled from the real CAAT file.

Prints the median wall time of several runs per size, peak memory (max RSS of the run's own process), the
growth from 100k to 1M rows (10 = linear), and a baseline measured in the same run: the time pandas takes
just to read the same values.csv (so a loaded machine shows up in both figures).
Usage: python benchmarks/clean.py [--runs 3] [--shared ../shared/datasets]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BASELINE = """
import json, sys, time
import pandas as pd
start = time.perf_counter()
pd.read_csv(sys.argv[1] + "/data/raw/caat-uk/values.csv", dtype=str, keep_default_na=False)
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": 0, "lines": 0}))
"""
RUN_ONE = """
import json, resource, sys, time
from pathlib import Path
from exportrisk.ingest.clean import clean
root = Path(sys.argv[1])
start = time.perf_counter()
result = clean(root / "data" / "raw", root / "data" / "processed")
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "lines": len(result.licences)}))
"""


def build_project(root: Path, shared: Path, rows: int, seed: int = 0) -> None:
    """A project whose caat-uk/values.csv holds `rows` rows resampled from the real one, with fresh ids."""
    source = root / "data" / "raw" / "caat-uk"
    source.mkdir(parents=True)
    for name in ("ratings.csv", "refusal-criteria.csv", "destinations.csv"):
        shutil.copy(shared / "caat-uk" / name, source / name)
    real = pd.read_csv(shared / "caat-uk" / "values.csv", dtype=str, keep_default_na=False)
    sample = real.iloc[np.random.default_rng(seed).integers(0, len(real), rows)].reset_index(drop=True)
    sample["licence_group"] = (np.arange(rows) + 1).astype(str)
    sample.to_csv(source / "values.csv", index=False)


def time_clean(root: Path, runs: int, script: str = RUN_ONE) -> dict[str, float]:
    """Median of ``runs`` fresh processes running ``script`` on the project at ``root``."""
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout))
    return {
        "median_s": statistics.median(r["seconds"] for r in results),
        "runs_s": [round(r["seconds"], 2) for r in results],
        "peak_mb": max(r["peak_mb"] for r in results),
        "lines": results[0]["lines"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "datasets")
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (100_000, 1_000_000):
            root = Path(tmp) / str(rows)
            build_project(root, args.shared, rows)
            figures[rows] = time_clean(root, args.runs)
            f = figures[rows]
            base = time_clean(root, args.runs, BASELINE)["median_s"]
            print(f"baseline: pandas read_csv of the same {rows:,}-row file: median {base:.2f} s")
            print(
                f"clean {rows:>9,} rows: median {f['median_s']:.2f} s over {args.runs} runs {f['runs_s']}, "
                f"peak {f['peak_mb']:.0f} MB, {f['lines']:,} licence lines; {f['median_s'] / base:.1f}x the baseline"
            )
    growth = figures[1_000_000]["median_s"] / figures[100_000]["median_s"]
    print(f"time ratio 1M / 100k = {growth:.1f} for 10x the rows (linear = 10; below 10 means fixed costs dominate)")


if __name__ == "__main__":
    main()
