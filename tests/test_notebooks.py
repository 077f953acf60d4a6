"""The exploration notebooks run top to bottom on the real data, show real figures and tables and never a victim's
name, and are committed in the reviewable form of the report template: a stripped .ipynb paired with a .py."""

from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import papermill
import pytest

from tests.conftest import REPO
from tests.test_api import scored_project

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def test_the_five_topics_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01-licences-overview",
        "02-evidence-and-indicators",
        "03-exporter-network",
        "04-method-and-sensitivity",
        "05-founding-case",
    ]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_runs_top_to_bottom_on_the_real_data(
    notebook, real_cleaned, shared_datasets, tmp_path, monkeypatch
):
    project = scored_project(real_cleaned)
    monkeypatch.setenv("EXPORTRISK_ROOT", str(project))  # the kernel inherits it: no path in the notebook
    executed = papermill.execute_notebook(
        str(notebook),
        str(tmp_path / notebook.name),
        kernel_name="python3",  # the interpreter running the tests; `make lab` registers it as "exportrisk"
        cwd=str(tmp_path),
        progress_bar=False,
    )
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure"
    assert sum("text/html" in o.get("data", {}) for o in outputs) >= 2, "fewer than two tables"
    names = pd.read_csv(shared_datasets / "pegasus-victims" / "data-pegasus-victims.csv")["name"].dropna()
    text = nbformat.writes(executed).casefold()
    assert not [n for n in {n.strip().casefold() for n in names} if len(n) > 3 and n in text]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_is_committed_stripped_and_in_sync_with_its_script(notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs: jupytext --sync"
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert nb.metadata["kernelspec"]["name"] == "exportrisk"  # the kernel `make lab` registers
    script = jupytext.read(notebook.with_suffix(".py"))

    def cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in notebook.cells]

    assert cells(script) == cells(nb), f"the pair differs: run `jupytext --sync notebooks/{notebook.stem}.py`"
