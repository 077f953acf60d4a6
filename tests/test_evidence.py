"""Evidence end to end on the real Pegasus victim database and the curated files: nothing lost, no names
written anywhere, dates that never look ahead."""

import contextlib
import csv
import hashlib
import hmac
import io
import logging
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exportrisk import cli
from exportrisk.config import CURATED_DIR
from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.ingest.files import read_table
from exportrisk.ingest.sources import curated, pegasus_victims
from exportrisk.knowledge.evidence import country_evidence_as_of, evidence_as_of
from exportrisk.reference.pseudonyms import DEFAULT_SALT, SALT_ENV, pseudonymise, salt
from exportrisk.schema import ENTITIES, EVIDENCE, REJECTS, RELATIONS, validate
from tests.privacy import named

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
VICTIMS = SHARED / pegasus_victims.NAME
VICTIMS_FILE = f"{pegasus_victims.NAME}/{pegasus_victims.FILE}"


@dataclass
class Project:
    root: Path
    result: CleanResult
    output: str  # everything printed, logged or warned while cleaning, by the library and the CLI
    first_run: dict[str, bytes]  # processed files after the first run, before the CLI ran again

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def evidence(self) -> pd.DataFrame:
        return self.result.tables["evidence"]


def make_raw(root: Path, victims: Path) -> Path:
    """A project whose data/raw/ holds a victim database folder and this repository's curated files."""
    raw = root / "data" / "raw"
    shutil.copytree(victims, raw / pegasus_victims.NAME)
    shutil.copytree(CURATED_DIR, raw / curated.NAME)
    return raw


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Project:
    """The real victim database and curated files, cleaned by the library and again by the CLI."""
    assert (VICTIMS / pegasus_victims.FILE).is_file(), f"real dataset missing at {VICTIMS}"
    root = tmp_path_factory.mktemp("evidence")
    raw = make_raw(root, VICTIMS)
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    logging.getLogger().addHandler(handler)
    try:
        with (
            pytest.MonkeyPatch.context() as mp,
            contextlib.redirect_stdout(captured),
            contextlib.redirect_stderr(captured),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            mp.setenv("EXPORTRISK_ROOT", str(root))
            mp.delenv(SALT_ENV, raising=False)
            result = clean(raw, root / "data" / "processed")
            first = snapshot(root / "data" / "processed")
            assert cli.main(["clean"]) == 0
    finally:
        logging.getLogger().removeHandler(handler)
    output = captured.getvalue() + "\n".join(str(w.message) for w in caught)
    return Project(root, result, output, first)


def raw_victims() -> list[dict[str, str]]:
    with (VICTIMS / pegasus_victims.FILE).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def victim_lines(project: Project, source_row: int) -> pd.DataFrame:
    ev = project.evidence
    return ev[(ev["source_file"] == VICTIMS_FILE) & (ev["source_row"] == source_row)]


# --- nothing lost ---------------------------------------------------------------------------------------


def test_every_raw_row_of_every_file_read_is_kept_or_rejected(project):
    recon = project.result.reconciliation.set_index("source_file")
    expected = {
        VICTIMS_FILE: len(raw_victims()),
        "curated/evidence.csv": len(curated_rows(curated.EVIDENCE)),
        "curated/entities.csv": len(curated_rows(curated.ENTITIES)),
        "curated/relations.csv": len(curated_rows(curated.RELATIONS)),
    }
    for file, n in expected.items():
        row = recon.loc[file]
        assert (row["raw_rows"], row["clean_rows"], row["rejected_rows"]) == (n, n, 0), file
        assert row["reconciled"]
    kept = set(project.evidence.loc[project.evidence["source_file"] == VICTIMS_FILE, "source_row"])
    assert kept == set(range(2, len(raw_victims()) + 2))


def test_tables_match_their_declared_schemas_when_read_back(project):
    for table in (EVIDENCE, ENTITIES, RELATIONS, REJECTS):
        validate(read_table(project.processed / f"{table.name}.parquet", table), table)


def test_a_rerun_writes_byte_identical_files(project):
    assert snapshot(project.processed) == project.first_run
    assert {"evidence.parquet", "entities.parquet", "relations.parquet"} <= set(project.first_run)


# --- victims: what the table says ------------------------------------------------------------------------


def test_a_victim_entry_becomes_a_dated_incident_without_the_name(project):
    raw = raw_victims()[0]
    line = victim_lines(project, 2).squeeze()
    assert raw["operator"] == "UAE" and raw["role"] == "Activist"
    assert line["evidence_id"] == f"pegasus-victims:{line['victim_id']}"
    assert (line["kind"], line["country_role"], line["country_code"]) == ("targeting_incident", "operator", "ARE")
    assert line["published_date"] == pd.Timestamp(raw["disclosed"])
    assert (line["strength"], line["attack_result_type"]) == ("forensically_confirmed", "attempted")
    assert (line["victim_role_type"], line["vendor_entity_id"], line["product"]) == (
        "human_rights_defender",
        "nso-group",
        "Pegasus",
    )
    assert line["source_urls"] == raw["sources"].split("; ")


def test_strength_and_attack_result_follow_forensics_and_results(project):
    raw = pd.DataFrame(raw_victims()).assign(source_row=range(2, len(raw_victims()) + 2))
    lines = project.evidence[project.evidence["source_file"] == VICTIMS_FILE].merge(raw, on="source_row")
    confirmed = lines["strength"] == "forensically_confirmed"
    assert (confirmed == lines["forensics_by"].str.strip().ne("")).all()
    assert confirmed.sum() == 23 and (lines.loc[~confirmed, "strength"] == "credible_report").all()
    successful = lines["attack_result"].str.contains("Successful")
    assert (lines["attack_result_type"] == successful.map({True: "successful", False: "attempted"})).all()


def test_unknown_operators_are_explicit_and_codes_null_exactly_for_them(project):
    ev = project.evidence
    unknown = ev[ev["country_role"] == "operator_unknown"]
    victims = unknown[unknown["source_file"] == VICTIMS_FILE]
    assert len(victims) == sum(not r["operator"].strip() for r in raw_victims()) == 51
    no_state = [r for r in curated_rows(curated.EVIDENCE) if r["country_role"] == "operator" and not r["country"]]
    assert len(unknown) - len(victims) == len(no_state)
    assert unknown["country_raw"].isna().all()
    no_code = ev["country_role"].isin(["operator_unknown", "no_country"])
    assert (ev["country_code"].isna() == no_code).all()


def test_several_operators_give_one_line_each_dated_by_their_own_disclosure(project):
    rows = {i: r for i, r in enumerate(raw_victims(), start=2)}
    two = next(i for i, r in rows.items() if r["operator"] == "Mexico; El Salvador")
    lines = victim_lines(project, two)
    assert rows[two]["disclosed"] == "2017-06-19; 2022-01-12"
    assert lines[["line_no", "country_code"]].values.tolist() == [[1, "MEX"], [2, "SLV"]]
    assert lines["published_date"].tolist() == [pd.Timestamp("2017-06-19"), pd.Timestamp("2022-01-12")]
    # one operator, two disclosures: its targeting was public from the first
    one = next(i for i, r in rows.items() if r["disclosed"] == "2020-01-28; 2021-10-24")
    assert victim_lines(project, one)["published_date"].tolist() == [pd.Timestamp("2020-01-28")]


def test_every_raw_role_is_in_the_reviewed_mapping(project):
    mapping = pegasus_victims.load_roles()
    roles = {r["role"].strip() for r in raw_victims()} - {""}
    assert all(r.casefold() in mapping for r in roles)
    lines = project.evidence[project.evidence["source_file"] == VICTIMS_FILE]
    assert lines["victim_role_type"].notna().all()
    assert (lines["victim_role_type"] == "unknown").sum() == sum(not r["role"].strip() for r in raw_victims())


# --- victims: pseudonyms and names ------------------------------------------------------------------------


def test_victim_ids_are_salted_hmacs_stable_per_name_and_change_with_the_salt(project):
    raw = raw_victims()
    lines = project.evidence[project.evidence["source_file"] == VICTIMS_FILE].drop_duplicates("source_row")
    expected = [
        "v-" + hmac.new(DEFAULT_SALT.encode(), r["name"].strip().casefold().encode(), hashlib.sha256).hexdigest()[:16]
        for r in raw
    ]
    assert lines["victim_id"].tolist() == expected
    assert lines["victim_id"].is_unique
    names = pd.Series([r["name"] for r in raw])
    assert (pseudonymise(names, b"another salt") != pd.Series(expected)).all()
    assert (
        pseudonymise(pd.Series(["  Ana  Pérez "]), b"k").iloc[0] == pseudonymise(pd.Series(["ana pérez"]), b"k").iloc[0]
    )


def test_the_salt_comes_from_the_environment_and_only_changes_the_ids(tmp_path, monkeypatch, project):
    monkeypatch.setenv(SALT_ENV, "")
    assert salt() == DEFAULT_SALT.encode()
    monkeypatch.setenv(SALT_ENV, "a team secret")
    assert salt() == b"a team secret"
    result = clean(make_raw(tmp_path, VICTIMS), tmp_path / "data" / "processed")
    ours, default = result.tables["evidence"], project.evidence
    ids = ["evidence_id", "victim_id"]
    assert ours.drop(columns=ids).equals(default.drop(columns=ids))
    victims = default["victim_id"].notna()
    assert ours["victim_id"].isna().equals(~victims)
    assert (ours.loc[victims, "victim_id"] != default.loc[victims, "victim_id"]).all()


def written_text(folder: Path) -> str:
    """Everything the pipeline wrote, as text: every cell and the metadata of Parquet files, other files whole."""
    parts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            parts.append(str(table.schema.metadata))
            parts += [str(v) for column in table.columns for v in column.to_pylist()]
        else:
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


def test_no_file_written_and_nothing_printed_names_a_victim(project):
    names = [r["name"] for r in raw_victims()]
    assert {0, 1, 2} <= set(named(" ".join(names[:3]), names))  # the search finds names where they are
    assert 0 in named("https://example.org/" + names[0].lower().replace(" ", "-"), names)
    assert 0 in named("https://example.org/" + names[0].split()[-1].lower(), names)  # and a surname alone
    leaks = named(written_text(project.processed), names)
    assert not leaks, f"victim names of source rows {[i + 2 for i in leaks]} are in data/processed"
    assert "pegasus-victims" in project.output  # the CLI did report on the file ...
    assert not named(project.output, names)  # ... without a name


def test_urls_whose_address_names_a_victim_are_left_out(project):
    raw = raw_victims()
    names = [r["name"] for r in raw]
    lines = project.evidence[project.evidence["source_file"] == VICTIMS_FILE].drop_duplicates("source_row")
    kept = lines.set_index("source_row")["source_urls"]
    dropped = 0
    for row, urls in kept.items():
        given_urls = raw[row - 2]["sources"].split("; ")
        assert set(urls) <= set(given_urls) and urls
        naming = [u for u in given_urls if named(u, names)]
        assert set(given_urls) - set(urls) == set(naming)
        dropped += len(naming)
    assert dropped == 11  # surnames, first names and a title with a first name in URL slugs


def fake_header() -> list[str]:
    """The real file's columns, for rows made up here (read when a test asks, so collecting needs no real data)."""
    return list(raw_victims()[0])


def fake_row(**values: str) -> dict[str, str]:
    base = {"role": "Journalist", "disclosed": "2020-01-01", "operator": "Mexico", "sources": "https://a.example/x"}
    return {c: values.get(c, base.get(c, "")) for c in fake_header()}


def test_rejected_and_unreadable_victim_rows_carry_no_name(tmp_path, monkeypatch, shared_datasets):
    rows = [
        fake_row(name="Zorvan Quillet", affiliation="Wife of Brannoc Yeltsov"),
        fake_row(
            name="Brannoc Yeltsov",
            affiliation="Husband of Zorvan Quillet",
            operator="Atlantis",
            sources="https://a.example/brannoc-yeltsov-hacked; https://c.example/ok",
        ),
        fake_row(name="Idrel Vashko", disclosed="2020-13-45"),
        fake_row(name="Mirta Osselin", disclosed="2999-01-01"),
        fake_row(name="Quenby Larrow", role="Astronaut"),
        fake_row(name="Teodor Ruvane", sources="https://a.example/teodor-ruvane; https://b.example/ok"),
        fake_row(name="zorvan  quillet", disclosed="2021-01-01"),  # the same person again, spelt differently
        fake_row(name=""),
        fake_row(name="Sefa Ondrik", attack_result="Blocked"),
    ]
    victims = tmp_path / "source"
    victims.mkdir()
    with (victims / pegasus_victims.FILE).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fake_header(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        fh.write("Ulla Prenzik,too,few,fields\n")
    monkeypatch.delenv(SALT_ENV, raising=False)
    raw = make_raw(tmp_path / "project", victims)
    result = clean(raw, tmp_path / "project" / "data" / "processed")
    rejects = result.rejects[result.rejects["source_file"] == VICTIMS_FILE].set_index("source_row")
    assert rejects["reason_code"].to_dict() == {
        3: "unknown_country",
        4: "unparseable_date",
        5: "future_date",
        6: "unknown_category",
        9: "missing_value",
        10: "unknown_category",
        11: "malformed_row",
    }
    names = [r["name"] for r in rows] + ["Ulla Prenzik"]
    assert not named(written_text(tmp_path / "project" / "data" / "processed"), names)
    assert '"victim_id": "v-' in rejects.loc[3, "raw_values"] and "Atlantis" in rejects.loc[3, "message"]
    kept = result.tables["evidence"].query("source_file == @VICTIMS_FILE").set_index("source_row")
    assert kept.loc[7, "source_urls"] == ["https://b.example/ok"]
    assert kept.loc[8, "victim_id"] == kept.loc[2, "victim_id"]
    assert kept.loc[8, "evidence_id"] == kept.loc[2, "evidence_id"] + "-2"
    assert result.reconciliation.set_index("source_file").loc[VICTIMS_FILE, "reconciled"]


# --- curated findings -------------------------------------------------------------------------------------


def curated_rows(name: str) -> list[dict[str, str]]:
    with (CURATED_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", [curated.EVIDENCE, curated.ENTITIES, curated.RELATIONS])
def test_every_curated_row_cites_its_source(name):
    rows = curated_rows(name)
    assert rows
    for i, row in enumerate(rows, start=2):
        urls = row["source_urls"].split("; ")
        assert all(re.fullmatch(r"https?://[^\s;]+", u) for u in urls), (name, i)  # as read: some sites were http


def test_curated_findings_one_line_per_country_with_date_kind_and_strength(project):
    ev = project.evidence[project.evidence["source"] == "curated"]
    per = ev.groupby("evidence_id", sort=False)
    summary = {
        k.removeprefix("curated:"): (len(g), g["published_date"].iloc[0].date().isoformat(), set(g["kind"]))
        for k, g in per
    }
    nso = {
        "citizenlab-2016-million-dollar-dissident": (1, "2016-08-24", {"published_finding"}),
        "citizenlab-2018-hide-and-seek": (6, "2018-09-18", {"published_finding"}),
        "whatsapp-complaint-2019": (3, "2019-10-29", {"legal_complaint"}),
        "citizenlab-2020-running-in-circles": (25, "2020-12-01", {"vendor_customer_report"}),
        "pegasus-project-2021": (11, "2021-07-18", {"published_finding"}),
        "us-entity-list-2021": (2, "2021-11-03", {"entity_listing"}),
        "ep-pega-2023": (4, "2023-05-22", {"published_finding"}),
        "ep-pega-2023-export-hubs": (2, "2023-05-22", {"export_hub_finding"}),
    }
    assert {k: summary[k] for k in nso} == nso  # the other vendors' findings: tests/test_curated.py
    by_id = {k.removeprefix("curated:"): g for k, g in per}
    hide = by_id["citizenlab-2018-hide-and-seek"]
    assert set(hide["country_code"]) == {"BHR", "KAZ", "MEX", "MAR", "SAU", "ARE"}
    assert hide["source_urls"].iloc[0][0].startswith("https://citizenlab.ca/2018/09/hide-and-seek")
    circles = by_id["citizenlab-2020-running-in-circles"]
    assert set(circles["country_role"]) == {"customer"} and set(circles["strength"]) == {"customer_relation_only"}
    assert set(circles["vendor_entity_id"]) == {"circles-bulgaria"} and "VNM" in set(circles["country_code"])
    listing = by_id["us-entity-list-2021"].set_index("vendor_name")
    assert listing.loc[["NSO Group", "Candiru"], "vendor_entity_id"].tolist() == ["nso-group", "candiru"]
    assert set(listing["country_role"]) == {"no_country"} and listing["country_code"].isna().all()
    assert set(by_id["ep-pega-2023"]["country_code"]) == {"POL", "HUN", "GRC", "ESP"}
    hubs = by_id["ep-pega-2023-export-hubs"]
    assert set(hubs["country_code"]) == {"CYP", "BGR"} and set(hubs["country_role"]) == {"export_hub"}


def test_curated_evidence_errors_become_rejects_with_reasons(tmp_path):
    header = list(curated_rows(curated.EVIDENCE)[0])
    good = curated_rows(curated.EVIDENCE)[0]
    bad = [
        {**good, "kind": "rumour"},
        {**good, "source_urls": ""},
        {**good, "country": "Atlantis"},
        {**good, "published_date": "2999-01-01"},
        {**good, "country_role": "customer", "country": ""},
        {**good, "country_role": "no_country"},
        good,
    ]
    folder = tmp_path / "data" / "raw" / curated.NAME
    folder.mkdir(parents=True)
    with (folder / curated.EVIDENCE).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows([good, *bad])
    result = clean(tmp_path / "data" / "raw", tmp_path / "data" / "processed")
    reasons = result.rejects.set_index("source_row")["reason_code"].to_dict()
    assert reasons == {
        3: "unknown_category",
        4: "missing_value",
        5: "unknown_country",
        6: "future_date",
        7: "missing_value",
        8: "inconsistent_values",
        9: "duplicate_row",
    }
    assert result.tables["evidence"]["source_row"].tolist() == [2]
    assert {"curated/entities.csv", "curated/relations.csv", "pegasus-victims"} <= set(result.skipped)


# --- no look-ahead ----------------------------------------------------------------------------------------


def test_evidence_published_on_the_decision_day_is_not_yet_known(project):
    uae = project.evidence[project.evidence["country_code"] == "ARE"]
    before = len(evidence_as_of(uae, "2016-08-24"))
    assert len(evidence_as_of(uae, "2016-08-25")) == before + 2  # the Citizen Lab finding and the victim entry
    assert len(evidence_as_of(uae, pd.Timestamp("2016-08-24 23:59"))) == before


@settings(max_examples=300, deadline=None)
@given(t=st.datetimes(min_value=pd.Timestamp("2010-01-01"), max_value=pd.Timestamp("2030-12-31")))
def test_nothing_as_of_t_became_public_on_or_after_t(project, t):
    ev = project.evidence
    known = evidence_as_of(ev, t)
    assert (known["published_date"] < pd.Timestamp(t)).all()
    assert (known["published_date"] < pd.Timestamp(t).normalize()).all()
    assert len(known) == (ev["published_date"] < pd.Timestamp(t).normalize()).sum()  # and nothing is held back


@settings(max_examples=100, deadline=None)
@given(
    queries=st.lists(
        st.tuples(
            st.sampled_from(["ARE", "MEX", "SAU", "IND", "POL", "CYP", "FRA"]),
            st.dates(min_value=pd.Timestamp("2015-01-01").date(), max_value=pd.Timestamp("2024-12-31").date()),
        ),
        max_size=20,
    )
)
def test_many_country_queries_at_once_equal_one_query_at_a_time(project, queries):
    ev = project.evidence
    asked = pd.DataFrame(queries, columns=["country_code", "as_of_date"])
    found = country_evidence_as_of(ev, asked)
    assert (found["published_date"] < found["as_of_date"]).all()
    for i, (country, date) in enumerate(queries):
        one = evidence_as_of(ev[ev["country_code"] == country], date)
        got = found[found["query"] == i]
        key = ["evidence_id", "line_no"]
        assert sorted(got[key].itertuples(index=False)) == sorted(one[key].itertuples(index=False))
