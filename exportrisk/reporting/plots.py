"""Charts for publication: functions that take a report table and return a matplotlib Figure, nothing else.

Every chart is drawn from a table with at least one row, in the packaged style
(``exportrisk.styles.exportrisk``: colour-blind-safe colours, legible at one column of a paper) with a source
line under it, and from exactly the table it is given, so that the table written beside a chart is the table
behind it. Figures are built with ``Figure()``, not pyplot: nothing is shown or kept open by accident, in a
notebook or in a batch. Saving, in the formats and with the metadata that make files byte-identical across
runs, is ``exportrisk.reporting.figures``.
"""

import contextlib
import textwrap
from collections.abc import Callable, Iterator

import matplotlib.dates
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from exportrisk.schema import BANDS, INDETERMINATE

STYLE = "exportrisk.styles.exportrisk"
# Risk bands on a sequential ramp (matplotlib's YlOrRd sampled): lightness alone orders them, which every
# kind of colour vision sees; the data gap is a neutral grey.
BAND_COLOURS = dict(zip(BANDS, ("#fede80", "#fea546", "#fc5b2e", "#da141e", "#8d0026"), strict=True))
BAND_COLOURS[INDETERMINATE] = "#b4b4b4"
BAND_ORDER = (*BANDS, INDETERMINATE)
SOURCE_WIDTH = 100  # characters per source line at 5.5 pt across one column
TITLE_WIDTH = 55  # characters per title line at 8 pt bold
STRENGTH_MARKERS = {
    "forensically_confirmed": "o",
    "official_finding": "s",
    "credible_report": "^",
    "customer_relation_only": "x",
}


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """The packaged style, active while a chart is built and while it is saved (savefig reads rcParams)."""
    with matplotlib.style.context(STYLE):
        yield


def new_figure(rows: int = 1, height: float | None = None) -> tuple[Figure, list]:
    """A styled figure of ``rows`` panels sharing the x axis, one column wide."""
    with styled():
        width, default_height = matplotlib.rcParams["figure.figsize"]
        fig = Figure(figsize=(width, height or default_height))
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def add_source(fig: Figure, source: str) -> None:
    """The source line under the chart, wrapped to the figure's width (saved with bbox 'tight', it is kept)."""
    with styled():
        text = "\n".join(textwrap.wrap(f"Source: {source}", SOURCE_WIDTH))
        fig.text(0.0, 0.0, text, ha="left", va="top", fontsize=5.5, color="#555555")


def _stacked_bars(ax, wide: pd.DataFrame, colours: dict[str, str] | None) -> None:
    """Bars per index value (years), stacked by column, in column order."""
    bottom = np.zeros(len(wide))
    x = wide.index.to_numpy()
    for column in wide.columns:
        values = wide[column].to_numpy(dtype=float)
        colour = colours.get(column) if colours else None
        ax.bar(x, values, bottom=bottom, width=0.8, label=str(column), color=colour)
        bottom += values


def _wide(table: pd.DataFrame, index: str, columns: str, values: str, order: list[str]) -> pd.DataFrame:
    """Long (index, columns, values) to a wide frame with every index value and the columns in ``order``."""
    wide = table.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", observed=True)
    return wide.reindex(columns=[c for c in order if c in wide.columns]).fillna(0)


def _legend_below(fig: Figure, axes: list) -> None:
    """One legend for the panels, under them (the layout makes room), where it never covers data or a title."""
    found = [ax.get_legend_handles_labels() for ax in axes]
    handles, labels = [h for hs, _ in found for h in hs], [label for _, ls in found for label in ls]
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3))


def licences_by_year_and_band(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Licences per decision year, stacked by risk band, and below their value if it is in one currency.

    ``table``: year, band, licences, value, currency. Values in several currencies are not added up: the
    chart then shows licences only.
    """
    currencies = table["currency"].dropna().unique()
    fig, axes = new_figure(rows=2, height=3.6) if len(currencies) == 1 else new_figure()
    with styled():
        order = [b for b in BAND_ORDER if b in set(table["band"].astype(str))]
        _stacked_bars(axes[0], _wide(table, "year", "band", "licences", order), BAND_COLOURS)
        _title(axes[0], title)
        axes[0].set_ylabel("Licences")
        if len(axes) == 2:
            _stacked_bars(axes[1], _wide(table, "year", "band", "value", order), BAND_COLOURS)
            axes[1].set_ylabel(f"Value ({currencies[0]}, millions)")
            axes[1].yaxis.set_major_formatter(lambda v, _: f"{v / 1e6:,g}")
        _years_axis(axes[-1], "Decision year")
        _legend_below(fig, axes[:1])
    add_source(fig, source)
    return fig


def _bars_by_series(ax, table: pd.DataFrame) -> None:
    """Licences per year stacked by series (licensing state), the largest in all first. ``table``: year,
    series, value."""
    totals = table.groupby("series")["value"].sum().sort_values(ascending=False)
    _stacked_bars(ax, _wide(table, "year", "series", "value", list(totals.index)), None)
    ax.set_ylabel("Licences")


def _risk_lines(ax, table: pd.DataFrame) -> None:
    """One line per series (indicator) on the 0-100 risk scale. ``table``: year, series, value."""
    for name, part in table.sort_values(["series", "year"]).groupby("series", sort=False):
        ax.plot(part["year"], part["value"], label=name)
    ax.set_ylim(-3, 103)
    ax.set_ylabel("Risk (0 best, 100 worst)")


def _title(ax, title: str) -> None:
    ax.set_title(textwrap.fill(title, TITLE_WIDTH))


def _years_axis(ax, label: str) -> None:
    ax.set_xlabel(label)
    ax.xaxis.get_major_locator().set_params(integer=True)


def licences_by_year_and_state(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Licences per decision year, stacked by licensing state. ``table``: year, licensing_country, licences."""
    fig, (ax,) = new_figure()
    with styled():
        counts = table[["year", "licensing_country", "licences"]]  # the table may carry value too: not charted
        _bars_by_series(ax, counts.rename(columns={"licensing_country": "series", "licences": "value"}))
        _title(ax, title)
        _years_axis(ax, "Decision year")
        _legend_below(fig, [ax])
    add_source(fig, source)
    return fig


def indicator_trends(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Each indicator per year covered on one 0-100 risk scale (0 best, 100 worst), one line each.

    ``table``: year, indicator, risk. Indices with different scales become comparable this way, which is
    how the score reads them.
    """
    fig, (ax,) = new_figure()
    with styled():
        _risk_lines(ax, table.rename(columns={"indicator": "series", "risk": "value"}))
        _title(ax, title)
        _years_axis(ax, "Year covered")
        _legend_below(fig, [ax])
    add_source(fig, source)
    return fig


def licences_and_indicators(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Licences per year by licensing state (top) over the destination's indicators on the same years (below).

    ``table``: year, panel ('licences' or 'indicators'), series (licensing state or indicator), value (licences,
    or risk 0-100). One figure shows what was licensed against the record at the time, and costs half of two.
    """
    fig, (top, bottom) = new_figure(rows=2, height=3.6)
    with styled():
        licences = table[table["panel"] == "licences"]
        _bars_by_series(top, licences)
        colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        states = licences["series"].nunique()
        bottom.set_prop_cycle(color=colours[states:] + colours[:states])  # one legend: no colour twice
        _risk_lines(bottom, table[table["panel"] == "indicators"])
        _title(top, title)
        _years_axis(bottom, "Year")
        _legend_below(fig, [top, bottom])
    add_source(fig, source)
    return fig


def evidence_timeline(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Evidence by publication date and kind, the marker sized by the entries published that day.

    ``table``: published_date, kind, strength, entries.
    """
    fig, (ax,) = new_figure(height=2.2)
    with styled():
        kinds = sorted(table["kind"].astype(str).unique())
        rows = {k: i for i, k in enumerate(kinds)}
        for strength, part in table.groupby(table["strength"].astype(str), sort=True):
            ax.scatter(
                part["published_date"],
                part["kind"].astype(str).map(rows),
                s=6 + 10 * np.sqrt(part["entries"].to_numpy(dtype=float)),
                marker=STRENGTH_MARKERS.get(strength, "o"),
                label=strength.replace("_", " "),
                alpha=0.8,
            )
        locator = matplotlib.dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))
        ax.set_yticks(range(len(kinds)), [k.replace("_", " ") for k in kinds])
        ax.set_ylim(-0.6, len(kinds) - 0.4)
        _title(ax, title)
        ax.set_xlabel("Published")
        _legend_below(fig, [ax])
    add_source(fig, source)
    return fig


CHARTS: dict[str, Callable[[pd.DataFrame, str, str], Figure]] = {
    "licences_by_year_and_band": licences_by_year_and_band,
    "licences_by_year_and_state": licences_by_year_and_state,
    "indicator_trends": indicator_trends,
    "licences_and_indicators": licences_and_indicators,
    "evidence_timeline": evidence_timeline,
}
