"""Shared fixtures: the real public datasets beside the checkout, and projects cleaned from them."""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from exportrisk import cli
from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.ingest.fetch import fetch_all

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
REPO = Path(__file__).resolve().parents[1]
EDITABLE = ("exportrisk", "__editable__", "_exportrisk")  # the checkout's own install, left out of a new environment


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reads the real datasets, however indirectly, so that `make test-fast` can leave it out."""
    for item in items:
        if "shared_datasets" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The real datasets; their absence is a failure, never a skip."""
    assert (SHARED / "caat-uk" / "values.csv").is_file(), f"real datasets missing at {SHARED}"
    return SHARED


def make_project(root: Path, sources: list[str], mirror: Path) -> Path:
    """A project folder whose data/raw/ holds the named sources, fetched from the mirror like a user would."""
    raw = root / "data" / "raw"
    results = fetch_all(raw, mirror, sources)
    assert all(r.status == "fetched" for r in results), results
    return root


def cleaned_project(root: Path, sources: list[str], mirror: Path) -> Path:
    """The named sources fetched from the mirror and the package's curated source, cleaned: a researcher's project."""
    make_project(root, sorted({*sources, "curated"}), mirror)
    clean(root / "data" / "raw", root / "data" / "processed")
    return root


REAL_SOURCES = ["caat-uk", "nl-licences", "pts", "freedomhouse", "fariss-lhrs", "pegasus-victims"]
REAL_SOURCES += ["citizenlab-finfisher-scan", "citizenlab-planet-netsweeper"]


@pytest.fixture(scope="session")
def real_cleaned(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    """The real sources and the package's curated one, fetched and cleaned once for the whole session. Read it,
    never write to it: a test module that scores or writes takes its own copy (copy_project)."""
    return cleaned_project(tmp_path_factory.mktemp("real"), REAL_SOURCES, shared_datasets)


def copy_project(project: Path, root: Path) -> Path:
    """A copy of a project's data/ at ``root``, to write to without touching the shared one."""
    shutil.copytree(project / "data", root / "data")
    return root


def run_cli(root: Path, *args: str) -> str:
    """Run the exportrisk command on the project at ``root``, require success, return what it printed."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setenv("EXPORTRISK_ROOT", str(root))
        assert cli.main(list(args)) == 0
    return out.getvalue()


@pytest.fixture(scope="session")
def caat_project(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> tuple[Path, CleanResult]:
    """The UK source alone, fetched from the mirror and cleaned once for the session."""
    root = make_project(tmp_path_factory.mktemp("caat"), ["caat-uk"], shared_datasets)
    return root, clean(root / "data" / "raw", root / "data" / "processed")


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding the wheel built from the checkout, once for the session: its bin folder.

    The wheel is built from a copy of the checkout (so no build files land in it). The environment's other
    packages are the locked versions this test runs with, hard-linked (seconds, offline), never the checkout's
    editable install; pip then installs the wheel without an index, so its declared dependency ranges must
    accept them. Tests use it read-only: projects live in their own folders.
    """
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(
        REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "data", "reports", "build", "dist", "*.egg-info")
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", base / "dist", source],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    here = Path(sysconfig.get_paths()["purelib"])
    for entry in here.iterdir():
        if not entry.name.startswith(EDITABLE) and entry.name != "__pycache__":
            if entry.is_dir():
                shutil.copytree(entry, site / entry.name, copy_function=os.link, dirs_exist_ok=True)
            else:
                os.link(entry, site / entry.name)
    # what those packages installed beside the libraries: nbconvert's HTML templates, the kernel spec
    shutil.copytree(Path(sys.prefix) / "share" / "jupyter", venv / "share" / "jupyter", copy_function=os.link)
    wheel = next((base / "dist").glob("exportrisk-*.whl"))
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation", wheel],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    return venv / "bin"
