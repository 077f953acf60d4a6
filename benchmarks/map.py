"""Time from an unseen spreadsheet to a clean table with `exportrisk map`: draft, review, check, clean.

For each file, in a fresh project: `exportrisk map FILE --write` drafts exportrisk.yaml; the review a person
would do is applied from a fixed answer (the licensing state and the country names the draft lists); then
`exportrisk check-source` and `exportrisk clean`. Prints the median wall time of each command over several runs,
the number of lines the review had to touch, the rows kept, and a baseline measured in the same run: pandas
reading the same sheet (so a loaded machine shows up in both figures). The person's reading time is not measured.
Usage: python benchmarks/map.py [--runs 3] [--shared ../shared/datasets]
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "tests" / "fixtures" / "spreadsheet" / "vergunningen.xlsx"
FINNISH = "fi-saferglobe-arms-exports/saferglobe_arms_exports_dataset_v2-3.xlsx"
# What a reviewer writes for each file: map options, and each country name the draft leaves to review.
REVIEWS = {
    "vergunningen.xlsx": (
        [],
        "NLD",
        {"Verenigde Arabische Emiraten": "ARE", "Diverse landen": "multiple", "Narnia": "non_country"},
        {"In behandeling: REVIEW": "In behandeling: issued"},
    ),
    "saferglobe_arms_exports_dataset_v2-3.xlsx": (
        ["--sheet", "exp_licences_dual-use"],
        "FIN",
        {
            "Brunei": "BRN",
            "Democratic Republic of Congo": "COD",
            "Falkland Islands": "FLK",
            "Ivory Coast": "CIV",
            "Multiple countries of destination": "multiple",
            "Netherlands Antilles": "ANT",
            "Palestine": "PSE",
            "Republic of Congo": "COG",
            "Russia": "RUS",
            "Turkey": "TUR",
            "Virgin Islands (British)": "VGB",
        },
        {},
    ),
}


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout + done.stderr


def one_run(path: Path) -> dict[str, float | int | str]:
    options, state, names, labels = REVIEWS[path.name]
    exe = str(Path(sys.executable).with_name("exportrisk"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "data" / "raw" / "unseen"
        folder.mkdir(parents=True)
        shutil.copy(path, folder / path.name)
        figures: dict[str, float | int | str] = {}
        figures["map"], _ = timed([exe, "map", str(folder / path.name), "--write", *options], root)
        mapping = folder / "exportrisk.yaml"
        text = mapping.read_text(encoding="utf-8")
        text = text.replace("licensing_country: XXX", f"licensing_country: {state}")
        for name, target in names.items():
            text = text.replace(f"  # {name}: ", f"  {name}: {target}")
        for old, new in labels.items():
            text = text.replace(old, new)
        mapping.write_text(text, encoding="utf-8")
        figures["review_lines"] = 1 + len(names) + len(labels)
        figures["check_source"], checked = timed([exe, "check-source", str(folder)], root)
        figures["clean"], cleaned = timed([exe, "clean"], root)
        figures["kept"] = next((line for line in cleaned.splitlines() if line.startswith("unseen/")), checked)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", f"import pandas as pd; pd.read_excel({str(folder / path.name)!r}, sheet_name=None)"],
            check=True,
        )
        figures["baseline_read"] = time.perf_counter() - start
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "datasets"))
    args = parser.parse_args()
    for path in (EXAMPLE, Path(args.shared) / FINNISH):
        runs = [one_run(path) for _ in range(args.runs)]
        median = {k: statistics.median(float(r[k]) for r in runs) for k in ("map", "check_source", "clean")}
        baseline = statistics.median(float(r["baseline_read"]) for r in runs)
        total = sum(median.values())
        print(
            f"{path.name}: map {median['map']:.1f} s + check-source {median['check_source']:.1f} s + clean "
            f"{median['clean']:.1f} s = {total:.1f} s ({total / baseline:.1f}x pandas reading the workbook, "
            f"{baseline:.1f} s); review: {runs[0]['review_lines']} line(s); {runs[0]['kept']}"
        )


if __name__ == "__main__":
    main()
