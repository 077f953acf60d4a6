"""Set-up files agree with each other and with the code they describe."""

import tomllib

import yaml

from exportrisk.docs import PAGES
from tests.conftest import REPO


def pins() -> tuple[dict[str, str], dict[str, str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    split = lambda specs: dict(s.lower().split("==") for s in specs if "==" in s)  # noqa: E731
    return split(declared), split(pip)


def test_every_dependency_is_pinned_and_mirrored_in_environment_yml():
    pyproject, conda = pins()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert len(pyproject) == len(project["dependencies"]) + sum(map(len, project["optional-dependencies"].values()))
    assert pyproject == conda


def test_generated_docs_are_current():
    for name, render in PAGES.items():
        assert (REPO / "docs" / name).read_text(encoding="utf-8") == render(), f"run `make docs` to refresh docs/{name}"
