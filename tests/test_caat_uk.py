"""The UK source end to end on the real CAAT files: nothing lost, values right, re-runs identical."""

import csv
from pathlib import Path

import pandas as pd
import pytest

from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.ingest.files import read_table
from exportrisk.schema import LICENCES, REJECTS, validate


@pytest.fixture(scope="session")
def lines(caat_project: tuple[Path, CleanResult]) -> pd.DataFrame:
    return caat_project[1].licences


def raw_values(shared: Path) -> list[dict[str, str]]:
    with (shared / "caat-uk" / "values.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_raw_row_is_kept_or_rejected_exactly_once(caat_project, shared_datasets):
    _, result = caat_project
    n_raw = len(raw_values(shared_datasets))
    assert n_raw == 96_311
    uk = result.licences[result.licences["source"] == "caat-uk"]
    kept = set(uk["source_row"])
    rejected = set(result.rejects.loc[result.rejects["source"] == "caat-uk", "source_row"])
    assert kept.isdisjoint(rejected)
    assert kept | rejected == set(range(2, n_raw + 2))
    assert result.reconciliation.set_index("source_file").loc["caat-uk/values.csv", "reconciled"]


def test_destinations_resolve_to_a_country_or_an_explicit_marker(lines):
    uk = lines[lines["source"] == "caat-uk"]
    assert uk["destination_type"].notna().mean() >= 0.995
    by_raw = uk.drop_duplicates("destination_raw").set_index("destination_raw")
    assert by_raw.loc["Antarctica", "destination_type"] == "non_country"
    assert by_raw.loc["Continental Shelf: United Kingdom sector", "destination_type"] == "non_country"
    assert by_raw.loc["Channel Islands", "destination_type"] == "multiple"
    assert pd.isna(by_raw.loc["Channel Islands", "destination_country_code"])
    assert by_raw.loc["South Korea", "destination_country_code"] == "KOR"
    assert by_raw.loc["North Korea", "destination_country_code"] == "PRK"
    assert by_raw.loc["Svelbard Archipelago", "destination_country_code"] == "SJM"


def test_first_licence_matches_the_raw_row(lines, shared_datasets):
    first = raw_values(shared_datasets)[0]
    row = lines[lines["licence_id"] == f"caat-uk:{first['licence_group']}"].iloc[0]
    assert row["decision_date"] == pd.Timestamp(first["date"])
    assert row["destination_country_code"] == "ITA"
    assert row["control_code"] == first["rating"] == "ML10"
    assert row["value"] == float(first["value"])
    assert row["value_shared_by"] == 1  # UK values are published per licence line
    assert (row["outcome"], row["currency_code"], row["licensing_country_code"]) == ("issued", "GBP", "GBR")
    # destinations.csv lists onward destinations of licence group 1
    assert {"CHL", "IND", "MYS", "PAK"} <= set(row["onward_country_codes"])


def test_refusals_carry_their_criteria(lines):
    refused = lines[lines["outcome"] == "refused"]
    assert len(refused) == 1411
    assert refused["value"].isna().all()
    east_timor = lines[lines["licence_id"] == "caat-uk:418"].iloc[0]
    assert (east_timor["outcome"], east_timor["destination_country_code"]) == ("refused", "TLS")
    assert "2" in east_timor["refusal_criteria"]
    assert lines.loc[lines["outcome"] == "issued", "refusal_criteria"].isna().all()


def test_goods_category_follows_the_ratings_file(lines):
    by_code = lines.drop_duplicates("control_code_raw").set_index("control_code_raw")
    assert by_code.loc["ML10", "goods_category"] == "military"
    assert by_code.loc["PL5017", "goods_category"] == "military"
    assert by_code.loc["5A002", "goods_category"] == "dual_use"
    assert by_code.loc["5A002", "surveillance_type"] == "cryptography"
    assert by_code.loc["5A001", "surveillance_type"] == "telecom_unspecified"
    assert by_code.loc["End Use", "control_code"] == "END-USE"


def test_written_tables_round_trip_through_the_schema(caat_project):
    root, _ = caat_project
    processed = root / "data" / "processed"
    for table in (LICENCES, REJECTS):
        stored = pd.read_parquet(processed / f"{table.name}.parquet")
        assert list(stored.columns) == table.columns
        validate(read_table(processed / f"{table.name}.parquet", table), table)


def test_rerun_gives_byte_identical_outputs(caat_project, tmp_path):
    root, _ = caat_project
    clean(root / "data" / "raw", tmp_path)
    for name in ("licences.parquet", "rejects.parquet", "reconciliation.csv"):
        assert (tmp_path / name).read_bytes() == (root / "data" / "processed" / name).read_bytes(), name
