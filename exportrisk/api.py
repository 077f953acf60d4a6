"""The researcher's API: ``import exportrisk as er``, then tables by name, scoring, network and as-of queries.

A notebook should not need to know where files live or which command makes them: every function here reads
the project's processed tables (the project is the current folder, or ``EXPORTRISK_ROOT``) and a table that is
missing is built first from whatever is in data/raw/, by the pipeline's steps (exportrisk.pipeline) the command
line and the build run, saying so in one line. The work itself is the library's (scoring, network, indicators,
evidence); this module only finds the tables and hands them over, so that what a notebook shows is what the
reports and tests compute.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

import matplotlib.colors
import networkx as nx
import pandas as pd
from pandas.io.formats.style import Styler
from tqdm import tqdm

from exportrisk import config, listcols, pipeline
from exportrisk.errors import InputError
from exportrisk.ingest import registry
from exportrisk.ingest.files import read_table
from exportrisk.knowledge import evidence, indicators
from exportrisk.reference import entities
from exportrisk.reporting import sections as reports
from exportrisk.reporting.plots import BAND_COLOURS
from exportrisk.schema import LICENCES, TABLES, Table, conform
from exportrisk.scoring import network
from exportrisk.scoring import score as scoring

Day: TypeAlias = pd.Timestamp | dt.date | str

# Column headers for reading: the score components by their letter and meaning (docs/methodology.md).
LABELS = {
    "d_score": "D destination",
    "e_score": "E abuse",
    "u_score": "U end-user",
    "i_score": "I goods",
    "x_score": "X transaction",
}
SHARES = ("coverage", "band_kept_share")  # 0-1 columns, shown as percentages


def declared(name: str) -> Table:
    """The declaration of table ``name`` (exportrisk.schema), or an error listing the tables there are."""
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}: one of {', '.join(TABLES)}")
    return TABLES[name]


def table_path(name: str) -> Path:
    """Where a processed table lives: data/processed/<name>.parquet (.csv for the small headline tables)."""
    declared(name)
    return pipeline.Project.here().table(name)


def build_table(name: str) -> None:
    """Build table ``name`` (and the tables it rests on) from data/raw/, by the pipeline's steps that make them
    (exportrisk.pipeline), with one line saying how.

    Missing tables only: to rebuild after new raw data or code, run ``exportrisk build`` (``make reports``),
    which also knows what changed.
    """
    project = pipeline.Project.here()
    raw = project.raw
    present = sorted(p.name for p in raw.iterdir() if p.is_dir()) if raw.is_dir() else []
    if not present:
        raise InputError(raw, "no raw data: run `exportrisk fetch` (or `make reports`) first")
    todo = pipeline.steps_for(name, project)
    absent = sorted(set(registry.sources()) - set(present))
    hint = f"; not fetched: {', '.join(absent)} (`exportrisk fetch` gets them)" if absent else ""
    names = ", ".join(s.name for s in todo)
    print(f"er.load: {name} is not built yet: running {names} on data/raw/ ({', '.join(present)}{hint})")
    for step in tqdm(todo, desc="building", unit="step"):
        step.run(project)


def load(name: str) -> pd.DataFrame:
    """A processed table by name ('licences', 'score_lines', ...: see exportrisk.schema.TABLES), with its declared
    types (bands as ordered categories, dates as dates), built first if it is missing."""
    path = table_path(name)
    if not path.is_file():
        build_table(name)
    if name in pipeline.CSV_TABLES:
        return conform(pd.read_csv(path, keep_default_na=False, na_values=[""]), declared(name))
    return read_table(path, declared(name))


def describe(name: str) -> pd.DataFrame:
    """What each column of a table means, from its declaration in exportrisk.schema (the data dictionary)."""
    return pd.DataFrame(
        [(f.name, f.dtype, f.required, f.description) for f in declared(name).fields],
        columns=["column", "type", "required", "meaning"],
    )


def _config(cfg: scoring.ScoringConfig | str | Path | None) -> scoring.ScoringConfig:
    if isinstance(cfg, scoring.ScoringConfig):
        return cfg
    return scoring.load_config(Path(cfg) if cfg is not None else scoring.DEFAULT_CONFIG)


def score(licences: pd.DataFrame, cfg: scoring.ScoringConfig | str | Path | None = None) -> pd.DataFrame:
    """Score licence lines a researcher filtered or edited, as ``exportrisk score`` would: the score_lines columns,
    one row per given line with its index, each scored as of its decision date.

    ``licences`` has the columns of the licences table (a filtered or edited ``load("licences")``); the
    indicators, evidence, exporter network and refusals (precedent) are the project's processed tables. ``cfg``
    is a scoring configuration, or the path of one (default: the packaged scoring.yaml): change weights with
    ``dataclasses.replace`` to see how the scores move.
    """
    missing = [f.name for f in LICENCES.fields if f.required and f.name not in licences]
    if missing:
        raise ValueError(f"licence lines need the licences table's columns; missing: {', '.join(missing)}")
    lines = conform(licences, LICENCES)
    if lines.duplicated(["licence_id", "line_no"]).any():
        raise ValueError("two rows have the same licence_id and line_no: give an edited copy a new line_no")
    tables = {name: load(name) for name in ("licences", "indicators", "evidence", "entities", "relations")}
    return scoring.score_against(lines, tables, _config(cfg)).set_axis(licences.index)


def screen(
    exporter: str | None = None,
    destination: str | None = None,
    goods: str | None = None,
    date: Day | None = None,
    *,
    end_user: str | None = None,
    end_user_type: str | None = None,
    value: float | None = None,
    currency: str | None = None,
    licensing_country: str | None = None,
    application_id: str | None = None,
    csv: str | Path | None = None,
    out: str | Path | None = None,
    memos: bool = True,
    cfg: str | Path | None = None,
) -> pd.DataFrame:
    """Screen one application (the arguments) or a CSV of many, as ``exportrisk screen`` does: the screenings
    table (score, band, interval, components, reason, smallest change), memos as HTML and PDF in ``out``
    (default reports/screening/). Only evidence and relations public before ``date`` count."""
    from exportrisk.screening import applications, runner

    for name in ("licences", "indicators", "evidence", "entities", "relations"):
        if not table_path(name).is_file():
            build_table(name)
    if csv is not None:
        apps: pd.DataFrame | Path = Path(csv)
    else:
        given = {
            "application_id": application_id,
            "exporter": exporter,
            "end_user": end_user,
            "end_user_type": end_user_type,
            "destination": destination,
            "goods": goods,
            "value": value,
            "currency": currency,
            "date": None if date is None else pd.Timestamp(date).date().isoformat(),
            "licensing_country": licensing_country,
        }
        apps = applications.from_flags({k: None if v is None else str(v) for k, v in given.items()})
    folder = Path(out) if out is not None else config.project_root() / "reports" / "screening"
    config_path = Path(cfg) if cfg is not None else scoring.DEFAULT_CONFIG
    found, _ = runner.run(config.processed_dir(), apps, folder, config_path, ("html", "pdf") if memos else ())
    return found


def find_entity(entity: str) -> str:
    """The curated entity a name, an alias or an entity_id refers to ('N.S.O. Group' -> 'nso-group')."""
    known = load("entities")
    if entity in set(known["entity_id"]):
        return entity
    found = entities.match_entity(entity, known)
    if found is None:
        raise ValueError(f"{entity!r} is not the name or alias of exactly one entity: see load('entities')")
    return found


def vendor_network(entity: str | None = None) -> nx.MultiDiGraph:
    """The entities and their dated relations as a graph (exportrisk.scoring.network.build_graph); with ``entity``, only
    the entities linked to it at any time, which is what a drawing of one vendor's family needs."""
    graph = network.build_graph(load("entities"), load("relations"))
    if entity is None:
        return graph
    return graph.subgraph(nx.node_connected_component(graph.to_undirected(as_view=True), find_entity(entity))).copy()


def affiliates(entity: str, date: Day) -> pd.DataFrame:
    """The entities linked to ``entity`` (a name, alias or entity_id) by relations in force on ``date``, nearest
    first, with the path that links them (exportrisk.scoring.network.affiliates_at)."""
    graph = vendor_network()
    found = network.affiliates_at(graph, find_entity(entity), date)
    found.insert(1, "name", found["entity_id"].map(dict(graph.nodes(data="name"))).astype("string"))
    return found


def _country(country: str | None) -> str | None:
    """An ISO3 code or a country name the mappings know, as the reports accept it."""
    return None if country is None else reports.country_code(country)


def indicators_as_of(
    date: Day, country: str | None = None, cfg: scoring.ScoringConfig | str | Path | None = None
) -> pd.DataFrame:
    """Each indicator's latest value public strictly before ``date``, per country or for one (an ISO3 code or a
    name): what a decision taken that day could know (exportrisk.knowledge.indicators.indicators_as_of_many).
    A value is carried forward as many years as the scores carry it: the scoring configuration's
    ``destination.max_years_behind`` (``cfg`` as in ``score``; default: the packaged scoring.yaml)."""
    table = load("indicators")
    code = _country(country)
    codes = table["country_code"].drop_duplicates() if code is None else pd.Series([code])
    queries = pd.DataFrame({"country_code": codes, "date": pd.Timestamp(date)})
    return indicators.indicators_as_of_many(table, queries, _config(cfg).destination.max_years_behind)


def evidence_as_of(date: Day, country: str | None = None) -> pd.DataFrame:
    """The evidence lines public strictly before ``date``, all or those naming one country's state
    (exportrisk.knowledge.evidence.evidence_as_of). Victims appear by pseudonymous id and role, never by name."""
    found = evidence.evidence_as_of(load("evidence"), date)
    code = _country(country)
    return found if code is None else found[found["country_code"].eq(code).fillna(False).astype(bool)]


# --- reading tables in a notebook ---------------------------------------------------------------------------


def label(column: object) -> str:
    """A column's header for reading: 'destination_country_code' -> 'destination country', 'd_score' -> 'D ...'."""
    text = str(column)
    return LABELS.get(text) or text.removesuffix("_code").replace("_", " ")


def _decimal(value: float) -> str:
    """A number as people write it: whole numbers with thousands separators, others to one decimal, or to three
    significant digits below one (weights, shares, Kendall's tau)."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}"


def _number_format(column: object, dtype: object) -> str | Callable[[Any], str] | None:
    name = str(column)
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_float_dtype(dtype):
        return "{:.1%}" if name in SHARES or name.startswith("share") else _decimal
    if pd.api.types.is_integer_dtype(dtype):
        return "{}" if "year" in name or name in ("line_no", "source_row") else "{:,}"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return lambda d: d.strftime("%Y-%m-%d")
    return None


def _band_style(band: object) -> str:
    """A band on its chart colour (exportrisk.reporting.plots), with text dark or light enough to read on it."""
    colour = BAND_COLOURS.get(str(band))
    if colour is None:
        return ""
    r, g, b = matplotlib.colors.to_rgb(colour)
    return f"background-color: {colour}; color: {'black' if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 else 'white'}"


class Shown(Styler):
    """A styled table that reads everywhere: Jupyter shows its HTML (colours and all), a plain Python session its
    repr, which for a Styler would be only ``<Styler object at 0x...>``: here, the same formatted cells as aligned
    text."""

    def __repr__(self) -> str:
        cells = [line.split("\x1f") for line in self.to_string(delimiter="\x1f").splitlines()]
        columns = range(max(map(len, cells)))
        widths = [max(len(row[i]) for row in cells if i < len(row)) for i in columns]
        number = re.compile(r"[-+]?[\d,.]+%?|")  # numbers (and blanks) line up on the right, headers with them
        right = [all(number.fullmatch(row[i]) for row in cells[1:] if i < len(row)) for i in columns]
        lines = [
            "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=False))
            for row in cells
        ]
        return "\n".join([line.rstrip() for line in lines] + ([str(self.caption)] if self.caption else []))


def display(df: pd.DataFrame, rows: int = 20) -> Shown:
    """The first ``rows`` rows of a table for reading: readable headers, numbers and dates formatted, empty cells
    blank, risk bands on their chart colours, the row index only where it is named (a crosstab's, a groupby's).
    For looking only: compute with the DataFrame itself."""
    shown = df.head(rows)
    formats = {c: f for c in shown if (f := _number_format(c, shown[c].dtype)) is not None}
    formats |= {c: listcols.SEPARATOR.join for c in shown if listcols.is_list(shown[c])}  # values, not a repr
    styler = Shown(shown).format(formats, na_rep="").format_index(label, axis="columns")
    styler = styler.format_index_names(label, axis="columns").format_index_names(label, axis="index")
    styler = styler.map(_band_style, subset=[c for c in shown if str(c).endswith("band")])
    if all(name is None for name in shown.index.names):  # row numbers, not labels
        styler = styler.hide(axis="index")
    if len(df) > rows:
        styler = styler.set_caption(f"First {rows} of {len(df):,} rows")
    return styler
