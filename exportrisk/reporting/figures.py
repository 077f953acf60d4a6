"""Writing charts and tables for publication: the edge where exportrisk.reporting.plots figures become files.

Each chart is saved as SVG and PDF (vector: for papers, and for the web, where every browser shows SVG), and the
table behind it as CSV. A PNG at 200 dpi is written only when asked for (``png=True``; `exportrisk report --png`,
`exportrisk build --png`): for newsroom systems and slides that refuse SVG, a 3.5 in column is 700 px wide,
sharp on a high-density screen. Each format is a full draw of the chart; the PNG was a quarter of a report's
time (0.3 s of 1.05 s of CPU), which a batch of 200 reports pays for files most readers never fetch. (At 300 dpi
it took 0.08 s more per report again, for a print resolution the PDF already gives.)
Vector files are byte-identical across runs, so a regenerated report only changes where the data did:
matplotlib otherwise writes the date into SVG and PDF metadata and salts SVG ids randomly. The salt is set
by the packaged style; the dates are dropped here.
"""

import base64
import html
import numbers
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from exportrisk.ingest.files import atomic_path, write_csv
from exportrisk.reporting.plots import CHARTS, styled
from exportrisk.reporting.sections import Report, Section, stated

FORMATS: dict[str, dict[str, Any]] = {
    "svg": {"metadata": {"Date": None}},
    "pdf": {"metadata": {"CreationDate": None, "ModDate": None}},
    "png": {"dpi": 200},
}
VECTOR = ("svg", "pdf")  # always written; "png" on request


def save_figure(fig: Figure, folder: Path, name: str, png: bool = False) -> dict[str, Path]:
    """Write ``folder/name.svg`` and ``.pdf``, and ``.png`` if asked (each atomically); return the paths by format.

    The layout and the tight bounding box are computed once, not once per format: that is a third of the
    time a chart takes to save. The figure keeps that layout afterwards. Both are measured with one Agg
    renderer, kept on the figure's canvas with its cache of text sizes (a bare Figure makes a new renderer each
    time), and the layout is run by itself: drawing the whole figure as well, to throw it away, changed nothing.

    Laid out, the figure is left with no layout engine at all (its legends stay pinned, plots.PinnedLegends):
    savefig measures a figure that has one, even a placeholder, by drawing it once before drawing it to the file,
    a quarter of the saving time. The style's constrained layout is off while saving, or savefig would give the
    figure a new one when it restores its engine after each format.
    """
    paths = {}
    with styled():
        FigureCanvasAgg(fig)
        if (engine := fig.get_layout_engine()) is not None:
            engine.execute(fig)
        bbox = fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
        with matplotlib.rc_context({"figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)
            for fmt in (*VECTOR, "png") if png else VECTOR:
                path = folder / f"{name}.{fmt}"
                with atomic_path(path) as tmp:
                    fig.savefig(tmp, format=fmt, bbox_inches=bbox, **FORMATS[fmt])
                paths[fmt] = path
    return paths


def save_chart(fig: Figure, table: pd.DataFrame, out_dir: Path, name: str, png: bool = False) -> dict[str, Path]:
    """A chart in ``out_dir/figures/`` and the table behind it in ``out_dir/tables/name.csv``."""
    paths = save_figure(fig, out_dir / "figures", name, png)
    paths["csv"] = write_csv(table, out_dir / "tables" / f"{name}.csv")
    return paths


def chart_title(section: Section, country: str) -> str:
    """A chart's title names its country, so that the chart says what it is about wherever it is lifted to."""
    return section.title if country in section.title else f"{country}: {section.title}"


def write_section(section: Section, report: Report, out_dir: Path, png: bool = False) -> Path | None:
    """A report section's table as CSV and its chart (with a PNG if ``png``), if it has one and data to draw;
    returns the SVG path."""
    if section.chart is None or section.table.empty:
        write_csv(section.table, out_dir / "tables" / f"{section.key}.csv")
        return None
    title = chart_title(section, report.spec.country_name)
    fig = CHARTS[section.chart](section.table, title, section.source or report.source_line)
    return save_chart(fig, section.table, out_dir, section.key, png)["svg"]


def chart_html(svg: Path, title: str) -> str:
    """A saved SVG chart as an HTML image with alternative text (a plain SVG output gets none in nbconvert),
    embedded so the page stands alone, and links to the chart's files (the PNG where one was written) and the
    table behind it (relative to the report's folder, where the page is)."""
    data = base64.b64encode(svg.read_bytes()).decode("ascii")
    alt = html.escape(f"Chart: {title}. The table below the chart gives its data.", quote=True)
    name = html.escape(svg.stem, quote=True)
    links = " · ".join(
        f'<a href="{folder}/{name}.{fmt}">{label}</a>'
        for folder, fmt, label in (
            ("figures", "svg", "SVG"),
            ("figures", "pdf", "PDF"),
            ("figures", "png", "PNG"),
            ("tables", "csv", "data (CSV)"),
        )
        if fmt != "png" or svg.with_suffix(".png").is_file()
    )
    return (
        f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{alt}">'
        f"<figcaption>Download this chart: {links}</figcaption></figure>"
    )


def html_cell(value: object, column: str = "") -> str:
    """One value as a report states it: integers with thousands separators (not years), other numbers to one
    decimal, dates as days, URLs as links, text escaped."""
    if column == "year" and isinstance(value, numbers.Integral):
        return str(value)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    text = html.escape(str(value))
    return f'<a href="{text}">{text}</a>' if text.startswith(("http://", "https://")) else text


def stated_values(table: pd.DataFrame) -> pd.DataFrame:
    """A value published as a lower bound (is_value_lower_bound) as 'over <value>', never as if exact; the
    flag itself is then said, not shown (the CSV keeps both)."""
    if "is_value_lower_bound" not in table:
        return table
    over = table["is_value_lower_bound"].fillna(False).astype(bool)
    shown = table.drop(columns="is_value_lower_bound")
    if "value" in shown:
        shown["value"] = shown["value"].astype(object).where(~over, [stated(v, True) for v in table["value"]])
    return shown


def html_table(table: pd.DataFrame, max_rows: int = 25) -> str:
    """A table as plain HTML (no random ids, unlike a pandas Styler), values as html_cell shows them (lower
    bounds as 'over', see stated_values), long tables cut."""
    if table.empty:
        return "<p><em>None.</em></p>"
    shown = stated_values(table.head(max_rows))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html_cell(v, c)}</td>" for v, c in zip(row, shown.columns, strict=True)) + "</tr>"
        for row in shown.astype(object).itertuples(index=False)
    )
    more = f"<p><em>First {max_rows} of {len(table):,} rows; all in the CSV.</em></p>" if len(table) > max_rows else ""
    return f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}'
