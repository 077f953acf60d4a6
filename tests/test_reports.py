"""Country reports: real notebooks through papermill on the real data, their numbers, privacy and failures."""

import datetime as dt
import json
import re
import shutil
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import papermill
import pytest
from bs4 import BeautifulSoup

from exportrisk import cli
from exportrisk.ingest.files import read_table, write_parquet
from exportrisk.reporting import figures, plots
from exportrisk.reporting import runner as report_runner
from exportrisk.reporting import sections as reports
from exportrisk.schema import BANDS, EVIDENCE, INDETERMINATE, LICENCES, SCORE_LINES, VICTIM_ROLE_TYPES, conform
from exportrisk.scoring import score as scoring
from tests.conftest import REPO, cleaned_project
from tests.privacy import named, pdf_text
from tests.test_api import scored_project

METHOD = scoring.load_config().method_version

SPECS = [
    reports.ReportSpec("BGR", "licensing"),  # the founding case, from the curated reported licences
    reports.ReportSpec("CYP", "licensing"),
    reports.ReportSpec("SAU", "destination"),  # UK (and curated) licences, indicators and Pegasus victims
    reports.ReportSpec("ARE", "destination"),  # victims whose sources' addresses hold a title and a first name
]
NOTEBOOK = reports.TEMPLATE


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    """UK licences, both indices and the victim database fetched like a user would, the curated files, cleaned
    and scored, and the three reports run once for the session."""
    sources = ["caat-uk", "pts", "freedomhouse", "pegasus-victims"]
    root = cleaned_project(tmp_path_factory.mktemp("reports"), sources, shared_datasets)
    scoring.run(root / "data" / "processed")
    outcomes = report_runner.run_batch(SPECS, root / "data", root / "reports", progress=False)
    assert [o.error for o in outcomes] == [None] * len(SPECS)
    return root


def key_figures(html_path: Path) -> dict[str, str]:
    """The report's first table (its key figures) as shown: label -> text."""
    first = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser").find("table")
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in first.find_all("tr")]
    return {label: value for label, value in (r for r in rows if r)}


def number(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_each_report_is_published_with_its_files_and_without_code(project, spec):
    folder = project / "reports" / spec.key
    assert {p.name for p in folder.iterdir()} == {"report.ipynb", "report.html", "provenance.json", "figures", "tables"}
    charts = {p.stem for p in (folder / "figures").iterdir()}
    assert charts and all((folder / "figures" / f"{c}.{fmt}").is_file() for c in charts for fmt in ("svg", "pdf"))
    assert not list(folder.glob("figures/*.png"))  # PNG only when asked for (exportrisk report --png)
    assert all((folder / "tables" / f"{c}.csv").is_file() for c in charts)  # the table behind each chart
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "from exportrisk import" not in html and "check_parameters" not in html  # code cells left out
    images = BeautifulSoup(html, "html.parser").select('img[alt^="Chart: "]')
    assert len(images) == len(charts) and all(i["src"].startswith("data:image/svg+xml;base64,") for i in images)
    provenance = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["report"]["country_code"] == spec.country_code and provenance["method_versions"] == [METHOD]
    assert provenance["notebook_sha256"] and all(len(v) == 64 for v in provenance["inputs"].values())
    assert len(provenance["fingerprint"]) == 64 and not [f for f in provenance["inputs"] if "processed" in f]
    assert "data/raw/pts/PTS-2024.csv" in provenance["inputs"]  # the scores rest on it
    assert "Sources, data licences, method and checksums" in html and "CC BY-NC-SA 4.0" in html
    assert not list(folder.parent.glob(f".{spec.country_code}.*"))  # no temporary folder left behind
    page = BeautifulSoup(html, "html.parser")
    # self-contained: no script, nothing loaded from elsewhere (no CDN, no MathJax, no require.js)
    assert not page.find_all("script") and not page.find_all("link")
    assert not [tag for tag in page.find_all(src=True) if not tag["src"].startswith("data:")]
    assert "mathjax" not in html.casefold() and "require.js" not in html
    assert "Warning" not in html and "site-packages" not in html and str(project) not in html  # no stderr, no paths
    # written as rendered (runner.PageExporter): no element HTML cannot self-close is written '<x ... />', which a
    # browser would read as opened, and every heading keeps its id and its (hidden) anchor
    assert not re.findall(r"<(?!(?:meta|br|img|hr|input|link)\b)[a-z][a-z0-9]*\b[^<>]*/>", html)
    headings = page.find_all(["h1", "h2"])
    assert headings and all(h.get("id") and h.find("a", class_="anchor-link", href=f"#{h['id']}") for h in headings)
    without_figures = len(re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "", html).encode())
    assert without_figures < 60_000, without_figures
    links = {a["href"] for a in page.find_all("a")}
    assert "../../index.html" in links
    for chart in charts:  # each chart links to its files and the table behind it, all of which exist
        wanted = {f"figures/{chart}.svg", f"figures/{chart}.pdf", f"tables/{chart}.csv"}
        assert wanted <= links and all((folder / href).is_file() for href in wanted)
        assert f"figures/{chart}.png" not in links
    for path in [folder, *folder.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path


def test_figures_in_the_html_equal_the_librarys_numbers(project):
    data = project / "data"
    licences = pd.read_parquet(data / "processed" / "licences.parquet")
    for spec in SPECS:
        expected = reports.build_report(report_runner.load_report_data(spec, data), spec).headline
        shown = key_figures(project / "reports" / spec.key / "report.html")
        assert list(shown) == list(expected)
        for label, value in expected.items():
            if isinstance(value, str):  # a total that includes a lower bound: 'over 200,000'
                assert shown[label] == value, (spec.key, label)
            else:
                assert number(shown[label]) == pytest.approx(value, abs=0.05), (spec.key, label)
        column = reports.ROLE_COLUMN[spec.role]
        kinds = licences[licences[column] == spec.country_code].groupby("licence_kind", observed=True)["licence_id"]
        counted = {f"{kind} licences": n for kind, n in kinds.nunique().items()}
        assert {label: expected[label] for label in counted} == counted  # each kind counted apart
    to_saudi = licences[licences["destination_country_code"] == "SAU"]
    states = key_figures(project / "reports" / "destination/SAU/report.html")["licensing states"]
    assert number(states) == to_saudi["licensing_country_code"].nunique() == 1  # the UK (no Dutch data here)
    behind = pd.read_csv(project / "reports" / "destination/SAU/tables/licences_and_indicators.csv")
    bars = behind.dropna(subset=["licences"]).set_index(["year", "licensing_state"])["licences"]
    counted = to_saudi.groupby([to_saudi["decision_date"].dt.year, "licensing_country_code"])["licence_id"].nunique()
    assert bars.to_dict() == counted.to_dict()
    lines = behind.dropna(subset=["risk"])  # one measure per column: licences (count), risk (0-100)
    assert lines["licences"].isna().all() and behind.dropna(subset=["licences"])["risk"].isna().all()
    assert set(behind["licence_data_to"]) == {to_saudi["decision_date"].dt.year.max()}
    pts_2014 = lines.loc[(lines["indicator"] == "pts_a") & (lines["year"] == 2014), "risk"]
    indicators = pd.read_parquet(project / "data" / "processed" / "indicators.parquet")
    published = indicators[(indicators["country_code"] == "SAU") & (indicators["indicator_code"] == "pts_a")]
    latest = published[published["year"] == 2014].sort_values("published_date")["value"].iloc[-1]
    assert pts_2014.tolist() == [(latest - 1) / 4 * 100]  # PTS 1-5 on the 0-100 risk scale


def test_no_part_of_a_victim_name_nor_a_victim_id_appears_in_any_report_file(project, shared_datasets):
    names = pd.read_csv(shared_datasets / "pegasus-victims" / "data-pegasus-victims.csv")["name"].dropna().tolist()
    evidence = read_table(project / "data" / "processed" / "evidence.parquet", EVIDENCE)
    victim_ids = set(evidence["victim_id"].dropna())
    saudi = (project / "reports" / "destination/SAU/report.html").read_text(encoding="utf-8")
    assert "targeting incident" in saudi and "journalist" in saudi  # the victim entries are reported, unnamed
    files = [p for p in (project / "reports").rglob("*") if p.suffix in (".html", ".ipynb", ".csv", ".json", ".svg")]
    pdfs = list((project / "reports").rglob("*.pdf"))
    assert len(files) > 20 and len(pdfs) >= len(SPECS)
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    texts |= {path: pdf_text(path.read_bytes()) for path in pdfs}  # the text of every figure's PDF
    assert all("Source: " in texts[path] for path in pdfs)  # its text is read indeed
    for path, text in texts.items():
        assert not named(text, names), path
        assert not [v for v in victim_ids if v in text], path
    titled = next(n for n in names if n.startswith("Princess ")).split()[:2]
    assert named("https://example.org/dubai-ruler-" + "-".join(titled).lower(), names)  # the search works


def test_the_privacy_scan_reads_a_name_in_a_figures_pdf(shared_datasets, tmp_path):
    names = pd.read_csv(shared_datasets / "pegasus-victims" / "data-pegasus-victims.csv")["name"].dropna().tolist()
    accented = next(n for n in names if not n.isascii() and n == n.encode("cp1252", "ignore").decode("cp1252"))
    fig = plots.indicator_trends(pd.DataFrame({"year": [2020], "indicator": ["pts_a"], "risk": [50.0]}), accented, "x")
    pdf = figures.save_figure(fig, tmp_path, "planted")["pdf"].read_bytes()
    assert named(pdf_text(pdf), names) and not named(pdf_text(pdf).replace(accented, ""), names)


def test_two_runs_publish_byte_identical_pages_figures_and_tables(project, tmp_path):
    spec = reports.ReportSpec("BGR", "licensing")
    runs = []
    for name in ("one", "two"):  # with the PNG charts, so that they are compared too
        assert report_runner.run_report(spec, project / "data", tmp_path / name, png=True).ok
        folder = tmp_path / name / spec.key
        runs.append({p.relative_to(folder): p.read_bytes() for p in folder.rglob("*.*")})
    assert runs[0] == runs[1] and Path("report.html") in runs[0]
    pngs = [p for p in runs[0] if p.suffix == ".png"]
    assert pngs and {p.with_suffix(".svg") for p in pngs} == {p for p in runs[0] if p.suffix == ".svg"}
    assert all(f'href="{p.as_posix()}">PNG</a>' in runs[0][Path("report.html")].decode() for p in pngs)
    # the notebook names its folders as the report sees them: no local path, no temporary folder's random name
    notebook = runs[0][Path("report.ipynb")].decode()
    assert str(tmp_path) not in notebook and str(project) not in notebook and ".tmp-" not in notebook
    assert 'output_dir = \\".\\"' in notebook and 'data_dir = \\"../../' in notebook


def test_a_change_in_one_countrys_rows_reruns_only_the_reports_that_use_them(project, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(project / "data" / "processed", data / "processed")
    (data / "raw").symlink_to(project / "data" / "raw")
    out = tmp_path / "reports"
    first = report_runner.run_batch(SPECS, data, out, only_changed=True)
    assert [(o.ok, o.unchanged) for o in first] == [(True, False)] * len(SPECS)
    written = {p: p.read_bytes() for p in out.rglob("*.*") if p.parent != out}
    again = report_runner.run_batch(SPECS, data, out, only_changed=True)
    assert [o.unchanged for o in again] == [True] * len(SPECS)  # nothing changed: nothing ran
    assert {p: p.read_bytes() for p in out.rglob("*.*") if p.parent != out} == written

    path = data / "processed" / "licences.parquet"
    licences = read_table(path, LICENCES)
    saudi = licences.index[licences["destination_country_code"].eq("SAU").fillna(False)][0]
    licences.loc[saudi, "value"] = 123_456_789.0
    write_parquet(licences, path)
    changed = {o.key: o.unchanged for o in report_runner.run_batch(SPECS, data, out, only_changed=True)}
    assert changed == {"destination/ARE": True, "destination/SAU": False, "licensing/BGR": True, "licensing/CYP": True}
    provenance = json.loads((out / "destination/SAU/provenance.json").read_text(encoding="utf-8"))
    assert provenance["fingerprint"] == report_runner.stamps([SPECS[2]], data, NOTEBOOK)["destination/SAU"].fingerprint
    # asking for PNG charts is a change of the report: it reruns, and the next run with them is left alone
    [with_png] = report_runner.run_batch(SPECS[:1], data, out, only_changed=True, png=True)
    assert not with_png.unchanged and list((out / "licensing/BGR/figures").glob("*.png"))
    assert [o.unchanged for o in report_runner.run_batch(SPECS[:1], data, out, only_changed=True, png=True)] == [True]


def failing_template(folder: Path) -> Path:
    """The real template with a last cell that fails for Cyprus only."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('assert country != "CYP", "simulated failure"'))
    path = folder / "failing.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_failing_country_neither_stops_the_batch_nor_replaces_its_last_good_report(project, tmp_path):
    reports_dir = project / "reports"
    good = {p: p.read_bytes() for p in (reports_dir / "licensing/CYP").rglob("*") if p.is_file()}
    saudi = {p: p.read_bytes() for p in (reports_dir / "destination/SAU/figures").iterdir()}
    outcomes = report_runner.run_batch(SPECS, project / "data", reports_dir, template=failing_template(tmp_path))
    assert [(o.key, o.ok) for o in outcomes] == [
        ("destination/ARE", True),
        ("destination/SAU", True),
        ("licensing/BGR", True),
        ("licensing/CYP", False),
    ]
    assert outcomes[3].error == "AssertionError: simulated failure"
    assert {p: p.read_bytes() for p in (reports_dir / "licensing/CYP").rglob("*") if p.is_file()} == good
    assert not list((reports_dir / "licensing").glob(".CYP.*"))
    # the Saudi report ran again in another run: its charts are the same bytes (SVG and PDF carry no date)
    assert {p: p.read_bytes() for p in (reports_dir / "destination/SAU/figures").iterdir()} == saudi

    index = BeautifulSoup((reports_dir / "index.html").read_text(encoding="utf-8"), "html.parser")
    rows = {tr.find("td").get_text(): tr for tr in index.find_all("tr") if tr.find("td")}
    # per role: the failed report first, then by country name (not by code)
    assert list(rows) == ["Cyprus (CYP)", "Bulgaria (BGR)", "Saudi Arabia (SAU)", "United Arab Emirates (ARE)"]
    cells = [td.get_text() for td in rows["Saudi Arabia (SAU)"].find_all("td")]
    assert METHOD in cells and dt.date.today().isoformat() in cells  # method version and date published
    assert index.find("input", id="filter") and index.find("tr", attrs={"data-name": "saudi arabia sau"})
    assert not index.find_all(src=True) and not index.find_all("link")  # nothing loaded from elsewhere
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in (reports_dir / "index.html", reports_dir / "status.json"))
    assert "FAILED: AssertionError: simulated failure; the last good report is kept" in rows["Cyprus (CYP)"].get_text()
    assert rows["Saudi Arabia (SAU)"].find("a")["href"] == "destination/SAU/report.html"
    evidence = read_table(project / "data" / "processed" / "evidence.parquet", EVIDENCE)
    items = evidence.loc[evidence["country_code"].eq("SAU").fillna(False).astype(bool), "evidence_id"].nunique()
    assert items >= 14  # six from NSO's evidence and the victim database, eight from the other vendors'
    assert str(items) in [td.get_text() for td in rows["Saudi Arabia (SAU)"].find_all("td")]  # its evidence items
    status = json.loads((reports_dir / "status.json").read_text(encoding="utf-8"))
    assert status["licensing/CYP"]["ok"] is False and status["licensing/BGR"]["ok"] is True


def test_the_command_exits_non_zero_when_a_report_fails(project, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(project))
    monkeypatch.setattr(reports, "TEMPLATE", failing_template(tmp_path))
    assert cli.main(["report", "--country", "Cyprus", "--role", "licensing"]) == 1
    assert "licensing/CYP: failed: AssertionError: simulated failure" in capsys.readouterr().out
    monkeypatch.setattr(reports, "TEMPLATE", NOTEBOOK)
    assert cli.main(["report", "--country", "cyp", "--role", "licensing"]) == 0
    status = json.loads((project / "reports" / "status.json").read_text(encoding="utf-8"))
    assert status["licensing/CYP"]["ok"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--country", "Atlantis", "--role", "licensing"], "parameter country: 'Atlantis' is not an ISO 3166"),
        (["--country", "Diverse landen", "--role", "licensing"], "names no single country (multiple)"),
        (
            ["--country", "NLD", "--role", "sideways"],
            "parameter role: 'sideways' is not one of: licensing, destination",
        ),
        (["--country", "NLD", "--role", "licensing", "--period", "2015-2010"], "'2015-2010' ends before it starts"),
        (["--role", "licensing"], "give either --country"),
    ],
)
def test_unknown_parameters_stop_the_command_with_one_line(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    assert cli.main(["report", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("parameters", "line"),
    [
        ({"country": "Atlantis"}, "error: parameter country: 'Atlantis' is not an ISO 3166 alpha-3 code"),
        ({"role": "sideways"}, "error: parameter role: 'sideways' is not one of: licensing, destination"),
    ],
)
def test_unknown_parameters_stop_the_notebook_with_one_line(project, tmp_path, parameters, line):
    given = {"country": "BGR", "role": "licensing", "data_dir": str(project / "data"), "output_dir": str(tmp_path)}
    with pytest.raises(papermill.PapermillExecutionError) as failed:
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(tmp_path / "out.ipynb"),
            parameters={**given, **parameters},
            engine_name=report_runner.ENGINE,
            kernel_name=report_runner.KERNEL,
            progress_bar=False,
        )
    assert failed.value.ename == "ParameterError"
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].traceback[0].startswith(line) and len(errors[0].traceback) == 1


def test_the_committed_notebook_is_clean_and_in_sync_with_its_script():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs: jupytext --sync"
    assert "parameters" in code[0].metadata.get("tags", [])
    script = jupytext.read(NOTEBOOK.with_suffix(".py"))

    def cells(notebook) -> list[tuple[str, str, list[str]]]:
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in notebook.cells]

    assert cells(script) == cells(nb), f"the pair differs: run `jupytext --sync {NOTEBOOK.with_suffix('.py')}`"


def test_the_template_ships_as_package_data():
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    folder = Path(report_runner.__file__).parent
    assert NOTEBOOK.parent.parent == folder  # inside exportrisk/reporting, not the checkout's notebooks/
    shipped = [p for glob in package_data["exportrisk.reporting"] for p in folder.glob(glob)]
    assert NOTEBOOK in shipped and folder / "templates" / "page" / "index.html.j2" in shipped  # and the page


# --- the content, on small tables ---


def lines_frame() -> pd.DataFrame:
    rows = [
        # licence a: two lines sharing one published value, the second riskier
        ("a", 1, "2014-03-01", "issued", "SAU", 1000.0, 2, None),
        ("a", 2, "2014-03-01", "issued", "ARE", 1000.0, 2, None),
        ("b", 1, "2015-06-01", "refused", "SAU", None, 1, ["2", "7"]),
        ("c", 1, "2015-07-01", "issued", "FRA", 50.0, 1, None),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "licence_id",
            "line_no",
            "decision_date",
            "outcome",
            "destination_country_code",
            "value",
            "value_shared_by",
            "refusal_criteria",
        ],
    )
    df = df.assign(
        licensing_country_code="GBR",
        currency_code="GBP",
        source="caat-uk",
        destination_type="country",
        destination_raw=df["destination_country_code"],
        goods_category="military",
        licence_kind="export",
        confidence="official",
    )
    return conform(df, LICENCES)


def scores_frame(lines: pd.DataFrame) -> pd.DataFrame:
    """A small score_lines frame in the declared columns, as the scorer writes it."""
    scores = pd.DataFrame(
        {
            "licence_id": lines["licence_id"],
            "line_no": lines["line_no"],
            "score": [40.0, 80.0, 55.0, 10.0],
            "band": ["Moderate", "Very high", "High", "Low"],
            "coverage": [1.0, 0.75, 1.0, 1.0],
            "method_version": "1.0",
        }
    )
    return conform(scores, SCORE_LINES)


def test_a_licence_counts_once_by_its_highest_line_and_its_value_once():
    scored = reports.scored_lines(lines_frame(), scores_frame(lines_frame()))
    units = reports.licence_units(scored).set_index("licence_id")
    assert units.loc["a", "score"] == 80.0 and units.loc["a", "band"] == "Very high"
    assert units.loc["a", "value"] == 1000.0  # 1000 published once for two destinations
    assert pd.isna(units.loc["b", "value"]) and units.loc["a", "n_lines"] == 2
    yearly = reports.by_year_and_band(units.reset_index())
    assert yearly[["year", "band", "licences"]].values.tolist() == [
        [2014, "Very high", 1],
        [2015, "Low", 1],
        [2015, "High", 1],
    ]


def test_a_destination_report_counts_only_the_lines_to_it():
    spec = reports.ReportSpec("SAU", "destination")
    lines = reports.select_lines(lines_frame(), spec)
    units = reports.licence_units(reports.scored_lines(lines, scores_frame(lines_frame())))
    assert units.set_index("licence_id")["score"].to_dict() == {"a": 40.0, "b": 55.0}  # a's line to SAU only
    assert units.set_index("licence_id").loc["a", "value"] == 500.0  # its share of the shared value


def test_refusals_are_counted_per_criterion_cited():
    units = reports.licence_units(reports.scored_lines(lines_frame(), scores_frame(lines_frame())))
    refused = reports.refusals(units)
    assert refused.values.tolist() == [
        ["2", "human rights and internal repression", 1],
        ["7", "risk of diversion or re-export", 1],
    ]
    assert "1 cite Criterion 2" in reports.refusals_text(refused, units)


def test_country_parameters_accept_codes_and_the_names_the_mappings_know():
    assert reports.check_parameters("nld", "licensing").country_code == "NLD"
    assert reports.check_parameters("Bulgaria", "licensing").country_code == "BGR"
    assert reports.check_parameters("Saoedi-Arabië", "destination").country_code == "SAU"  # the Dutch source's
    assert reports.check_parameters("GBR", "licensing", "2010-2015").period == "2010-2015"
    assert reports.parse_period("2014") == (2014, 2014) and reports.parse_period("-2012") == (None, 2012)
    with pytest.raises(reports.ParameterError, match="not YYYY"):
        reports.parse_period("last year")


def test_equal_scores_share_a_rank_marked_as_a_tie_and_a_list_never_splits_a_tie_silently():
    units = pd.DataFrame({"licence_id": list("edcba"), "score": [70.0, 60.04, 60.0, 60.02, 10.0]})
    table = reports.ranked(units, ["score"])
    assert table[["licence_id", "rank", "tied_with"]].values.tolist() == [
        ["e", "1", 0],
        ["b", "=2", 2],  # 60.02, 60.0 and 60.04 all show as 60.0: a tie, listed by licence id
        ["c", "=2", 2],
        ["d", "=2", 2],
        ["a", "5", 0],
    ]
    assert reports.cut(table, 2)["licence_id"].tolist() == ["e", "b", "c", "d"]  # the whole tie
    assert "3 at rank 2" in reports.ties_text(reports.cut(table, 2), "top", n=2)


@pytest.fixture(scope="module")
def every_source(real_cleaned: Path) -> Path:
    return scored_project(real_cleaned)


def built(project: Path, code: str, role: str) -> reports.Report:
    spec = reports.ReportSpec(code, role)
    return reports.build_report(report_runner.load_report_data(spec, project / "data"), spec)


@pytest.mark.parametrize(("code", "role"), [("GBR", "licensing"), ("NLD", "licensing"), ("SAU", "destination")])
def test_top_lists_rank_no_indeterminate_licence_above_a_determinate_one_and_mark_ties(every_source, code, role):
    sections = {s.key: s for s in built(every_source, code, role).sections}
    top, apart = sections["highest_risk_licences"], sections["indeterminate_licences"]
    assert len(top.table) >= reports.TOP_N and set(top.table["band"]) <= set(BANDS)
    assert set(apart.table["band"]) <= {INDETERMINATE}
    assert "Bands of the 0-100 score: Low 0-25" in top.text and "claim no band" in apart.text
    for section in (top, apart):
        table = section.table
        first = table["worst case"] if section is apart else table["band"].map(BANDS.index)
        keys = list(zip(first.round(1), table["score"].round(1), strict=True))
        assert keys == sorted(keys, reverse=True)
        for rank, group in table.groupby("rank"):
            same = {keys[i] for i in group.index}
            assert len(same) == 1 and rank == (f"={group.index[0] + 1}" if len(group) > 1 else str(group.index[0] + 1))
        assert ("Ties ('=' before the rank)" in section.text) == table["rank"].str.startswith("=").any()
        assert len(section.display_table) <= reports.TOP_N


def test_headlines_count_kinds_apart_and_flag_ceilings_a_dominant_licence_and_partial_years(every_source):
    nld, gbr, isr = (
        built(every_source, "NLD", "licensing"),
        built(every_source, "GBR", "licensing"),
        built(every_source, "ISR", "destination"),
    )
    licences = pd.read_parquet(every_source / "data" / "processed" / "licences.parquet")
    dutch = licences[licences["licensing_country_code"] == "NLD"]
    transit = dutch.loc[dutch["licence_kind"] == "transit", "licence_id"].nunique()
    assert nld.headline["transit licences"] == transit > 0
    assert nld.headline["export licences"] == dutch.loc[dutch["licence_kind"] == "export", "licence_id"].nunique()
    exports = dutch[dutch["licence_kind"] == "export"]
    assert nld.headline["export value (EUR)"] == round((exports["value"] / exports["value_shared_by"]).sum())
    said = "\n".join(nld.caveats)
    assert f"{transit:,} transit licences are counted apart" in said
    assert "'Diverse landen'" in said and "ceiling" in said
    assert "2015 is a partial year in caat-uk: it covers January-March only" in "\n".join(gbr.caveats)
    assert any(c.startswith("One licence, caat-uk:51396") and "97% of the GBP total" in c for c in isr.caveats)


def test_evidence_is_listed_once_per_piece_with_the_kind_of_person_targeted(project):
    evidence = read_table(project / "data" / "processed" / "evidence.parquet", EVIDENCE)
    mexico = evidence[evidence["country_code"] == "MEX"]
    listing = reports.evidence_listing(mexico)
    victims = listing[listing["evidence"].eq("victim entry")]
    others = listing[listing["evidence"].ne("victim entry")]
    assert len(victims) == mexico["victim_id"].nunique() > 0  # one row each, without its recomputable id
    assert others["evidence"].is_unique and set(others["evidence"]) == set(
        mexico.loc[mexico["victim_id"].isna(), "evidence_id"]
    )
    assert set(victims["person targeted"]) <= {r.replace("_", " ") for r in VICTIM_ROLE_TYPES}
    assert "victim_id" not in listing


def test_destination_charts_draw_fariss_by_its_name_and_no_standard_deviation(every_source):
    section = next(s for s in built(every_source, "SAU", "destination").sections if s.key == "licences_and_indicators")
    drawn = section.table.dropna(subset=["risk"])
    assert "fariss_theta" in set(drawn["indicator"]) and "fariss_theta_sd" not in set(drawn["indicator"])
    assert drawn["risk"].between(0, 100).all()


def test_a_value_published_as_a_lower_bound_is_shown_as_over_never_as_exact(project):
    licences = read_table(project / "data" / "processed" / "licences.parquet", LICENCES)
    flagged = licences[licences["is_value_lower_bound"].fillna(False).astype(bool)]
    assert flagged["licence_id"].tolist() == ["curated:cy-2021-12-isr"] and flagged["value"].tolist() == [200_000]
    assert licences.loc[licences["source"].eq("caat-uk"), "is_value_lower_bound"].isna().all()  # nothing said
    folder = project / "reports" / "licensing" / "CYP"
    page = BeautifulSoup((folder / "report.html").read_text(encoding="utf-8"), "html.parser")
    assert key_figures(folder / "report.html")["export value (EUR)"] == "over 200,000"
    text = page.get_text(" ")
    assert "over EUR 200,000" in text and "lower bounds, shown as 'over'" in text  # the total, footnoted
    assert not re.findall(r"(?<!over )(?<!over EUR )200,000", text)  # never the bound alone, as if exact
    listed = ["highest_risk_licences", "indeterminate_licences"]  # the licence is in one list or the other
    for tables in (["founding_case"], listed, ["licences_by_year_and_band"]):
        behind = pd.concat([pd.read_csv(folder / "tables" / f"{t}.csv") for t in tables])
        assert behind["is_value_lower_bound"].tolist() == [True] and behind["value"].tolist() == [200_000], tables
    assert ">over</text>" in (folder / "figures" / "licences_by_year_and_band.svg").read_text(encoding="utf-8")


def test_top_destinations_rank_by_licences_high_or_above_ties_marked_indeterminate_apart():
    rows = [  # licence, line, destination, outcome, band, score
        ("a", 1, "SAU", "issued", "High", 60.0),
        ("b", 1, "SAU", "issued", "Critical", 95.0),
        ("c", 1, "ARE", "issued", "High", 55.0),
        ("c", 2, "SAU", "issued", "Low", 10.0),  # c's highest line to Saudi Arabia is Low: not counted there
        ("d", 1, "ISR", "issued", "High", 70.0),
        ("e", 1, "ISR", "issued", INDETERMINATE, 60.0),  # counted apart, never in the rank
        ("f", 1, "FRA", "issued", "Low", 5.0),
        ("g", 1, "SAU", "refused", "Critical", 99.0),  # refused: not licensed
        ("h", 1, None, "issued", "High", 60.0),  # several destinations: none to rank
    ]
    scored = pd.DataFrame(
        rows, columns=["licence_id", "line_no", "destination_country_code", "outcome", "band", "score"]
    )
    scored = scored.assign(
        licence_kind="export", currency_code="EUR", value_share=1.0, is_value_lower_bound=False
    ).astype({"band": pd.CategoricalDtype([*BANDS, INDETERMINATE], ordered=True)})
    table = reports.top_destinations(scored)
    firsts = table.drop_duplicates("destination_code")
    # ties by name: Israel before United Arab Emirates
    assert firsts[["rank", "destination_code"]].values.tolist() == [["1", "SAU"], ["=2", "ISR"], ["=2", "ARE"]]
    counts = table.set_index(["destination_code", "band"])["licences"].to_dict()
    assert counts == {("SAU", "Low"): 1, ("SAU", "High"): 1, ("SAU", "Critical"): 1, ("ARE", "High"): 1,
                      ("ISR", "High"): 1, ("ISR", INDETERMINATE): 1}  # fmt: skip
    shown = reports.destinations_shown(table)
    assert shown["licences High or above"].tolist() == [2, 1, 1]
    assert shown["not placed in one band"].tolist() == [0, 1, 0]


def test_the_uk_top_destinations_are_its_licences_high_or_above_counted_independently(every_source):
    section = next(s for s in built(every_source, "GBR", "licensing").sections if s.key == "top_destinations")
    licences = pd.read_parquet(every_source / "data" / "processed" / "licences.parquet")
    scores = pd.read_parquet(every_source / "data" / "processed" / "score_lines.parquet")
    lines = licences[(licences["licensing_country_code"] == "GBR") & (licences["outcome"] == "issued")]
    lines = lines[lines["licence_kind"].eq("export") & lines["destination_country_code"].notna()]
    lines = lines.merge(scores[["licence_id", "line_no", "score", "band"]], on=["licence_id", "line_no"])
    best = lines.sort_values("score", ascending=False).drop_duplicates(["destination_country_code", "licence_id"])
    high = best[best["band"].astype(str).isin(reports.HIGH)].groupby("destination_country_code").size()
    high = high.sort_values(ascending=False, kind="stable")
    shown = section.table.drop_duplicates("destination_code")
    assert len(shown) >= reports.TOP_N and section.chart == "top_destinations"
    for code in shown["destination_code"]:
        ranked_count = section.table.loc[
            section.table["destination_code"].eq(code) & section.table["band"].isin(reports.HIGH), "licences"
        ].sum()
        assert ranked_count == high[code], code
    assert list(shown["destination_code"][:3]) == list(high.index[:3])  # the same order, no tie at the top
    assert "United Kingdom" not in section.title and "rank no destination" in section.text


def test_bulgaria_and_cyprus_draw_nsos_network_and_the_uk_none(project, every_source):
    def network(folder_project: Path, code: str) -> reports.Section | None:
        found = [s for s in built(folder_project, code, "licensing").sections if s.key == "vendor_network"]
        return found[0] if found else None

    bulgaria, cyprus = network(project, "BGR"), network(project, "CYP")
    roles = dict(zip(bulgaria.table["from_name"], bulgaria.table["from_role"], strict=False))
    assert roles["Circles Bulgaria"] == "exporter"  # the exporter on Bulgaria's curated licence
    assert set(bulgaria.table.loc[bulgaria.table["to_entity"].eq("nso-group"), "to_role"]) == {"founding_letter"}
    assert "exporter" not in set(cyprus.table["from_role"]) | set(cyprus.table["to_role"])  # its exporter is unnamed
    assert "nso-group" in set(cyprus.table["to_entity"]) and len(cyprus.table) == len(bulgaria.table)
    assert bulgaria.source and "delano.lu" in bulgaria.source  # a source line naming where the relations come from
    svg = (project / "reports" / "licensing" / "BGR" / "figures" / "vendor_network.svg").read_text(encoding="utf-8")
    assert "Bulgaria: The vendor network of its exporters" in svg and "Circles Bulgaria" in svg
    assert network(every_source, "GBR") is None  # no exporter named in the UK data: no network to draw
