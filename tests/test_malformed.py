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
    "file, sheet, header_row, encoding, delimiter, missing, licensing_country, currency, outcome, licence_kind, "
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
}
FATAL = [case for case, outcome in CASES.items() if isinstance(outcome, Fails)]


def test_corpus_is_complete() -> None:
    """Every folder of the corpus has an expected outcome, and every expected outcome a folder."""
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(CASES)


def project_with(tmp_path: Path, *cases: str) -> Path:
    """A project whose data/raw/ holds the given corpus cases as sources."""
    for case in cases:
        shutil.copytree(CORPUS / case, tmp_path / "data" / "raw" / case)
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project that has been cleaned once, successfully."""
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    shutil.copytree(CORPUS / "semicolon", tmp_path / "data" / "raw" / "baseline")
    assert cli.main(["clean"]) == 0
    return tmp_path


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
