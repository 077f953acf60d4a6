"""Set-up files agree with each other and with the code they describe."""

import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from exportrisk.docs import PAGES
from tests.conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared(*extras: str) -> list[Requirement]:
    return [
        Requirement(r)
        for r in PROJECT["dependencies"] + [r for e in extras for r in PROJECT["optional-dependencies"][e]]
    ]


def locked(name: str) -> dict[str, str]:
    """A lock file as canonical package name -> version."""
    lines = (REPO / name).read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(p) == 2 for p in pairs), f"{name}: every line is name==version"
    return {canonicalize_name(n): v for n, v in pairs}


def test_dependencies_are_ranges_and_the_locks_satisfy_them():
    for requirement in declared("dev", "lab"):
        assert requirement.specifier, f"{requirement}: give a range"
        assert not any(s.operator == "==" for s in requirement.specifier), f"{requirement}: a range, not a pin"
    core, lab = locked("requirements.lock"), locked("requirements-lab.lock")
    for lock, extras in ((core, ("dev",)), (lab, ("dev", "lab"))):
        for requirement in declared(*extras):
            version = lock.get(canonicalize_name(requirement.name))
            assert version is not None and requirement.specifier.contains(version), f"{requirement}: locked {version}"
    assert "jupyterlab" not in core  # an extra: only `make lab` installs it
    assert {k: v for k, v in lab.items() if k in core} == core


def test_environment_yml_installs_the_lock_and_the_package():
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-r requirements.lock", "-e ."]
    assert f"python={PROJECT['requires-python'].removeprefix('>=')}" in env["dependencies"]


def test_version_is_written_once():
    assert PROJECT["dynamic"] == ["version"] and "version" not in PROJECT
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert "version" not in citation and citation["license"] == PROJECT["license"] == "MIT"
    assert "`exportrisk/__init__.py`" in (REPO / "CHANGELOG.md").read_text(encoding="utf-8")


def test_generated_docs_are_current():
    for name, render in PAGES.items():
        assert (REPO / "docs" / name).read_text(encoding="utf-8") == render(), f"run `make docs` to refresh docs/{name}"
