"""fetch: sources copied from a mirror or downloaded (from a server on 127.0.0.1 here), whole or not at all,
checked against the registry's sha256, with what happened and why said in one line per source."""

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from exportrisk.cli import EXIT_SOURCE_MISSING, main
from exportrisk.config import CURATED_DIR
from exportrisk.errors import InputError
from exportrisk.ingest.fetch import STAGING_PREFIX, altered, fetch_all, fetch_source, file_sha256, sha256, verify
from exportrisk.ingest.registry import sources


class Server(http.server.ThreadingHTTPServer):
    """Serves files from ``folder``; ``faults`` maps a path to answers given before the file is (503, 404,
    'truncated': headers announce the whole file, half of it is sent, the connection closes)."""

    def __init__(self, folder: Path):
        super().__init__(("127.0.0.1", 0), Handler)
        self.folder, self.faults, self.requests = folder, {}, []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.requests.append(name)
        fault = self.server.faults.get(name, []).pop(0) if self.server.faults.get(name) else None
        path = self.server.folder / name
        if fault in (503, 404) or not path.is_file():
            self.send_error(fault or 404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if fault == "truncated" else body)

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def server(tmp_path: Path, shared_datasets: Path) -> Iterator[Server]:
    """The PTS file served from 127.0.0.1 (never any outside address)."""
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(shared_datasets / "pts" / "PTS-2024.csv", folder)
    srv = Server(folder)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def served_pts(server: Server):
    return sources()["pts"].model_copy(update={"base_url": server.url})


def test_mirror_fetch_records_provenance_and_matches_registry(tmp_path, shared_datasets):
    result = fetch_source(sources()["caat-uk"], tmp_path, shared_datasets)
    assert result.status == "fetched"
    manifest = json.loads((tmp_path / "caat-uk" / "fetch.json").read_text())
    values = manifest["files"]["values.csv"]
    assert values["sha256"] == sources()["caat-uk"].files["values.csv"]
    assert values["sha256"] == sha256((shared_datasets / "caat-uk" / "values.csv").read_bytes())
    assert values["pinned"] and not manifest["files"]["ratings.csv"]["pinned"]
    assert values["bytes"] == (shared_datasets / "caat-uk" / "values.csv").stat().st_size
    assert manifest["citation"] and manifest["licence"] and manifest["retrieved"]
    assert fetch_source(sources()["caat-uk"], tmp_path, shared_datasets).status == "unchanged"


def test_download_is_streamed_to_disk_and_checked(tmp_path, server, shared_datasets):
    result = fetch_source(served_pts(server), tmp_path / "raw", None, retries=0)
    assert result.status == "fetched" and server.url in result.detail
    fetched = tmp_path / "raw" / "pts" / "PTS-2024.csv"
    assert file_sha256(fetched) == sources()["pts"].files["PTS-2024.csv"]
    assert json.loads((tmp_path / "raw" / "pts" / "fetch.json").read_text())["origin"] == server.url
    assert not list(tmp_path.glob(f"{STAGING_PREFIX}*"))


def test_server_error_and_cut_connection_are_tried_again(tmp_path, server):
    server.faults["PTS-2024.csv"] = [503, "truncated"]
    result = fetch_source(served_pts(server), tmp_path / "raw", None, retries=2)
    assert result.status == "fetched", result.detail
    assert server.requests == ["PTS-2024.csv"] * 3


def test_failed_download_says_why_and_writes_nothing(tmp_path, server):
    server.faults["PTS-2024.csv"] = [404]
    result = fetch_source(served_pts(server), tmp_path / "raw", None, retries=0)
    assert (result.status, result.present) == ("unavailable", False)
    assert f"HTTP 404 Not Found from {server.url}PTS-2024.csv" in result.detail
    assert result.detail.endswith("; no earlier copy")
    assert not (tmp_path / "raw").exists() and not list(tmp_path.glob(f"{STAGING_PREFIX}*"))


def test_unreachable_host_is_reported(tmp_path, server):
    closed = sources()["pts"].model_copy(update={"base_url": server.url})
    server.shutdown()
    server.server_close()  # the port now refuses connections
    result = fetch_source(closed, tmp_path / "raw", None, retries=0, timeout=5)
    assert result.status == "unavailable"
    assert f"no answer from 127.0.0.1:{server.server_address[1]}" in result.detail


def test_checksum_mismatch_refuses_the_file_and_keeps_the_earlier_copy(tmp_path, server):
    raw = tmp_path / "raw"
    assert fetch_source(served_pts(server), raw, None, retries=0).status == "fetched"
    before = {p.name: p.read_bytes() for p in (raw / "pts").iterdir()}
    served = server.folder / "PTS-2024.csv"
    served.write_bytes(served.read_bytes().replace(b"Afghanistan", b"AfghanistaN", 1))
    result = fetch_source(served_pts(server), raw, None, retries=0)
    assert (result.status, result.present) == ("unavailable", True)
    assert "PTS-2024.csv: sha256 " in result.detail and "differs from the registry's" in result.detail
    assert "present from an earlier fetch (" in result.detail
    assert {p.name: p.read_bytes() for p in (raw / "pts").iterdir()} == before


def test_a_raw_file_changed_after_fetch_is_fetched_again_and_said_or_stops_the_run(tmp_path, server):
    raw = tmp_path / "raw"
    assert fetch_source(served_pts(server), raw, None, retries=0).status == "fetched"
    fetched = raw / "pts" / "PTS-2024.csv"
    original = fetched.read_bytes()
    fetched.write_bytes(original[: len(original) // 2])  # truncated after fetch
    assert [(p.name, how[:7]) for p, how in altered(raw)] == [("PTS-2024.csv", "sha256 ")]
    result = fetch_source(served_pts(server), raw, None, retries=0)
    assert result.status == "fetched" and result.detail.endswith(
        "; restored PTS-2024.csv, changed since the earlier fetch"
    )
    assert fetched.read_bytes() == original and not altered(raw)
    fetched.write_bytes(b"edited")
    server.faults["PTS-2024.csv"] = [404]  # no way to fetch it again: said, and cleaning it stops with one line
    result = fetch_source(served_pts(server), raw, None, retries=0)
    assert result.status == "unavailable" and "; but PTS-2024.csv is sha256 " in result.detail
    with pytest.raises(InputError, match=r"PTS-2024\.csv: sha256 .* in fetch\.json .*`exportrisk fetch` restores it"):
        verify(raw)
    fetched.unlink()
    with pytest.raises(InputError, match=r"PTS-2024\.csv: missing, though fetch\.json lists it"):
        verify(raw)


def test_partial_mirror_writes_no_partial_source(tmp_path, shared_datasets):
    mirror = tmp_path / "mirror" / "caat-uk"
    mirror.mkdir(parents=True)
    shutil.copy(shared_datasets / "caat-uk" / "values.csv", mirror)
    result = fetch_source(sources()["caat-uk"], tmp_path / "raw", tmp_path / "mirror")
    assert result.status == "unavailable" and "ratings.csv is missing" in result.detail
    assert not (tmp_path / "raw" / "caat-uk").exists()


def test_stale_staging_folder_of_a_killed_fetch_is_removed(tmp_path, shared_datasets):
    stale = tmp_path / "data" / f"{STAGING_PREFIX}pts-killed"
    stale.mkdir(parents=True)
    (stale / "PTS-2024.csv").write_text("half")
    fetch_all(tmp_path / "data" / "raw", shared_datasets, ["pts"])
    assert not stale.exists()
    assert (tmp_path / "data" / "raw" / "pts" / "PTS-2024.csv").stat().st_size > 1000


def test_cli_exit_code_says_whether_a_source_is_missing(tmp_path, shared_datasets, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    shutil.copytree(shared_datasets / "pts", mirror / "pts")
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path / "project"))
    assert main(["fetch", "--from", str(mirror)]) == EXIT_SOURCE_MISSING
    out = capsys.readouterr().out.splitlines()
    assert "pts: fetched: 1 file(s) from " in "\n".join(out)
    unavailable = [line for line in out if ": unavailable: " in line]
    assert {line.split(":")[0] for line in unavailable} == set(sources()) - {"pts", "curated"}  # curated: package data
    assert all(line.endswith("; no earlier copy") for line in unavailable)
    assert out[-1].startswith("fetch: 2 of ") and "missing with no earlier copy" in out[-1]
    assert Path(tmp_path / "project" / "data" / "raw" / "pts" / "PTS-2024.csv").is_file()
    # the mirror loses pts: the copy already fetched is still there, which is said, and is not a failure
    shutil.rmtree(mirror / "pts")
    assert main(["fetch", "--from", str(mirror), "--source", "pts"]) == 0
    out = capsys.readouterr().out
    assert "pts: unavailable: not available from the mirror: " in out
    assert "present from an earlier fetch (" in out
    assert "pts unavailable, present from an earlier fetch" in out


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
