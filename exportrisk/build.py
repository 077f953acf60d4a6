"""``exportrisk build``: fetch, clean, score and report, each step skipped when nothing it depends on changed.

A step depends on three things, each fingerprinted with sha256 (as Our World in Data's etl does): the content
of its input files; its code, which is the package modules its entry modules import, directly or not (read
from their source), and the package's metadata and styles; and its parameters. The fingerprints of each
step's last successful run are kept in data/processed/.build-state.json. A step runs again when one of them
differs or an output is missing, and says which; a step that changes its outputs changes the inputs of the
next. So a scheduled run with nothing new only hashes files (seconds), a new source file reruns clean and what
follows, a new template only the reports, and a module no step imports nothing.

A step that did not fully succeed (a source unavailable, a report failed) records nothing, so the next run
tries it again. The network fetch needs no content check: the registry pins each source to a commit, so the
same registry entry always downloads the same bytes.
"""

from __future__ import annotations

import ast
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from exportrisk import config
from exportrisk.ingest import fetch
from exportrisk.ingest.files import write_json
from exportrisk.ingest.registry import sources as registry_sources
from exportrisk.reporting import sections as reports

STATE = ".build-state.json"
DATA_FOLDERS = ("metadata", "styles")  # read by the code at run time: part of its version
CLEAN_OUTPUTS = ("licences", "aggregates", "rejects", "indicators", "evidence", "entities", "relations")
SCORE_INPUTS = ("licences", "indicators", "evidence", "entities", "relations")
REPORT_INPUTS = ("licences", "score_lines", "indicators", "evidence", "entities")


def digest(files: Iterable[Path], roots: tuple[Path, ...]) -> str:
    """sha256 over each file's path (relative to the first of ``roots`` holding it) and content: moving the
    project or the checkout changes nothing."""

    def name(path: Path) -> str:
        root = next((r for r in roots if path.is_relative_to(r)), None)
        return (path.relative_to(root) if root else path).as_posix()

    total = hashlib.sha256()
    for path in sorted(set(files)):
        total.update(name(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def module_path(name: str) -> Path | None:
    """The source file of a module of this package, None for any other module (or a name inside one)."""
    if name != "exportrisk" and not name.startswith("exportrisk."):
        return None
    base = config.PACKAGE_DIR.parent.joinpath(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _run_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of a module but those under ``if TYPE_CHECKING:``, imported for type checkers only."""
    todo = [tree]
    while todo:
        node = todo.pop()
        test = node.test if isinstance(node, ast.If) else None
        if getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING":
            todo += node.orelse
            continue
        yield node
        todo += ast.iter_child_nodes(node)


def imported_modules(entries: Iterable[str]) -> set[Path]:
    """The package's modules that ``entries`` import, directly or not, found in their source."""
    found: set[Path] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        path = module_path(name)
        if path is None or path in found:
            continue
        found.add(path)
        todo.append(name.rpartition(".")[0])  # importing a module runs its package's __init__ too
        for node in _run_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                todo += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return found


def code_files(entries: tuple[str, ...], leave_out: tuple[str, ...] = ()) -> list[Path]:
    """A step's code: the modules its entry modules import, and the package's metadata and styles, less the
    data files named in ``leave_out`` (relative to the package)."""
    package = config.PACKAGE_DIR
    data = [p for folder in DATA_FOLDERS for p in (package / folder).rglob("*") if p.is_file()]
    data = [p for p in data if "__pycache__" not in p.parts and p.relative_to(package).as_posix() not in leave_out]
    return [*imported_modules(entries), *data]


def tree(folder: Path, leave_out: tuple[str, ...] = ()) -> list[Path]:
    """Every file under ``folder`` (none if it does not exist), but hidden files and those named ``leave_out``."""
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and p.name not in leave_out]


@dataclass(frozen=True)
class Step:
    name: str
    inputs: Callable[[], list[Path]]  # files whose content the outputs depend on
    code: Callable[[], list[Path]]  # files whose content is the step's code (see code_files)
    params: dict[str, object]
    outputs: list[Path]
    run: Callable[[], tuple[bool, str]]  # (fully succeeded, what it did)


@dataclass(frozen=True)
class StepResult:
    name: str
    status: str  # "skipped", "done" or "incomplete"
    detail: str
    seconds: float


def fingerprints(step: Step, roots: tuple[Path, ...]) -> dict[str, str]:
    params = hashlib.sha256(json.dumps(step.params, sort_keys=True, default=str).encode()).hexdigest()
    return {"inputs": digest(step.inputs(), roots), "code": digest(step.code(), roots), "parameters": params}


def why(step: Step, found: dict[str, str], last: dict[str, str] | None, force: bool) -> str | None:
    """Why a step must run ('inputs changed', ...), or None when it can be skipped."""
    if force:
        return "forced"
    if last is None:
        return "no earlier successful run"
    changed = [k for k in found if found[k] != last.get(k)]
    if changed:
        return " and ".join(changed) + " changed"
    missing = [p for p in step.outputs if not p.exists()]
    return f"{missing[0].name} is missing" if missing else None


def run_steps(steps: list[Step], state_path: Path, force: bool = False) -> Iterator[StepResult]:
    """Run each step whose inputs, code or parameters changed or whose outputs are missing; record the runs.

    Yields each step's result as it finishes, so that a long build says where it is.
    """
    roots = (config.project_root(), config.PACKAGE_DIR.parent)
    state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {}
    for step in steps:
        start = time.perf_counter()
        found = fingerprints(step, roots)
        reason = why(step, found, state.get(step.name), force)
        if reason is None:
            yield StepResult(step.name, "skipped", "inputs, code and parameters unchanged", 0.0)
            continue
        ok, detail = step.run()
        state.pop(step.name, None)
        if ok:
            state[step.name] = found
        write_json(state, state_path)
        status = "done" if ok else "incomplete"
        yield StepResult(step.name, status, f"{detail} ({reason})", time.perf_counter() - start)


def build_steps(
    data: Path,
    reports_dir: Path,
    mirror: Path | None,
    fetch_sources: bool,
    jobs: int,
    roles: list[str],
    period: str,
    found: dict[str, object] | None = None,
) -> list[Step]:
    """The four steps over a project's data/ and reports/ folders; ``found`` gets what fetch and report found
    (each source's result, the reports written and failed), for the build's summary."""
    found = {} if found is None else found
    raw, processed = data / "raw", data / "processed"
    registry = config.METADATA_DIR / "sources.yaml"
    tables = {name: processed / f"{name}.parquet" for name in {*CLEAN_OUTPUTS, *REPORT_INPUTS}}

    def run_fetch() -> tuple[bool, str]:
        results = fetch.fetch_all(raw, mirror)
        found["sources"] = [asdict(r) for r in results]
        line, _ = fetch.summary(results)  # a source missing is reported, not fatal: build on what is there
        why = [f"{r.source}: {r.detail}" for r in results if r.status == "unavailable"]
        return not why, "\n  ".join([line, *why])

    # The steps' modules are imported when a step runs: a build with nothing to do then costs file hashing,
    # not the seconds that importing papermill, nbconvert and the scorer take.
    def run_clean() -> tuple[bool, str]:
        from exportrisk.ingest import clean

        result = clean.clean(raw, processed)
        return True, f"{len(result.licences)} licence lines, {len(result.rejects)} rejects"

    def run_score() -> tuple[bool, str]:
        from exportrisk.scoring import score as scoring

        scores, lines = scoring.run(processed)
        return True, f"{len(scores)} licences ({len(lines)} lines) scored"

    def run_reports() -> tuple[bool, str]:
        from exportrisk.reporting import runner as report_runner

        specs = report_runner.all_specs(data, roles, period)
        outcomes = report_runner.run_batch(specs, data, reports_dir, jobs, only_changed=True)
        failed = [o for o in outcomes if not o.ok]
        kept = sum(o.unchanged for o in outcomes)
        found["reports"] = {"written": len(outcomes) - len(failed) - kept, "failed": {o.key: o.error for o in failed}}
        lines = [f"{len(outcomes) - len(failed) - kept} of {len(outcomes)} reports written, {kept} unchanged"]
        lines += [f"{o.key} failed: {o.error}" for o in failed]
        return not failed, "\n  ".join(lines)

    steps = [
        Step(
            "fetch",
            lambda: [registry, *tree(config.CURATED_DIR), *(tree(mirror) if mirror else [])],
            lambda: code_files(("exportrisk.ingest.fetch",)),
            {"mirror": str(mirror) if mirror else None},
            [raw / name / fetch.MANIFEST for name in registry_sources()],
            run_fetch,
        ),
        Step(
            "clean",
            lambda: tree(raw, (fetch.MANIFEST,)),  # a manifest's retrieval date says nothing about content
            lambda: code_files(("exportrisk.ingest.clean",), leave_out=("metadata/scoring.yaml",)),
            {},
            [tables[name] for name in CLEAN_OUTPUTS],
            run_clean,
        ),
        Step(
            "score",
            lambda: [tables[name] for name in SCORE_INPUTS],
            lambda: code_files(("exportrisk.scoring.score",)),
            {},
            [processed / "scores.parquet", tables["score_lines"]],
            run_score,
        ),
        Step(
            "report",  # the manifests and curated files are the reports' provenance
            lambda: [
                *(tables[name] for name in REPORT_INPUTS),
                *(p for p in tree(raw) if p.name == fetch.MANIFEST or p.parent.name == "curated"),
            ],
            lambda: [*code_files(("exportrisk.reporting.runner", "exportrisk.reporting.figures")), reports.TEMPLATE],
            {"roles": roles, "period": period},
            [reports_dir / reports.INDEX],
            run_reports,
        ),
    ]
    return steps if fetch_sources else steps[1:]


def build(
    mirror: Path | None = None,
    fetch_sources: bool = True,
    jobs: int = 1,
    roles: list[str] | None = None,
    period: str = "",
    force: bool = False,
    found: dict[str, object] | None = None,
) -> Iterator[StepResult]:
    """``exportrisk build`` on the project (config.project_root()), step by step."""
    root = config.project_root()
    data = root / "data"
    steps = build_steps(
        data, root / "reports", mirror, fetch_sources, jobs, roles or list(reports.ROLES), period, found
    )
    return run_steps(steps, data / "processed" / STATE, force)
