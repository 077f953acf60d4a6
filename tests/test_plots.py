"""Charts: drawn from the table they are given, in the packaged style, byte-identical across runs."""

import importlib.resources
import io
import itertools
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import matplotlib
import matplotlib.dates
import matplotlib.style
import numpy as np
import pandas as pd
import pytest
from IPython.core.pylabtools import print_figure
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from exportrisk.knowledge.indicators import indicator_specs
from exportrisk.reporting import figures, plots, sections
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
        {"year": [2010, 2010, 2011], "licensing_state": ["GBR", "NLD", "GBR"], "licences": [4, 1, 6]}
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
            "licensing_state": ["GBR", "NLD", "GBR", None, None],
            "licences": pd.array([4, 1, 6, None, None], dtype="Int64"),
            "indicator": [None, None, None, "pts_a", "pts_a"],
            "indicator_name": [None, None, None, "PTS", "PTS"],
            "risk": pd.array([None, None, None, 50.0, 75.0], dtype="Float64"),
            "licence_data_to": pd.array([2011] * 5, dtype="Int64"),
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
TABLES["licences_and_evidence"] = pd.concat(
    [
        pd.DataFrame({"month": pd.to_datetime(["2014-01-01", "2015-03-01"]), "licences": [3, 1]}),
        TABLES["evidence_timeline"],
    ],
    ignore_index=True,
).assign(licence_data_to=pd.Timestamp("2015-03-31"))
TABLES["top_destinations"] = pd.DataFrame(
    {
        "rank": ["1", "1", "=2", "=2", "=2", "=2"],
        "destination_code": ["IND", "IND", "ISR", "ISR", "SAU", "SAU"],
        "destination": ["India", "India", "Israel", "Israel", "Saudi Arabia", "Saudi Arabia"],
        "band": ["Low", "High", "High", INDETERMINATE, "High", "Critical"],
        "licences": [5, 9, 5, 2, 4, 1],
    }
)
TABLES["vendor_network"] = pd.DataFrame(
    {
        "from_entity": ["circles", "danida", "fund"],
        "from_name": ["Circles Bulgaria", "Danida", "A Fund"],
        "from_role": ["exporter", "", ""],
        "relation": ["merged_with", "renamed_to", "owner_of"],
        "to_entity": ["nso", "circles", "nso"],
        "to_name": ["NSO Group Technologies Ltd", "Circles Bulgaria", "NSO Group Technologies Ltd"],
        "to_role": ["founding_letter", "exporter", "founding_letter"],
        "period": ["2014", "undated", "2014 to 2019-02-14"],
    }
)
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
    assert line.get_label() == "PTS (Amnesty)" and list(line.get_ydata()) == [50, 75]  # a readable name
    assert line.get_color() == plots.INDICATOR_STYLE["pts_a"][1]  # its colour in every report
    assert top.get_shared_x_axes().joined(top, bottom)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["GBR", "NLD", "PTS (Amnesty)"]
    assert "licence data end" in texts(fig)  # the end of the licence data, marked after 2011
    assert any(list(v.get_xdata()) == [2011.5, 2011.5] for v in top.get_lines())


def test_licences_and_evidence_share_one_dated_axis_with_the_end_of_licence_data_marked():
    fig = plots.licences_and_evidence(TABLES["licences_and_evidence"], "t", SOURCE)
    top, bottom = fig.axes
    assert top.get_shared_x_axes().joined(top, bottom)
    (bars,) = top.collections  # the months' bars, one collection (plots._month_bars)
    months = matplotlib.dates.date2num(TABLES["licences_and_evidence"]["month"].dropna())
    drawn = [(np.ptp(p.vertices[:, 0]), p.vertices[:, 0].min() + 14, p.vertices[:, 1].max()) for p in bars.get_paths()]
    assert drawn == [(28, m, h) for m, h in zip(months, [3, 1], strict=True)]  # 28 days wide, centred on each month
    assert top.get_ylim()[0] == 0 and top.xaxis.get_converter() is not None  # from zero, on the dated axis
    assert sum(len(c.get_offsets()) for c in bottom.collections) == 3  # every evidence row
    assert "licence data end" in texts(fig)
    colours = {c.get_label(): tuple(c.get_facecolor()[0][:3]) for c in bottom.collections}
    assert colours["credible report"] == matplotlib.colors.to_rgb(plots.STRENGTH_COLOURS["credible_report"])


def test_year_axes_show_whole_years_even_for_one_year(tmp_path):
    one_year = TABLES["licences_by_year_and_state"].assign(year=2020)
    fig = plots.licences_by_year_and_state(one_year, "t", SOURCE)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    shown = [label.get_text() for label in ax.get_xticklabels() if low <= label.get_position()[0] <= high]
    assert shown == ["2020"]  # not 2019.6, 2019.8, ...


FIVE = ("pts_a", "pts_h", "pts_s", "fh_total", "fariss_theta")
FIVE_INDICATORS = pd.DataFrame(
    {"year": [2010, 2011] * 5, "indicator": [c for c in FIVE for _ in "ab"], "risk": [50, 60] * 5}
)


def final_extents(fig: Figure, draw: Callable[[Figure], object]) -> tuple[Bbox, Bbox]:
    """The legend's and the source line's boxes in the last drawing ``draw`` makes (a tight save draws twice:
    once to measure, once cropped)."""
    seen = {}

    def record(event) -> None:
        source = next(t for t in fig.texts if t.get_text().startswith("Source: "))
        seen["boxes"] = (fig.legends[0].get_window_extent(event.renderer), source.get_window_extent(event.renderer))

    fig.canvas.mpl_connect("draw_event", record)
    draw(fig)
    return seen["boxes"]


DRAWS = {
    "inline in a notebook": lambda fig: print_figure(fig, "png", bbox_inches="tight"),
    "saved for a report": lambda fig: figures.save_figure(fig, Path(tempfile.mkdtemp()), "chart"),
}


@pytest.mark.parametrize("draw", DRAWS)
@pytest.mark.parametrize("name", [*sorted(plots.CHARTS), "two legend rows"])
def test_the_legend_never_covers_the_source_line_however_the_chart_is_drawn(name, draw):
    """Drawn inline, a figure is cropped to its tight box; the legend's second row printed over the source."""
    chart = plots.indicator_trends if name == "two legend rows" else plots.CHARTS[name]
    fig = chart(FIVE_INDICATORS if name == "two legend rows" else TABLES[name], "A title", SOURCE * 3)
    legend, source = final_extents(fig, DRAWS[draw])
    assert not legend.overlaps(source), (legend, source)
    assert source.y1 <= legend.y0  # the source line stays under the legend
    if name == "two legend rows":
        assert legend.height > 2 * fig.legends[0].get_texts()[0].get_window_extent().height  # two rows indeed


def test_every_indicator_the_package_reads_has_a_fixed_colour_and_a_readable_name():
    declared = {c for spec in indicator_specs().values() for c in spec.indicators}
    drawn = declared - sections.uncertainty_indicators()
    assert "fariss_theta" in drawn and "fariss_theta_sd" not in drawn  # a standard deviation is no risk line
    assert drawn <= set(plots.INDICATOR_STYLE), drawn - set(plots.INDICATOR_STYLE)
    assert all("_" not in plots.indicator_name(code) for code in drawn)
    fig = plots.indicator_trends(FIVE_INDICATORS, "t", SOURCE)
    colours = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()}
    assert colours["Fariss physical integrity"] == plots.INDICATOR_STYLE["fariss_theta"][1]


# Machado, Oliveira and Fernandes (2009), severity 1, on linear RGB: what people with those deficiencies see.
CVD = {
    "normal vision": np.eye(3),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]]
    ),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
}  # fmt: skip


def cielab(colour: str, seen: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour as seen through a deficiency matrix."""
    c = np.array(matplotlib.colors.to_rgb(colour))
    linear = np.clip(seen @ np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4), 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", CVD)
def test_fixed_colours_stay_apart_in_every_kind_of_colour_vision(vision):
    def closest(colours: list[str]) -> float:
        lab = [cielab(c, CVD[vision]) for c in colours]
        return min(np.linalg.norm(a - b) for a, b in itertools.combinations(lab, 2))

    assert closest([colour for _, colour in plots.INDICATOR_STYLE.values()]) >= 30  # lines on one chart
    assert closest(list(plots.STATE_COLOURS.values())) >= 30  # stacked bars
    lightness = [cielab(plots.BAND_COLOURS[b], CVD[vision])[0] for b in BANDS]
    assert lightness == sorted(lightness, reverse=True)  # the bands darken as risk rises
    assert min(np.diff(lightness[::-1])) >= 5


def test_colours_do_not_depend_on_what_else_a_chart_shows():
    alone = plots.licences_by_year_and_state(
        TABLES["licences_by_year_and_state"].query("licensing_state == 'NLD'"), "t", SOURCE
    )
    both = plots.licences_by_year_and_state(TABLES["licences_by_year_and_state"], "t", SOURCE)
    colour = lambda fig: {c.get_label(): c.patches[0].get_facecolor() for c in fig.axes[0].containers}  # noqa: E731
    assert colour(alone)["NLD"] == colour(both)["NLD"] == matplotlib.colors.to_rgba(plots.STATE_COLOURS["NLD"])


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
    paths = figures.save_chart(fig, TABLES[name], folder, name, png=True)
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


def test_date_ticks_are_found_once_per_view_and_are_matplotlibs(tmp_path):
    fig = plots.CHARTS["evidence_timeline"](TABLES["evidence_timeline"], "t", SOURCE)
    figures.save_figure(fig, tmp_path, "chart")  # laid out, measured and drawn in three formats
    locator = fig.axes[0].xaxis.get_major_locator()
    assert isinstance(locator, plots.RememberingDateLocator) and len(locator._found) == 1
    fresh = matplotlib.dates.AutoDateLocator()
    fresh.set_axis(fig.axes[0].xaxis)
    assert list(locator()) == list(fresh()) and locator._freq == fresh._freq


def test_png_is_200_dpi(tmp_path):
    from PIL import Image

    fig = plots.CHARTS["licences_by_year_and_state"](TABLES["licences_by_year_and_state"], "t", SOURCE)
    png = figures.save_figure(fig, tmp_path, "chart", png=True)["png"]
    with Image.open(png) as image:
        assert round(image.info["dpi"][0]) == 200
        assert image.width >= 3.4 * 200  # a column wide at 200 dpi (700 px), the source line included


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
    chart = plots.CHARTS[name](TABLES[name], "t", SOURCE)
    vector = figures.save_chart(chart, TABLES[name], tmp_path / "vector", name)  # the default: no PNG
    assert sorted(p.relative_to(tmp_path / "vector").as_posix() for p in vector.values()) == [
        f"figures/{name}.pdf",
        f"figures/{name}.svg",
        f"tables/{name}.csv",
    ]
    assert "PNG" not in figures.chart_html(vector["svg"], "t")  # no link to a file that is not there
    paths = figures.save_chart(chart, TABLES[name], tmp_path, name, png=True)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths.values()) == [
        f"figures/{name}.pdf",
        f"figures/{name}.png",
        f"figures/{name}.svg",
        f"tables/{name}.csv",
    ]
    assert f'href="figures/{name}.png">PNG</a>' in figures.chart_html(paths["svg"], "t")
    assert paths["svg"].read_bytes() == vector["svg"].read_bytes()  # the PNG changes nothing of the rest
    assert pd.read_csv(paths["csv"]).equals(TABLES[name])
    assert io.BytesIO(paths["pdf"].read_bytes()).read(5) == b"%PDF-"


def test_every_table_of_a_report_is_written_with_formulas_neutralised(tmp_path):
    name = "licences_by_year_and_state"
    table = TABLES[name].assign(note=['=HYPERLINK("http://x")', "+1", "plain"], licences=[4, -1, 6])
    path = figures.save_chart(plots.CHARTS[name](TABLES[name], "t", SOURCE), table, tmp_path, name)["csv"]
    written = pd.read_csv(path)
    assert written["note"].tolist() == ['\'=HYPERLINK("http://x")', "'+1", "plain"]  # text runs as no formula
    assert written["licences"].tolist() == [4, -1, 6]  # numbers stay numbers
    package = REPO / "exportrisk" / "reporting"
    assert not [p for p in package.rglob("*.py") if ".to_csv(" in p.read_text()]  # one way to write a CSV


def test_top_destinations_stack_the_ranked_count_by_band_in_rank_order_with_all_licences_beside():
    fig = plots.top_destinations(TABLES["top_destinations"], "t", SOURCE)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1  India", "=2  Israel", "=2  Saudi Arabia"]
    widths = {c.get_label(): [b.get_width() for b in c] for c in ax.containers}
    assert widths == {"High": [9, 5, 4], "Critical": [0, 0, 1]}  # Low and indeterminate rank nothing: not drawn
    assert [t for t in texts(fig) if t.startswith("of ")] == ["of 14", "of 7", "of 5"]  # all licences, beside
    assert ax.containers[0].patches[0].get_facecolor() == matplotlib.colors.to_rgba(plots.BAND_COLOURS["High"])


def test_the_vendor_network_is_drawn_the_same_whatever_the_row_order(tmp_path):
    table = TABLES["vendor_network"]
    first = figures.save_figure(plots.vendor_network(table, "t", SOURCE), tmp_path / "a", "n")["svg"].read_bytes()
    shuffled = table.iloc[::-1].reset_index(drop=True)
    again = figures.save_figure(plots.vendor_network(shuffled, "t", SOURCE), tmp_path / "b", "n")["svg"].read_bytes()
    assert first == again
    fig = plots.vendor_network(table, "t", SOURCE)
    names = [t for t in texts(fig) if t in ("Circles Bulgaria", "Danida", "A Fund")]
    assert sorted(names) == ["A Fund", "Circles Bulgaria", "Danida"]  # every entity named
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["owner of", "merged with", "renamed to", "exporter on a licence", "vendor of the founding letter",
                      "tied company or investor"]  # fmt: skip
