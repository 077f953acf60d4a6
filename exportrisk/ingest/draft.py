"""``exportrisk map FILE``: a first draft of the mapping (exportrisk.yaml) for a spreadsheet nobody has seen.

It reads the file as the cleaner will, then guesses what a person would look for: the header row under any
title rows, which columns hold dates (and in which order), countries, control codes, amounts, the cells that say
"not available", and the separators of cells listing several countries or codes. Guesses are written as plain
mapping lines with a comment saying why; what cannot be guessed (the licensing state) and every country name no
mapping knows are left as lines to review. A country name is never matched fuzzily: "Republic of Korea" must not
become North Korea because the spelling is close.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_csv_text
from exportrisk.ingest.parse import parse_amounts, parse_dates
from exportrisk.ingest.sheets import CSV_SUFFIXES, XLSX_SUFFIXES, read_xlsx
from exportrisk.reference import countries

SCAN_ROWS = 30  # rows searched for the header under titles and notes
MISSING_MARKS = ("N/A", "n/a", "NA", "-", "?", "unknown", "not available", "..")
SEPARATORS = {"\n": '"\\n"', "|": '"|"', ";": '";"'}  # besides , / & + and, which are always understood
CONTROL_CODE = re.compile(r"^\s*(?:\d[A-E]\d{3}|ML\s?\d{1,2}|\d{6})", re.IGNORECASE)
# Header words per canonical column, best first (several languages researchers meet often).
NAMES: dict[str, tuple[str, ...]] = {
    "exporter_business_id": (r"business id|company id|registration|y-tunnus|kvk|\bvat\b",),
    "licence_id": (
        r"licen[cs]e (?:no|nr|number|id)|identification number",
        r"licen[cs]e|vergunning|lupa",
        r"\bid\b|number",
    ),
    "decision_date": (r"date|datum|päivä|fecha|issued on",),
    "year": (r"^year$|^jaar$|^vuosi$|^año$",),
    "destination_raw": (r"destination|country|land|maa|país|bestemming",),
    "control_code_raw": (r"classification|control|rating|code|ml category|goederencode",),
    "licence_type": (r"type of licen|licen[cs]e type|kind",),
    "goods_description": (r"description|goods|material|product|omschrijving",),
    "exporter_name": (r"exporter|company|applicant|firm|exporteur",),
    "end_user_name": (r"end.?user|consignee|eindgebruiker",),
    "value": (r"value|waarde|arvo", r"\beur\b|\busd\b|\bgbp\b|amount"),
    "item_count": (r"number of|\bcount\b|quantity|aantal",),
    "outcome": (r"decision|outcome|status|besluit|result",),
}
# Labels of category columns, guessed from words in them; anything else is left to review.
LABELS = {
    "licence_type": {"individual": "individual", "global": "global", "open": "open", "general": "general"},
    "outcome": {
        "issued": "issued",
        "approved": "issued",
        "granted": "issued",
        "toegewezen": "issued",
        "refused": "refused",
        "denied": "refused",
        "rejected": "refused",
        "afgewezen": "refused",
        "revoked": "revoked",
        "ingetrokken": "revoked",
    },
}


@dataclass
class Column:
    name: str
    cells: pd.Series  # non-blank cells as text
    numbers: pd.Series  # which of them were real number cells
    notes: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """What ``map`` found: the mapping text, and the lines a person must review."""

    text: str
    review: list[str]
    columns: dict[str, str]  # canonical column -> raw column chosen


def header_row(path: Path, sheet: str | None) -> tuple[str, int]:
    """The sheet to read and its header row: the first row as wide as the widest of the first rows, all text."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(path, f"no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet else max(book.worksheets, key=lambda w: w.max_row or 0)
        rows = [list(r) for r in ws.iter_rows(max_row=SCAN_ROWS, values_only=True)]
    finally:
        book.close()
    widths = [sum(v is not None and str(v).strip() != "" for v in r) for r in rows]
    if not widths or max(widths) < 2:
        raise InputError(path, f"no table found in the first {SCAN_ROWS} rows of sheet {ws.title!r}")
    wide = max(widths)
    for i, (row, width) in enumerate(zip(rows, widths, strict=True)):
        texts = all(isinstance(v, str) for v in row if v is not None)
        if width >= max(2, 0.8 * wide) and texts:
            return ws.title, i + 1
    return ws.title, 1


def read(path: Path, sheet: str | None) -> tuple[pd.DataFrame, pd.DataFrame, str | None, int]:
    """The file's records as text, which cells are real numbers, and the sheet and header row found."""
    if not path.is_file():
        raise InputError(path, "file does not exist")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        name, row = header_row(path, sheet)
        frame, _, native, _ = read_xlsx(path, name, row)
        return frame, native, name, row
    if suffix in CSV_SUFFIXES:
        frame, _ = read_csv_text(path)
        return frame, pd.DataFrame(False, index=frame.index, columns=frame.columns), None, 1
    raise InputError(path, "not a CSV or XLSX file (save older .xls files as .xlsx)")


def share(mask: pd.Series) -> float:
    return float(mask.astype("boolean").fillna(False).astype(bool).mean()) if len(mask) else 0.0


def date_format(cells: pd.Series) -> tuple[str, float, str]:
    """The declared format that reads most cells, how many it reads, and a note where it is a guess."""
    scores = {f: share(parse_dates(cells, f).notna()) for f in ("ISO", "DMY", "MDY")}
    serial = pd.to_numeric(cells, errors="coerce")  # serials of 1990-2040 only: amounts and years are numbers too
    scores["excel_serial"] = share(serial.between(32874, 51501) & (serial % 1 == 0))
    real = share(cells.str.match(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?").fillna(False))
    if real >= 0.5:
        return "ISO", max(real, scores["ISO"]), "real date cells"
    best = max(scores, key=lambda f: scores[f])
    note = ""
    if best in ("DMY", "MDY") and scores["DMY"] == scores["MDY"]:
        note = "REVIEW: day and month cannot be told apart in these cells (DMY or MDY?)"
    return best, scores[best], note


def names_in(cells: pd.Series, separator: str | None) -> pd.Series:
    """Every country name in a column, its cells split on the separators the cleaner understands."""
    cells = cells[~cells.isin(MISSING_MARKS)]
    split = cells.str.replace(separator, ";", regex=False) if separator else cells
    parts = split.str.split(countries.LIST_SEPARATORS.pattern, regex=True).explode().str.strip()
    return parts[parts.ne("")]


def country_share(cells: pd.Series) -> float:
    iso = countries.iso_names()
    return share(names_in(cells, "\n").map(lambda n: countries.normalise(n) in iso))


def by_content(column: Column) -> dict[str, float]:
    """How well a column's cells fit each kind of canonical column (0 to 1)."""
    cells = column.cells
    numeric = parse_amounts(cells).notna() | column.numbers
    return {
        "licence_id": cells.nunique() / len(cells) if len(cells) else 0.0,
        "decision_date": date_format(cells)[1],
        "destination_raw": country_share(cells),
        "control_code_raw": share(cells.str.match(CONTROL_CODE).fillna(False)),
        "value": share(numeric) * 0.6,
        "year": share(pd.to_numeric(cells, errors="coerce").between(1950, 2100)),
    }


def choose(columns: dict[str, Column]) -> dict[str, str]:
    """Canonical column -> raw column, by header name first and content second; each raw column used once."""
    chosen: dict[str, str] = {}
    free = dict(columns)
    fits = {name: by_content(c) for name, c in columns.items()}

    def take(canonical: str, test: Callable[[str], bool]) -> None:
        for name in list(free):
            if canonical not in chosen and test(name):
                chosen[canonical] = name
                del free[name]

    for canonical, patterns in NAMES.items():
        content = fits_for(canonical)
        for pattern in patterns:
            named = re.compile(pattern, re.IGNORECASE)

            def by_name(n: str, c: Callable[[dict[str, float]], bool] = content, p: re.Pattern[str] = named) -> bool:
                return bool(p.search(n)) and c(fits[n])

            take(canonical, by_name)
    for canonical in ("decision_date", "destination_raw", "control_code_raw", "year"):

        def by_content_only(n: str, c: str = canonical) -> bool:
            return fits[n][c] >= 0.8

        take(canonical, by_content_only)
    return {c: chosen[c] for c in NAMES if c in chosen}


def fits_for(canonical: str) -> Callable[[dict[str, float]], bool]:
    """The content check a column named like ``canonical`` must also pass (a 'Country note' holds no countries)."""
    threshold = {"licence_id": 0.8, "decision_date": 0.5, "destination_raw": 0.5, "control_code_raw": 0.5, "year": 0.9}
    if canonical in threshold:
        return lambda fit: fit[canonical] >= threshold[canonical]
    if canonical in ("value", "item_count"):
        return lambda fit: fit["value"] >= 0.3
    return lambda fit: True


def separator(cells: pd.Series) -> str | None:
    """A separator between several values in one cell that the cleaner does not already understand."""
    for sep in SEPARATORS:
        if share(cells.str.contains(sep, regex=False)) > 0.001:
            return sep
    return None


def missing_marks(frame: pd.DataFrame) -> list[str]:
    """Cell texts that mean "not available" somewhere in the file."""
    values = set(pd.unique(frame.drop(columns="source_row").to_numpy().ravel()))
    return [m for m in MISSING_MARKS if m in values]


def quoted(text: str) -> str:
    """A YAML scalar: quoted where plain text would be read as something else."""
    if re.fullmatch(r"[A-Za-z][\w .()/-]*", text) and not text.endswith(" ") and ": " not in text:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def label_map(canonical: str, cells: pd.Series) -> dict[str, str]:
    """The labels of a category column, each with the value its words suggest (REVIEW where none does)."""
    labels = cells.str.strip().unique()
    if len(labels) > 20:
        return {}
    words = LABELS[canonical]
    guess = {label: next((v for w, v in words.items() if w in label.casefold()), "REVIEW") for label in sorted(labels)}
    return {} if all(label.casefold() == value for label, value in guess.items()) else guess


def unknown_countries(cells: pd.Series, sep: str | None) -> list[str]:
    known = countries.iso_names()
    whole = cells[~cells.map(lambda c: countries.normalise(c) in known)]
    names = names_in(whole, sep)
    return sorted({n for n in names if countries.normalise(n) not in known})


def draft(path: Path, sheet: str | None = None, licensing_country: str | None = None) -> Draft:
    """Draft the mapping of one file; nothing is written."""
    frame, native, sheet_name, row = read(path, sheet)
    marks = missing_marks(frame)
    filled = {c: frame[c].str.strip().ne("") & ~frame[c].isin(marks) for c in frame.columns if c != "source_row"}
    columns = {c: Column(c, frame[c][keep], native[c][keep]) for c, keep in filled.items()}
    chosen = choose(columns)
    review: list[str] = []
    lines = [f"# Drafted by `exportrisk map {path.name}`: check every line, above all those marked REVIEW.", ""]
    lines.append(f"file: {quoted(path.name)}")
    if sheet_name is not None:
        lines.append(f"sheet: {quoted(sheet_name)}")
        if row != 1:
            lines.append(f"header_row: {row}                # rows above it are titles or notes")
    if marks:
        lines.append(f"missing: [{', '.join(quoted(m) for m in marks)}]   # cells saying a value is not available")
    if licensing_country:
        lines.append(f"licensing_country: {licensing_country}")
    else:
        lines.append("licensing_country: XXX          # REVIEW: ISO 3166 alpha-3 code of the state that decided")
        review.append("licensing_country: the state that decided the licences")
    if "outcome" not in chosen:
        lines.append("outcome: issued                 # REVIEW: or refused / revoked, or a column as columns.outcome")
    lines.append("confidence: official            # REVIEW: official (government data), reported or unverified")
    lines.append("columns:")
    if "licence_id" not in chosen:
        lines.append("  licence_id: XXX               # REVIEW: no column looks like a licence number")
        review.append("columns.licence_id: no column looks like a licence number")
    for canonical, raw in chosen.items():
        if canonical == "year":
            continue
        cells = columns[raw].cells
        spec: dict[str, str] = {}
        note = ""
        if canonical == "decision_date":
            fmt, fit, note = date_format(cells)
            spec["format"] = fmt
            if "year" in chosen:
                spec["year"] = quoted(chosen["year"])
            note = note or f"{fit:.0%} of the cells read as {fmt}"
        elif canonical in ("destination_raw", "control_code_raw") and (sep := separator(cells)):
            spec["split"] = SEPARATORS[sep]
            note = "several values in one cell"
        elif canonical in LABELS:
            labels = label_map(canonical, cells)
            if labels:
                spec["map"] = "{" + ", ".join(f"{quoted(k)}: {v}" for k, v in labels.items()) + "}"
                if "REVIEW" in spec["map"]:
                    note = f"REVIEW: map each label to one of {', '.join(sorted(set(LABELS[canonical].values())))}"
        elif canonical in ("value", "item_count"):
            texts = cells[~columns[raw].numbers]
            if share(texts.str.contains(r"\d,\d{1,2}$", regex=True)) > 0.1:
                spec.update(decimal='","', thousands='"."')
                note = "decimal commas"
        if spec:
            inner = ", ".join([f"column: {quoted(raw)}", *(f"{k}: {v}" for k, v in spec.items())])
            line = f"  {canonical}: {{{inner}}}"
        else:
            line = f"  {canonical}: {quoted(raw)}"
        lines.append(line + (f"   # {note}" if note else ""))
        if note.startswith("REVIEW"):
            review.append(f"columns.{canonical}: {note.removeprefix('REVIEW: ')}")
    if "decision_date" not in chosen:
        if "year" in chosen:
            lines.append(f"  decision_date: {{year: {quoted(chosen['year'])}}}   # only years: dates are 1 January")
        else:
            lines.append("  decision_date: XXX            # REVIEW: no column holds dates")
            review.append("columns.decision_date: no column holds dates")
    if "destination_raw" in chosen:
        raw = chosen["destination_raw"]
        unknown = unknown_countries(columns[raw].cells, separator(columns[raw].cells))
        if unknown:
            lines.append("countries:   # REVIEW, then uncomment: an ISO3 code, or multiple / unspecified / non_country")
            lines += [f"  # {quoted(n)}: " for n in unknown]
            review.append(f"countries: {len(unknown)} name(s) no mapping knows: {', '.join(unknown[:8])}")
    else:
        lines.append("  destination_raw: XXX          # REVIEW: no column holds country names")
        review.append("columns.destination_raw: no column holds country names")
    unused = [c for c in columns if c not in chosen.values()]
    if unused:
        lines.append(f"# Not mapped (kept in raw_values of rejects): {', '.join(unused)}")
    return Draft("\n".join(lines) + "\n", review, chosen)
