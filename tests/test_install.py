"""Installed without -e, the package takes a researcher's own indicator and licence source from the project folder.

The package is the session's wheel in a fresh virtual environment (conftest.installed_wheel, built once and shared
with tests/test_wheel.py). The project lives outside the checkout and carries its own metadata/ (registry rows, an
indicator spec, a licence mapping, country names); no file of the installed package changes.
"""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # builds the wheel (conftest.installed_wheel): left out of make test-fast
REPO = Path(__file__).resolve().parents[1]
RSF = Path(__file__).parent / "fixtures" / "indicator_rsf"
REGISTRY = """
my-licences:
  title: A ministry's answer to a freedom-of-information request (made up for tests)
  kind: licences
  homepage: https://example.org/foi-17
  base_url: https://example.org/foi-17/
  licence: made-up values for tests
  citation: Ministry of Examples (2024), answer to request 17
  files:
    answer.csv:
"""
MAPPING = """file: answer.csv
licensing_country: FIN
outcome: issued
confidence: official
columns:
  licence_id: Licence number
  decision_date: {column: Date, format: DMY}
  destination_raw: Destination
  control_code_raw: Classification
  exporter_name: Exporter
"""
ANSWER = """Licence number,Date,Destination,Classification,Exporter
L-1,15.06.2021,Mexico,5A001f2,Acme Oy
L-2,16.06.2021,Meksiko,5A001f1,Acme Oy
L-3,17.06.2021,Narnia,5A001j,Acme Oy
"""


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def run(bin_dir: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bin_dir / "exportrisk", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "HOME": str(project)},
    )


def test_a_project_adds_an_indicator_and_a_licence_source_without_touching_the_package(
    installed_wheel: Path, tmp_path: Path
) -> None:
    installed = installed_wheel
    where = subprocess.run(
        [installed / "python", "-c", "import exportrisk, pathlib; print(pathlib.Path(exportrisk.__file__).parent)"],
        cwd=tmp_path,  # not the checkout, whose exportrisk/ would shadow the installed one
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    package = Path(where)
    assert package.is_relative_to(installed.parent) and not package.is_relative_to(REPO)  # not the checkout
    before = tree_digest(package)

    project = tmp_path / "project"
    metadata = project / "metadata"
    for folder in ("indicators", "mappings", "countries"):
        (metadata / folder).mkdir(parents=True)
    (metadata / "sources.yaml").write_text((RSF / "sources.yaml").read_text(encoding="utf-8") + REGISTRY)
    shutil.copy(RSF / "rsf.yaml", metadata / "indicators" / "rsf.yaml")
    (metadata / "mappings" / "my-licences.yaml").write_text(MAPPING, encoding="utf-8")
    (metadata / "countries" / "my-licences.csv").write_text("name,country_code,destination_type,note\nMeksiko,MEX,,\n")
    mirror = tmp_path / "mirror"
    shutil.copytree(RSF / "raw" / "rsf", mirror / "rsf")
    (mirror / "my-licences").mkdir()
    (mirror / "my-licences" / "answer.csv").write_text(ANSWER, encoding="utf-8")

    fetched = run(installed, project, "fetch", "--from", str(mirror), "--source", "rsf", "--source", "my-licences")
    assert fetched.returncode == 0, fetched.stderr
    cleaned = run(installed, project, "clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "my-licences/answer.csv: 3 raw rows = 2 clean + 1 rejected" in cleaned.stdout

    processed = project / "data" / "processed"
    indicators = pd.read_parquet(processed / "indicators.parquet")
    assert {"rsf_score", "rsf_rank"} <= set(indicators["indicator_code"])
    lines = pd.read_parquet(processed / "licences.parquet")
    mine = lines[lines["source"] == "my-licences"]
    assert mine["destination_country_code"].tolist() == ["MEX", "MEX"]  # 'Meksiko' through the project's names
    assert set(mine["source_citation"]) == {"Ministry of Examples (2024), answer to request 17"}
    rejects = pd.read_parquet(processed / "rejects.parquet")
    assert rejects.query("source == 'my-licences'")["message"].tolist() == [
        "unknown destination 'Narnia': add it to metadata/countries/my-licences.csv"
    ]
    assert tree_digest(package) == before  # no file of the installed package changed


def test_a_project_source_named_like_a_package_source_is_refused(installed_wheel: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "metadata").mkdir(parents=True)
    clash = REGISTRY.replace("my-licences:", "pts:")
    (project / "metadata" / "sources.yaml").write_text(clash, encoding="utf-8")
    result = run(installed_wheel, project, "clean")
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {project / 'metadata' / 'sources.yaml'}, row 2: source 'pts' is also in the package's registry: "
        "give the project's source its own name\n"
    )
