"""Charts: drawn from the table they are given, in the packaged style, byte-identical across runs."""

import importlib.resources
import io
import subprocess
import sys
import tomllib
from pathlib import Path

import matplotlib
import matplotlib.style
import pandas as pd
import pytest
from matplotlib.figure import Figure

from exportrisk.reporting import figures, plots
from exportrisk.schema import BANDS, INDETERMINATE
from tests.conftest import REPO

YEAR_BAND = pd.DataFrame(
    {
        "year": [2010, 2010, 2011, 2011, 2012],
        "band": ["Low", "High", "Low", INDETERMINATE, "Critical"],
        "licences": [5, 2, 7, 1, 3],
        "value": [1e6, 5e5, 2e6, None, 4e6],
        "currency": ["GBP"] * 5,
    }
)
TABLES = {
    "licences_by_year_and_band": YEAR_BAND,
    "licences_by_year_and_state": pd.DataFrame(
        {"year": [2010, 2010, 2011], "licensing_country": ["GBR", "NLD", "GBR"], "licences": [4, 1, 6]}
    ),
    "indicator_trends": pd.DataFrame(
        {
            "year": [2010, 2011, 2010, 2011],
            "indicator": ["pts_a", "pts_a", "fh_total", "fh_total"],
            "risk": [50, 75, 80, 82],
        }
    ),
    "licences_and_indicators": pd.DataFrame(
        {
            "year": [2010, 2010, 2011, 2010, 2011],
            "panel": ["licences", "licences", "licences", "indicators", "indicators"],
            "series": ["GBR", "NLD", "GBR", "pts_a", "pts_a"],
            "value": [4.0, 1.0, 6.0, 50.0, 75.0],
        }
    ),
    "evidence_timeline": pd.DataFrame(
        {
            "published_date": pd.to_datetime(["2016-08-24", "2018-09-18", "2018-09-18"]),
            "kind": ["published_finding", "published_finding", "targeting_incident"],
            "strength": ["forensically_confirmed", "credible_report", "credible_report"],
            "entries": [1, 1, 3],
        }
    ),
}
SOURCE = "caat-uk, pts (see the report's sources); exportrisk test."


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


@pytest.mark.parametrize("name", sorted(plots.CHARTS))
def test_every_chart_has_its_title_and_a_source_line_under_it(name):
    fig = plots.CHARTS[name](TABLES[name], "A title", SOURCE)
    assert isinstance(fig, Figure)
    assert "A title" in texts(fig)
    source = next(t for t in fig.texts if t.get_text().startswith("Source: "))
    assert SOURCE in source.get_text().replace("\n", " ")
    assert source.get_position()[1] == 0 and source.get_va() == "top"  # below the whole figure


def test_bars_are_the_table_stacked_in_band_order_with_band_colours():
    fig = plots.licences_by_year_and_band(YEAR_BAND, "t", SOURCE)
    top, bottom = fig.axes
    heights = {}
    for container, label in zip(top.containers, [c.get_label() for c in top.containers], strict=True):
        heights[label] = [bar.get_height() for bar in container]
        assert container.patches[0].get_facecolor() == matplotlib.colors.to_rgba(plots.BAND_COLOURS[label])
    assert list(heights) == ["Low", "High", "Critical", INDETERMINATE]  # rising risk, the data gap last
    assert heights["Low"] == [5, 7, 0] and heights["High"] == [2, 0, 0] and heights["Critical"] == [0, 0, 3]
    assert [b.get_height() for b in bottom.containers[0]] == [1e6, 2e6, 0]
    assert "GBP" in bottom.get_ylabel()


def test_licences_stand_over_the_indicators_of_the_same_years():
    fig = plots.licences_and_indicators(TABLES["licences_and_indicators"], "t", SOURCE)
    top, bottom = fig.axes
    assert {c.get_label(): [b.get_height() for b in c] for c in top.containers} == {"GBR": [4, 6], "NLD": [1, 0]}
    (line,) = bottom.get_lines()
    assert line.get_label() == "pts_a" and list(line.get_ydata()) == [50, 75]
    assert top.get_shared_x_axes().joined(top, bottom)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["GBR", "NLD", "pts_a"]


def test_values_in_several_currencies_are_not_added_up():
    mixed = YEAR_BAND.assign(currency=["GBP", "EUR", "GBP", "GBP", "GBP"])
    fig = plots.licences_by_year_and_band(mixed, "t", SOURCE)
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "Licences"


def test_the_packaged_style_loads_by_dotted_name_and_is_colour_blind_safe():
    with matplotlib.style.context("exportrisk.styles.exportrisk"):
        cycle = [c["color"].lower().lstrip("#") for c in matplotlib.rcParams["axes.prop_cycle"]]
        assert matplotlib.rcParams["figure.figsize"] == [3.5, 2.5]  # one column of a paper
        assert matplotlib.rcParams["svg.hashsalt"] == "exportrisk"
    petroff = [c["color"].lower().lstrip("#") for c in matplotlib.style.library["petroff10"]["axes.prop_cycle"]]
    assert cycle == petroff
    lightness = [sum(matplotlib.colors.to_rgb(plots.BAND_COLOURS[b])) for b in BANDS]
    assert lightness == sorted(lightness, reverse=True)  # bands darken as risk rises, in any colour vision


def test_the_style_ships_as_package_data():
    assert (importlib.resources.files("exportrisk.styles") / "exportrisk.mplstyle").is_file()
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "styles/*.mplstyle" in package_data["exportrisk"]


def render(name: str, folder: Path) -> dict[str, bytes]:
    fig = plots.CHARTS[name](TABLES[name], "Same chart", SOURCE)
    paths = figures.save_chart(fig, TABLES[name], folder, name)
    return {fmt: path.read_bytes() for fmt, path in paths.items()}


def test_two_renders_are_byte_identical_in_svg_and_pdf(tmp_path):
    for name in plots.CHARTS:
        first, second = render(name, tmp_path / "a"), render(name, tmp_path / "b")
        assert first["svg"] == second["svg"], name
        assert first["pdf"] == second["pdf"], name
        assert first["csv"] == second["csv"], name
    assert b"CreationDate" not in first["pdf"] and b"<dc:date>" not in first["svg"]


def test_renders_in_another_process_are_byte_identical(tmp_path):
    """ids in SVG are salted per process unless svg.hashsalt is set: compare with a fresh interpreter."""
    here = render("evidence_timeline", tmp_path / "here")
    code = (
        "import sys; from pathlib import Path; from tests.test_plots import render; "
        "r = render('evidence_timeline', Path(sys.argv[1])); print(len(r))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], cwd=REPO, check=True, capture_output=True)
    for fmt in ("svg", "pdf", "png", "csv"):
        name = "tables/evidence_timeline.csv" if fmt == "csv" else f"figures/evidence_timeline.{fmt}"
        assert (tmp_path / "there" / name).read_bytes() == here[fmt], fmt


def test_png_is_300_dpi(tmp_path):
    from PIL import Image

    fig = plots.CHARTS["licences_by_year_and_state"](TABLES["licences_by_year_and_state"], "t", SOURCE)
    png = figures.save_figure(fig, tmp_path, "chart")["png"]
    with Image.open(png) as image:
        assert round(image.info["dpi"][0]) == 300
        assert image.width >= 3.4 * 300  # a column wide at 300 dpi, the source line included


def test_html_tables_are_plain_escaped_and_format_numbers_as_the_report_states_them():
    table = pd.DataFrame(
        {
            "year": pd.array([2014], dtype="Int64"),
            "licences": pd.array([12345], dtype="Int64"),
            "score": [67.25],
            "value": [200000.0],
            "note": ["<b>&"],
            "link": ["https://example.org/a?b=1"],
            "missing": [pd.NA],
        }
    )
    html = figures.html_table(table)
    assert "<td>2014</td><td>12,345</td><td>67.2</td><td>200,000</td><td>&lt;b&gt;&amp;</td>" in html
    assert '<a href="https://example.org/a?b=1">' in html and "<td></td>" in html
    assert "id=" not in html  # no random ids: the same table gives the same HTML
    assert figures.html_table(table.iloc[:0]) == "<p><em>None.</em></p>"
    long = pd.DataFrame({"n": range(30)})
    assert figures.html_table(long, max_rows=25).count("<tr>") == 26 and "First 25 of 30 rows" in figures.html_table(
        long
    )


def test_saving_writes_every_format_and_the_table_behind_the_chart(tmp_path):
    name = "indicator_trends"
    paths = figures.save_chart(plots.CHARTS[name](TABLES[name], "t", SOURCE), TABLES[name], tmp_path, name)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths.values()) == [
        f"figures/{name}.pdf",
        f"figures/{name}.png",
        f"figures/{name}.svg",
        f"tables/{name}.csv",
    ]
    assert pd.read_csv(paths["csv"]).equals(TABLES[name])
    assert io.BytesIO(paths["pdf"].read_bytes()).read(5) == b"%PDF-"
