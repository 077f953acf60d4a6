"""Crash consistency (issue 14): a run killed with SIGKILL at any moment leaves each step's tables all of the old
run or all of the new one, and the next run that writes tidies what it left and ends byte-identical to a clean
run. The kills are exact: EXPORTRISK_CRASH_AT names the point where the run kills itself
(exportrisk.ingest.generation.crash_point)."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from exportrisk.errors import InputError
from exportrisk.ingest.files import read_parquet, write_json
from exportrisk.ingest.generation import CRASH_AT, JOURNAL, TEMP, generation
from exportrisk.lock import project_lock
from tests.conftest import REPO, copy_project, make_project, run_cli

POINTS = ("written", "committed", "renamed one", "renamed all")  # in Generation.commit, in this order
NAMES = ("a.json", "b.json", "sub/c.json")
WRITE = "import sys, pathlib, tests.test_crash as t; t.write_generation(pathlib.Path(sys.argv[1]), sys.argv[2])"


def write_generation(folder: Path, run: str) -> None:
    with generation(folder, "test"):
        for name in NAMES:
            write_json({"run": run}, folder / name)


def killed_writing(folder: Path, run: str, crash_at: str) -> int:
    """write_generation in a process that kills itself at ``crash_at``; its return code."""
    env = os.environ | {CRASH_AT: crash_at}
    command = [sys.executable, "-c", WRITE, str(folder), run]
    return subprocess.run(command, env=env, cwd=REPO, check=False).returncode


def runs_seen(folder: Path) -> set[str]:
    return {(folder / name).read_text().split('"')[-2] for name in NAMES}


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if TEMP.match(p.name) or p.name.startswith(JOURNAL)]


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_anywhere_in_the_switch_leaves_one_generation_once_the_next_run_tidies(tmp_path, point):
    data = tmp_path / "data"
    folder = data / "processed"
    write_generation(folder, "old")
    assert killed_writing(folder, "new", f"test:{point}") == -signal.SIGKILL
    committed = point != "written"
    assert (folder / JOURNAL).is_file() == committed
    if not committed:
        assert runs_seen(folder) == {"old"} and leftovers(folder)  # the new tables wait as temporary files
    with project_lock(data, "next run"):  # taking the lock tidies
        assert runs_seen(folder) == ({"new"} if committed else {"old"})
        assert not leftovers(folder)
    write_generation(folder, "newer")
    assert runs_seen(folder) == {"newer"} and not leftovers(folder)


def test_a_step_that_fails_leaves_the_earlier_tables_and_no_temporary_file(tmp_path):
    write_json({"run": "old"}, tmp_path / "a.json")
    earlier = (tmp_path / "a.json").read_bytes()
    with pytest.raises(RuntimeError), generation(tmp_path, "test"):
        write_json({"run": "new"}, tmp_path / "a.json")
        write_json({"run": "new"}, tmp_path / "b.json")
        raise RuntimeError("the step failed half-way")
    assert (tmp_path / "a.json").read_bytes() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


# --- the real steps, killed and run again ---


def exportrisk(root: Path, crash_at: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {CRASH_AT: crash_at}
    command = [sys.executable, "-m", "exportrisk", "--root", str(root), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def contents(root: Path) -> dict[str, bytes]:
    processed = root / "data" / "processed"
    return {p.name: p.read_bytes() for p in sorted(processed.iterdir()) if not p.name.startswith(".")}


@pytest.fixture(scope="module")
def generations(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> tuple[Path, Path]:
    """A project built without pts (the old generation) and the same with pts, cleaned and scored (the new one,
    what a clean run gives)."""
    new = make_project(tmp_path_factory.mktemp("new"), ["curated", "pts"], shared_datasets)
    old = copy_project(new, tmp_path_factory.mktemp("old"))
    shutil.rmtree(old / "data" / "raw" / "pts")
    for root in (old, new):
        run_cli(root, "build", "--no-fetch", "--period", "1990")
    shutil.copytree(new / "data" / "raw" / "pts", old / "data" / "raw" / "pts")
    return old, new


def differing(old: dict[str, bytes], new: dict[str, bytes], found: dict[str, bytes], names: tuple[str, ...]) -> str:
    """'old', 'new' or 'mixed': which run the named tables are from (tables both runs wrote alike count as either)."""
    seen = {
        "old" if found[n] == old[n] else "new" if found[n] == new[n] else "neither" for n in names if old[n] != new[n]
    }
    return seen.pop() if len(seen) == 1 else "mixed"


CLEANED = ("indicators.parquet", "rejects.parquet", "reconciliation.csv", "licences.parquet")
SCORED = ("scores.parquet", "score_lines.parquet")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("crash_at", "command"),
    [
        ("clean:renamed one", ("clean",)),  # the moment issue 14 found: licences new beside the old rejects
        ("score:written", ("build", "--no-fetch", "--period", "1990")),
        ("build:score done", ("build", "--no-fetch", "--period", "1990")),  # tables switched, state not yet
    ],
)
def test_killed_clean_score_and_build_recover_byte_identical_to_a_clean_run(tmp_path, generations, crash_at, command):
    old, new = generations
    root = copy_project(old, tmp_path)
    before, after = contents(old), contents(new)
    killed = exportrisk(root, crash_at, *command)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if crash_at == "clean:renamed one":  # on disk, mid-switch: the journal says so, and readers refuse
        assert (root / "data" / "processed" / JOURNAL).is_file()
        assert differing(before, after, contents(root), CLEANED) == "old"  # the rest wait as temporary files
        assert len(leftovers(root / "data" / "processed")) > len(CLEANED)
        with pytest.raises(InputError, match="being replaced, or a run was killed"):
            read_parquet(root / "data" / "processed" / "licences.parquet")
    with project_lock(root / "data", "next run"):
        tidied = contents(root)
    assert differing(before, after, tidied, CLEANED) in ("old", "new")
    assert differing(before, after, tidied, SCORED) in ("old", "new")
    run_cli(root, "build", "--no-fetch", "--period", "1990")
    assert contents(root) == after
    assert not leftovers(root / "data")
    assert run_cli(root, "build", "--no-fetch", "--period", "1990").count(": skipped: ") == 3
