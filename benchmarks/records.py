"""What counting a file's records apart from its reader costs, on the largest real files a mapping reads.

Reconciliation counts raw records a second way (exportrisk.ingest.records: the csv module for a CSV, a scan of the
sheet's XML for an XLSX, which also bounds the workbook before openpyxl reads it). For each file prints the median
wall time over several runs of the reader alone (the baseline, measured in the same run, so a loaded machine shows
in both) and of the count alone, and their ratio: the share of reading time the count adds.
Usage: python benchmarks/records.py [--runs 5] [--shared ../shared/datasets]
"""

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from exportrisk.ingest import sheets
from exportrisk.ingest.files import read_csv_text
from exportrisk.ingest.records import csv_records, scan_xlsx

REPO = Path(__file__).resolve().parents[1]
FINNISH = ("fi-saferglobe-arms-exports/saferglobe_arms_exports_dataset_v2-3.xlsx", "exp_licences_dual-use")
CSVS = ("caat-uk/values.csv", "nl-licences/Overzicht.uitvoer.militaire.goederen.2004-2014.csv")


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "datasets")
    args = parser.parse_args()
    book, sheet = args.shared / FINNISH[0], FINNISH[1]

    def read_sheet() -> object:
        """The reader without its count: openpyxl, as read_xlsx uses it."""
        return list(sheets.openpyxl.load_workbook(book, data_only=True)[sheet].iter_rows(values_only=True))

    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (f"{FINNISH[0]}#{sheet}", read_sheet, lambda: scan_xlsx(book, sheet, 1))
    ]
    for name in CSVS:
        path = args.shared / name
        cases.append((name, lambda p=path: read_csv_text(p), lambda p=path: csv_records(p)))
    print(f"median of {args.runs} runs: reader alone (baseline) | count alone | count / reader")
    for name, read, count in cases:
        base, extra = median_seconds(read, args.runs), median_seconds(count, args.runs)
        print(f"{name}: {base:.3f} s | {extra:.3f} s | {extra / base:.2f}")


if __name__ == "__main__":
    main()
