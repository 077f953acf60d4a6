"""Researchers' spreadsheets through exportrisk.yaml: the worked example, the mapping checks, discovery."""

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from exportrisk import cli
from exportrisk.config import CURATED_DIR, PACKAGE_DIR
from exportrisk.errors import InputError
from exportrisk.ingest import mapping
from exportrisk.ingest.clean import LICENCE_SOURCES, CleanResult, clean
from exportrisk.ingest.sheets import read_records
from exportrisk.ingest.sources import spreadsheet

EXAMPLE = Path(__file__).parent / "fixtures" / "spreadsheet"
CURATED = CURATED_DIR
TODAY = dt.date(2024, 6, 1)
MAPPING = """file: licences.csv
licensing_country: NLD
confidence: official
outcome: issued
columns:
  licence_id: id
  decision_date: date
  destination_raw: country
"""
CSV = "id,date,country\nA1,2021-03-04,Mexico\n"


def write_source(raw: Path, name: str, mapping: str, files: dict[str, str | bytes]) -> Path:
    folder = raw / name
    folder.mkdir(parents=True)
    (folder / spreadsheet.MAPPING_FILE).write_text(mapping, encoding="utf-8")
    for file, content in files.items():
        path = folder / file
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """data/raw/ of a project of one's own (processed output goes beside it)."""
    return tmp_path / "raw"


def run(raw: Path) -> CleanResult:
    return clean(raw, raw.parent / "processed", TODAY)


def xlsx(rows: list[list[object]]) -> bytes:
    """A one-sheet workbook as bytes."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the worked example -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> CleanResult:
    raw = tmp_path_factory.mktemp("project") / "raw"
    shutil.copytree(EXAMPLE, raw / "example", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return run(raw)


def lines_of(result: CleanResult, licence: str) -> pd.DataFrame:
    return result.licences[result.licences["licence_id"] == f"example:{licence}"]


def test_example_reads_below_the_title_rows_with_sheet_row_numbers(example: CleanResult) -> None:
    assert set(example.licences["source_row"]) == {4, 5, 6, 11}
    assert list(example.rejects["source_row"]) == [8, 9, 10]
    # rows 1-3 are title, note and header; row 7 is empty, so it is no record
    assert example.reconciliation.set_index("source_file").loc["example/vergunningen.xlsx", "raw_rows"] == 7


def test_example_dates_from_serials_and_real_date_cells(example: CleanResult) -> None:
    first = lines_of(example, "NL-001").iloc[0]
    assert (first["decision_date"], first["decision_date_format"]) == (pd.Timestamp("2022-02-08"), "excel_serial")
    real = lines_of(example, "NL-003").iloc[0]
    assert (real["decision_date"], real["decision_date_format"]) == (pd.Timestamp("2022-06-01"), "ISO")


def test_example_several_countries_and_codes_in_one_cell_make_lines(example: CleanResult) -> None:
    lines = lines_of(example, "NL-001")
    got = list(zip(lines["line_no"], lines["destination_country_code"], lines["control_code"], strict=True))
    assert got == [(1, "MEX", "5A001.f"), (2, "MEX", "5A001.j"), (3, "COL", "5A001.f"), (4, "COL", "5A001.j")]
    assert lines["surveillance_type"].tolist() == ["interception", "ip_network_surveillance"] * 2


def test_example_decimal_commas_and_real_number_cells(example: CleanResult) -> None:
    values = example.licences.drop_duplicates("licence_id").set_index("licence_id")["value"]
    assert values.to_dict() == {
        "example:NL-001": 1234567.89,  # '1.234.567,89'
        "example:NL-002": 250000.0,  # '250.000,00'
        "example:NL-003": 99.5,  # a real number cell: its '.' is no thousands separator
        "example:NL-007": 12.5,  # '12,5'
    }


def test_example_outcome_map_country_names_and_constants(example: CleanResult) -> None:
    by_id = example.licences.drop_duplicates("licence_id").set_index("licence_id")
    assert by_id.loc["example:NL-002", ["outcome", "destination_country_code"]].tolist() == ["refused", "ARE"]
    assert by_id.loc["example:NL-003", ["outcome", "destination_type"]].tolist() == ["issued", "multiple"]
    assert by_id["end_user_type"].tolist()[:2] == ["police", "intelligence"]
    assert set(by_id["licensing_country_code"]) == {"NLD"}
    assert set(by_id["currency_code"]) == {"EUR"}
    assert set(by_id["goods_description"]) == {"telecommunications interception equipment"}
    assert set(by_id["source_url"]) == {"https://example.org/wob-2023-17"}


def test_example_rejects_name_the_raw_value(example: CleanResult) -> None:
    got = example.rejects[["reason_code", "column_name", "message"]].values.tolist()
    assert got == [
        ["unparseable_date", "Datum besluit", "decision date '31-12-2022' cannot be read as an Excel serial number"],
        [
            "unknown_country",
            "Land(en) van bestemming",
            "unknown destination 'Narnia': add it to the countries: section of example/exportrisk.yaml",
        ],
        [
            "unknown_outcome",
            "Besluit",
            "outcome 'In behandeling' is not one of issued, refused, revoked: add it to the map of columns.outcome "
            "in exportrisk.yaml",
        ],
    ]


def test_docs_show_the_example_mapping_as_it_is() -> None:
    docs = (PACKAGE_DIR.parent / "docs" / "spreadsheet-sources.md").read_text(encoding="utf-8")
    shown = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    mapping = (EXAMPLE / spreadsheet.MAPPING_FILE).read_text(encoding="utf-8")
    assert mapping.endswith(shown)


# --- reading cells ------------------------------------------------------------------------------------


def test_split_on_any_declared_separator(raw: Path) -> None:
    mapping = MAPPING.replace("  destination_raw: country", '  destination_raw: {column: country, split: "|"}')
    write_source(raw, "s", mapping, {"licences.csv": "id,date,country\nA1,2021-03-04,Mexico | Peru\n"})
    assert run(raw).licences["destination_country_code"].tolist() == ["MEX", "PER"]


def test_without_split_a_bar_is_no_separator(raw: Path) -> None:
    write_source(raw, "s", MAPPING, {"licences.csv": "id,date,country\nA1,2021-03-04,Mexico | Peru\n"})
    assert run(raw).rejects["reason_code"].tolist() == ["unknown_country"]


def test_yes_no_labels_are_text_not_booleans(raw: Path) -> None:
    mapping = (
        MAPPING.replace("outcome: issued\n", "") + "  outcome: {column: granted, map: {Yes: issued, No: refused}}\n"
    )
    write_source(raw, "s", mapping, {"licences.csv": "id,date,country,granted\nA1,2021-03-04,Peru,no\n"})
    assert run(raw).licences["outcome"].tolist() == ["refused"]


def test_default_fills_blank_cells_of_a_mapped_column(raw: Path) -> None:
    mapping = MAPPING + "  outcome: decision\n"
    data = "id,date,country,decision\nA1,2021-03-04,Peru,\nA2,2021-03-04,Peru,refused\n"
    write_source(raw, "s", mapping, {"licences.csv": data})
    assert run(raw).licences["outcome"].tolist() == ["issued", "refused"]


def test_licensing_country_by_name_through_the_countries_section(raw: Path) -> None:
    mapping = MAPPING.replace("licensing_country: NLD\n", "")
    mapping += "  licensing_country_code: state\ncountries:\n  Holland: NLD\n"
    data = "id,date,country,state\nA1,2021-03-04,Peru,Holland\nA2,2021-03-04,Peru,Bulgaria\nA3,2021-03-04,Peru,Oz\n"
    write_source(raw, "s", mapping, {"licences.csv": data})
    result = run(raw)
    assert result.licences["licensing_country_code"].tolist() == ["NLD", "BGR"]
    assert result.rejects[["source_row", "reason_code", "column_name"]].values.tolist() == [
        [4, "unknown_country", "state"]
    ]


def test_item_counts_must_be_whole_numbers(raw: Path) -> None:
    mapping = MAPPING + '  item_count: {column: n, decimal: ","}\n'
    data = 'id,date,country,n\nA1,2021-03-04,Peru,3\nA2,2021-03-04,Peru,"2,5"\nA3,2021-03-04,Peru,many\n'
    write_source(raw, "s", mapping, {"licences.csv": data})
    result = run(raw)
    assert result.licences["item_count"].tolist() == [3]
    assert result.rejects["message"].tolist() == [
        "item count '2,5' is not a whole number (with decimal ',')",
        "item count 'many' is not a whole number",
    ]


def test_currency_column_checked_against_iso_4217(raw: Path) -> None:
    mapping = MAPPING + "  currency_code: cur\n"
    data = "id,date,country,cur\nA1,2021-03-04,Peru,eur\nA2,2021-03-04,Peru,euro\n"
    write_source(raw, "s", mapping, {"licences.csv": data})
    result = run(raw)
    assert result.licences["currency_code"].tolist() == ["EUR"]
    assert result.rejects["message"].tolist() == ["currency 'euro' is not an ISO 4217 code"]


def test_a_bad_confidence_cell_is_fatal_with_row_and_column(raw: Path) -> None:
    mapping = MAPPING.replace("confidence: official\n", "") + "  confidence: conf\n"
    data = "id,date,country,conf\nA1,2021-03-04,Peru,reported\nA2,2021-03-04,Peru,maybe\n"
    folder = write_source(raw, "s", mapping, {"licences.csv": data})
    with pytest.raises(InputError) as info:
        run(raw)
    expected = (
        f"{folder}/licences.csv, row 3, column 'conf': confidence 'maybe' is not one of official, reported, unverified"
    )
    assert str(info.value) == expected


def test_declared_encoding_that_does_not_fit_names_the_row(raw: Path) -> None:
    folder = write_source(
        raw, "s", "encoding: ascii\n" + MAPPING, {"licences.csv": (CSV + "A2,2021-03-04,Perú\n").encode()}
    )
    with pytest.raises(InputError, match=r"licences.csv, row 3: not valid ascii \(byte 0xc3\)$") as info:
        run(raw)
    assert str(folder) in str(info.value)


def test_several_files_are_staged_one_by_one(raw: Path) -> None:
    mapping = MAPPING.replace("file: licences.csv", "file: [a.csv, b.csv]")
    write_source(raw, "s", mapping, {"a.csv": CSV, "b.csv": CSV.replace("A1", "B1")})
    result = run(raw)
    assert result.licences[["licence_id", "source_file"]].values.tolist() == [["s:A1", "s/a.csv"], ["s:B1", "s/b.csv"]]


# --- XLSX ---------------------------------------------------------------------------------------------


def test_xlsx_cells_right_of_the_header_make_a_malformed_row(raw: Path) -> None:
    book = xlsx([["id", "date", "country"], ["A1", "2021-03-04", "Peru"], ["A2", "2021-03-04", "Peru", None, "x"]])
    write_source(raw, "s", MAPPING.replace("licences.csv", "l.xlsx"), {"l.xlsx": book})
    result = run(raw)
    assert result.rejects[["source_row", "reason_code", "message"]].values.tolist() == [
        [3, "malformed_row", "has 5 cells where the header has 3"]
    ]
    assert result.licences["source_row"].tolist() == [2]


@pytest.mark.parametrize(
    ("extra", "rows", "error"),
    [
        ("sheet: Other\n", [["id"]], "l.xlsx: no sheet 'Other' (sheets: Sheet)"),
        ("header_row: 5\n", [["id", "date", "country"]], "l.xlsx, row 5: no header in sheet 'Sheet' (set header_row)"),
        ("", [["id", "date", "country"]], "l.xlsx, row 1: file has a header but no data rows"),
        ("", [["id", "id", "country"], [1, 2, 3]], "l.xlsx, row 1, column 'id': duplicate column name in the header"),
    ],
)
def test_xlsx_layout_problems_are_fatal(raw: Path, extra: str, rows: list[list[object]], error: str) -> None:
    write_source(raw, "s", extra + MAPPING.replace("licences.csv", "l.xlsx"), {"l.xlsx": xlsx(rows)})
    with pytest.raises(InputError) as info:
        run(raw)
    assert str(info.value).endswith(f"/s/{error}")


def test_a_file_that_is_not_a_workbook(raw: Path) -> None:
    write_source(raw, "s", MAPPING.replace("licences.csv", "l.xlsx"), {"l.xlsx": CSV})
    with pytest.raises(InputError, match=r"l.xlsx: not a readable XLSX workbook \(File is not a zip file\)$"):
        run(raw)


# --- checking the mapping file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            ("  decision_date: date", "  decision_date: {column: date, fromat: DMY}"),
            "row 7: key 'columns.decision_date.fromat': unknown key (allowed: column, value, format, year)",
        ),
        (
            ("  decision_date: date", "  decision_date: {column: date, decimal: ','}"),
            "row 7: key 'columns.decision_date.decimal': unknown key (allowed: column, value, format, year)",
        ),
        (
            ("  destination_raw: country", "  destination_raw: {column: country, value: Peru}"),
            "row 8: key 'columns.destination_raw': give either column (a raw column name) or value (one value for "
            "every row)",
        ),
        (
            ("  licence_id: id\n", ""),
            "key 'columns.licence_id': required key is missing",
        ),
        (
            ("  licence_id: id\n", "  licence_number: id\n"),
            "row 6: key 'columns.licence_number': unknown key (allowed: " + ", ".join(mapping.COLUMNS) + ")",
        ),
        (
            ("licensing_country: NLD", "licensing_country: NL"),
            "row 2: key 'licensing_country': 'NL' is not an ISO 3166 alpha-3 code",
        ),
        (
            ("licensing_country: NLD", "licensing_country: NLD\ncurrency: EURO"),
            "row 3: key 'currency': 'EURO' is not an ISO 4217 currency code",
        ),
        (
            ("outcome: issued", "outcome: granted"),
            "row 4: key 'outcome': 'granted' is not one of issued, refused, revoked",
        ),
        (
            ("outcome: issued\n", ""),
            "key 'outcome': required: give one value, or a column as columns.outcome",
        ),
        (
            ("outcome: issued", "outcome: issued\nheader_row: 0"),
            "row 5: key 'header_row': 0 must be a row number, 1 or more",
        ),
        (
            ("outcome: issued", "outcome: issued\nheader_row: 2"),
            "row 5: key 'header_row': applies to XLSX files only: a CSV's header must be its first line",
        ),
        (
            ("outcome: issued", "outcome: issued\nencoding: latin-9000"),
            "row 5: key 'encoding': 'latin-9000' is not an encoding Python knows",
        ),
        (
            ("outcome: issued", "outcome: issued\ndelimiter: ';;'"),
            "row 5: key 'delimiter': ';;' must be one character",
        ),
        (
            ("file: licences.csv", "file: licences.xls"),
            "row 1: key 'file': 'licences.xls' is not a CSV or XLSX file (save older .xls files as .xlsx)",
        ),
        (
            ("file: licences.csv", "file: [licences.csv, [b.csv]]"),
            "row 1: key 'file': must be a single value",
        ),
        (
            ("  destination_raw: country", "  destination_raw: country\n  outcome: {value: refused}"),
            "row 4: key 'outcome': given twice: also as columns.outcome",
        ),
        (
            ("  destination_raw: country", "  destination_raw: country\n  outcome: {column: d, map: {Ja: yes}}"),
            "row 9: key 'columns.outcome.map.Ja': 'yes' is not one of issued, refused, revoked",
        ),
        (
            (
                "  destination_raw: country",
                "  destination_raw: country\n  value: {column: v, decimal: '.', thousands: '.'}",
            ),
            "row 9: key 'columns.value.thousands': must differ from the decimal mark",
        ),
        (
            ("  destination_raw: country", "  destination_raw: country\ncountries:\n  Holland: multi"),
            "row 10: key 'countries.Holland': 'MULTI' is not an ISO 3166 alpha-3 code",
        ),
        (
            ("  destination_raw: country", "  destination_raw: country\ncountries:\n  holland: NLD\n  Holland: DEU"),
            "row 11: key 'countries.Holland': 'Holland' is mapped twice, differently",
        ),
    ],
)
def test_mapping_file_mistakes_name_the_key(raw: Path, change: tuple[str, str], error: str) -> None:
    assert change[0] in MAPPING
    folder = write_source(raw, "s", MAPPING.replace(*change), {"licences.csv": CSV})
    with pytest.raises(InputError) as info:
        spreadsheet.load_folder_specs(folder)
    where = f"{folder}/exportrisk.yaml"
    assert str(info.value) in (f"{where}, {error}", f"{where}: {error}")


def test_a_mapping_file_must_be_a_mapping(raw: Path) -> None:
    folder = write_source(raw, "s", "- licences.csv\n", {"licences.csv": CSV})
    with pytest.raises(InputError) as info:
        spreadsheet.load_folder_specs(folder)
    assert str(info.value) == f"{folder}/exportrisk.yaml: key '(top level)': must be a mapping of keys to values"


def test_a_missing_data_file_is_named(raw: Path) -> None:
    folder = write_source(raw, "s", MAPPING, {})
    with pytest.raises(InputError) as info:
        run(raw)
    assert str(info.value) == f"{folder}/licences.csv: file named in exportrisk.yaml is missing"


# --- discovery and the curated rows -------------------------------------------------------------------


def test_clean_discovers_every_folder_with_a_mapping_in_name_order(raw: Path) -> None:
    write_source(raw, "zeta", MAPPING, {"licences.csv": CSV})
    write_source(raw, "alpha", MAPPING, {"licences.csv": CSV})
    (raw / "no-mapping").mkdir()
    (raw / "no-mapping" / "licences.csv").write_text(CSV, encoding="utf-8")
    assert run(raw).licences["licence_id"].tolist() == ["alpha:A1", "zeta:A1"]


@pytest.mark.parametrize("name", [sorted(LICENCE_SOURCES)[0], "pts"])
def test_a_folder_named_like_a_registry_source_is_an_error(raw: Path, name: str) -> None:
    folder = write_source(raw, name, MAPPING, {"licences.csv": CSV})
    with pytest.raises(InputError) as info:
        run(raw)
    assert str(info.value) == f"{folder}/exportrisk.yaml: folder name is a registry source's: rename the folder"


def test_curated_reported_licences(raw: Path) -> None:
    (raw / "curated").mkdir(parents=True)
    for name in ("reported_licences.csv", spreadsheet.MAPPING_FILE):  # the folder's other files are evidence
        shutil.copy(CURATED / name, raw / "curated" / name)
    result = run(raw)
    assert result.rejects.empty
    lines = result.licences.set_index("licence_id")
    columns = ["licensing_country_code", "destination_country_code", "decision_date", "exporter_name", "confidence"]
    got = lines[columns].astype(object).fillna("").values.tolist()
    assert got == [
        ["BGR", "", pd.Timestamp("2021-07-23"), "Circles Bulgaria", "reported"],
        ["CYP", "ISR", pd.Timestamp("2021-12-01"), "", "reported"],
    ]
    cyprus = lines.loc["curated:cy-2021-12-isr"]
    assert (cyprus["control_code"], cyprus["surveillance_type"]) == ("5A001.f", "interception")
    assert (cyprus["value"], cyprus["currency_code"]) == (200000.0, "EUR")
    assert lines.loc["curated:bg-circles-2021", "destination_type"] == "unspecified"
    # every curated row cites its source (the facts' secondary-only HRW items have no URL, so they are left out)
    assert lines["source_url"].str.startswith("https://").all()


def test_curated_rows_each_carry_a_note_on_their_date() -> None:
    with (CURATED / "reported_licences.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2
    for row in rows:
        assert "recorded as" in row["note"], row["id"]


# --- issue 10: a ministry-style workbook as measured (fixtures shaped like the Finnish dual-use sheet) ------

FI_HEADER = ["Year", "Date", "Country of destination", "Type of licence", "Export control classification"]
FI_HEADER += ["Exporter", "Business ID of the exporter", "Identification number of the licence"]
FI_MAPPING = """file: l.xlsx
licensing_country: FIN
outcome: issued
confidence: official
citation: SaferGlobe (2022), Finnish Arms Control Report
terms: MIT; always cite SaferGlobe
columns:
  licence_id: Identification number of the licence
  decision_date: {column: Date, format: FORMAT}
  destination_raw: Country of destination
  control_code_raw: Export control classification
  exporter_name: Exporter
  exporter_business_id: Business ID of the exporter
  licence_type:
    column: Type of licence
    map: {"yksittäislupa (individual licence)": individual, "koontilupa (global licence)": global}
"""
INDIVIDUAL, GLOBAL = "yksittäislupa (individual licence)", "koontilupa (global licence)"


def fi_rows(*rows: list[object]) -> bytes:
    return xlsx([FI_HEADER, *rows])


@pytest.mark.parametrize("fmt", ["excel_serial", "ISO", "DMY"])
def test_xlsx_date_cells_with_a_time_of_day_are_read_under_any_format(raw: Path, fmt: str) -> None:
    book = fi_rows(
        [
            2021,
            dt.datetime(2021, 6, 15, 15, 51, 40),
            "Albania",
            INDIVIDUAL,
            "1A004c1",
            "Environics Oy ",
            "0660329-1",
            "FI21000419",
        ],
        [2021, dt.datetime(2021, 4, 14), "Algeria", INDIVIDUAL, "3A001g2", "ABB Oy", "0763403-0", "FI21000269"],
    )
    write_source(raw, "fi", FI_MAPPING.replace("FORMAT", fmt), {"l.xlsx": book})
    result = run(raw)
    assert result.rejects.empty
    assert result.licences["decision_date"].tolist() == [pd.Timestamp("2021-06-15"), pd.Timestamp("2021-04-14")]
    assert result.licences["decision_date_precision"].tolist() == ["day", "day"]


def test_not_available_dates_fall_back_to_the_year_column_at_year_precision(raw: Path) -> None:
    mapping = FI_MAPPING.replace("{column: Date, format: FORMAT}", "{column: Date, year: Year}")
    book = fi_rows(
        [2018, "N/A", "Mexico", INDIVIDUAL, "5A001f1", "Exporter Oy", "1234567-8", "FI18000001"],
        [
            2019,
            dt.datetime(2019, 3, 1, 9, 30),
            "Mexico",
            INDIVIDUAL,
            "5A001f1",
            "Exporter Oy",
            "1234567-8",
            "FI19000001",
        ],
        [2020, "31.2.2020", "Mexico", INDIVIDUAL, "5A001f1", "Exporter Oy", "1234567-8", "FI20000001"],
        ["N/A", "N/A", "Mexico", INDIVIDUAL, "5A001f1", "Exporter Oy", "1234567-8", "FI20000002"],
    )
    write_source(raw, "fi", "missing: N/A\n" + mapping, {"l.xlsx": book})
    result = run(raw)
    got = result.licences[["licence_id", "decision_date", "decision_date_precision", "decision_date_format"]]
    assert got.values.tolist() == [
        ["fi:FI18000001", pd.Timestamp("2018-01-01"), "year", "year"],
        ["fi:FI19000001", pd.Timestamp("2019-03-01"), "day", "ISO"],
    ]
    assert result.licences["control_code"].tolist() == ["5A001.f.1"] * 2
    # a date that is wrong, not missing, is rejected; so is a missing date without a year to fall back on
    assert result.rejects[["source_row", "reason_code", "message"]].values.tolist() == [
        [
            4,
            "unparseable_date",
            "decision date '31.2.2020' cannot be read as YYYY-MM-DD, and column 'Year' gives no year to fall back on",
        ],
        [
            5,
            "unparseable_date",
            "decision date 'N/A' cannot be read as YYYY-MM-DD, and column 'Year' gives no year to fall back on",
        ],
    ]


def test_not_available_is_not_a_date_unless_the_mapping_says_so(raw: Path) -> None:
    mapping = FI_MAPPING.replace("{column: Date, format: FORMAT}", "{column: Date, year: Year}")
    book = fi_rows([2018, "N/A", "Mexico", INDIVIDUAL, "5A001f1", "Exporter Oy", "1234567-8", "FI18000001"])
    write_source(raw, "fi", mapping, {"l.xlsx": book})
    assert run(raw).rejects["reason_code"].tolist() == ["unparseable_date"]


def test_licence_type_business_id_citation_terms_and_stripped_names(raw: Path) -> None:
    book = fi_rows(
        [2021, dt.datetime(2021, 6, 15, 15, 51), "Albania", INDIVIDUAL, "1A004c1", "Environics Oy ", "0660329-1", "A"],
        [
            2021,
            dt.datetime(2021, 6, 16),
            "Oman",
            GLOBAL,
            "5A001f2",
            "  Nokia Solutions and Networks Oy ",
            "2058430-6",
            "B",
        ],
        [2021, dt.datetime(2021, 6, 17), "Oman", "open licence", "5A001f2", "Nokia", "2058430-6", "C"],
    )
    write_source(raw, "fi", FI_MAPPING.replace("FORMAT", "ISO"), {"l.xlsx": book})
    result = run(raw)
    got = result.licences[["licence_type", "exporter_name", "exporter_business_id"]].astype(object).values.tolist()
    assert got == [
        ["individual", "Environics Oy", "0660329-1"],
        ["global", "Nokia Solutions and Networks Oy", "2058430-6"],
    ]
    assert set(result.licences["source_citation"]) == {"SaferGlobe (2022), Finnish Arms Control Report"}
    assert set(result.licences["source_terms"]) == {"MIT; always cite SaferGlobe"}
    assert result.rejects[["source_row", "reason_code", "column_name"]].values.tolist() == [
        [4, "unknown_category", "Type of licence"]
    ]


def test_a_registry_source_cites_the_registry(raw: Path) -> None:
    write_source(raw, "s", MAPPING, {"licences.csv": CSV})
    assert run(raw).licences["source_citation"].isna().all()  # a researcher's own folder cites what it declares
    from exportrisk.ingest import licences, registry

    staged = pd.DataFrame(
        {
            "source": "caat-uk",
            "source_file": "caat-uk/x.csv",
            "source_row": [2],
            "licence_id": "1",
            "decision_date": pd.Timestamp("2020-01-01"),
            "decision_date_format": "ISO",
            "destination_raw": "Mexico",
            "control_code_raw": "5A001f",
            "outcome": "issued",
            "licence_kind": "export",
            "licensing_country_code": "GBR",
            "confidence": "official",
        }
    )
    lines, _ = licences.finalise(staged, staged, "caat-uk", {}, pd.Timestamp(TODAY))
    about = registry.sources()["caat-uk"]
    assert lines[["source_citation", "source_terms"]].values.tolist() == [[about.citation, about.licence]]


def test_a_multi_country_cell_names_the_unknown_part_and_stays_as_published(raw: Path) -> None:
    mapping = MAPPING.replace("licences.csv", "l.xlsx")
    mapping = mapping.replace("  destination_raw: country", '  destination_raw: {column: country, split: "\\n"}')
    rows = [["A1", "2021-03-04", "Philippines, Brunei"], ["A2", "2021-03-04", "Philippines\nBrunei"]]
    rows += [["A3", "2021-03-04", "Narnia"], ["A4", "2021-03-04", "Philippines\nPeru"]]
    write_source(raw, "s", mapping, {"l.xlsx": xlsx([["id", "date", "country"], *rows])})
    result = run(raw)
    hint = ": add it to the countries: section of s/exportrisk.yaml"
    assert result.rejects["message"].tolist() == [
        "unknown destination 'Brunei' in 'Philippines, Brunei'" + hint,
        "unknown destination 'Brunei' in 'Philippines\nBrunei'" + hint,
        "unknown destination 'Narnia'" + hint,
    ]
    assert [json.loads(r)["country"] for r in result.rejects["raw_values"]] == [r[2] for r in rows[:3]]
    kept = result.licences[["destination_raw", "destination_country_code"]].values.tolist()
    assert kept == [["Philippines\nPeru", "PHL"], ["Philippines\nPeru", "PER"]]


def test_a_file_whose_every_row_is_rejected_fails_the_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "data" / "raw"
    write_source(raw, "good", MAPPING, {"licences.csv": CSV})
    write_source(raw, "bad", MAPPING, {"licences.csv": "id,date,country\nA1,04/03/2021,Mexico\nA2,x,Peru\n"})
    (raw / "unmapped").mkdir()
    (raw / "unmapped" / "answer.xlsx").write_bytes(xlsx([["id"], ["A1"]]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPORTRISK_ROOT", str(tmp_path))
        assert cli.main(["clean"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "warning: data/raw/unmapped/ is not read: no registry row and no exportrisk.yaml "
        "(draft one with `exportrisk map data/raw/unmapped/<file>`)",
        "error: bad/licences.csv: all 2 rows rejected (see rejects.parquet)",
    ]
    assert (tmp_path / "data" / "processed" / "licences.parquet").is_file()  # the good source is still cleaned


# --- issue 15: nothing coerced silently in a researcher's data ------------------------------------------


def test_undeclared_marks_infinite_and_absurd_amounts_are_rejected_not_coerced(raw: Path) -> None:
    mapping = MAPPING + "  value: value\n"
    data = 'id,date,country,value\nA1,2021-03-04,Peru,"1,500"\nA2,2021-03-04,Peru,"1,5"\nA3,2021-03-04,Peru,inf\n'
    data += 'A4,2021-03-04,Peru,1e309\nA5,2021-03-04,Peru,2e15\nA6,2021-03-04,Peru,"1.234,5"\nA7,2021-03-04,Peru,-0.5\n'
    write_source(raw, "s", mapping, {"licences.csv": data})
    result = run(raw)
    assert result.licences["value"].tolist() == [1500.0]
    hint = " is not a number (with decimal '.')"
    assert result.rejects["message"].tolist() == [
        "value '1,5'" + hint,
        "value 'inf' is not a number",  # no digit, so no word on the marks
        "value '1e309'" + hint,
        "value '2e15'" + hint,
        "value '1.234,5'" + hint,
        "negative value '-0.5'",
    ]


@pytest.mark.parametrize(
    ("fmt", "cell", "year"),
    [("DMY", "04/03/21", 21), ("ISO", "0021-03-04", 21), ("ISO", "2999-01-01", 2999)],
)
def test_two_digit_and_implausible_years_are_rejected(raw: Path, fmt: str, cell: str, year: int) -> None:
    mapping = MAPPING.replace("  decision_date: date", f"  decision_date: {{column: date, format: {fmt}}}")
    write_source(raw, "s", mapping, {"licences.csv": f"id,date,country\nA1,{cell},Peru\n"})
    result = run(raw)
    assert result.licences.empty
    assert result.rejects["message"].tolist() == [
        f"decision date '{cell}' reads as the year {year}, outside 1900-2100 (declare the source's years: as "
        "[first, last])"
    ]


def test_a_source_declares_its_plausible_years(raw: Path) -> None:
    write_source(raw, "s", "years: [2015, 2024]\n" + MAPPING, {"licences.csv": CSV + "A2,2011-05-06,Peru\n"})
    assert run(raw).rejects["reason_code"].tolist() == ["unparseable_date"]


def test_rows_of_one_licence_that_disagree_are_all_rejected_never_merged(raw: Path) -> None:
    mapping = MAPPING.replace("outcome: issued\n", "") + "  outcome: decision\n"
    data = "id,date,country,decision\nA1,2021-03-04,Peru,issued\nA1,2021-05-06,Chile,refused\n"
    data += "A2,2021-03-04,Peru,issued\nA2,2021-03-04,Chile,issued\n"  # one licence, two destinations: fine
    write_source(raw, "s", mapping, {"licences.csv": data})
    result = run(raw)
    assert result.licences["licence_id"].tolist() == ["s:A2", "s:A2"]
    assert result.rejects[["source_row", "reason_code"]].values.tolist() == [
        [2, "conflicting_duplicate"],
        [3, "conflicting_duplicate"],
    ]
    assert result.rejects["message"].iloc[0] == (
        "rows 2, 3 disagree on this licence's decision date, outcome, licensing state or kind: none is kept rather "
        "than one"
    )


def test_a_victims_name_in_free_text_is_rejected_without_repeating_it(raw: Path) -> None:
    victims = raw / "pegasus-victims"
    victims.mkdir(parents=True)
    header = "name,affiliation,role,operator,disclosed,disclosed_by,forensics_by,attack_result,sources"
    (victims / "data-pegasus-victims.csv").write_text(f"{header}\nZorblat Quenmire,,Journalist,Mexico,2021-07-18,,,,\n")
    mapping = MAPPING + "  goods_description: goods\n"
    data = "id,date,country,goods\nA1,2021-03-04,Peru,IMSI catcher\nA2,2021-03-04,Peru,for tracking Zorblat Q.\n"
    write_source(raw, "s", mapping, {"licences.csv": data})
    result = run(raw)
    assert result.licences["licence_id"].tolist() == ["s:A1"]
    [reject] = result.rejects.query("source == 's'").itertuples()
    assert (reject.reason_code, reject.column_name) == ("names_a_person", "goods")
    assert "zorblat" not in (reject.message + reject.raw_values).casefold()


def test_a_formula_without_a_saved_value_is_a_reject_not_a_vanished_row(raw: Path) -> None:
    rows = [
        ["id", "date", "country", "value"],
        ["A1", "2021-03-04", "Peru", 100],
        ["A2", "2021-03-04", "Peru", "=D2*2"],
    ]
    rows.append(["=A2", "=B2", "=C2", "=D2"])  # a row of formulas alone: read for values, it would be empty
    write_source(raw, "s", MAPPING.replace("licences.csv", "l.xlsx") + "  value: value\n", {"l.xlsx": xlsx(rows)})
    result = run(raw)
    assert result.licences["licence_id"].tolist() == ["s:A1"]
    fix = " is a formula without a saved value: open the file in a spreadsheet program, save it and run again"
    assert result.rejects[["source_row", "reason_code", "message"]].values.tolist() == [
        [3, "malformed_row", "cell D3" + fix],
        [4, "malformed_row", "cell A4" + fix],
    ]
    assert result.reconciliation.set_index("source_file").loc["s/l.xlsx", "raw_rows"] == 3


def test_records_counted_apart_from_the_reader_agree_with_it_on_every_real_csv(shared_datasets: Path) -> None:
    """The independent count (exportrisk.ingest.records) raises no false alarm on real files: every CSV of the
    shared datasets, some with quoted line breaks, counts as many records as the reader reads."""
    counted = {}
    for path in sorted(shared_datasets.glob("*/*.csv")):
        encoding = "latin-1" if path.name.startswith("PTS") else "utf-8"  # as metadata/indicators/pts.yaml says
        read = read_records(path, encoding=encoding)
        counted[path.name] = (read.counted.records, len(read.rows) + len(read.malformed), read.counted.why)
    assert len(counted) >= 15 and counted["values.csv"][0] == 96311
    assert {name: c for name, c in counted.items() if c[0] != c[1]} == {}


def test_a_yes_no_column_reads_true_false_or_blank_and_rejects_other_text(raw: Path) -> None:
    mapping = MAPPING + "  value: value\n  currency_code: currency\n  is_value_lower_bound: over\n"
    rows = "id,date,country,value,currency,over\nA1,2021-03-04,Mexico,200000,EUR,Yes\nA2,2021-03-05,Chile,5,EUR,\n"
    rows += "A3,2021-03-06,Peru,7,EUR,maybe\nA4,2021-03-07,Cuba,8,EUR,FALSE\n"
    write_source(raw, "mine", mapping, {"licences.csv": rows})
    result = run(raw)
    flags = result.licences.set_index("licence_id")["is_value_lower_bound"].astype("string").fillna("not said")
    assert flags.to_dict() == {"mine:A1": "True", "mine:A2": "not said", "mine:A4": "False"}
    (reject,) = result.rejects.itertuples()
    assert reject.column_name == "over" and "'maybe' is not one of true, yes, 1, false, no, 0" in reject.message
