"""Trust nothing on disk (issue 15): the build skips a step only when its inputs are the same AND its outputs still
hash to what it wrote; raw files are checked against fetch.json on every run. After any single tampering,
`exportrisk build` restores a state byte-identical to a clean run or stops with one line naming the file."""

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from exportrisk import cli, pipeline
from exportrisk.ingest.fetch import file_sha256
from exportrisk.ingest.files import write_parquet
from tests.conftest import copy_project, make_project, run_cli

BUILD = ("build", "--no-fetch", "--period", "1990")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    """curated and pts fetched and built: the clean run every tampered copy must come back to."""
    root = make_project(tmp_path_factory.mktemp("built"), ["curated", "pts"], shared_datasets)
    run_cli(root, *BUILD)
    return root


def contents(root: Path) -> dict[str, bytes]:
    """Every file of data/ but the logs and the build state (which records times and reasons)."""
    data = root / "data"
    skip = ("logs",)
    return {
        p.relative_to(data).as_posix(): p.read_bytes()
        for p in sorted(data.rglob("*"))
        if p.is_file() and p.relative_to(data).parts[0] not in skip and p.name not in (".build-state.json", ".lock")
    }


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPORTRISK_ROOT", str(root))
        code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stale(path: Path) -> None:
    """An earlier, valid table: one row more (as issue 15's 100,998 licences instead of 100,997)."""
    table = pd.read_parquet(path)
    write_parquet(pd.concat([table, table.head(1)], ignore_index=True), path)


def garbled(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(255 - b for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


TAMPERINGS: dict[str, Callable[[Path], None]] = {"stale": stale, "garbled": garbled, "truncated": truncated}


@pytest.mark.parametrize(
    ("how", "table", "step"),
    [
        ("stale", "licences", "clean"),
        ("truncated", "licences", "clean"),
        ("garbled", "scores", "score"),
        ("garbled", "score_lines", "score"),
        ("truncated", "rejects", "clean"),
    ],
)
def test_a_tampered_table_is_rebuilt_never_used(tmp_path, built, capsys, how, table, step):
    root = copy_project(built, tmp_path)
    TAMPERINGS[how](root / "data" / "processed" / f"{table}.parquet")
    code, out, err = run(root, capsys, *BUILD)
    assert code == 0, err
    assert f"{step}: done: " in out and f"(data/processed/{table}.parquet differs from what {step} wrote)" in out
    assert contents(root) == contents(built)


def test_reading_a_garbled_table_is_one_line_naming_it(tmp_path, built, capsys):
    root = copy_project(built, tmp_path)
    truncated(root / "data" / "processed" / "licences.parquet")
    code, _, err = run(root, capsys, "score")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: {root}/data/processed/licences.parquet: not a readable Parquet table (")
    assert "unexpected" not in err and "ArrowInvalid" not in err


def test_a_raw_file_changed_after_fetch_stops_an_offline_build_naming_it(tmp_path, built, capsys):
    root = copy_project(built, tmp_path)
    raw = root / "data" / "raw" / "pts" / "PTS-2024.csv"
    edited = raw.read_bytes().replace(b",5,", b",4,", 1)
    assert edited != raw.read_bytes()
    raw.write_bytes(edited)
    code, _, err = run(root, capsys, *BUILD)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: {raw}: sha256 ") and "differs from" in err and "in fetch.json" in err
    assert "`exportrisk fetch` restores it" in err
    assert {k: v for k, v in contents(root).items() if "raw/" not in k} == {
        k: v for k, v in contents(built).items() if "raw/" not in k
    }
    code, _, err = run(root, capsys, "clean")  # the step's own command checks too
    assert code == 2 and err.startswith(f"error: {raw}: sha256 ")


def test_an_unreadable_build_state_reruns_every_step(tmp_path, built, capsys):
    root = copy_project(built, tmp_path)
    (root / "data" / "processed" / ".build-state.json").write_text('{"clean": {"inputs": ')
    code, out, err = run(root, capsys, *BUILD)
    assert code == 0, err
    assert "build-state.json is unreadable: every step runs again" in out
    assert out.count(": done: ") == 3 and contents(root) == contents(built)


def test_read_hashes_are_the_files_read_and_written(built):
    hashes = pipeline.Project(built).read_hashes()
    manifest = json.loads((built / "data" / "raw" / "pts" / "fetch.json").read_text())
    assert hashes["data/raw/pts/PTS-2024.csv"] == manifest["files"]["PTS-2024.csv"]["sha256"]
    for table in ("licences", "rejects", "scores", "score_lines"):
        path = built / "data" / "processed" / f"{table}.parquet"
        assert hashes[f"data/processed/{table}.parquet"] == file_sha256(path)
    assert all(k.startswith("data/") and len(v) == 64 for k, v in hashes.items())
