"""The Dutch licence source against the real files, and date order inference on hand-made series."""

from pathlib import Path

import pandas as pd
import pytest

from exportrisk.ingest import dateorder
from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.ingest.files import read_csv_text
from exportrisk.ingest.sources import nl_licences
from exportrisk.reference import countries
from tests.conftest import SHARED

DATA = SHARED / nl_licences.NAME
MIL, DU, TRANSIT = (f"{nl_licences.NAME}/{spec.name}" for spec in nl_licences.FILES)


@pytest.fixture(scope="session")
def result(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> CleanResult:
    """Clean the three real files once; missing data fails the tests rather than skipping them."""
    root = tmp_path_factory.mktemp("nl")
    raw = root / "data" / "raw" / nl_licences.NAME
    raw.mkdir(parents=True)
    for spec in nl_licences.FILES:
        assert (DATA / spec.name).is_file(), f"real data missing: {DATA / spec.name}"
        (raw / spec.name).symlink_to(DATA / spec.name)
    return clean(root / "data" / "raw", root / "data" / "processed")


def lines(result: CleanResult, file: str, row: int) -> pd.DataFrame:
    licences = result.licences
    return licences[(licences["source_file"] == file) & (licences["source_row"] == row)]


def line(result: CleanResult, file: str, row: int) -> pd.Series:
    found = lines(result, file, row)
    assert len(found) == 1
    return found.iloc[0]


@pytest.mark.parametrize("spec", nl_licences.FILES, ids=lambda s: s.prefix)
def test_every_raw_row_is_kept_or_rejected_exactly_once(result: CleanResult, spec: nl_licences.RawFile) -> None:
    file = f"{nl_licences.NAME}/{spec.name}"
    raw, malformed = read_csv_text(DATA / spec.name)
    expected = set(raw["source_row"]) | set(malformed["source_row"])
    kept = set(result.licences.loc[result.licences["source_file"] == file, "source_row"])
    rejected = result.rejects.loc[result.rejects["source_file"] == file, "source_row"]
    assert not rejected.duplicated().any()
    assert kept.isdisjoint(set(rejected))
    assert kept | set(rejected) == expected


@pytest.mark.parametrize("file", [MIL, DU, TRANSIT])
def test_destinations_resolve_for_at_least_99_percent(result: CleanResult, file: str) -> None:
    kept = result.licences.loc[result.licences["source_file"] == file, "source_row"].nunique()
    rejects = result.rejects[result.rejects["source_file"] == file]
    unknown = (rejects["reason_code"] == "unknown_country").sum()
    assert kept / (kept + unknown) >= 0.99


def test_dates_whose_order_is_certain(result: CleanResult) -> None:
    # Military row 42 '01/13/2004': a second part of 13 can only be the day.
    assert line(result, MIL, 42)["decision_date"] == pd.Timestamp("2004-01-13")
    # Military row 2 '01/05/2004' is ambiguous alone, but it opens a block of 1,573 rows (2004) with 938
    # second parts over 12 and none first, and the rows run 01/05, 01/06 ... 01/13: 5 January.
    first = line(result, MIL, 2)
    assert (first["decision_date"], first["decision_date_format"]) == (pd.Timestamp("2004-01-05"), "MDY")
    # Its expiry '31012005' (8 digits): a first part of 31 can only be the day.
    assert first["expiry_date"] == pd.Timestamp("2005-01-31")
    # Dual-use row 14 '20-01-2004': a first part of 20 can only be the day.
    assert line(result, DU, 14)["decision_date"] == pd.Timestamp("2004-01-20")
    # Dual-use row 2 '05-01-2004' sits in the 2004 '-' block (229 first parts over 12, none second), and
    # rows 2..14 run 05-01, 06-01, ... 20-01: 5 January, not 1 May.
    assert line(result, DU, 2)["decision_date"] == pd.Timestamp("2004-01-05")
    # Dual-use row 2090 '18-11-2008': the late-2008 block writes DD-MM-YYYY (18 can only be the day).
    assert line(result, DU, 2090)["decision_date"] == pd.Timestamp("2008-11-18")
    # Dual-use row 5731 '12/30/2015': 30 can only be the day, and it is the second part.
    assert line(result, DU, 5731)["decision_date"] == pd.Timestamp("2015-12-30")
    # Transit row 95 '04/07/2004' has a mistyped year and no proof of its own; it sits between MDY
    # blocks ('03/30/2005' before, '04/07/2005' right after), so it is read as 7 April.
    transit = line(result, TRANSIT, 95)
    assert (transit["decision_date"], transit["decision_date_format"]) == (pd.Timestamp("2004-04-07"), "MDY")


def test_expiry_dates_are_optional(result: CleanResult) -> None:
    # '38837' is an Excel serial day number: 30 April 2006.
    assert line(result, MIL, 1935)["expiry_date"] == pd.Timestamp("2006-04-30")
    # '31-06-2014' is no date (June has 30 days): the expiry is left empty, the licence is kept.
    assert pd.isna(line(result, MIL, 14258)["expiry_date"])


def test_via_gives_destination_and_transit(result: CleanResult) -> None:
    chile = line(result, DU, 2)  # 'Chili via België'
    assert (chile["destination_country_code"], chile["transit_country_code"]) == ("CHL", "BEL")


def test_first_destination_of_a_military_licence_is_its_transit(result: CleanResult) -> None:
    somalia = line(result, MIL, 10354)  # land van bestemming 'KENIA', eindbestemming 'SOMALIË (VN)'
    assert (somalia["destination_country_code"], somalia["transit_country_code"]) == ("SOM", "KEN")
    china = line(result, MIL, 2)  # both 'CHINA': no transit
    assert (china["destination_country_code"], pd.isna(china["transit_country_code"])) == ("CHN", True)


def test_lists_explode_to_one_line_per_country(result: CleanResult) -> None:
    found = lines(result, MIL, 4300)  # 'SPANJE, CH, BE'
    assert found["destination_country_code"].tolist() == ["ESP", "CHE", "BEL"]
    assert found["line_no"].tolist() == [1, 2, 3]
    # the licence's one published value is repeated on its three lines, and says so
    assert found["value_shared_by"].tolist() == [3, 3, 3]
    assert (found["value"] / found["value_shared_by"]).sum() == pytest.approx(found["value"].iloc[0])


def test_non_countries_are_explicit(result: CleanResult) -> None:
    for file, row in ((DU, 68), (MIL, 28)):  # 'Diverse landen', 'DIVERSE LANDEN'
        found = lines(result, file, row)
        assert set(found["destination_type"]) == {"multiple"} and found["destination_country_code"].isna().all()


def test_values_and_codes(result: CleanResult) -> None:
    assert line(result, DU, 9)["value"] == 30404816.0  # '30,404,816'
    assert line(result, DU, 2)["value"] == 25740.0  # '25,740'
    assert line(result, DU, 6266)["value"] == 112950.0  # '112.95', dot-grouped with its zero lost
    assert line(result, DU, 6267)["value"] == 2308000.0  # '2.308.000'
    padded = line(result, MIL, 7215)  # 'ML5b      '
    assert (padded["control_code_raw"], padded["control_code"]) == ("ML5b", "ML5.b")
    assert padded["currency_code"] == "EUR"


def test_transit_ids_and_shifted_rows(result: CleanResult) -> None:
    assert line(result, TRANSIT, 98)["licence_id"] == "nl-licences:transit-row98"  # consent 'melding'
    assert line(result, TRANSIT, 95)["licence_id"] == "nl-licences:transit-25583027"
    # 2015 rows carry a calibre column: destination 'NAMIBIE' sits under 'Ad-hoc J/N (***)'.
    shifted = line(result, TRANSIT, 15848)
    assert (shifted["destination_country_code"], shifted["goods_description"]) == ("NAM", "MUNITIE .375 H&H")
    assert (shifted["licence_kind"], shifted["outcome"], shifted["goods_category"]) == ("transit", "issued", "military")


def test_dutch_names_in_the_mapping() -> None:
    mapping = countries.load_mapping(nl_licences.NAME)
    expected = {
        "VS": "USA",
        "VK": "GBR",
        "VAE": "ARE",
        "Zuid-Korea": "KOR",
        "Wit-Rusland (Belarus)": "BLR",
        "Tanzania v.v.": "TZA",
        "SAOEDI-ARABIË": "SAU",
    }
    assert {n: mapping[countries.normalise(n)].country_code for n in expected} == expected
    for name in ("Diverse landen", "WERELD MUV GL", "EU", "Wereld muv gevoelige landen en China"):
        assert countries.split_destination(name, mapping) == ([countries.Entry(None, "multiple")], None)
    assert mapping["onbekend"].destination_type == "unspecified"


# dateorder on hand-made series


def test_blocks_start_where_layout_or_year_changes() -> None:
    values = pd.Series(["01/02/2004", "13/02/2004", "01-02-2004", "01-02-2005", "01-03-2005", "31012005"])
    assert dateorder.blocks(values).tolist() == [1, 1, 2, 3, 3, 4]
    assert dateorder.layout(values).tolist() == ["/", "/", "-", "-", "-", "digits"]


def test_day_over_12_decides_the_whole_block() -> None:
    values = pd.Series(["05/01/2004", "13/01/2004", "02/03/2005", "03/20/2005"])
    read = dateorder.read_dates(values, dateorder.blocks(values))
    assert read["order"].tolist() == ["DMY", "DMY", "MDY", "MDY"]
    assert read["date"].tolist() == [pd.Timestamp(d) for d in ("2004-01-05", "2004-01-13", "2005-02-03", "2005-03-20")]


def test_conflicting_proofs_leave_the_block_unread() -> None:
    values = pd.Series(["13/01/2004", "01/13/2004", "02/03/2004"])
    read = dateorder.read_dates(values, dateorder.blocks(values))
    assert read["date"].isna().all() and read["order"].isna().all()
    assert dateorder.evidence(values, dateorder.blocks(values))["decided_by"].tolist() == ["conflict"]


def test_expiry_after_decision_decides_a_block_without_proof() -> None:
    decision = pd.Series(pd.to_datetime(["2004-03-15", "2004-03-20"]))
    expiry = pd.Series(["01/04/2004", "02/04/2004"])  # DMY: 1 and 2 April; MDY: 4 January, 4 February
    groups = pd.Series([1, 1])
    read = dateorder.read_dates(expiry, groups, not_before=decision)
    assert read["date"].tolist() == [pd.Timestamp("2004-04-01"), pd.Timestamp("2004-04-02")]
    assert dateorder.evidence(expiry, groups, decision)["decided_by"].tolist() == ["expiry_after_decision"]


def test_undecided_block_takes_its_neighbours_order_when_they_agree() -> None:
    values = pd.Series(["12/25/2005", "04/07/2004", "04/20/2005", "01/02/2006"])
    table = dateorder.evidence(values, dateorder.blocks(values))
    assert table["order"].tolist() == ["MDY", "MDY", "MDY", "MDY"]
    assert table["decided_by"].tolist() == ["day_over_12", "neighbours", "day_over_12", "neighbours"]
    disagree = pd.Series(["25/12/2004", "04/07/2005", "04/20/2006"])
    assert dateorder.read_dates(disagree, dateorder.blocks(disagree))["order"].isna().tolist() == [False, True, False]


def test_digits_serials_and_impossible_dates() -> None:
    values = pd.Series(["31012005", "01022005", "38837", "31-06-2014", "13-06-2014", "9999 9999 9"])
    read = dateorder.read_dates(values, dateorder.blocks(values))
    assert read["order"].tolist()[:5] == ["DMY", "DMY", "excel_serial", "DMY", "DMY"]
    assert pd.isna(read["order"].iloc[5])
    expected = ["2005-01-31", "2005-02-01", "2006-04-30", None, "2014-06-13", None]
    assert read["date"].tolist() == [pd.Timestamp(d) if d else pd.NaT for d in expected]


def test_unreadable_decision_dates_are_rejected_naming_the_value(tmp_path: Path) -> None:
    spec = nl_licences.FILES[1]
    dates = ["20-01-2004", "31-02-2004", "9999 9999 9"]
    cells = {"decision_date": dates, "licence_id": ["1", "2", "3"], "destination_raw": ["Chili"] * 3}
    table = pd.DataFrame({raw: cells.get(canonical, [""] * 3) for canonical, raw in spec.columns.items()})
    table.to_csv(tmp_path / spec.name, index=False)
    rows = nl_licences.stage_file(tmp_path, spec).rows
    assert rows["reject_reason"].fillna("").tolist() == ["", "unparseable_date", "unparseable_date"]
    assert rows["reject_message"].tolist()[1:] == [
        "date '31-02-2004' is not a valid DMY date",
        "date '9999 9999 9' has no day/month order its block decides",
    ]
