"""The project lock: two runs at once never both write; the second says who holds the lock since when and exits
75, or waits when asked to; a killed holder leaves no lock behind."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from exportrisk.lock import EXIT_LOCKED, HOLDER, Locked, project_lock
from tests.conftest import make_project

HOLD = (
    "import sys, time; from pathlib import Path; from exportrisk.lock import project_lock\n"
    "with project_lock(Path(sys.argv[1]), 'test'):\n    print('held', flush=True); time.sleep(600)"
)


def exportrisk(root: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "exportrisk", "--root", str(root), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    return make_project(tmp_path_factory.mktemp("lock"), ["curated", "pts"], shared_datasets)


def test_two_builds_started_together_one_runs_the_other_reports_the_lock(project):
    runs = [exportrisk(project, "build", "--no-fetch", "--period", "1990") for _ in range(2)]
    done = [(run.wait(), *run.communicate()) for run in runs]
    assert sorted(code for code, _, _ in done) == [0, EXIT_LOCKED]
    _, out, _ = next(d for d in done if d[0] == 0)
    _, _, err = next(d for d in done if d[0] == EXIT_LOCKED)
    assert err.count("\n") == 1 and err.startswith(
        f"error: another run holds the lock on {project}: exportrisk build (pid "
    )
    assert " since 20" in err
    assert "clean: done: " in out and "score: done: " in out
    processed = project / "data" / "processed"
    state = json.loads((processed / ".build-state.json").read_text())
    assert set(state) == {"clean", "score", "report"}
    assert not [p for p in processed.iterdir() if p.name.endswith(".tmp")]
    assert not (project / "data" / HOLDER).exists()
    again = exportrisk(project, "build", "--no-fetch", "--period", "1990")
    out, _ = again.communicate()
    assert again.returncode == 0 and out.count(": skipped: ") == 3  # nothing was half-done by either


def test_a_run_waits_for_the_lock_when_asked(project):
    with project_lock(project / "data", "test"):
        assert exportrisk(project, "clean").wait() == EXIT_LOCKED
        waiting = exportrisk(project, "clean", "--wait", "600")
        first = waiting.stdout.readline()
        assert first.startswith(f"waiting up to 600 s for the lock: another run holds the lock on {project}")
        assert "exportrisk test (pid " in first
    out, err = waiting.communicate()
    assert waiting.returncode == 0, err
    assert "clean: wrote " in out


def test_a_killed_holder_leaves_no_lock(project):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(project / "data")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(Locked, match=f"exportrisk test \\(pid {holder.pid} on "), project_lock(project / "data", "2nd"):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with project_lock(project / "data", "after the kill"):
        assert json.loads((project / "data" / HOLDER).read_text())["command"] == "after the kill"
