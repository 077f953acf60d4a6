"""Finland's SaferGlobe workbook, as shipped in ../shared: the dual-use licences and the military aggregates."""

from pathlib import Path

import pandas as pd
import pytest

from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.reporting import sections
from tests.conftest import make_project

SOURCE = "fi-saferglobe-arms-exports"
DUAL_USE = f"{SOURCE}/saferglobe_arms_exports_dataset_v2-3.xlsx#exp_licences_dual-use"
MILITARY = f"{SOURCE}/saferglobe_arms_exports_dataset_v2-3.xlsx#exp_licences_mil_by_product"


@pytest.fixture(scope="module")
def finland(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> CleanResult:
    root = make_project(tmp_path_factory.mktemp("fi"), [SOURCE], shared_datasets)
    return clean(root / "data" / "raw", root / "data" / "processed")


def test_dual_use_sheet_keeps_at_least_99_8_percent_and_reconciles(finland: CleanResult) -> None:
    recon = finland.reconciliation.set_index("source_file")
    assert recon["reconciled"].all()
    dual = recon.loc[DUAL_USE]
    assert dual["raw_rows"] == 7118
    assert dual["clean_rows"] / dual["raw_rows"] >= 0.998
    # the one reject is an exact repeat of licence FI21000844's row
    assert finland.rejects.query("source_file == @DUAL_USE")["reason_code"].tolist() == ["duplicate_row"]


def test_every_raw_5a001f_row_is_kept(finland: CleanResult) -> None:
    lines = finland.licences
    interception = lines[lines["control_code_raw"].str.contains("5A001f", na=False)]
    assert interception["source_row"].nunique() == 275
    assert (interception["surveillance_type"] == "interception").any()
    by_country = interception.drop_duplicates("licence_id")["destination_country_code"].value_counts()
    assert (by_country["IDN"], by_country["MEX"]) == (83, 62)


def test_not_available_dates_fall_back_to_the_year(finland: CleanResult) -> None:
    lines = finland.licences.drop_duplicates("licence_id")
    by_year = lines[lines["decision_date_precision"] == "year"]
    assert len(by_year) == 10
    assert (by_year["decision_date"].dt.strftime("%m-%d") == "01-01").all()
    mexico = by_year[by_year["destination_country_code"] == "MEX"]
    assert len(mexico) == 2


def test_licence_level_columns(finland: CleanResult) -> None:
    lines = finland.licences.drop_duplicates("source_row")  # one raw row each (four ids repeat on several rows)
    assert set(lines["licensing_country_code"]) == {"FIN"}
    assert lines["licence_type"].value_counts()[["individual", "global"]].tolist() == [6993, 124]
    assert not lines["exporter_name"].str.endswith(" ").any()
    ids = lines["exporter_business_id"]  # "N/A" is declared missing: null, never the text
    assert not ids.eq("N/A").any() and ids.str.fullmatch(r"\d{7}-\d").mean() > 0.85  # typos kept as published
    assert lines["source_citation"].str.startswith("SaferGlobe (2022)").all()
    several = finland.licences[finland.licences["destination_raw"] == "Philippines, Brunei"]
    assert several["destination_country_code"].tolist() == ["PHL", "BRN"]


def test_military_sheet_is_aggregates_never_licences(finland: CleanResult) -> None:
    totals = finland.tables["aggregates"]
    assert not finland.licences["source_file"].eq(MILITARY).any()
    recon = finland.reconciliation.set_index("source_file").loc[MILITARY]
    assert recon["raw_rows"] == 2895 and recon["reconciled"]
    assert set(totals["granularity"]) == {
        "military export licences granted per year, destination and Military List category (number and value)"
    }
    assert set(totals["decision_date_precision"]) == {"year"}
    assert totals.dropna(subset=["control_code"])["goods_category"].eq("military").all()
    year_2021 = totals[totals["decision_date"] == pd.Timestamp("2021-01-01")]
    australia = year_2021[year_2021["destination_country_code"] == "AUS"]
    assert australia["item_count"].sum() == australia.drop_duplicates("aggregate_id")["item_count"].sum()


def test_finlands_report_shows_the_military_totals_in_their_own_section(finland: CleanResult) -> None:
    aggregates = finland.tables["aggregates"]
    spec = sections.ReportSpec("FIN", "licensing")
    mine = sections.select_lines(aggregates, spec)
    assert mine["aggregate_id"].nunique() == 2891
    [section] = sections.aggregate_section(mine, spec)
    table = section.table
    assert section.key == "aggregate_records" and "not licences" in section.title
    records = mine.drop_duplicates("aggregate_id")  # a record published for several lines counts once
    assert table["value (source's total)"].sum() == pytest.approx(records["value"].sum())
    assert table["year"].between(2002, 2021).all()
    assert not sections.aggregate_section(mine.iloc[:0], spec)  # no section where a country has no totals
