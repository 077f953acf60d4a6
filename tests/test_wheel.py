"""The package works where it is installed: its wheel (not the checkout), in an environment of its own, builds a
project in a folder outside the checkout from a small mirror and renders its reports, the curated Bulgaria and
Cyprus licences included."""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.realdata]
EDITABLE = ("exportrisk", "__editable__", "_exportrisk")  # the checkout's own install, left out of the new environment


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, code: int = 0) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == code, f"{args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding the wheel built from the checkout, and the bin folder of that environment.

    Its other packages are the locked versions this test runs with, hard-linked (so it takes seconds, offline),
    never the checkout's editable install; pip then installs the wheel without an index, so the wheel's declared
    dependency ranges must accept them.
    """
    base = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", base / "dist", REPO)
    wheel = next((base / "dist").glob("exportrisk-*.whl"))
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
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
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation", wheel)
    return venv / "bin"


def test_the_wheel_builds_a_project_outside_the_checkout_and_renders_a_report(installed, shared_datasets, tmp_path):
    mirror, project = tmp_path / "mirror", tmp_path / "my project"
    for source in ("pts", "freedomhouse"):  # the indices; the licences are the curated ones the package ships
        shutil.copytree(shared_datasets / source, mirror / source)
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("EXPORTRISK_ROOT", "PYTHONPATH")}
    where = run(installed / "python", "-c", "import exportrisk; print(exportrisk.__file__)", cwd=project, env=env)
    assert not Path(where.strip()).is_relative_to(REPO)
    assert run(installed / "exportrisk", "--version", cwd=project, env=env).strip().startswith("exportrisk ")

    # the sources left out of the mirror are missing (exit code 3), and the build goes on with the others
    build = (installed / "exportrisk", "build", "--from", mirror, "--role", "licensing")
    out = run(*build, cwd=project, env=env, code=3)
    assert re.search(r"^fetch: incomplete: 3 of \d+ source\(s\) fetched or unchanged", out, re.M), out
    assert "report: done: 2 of 2 reports written" in out, out
    fetched = project / "data" / "raw" / "curated" / "reported_licences.csv"
    assert fetched.read_bytes() == (REPO / "exportrisk" / "curated" / "reported_licences.csv").read_bytes()
    for country, licence in (("BGR", "curated:bg-circles-2021"), ("CYP", "curated:cy-2021-12-isr")):
        report = project / "reports" / "licensing" / country
        tables = "".join(p.read_text(encoding="utf-8") for p in sorted((report / "tables").glob("*.csv")))
        assert licence in tables, f"{licence} is in no table of {report}"
        assert (report / "report.html").stat().st_size > 10_000
    assert not (Path(where.strip()).parent.parent / "data").exists()  # nothing written beside the installed package
