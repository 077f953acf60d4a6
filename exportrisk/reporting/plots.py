"""Charts for publication: functions that take a report table and return a matplotlib Figure, nothing else.

Every chart is drawn from a table with at least one row, in the packaged style
(``exportrisk.styles.exportrisk``: colour-blind-safe colours, legible at one column of a paper) with a source
line under it, and from exactly the table it is given, so that the table written beside a chart is the table
behind it. Figures are built with ``Figure()``, not pyplot: nothing is shown or kept open by accident, in a
notebook or in a batch. Saving, in the formats and with the metadata that make files byte-identical across
runs, is ``exportrisk.reporting.figures``.
"""

import contextlib
import math
import textwrap
import zlib
from collections.abc import Callable, Iterator, Sequence

import matplotlib.collections
import matplotlib.dates
import matplotlib.style
import matplotlib.ticker
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from exportrisk.reporting.sections import HIGH
from exportrisk.schema import BANDS, INDETERMINATE

STYLE = "exportrisk.styles.exportrisk"
# Risk bands on a sequential ramp (matplotlib's YlOrRd sampled): lightness alone orders them, which every
# kind of colour vision sees; the data gap is a neutral grey.
BAND_COLOURS = dict(zip(BANDS, ("#fede80", "#fea546", "#fc5b2e", "#da141e", "#8d0026"), strict=True))
BAND_COLOURS[INDETERMINATE] = "#b4b4b4"
BAND_ORDER = (*BANDS, INDETERMINATE)
SOURCE_WIDTH = 100  # characters per source line at 5.5 pt across one column
TITLE_WIDTH = 55  # characters per title line at 8 pt bold
# One colour and one readable name per indicator, and one colour per licensing state, the same in every report
# (never by order of appearance). Each set of colours is at least 30 CIELAB units apart in normal vision and
# under simulated deuteranopia and protanopia (tests/test_plots.py computes it); none is too light for a line.
INDICATOR_STYLE = {
    "pts_a": ("PTS (Amnesty)", "#332288"),
    "pts_h": ("PTS (Human Rights Watch)", "#56b4e9"),
    "pts_s": ("PTS (US State Dept.)", "#882255"),
    "fh_total": ("Freedom House total", "#bd1f01"),
    "fh_pr": ("FH political rights", "#e5a50a"),
    "fh_cl": ("FH civil liberties", "#b9ac70"),
    "fh_status": ("FH status", "#94a4a2"),
    "fariss_theta": ("Fariss physical integrity", "#000000"),
}
STATE_COLOURS = {"GBR": "#832db6", "NLD": "#ffa90e", "BGR": "#228833", "CYP": "#aa3377", "FIN": "#99c1f1"}
SPARE_COLOURS = ("#77767b", "#a96b59", "#92dadd")  # an unlisted series: by a hash of its code, fixed
STRENGTH_COLOURS = {
    "forensically_confirmed": "#bd1f01",
    "official_finding": "#332288",
    "credible_report": "#e5a50a",
    "customer_relation_only": "#94a4a2",
}
# Relations of the vendor network by kind: (legend label, colour, dash), strongest first as in the scorer.
RELATION_STYLE = {
    "parent_of": ("parent of", "#332288", "-"),
    "owner_of": ("owner of", "#882255", "-"),
    "merged_with": ("merged with", "#bd1f01", "-"),
    "sales_arm_of": ("sales arm of", "#e5a50a", "-"),
    "renamed_to": ("renamed to", "#56b4e9", "--"),
    "affiliate_of": ("affiliate of", "#94a4a2", ":"),
}
# Entities by why they are in a state's network: (legend label, fill, marker area).
NODE_STYLE = {
    "exporter": ("exporter on a licence", "#000000", 30),
    "founding_letter": ("vendor of the founding letter", "#ffffff", 30),
    "": ("tied company or investor", "#94a4a2", 12),
}
NODE_LABEL_WIDTH = 20  # characters per line of an entity's name
NETWORK_PAD = 1.0  # room around the rings for names, in ring radii
LABEL_BOX = {"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}  # names stay legible over lines
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


class PinnedLegends(ConstrainedLayoutEngine):
    """Constrained layout that then pins each figure legend to the figure's box as laid out.

    A legend 'outside lower center' follows the figure's box, and cropping to the tight box (an inline notebook
    chart, a savefig with bbox 'tight') moves that box: the legend then slid down over the source line. Pinned in
    figure coordinates, it moves with the panels instead. Unpinned again for the next layout, which makes room
    only for legends that follow the box.
    """

    def execute(self, fig: Figure) -> None:
        for legend in fig.legends:
            legend.set_bbox_to_anchor(None)
        super().execute(fig)
        for legend in fig.legends:
            legend.set_bbox_to_anchor((0, 0, 1, 1), transform=fig.transFigure)


def new_figure(rows: int = 1, height: float | None = None) -> tuple[Figure, list]:
    """A styled figure of ``rows`` panels sharing the x axis, one column wide."""
    with styled():
        width, default_height = matplotlib.rcParams["figure.figsize"]
        fig = Figure(figsize=(width, height or default_height), layout=PinnedLegends())
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def add_source(fig: Figure, source: str) -> None:
    """The source line under the chart, wrapped to the figure's width (saved with bbox 'tight', it is kept)."""
    with styled():
        text = "\n".join(textwrap.wrap(f"Source: {source}", SOURCE_WIDTH))
        fig.text(0.0, 0.0, text, ha="left", va="top", fontsize=5.5, color="#555555")


def spare_colour(code: str) -> str:
    """A fixed colour for a series no table lists (the same code gets the same colour in every report)."""
    return SPARE_COLOURS[zlib.crc32(code.encode()) % len(SPARE_COLOURS)]


def indicator_name(code: str) -> str:
    return INDICATOR_STYLE.get(code, (code.replace("_", " "), ""))[0]


def indicator_colour(code: str) -> str:
    return INDICATOR_STYLE[code][1] if code in INDICATOR_STYLE else spare_colour(code)


def state_colour(code: str) -> str:
    return STATE_COLOURS.get(code) or spare_colour(code)


def _stacked_bars(ax, wide: pd.DataFrame, colours: Callable[[str], str]) -> None:
    """Bars per index value (years), stacked by column, in column order, each column in its fixed colour."""
    bottom = np.zeros(len(wide))
    x = wide.index.to_numpy()
    for column in wide.columns:
        values = wide[column].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, width=0.8, label=str(column), color=colours(str(column)))
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
        _stacked_bars(axes[0], _wide(table, "year", "band", "licences", order), BAND_COLOURS.__getitem__)
        _title(axes[0], title)
        axes[0].set_ylabel("Licences")
        axes[0].yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # counts: no 0.2 licences
        if len(axes) == 2:
            _stacked_bars(axes[1], _wide(table, "year", "band", "value", order), BAND_COLOURS.__getitem__)
            axes[1].set_ylabel(f"Value ({currencies[0]}, millions)")
            _lower_bounds(axes[1], table)
            axes[1].yaxis.set_major_formatter(lambda v, _: f"{v / 1e6:,g}")
        _years_axis(axes[-1], "Decision year")
        _legend_below(fig, axes[:1])
    add_source(fig, source)
    return fig


def _lower_bounds(ax, table: pd.DataFrame) -> None:
    """'over' on the value bar of each year whose total includes a value published as a lower bound."""
    if "is_value_lower_bound" not in table:
        return
    totals = table.groupby("year")["value"].sum()
    for year in sorted(table.loc[table["is_value_lower_bound"].fillna(False).astype(bool), "year"].unique()):
        ax.annotate("over", (year, totals[year]), xytext=(0, 1), textcoords="offset points", ha="center",
                    va="bottom", fontsize=5.5, color="#555555")  # fmt: skip


def _bars_by_state(ax, table: pd.DataFrame) -> None:
    """Licences per year stacked by licensing state, the largest in all first. ``table``: year,
    licensing_state, licences."""
    totals = table.groupby("licensing_state")["licences"].sum().sort_values(ascending=False, kind="stable")
    _stacked_bars(ax, _wide(table, "year", "licensing_state", "licences", list(totals.index)), state_colour)
    ax.set_ylabel("Licences")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def _risk_lines(ax, table: pd.DataFrame) -> None:
    """One line per indicator on the 0-100 risk scale, in its fixed colour and by its readable name.
    ``table``: year, indicator, risk."""
    for code, part in table.sort_values(["indicator", "year"]).groupby("indicator", sort=False):
        ax.plot(part["year"], part["risk"], label=indicator_name(code), color=indicator_colour(code), marker=".")
    ax.set_ylim(-3, 103)
    ax.set_ylabel("Risk (0 best, 100 worst)")


def _title(ax, title: str) -> None:
    ax.set_title(textwrap.fill(title, TITLE_WIDTH))


def _years_axis(ax, label: str) -> None:
    """Whole years only, however few (a one-year chart would otherwise get 2020.6, 2020.8, ...)."""
    ax.set_xlabel(label)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, min_n_ticks=1))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0f}"))


def _end_marker(ax, year: float, text: str) -> None:
    """A dotted line after the last year the data covers, labelled: past it, no bar means no data, not zero."""
    ax.axvline(year + 0.5, color="#555555", linestyle=":", linewidth=0.8)
    ax.annotate(text, (year + 0.5, 1), xycoords=("data", "axes fraction"), xytext=(2, -2),
                textcoords="offset points", ha="left", va="top", fontsize=5.5, color="#555555")  # fmt: skip


def licences_by_year_and_state(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Licences per decision year, stacked by licensing state. ``table``: year, licensing_state, licences."""
    fig, (ax,) = new_figure()
    with styled():
        _bars_by_state(ax, table)
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
        _risk_lines(ax, table)
        _title(ax, title)
        _years_axis(ax, "Year covered")
        _legend_below(fig, [ax])
    add_source(fig, source)
    return fig


def licences_and_indicators(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Licences per year by licensing state (top) over the destination's indicators on the same years (below).

    ``table``: year, licensing_state and licences (rows of the top panel), indicator and risk (rows of the
    bottom one), licence_data_to (the last year the licence sources cover, marked on the chart). One figure
    shows what was licensed against the record at the time, and costs half of two.
    """
    fig, (top, bottom) = new_figure(rows=2, height=3.6)
    with styled():
        _bars_by_state(top, table.dropna(subset=["licences"]))
        _risk_lines(bottom, table.dropna(subset=["risk"]))
        end = table["licence_data_to"].dropna()
        if len(end):
            _end_marker(top, float(end.max()), "licence data end")
        _title(top, title)
        _years_axis(bottom, "Year")
        _legend_below(fig, [top, bottom])
    add_source(fig, source)
    return fig


def _evidence_points(ax, table: pd.DataFrame) -> None:
    """Evidence by publication date (x) and kind (rows), marker and colour by strength (fixed), sized by the
    entries published that day. ``table``: published_date, kind, strength, entries."""
    kinds = sorted(table["kind"].astype(str).unique())
    rows = {k: i for i, k in enumerate(kinds)}
    for strength, part in table.groupby(table["strength"].astype(str), sort=True):
        ax.scatter(
            part["published_date"],
            part["kind"].astype(str).map(rows),
            s=6 + 10 * np.sqrt(part["entries"].to_numpy(dtype=float)),
            marker=STRENGTH_MARKERS.get(strength, "o"),
            color=STRENGTH_COLOURS.get(strength) or spare_colour(strength),
            label=strength.replace("_", " "),
            alpha=0.8,
        )
    ax.set_yticks(range(len(kinds)), [k.replace("_", " ") for k in kinds])
    ax.set_ylim(-0.6, len(kinds) - 0.4)


class RememberingDateLocator(matplotlib.dates.AutoDateLocator):
    """matplotlib's AutoDateLocator, keeping the ticks it finds for each view of the axis (and the frequency it
    chose, which autoscaling reads): a chart is measured and drawn eight times (layout, tight box, each format
    twice), and each time dateutil's rrule stepped through the dates again: 0.04 s, 3% of a report's time."""

    def __init__(self) -> None:
        super().__init__()
        self._found: dict[tuple[float, ...], tuple[Sequence[float], int]] = {}

    def __call__(self) -> Sequence[float]:
        if self.axis is None:
            return super().__call__()
        view = tuple(self.axis.get_view_interval())
        if view not in self._found:
            self._found[view] = (super().__call__(), self._freq)
        ticks, self._freq = self._found[view]
        return ticks


def _dates_axis(ax, label: str) -> None:
    locator = RememberingDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))
    ax.set_xlabel(label)


def evidence_timeline(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Evidence by publication date and kind, the marker sized by the entries published that day.

    ``table``: published_date, kind, strength, entries.
    """
    fig, (ax,) = new_figure(height=2.2)
    with styled():
        _evidence_points(ax, table)
        _dates_axis(ax, "Published")
        _title(ax, title)
        _legend_below(fig, [ax])
    add_source(fig, source)
    return fig


def _month_bars(ax, months: pd.Series, counts: pd.Series, colour: str) -> None:
    """One bar per month (28 days wide, centred on the month), drawn as one collection of rectangles. A
    Rectangle per month, as ``ax.bar`` makes (some 90 for the UK data), cost 0.07 s more per chart to build and
    draw in SVG and PDF, a twelfth of a report's time, for a chart that looks the same (pixel-identical in
    Chromium). The axis starts at zero, as a bar chart's does."""
    x = matplotlib.dates.date2num(months)
    y = counts.to_numpy(dtype=float)
    left, right = x - 14, x + 14
    corners = np.stack([np.column_stack(c) for c in ((left, 0 * y), (left, y), (right, y), (right, 0 * y))], axis=1)
    bars = matplotlib.collections.PolyCollection(list(corners), facecolors=colour, linewidths=0, label="licences")
    bars.sticky_edges.y.append(0)
    ax.xaxis_date()
    ax.add_collection(bars)
    ax.autoscale_view()


def licences_and_evidence(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Licences per decision month (top) and the evidence naming the state (below) on one dated axis: what was
    licensed, and what was published about the state, when.

    ``table``: month and licences (rows of the top panel), published_date, kind, strength and entries (rows of
    the bottom one), licence_data_to (the last day the licence sources cover, marked).
    """
    fig, (top, bottom) = new_figure(rows=2, height=3.2)
    with styled():
        licences = table.dropna(subset=["licences"])
        _month_bars(top, licences["month"], licences["licences"].astype(float), "#555555")
        top.set_ylabel("Licences\nper month")
        end = table["licence_data_to"].dropna()
        if len(end):
            top.axvline(end.max(), color="#555555", linestyle=":", linewidth=0.8)
            top.annotate("licence data end", (end.max(), 1), xycoords=("data", "axes fraction"), xytext=(2, -2),
                         textcoords="offset points", ha="left", va="top", fontsize=5.5, color="#555555")  # fmt: skip
        _evidence_points(bottom, table.dropna(subset=["entries"]))
        _dates_axis(bottom, "Decided (licences) or published (evidence)")
        _title(top, title)
        _legend_below(fig, [bottom])
    add_source(fig, source)
    return fig


def top_destinations(table: pd.DataFrame, title: str, source: str) -> Figure:
    """Licences High or above per destination, in rank order from the top, each bar split by band; all the
    destination's licences written beside it. ``table``: rank, destination, band, licences (see
    exportrisk.reporting.sections.top_destinations)."""
    places = table.drop_duplicates("destination")[["rank", "destination"]].reset_index(drop=True)
    wide = (
        _wide(table, "destination", "band", "licences", [b for b in BANDS if b in HIGH])
        .reindex(places["destination"])
        .fillna(0)
    )
    every = table.groupby("destination")["licences"].sum().reindex(places["destination"])
    fig, (ax,) = new_figure(height=1.0 + 0.17 * len(places))
    with styled():
        y = np.arange(len(places))
        left = np.zeros(len(places))
        for band in wide.columns:
            values = wide[band].to_numpy(dtype=float)
            ax.barh(y, values, left=left, height=0.7, color=BAND_COLOURS[band], label=band)
            left += values
        for row, (ranked_at, total) in enumerate(zip(left, every, strict=True)):
            ax.annotate(f"of {total:,.0f}", (ranked_at, row), xytext=(2, 0), textcoords="offset points", ha="left",
                        va="center", fontsize=5.5, color="#555555")  # fmt: skip
        ax.set_yticks(y, [f"{r}  {d}" for r, d in zip(places["rank"], places["destination"], strict=True)])
        ax.invert_yaxis()
        ax.set_xlabel("Issued export licences High or above (of all licences to it)")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        ax.margins(x=0.15)
        _title(ax, title)
        _legend_below(fig, [ax])
    add_source(fig, source)
    return fig


def _kind_order(kind: str) -> int:
    return list(RELATION_STYLE).index(kind) if kind in RELATION_STYLE else len(RELATION_STYLE)


def _radial_layout(graph: nx.Graph) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """Places and label directions: each component a tree around its most connected entity (ties by id), its
    neighbours on a first ring, theirs on a second beside their parent; components side by side. No randomness
    and no optimiser: the same graph gives the same drawing, byte for byte."""
    pos: dict[str, tuple[float, float]] = {}
    angles: dict[str, float] = {}
    offset = 0.0
    for nodes in sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0])):
        hub = min(nodes, key=lambda n: (-graph.degree(n), n))
        tree = nx.bfs_tree(graph.subgraph(nodes), hub, sort_neighbors=sorted)
        depth = nx.shortest_path_length(tree, hub)
        first = list(tree.successors(hub))
        step = 2 * math.pi / max(len(first), 1)
        angles[hub] = math.pi / 2
        angles |= {n: math.pi / 2 - (i + 0.5) * step for i, n in enumerate(first)}
        for parent in nx.dfs_preorder_nodes(tree, hub, sort_neighbors=sorted):
            children = list(tree.successors(parent)) if parent != hub else []
            for j, child in enumerate(children):
                angles[child] = angles[parent] + (j - (len(children) - 1) / 2) * step / len(children)
        reach = max(depth.values()) or 1
        pos |= {n: (offset + reach + depth[n] * math.cos(angles[n]), depth[n] * math.sin(angles[n])) for n in nodes}
        offset += 2 * reach + 1.5
    return pos, angles


def vendor_network(table: pd.DataFrame, title: str, source: str) -> Figure:
    """The companies and investors linked to a state's exporters, one line per reported relation (colour and
    dash by kind, dated where the reports date it), the exporters marked. ``table``: from_entity, from_name,
    from_role, relation, to_entity, to_name, to_role, period (see exportrisk.reporting.sections.vendor_network)."""
    graph = nx.Graph()
    for row in table.sort_values(["from_entity", "to_entity", "relation"]).itertuples(index=False):
        graph.add_node(row.from_entity, name=row.from_name, role=row.from_role or "")
        graph.add_node(row.to_entity, name=row.to_name, role=row.to_role or "")
        graph.add_edge(row.from_entity, row.to_entity, relation=row.relation, period=row.period)
    pos, angles = _radial_layout(graph)
    xs, ys = zip(*pos.values(), strict=True)
    span = (max(xs) - min(xs) + 2 * NETWORK_PAD, max(ys) - min(ys) + NETWORK_PAD)  # names need room on the sides
    fig, (ax,) = new_figure(height=min(max(1.0 + 2.6 * span[1] / span[0], 1.6), 4.4))
    with styled():
        # drawn, and so in the legend, strongest kind first
        for u, v, edge in sorted(graph.edges(data=True), key=lambda e: (_kind_order(e[2]["relation"]), e[0], e[1])):
            label, colour, dash = RELATION_STYLE.get(
                edge["relation"], (edge["relation"], spare_colour(edge["relation"]), "-")
            )
            ax.plot(
                *zip(pos[u], pos[v], strict=True), color=colour, linestyle=dash, linewidth=0.9, zorder=1, label=label
            )
            if edge["period"] != "undated":
                (nx0, ny0), (fx, fy) = (pos[n] for n in sorted((u, v), key=lambda n: -graph.degree(n)))
                at = (nx0 + 0.7 * (fx - nx0), ny0 + 0.7 * (fy - ny0))  # nearer the leaf: a hub's labels would pile up
                ax.annotate(edge["period"], at, ha="center", va="center", fontsize=4.5, color="#333333", zorder=2,
                            bbox=LABEL_BOX)  # fmt: skip
        for role, (label, face, size) in NODE_STYLE.items():
            nodes = [n for n in sorted(graph) if graph.nodes[n]["role"] == role]
            if nodes:
                xy = np.array([pos[n] for n in nodes])
                ax.scatter(
                    xy[:, 0], xy[:, 1], s=size, color=face, edgecolors="#000000", linewidths=0.7, zorder=3, label=label
                )
        for n in sorted(graph):
            dx, dy = math.cos(angles[n]), math.sin(angles[n])
            ha = "left" if dx > 0.1 else "right" if dx < -0.1 else "center"
            va = "center" if ha != "center" else "bottom" if dy > 0 else "top"
            ax.annotate(textwrap.fill(graph.nodes[n]["name"], NODE_LABEL_WIDTH), pos[n], xytext=(4 * dx, 4 * dy),
                        textcoords="offset points", ha=ha, va=va, fontsize=5, zorder=2, bbox=LABEL_BOX)  # fmt: skip
        ax.set_axis_off()
        ax.set_xlim(min(xs) - NETWORK_PAD, max(xs) + NETWORK_PAD)
        ax.set_ylim(min(ys) - NETWORK_PAD / 2, max(ys) + NETWORK_PAD / 2)
        _title(ax, title)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        fig.legend(unique.values(), unique.keys(), loc="outside lower center", ncols=2)
    add_source(fig, source)
    return fig


CHARTS: dict[str, Callable[[pd.DataFrame, str, str], Figure]] = {
    "licences_by_year_and_band": licences_by_year_and_band,
    "licences_by_year_and_state": licences_by_year_and_state,
    "indicator_trends": indicator_trends,
    "licences_and_indicators": licences_and_indicators,
    "evidence_timeline": evidence_timeline,
    "licences_and_evidence": licences_and_evidence,
    "top_destinations": top_destinations,
    "vendor_network": vendor_network,
}
