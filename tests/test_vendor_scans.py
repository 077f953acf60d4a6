"""Citizen Lab's vendor scans as evidence, on the real files: the customer guess (never the hosting country),
customer relations only, dated by publication, every raw row kept or rejected with a reason."""

from pathlib import Path

import pandas as pd
import pytest

from exportrisk import listcols
from exportrisk.ingest.clean import clean
from exportrisk.ingest.files import read_table
from exportrisk.ingest.sources import citizenlab_finfisher_scan
from exportrisk.schema import EVIDENCE, REJECTS
from tests.conftest import make_project
from tests.privacy import named

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SCANS = ["citizenlab-finfisher-scan", "citizenlab-planet-netsweeper"]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    root = make_project(tmp_path_factory.mktemp("scans"), SCANS, shared_datasets)
    clean(root / "data" / "raw", root / "data" / "processed")
    processed = root / "data" / "processed"
    return read_table(processed / "evidence.parquet", EVIDENCE), read_table(processed / "rejects.parquet", REJECTS)


def test_finfisher_names_the_customer_guess_not_the_hosting_country(scanned):
    evidence, rejects = scanned
    ff = evidence[evidence["source"].eq("citizenlab-finfisher-scan")].set_index("country_code")
    # Malaysia's servers were hosted in Singapore and the US; Singapore's and the US's servers had other
    # (or no) customers: the hosting countries are not customers
    assert "MYS" in ff.index and not {"SGP", "USA", "CAN"} & set(ff.index)
    assert (ff["country_role"] == "customer").all() and (ff["strength"] == "customer_relation_only").all()
    assert (ff["kind"] == "vendor_customer_report").all() and ff["source_urls"].notna().all()
    # the report of 13 March 2013 listed Ethiopia's own server; Malaysia's guess came with the file (2015)
    assert ff.loc["ETH", "published_date"] == pd.Timestamp("2013-03-13")
    assert ff.loc["BGR", "published_date"] == pd.Timestamp("2013-05-01")  # "For Their Eyes Only"
    assert ff.loc["MYS", "published_date"] == pd.Timestamp("2015-02-01")
    assert ff.loc["MKD", "country_raw"] == "Macdeonia"  # the file's misspelling, mapped, kept as published
    mine = rejects[rejects["source"].eq("citizenlab-finfisher-scan")]
    reasons = mine["reason_code"].astype(str).value_counts()
    # every server: one evidence row per customer, the rest rejected with a reason (no guess, the vendor's own
    # servers, further servers of a customer already counted)
    servers = len(pd.read_csv(SHARED / "citizenlab-finfisher-scan" / "ff.csv"))
    assert len(ff) + len(mine) == servers == 55 and len(ff) == ff["evidence_id"].nunique() == 22
    assert set(reasons.index) == {"missing_value", "duplicate_row"}


def test_netsweeper_names_the_ten_countries_of_concern_as_customer_relations_from_april_2018(scanned):
    evidence, rejects = scanned
    ns = evidence[evidence["source"].eq("citizenlab-planet-netsweeper")]
    assert set(ns["country_code"]) == {"ARE", "AFG", "BHR", "IND", "KWT", "PAK", "QAT", "SAU", "SDN", "SOM", "YEM"}
    assert (ns["published_date"] == pd.Timestamp("2018-04-30")).all()
    assert (ns["strength"] == "customer_relation_only").all() and (ns["country_role"] == "customer").all()
    mine = rejects[rejects["source"].eq("citizenlab-planet-netsweeper")]
    installations = len(pd.read_csv(SHARED / "citizenlab-planet-netsweeper" / "installations_found_SUBSET.csv"))
    assert len(ns) + len(mine) == installations == 122 and (mine["reason_code"].astype(str) == "duplicate_row").all()


def test_no_evidence_address_of_any_source_holds_part_of_a_victims_name(tmp_path: Path, shared_datasets: Path):
    root = make_project(tmp_path, [*SCANS, "pegasus-victims"], shared_datasets)
    clean(root / "data" / "raw", root / "data" / "processed")
    evidence = read_table(root / "data" / "processed" / "evidence.parquet", EVIDENCE)
    names = pd.read_csv(shared_datasets / "pegasus-victims" / "data-pegasus-victims.csv")["name"].dropna().tolist()
    given = [url for url, _ in citizenlab_finfisher_scan.REPORTS.values()]
    assert [u for u in given if named(u, names)]  # the 2013 report's address names its authors, one like a victim
    assert not [u for u in evidence["source_urls"].explode().dropna() if named(u, names)]
    ff = evidence[evidence["source"].eq("citizenlab-finfisher-scan")]
    assert (
        listcols.join(ff["source_urls"]).str.contains(citizenlab_finfisher_scan.FILE_URL, regex=False).all()
    )  # the file stays
