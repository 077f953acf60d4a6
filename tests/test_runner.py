"""The report runner's mechanics on the real data: a killed batch leaves no process behind, and a report is
trusted only while its files are those its run wrote (issues 14 and 15)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from bs4 import BeautifulSoup

from exportrisk.ingest.fetch import sha256
from exportrisk.reporting import runner as report_runner
from exportrisk.reporting import sections as reports
from tests.test_api import scored_project

BGR = reports.ReportSpec("BGR", "licensing")  # the founding case: a small report from the curated licences
EXPORTRISK = Path(sys.executable).parent / "exportrisk"


@pytest.fixture
def data(real_cleaned: Path) -> Path:
    """The session's real project, scored (read only)."""
    return scored_project(real_cleaned) / "data"


def kernels_and_workers(parent: psutil.Process) -> list[psutil.Process]:
    """The batch's descendants once both workers run a kernel (the moment a kill would orphan most)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        children = parent.children(recursive=True)
        kernels = [c for c in children if "ipykernel_launcher" in " ".join(_cmdline(c))]
        if len(kernels) >= 2:
            return children
        time.sleep(0.2)
    raise AssertionError(f"no two kernels started: {[_cmdline(c) for c in parent.children(recursive=True)]}")


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_a_batch_leaves_none_of_its_workers_or_kernels_running(data, tmp_path, sig):
    (tmp_path / "data").symlink_to(data)
    env = {**os.environ, "EXPORTRISK_ROOT": str(tmp_path)}
    command = [str(EXPORTRISK), "report", "--all", "--role", "destination", "--jobs", "2"]
    batch = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        children = kernels_and_workers(psutil.Process(batch.pid))
        assert len(children) >= 4  # two pool workers, a kernel each (and multiprocessing's resource tracker)
        batch.send_signal(sig)
        batch.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(running(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [_cmdline(c) for c in children if running(c)] == []
    finally:  # a failing test leaves nothing behind either
        batch.kill()
        batch.wait()
        for process in children:
            if running(process):
                process.kill()


def published(folder: Path) -> dict[str, bytes]:
    """A report's files, its notebook included."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def index_rows(reports_dir: Path) -> dict[str, BeautifulSoup]:
    page = BeautifulSoup((reports_dir / reports.INDEX).read_text(encoding="utf-8"), "html.parser")
    return {tr.find("td").get_text(): tr for tr in page.find_all("tr") if tr.find("td")}


def test_a_deleted_or_altered_report_file_is_written_again_and_an_intact_one_is_not(data, tmp_path):
    out = tmp_path / "reports"
    [first] = report_runner.run_batch([BGR], data, out, only_changed=True)
    folder = out / BGR.key
    good = published(folder)
    status = json.loads((out / reports.STATUS).read_text(encoding="utf-8"))[BGR.key]
    assert first.ok and status["files"] == report_runner.output_hashes(folder) and "report.html" in status["files"]
    # the provenance names each table the report read, with the sha256 of the file read (a licensing report
    # reads no indicators)
    tables = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))["tables"]
    read = ["licences", "score_lines", "evidence", "entities", "relations", "aggregates"]
    read = [f"processed/{t}.parquet" for t in read]
    assert tables == {name: sha256((data / name).read_bytes()) for name in read}

    [again] = report_runner.run_batch([BGR], data, out, only_changed=True)
    assert again.unchanged
    for tamper in (
        lambda: (folder / "report.html").write_text("<p>edited</p>", encoding="utf-8"),
        lambda: next((folder / "tables").glob("*.csv")).unlink(),
        lambda: (folder / "figures" / "extra.svg").write_text("<svg/>", encoding="utf-8"),
        lambda: shutil.rmtree(folder),
    ):
        tamper()
        report_runner.write_index(out)  # as another report's run would: the altered report is not linked
        row = index_rows(out)["BGR"]
        assert "MISSING" in row.get_text() and not row.find("a")
        [rerun] = report_runner.run_batch([BGR], data, out, only_changed=True)
        assert rerun.ok and not rerun.unchanged
        assert published(folder) == good  # the same bytes as the first run
        assert index_rows(out)["Bulgaria (BGR)"].find("a")["href"] == "licensing/BGR/report.html"


def test_what_a_killed_run_left_in_reports_is_cleared_and_never_indexed(data, tmp_path):
    out = tmp_path / "reports"
    report_runner.run_batch([BGR], data, out)
    good = published(out / BGR.key)
    # a kill just after a report's provenance.json was written into its temporary folder
    partial = out / "destination" / ".USA.tmp-k1ll3d"
    partial.mkdir(parents=True)
    (partial / "provenance.json").write_text(json.dumps({"report": {"country_name": "United States"}}))
    report_runner.write_index(out)
    assert list(index_rows(out)) == ["Bulgaria (BGR)"]  # no "United States (.USA.tmp-...)"

    # a kill inside publish: the last good report moved aside, its successor not yet in place
    os.replace(out / BGR.key, out / "licensing" / ".BGR.old-4242")
    (out / "licensing" / ".BGR.tmp-abc").mkdir()
    report_runner.remove_partials(out)
    assert sorted(p.name for p in out.rglob(".*")) == []
    assert published(out / BGR.key) == good  # put back
    (out / "licensing" / ".BGR.old-4243").mkdir()  # moved aside after its successor was in place: it goes
    report_runner.remove_partials(out)
    assert sorted(p.name for p in (out / "licensing").iterdir()) == ["BGR"]
