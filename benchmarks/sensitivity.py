"""Benchmark `exportrisk sensitivity`: 200 draws of the weights over 100,000 licences resampled from the real data.

Builds the processed tables as benchmarks/score.py does (real sources and the committed curated folder, whole
licences resampled with replacement, fresh ids) and keeps the first 100,000 licences. Then, in a fresh process
per run, times the analysis as the command runs it: the components once (score_lines and each D measure's
risk), the draws (recombination, roll-up to licences and countries, Kendall tau), and validating and writing
both outputs. Prints the median of the runs and the peak memory (max RSS of the run's process, loading
included).
Usage: python benchmarks/sensitivity.py [--runs 3] [--licences 100000] [--draws 200] [--shared ../shared/datasets]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from score import REPO, build_project

from exportrisk.ingest.files import read_table, write_parquet
from exportrisk.schema import LICENCES

LINES_PER_LICENCE = 1.5  # above the real mean (about 1.34), so that enough licences are drawn
RUN_ONE = """
import json, resource, sys, time
from pathlib import Path
from exportrisk.scoring import score as scoring, sensitivity
from exportrisk.ingest.files import atomic_path, write_parquet
from exportrisk.schema import SENSITIVITY, SENSITIVITY_SUMMARY, validate
root, draws = Path(sys.argv[1]), int(sys.argv[2])
cfg = scoring.load_config()
t = scoring.read_processed(root)
start = time.perf_counter()
links = scoring.network_links(t["licences"], t["entities"], t["relations"], t["evidence"])
lines = scoring.score_lines(t["licences"], t["indicators"], t["evidence"], links, cfg)
risks = sensitivity.measure_risks(t["indicators"], lines, cfg)
components = time.perf_counter()
result = sensitivity.analyse(lines, risks, cfg, draws, 0, 0.5)
drawn = time.perf_counter()
write_parquet(validate(result.licences, SENSITIVITY), root / "sensitivity.parquet")
with atomic_path(root / "sensitivity_summary.csv") as tmp:
    validate(result.summary, SENSITIVITY_SUMMARY).to_csv(tmp, index=False, lineterminator="\\n")
written = time.perf_counter()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"components_s": components - start, "draws_s": drawn - components, "write_s": written - drawn,
                  "total_s": written - start, "peak_mb": peak_mb, "licences": len(result.licences),
                  "lines": len(lines), "draws": draws}))
"""


def keep_licences(processed: Path, licences: int) -> None:
    """Cut the resampled licences.parquet to its first ``licences`` licences."""
    lines = read_table(processed / "licences.parquet", LICENCES)
    first = lines["licence_id"].drop_duplicates().iloc[:licences]
    write_parquet(lines[lines["licence_id"].isin(first)].reset_index(drop=True), processed / "licences.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--licences", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "datasets")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        processed = build_project(Path(tmp), args.shared, int(args.licences * LINES_PER_LICENCE))
        keep_licences(processed, args.licences)
        runs = []
        for _ in range(args.runs):
            command = [sys.executable, "-c", RUN_ONE, str(processed), str(args.draws)]
            runs.append(json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout))
    first = runs[0]

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(
        f"sensitivity, {first['draws']} draws over {first['licences']:,} licences ({first['lines']:,} lines): "
        f"median {median('total_s'):.2f} s over {args.runs} runs {[round(r['total_s'], 2) for r in runs]} "
        f"(components {median('components_s'):.2f} s, draws {median('draws_s'):.2f} s, validate + write "
        f"{median('write_s'):.2f} s); peak {max(r['peak_mb'] for r in runs):.0f} MB"
    )


if __name__ == "__main__":
    main()
