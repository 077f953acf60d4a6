"""The malformed-input corpus: every case either fails with one exact line or lands where it should.

Each folder of tests/fixtures/malformed/ is a researcher's source (data file + exportrisk.yaml) with one
problem. Fatal problems raise an InputError naming the file, row and column; row-level problems become
rejects with their reason code; the files that must work (BOM, semicolons, decimal commas, title rows) do.
"""

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from exportrisk import cli
from exportrisk.errors import InputError
from exportrisk.ingest.clean import clean

CORPUS = Path(__file__).parent / "fixtures" / "malformed"
TODAY = dt.date(2024, 6, 1)
ALLOWED = (
    "file, sheet, header_row, encoding, delimiter, missing, years, licensing_country, currency, outcome, licence_kind, "
    "confidence, source_url, citation, terms, aggregate, columns, countries"
)


@dataclass(frozen=True)
class Fails:
    """The run stops with exactly this error ('{dir}' stands for the case folder)."""

    error: str

    def text(self, folder: Path) -> str:
        return self.error.replace("{dir}", str(folder))


@dataclass(frozen=True)
class Rejects:
    """This row is rejected with this reason, the other rows are kept."""

    row: int
    reason: str
    column: str | None
    message: str
    kept: int


@dataclass(frozen=True)
class Works:
    """Every row is kept: (licence_id, destination code, value) per licence line."""

    lines: list[tuple[str, str, float]]


CASES = {
    "wrong_encoding": Fails(
        "{dir}/licences.csv, row 3: not valid UTF-8 (byte 0xf4); declare the file's encoding, e.g. latin-1"
    ),
    "latin1_declared": Works([("A1", "MEX", 1000.0), ("A2", "CIV", 2000.0)]),
    "utf8_bom": Works([("A1", "MEX", 1000.0), ("A2", "CIV", 2000.0)]),
    "semicolon": Works([("A1", "MEX", 1000.0), ("A1", "COL", 1000.0)]),
    "decimal_commas": Works([("A1", "MEX", 1234.56), ("A2", "ISR", 0.5)]),
    "xlsx_title_rows": Works([("X1", "MEX", 1500.5), ("X2", "ISR", 700.0)]),
    "missing_column": Fails(
        "{dir}/licences.csv, row 1, column 'value': column named by columns.value in exportrisk.yaml is missing "
        "(found: id, date, country, code, decision)"
    ),
    "renamed_column": Fails(
        "{dir}/licences.csv, row 1, column 'date': column named by columns.decision_date in exportrisk.yaml is "
        "missing (found: id, decision date, country, code, value, decision)"
    ),
    "empty_file": Fails("{dir}/licences.csv: file is empty"),
    "header_only": Fails("{dir}/licences.csv, row 1: file has a header but no data rows"),
    "duplicate_rows": Rejects(3, "duplicate_row", None, "repeats an earlier row of the same licence exactly", 2),
    "negative_value": Rejects(3, "negative_value", "value", "negative value '-500.0'", 1),
    "future_date": Rejects(3, "future_date", "date", "decision date 2099-01-01 is in the future", 1),
    "unknown_country": Rejects(
        3,
        "unknown_country",
        "country",
        "unknown destination 'Narnia': add it to the countries: section of unknown_country/exportrisk.yaml",
        1,
    ),
    "ragged_row": Rejects(3, "malformed_row", None, "has 7 fields where the header has 6", 2),
    "unparseable_date": Rejects(
        3, "unparseable_date", "date", "decision date '30/02/2021' cannot be read as YYYY-MM-DD", 1
    ),
    "unparseable_value": Rejects(3, "unparseable_value", "value", "value 'n/a' is not a number", 1),
    "unknown_outcome": Rejects(
        3,
        "unknown_outcome",
        "decision",
        "outcome 'pending' is not one of issued, refused, revoked: add it to the map of columns.outcome in "
        "exportrisk.yaml",
        1,
    ),
    "missing_value": Rejects(3, "missing_value", "id", "no licence id", 1),
    "yaml_unknown_key": Fails("{dir}/exportrisk.yaml, row 5: key 'sheet_name': unknown key (allowed: " + ALLOWED + ")"),
    "yaml_missing_key": Fails(
        "{dir}/exportrisk.yaml: key 'confidence': required: give one value, or a column as columns.confidence"
    ),
    "yaml_bad_format": Fails(
        "{dir}/exportrisk.yaml, row 7: key 'columns.decision_date.format': 'YMD' is not one of ISO, DMY, MDY, "
        "excel_serial"
    ),
    "yaml_bad_country": Fails(
        "{dir}/exportrisk.yaml, row 13: key 'countries.Holland': 'NLX' is not an ISO 3166 alpha-3 code"
    ),
    "yaml_syntax": Fails("{dir}/exportrisk.yaml, row 11: not valid YAML: expected ',' or '}', but got ':'"),
    # issue 10: a ministry's workbook as measured, and the mapping's newer keys
    "xlsx_dates_with_time": Works([("T1", "MEX", 100.0), ("T2", "OMN", 200.0)]),
    "na_date_year_fallback": Works([("A1", "MEX", 1000.0), ("A2", "PER", 500.0)]),
    "na_date_without_year": Rejects(
        3,
        "unparseable_date",
        "date",
        "decision date 'N/A' cannot be read as YYYY-MM-DD, and column 'year' gives no year to fall back on",
        1,
    ),
    "na_value_declared_missing": Works([("A1", "MEX", 1000.0), ("A2", "PER", pd.NA)]),
    "multi_country_unknown_part": Rejects(
        3,
        "unknown_country",
        "country",
        "unknown destination 'Brunei' in 'Philippines, Brunei': add it to the countries: section of "
        "multi_country_unknown_part/exportrisk.yaml",
        1,
    ),
    "unknown_licence_type": Rejects(
        3,
        "unknown_category",
        "type",
        "licence type 'open general' is not one of individual, global, open, general: add it to the map of "
        "columns.licence_type in exportrisk.yaml",
        1,
    ),
    "bad_currency_cell": Rejects(3, "unparseable_value", "cur", "currency 'euro' is not an ISO 4217 code", 1),
    "missing_licensing_country": Rejects(3, "missing_value", "state", "no licensing country", 1),
    "dmy_dates": Works([("A1", "MEX", 1000.0), ("A2", "PER", 500.0)]),
    "excel_serial_as_text": Works([("A1", "MEX", 1000.0)]),
    "tab_delimited": Works([("A1", "MEX", 1000.0)]),
    "newline_in_cell": Works([("A1", "MEX", 1000.0)]),
    "spaces_around_names": Works([("A1", "MEX", 1000.0)]),
    "data_file_missing": Fails("{dir}/more.csv: file named in exportrisk.yaml is missing"),
    "xlsx_no_such_sheet": Fails("{dir}/licences.xlsx: no sheet 'Vergunningen' (sheets: Licences)"),
    "yaml_bad_currency": Fails("{dir}/exportrisk.yaml, row 3: key 'currency': 'EURO' is not an ISO 4217 currency code"),
    "yaml_bad_licence_kind": Fails(
        "{dir}/exportrisk.yaml, row 5: key 'licence_kind': 'sale' is not one of export, transit"
    ),
    "yaml_header_row_in_csv": Fails(
        "{dir}/exportrisk.yaml, row 1: key 'header_row': applies to XLSX files only: a CSV's header must be its "
        "first line"
    ),
    "yaml_same_marks": Fails(
        "{dir}/exportrisk.yaml, row 10: key 'columns.value.thousands': must differ from the decimal mark"
    ),
    "yaml_split_on_a_date": Fails(
        "{dir}/exportrisk.yaml, row 7: key 'columns.decision_date.split': unknown key (allowed: column, value, "
        "format, year)"
    ),
    "yaml_unknown_encoding": Fails(
        "{dir}/exportrisk.yaml, row 1: key 'encoding': 'klingon' is not an encoding Python knows"
    ),
    "yaml_xls_file": Fails(
        "{dir}/exportrisk.yaml, row 1: key 'file': 'licences.xls' is not a CSV or XLSX file (save older .xls "
        "files as .xlsx)"
    ),
    "yaml_year_column_missing": Fails(
        "{dir}/licences.csv, row 1, column 'Vuosi': column named by columns.decision_date in exportrisk.yaml is "
        "missing (found: id, date, country, code, value, decision)"
    ),
    # issue 14: a mapping reads inside its own folder, once per file, and a file's cost is bounded before reading
    "file_outside_folder": Fails(
        "{dir}/exportrisk.yaml, row 1: key 'file': '../../../outside/licences.csv' is a file outside the source "
        "folder: name a file inside it"
    ),
    "file_absolute_path": Fails(
        "{dir}/exportrisk.yaml, row 1: key 'file': '/tmp/licences.csv' is an absolute path: name a file inside the "
        "source folder"
    ),
    "file_link_outside": Fails(
        "{dir}/exportrisk.yaml, row 1: key 'file': 'licences.csv' links to a file outside the source folder: name a "
        "file inside it"
    ),
    "file_listed_twice": Fails(
        "{dir}/exportrisk.yaml, row 1: key 'file': './licences.csv' is listed twice in the mapping: list each file once"
    ),
    "yaml_alias_bomb": Fails(
        "{dir}/exportrisk.yaml, row 1: aliases expand the document beyond 100,000 values (nested anchors, or an "
        "alias inside itself): write the values out"
    ),
    "xlsx_zip_bomb": Fails(
        "{dir}/licences.xlsx: unpacks to 1,024 MB, more than the 256 MB a workbook may: split it, or save the sheet "
        "as CSV"
    ),
    "xlsx_far_cell": Fails(
        "{dir}/licences.xlsx: the sheet declares 1,048,576 rows by 16,384 columns, more than the 2,000,000 cells a "
        "sheet may span: delete empty rows and columns (or a stray cell) beyond the table, or save the sheet as CSV"
    ),
    "xlsx_far_cell_undeclared": Fails(
        "{dir}/licences.xlsx: the sheet spans 1,048,576 rows by 16,384 columns, more than the 2,000,000 cells a "
        "sheet may span: delete empty rows and columns (or a stray cell) beyond the table, or save the sheet as CSV"
    ),
    "yaml_recursive_alias": Fails(
        "{dir}/exportrisk.yaml, row 1: aliases expand the document beyond 100,000 values (nested anchors, or an "
        "alias inside itself): write the values out"
    ),
    "yaml_deep_nesting": Fails(
        "{dir}/exportrisk.yaml: values nested too deeply to read (lists or mappings inside each other)"
    ),
    "xlsx_broken_sheet": Fails(
        "{dir}/licences.xlsx: not a readable XLSX workbook (no element found: line 1, column 1272)"
    ),
    # a CSV saved by an older Mac spreadsheet ends lines with a bare CR: read as written
    "csv_bare_cr": Works([("A1", "MEX", 1000.0), ("A2", "PER", 2000.0)]),
    # issue 15: records counted apart from the reader, so one it folds or loses fails the reconciliation
    "folded_quote": Fails(
        "{dir}/licences.csv: 5 records in the file, 3 kept + 0 rejected: row 2 holds lines that read as records of "
        "their own (a stray quote?)"
    ),
    "xlsx_row_written_twice": Fails(
        "{dir}/licences.xlsx: 3 records in the file, 2 kept + 0 rejected: the sheet holds rows the reader did not "
        "see (a row written twice?)"
    ),
}
FATAL = [case for case, outcome in CASES.items() if isinstance(outcome, Fails)]


def test_corpus_is_complete() -> None:
    """Every folder of the corpus has an expected outcome, and every expected outcome a folder (40 or more)."""
    assert len(CASES) >= 40
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(CASES)


def project_with(tmp_path: Path, *cases: str) -> Path:
    """A project whose data/raw/ holds the given corpus cases as sources."""
    for case in cases:
        shutil.copytree(CORPUS / case, tmp_path / "data" / "raw" / case, symlinks=True)
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_case(case: str, tmp_path: Path) -> None:
    raw = project_with(tmp_path, case) / "data" / "raw"
    outcome = CASES[case]
    if isinstance(outcome, Fails):
        with pytest.raises(InputError) as info:
            clean(raw, tmp_path / "out", TODAY)
        assert str(info.value) == outcome.text(raw / case)
        assert "\n" not in str(info.value)
        assert not (tmp_path / "out").exists()
        return
    result = clean(raw, tmp_path / "out", TODAY)
    lines = result.licences
    if isinstance(outcome, Works):
        got = list(zip(lines["licence_id"], lines["destination_country_code"], lines["value"], strict=True))
        assert got == [(f"{case}:{i}", code, value) for i, code, value in outcome.lines]
        assert result.rejects.empty
    else:
        [reject] = result.rejects.itertuples()
        assert (reject.source_row, reject.reason_code, reject.message) == (outcome.row, outcome.reason, outcome.message)
        assert (None if pd.isna(reject.column_name) else reject.column_name) == outcome.column
        assert outcome.row not in set(lines["source_row"])
        assert lines["source_row"].nunique() == outcome.kept
    assert result.reconciliation["reconciled"].all()


@pytest.fixture(scope="module")
def cleaned_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project cleaned once, successfully (cleaned once per module, copied per test)."""
    root = tmp_path_factory.mktemp("cleaned")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EXPORTRISK_ROOT", str(root))
        shutil.copytree(CORPUS / "semicolon", root / "data" / "raw" / "baseline")
        assert cli.main(["clean"]) == 0
    return root


@pytest.fixture
def project(cleaned_once: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project that has been cleaned once, successfully: a copy of ``cleaned_once``, for each test to change."""
    root = tmp_path / "project"
    shutil.copytree(cleaned_once, root, symlinks=True)
    monkeypatch.setenv("EXPORTRISK_ROOT", str(root))
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("case", FATAL)
def test_cli_fails_in_one_line_and_keeps_the_last_good_output(
    case: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    processed = project / "data" / "processed"
    before = snapshot(processed)
    capsys.readouterr()
    project_with(project, case)
    assert cli.main(["clean"]) == 2
    err = capsys.readouterr().err
    outcome = CASES[case]
    assert isinstance(outcome, Fails)
    assert err == f"error: {outcome.text(project / 'data' / 'raw' / case)}\n"
    assert "Traceback" not in err
    assert snapshot(processed) == before  # same files, same bytes, no temporary leftovers


@pytest.mark.parametrize("case", [c for c in CASES if c not in FATAL])
def test_cli_cleans_the_other_cases(case: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project_with(project, case)
    assert cli.main(["clean"]) == 0
    out = capsys.readouterr().out
    assert f"{case}/licences." in out
    assert pd.read_parquet(project / "data" / "processed" / "licences.parquet")["source"].eq(case).any()


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_source_exit_codes(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0: every row kept; 1: some rejected (with --strict); 2: unusable, in one line."""
    folder = project_with(tmp_path, case) / "data" / "raw" / case
    outcome = CASES[case]
    code = cli.main(["check-source", str(folder), "--strict"])
    out, err = capsys.readouterr()
    if isinstance(outcome, Fails):
        assert (code, err) == (2, f"error: {outcome.text(folder)}\n")
    elif isinstance(outcome, Rejects):
        assert code == 1 and f"{outcome.reason}: 1 row(s), e.g. {case}/licences." in out
        assert cli.main(["check-source", str(folder)]) == 0
    else:
        assert code == 0 and " 0 rejected\n" in out
