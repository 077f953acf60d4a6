"""A run you can watch: a log with timestamps and levels in data/logs/ (never in the published reports/), the
terminal showing what it always did, and a JSON summary of every build."""

import json
import re
import shutil

import pyarrow.parquet as pq

from exportrisk import cli
from exportrisk.cli import EXIT_SOURCE_MISSING
from exportrisk.ingest.registry import sources
from tests.conftest import make_project, run_cli

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"


def test_messages_go_to_the_log_with_time_and_level_and_to_the_terminal_without(tmp_path, shared_datasets):
    root = make_project(tmp_path, ["curated"], shared_datasets)
    out = run_cli(root, "clean")
    assert re.search(r"^clean: wrote licences \(2 rows\)", out, re.M)
    log = (root / "data" / "logs" / "exportrisk.log").read_text()
    assert re.search(rf"^{STAMP} INFO exportrisk\.cli: clean: wrote licences \(2 rows\)", log, re.M)
    assert re.search(rf"^{STAMP} WARNING exportrisk\.cli: caat-uk: no raw data", log, re.M)
    assert not re.search(STAMP, out) and not (root / "reports").exists()


def test_an_error_is_one_line_on_stderr_and_an_error_in_the_log(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    assert cli.main(["export"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    log = (tmp_path / "data" / "logs" / "exportrisk.log").read_text()
    assert re.search(rf"^{STAMP} ERROR exportrisk\.cli: .*licences\.parquet: table is missing", log, re.M)


def test_build_leaves_a_summary_a_scheduler_can_read(tmp_path, shared_datasets, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    shutil.copytree(shared_datasets / "pts", mirror / "pts")
    root = tmp_path / "project"
    monkeypatch.setenv("EXPORTRISK_ROOT", str(root))
    assert cli.main(["build", "--from", str(mirror), "--period", "1990"]) == EXIT_SOURCE_MISSING
    out = capsys.readouterr().out
    assert "missing with no earlier copy" in out.splitlines()[-2] and "build: summary in " in out
    assert f"\n  caat-uk: not available from the mirror: {mirror / 'caat-uk' / 'values.csv'} is missing" in out
    logs = root / "data" / "logs"
    summary = json.loads((logs / "last-build.json").read_text())
    assert [json.loads(p.read_text()) for p in (logs / "builds").iterdir()] == [summary]
    assert summary["exit_code"] == EXIT_SOURCE_MISSING and summary["error"] is None
    assert summary["started"] <= summary["finished"] and summary["arguments"]["period"] == "1990"
    assert [s["name"] for s in summary["steps"]] == ["fetch", "clean", "score", "report"]
    assert [s["status"] for s in summary["steps"]] == ["incomplete", "done", "done", "done"]
    assert all(s["seconds"] > 0 for s in summary["steps"])
    by_source = {s["source"]: s for s in summary["sources"]}
    assert set(by_source) == set(sources())
    assert by_source["pts"]["status"] == "fetched" and by_source["curated"]["status"] == "fetched"
    caat = by_source["caat-uk"]
    assert caat["status"] == "unavailable" and not caat["present"]
    assert (
        caat["detail"]
        == f"not available from the mirror: {mirror / 'caat-uk' / 'values.csv'} is missing; no earlier copy"
    )
    assert summary["reports"] == {"written": 0, "failed": {}}
    processed = root / "data" / "processed"
    assert summary["tables"] == {p.stem: pq.read_metadata(p).num_rows for p in processed.glob("*.parquet")}
    assert summary["tables"]["licences"] == 2 and summary["tables"]["indicators"] > 10_000
    assert not list((root / "reports").rglob("*.log"))
