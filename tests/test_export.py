"""exportrisk export: a Frictionless data package (CSV and Parquet) and a SQLite database for Datasette, from
a real project (the Pegasus victim database, the curated source and a researcher's CSV whose cells a
spreadsheet would run as formulas), byte-identical across runs, valid, and naming no victim.

(An export of every source, 500,000 rows, validates too, in minutes: too long for the suite.)"""

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from exportrisk.errors import InputError
from exportrisk.ingest.clean import clean
from exportrisk.ingest.files import neutralise_formulas
from exportrisk.publish.export import export
from exportrisk.publish.tables import PUBLISHED, check_publishable
from exportrisk.reference import pseudonyms
from exportrisk.reporting import runner as report_runner
from exportrisk.reporting import sections as reports
from exportrisk.schema import TABLES
from exportrisk.scoring import score as scoring
from tests import privacy
from tests.conftest import make_project, run_cli

FORMULAS = {"X-1": '=HYPERLINK("http://x","y")', "X-2": "@SUM(A1)"}
MAPPING = """\
file: licences.csv
licensing_country: NLD
licence_kind: export
confidence: reported
source_url: https://example.org/csv-injection
columns:
  licence_id: id
  decision_date: {column: date, format: ISO}
  destination_raw: destination
  control_code_raw: code
  outcome: outcome
  exporter_name: exporter
  goods_description: goods
"""
LICENCES = """\
id,date,destination,code,outcome,exporter,goods
X-1,2019-03-01,Mexico,5A001f,issued,"=HYPERLINK(""http://x"",""y"")",interception equipment
X-2,2019-04-01,Saudi Arabia,5A001j,issued,@SUM(A1),+31 20 555 0100
X-3,2019-05-01,Bulgaria,5A001f,refused,Acme,-2+3
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    root = make_project(tmp_path_factory.mktemp("export"), ["curated", "pegasus-victims"], shared_datasets)
    researcher = root / "data" / "raw" / "injected"
    researcher.mkdir()
    (researcher / "exportrisk.yaml").write_text(MAPPING)
    (researcher / "licences.csv").write_text(LICENCES)
    clean(root / "data" / "raw", root / "data" / "processed")
    scoring.run(root / "data" / "processed")
    run_cli(root, "export")
    return root


@pytest.fixture(scope="module")
def published(project: Path) -> Path:
    return project / "reports" / "data"


def test_export_is_byte_identical_across_runs(project, published, tmp_path):
    again = tmp_path / "again"
    export(project / "data", again)
    files = sorted(p.relative_to(published) for p in published.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert len(files) == 3 + 2 * len(PUBLISHED)
    assert all((published / f).read_bytes() == (again / f).read_bytes() for f in files)
    assert not [p for p in published.rglob("*") if p.name.startswith(".")]  # no temporary file left


def test_data_package_validates_with_frictionless(published):
    frictionless = Path(sys.executable).with_name("frictionless")
    done = subprocess.run(
        [str(frictionless), "validate", "datapackage.json"], cwd=published, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:]
    descriptor = json.loads((published / "datapackage.json").read_text())
    names = [r["name"] for r in descriptor["resources"]]
    assert names == [n for t in PUBLISHED for n in (t, f"{t}-parquet")]
    licences = next(r for r in descriptor["resources"] if r["name"] == "licences")
    assert [f["name"] for f in licences["schema"]["fields"]] == TABLES["licences"].columns
    assert licences["schema"]["primaryKey"] == ["licence_id", "line_no"]


def test_sqlite_opens_with_every_table_and_its_descriptions(project, published):
    with contextlib.closing(sqlite3.connect(published / "exportrisk.sqlite")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
        assert tables == list(PUBLISHED)
        for name in PUBLISHED:
            rows = db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            assert rows == len(pd.read_parquet(published / "parquet" / f"{name}.parquet"))
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'licences'").fetchone()[0]
        first = db.execute("SELECT decision_date, value FROM licences WHERE licence_id = 'curated:cy-2021-12-isr'")
        assert first.fetchone() == ("2021-12-01", 200000.0)
    assert "-- ISO 3166 alpha-3 code of the state that decided the licence." in sql
    metadata = json.loads((published / "metadata.json").read_text())["databases"]["exportrisk"]["tables"]
    assert set(metadata) == set(PUBLISHED)
    assert set(metadata["scores"]["columns"]) == set(TABLES["scores"].columns)
    assert all(metadata["scores"]["columns"].values())


def test_published_csv_neutralises_formulas_but_parquet_and_sqlite_keep_values(published):
    csv = pd.read_csv(published / "csv" / "licences.csv", dtype=str).set_index("licence_id")
    parquet = pd.read_parquet(published / "parquet" / "licences.parquet").set_index("licence_id")
    for licence, formula in FORMULAS.items():
        assert csv.loc[f"injected:{licence}", "exporter_name"] == "'" + formula
        assert parquet.loc[f"injected:{licence}", "exporter_name"] == formula
    assert csv.loc["injected:X-2", "goods_description"] == "'+31 20 555 0100"
    assert csv.loc["injected:X-3", "goods_description"] == "'-2+3"
    assert csv.loc["injected:X-3", "exporter_name"] == "Acme"
    with contextlib.closing(sqlite3.connect(published / "exportrisk.sqlite")) as db:
        stored = db.execute("SELECT exporter_name FROM licences WHERE licence_id = 'injected:X-1'").fetchone()
    assert stored == (FORMULAS["X-1"],)


def test_no_victim_entry_id_or_name_is_published(project, published, shared_datasets):
    processed = project / "data" / "processed"
    evidence = pd.read_parquet(processed / "evidence.parquet")
    lines = pd.read_parquet(processed / "score_lines.parquet")
    victims = evidence["source"].eq("pegasus-victims")
    assert victims.sum() >= 129 and evidence["victim_id"].notna().eq(victims).all()  # in the project's tables ...
    assert lines["evidence_ids"].explode().str.contains(pseudonyms.VICTIM_EVIDENCE_ID).any()
    exported = pd.read_parquet(published / "parquet" / "evidence.parquet")
    assert "victim_id" not in exported and not exported["source"].eq("pegasus-victims").any()  # ... not here
    assert len(exported) == len(evidence) - victims.sum()
    shown = pd.read_csv(published / "csv" / "score_lines.csv", dtype=str)["evidence_ids"].dropna()
    assert shown.str.contains(r"\d+ victim entr").any()
    names = pd.read_csv(shared_datasets / "pegasus-victims" / "data-pegasus-victims.csv")["name"].dropna().tolist()
    with contextlib.closing(sqlite3.connect(published / "exportrisk.sqlite")) as db:
        dump = "\n".join(db.iterdump())
    texts = [dump, *(p.read_text(encoding="utf-8") for p in published.rglob("*") if p.suffix in (".csv", ".json"))]
    for text in texts:
        assert not re.search(r"v-[0-9a-f]{16}", text)
        assert privacy.named(text, names) == []


def test_export_refuses_a_table_that_would_name_or_show_a_victim():
    pattern = pseudonyms.name_pattern(pd.Series(["Ana Perez"]))
    with pytest.raises(InputError, match="would show a victim's id"):
        check_publishable("relations", pd.DataFrame({"note": ["see pegasus-victims:v-0123456789abcdef"]}), pattern)
    with pytest.raises(InputError, match="would name a victim") as refused:
        check_publishable("relations", pd.DataFrame({"note": ["the phone of Perez"]}), pattern)
    assert "Perez" not in str(refused.value)


def test_neutralise_formulas_as_owasp_lists_them():
    table = pd.DataFrame(
        {
            "text": ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "a=b", "", None],
            "number": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        }
    ).astype({"text": "string"})
    out = neutralise_formulas(table)
    assert out["text"].tolist()[:7] == ["'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", "a=b"]
    assert out["text"].iloc[7] == "" and out["text"].isna().iloc[8]
    assert out["number"].equals(table["number"]) and table["text"].iloc[0] == "=1+1"


def test_cli_export_without_tables_is_one_line(tmp_path, monkeypatch, capsys):
    from exportrisk.cli import main

    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    assert main(["export"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "licences.parquet" in err and "exportrisk clean" in err
    assert not (tmp_path / "reports").exists()


def test_the_report_sites_index_links_the_data_exported_beside_it(project, tmp_path):
    site = tmp_path / "reports"
    site.mkdir()
    report_runner.write_index(site)  # a report site, before any export
    assert "data/datapackage.json" not in (site / reports.INDEX).read_text(encoding="utf-8")
    export(project / "data", site / "data")
    links = re.findall(r"href='(data/[^']+)'", (site / reports.INDEX).read_text(encoding="utf-8"))
    assert links == ["data/datapackage.json", "data/exportrisk.sqlite"]
    assert all((site / link).is_file() for link in links)
