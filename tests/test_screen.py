"""`exportrisk screen` on the real data: the founding case (Circles Bulgaria to the UAE, May 2019), point in time,
memos as HTML and PDF without victims, the same scorer as the pipeline, a CSV of many, errors and exit codes."""

import contextlib
import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from exportrisk import cli
from exportrisk.ingest.sources import pegasus_victims
from exportrisk.reference import pseudonyms
from exportrisk.schema import BANDS
from exportrisk.scoring import score as scoring
from exportrisk.screening import applications, findings, runner, screen
from tests.conftest import cleaned_project, run_cli
from tests.privacy import named

SOURCES = ["pts", "freedomhouse", "pegasus-victims", "caat-uk"]
FOUNDING = ["--exporter", "Circles Bulgaria", "--destination", "ARE", "--goods", "5A001.f"]
MANSOOR_CASE = "https://citizenlab.ca/2016/08/million-dollar-dissident-iphone-zero-day-nso-group-uae/"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    return cleaned_project(tmp_path_factory.mktemp("screen"), SOURCES, shared_datasets)


@pytest.fixture(scope="module")
def tables(root: Path) -> findings.Tables:
    return screen.read_tables(root / "data" / "processed")


def exit_code(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.setenv("EXPORTRISK_ROOT", str(root))
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_founding_case_prints_band_reason_path_and_the_uae_evidence_before_the_letter(root):
    out = run_cli(root, "screen", *FOUNDING, "--date", "2019-05-14", "--id", "letter")
    first = out.splitlines()[0]
    table = pd.read_csv(root / "reports" / "screening" / runner.TABLE)
    band = table.loc[0, "band"]
    assert BANDS.index(band) >= BANDS.index("Very high")  # a named operator and a link to NSO's misuse
    assert first.startswith(f"letter: {band}: ") and "(score " in first
    assert "exporter linked to misuse" in first
    assert "Circles Bulgaria -[merged_with 2014]-> NSO Group Technologies Ltd" in out
    # Novalpina owned NSO from 2019-02-14, Francisco Partners until that day: the network as it stood
    assert "<-[owner_of 2019-02-14 to 2021]- Novalpina Capital" in out and "Francisco Partners" not in out
    evidence = [line for line in out.splitlines() if line.startswith("  20") and "https://" in line]
    assert MANSOOR_CASE in " ".join(evidence)
    assert all(line[2:12] < "2019-05-14" for line in evidence)
    assert "whatsapp" not in out.lower()  # the complaint of 2019-10-29 was not public yet
    folder = root / "reports" / "screening"
    page = (folder / "screening-letter.html").read_text(encoding="utf-8")
    assert "Circles Bulgaria -[merged_with 2014]-&gt; NSO Group Technologies Ltd" in page
    assert f'href="{MANSOOR_CASE}"' in page
    assert "reported after this date" in page  # the Circles-NSO link is in our sources only from 2021
    assert (folder / "screening-letter.pdf").read_bytes().startswith(b"%PDF-")
    assert table.loc[0, "exporter_entity_id"] == "circles-bulgaria"


def test_before_the_mansoor_case_was_public_it_is_not_counted(root, tmp_path):
    out = run_cli(root, "screen", *FOUNDING, "--date", "2016-01-01", "--out", str(tmp_path))
    assert MANSOOR_CASE not in out
    assert MANSOOR_CASE not in (tmp_path / "screening-app-1.html").read_text(encoding="utf-8")
    before = pd.read_csv(tmp_path / runner.TABLE).iloc[0]
    after = run_cli(root, "screen", *FOUNDING, "--date", "2016-08-25", "--out", str(tmp_path), "--no-memos")
    assert MANSOOR_CASE in after and "citizenlab-2016-million-dollar-dissident" in after
    assert pd.read_csv(tmp_path / runner.TABLE).iloc[0]["e_score"] > before["e_score"]
    assert "exporter_linked" not in str(before["flags"])  # NSO's misuse was not yet public on 2016-01-01


def test_screening_scores_with_the_pipelines_scorer(root, tables):
    apps = applications.check_applications(
        applications.from_flags({"exporter": "Circles Bulgaria", "destination": "ARE", "goods": "5A001.f; 5D001.a",
                                 "date": "2019-05-14", "end_user_type": "police"}),
        "--flags",
        tables.entities,
    )  # fmt: skip
    cfg = scoring.load_config()
    memo = screen.screen(apps, tables, cfg).memo(0)
    direct = scoring.score_against(applications.licence_lines(apps), tables.as_scoring(), cfg)
    assert memo.lines["score"].tolist() == direct["score"].tolist() and len(direct) == 2
    assert memo.top["score"] == direct["score"].max()
    # what would change the band: each alternative is the same scorer on the line with one input changed
    for change in memo.changes.itertuples():
        assert change.band != memo.band


def test_the_smallest_change_is_named_and_really_moves_the_band(root, tables):
    apps = applications.check_applications(
        applications.from_flags({"exporter": "Some Trading Ltd", "destination": "USA", "goods": "5A001.f",
                                 "date": "2015-06-01", "licensing_country": "GBR", "end_user_type": "private"}),
        "--flags",
        tables.entities,
    )  # fmt: skip
    cfg = scoring.load_config()
    memo = screen.screen(apps, tables, cfg).memo(0)
    assert memo.exporter is None and memo.network is None and len(memo.changes)
    smallest = memo.changes.iloc[0]
    assert (memo.changes["delta"].abs() >= abs(smallest["delta"])).all()
    assert smallest["change"].startswith("end user ") and smallest["change"].endswith(" instead of private")
    # the same line with that end user, scored directly, is what the memo says, in another band
    other = smallest["change"].split()[2]
    variant = applications.licence_lines(apps).assign(end_user_type=None if other == "unknown" else other)
    direct = scoring.score_against(variant, tables.as_scoring(), cfg).iloc[0]
    assert direct["score"] == smallest["score"] and str(direct["band"]) == str(smallest["band"]) != memo.band


def test_a_csv_of_applications_gives_one_row_each_and_is_reproducible(root, tmp_path):
    path = tmp_path / "apps.csv"
    rows = [
        {"application_id": "a1", "exporter": "Circles Bulgaria", "destination": "Mexico", "goods": "5A001.f",
         "date": "2019-05-14", "end_user_type": "police"},
        {"application_id": "a2", "exporter": "HT S.r.l.", "destination": "Saudi Arabia", "goods": "intrusion software",
         "date": "2015-06-01", "licensing_country": "ITA"},
        {"application_id": "a3", "exporter": "Unknown Exports Ltd", "destination": "NLD", "goods": "5A002",
         "date": "2020-01-01", "licensing_country": "GBR", "value": "1000", "currency": "EUR"},
    ]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, applications.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    run_cli(root, "screen", "--csv", str(path), "--out", str(out))
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    table = pd.read_csv(out / runner.TABLE).set_index("application_id")
    assert table.index.tolist() == ["a1", "a2", "a3"]
    assert table.loc["a2", "exporter_entity_id"] == "hacking-team"  # Hacking Team's legal name
    assert "curated:citizenlab-2014-mapping-hacking-team" not in str(table.loc["a2", "reason"])
    assert pd.isna(table.loc["a3", "exporter_entity_id"]) and table.loc["a3", "network_misuse"] == 0
    assert {"screening-a1.pdf", "screening-a2.html", "screening-a3.pdf"} <= set(first)
    run_cli(root, "screen", "--csv", str(path), "--out", str(out))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_memos_name_no_victim_and_show_no_victim_id(root, shared_datasets):
    with (shared_datasets / pegasus_victims.NAME / "data-pegasus-victims.csv").open(encoding="utf-8") as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    run_cli(root, "screen", *FOUNDING, "--date", "2022-01-01", "--id", "later")
    page = (root / "reports" / "screening" / "screening-later.html").read_text(encoding="utf-8")
    assert "Pegasus victim database" in page  # victim entries are there, counted
    assert not named(page, names) and not pseudonyms.VICTIM_EVIDENCE_ID.search(page)


def test_fail_at_gives_an_exit_code_a_pipeline_can_use(root, tmp_path):
    args = ["screen", *FOUNDING, "--out", str(tmp_path), "--no-memos"]
    assert exit_code(root, *args, "--date", "2019-05-14", "--fail-at", "High")[0] == 3
    early = pd.read_csv(tmp_path / runner.TABLE) if exit_code(root, *args, "--date", "2016-01-01")[0] == 0 else None
    assert early is not None and early.loc[0, "band"] != "Critical"
    assert exit_code(root, *args, "--date", "2016-01-01", "--fail-at", "Critical")[0] == 0


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"date": "14/05/2019"}, "date"),
        ({"destination": "Atlantis"}, "destination"),
        ({"goods": ""}, "goods"),
        ({"value": "lots"}, "value"),
        ({"exporter": "Unknown Exports Ltd"}, "licensing_country"),
    ],
)
def test_a_bad_application_is_one_line_naming_row_and_column_and_writes_nothing(root, tmp_path, cells, column):
    good = {"application_id": "ok", "exporter": "Circles Bulgaria", "destination": "ARE", "goods": "5A001.f",
            "date": "2019-05-14"}  # fmt: skip
    path = tmp_path / "apps.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, applications.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows([good, {**good, "application_id": "bad", **cells}])
    code, _, err = exit_code(root, "screen", "--csv", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and f"apps.csv, row 3, column '{column}'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


# --- exporter matching on real licence data -----------------------------------------------------------------


def finnish_dual_use_exporters(shared: Path) -> pd.DataFrame:
    """The exporters of Finland's dual-use licences (SaferGlobe), one licence line per row, read as they stand."""
    book = shared / "fi-saferglobe-arms-exports" / "saferglobe_arms_exports_dataset_v2-3.xlsx"
    sheet = pd.read_excel(book, sheet_name="exp_licences_dual-use", dtype="string", usecols=["Exporter"])
    return pd.DataFrame(
        {"licence_id": "fi:" + sheet.index.astype(str), "line_no": 1, "exporter_name": sheet["Exporter"].str.strip()}
    ).assign(end_user_name=pd.NA)


def test_real_finnish_exporters_match_by_reviewed_names_and_near_misses_go_to_review(root, tables, shared_datasets):
    from exportrisk.screening import review

    licences = finnish_dual_use_exporters(shared_datasets)
    found, near = review.write_review(licences, tables.entities, root / "data" / "processed")
    nsn = found[found["entity_id"].eq("nokia-siemens-networks")].set_index("name_raw")
    assert nsn.loc["Nokia Siemens Networks", "match_type"] == "exact"
    assert nsn.loc["Nokia Siemens Networks Oy", "n_lines"] == 193  # the reviewed alias
    assert set(found["entity_id"]) == {"nokia-siemens-networks"}  # no other Finnish exporter is in the network
    # 'Nokia Technologies Oy' looks like 'OSY Technologies': listed for review, never matched
    written = pd.read_csv(root / "data" / "processed" / review.REVIEW_FILE)
    assert len(written) == len(near) and set(written["name_raw"]) == set(near["name_raw"])
    row = written.set_index("name_raw").loc["Nokia Technologies Oy"]
    assert (row["entity_id"], row["reason"]) == ("osy-technologies", "similar_name")
    assert "Nokia Technologies Oy" not in set(found["name_raw"])
    # Nokia Solutions and Networks Oy (NSN's later name) is not in the fact sheets: neither matched nor guessed
    assert "Nokia Solutions and Networks Oy" not in set(found["name_raw"])


# --- the founding case in the Bulgaria and Cyprus licensing reports ------------------------------------------


def test_founding_case_section_shows_sources_caveats_and_worked_scores(root, tables):
    from exportrisk.reporting import sections

    curated = tables.licences[tables.licences["source"].eq("curated")]
    scores = scoring.score_against(curated, tables.as_scoring(), scoring.load_config())
    scored = sections.scored_lines(curated, scores)
    bulgaria = sections.founding_section(scored, "BGR")
    cyprus = sections.founding_section(scored, "CYP")
    bg, cy = bulgaria.table.iloc[0], cyprus.table.iloc[0]
    assert bg["source"].startswith("https://kinsights.capital.bg/") and bg["confidence"] == "reported"
    assert bg["caveats"].split("; ") == [
        "decision date not reported (the report's date shown)",
        "goods, code and destination not stated",
    ]
    assert cy["caveats"].split("; ") == [
        "value is a lower bound",
        "date known only to the month (first day shown)",
        "control code read by us, not the report's",
    ]
    assert (cy["decided"], cy["destination"], cy["control_code"], cy["value"]) == (
        "2021-12-01",
        "ISR",
        "5A001.f",
        200000,
    )
    for row in (bg, cy):  # components, floors, the score and band, the interval over missing inputs
        assert re.fullmatch(
            r"(D [\d.]+, )?.*I [\d.]+, X [\d.]+.*: [\d.]+, [\w ()-]+ \(best [\d.]+, worst [\d.]+\)", row["explanation"]
        )
        assert (
            row["explanation"]
            .split(": ")[-1]
            .startswith(f"{scores.set_index('licence_id').loc[row['licence'], 'score']:.1f}")
        )
    for section in (bulgaria, cyprus):
        assert (
            "export hub" in section.text
            and "https://www.europarl.europa.eu/doceo/document/A-9-2023-0189_EN.html" in section.text
        )
        assert "before 2021" in section.text


def test_the_api_screens_as_the_command_does(root, tmp_path, monkeypatch):
    import exportrisk as er

    monkeypatch.setenv("EXPORTRISK_ROOT", str(root))
    found = er.screen("Circles Bulgaria", "ARE", "5A001.f", pd.Timestamp("2019-05-14"), out=tmp_path, memos=False)
    run_cli(root, "screen", *FOUNDING, "--date", "2019-05-14", "--out", str(tmp_path / "cli"), "--no-memos")
    cli_row = pd.read_csv(tmp_path / "cli" / runner.TABLE).iloc[0]
    assert found.loc[0, "band"] == cli_row["band"]
    assert found.loc[0, "score"] == pytest.approx(cli_row["score"]) and found.loc[0, "reason"] == cli_row["reason"]
    assert not list(tmp_path.glob("*.pdf"))
