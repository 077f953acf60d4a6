"""The researcher's API (``import exportrisk as er``) on the real data: tables built on first use, scoring a
researcher's own selection, the network and as-of queries, tables for reading, and the README's example as written."""

import dataclasses
import functools
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

import exportrisk as er
from exportrisk import pipeline
from exportrisk.errors import InputError
from exportrisk.reporting.plots import BAND_COLOURS
from exportrisk.schema import BANDS, INDETERMINATE
from exportrisk.scoring import score as scoring
from tests.conftest import REPO, copy_project, make_project

KEY = ["licence_id", "line_no"]


@functools.cache
def scored_project(cleaned: Path) -> Path:
    """A copy of the session's real project (conftest.real_cleaned), scored: a researcher's project after
    `make reports`. Built once per session, for whichever test module asks first."""
    root = copy_project(cleaned, cleaned.parent / "explore")
    scoring.run(root / "data" / "processed")
    return root


@pytest.fixture
def project(real_cleaned: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = scored_project(real_cleaned)
    monkeypatch.setenv("EXPORTRISK_ROOT", str(root))
    return root


def test_importing_the_package_loads_nothing_until_a_name_is_used():
    code = "import sys, exportrisk as er; print('pandas' in sys.modules, callable(er.load), 'pandas' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["False", "True", "True"]


def test_load_builds_a_missing_table_from_the_raw_data_present_and_says_so(
    tmp_path, shared_datasets, monkeypatch, capsys
):
    root = make_project(tmp_path, ["curated", "pts"], shared_datasets)
    monkeypatch.setenv("EXPORTRISK_ROOT", str(root))
    processed = root / "data" / "processed"
    assert not processed.exists()

    scores = er.load("scores")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(
        "er.load: scores is not built yet: running clean, score on data/raw/"
    )
    not_fetched = (
        "caat-uk, citizenlab-finfisher-scan, citizenlab-planet-netsweeper, fariss-lhrs, fi-saferglobe-arms-exports, "
        "freedomhouse, nl-licences, pegasus-victims"
    )
    assert f"(curated, pts; not fetched: {not_fetched}" in out
    assert {p.name for p in processed.glob("*.parquet")} == {
        f"{t}.parquet" for t in (*pipeline.step("clean").writes, *pipeline.step("score").writes)
    }
    assert (
        set(scores["licence_id"])
        == set(er.load("licences")["licence_id"])
        == {"curated:bg-circles-2021", "curated:cy-2021-12-isr"}
    )
    assert scores["band"].dtype == pd.CategoricalDtype([INDETERMINATE, *BANDS], ordered=True)
    pd.testing.assert_frame_equal(er.load("scores"), scores)  # now read, not built
    assert capsys.readouterr().out == ""

    er.load("sensitivity_summary")  # the cleaned tables are there: only its own step runs
    assert "running sensitivity on" in capsys.readouterr().out
    assert (processed / "sensitivity_summary.csv").is_file() and (processed / "sensitivity.parquet").is_file()


def test_load_without_raw_data_or_with_an_unknown_name_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    with pytest.raises(InputError, match=r"no raw data: run `exportrisk fetch`"):
        er.load("licences")
    with pytest.raises(ValueError, match="unknown table 'licence': one of licences, rejects"):
        er.load("licence")


def test_scoring_a_filtered_frame_gives_those_rows_of_score_lines(project):
    licences = er.load("licences")
    picked = licences[licences["destination_country_code"].isin(["SAU", "MEX"]) | licences["source"].eq("curated")]
    scored = er.score(picked)
    assert scored.index.equals(picked.index)  # aligned with the researcher's rows
    expected = er.load("score_lines").set_index(KEY).loc[pd.MultiIndex.from_frame(picked[KEY])].reset_index()
    pd.testing.assert_frame_equal(scored.reset_index(drop=True), expected[scored.columns])
    assert scored["network_path"].notna().sum() == 1  # the Circles Bulgaria licence, through the exporter network


def test_scoring_an_edited_frame_scores_the_edit(project):
    licences = er.load("licences")
    to_saudi = licences[licences["destination_country_code"].eq("SAU") & licences["decision_date"].dt.year.eq(2014)]
    elsewhere = to_saudi.assign(destination_country_code="NOR", line_no=to_saudi["line_no"] + 1000)
    before, after = er.score(to_saudi), er.score(elsewhere)
    assert (after["destination_country_code"] == "NOR").all()
    assert (after["d_score"] < before["d_score"]).all() and (after["score"] <= before["score"]).all()
    with pytest.raises(ValueError, match="same licence_id and line_no"):
        er.score(pd.concat([to_saudi, to_saudi]))
    with pytest.raises(ValueError, match="missing: decision_date"):
        er.score(to_saudi.drop(columns="decision_date"))


@pytest.mark.parametrize("day", ["2017-02-11", "2018-09-18", "2020-03-04"])  # days evidence or indices came out
def test_as_of_queries_return_nothing_published_on_or_after_the_date(project, day):
    evidence, indicators, when = er.load("evidence"), er.load("indicators"), pd.Timestamp(day)
    assert (evidence["published_date"] == when).any() or (indicators["published_date"] == when).any()

    known = er.evidence_as_of(day)
    assert len(known) == (evidence["published_date"] < when).sum() > 0 and (known["published_date"] < when).all()
    mexico = er.evidence_as_of(day, country="Mexico")
    assert mexico.equals(known[known["country_code"].eq("MEX").fillna(False).astype(bool)])

    values = er.indicators_as_of(day)
    assert len(values) > 0 and (values["published_date"] < when).all()
    saudi = er.indicators_as_of(day, country="SAU")
    assert set(saudi["country_code"]) == {"SAU"}
    pd.testing.assert_frame_equal(saudi, values[values["country_code"] == "SAU"].reset_index(drop=True))


def test_indicators_are_carried_forward_as_far_as_the_scoring_setting_says(project):
    cfg = scoring.load_config(scoring.DEFAULT_CONFIG)
    strict = dataclasses.replace(cfg, destination=dataclasses.replace(cfg.destination, max_years_behind=0))
    default, fresh_only = er.indicators_as_of("2020-03-04"), er.indicators_as_of("2020-03-04", cfg=strict)
    assert default["years_behind"].between(0, cfg.destination.max_years_behind).all()
    assert (default["years_behind"] > 0).any() and fresh_only["years_behind"].eq(0).all()
    pd.testing.assert_frame_equal(fresh_only, default[default["years_behind"].eq(0)].reset_index(drop=True))


def test_affiliates_by_a_name_or_alias_are_those_in_force_on_the_day(project):
    found = er.affiliates("N.S.O. Group", "2020-01-01").set_index("name")
    assert found.loc["Circles Bulgaria", "path"] == "NSO Group Technologies Ltd <-[merged_with 2014]- Circles Bulgaria"
    assert "Novalpina Capital" in found.index and "Francisco Partners" not in found.index  # owners change
    assert "Circles Bulgaria" not in set(er.affiliates("nso-group", "2013-06-01")["name"])  # merged in 2014
    with pytest.raises(ValueError, match="'NSA Group' is not the name or alias of exactly one entity"):
        er.affiliates("NSA Group", "2020-01-01")


def test_tables_display_with_readable_headers_formatted_numbers_and_coloured_bands(project):
    scores = er.load("scores")
    html = er.display(scores).to_html()
    assert f"First 20 of {len(scores):,} rows" in html
    assert ">D destination</th>" in html and ">as of date</th>" in html and ">licensing country</th>" in html
    assert f"background-color: {BAND_COLOURS['Low']}" in html
    assert re.search(r">\d{4}-\d{2}-\d{2}</td>", html) and "00:00:00" not in html and "<NA>" not in html


def test_a_plain_python_session_prints_the_table_as_text(project):
    """Outside Jupyter a table's repr is what shows: the same formatted cells, aligned, not '<Styler object>'."""
    scores = er.load("scores")
    header, *rows, caption = repr(er.display(scores)).split("\n")
    assert "D destination" in header and "as of date" in header and "licensing country" in header
    assert len(rows) == 20 and caption == f"First 20 of {len(scores):,} rows"
    first = scores.iloc[0]
    assert rows[0].startswith(str(first["licence_id"])) and first["as_of_date"].strftime("%Y-%m-%d") in rows[0]
    assert "00:00:00" not in rows[0] and "<NA>" not in rows[0]
    assert len({len(line) for line in [header, *rows]}) <= 2  # aligned columns (the last may end short)
    assert f"background-color: {BAND_COLOURS['Low']}" in er.display(scores)._repr_html_()  # Jupyter: colours


def test_tab_completion_on_er_offers_the_public_api_only():
    import jedi

    public = sorted([*er.__all__, "__version__"])
    assert dir(er) == public
    offered = {c.name for c in jedi.Interpreter("er.", [{"er": er}]).complete()}
    assert offered >= set(er.__all__) and not offered & {"importlib", "annotations", "TYPE_CHECKING", "API"}


def test_the_readme_example_runs_as_written(project, capsys):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Explore in JupyterLab / Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert len(namespace["scores"]) == len(namespace["to_saudi"]) > 0
    assert isinstance(namespace["fig"], Figure)
    assert "Circles Bulgaria" in capsys.readouterr().out
