"""The pipeline's steps, declared once: what each reads and writes, the code it is, and how it runs.

``exportrisk build`` (exportrisk.build) runs them in this order and skips those whose inputs, code and parameters
have not changed; ``er.load`` (exportrisk.api) runs the ones that make a missing table; each step is also a command
of its own (exportrisk.cli). None of them writes the order or the calls again. The library modules are imported
only when a step runs, so that reading this table (a build with nothing to do, ``exportrisk --help``) stays quick.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exportrisk import config

CSV_TABLES = ("sensitivity_summary", "checks")  # small headline tables, kept readable in git diffs
MANIFEST = "fetch.json"  # exportrisk.ingest.fetch.MANIFEST, named here so that reading the table imports nothing
STATE = ".build-state.json"  # in data/processed/: what each step last read and wrote (exportrisk.build)
SCORED_TABLES = ("licences", "indicators", "evidence", "entities", "relations")  # what scoring reads


@dataclasses.dataclass(frozen=True)
class Project:
    """A project folder and the options of one run: what every step's run function is given."""

    root: Path
    mirror: Path | None = None  # fetch: copy from this folder laid out like data/raw/, not the network
    sources: tuple[str, ...] = ()  # fetch: only these registered sources (default: all)
    scoring_config: Path | None = None  # score, sensitivity, checks (default: the packaged scoring.yaml)
    draws: int = 200  # sensitivity: perturbed sets of weights
    seed: int = 0
    spread: float = 0.5
    roles: tuple[str, ...] = ()  # report: licensing and/or destination (default: both)
    period: str = ""  # report: decision years
    countries: tuple[str, ...] = ()  # report: these countries (default: every country with licence data)
    jobs: int = 1  # report: reports run in parallel
    only_changed: bool = False  # report: skip a report whose own inputs are unchanged (the build does)
    png: bool = False  # report: also save each chart as PNG

    @classmethod
    def here(cls, **options: Any) -> Project:
        """The project at config.project_root() (``--root``, ``EXPORTRISK_ROOT`` or the current folder)."""
        return cls(config.project_root(), **options)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def processed(self) -> Path:
        return self.data / "processed"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def table(self, name: str) -> Path:
        """Where a processed table lives: data/processed/<name>.parquet (.csv for the small headline tables)."""
        return self.processed / f"{name}.{'csv' if name in CSV_TABLES else 'parquet'}"

    def read_hashes(self) -> dict[str, str]:
        """sha256 of each file the last successful run of each step read or wrote, by its path relative to the
        project folder ('data/raw/pts/PTS-2024.csv', 'data/processed/licences.parquet'), as exportrisk build
        recorded them: the raw files as clean actually read them (checked against fetch.json first), the tables
        as their step wrote them. For provenance; empty before the first build."""
        try:
            state = json.loads((self.processed / STATE).read_text(encoding="utf-8"))
            records = [record for record in state.values() if isinstance(record, dict)]
        except (OSError, ValueError, AttributeError):
            return {}
        found: dict[str, str] = {}
        for record in records:
            for key in ("read", "wrote"):
                files = record.get(key)
                found.update({k: v for k, v in files.items() if v != "missing"} if isinstance(files, dict) else {})
        return {k: v for k, v in sorted(found.items()) if k.startswith("data/")}


def tree(folder: Path | None, leave_out: tuple[str, ...] = ()) -> list[Path]:
    """Every file under ``folder`` (none if it does not exist), but hidden files and those named ``leave_out``."""
    if folder is None or not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and p.name not in leave_out]


def _none(_project: Project) -> list[Path]:
    return []


def _no_params(_project: Project) -> dict[str, object]:
    return {}


def _tells_nothing(_result: Any) -> dict[str, object]:
    return {}


@dataclasses.dataclass(frozen=True)
class Step:
    """One step: its tables, its files, its code (for exportrisk.build's fingerprints) and its run function."""

    name: str
    does: str  # one line: the command's help, and what ``build --dry-run`` shows
    run: Callable[[Project], Any]  # does the work; returns the library's result (the commands print from it)
    summary: Callable[[Any], tuple[bool, str]]  # (fully succeeded, what it did) from that result
    modules: tuple[str, ...] = ()  # entry modules: the step's code is what they import (exportrisk.build)
    reads: tuple[str, ...] = ()  # processed tables it reads
    writes: tuple[str, ...] = ()  # processed tables it writes
    files_in: Callable[[Project], list[Path]] = _none  # other files its outputs depend on
    files_out: Callable[[Project], list[Path]] = _none  # other files it writes
    params: Callable[[Project], dict[str, object]] = _no_params  # the options its outputs depend on
    leave_out: tuple[str, ...] = ()  # package data files (relative to the package) that are not its code
    extra_code: Callable[[], list[Path]] = list  # code that is no module (the report template)
    in_build: bool = True  # False: `exportrisk build` runs it only when asked (--analyses)
    tells: Callable[[Any], dict[str, object]] = _tells_nothing  # from its result, for the build's summary (runlog)

    def inputs(self, project: Project) -> list[Path]:
        return [*self.files_in(project), *(project.table(t) for t in self.reads)]

    def outputs(self, project: Project) -> list[Path]:
        return [*(project.table(t) for t in self.writes), *self.files_out(project)]


# --- what each step runs ------------------------------------------------------------------------------------


def _scoring_config(project: Project) -> Path:
    from exportrisk.scoring import score

    return project.scoring_config or score.DEFAULT_CONFIG


def one_generation(run: Callable[[Project], Any]) -> Callable[[Project], Any]:
    """A step's run whose processed tables replace the earlier ones all together or not at all, however it ends
    (exportrisk.ingest.generation)."""

    @functools.wraps(run)
    def in_one_generation(project: Project) -> Any:
        from exportrisk.ingest.generation import generation

        with generation(project.processed, run.__name__.removeprefix("run_")):
            return run(project)

    return in_one_generation


def run_fetch(project: Project) -> list[Any]:
    from exportrisk.ingest import fetch

    return fetch.fetch_all(project.raw, project.mirror, list(project.sources) or None)


def fetch_summary(results: list[Any]) -> tuple[bool, str]:
    from exportrisk.ingest.fetch import summary

    line, _ = summary(results)  # a source missing is reported, not fatal: the build goes on with what is there
    why = [f"{r.source}: {r.detail}" for r in results if r.status == "unavailable"]
    return not why, "\n  ".join([line, *why])


def fetch_tells(results: list[Any]) -> dict[str, object]:
    return {"sources": [dataclasses.asdict(r) for r in results]}


def fetch_inputs(project: Project) -> list[Path]:
    """The registry, the package's curated source and the mirror: the network fetch needs no content check, as
    the registry pins each source to a commit."""
    return [config.METADATA_DIR / "sources.yaml", *tree(config.CURATED_DIR), *tree(project.mirror)]


def fetch_outputs(project: Project) -> list[Path]:
    """Each source's fetch.json and the files it lists: a raw file changed after fetch makes the build fetch it
    again (exportrisk.build)."""
    from exportrisk.ingest.registry import sources

    manifests = [project.raw / name / MANIFEST for name in sources()]
    listed = []
    for manifest in manifests:
        try:
            listed += [manifest.parent / name for name in json.loads(manifest.read_text(encoding="utf-8"))["files"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # missing or unreadable: the manifest itself differs from what fetch wrote
    return [*manifests, *listed]


@one_generation
def run_clean(project: Project) -> Any:
    """Clean data/raw/, after checking every fetched file against its fetch.json (a changed file stops the run)."""
    from exportrisk.ingest import clean, fetch

    fetch.verify(project.raw)
    return clean.clean(project.raw, project.processed)


@one_generation
def run_score(project: Project) -> Any:
    from exportrisk.scoring import score

    return score.run(project.processed, _scoring_config(project))


@one_generation
def run_sensitivity(project: Project) -> Any:
    from exportrisk.scoring import sensitivity

    return sensitivity.run(project.processed, _scoring_config(project), project.draws, project.seed, project.spread)


@one_generation
def run_checks(project: Project) -> Any:
    from exportrisk.scoring import backtests

    return backtests.run(project.processed, _scoring_config(project))


def run_report(project: Project) -> list[Any]:
    from exportrisk.reporting import runner
    from exportrisk.reporting import sections as reports

    roles = list(project.roles or reports.ROLES)
    if project.countries:
        specs = [reports.check_parameters(c, role, project.period) for c in project.countries for role in roles]
    else:
        specs = runner.all_specs(project.data, roles, project.period)
    return runner.run_batch(
        specs, project.data, project.reports, project.jobs, only_changed=project.only_changed, png=project.png
    )


def report_summary(outcomes: list[Any]) -> tuple[bool, str]:
    failed = [o for o in outcomes if not o.ok]
    kept = sum(o.unchanged for o in outcomes)
    lines = [f"{len(outcomes) - len(failed) - kept} of {len(outcomes)} reports written, {kept} unchanged"]
    lines += [f"{o.key} failed: {o.error}" for o in failed]
    return not failed, "\n  ".join(lines)


def report_tells(outcomes: list[Any]) -> dict[str, object]:
    failed = {o.key: o.error for o in outcomes if not o.ok}
    kept = sum(o.unchanged for o in outcomes)
    return {"reports": {"written": len(outcomes) - len(failed) - kept, "failed": failed}}


def report_inputs(project: Project) -> list[Path]:
    """The manifests and the curated files: the reports' provenance."""
    return [p for p in tree(project.raw) if p.name == MANIFEST or p.parent.name == "curated"]


def report_outputs(project: Project) -> list[Path]:
    from exportrisk.reporting import sections as reports

    return [project.reports / reports.INDEX]


def report_template() -> list[Path]:
    from exportrisk.reporting import sections as reports

    return [reports.TEMPLATE]


STEPS: tuple[Step, ...] = (
    Step(
        "fetch",
        "download the public sources into data/raw/ (or copy them from a mirror)",
        run_fetch,
        fetch_summary,
        modules=("exportrisk.ingest.fetch",),
        files_in=fetch_inputs,
        files_out=fetch_outputs,
        params=lambda p: {"mirror": str(p.mirror) if p.mirror else None},
        tells=fetch_tells,
    ),
    Step(
        "clean",
        "turn data/raw/ into validated tables in data/processed/",
        run_clean,
        lambda r: (True, f"{len(r.licences)} licence lines, {len(r.rejects)} rejects"),
        modules=("exportrisk.ingest.clean",),
        writes=("licences", "aggregates", "rejects", "indicators", "evidence", "entities", "relations"),
        files_in=lambda p: tree(p.raw, (MANIFEST,)),  # a manifest's retrieval date says nothing about content
        leave_out=("metadata/scoring.yaml",),
    ),
    Step(
        "score",
        "score every licence into data/processed/scores.parquet and score_lines.parquet",
        run_score,
        lambda r: (True, f"{len(r[0])} licences ({len(r[1])} lines) scored"),
        modules=("exportrisk.scoring.score",),
        reads=SCORED_TABLES,
        writes=("scores", "score_lines"),
    ),
    Step(
        "report",
        "write country reports (notebook, HTML, charts, tables) into reports/<role>/<ISO3>/",
        run_report,
        report_summary,
        modules=("exportrisk.reporting.runner", "exportrisk.reporting.figures"),
        reads=("licences", "aggregates", "score_lines", "indicators", "evidence", "entities"),
        files_in=report_inputs,
        files_out=report_outputs,
        params=lambda p: {"roles": list(p.roles), "period": p.period, "png": p.png},
        extra_code=report_template,
        tells=report_tells,
    ),
    Step(
        "sensitivity",
        "perturb the scoring weights: how often each licence keeps its band",
        run_sensitivity,
        lambda r: (True, f"{len(r.licences)} licences under perturbed weights"),
        modules=("exportrisk.scoring.sensitivity",),
        reads=SCORED_TABLES,
        writes=("sensitivity", "sensitivity_summary"),
        params=lambda p: {"draws": p.draws, "seed": p.seed, "spread": p.spread},
        in_build=False,
    ),
    Step(
        "checks",
        "check the scores against refusals, named spyware operators and published figures",
        run_checks,
        lambda r: (True, f"{len(r)} figures"),
        modules=("exportrisk.scoring.backtests",),
        reads=(*SCORED_TABLES, "scores", "score_lines"),  # the saved scores, when still those of these tables
        writes=("checks",),
        in_build=False,
    ),
)


def step(name: str) -> Step:
    return next(s for s in STEPS if s.name == name)


def maker(table: str) -> Step:
    """The step that writes a processed table."""
    found = [s for s in STEPS if table in s.writes]
    if not found:
        raise ValueError(f"no step writes a table {table!r}")
    return found[0]


def steps_for(table: str, project: Project) -> list[Step]:
    """The steps to run, in order, before ``table`` can be read: its maker, and before it the makers of the tables
    it reads, each only where one of its tables is missing."""
    needed: set[str] = set()
    todo = [maker(table)]
    while todo:
        current = todo.pop()
        if current.name in needed:
            continue
        needed.add(current.name)
        todo += [maker(t) for t in current.reads if not project.table(t).is_file()]
    return [s for s in STEPS if s.name in needed and not all(p.is_file() for p in map(project.table, s.writes))]
