"""fetch: sources copied from a mirror or downloaded, whole or not at all, with checksums recorded."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

from exportrisk.cli import main
from exportrisk.config import CURATED_DIR
from exportrisk.ingest.fetch import fetch_source, sha256
from exportrisk.ingest.registry import sources


def test_mirror_fetch_records_provenance_and_matches_registry(tmp_path, shared_datasets):
    result = fetch_source(sources()["caat-uk"], tmp_path, shared_datasets)
    assert result.status == "fetched"
    manifest = json.loads((tmp_path / "caat-uk" / "fetch.json").read_text())
    values = manifest["files"]["values.csv"]
    assert values["sha256"] == sources()["caat-uk"].files["values.csv"]
    assert values["sha256"] == sha256((shared_datasets / "caat-uk" / "values.csv").read_bytes())
    assert all(f["matches_registry"] for f in manifest["files"].values())
    assert manifest["citation"] and manifest["licence"] and manifest["retrieved"]
    assert fetch_source(sources()["caat-uk"], tmp_path, shared_datasets).status == "unchanged"


def test_unreachable_source_is_reported_and_nothing_is_written(tmp_path):
    offline = replace(sources()["pts"], base_url=(tmp_path / "nowhere").as_uri() + "/")
    result = fetch_source(offline, tmp_path / "raw", None)
    assert result.status == "unavailable"
    assert "network" in result.detail
    assert not (tmp_path / "raw" / "pts").exists()


def test_partial_mirror_writes_no_partial_source(tmp_path, shared_datasets):
    mirror = tmp_path / "mirror" / "caat-uk"
    mirror.mkdir(parents=True)
    shutil.copy(shared_datasets / "caat-uk" / "values.csv", mirror)
    result = fetch_source(sources()["caat-uk"], tmp_path / "raw", tmp_path / "mirror")
    assert result.status == "unavailable" and "ratings.csv" in result.detail
    assert not (tmp_path / "raw" / "caat-uk").exists()


def test_cli_says_which_sources_are_unavailable_one_line_each(tmp_path, shared_datasets, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    shutil.copytree(shared_datasets / "pts", mirror / "pts")
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path / "project"))
    assert main(["fetch", "--from", str(mirror)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "pts: fetched" in "\n".join(out)
    unavailable = [line for line in out if ": unavailable: " in line]
    assert {line.split(":")[0] for line in unavailable} == set(sources()) - {"pts", "curated"}  # curated: package data
    assert Path(tmp_path / "project" / "data" / "raw" / "pts" / "PTS-2024.csv").is_file()


def test_curated_source_is_copied_from_the_package_whatever_the_mirror(tmp_path):
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    result = fetch_source(sources()["curated"], tmp_path / "raw", empty_mirror)
    assert result.status == "fetched" and "package data" in result.detail
    copied = {p.name: p.read_bytes() for p in (tmp_path / "raw" / "curated").iterdir() if p.name != "fetch.json"}
    assert copied == {p.name: p.read_bytes() for p in CURATED_DIR.iterdir() if p.is_file()}
    assert {"reported_licences.csv", "exportrisk.yaml", "entities.csv"} <= set(copied)
    manifest = json.loads((tmp_path / "raw" / "curated" / "fetch.json").read_text())
    assert set(manifest["files"]) == set(copied) and manifest["licence"].startswith("MIT")
    assert fetch_source(sources()["curated"], tmp_path / "raw", None).status == "unchanged"
