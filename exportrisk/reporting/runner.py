"""Running country reports: the notebook per country through papermill, many at once, never half-published.

What a report says is ``exportrisk.reporting.sections``; this module is the edge around it. It reads the rows a report
needs (filtered in the Parquet reader, not after), and runs ``reporting/templates/country_report.ipynb`` per country
with papermill, then exports HTML without code in-process (nbconvert's HTMLExporter with ``exclude_input``;
papermill's ``report_mode`` does not hide code there).

Speed: a fresh kernel costs about 2 s per notebook (start-up and imports) before any work, so each worker
process keeps one kernel, started once with the report modules imported, and resets its namespace between
notebooks (``WarmKernelEngine``); a pool of such workers runs reports in parallel, largest first. Each report
is written to a temporary folder beside its final place and renamed over it only when complete and free of
victims' names, so a failed run leaves the last good report in place; one failing country never stops a
batch, and the batch says at the end which failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import html
import json
import multiprocessing
import multiprocessing.util
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import nbformat
import numpy as np
import pandas as pd
import papermill
from jupyter_client.client import KernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.exceptions import PapermillExecutionError
from tqdm import tqdm

from exportrisk import config, listcols
from exportrisk.errors import InputError
from exportrisk.ingest.fetch import MANIFEST, sha256
from exportrisk.ingest.files import atomic_path, read_table, write_json
from exportrisk.ingest.sources import pegasus_victims, read_source_csv, spreadsheet
from exportrisk.knowledge.indicators import indicator_specs
from exportrisk.reference import pseudonyms
from exportrisk.reference.entities import fold
from exportrisk.reporting import sections as reports
from exportrisk.reporting.figures import html_cell
from exportrisk.schema import AGGREGATES, ENTITIES, EVIDENCE, INDICATORS, LICENCES, RELATIONS, SCORE_LINES, Table

ENGINE = "exportrisk-warm"
KERNEL = "python3"
CELL_TIMEOUT = 600  # seconds per cell: a stuck cell fails its report, not the batch
# Run in the kernel before each notebook: a clean namespace and numbering from 1; imported modules stay. The
# reset ends in a full garbage collection (IPython's), which scanned the whole warm kernel, its modules and cached
# tables, once per report: a tenth of the kernel's time. What survives it is kept for good (gc.freeze), so each
# later collection scans only what the last report made.
RESET = "get_ipython().reset(new_session=False)\nget_ipython().execution_count = 1\n__import__('gc').freeze()"
WARM_UP = (
    "import exportrisk.reporting.runner, exportrisk.reporting.figures, exportrisk.reporting.plots, IPython.display"
)
TEXT_SUFFIXES = (".html", ".ipynb", ".csv", ".json", ".svg")
BASE64 = re.compile(r"base64,[A-Za-z0-9+/=\s]{100,}")


# --- what one report reads ---


def data_dir(value: str | Path | None = None) -> Path:
    """The data folder (raw/ and processed/): the parameter, else the project's."""
    return Path(value).resolve() if value else config.project_root() / "data"


def output_dir(spec: reports.ReportSpec, value: str | Path | None = None) -> Path:
    return Path(value).resolve() if value else config.project_root() / "reports" / spec.role / spec.country_code


@functools.lru_cache(maxsize=16)
def _read_file(path: Path, table: Table, _stamp: tuple[int, int]) -> tuple[pd.DataFrame, str]:
    return read_table(path, table), sha256(path.read_bytes())


def read_cached(path: Path, table: Table) -> tuple[pd.DataFrame, str]:
    """A canonical table and its sha256, read once per process while the file stays the same (mtime, size).

    A worker's kernel runs hundreds of reports on the same tables: it keeps them, as it keeps its imports.
    Callers filter and never modify the frame they get.
    """
    if not path.is_file():
        hint = "exportrisk score" if table is SCORE_LINES else "exportrisk clean"
        raise InputError(path, f"table is missing: run `{hint}` first")
    stat = path.stat()  # a garbled table is one line naming it (read_table)
    return _read_file(path, table, (stat.st_mtime_ns, stat.st_size))


def own_source_about(folder: Path) -> dict[str, str]:
    """The citation and terms a researcher's folder declares in its exportrisk.yaml, where it does."""
    if not (folder / spreadsheet.MAPPING_FILE).is_file():
        return {}
    try:
        specs = spreadsheet.load_folder_specs(folder)
    except InputError:  # clean already said what is wrong with the mapping; the report just lacks the citation
        return {}
    about = {"citation": next((s.citation for s in specs if s.citation), None)}
    about["terms"] = next((s.terms for s in specs if s.terms), None)
    return {k: v for k, v in about.items() if v}


def read_manifests(raw: Path) -> dict[str, dict]:
    """Each raw source folder's fetch.json; for a folder without one (curated data, a researcher's own
    spreadsheet) the same fields, with checksums computed now."""
    manifests = {}
    for folder in sorted(p for p in raw.iterdir() if p.is_dir()) if raw.is_dir() else []:
        manifest = folder / MANIFEST
        if manifest.is_file():
            manifests[folder.name] = json.loads(manifest.read_text(encoding="utf-8"))
            continue
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        about = own_source_about(folder)
        manifests[folder.name] = {
            "source": folder.name,
            "title": about.get("citation") or f"data/raw/{folder.name}/ (a researcher's own source)",
            "licence": about.get("terms") or "see the folder's exportrisk.yaml and each row's source_url",
            "citation": about.get("citation") or f"data/raw/{folder.name}",
            "files": {p.name: {"sha256": sha256(p.read_bytes()), "bytes": p.stat().st_size} for p in files},
        }
    return manifests


@functools.cache
def indicator_titles() -> dict[str, str]:
    titles = {}
    for spec in indicator_specs().values():
        titles.update({c: i.title for c, i in spec.indicators.items()})
    return titles


_coverage: dict[str, tuple[pd.DataFrame, dict[str, pd.Timestamp]]] = {}


def source_coverage(digest: str, licences: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Timestamp]]:
    """Each licence source's partial years and last decision date, computed once per process for each content
    (sha256) of the licences table: a report states them for its sources, whichever lines it holds."""
    if digest not in _coverage:
        _coverage.clear()
        ends = licences.groupby(licences["source"].astype("string"))["decision_date"].max().dropna()
        _coverage[digest] = (reports.partial_years(licences), dict(ends.items()))
    return _coverage[digest]


@functools.cache
def empty(table: Table) -> pd.DataFrame:
    """A table with no rows, made once (conform takes 10 ms): callers never modify it."""
    return table.empty()


def read_whole(data: Path, roles: Iterable[str]) -> tuple[reports.ReportData, dict[str, str]]:
    """Every table reports in these roles read, whole (indicators for the destination role; aggregates where
    clean wrote them), and the sha256 of each file as read. Read once per process: see read_cached."""
    processed = data / "processed"
    tables = [LICENCES, SCORE_LINES, EVIDENCE, ENTITIES, RELATIONS]
    tables += [INDICATORS] if "destination" in roles else []
    tables += [AGGREGATES] if (processed / f"{AGGREGATES.name}.parquet").is_file() else []
    read = {t.name: read_cached(processed / f"{t.name}.parquet", t) for t in tables}
    frames = {name: frame for name, (frame, _) in read.items()}
    partial, ends = source_coverage(read[LICENCES.name][1], frames[LICENCES.name])
    whole = reports.ReportData(
        licences=frames[LICENCES.name],
        score_lines=frames[SCORE_LINES.name],
        indicators=frames.get(INDICATORS.name, empty(INDICATORS)),
        indicator_titles=indicator_titles(),
        evidence=frames[EVIDENCE.name],
        entities=frames[ENTITIES.name],
        manifests=read_manifests(data / "raw"),
        partial_years=partial,
        source_ends=ends,
        aggregates=frames.get(AGGREGATES.name, empty(AGGREGATES)),
        relations=frames[RELATIONS.name],
    )
    return whole, {f"processed/{name}.parquet": digest for name, (_, digest) in read.items()}


def load_report_data(spec: reports.ReportSpec, data: Path) -> reports.ReportData:
    """The tables one report needs: its licence lines and their scores, its country's indicators (destination
    role), the evidence and the entities."""
    whole, _ = read_whole(data, [spec.role])
    lines = reports.select_lines(whole.licences, spec)
    indicators = whole.indicators
    return dataclasses.replace(
        whole,
        licences=lines,
        score_lines=whole.score_lines[whole.score_lines["licence_id"].isin(lines["licence_id"])],
        indicators=indicators[indicators["country_code"].eq(spec.country_code).fillna(False).astype(bool)],
        aggregates=reports.select_lines(whole.aggregates, spec),
    )


def prepare(spec: reports.ReportSpec, data: str = "", output: str = "") -> tuple[reports.Report, Path]:
    """For the notebook: the report built from the data folder, and the folder its files go to."""
    return reports.build_report(load_report_data(spec, data_dir(data)), spec), output_dir(spec, output)


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """Each row's hash over its values (pandas' stable row hash: the same in any process, whatever other rows
    the table holds; list columns hashed as text)."""
    keys = frame.assign(**{c: listcols.hashable(frame[c]) for c in frame.columns if listcols.is_list(frame[c])})
    return pd.util.hash_pandas_object(keys, index=False).to_numpy()


def rows_digest(columns: Iterable[object], hashes: np.ndarray) -> bytes:
    return hashlib.sha256("\0".join(map(str, columns)).encode() + b"\0" + hashes.tobytes()).digest()


def frame_digest(frame: pd.DataFrame) -> bytes:
    """sha256 of a table's columns and values, in row order."""
    return rows_digest(frame.columns, row_hashes(frame))


@functools.cache
def code_digest() -> str:
    """sha256 of the package as installed: its modules, metadata, styles and templates. A report's code is what
    its notebook imports, which reaches most of the package; hashing all of it is cheap and never misses one."""
    total = hashlib.sha256()
    package = config.PACKAGE_DIR
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        total.update(path.relative_to(package).as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


class LineKeys:
    """What select_lines reads of a table, grouped by country in each role, with each row's position: the
    positions of the rows a report selects, without copying them or scanning the whole table."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.keys = frame[[*reports.ROLE_COLUMN.values(), "decision_date"]].assign(row=np.arange(len(frame)))
        roles = reports.ROLE_COLUMN.items()
        self.groups = {role: self.keys.groupby(column, observed=True).indices for role, column in roles}

    def select(self, spec: reports.ReportSpec) -> np.ndarray:
        rows = self.groups[spec.role].get(spec.country_code, np.array([], dtype=int))
        return reports.select_lines(self.keys.iloc[rows], spec)["row"].to_numpy()


class Fingerprints:
    """Reports' fingerprints: sha256 over exactly what one report uses (its licence lines and their scores, its
    country's indicators, the evidence it shows or its scores used, the coverage of its sources, the source
    manifests, the notebook and the package's code) and how it is drawn (with or without PNG charts). Another
    country's rows are not in it: changing them leaves the report alone.

    For a batch, the tables are read once and each row hashed once; a report's part of a table is the list of
    its rows' positions, and its digest the hash of their hashes: the same as cutting the rows out and hashing
    them (frame_digest), without copying any.
    """

    def __init__(self, data: Path, roles: Iterable[str], template: Path, png: bool = False) -> None:
        whole, self.tables = read_whole(data, roles)
        self.png = png
        self.whole = whole
        names = ("licences", "score_lines", "indicators", "evidence", "aggregates", "partial_years")
        self.rows = {name: row_hashes(getattr(whole, name)) for name in names}
        self.keys = {name: LineKeys(getattr(whole, name)) for name in ("licences", "aggregates")}
        ids = pd.concat([whole.licences["licence_id"], whole.score_lines["licence_id"]], ignore_index=True)
        codes = pd.factorize(ids)[0]  # licence ids as integers shared by both tables
        self.licence_ids, self.score_ids = codes[: len(whole.licences)], codes[len(whole.licences) :]
        # only the columns report_evidence reads, and line_no: copying whole rows per report is most of the cost
        self.cited = whole.score_lines[["evidence_ids"]]
        self.evidence = dataclasses.replace(
            whole, evidence=whole.evidence[["evidence_id", "line_no", "country_code", "published_date"]]
        )
        context = {
            "manifests": self.whole.manifests,
            "entity_sources": sorted(set(self.whole.entities["source"].astype("string"))),
        }
        self.context = json.dumps(context, sort_keys=True, default=str).encode()
        self.template = hashlib.sha256(template.read_bytes()).digest()
        self.network = frame_digest(whole.entities) + frame_digest(whole.relations)  # a licensing report's chart

    def part(self, name: str, positions: np.ndarray) -> bytes:
        """The digest of a table's rows at these positions, in this order."""
        return rows_digest(getattr(self.whole, name).columns, self.rows[name][positions])

    def __call__(self, spec: reports.ReportSpec) -> str:
        whole = self.whole
        lines = self.keys["licences"].select(spec)
        scores = np.flatnonzero(np.isin(self.score_ids, self.licence_ids[lines]))
        country = whole.indicators["country_code"].eq(spec.country_code).fillna(False).to_numpy(bool)
        indicators = np.flatnonzero(country) if spec.role == "destination" else np.array([], dtype=int)
        own_sources = set(whole.licences["source"].iloc[lines].astype("string"))
        coverage = np.flatnonzero(whole.partial_years["source"].isin(own_sources))
        ends = {s: str(d) for s, d in sorted(whole.source_ends.items()) if s in own_sources}
        evidence = reports.report_evidence(self.cited.iloc[scores], self.evidence, spec)
        evidence = evidence.drop_duplicates(["evidence_id", "line_no"]).sort_values(["evidence_id", "line_no"])
        total = hashlib.sha256(
            json.dumps([spec.key, spec.period, code_digest(), ends, self.png], sort_keys=True).encode()
        )
        total.update(self.part("licences", lines))
        total.update(self.part("score_lines", scores))
        total.update(self.part("indicators", indicators))
        total.update(self.part("evidence", evidence.index.to_numpy()))  # the whole table's index: 0 to n - 1
        total.update(self.part("partial_years", coverage))
        total.update(self.part("aggregates", self.keys["aggregates"].select(spec)))
        total.update(self.network if spec.role == "licensing" else b"")
        total.update(self.context)
        total.update(self.template)
        return total.hexdigest()


@dataclass(frozen=True)
class Stamp:
    """What a batch knows of a report before it runs: its fingerprint and the sha256 of each table it reads
    (as the batch read them; under the project's lock its kernel reads the same files)."""

    fingerprint: str
    tables: dict[str, str]


def stamps(specs: list[reports.ReportSpec], data: Path, template: Path, png: bool = False) -> dict[str, Stamp]:
    """Each report's stamp, from the tables as they are now."""
    if not specs:
        return {}
    fingerprint = Fingerprints(data, {s.role for s in specs}, template, png)
    unread = {"licensing": {f"processed/{INDICATORS.name}.parquet"}, "destination": set()}
    return {
        s.key: Stamp(fingerprint(s), {k: v for k, v in fingerprint.tables.items() if k not in unread[s.role]})
        for s in specs
    }


def published_fingerprint(folder: Path) -> str | None:
    path = folder / "provenance.json"
    return json.loads(path.read_text(encoding="utf-8")).get("fingerprint") if path.is_file() else None


def output_hashes(folder: Path) -> dict[str, str]:
    """Every file of a report folder (path relative to it -> sha256): recorded in status.json when the report is
    written, compared before a later run skips it or lists it in the index."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): sha256(p.read_bytes()) for p in paths}


def intact(folder: Path, status: dict | None) -> bool:
    """The published report holds exactly the files its run wrote, unaltered (a report from before hashes were
    recorded counts as altered: it is rebuilt once)."""
    files = (status or {}).get("files")
    return bool(files) and folder.is_dir() and output_hashes(folder) == files


def write_provenance(report: reports.Report, out: Path) -> None:
    write_json(reports.provenance(report), out / "provenance.json")


# --- one kernel per process, reused ---

_kernels: dict[str, AsyncKernelManager] = {}
_finalizer: list[multiprocessing.util.Finalize] = []
_clients: dict[str, KernelClient] = {}  # connecting a client waits 0.2 s for a heartbeat: keep it too


def _forget(kernel_name: str) -> None:
    km, kc = _kernels.pop(kernel_name, None), _clients.pop(kernel_name, None)
    if kc is not None:
        kc.stop_channels()
    if km is not None:
        with contextlib.suppress(Exception):
            run_sync(km.shutdown_kernel)(now=True)
        shutil.rmtree(Path(km.ip).parent, ignore_errors=True)


def _shutdown_kernels() -> None:
    for kernel_name in list(_kernels):
        _forget(kernel_name)


def _kill_kernels() -> None:
    """Kill this process's kernels at once (each leads its own process group) and remove their sockets: for a
    worker whose parent is gone, with no event loop to shut them down politely."""
    for km in _kernels.values():
        process = getattr(km.provisioner, "process", None)
        if process is not None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(Path(km.ip).parent, ignore_errors=True)


def warm_kernel(kernel_name: str = KERNEL) -> AsyncKernelManager:
    """This process's kernel manager; nbclient starts its kernel on first use and we keep it running.

    A dead kernel (killed, crashed) is replaced by a fresh one.
    """
    km = _kernels.get(kernel_name)
    if km is not None and km.has_kernel and not run_sync(km.is_alive)():
        _forget(kernel_name)
        km = None
    if km is None:
        if not _finalizer:  # pool workers leave through os._exit: atexit would not run, Finalize does
            _finalizer.append(multiprocessing.util.Finalize(None, _shutdown_kernels, exitpriority=10))
        # IPC sockets in a private folder: faster than TCP on one machine, and not open to other users
        sockets = Path(tempfile.mkdtemp(prefix="exportrisk-kernel-")) / "kernel"
        km = _kernels[kernel_name] = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(sockets))
    return km


class ResettingClient(PapermillNotebookClient):
    """papermill's client, clearing the kernel's namespace before the notebook's cells."""

    def papermill_execute_cells(self) -> None:
        reply = self.wait_for_reply(self.kc.execute(RESET, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError("could not reset the kernel between notebooks")
        super().papermill_execute_cells()


class WarmKernelEngine(NBClientEngine):
    """papermill engine running notebooks on this process's kept kernel (see warm_kernel)."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: object = None,
        stderr_file: object = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: object,
    ) -> nbformat.NotebookNode:
        client = ResettingClient(
            nb_man,
            km=warm_kernel(kernel_name),
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client.kc = _clients.get(kernel_name)  # None the first time: nbclient connects one
        try:
            return client.execute()
        finally:
            if client.kc is not None:
                _clients[kernel_name] = client.kc


papermill_engines.register(ENGINE, WarmKernelEngine)


# --- one report ---


@dataclass(frozen=True)
class Outcome:
    key: str  # '<role>/<ISO3>'
    ok: bool
    seconds: float
    error: str | None = None
    unchanged: bool = False  # not run: the published report has the same fingerprint
    files: dict[str, str] | None = None  # a written report's files (relative path -> sha256), see output_hashes


def _one_line(exc: BaseException) -> str:
    text = f"{exc.ename}: {exc.evalue}" if isinstance(exc, PapermillExecutionError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:500]


class PageExporter(HTMLExporter):
    """nbconvert's HTML exporter without its last step, which parsed the finished page with BeautifulSoup to add
    alternative text to images lacking it and tab stops to JupyterLab cells, and wrote it out again: half the
    export's time, for nothing here (every chart has its own alternative text, see figures.chart_html, and the
    page template has no JupyterLab cells). The page is the template's output as rendered, but for the empty
    anchor nbconvert puts in each heading (hidden by the page's stylesheet): ElementTree writes it ``<a ... />``,
    which is no empty element in HTML (the anchor would open and swallow what follows), so it is closed here."""

    SELF_CLOSED_ANCHOR = re.compile(r'(<a class="anchor-link" href="[^"<>]*") />')

    def from_notebook_node(  # type: ignore[override]
        self, nb: nbformat.NotebookNode, resources: dict | None = None, **kw: object
    ) -> tuple[str, dict]:
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        highlight = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        self.register_filter("highlight_code", highlight)
        resources = self._init_resources(resources)
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return self.SELF_CLOSED_ANCHOR.sub(r"\1></a>", page), resources


_exporter: list[HTMLExporter] = []
PAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"  # holds page/, the nbconvert template of a report
PAPERMILL_TIMES = ("start_time", "end_time", "duration")


def settle(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook made the same for the same inputs and fit to publish: cell ids by position
    (papermill gives the cell it injects a random one), no execution times, and no stderr stream (a library's
    warning is not report content, and it shows local paths). Errors are not streams: a failing cell still fails
    the report."""
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        for key in PAPERMILL_TIMES:
            cell.metadata.get("papermill", {}).pop(key, None)
        cell.metadata.pop("execution", None)
    for key in PAPERMILL_TIMES:
        nb.metadata.get("papermill", {}).pop(key, None)
    return nb


def relocated(nb: nbformat.NotebookNode, paths: dict[str, str], template_name: str) -> nbformat.NotebookNode:
    """The executed notebook with the folders it ran in (``paths``: absolute path -> path as published) written
    as the published report's own: the temporary folder becomes ".", the data folder a path relative to the
    report. A published notebook shows no local path, and no random name of a temporary folder (which can spell
    anything, a victim's name too) that would make two runs differ."""
    text = json.dumps(nb)
    for path, published in sorted(paths.items(), key=lambda p: -len(p[0])):
        text = text.replace(json.dumps(path)[1:-1], json.dumps(published)[1:-1])
    out = nbformat.from_dict(json.loads(text))
    papermill_meta = out.metadata.get("papermill", {})
    papermill_meta.update(input_path=template_name, output_path="report.ipynb")
    return out


def export_html(nb: nbformat.NotebookNode, title: str) -> str:
    """The executed notebook as a self-contained page without code, through the package's nbconvert template
    (templates/page: the outputs, a link back to the index and a small inline stylesheet; nothing loaded from
    elsewhere). One exporter per process: its first use costs 0.4 s."""
    if not _exporter:
        _exporter.append(
            PageExporter(
                extra_template_basedirs=[str(PAGE_TEMPLATES)],
                template_name="page",
                exclude_input=True,
                exclude_input_prompt=True,
                exclude_output_prompt=True,
                anchor_link_text="",
            )
        )
    body, _ = _exporter[0].from_notebook_node(settle(nb), resources={"metadata": {"name": title}})
    return body


_victim_patterns: dict[Path, re.Pattern[str]] = {}


def victim_pattern(raw: Path) -> re.Pattern[str]:
    """Pattern finding the names in the raw victim database, if the project has it (cached per process)."""
    if raw not in _victim_patterns:
        folder = raw / pegasus_victims.NAME
        names = pd.Series(dtype="string")
        if (folder / pegasus_victims.FILE).is_file():
            names = read_source_csv(folder, pegasus_victims.FILE, ["name"])[0]["name"].str.strip()
        _victim_patterns[raw] = pseudonyms.name_pattern(names)
    return _victim_patterns[raw]


def check_no_victim_names(folder: Path, pattern: re.Pattern[str]) -> None:
    """The last guard before publishing: no text file of the report may name a victim or show a victim's id."""
    for path in sorted(folder.rglob("*")):
        if path.suffix not in TEXT_SUFFIXES:
            continue
        text = unquote(BASE64.sub("", path.read_text(encoding="utf-8")))  # embedded charts are scanned as files
        if pattern.search(text.casefold() if text.isascii() else fold(text)):  # fold is slow, and ASCII needs none
            raise InputError(path.relative_to(folder), "would name a victim: a bug, the report was not published")
        if pseudonyms.VICTIM_ID.search(text):
            raise InputError(path.relative_to(folder), "would show a victim's id: a bug, the report was not published")


def readable(path: Path) -> None:
    """Published reports are for reading by everyone who serves or opens them: files 0644, folders 0755,
    whatever the umask (the temporary folder and the atomic writes create them private)."""
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        p.chmod(0o755 if p.is_dir() else 0o644)


def publish(tmp: Path, final: Path) -> None:
    """Put a finished report folder in place: the old one moves aside, the new one in, then the old one goes."""
    readable(tmp)
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    had_old = final.exists()
    if had_old:
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        if had_old:
            os.replace(old, final)
        raise
    if had_old:
        shutil.rmtree(old)


def add_stamp(folder: Path, template: Path, stamp: Stamp | None) -> None:
    """provenance.json gets the template's sha256 (the notebook inside the kernel does not know its path), the
    report's fingerprint, by which a later batch knows it need not run again, and the sha256 of each processed
    table it read."""
    path = folder / "provenance.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["notebook_sha256"] = sha256(template.read_bytes())
    record["fingerprint"] = stamp.fingerprint if stamp else ""
    record["tables"] = stamp.tables if stamp else {}
    write_json(record, path)


def run_report(
    spec: reports.ReportSpec,
    data: Path,
    reports_dir: Path,
    template: Path = reports.TEMPLATE,
    stamp: Stamp | None = None,
    png: bool = False,
) -> Outcome:
    """Execute, export, check and publish one report (its charts also as PNG if ``png``); any failure is
    returned, never raised."""
    start = time.perf_counter()
    final = reports_dir / spec.key
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.country_code}.tmp-", dir=final.parent))
    try:
        nb = papermill.execute_notebook(
            str(template),
            str(tmp / "report.ipynb"),
            parameters={
                "country": spec.country_code,
                "role": spec.role,
                "period": spec.period,
                "data_dir": str(data),
                "output_dir": str(tmp),
                "png": png,
            },
            engine_name=ENGINE,
            kernel_name=KERNEL,
            progress_bar=False,
            request_save_on_cell_execute=False,
            execution_timeout=CELL_TIMEOUT,
        )
        nb = relocated(nb, {str(tmp): ".", str(data): os.path.relpath(data, final)}, template.name)
        title = json.loads((tmp / "provenance.json").read_text(encoding="utf-8"))["title"]
        (tmp / "report.html").write_text(export_html(nb, title), encoding="utf-8")
        nbformat.write(nb, tmp / "report.ipynb")  # settled by export_html
        add_stamp(tmp, template, stamp)
        check_no_victim_names(tmp, victim_pattern(data / "raw"))
        files = output_hashes(tmp)
        publish(tmp, final)
        return Outcome(spec.key, True, time.perf_counter() - start, files=files)
    except Exception as exc:  # one failing country never stops the batch
        return Outcome(spec.key, False, time.perf_counter() - start, _one_line(exc))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- batches ---


def all_specs(data: Path, roles: Iterable[str], period: str = "") -> list[reports.ReportSpec]:
    """A report per country with licence lines in each role (licensing state, or single destination country)."""
    first, last = reports.parse_period(period)
    columns = ["decision_date", *(reports.ROLE_COLUMN[r] for r in roles)]
    licences = pd.read_parquet(data / "processed" / "licences.parquet", columns=columns)
    licences = licences[reports.within(licences["decision_date"].dt.year, first, last)]
    out = []
    for role in roles:
        codes = sorted(licences[reports.ROLE_COLUMN[role]].dropna().unique())
        out += [reports.ReportSpec(code, role, first, last) for code in codes]
    return out


def sizes(specs: list[reports.ReportSpec], data: Path) -> dict[str, int]:
    """Licence lines per report: run the largest first, so that no long report starts last."""
    counts = {}
    for role in {s.role for s in specs}:
        column = reports.ROLE_COLUMN[role]
        found = pd.read_parquet(data / "processed" / "licences.parquet", columns=[column])[column].value_counts()
        counts.update({f"{role}/{code}": int(n) for code, n in found.items()})
    return counts


WATCH_SECONDS = 0.5  # how often a worker checks that the process that started it is still there


def _watch_parent(parent: int) -> None:
    """This worker ends, with its kernel, as soon as ``parent`` (the batch's process) is gone, however it ended:
    killed by SIGKILL or SIGTERM, it runs no cleanup, and a pool worker would otherwise wait on its queue for
    ever, its kernel beside it. (A kernel itself exits when its own parent, the worker, goes.)"""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        _kill_kernels()
        os._exit(1)

    threading.Thread(target=watch, name="exportrisk-watch-parent", daemon=True).start()


def _warm_up(parent: int) -> None:
    """Pool initializer: watch the parent, start this worker's kernel and import the report modules in it,
    before any report."""
    _watch_parent(parent)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WARM_UP)])
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    papermill.execute_notebook(nb, None, engine_name=ENGINE, kernel_name=KERNEL, progress_bar=False)


def run_batch(
    specs: list[reports.ReportSpec],
    data: Path,
    reports_dir: Path,
    jobs: int = 1,
    progress: bool | None = None,
    template: Path | None = None,
    only_changed: bool = False,
    png: bool = False,
) -> list[Outcome]:
    """Every report, ``jobs`` at a time with a progress bar (on a terminal, or as ``progress`` says); then
    status.json and index.html are updated. ``template`` defaults to the packaged country_report.ipynb; ``png``
    adds a PNG of each chart (figures.py says why it is not written by default).

    With ``only_changed`` (a scheduled build), a report whose published fingerprint equals its fingerprint now,
    and whose files are still those its run wrote, is left as it is: a change in one country's rows reruns only
    the reports that use them, and a deleted or altered report is written again. What a killed run left behind
    goes first (remove_partials)."""
    template = template or reports.TEMPLATE
    if not template.is_file():
        raise InputError(template, "report notebook is missing")
    remove_partials(reports_dir)
    prints = stamps(specs, data, template, png)
    status = read_status(reports_dir)
    same = {
        s.key
        for s in specs
        if only_changed
        and published_fingerprint(reports_dir / s.key) == prints[s.key].fingerprint
        and intact(reports_dir / s.key, status.get(s.key))
    }
    outcomes = [Outcome(key, True, 0.0, unchanged=True) for key in sorted(same)]
    size = sizes(specs, data)
    ordered = sorted((s for s in specs if s.key not in same), key=lambda s: -size.get(s.key, 0))
    bar = tqdm(total=len(ordered), desc="reports", unit="report", disable=None if progress is None else not progress)
    with bar:
        if jobs <= 1 or len(ordered) <= 1:
            for spec in ordered:
                outcomes.append(run_report(spec, data, reports_dir, template, prints[spec.key], png))
                bar.update()
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=context, initializer=_warm_up, initargs=(os.getpid(),)) as pool:
                futures = [pool.submit(run_report, s, data, reports_dir, template, prints[s.key], png) for s in ordered]
                for future in as_completed(futures):
                    outcomes.append(future.result())
                    bar.update()
    record_status(reports_dir, outcomes)
    write_index(reports_dir, {o.key for o in outcomes if o.ok})  # just checked or written
    return sorted(outcomes, key=lambda o: o.key)


# --- status and index ---


PARTIAL = re.compile(r"\.(?P<code>[A-Z]{3})\.(?P<kind>tmp|old)-.+")  # run_report's and publish's folders


def remove_partials(reports_dir: Path) -> None:
    """Clear what a killed run left in reports/ (the published folder): a report's temporary folder
    (``.SAU.tmp-*``) goes; a last good report moved aside for its successor (``.SAU.old-<pid>``) goes back if
    its place is still empty, else goes. Run at the start of a batch, under the project's lock."""
    for role in reports.ROLES:
        for path in sorted((reports_dir / role).glob(".*")):
            found = PARTIAL.fullmatch(path.name)
            if not found or not path.is_dir():
                continue
            final = path.with_name(found["code"])
            if found["kind"] == "old" and not final.exists():
                os.replace(path, final)
            else:
                shutil.rmtree(path)


def read_status(reports_dir: Path) -> dict[str, dict]:
    path = reports_dir / reports.STATUS
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def record_status(reports_dir: Path, outcomes: list[Outcome]) -> None:
    """reports/status.json: the last run of each report, merged with earlier runs' entries, with the hashes of
    the files of the report published (a failed or unchanged run keeps the last good report's)."""
    status = read_status(reports_dir)
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for o in outcomes:
        before = status.get(o.key, {})
        written = o.ok and not o.unchanged
        status[o.key] = {
            "ok": o.ok,
            "error": o.error,
            "seconds": round(o.seconds, 2),
            "unchanged": o.unchanged,
            "finished": when,
            "published": when[:10] if written else before.get("published", ""),
            "files": o.files if written else before.get("files"),
        }
    path = reports_dir / reports.STATUS
    write_json(status, path)
    readable(path)


def read_reports(reports_dir: Path, checked: Collection[str] = ()) -> Iterator[tuple[str, dict | None, dict | None]]:
    """(key, provenance or None, last run status) for every report status.json knows; the provenance only where
    the report's folder holds exactly the files its run wrote (see intact; ``checked``: reports this process has
    just written or checked, not hashed again). A folder status.json does not know (a temporary one, or one a
    killed run published before recording it) is not listed."""
    status = read_status(reports_dir)
    for key in sorted(status):
        folder = reports_dir / key
        valid = key in checked or intact(folder, status[key])
        yield key, json.loads((folder / "provenance.json").read_text(encoding="utf-8")) if valid else None, status[key]


INDEX_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:1em auto;"
    "max-width:1400px;padding:0 1.5em;color:#1a1a1a}table{border-collapse:collapse;font-size:13px}"
    "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top}"
    "td:nth-child(-n+5){white-space:nowrap}td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}"
    ".failed{color:#b00020;font-weight:bold;white-space:normal}"
    ".failed-row{background:#fdecea}input{font-size:15px;padding:4px 8px;width:20em;margin:.5em 0}"
)
# Filters the rows as one types; without scripts the page is the same, and the browser's find does the job.
INDEX_FILTER = (
    "document.getElementById('filter').addEventListener('input',function(e){var q=e.target.value.toLowerCase();"
    "document.querySelectorAll('tr[data-name]').forEach(function(r){r.hidden=r.dataset.name.indexOf(q)<0;});});"
)


def _index_row(key: str, record: dict | None, status: dict | None, figures: list[str]) -> tuple[tuple, str]:
    """One report's row of the index, and its place: failures first, then by country name."""
    code = key.split("/")[1]
    failed = status is not None and not status["ok"]
    missing = record is None and not failed
    name = record["report"]["country_name"] if record else code
    shown = {f["figure"]: f["value"] for f in record["headline"]} if record else {}
    cells = [f'<a href="{html.escape(key)}/report.html">{html.escape(name)} ({code})</a>' if record else code]
    if failed:
        kept = "; the last good report is kept" if record else "; no report yet"
        cells.append(f'<span class="failed">FAILED: {html.escape((status or {}).get("error") or "")}{kept}</span>')
    elif missing:
        cells.append('<span class="failed">MISSING: its files are gone or altered; the next build rebuilds it</span>')
    else:
        cells.append("ok")
    if record:
        cells += [html.escape(record["report"]["period"]), html.escape(", ".join(record["method_versions"]) or "-")]
    else:
        cells += ["", ""]
    cells.append(html.escape((status or {}).get("published", "")))
    cells += [html_cell(shown.get(f)) for f in figures]
    css = ' class="failed-row"' if failed or missing else ""
    search = html.escape(f"{name} {code}".casefold(), quote=True)
    row = f'<tr data-name="{search}"{css}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    return (not (failed or missing), fold(name), code), row


DATA_LINKS = (
    "<p>The data behind the reports: <a href='data/datapackage.json'>data package</a> (each table as CSV and "
    "Parquet, with its schema) and <a href='data/exportrisk.sqlite'>SQLite database</a> (for Datasette).</p>"
)


def index_html(entries: list[tuple[str, dict | None, dict | None]], data_exported: bool = False) -> str:
    """reports/index.html: every report with its key figures, method version and date, failed ones first (with
    the last good report), then by country name; a filter box; nothing loaded from elsewhere; links to the data
    where `exportrisk export` has published it beside the reports (reports/data/)."""
    parts = []
    for role in reports.ROLES:
        rows = [e for e in entries if e[0].startswith(f"{role}/")]
        if not rows:
            continue
        figures = list(dict.fromkeys(f["figure"] for _, rec, _ in rows if rec for f in rec["headline"]))
        columns = ["country", "status", "period", "method", "published", *figures]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = [row for _, row in sorted(_index_row(k, r, s, figures) for k, r, s in rows)]
        parts.append(
            f"<h2>{role.capitalize()} role: {html.escape(reports.ROLES[role])}</h2>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )
    n_failed = sum(1 for _, _, s in entries if s is not None and not s["ok"])
    n_missing = sum(1 for _, r, s in entries if r is None and (s is None or s["ok"]))
    missing = f", {n_missing} missing or altered" if n_missing else ""
    summary = f"{len(entries)} reports, {n_failed} failed in their last run{missing} (listed first)."
    search = '<input id="filter" type="search" placeholder="Filter by country name or code" aria-label="Filter">'
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>exportrisk country reports</title>"
        f"<style>{INDEX_STYLE}</style></head><body><h1>exportrisk country reports</h1><p>{summary}</p>"
        f"{DATA_LINKS if data_exported else ''}{search}"
        f"{''.join(parts)}<script>{INDEX_FILTER}</script></body></html>\n"
    )


def write_index(reports_dir: Path, checked: Collection[str] = ()) -> Path:
    path = reports_dir / reports.INDEX
    with atomic_path(path) as tmp:
        exported = (reports_dir / "data" / "datapackage.json").is_file()
        tmp.write_text(index_html(list(read_reports(reports_dir, checked)), exported), encoding="utf-8")
    readable(path)
    return path
