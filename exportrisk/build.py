"""``exportrisk build``: the pipeline's steps (exportrisk.pipeline), each skipped when nothing it depends on changed.

A step depends on three things, each fingerprinted with sha256 (as Our World in Data's etl does): the content
of its input files; its code, which is the package modules its entry modules import, directly or not (read
from their source), and the package's metadata and styles; and its parameters. The fingerprints of each
step's last successful run are kept in data/processed/.build-state.json, with the sha256 of every file it read
and wrote. A step runs again when one of them differs, or when an output is missing or no longer hashes to what
the step wrote (a stale, garbled or truncated table is rebuilt, never used), and says which; a step that changes
its outputs changes the inputs of the next. So a scheduled run with nothing new only hashes files (seconds), a
new source file reruns clean and what follows, a new template only the reports, and a module no step imports
nothing. The fetch step's outputs are the raw files themselves: one changed after fetch is fetched again.

A step that did not fully succeed (a source unavailable, a report failed) records nothing, so the next run
tries it again. The network fetch needs no content check: the registry pins each source to a commit, so the
same registry entry always downloads the same bytes.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from exportrisk import config, pipeline
from exportrisk.ingest.files import file_sha256, write_json
from exportrisk.ingest.generation import crash_point
from exportrisk.pipeline import Project, Step

STATE = pipeline.STATE
MISSING = "missing"
DATA_FOLDERS = ("metadata", "styles")  # read by the code at run time: part of its version

log = logging.getLogger(__name__)


def relative(path: Path, roots: tuple[Path, ...]) -> str:
    """A file's name relative to the first of ``roots`` holding it: moving the project or the checkout changes
    nothing."""
    root = next((r for r in roots if path.is_relative_to(r)), None)
    return (path.relative_to(root) if root else path).as_posix()


def hashes(files: Iterable[Path], roots: tuple[Path, ...]) -> dict[str, str]:
    """Each file's sha256 by its relative name; a missing file is "missing" (a dry run meets the outputs of steps
    it did not run; a real step then says what it misses)."""
    return {relative(p, roots): file_sha256(p) if p.is_file() else MISSING for p in sorted(set(files))}


def digest(files: Iterable[Path], roots: tuple[Path, ...]) -> str:
    """sha256 over each file's relative name and content."""
    return digest_of(hashes(files, roots))


def digest_of(found: dict[str, str]) -> str:
    total = hashlib.sha256()
    for name, content in sorted(found.items()):
        total.update(name.encode() + b"\0" + (bytes.fromhex(content) if content != MISSING else b"missing"))
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
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
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


@dataclass(frozen=True)
class StepRun:
    """What became of one step in one build."""

    name: str
    status: str  # "skipped", "done", "incomplete"; with dry_run, "would run" or "would skip"
    detail: str
    seconds: float


FINGERPRINTS = ("inputs", "code", "parameters")


def fingerprints(step: Step, project: Project, roots: tuple[Path, ...]) -> dict[str, object]:
    """The step's fingerprints, and the sha256 of each file it reads ("read"), kept for provenance."""
    params = hashlib.sha256(json.dumps(step.params(project), sort_keys=True, default=str).encode()).hexdigest()
    code = [*code_files(step.modules, step.leave_out), *step.extra_code()]
    read = hashes(step.inputs(project), roots)
    return {"inputs": digest_of(read), "code": digest(code, roots), "parameters": params, "read": read}


def why(step: Step, project: Project, found: dict[str, object], last: dict | None, force: bool) -> str | None:
    """Why a step must run ('inputs changed', 'scores.parquet differs from what score wrote', ...), or None when
    it can be skipped: same fingerprints, and every output still what the step wrote."""
    if force:
        return "forced"
    if last is None:
        return "no earlier successful run"
    changed = [k for k in FINGERPRINTS if found[k] != last.get(k)]
    if changed:
        return " and ".join(changed) + " changed"
    outputs = step.outputs(project)
    missing = [p for p in outputs if not p.exists()]
    if missing:
        return f"{missing[0].name} is missing"
    wrote = last.get("wrote")
    if not isinstance(wrote, dict):
        return "no record of what it wrote"
    roots = (project.root, config.PACKAGE_DIR.parent)
    now = hashes(outputs, roots)
    differ = [name for name in sorted(set(now) | set(wrote)) if now.get(name) != wrote.get(name)]
    return f"{differ[0]} differs from what {step.name} wrote" if differ else None


def read_state(path: Path) -> dict[str, dict]:
    """The build state; an unreadable one is as none (every step runs, and says so), never a traceback."""
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = None
    if not isinstance(state, dict) or not all(isinstance(v, dict) for v in state.values()):
        log.warning("%s is unreadable: every step runs again", path)
        return {}
    return state


def run_steps(
    steps: list[Step],
    project: Project,
    state_path: Path,
    force: bool = False,
    dry_run: bool = False,
    told: dict[str, object] | None = None,
) -> Iterator[StepRun]:
    """Run each step whose inputs, code or parameters changed or whose outputs are missing; record the runs.

    Yields each step's result as it finishes, so that a long build says where it is. With ``dry_run``, runs
    nothing and says what would run and why; a step after one that would run may run too, if that one's outputs
    change (which only running it tells), and says so. ``told`` gets what the steps that ran tell (each
    source's result, the reports written and failed), for the build's summary (exportrisk.runlog).
    """
    roots = (project.root, config.PACKAGE_DIR.parent)
    state = read_state(state_path)
    pending: dict[Path, str] = {}  # with dry_run: outputs of the steps that would run, by step
    for step in steps:
        start = time.perf_counter()
        found = fingerprints(step, project, roots)
        reason = why(step, project, found, state.get(step.name), force)
        if dry_run:
            after = sorted({pending[p] for p in step.inputs(project) if p in pending})
            if reason is None and after:
                reason = f"if {' or '.join(after)} changes its outputs"
            pending.update(dict.fromkeys(step.outputs(project), step.name) if reason else {})
            detail = f"{step.does} ({reason})" if reason else "inputs, code and parameters unchanged"
            yield StepRun(step.name, "would run" if reason else "would skip", detail, 0.0)
            continue
        if reason is None:
            yield StepRun(step.name, "skipped", "inputs, code and parameters unchanged", 0.0)
            continue
        result = step.run(project)
        ok, detail = step.summary(result)
        if told is not None:
            told.update(step.tells(result))
        state.pop(step.name, None)
        if ok:
            state[step.name] = {**found, "wrote": hashes(step.outputs(project), roots)}
        crash_point("build", f"{step.name} done")
        write_json(state, state_path)
        status = "done" if ok else "incomplete"
        yield StepRun(step.name, status, f"{detail} ({reason})", time.perf_counter() - start)


def build(
    project: Project,
    fetch: bool = True,
    analyses: bool = False,
    force: bool = False,
    dry_run: bool = False,
    told: dict[str, object] | None = None,
) -> Iterator[StepRun]:
    """``exportrisk build`` on a project, step by step: the pipeline's steps in order, without fetch if asked, with
    the weight sensitivity and the back-tests if asked."""
    steps = [s for s in pipeline.STEPS if (s.in_build or analyses) and (fetch or s.name != "fetch")]
    return run_steps(steps, project, project.processed / STATE, force, dry_run, told)
