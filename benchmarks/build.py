"""Benchmark a scheduled `exportrisk build` with nothing new: what verifying before skipping costs.

Builds a project from the real sources once (fetch from the mirror, clean, score; --period 1990 leaves no
report to run), then times `exportrisk build --no-fetch --period 1990`, every step skipped after checking its
inputs' and outputs' sha256. Prints the median wall time of several runs and a baseline measured in the same
run: a process that imports the command line and hashes every file under data/ once (so a loaded machine shows
up in both figures, and the ratio says what the build adds to one pass over the data).
Usage: python benchmarks/build.py [--runs 5] [--shared ../shared/datasets]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE = """
import sys
from pathlib import Path
import exportrisk.cli
from exportrisk.ingest.files import file_sha256
files = [p for p in Path(sys.argv[1]).rglob("*") if p.is_file() and "logs" not in p.parts]
print(sum(p.stat().st_size for p in files), len([file_sha256(p) for p in files]))
"""


def exportrisk(root: Path, *args: str) -> str:
    command = [sys.executable, "-m", "exportrisk", "--root", str(root), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--shared", default=str(REPO.parent / "shared" / "datasets"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        exportrisk(root, "fetch", "--from", args.shared)
        exportrisk(root, "build", "--no-fetch", "--period", "1990")
        build = [sys.executable, "-m", "exportrisk", "--root", str(root), "build", "--no-fetch", "--period", "1990"]
        baseline = [sys.executable, "-c", BASELINE, str(root / "data")]
        builds, hashes = [], []
        for _ in range(args.runs):
            seconds, out = timed(build)
            assert out.count(": skipped: ") == 3, out
            builds.append(seconds)
            seconds, out = timed(baseline)
            hashes.append(seconds)
        size, files = map(int, out.split())
    b, h = statistics.median(builds), statistics.median(hashes)
    print(f"data/: {files} files, {size / 1e6:.1f} MB")
    print(f"build with nothing new (every step verified and skipped): median {b:.2f} s of {args.runs} runs")
    print(f"baseline (import the CLI, hash every file under data/ once): median {h:.2f} s")
    print(f"ratio build / baseline: {b / h:.2f}")


if __name__ == "__main__":
    main()
