"""The package works where it is installed: its wheel (not the checkout), in an environment of its own, builds a
project in a folder outside the checkout from a small mirror and renders its reports, the curated Bulgaria and
Cyprus licences included."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, code: int = 0) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == code, f"{args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_builds_a_project_outside_the_checkout_and_renders_a_report(
    installed_wheel, shared_datasets, tmp_path
):
    installed = installed_wheel
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
