"""The ``exportrisk`` command: each pipeline step (exportrisk.pipeline), ``build`` and ``export``, one line per
problem, no tracebacks. A step's command runs the step's own run function and prints from its result."""

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exportrisk import __version__, config, pipeline, runlog
from exportrisk.errors import InputError
from exportrisk.lock import EXIT_LOCKED, Locked, project_lock

# Exit codes a scheduler can act on: 1 something failed (a report, an unexpected error), 2 unusable input
EXIT_SOURCE_MISSING = 3  # a source could not be fetched and no earlier copy is present
# EXIT_LOCKED (75): another run holds the project's lock (exportrisk.lock)

log = logging.getLogger(__name__)


def run_step(name: str, **options: Any) -> Any:
    """Run pipeline step ``name`` on the project (config.project_root()) with these options."""
    return pipeline.step(name).run(pipeline.Project.here(**options))


def mirror(args: argparse.Namespace) -> Path | None:
    found = Path(args.mirror).resolve() if args.mirror else None
    if found is not None and not found.is_dir():
        raise InputError(found, "mirror folder does not exist")
    return found


def cmd_fetch(args: argparse.Namespace) -> int:
    from exportrisk.ingest.fetch import summary

    results = run_step("fetch", mirror=mirror(args), sources=tuple(args.source or ()))
    for r in results:
        log.info(f"{r.source}: {r.status}: {r.detail}")
    line, missing = summary(results)
    log.info(f"fetch: {line} in {config.raw_dir()}")
    return EXIT_SOURCE_MISSING if missing else 0


def cmd_clean(args: argparse.Namespace) -> int:
    from exportrisk.ingest.mapping import MAPPING_FILE

    result = run_step("clean")
    for name in result.skipped:
        log.warning(f"{name}: no raw data (run `exportrisk fetch`), skipped")
    for row in result.reconciliation.itertuples():
        log.info(f"{row.source_file}: {row.raw_rows} raw rows = {row.clean_rows} clean + {row.rejected_rows} rejected")
    if len(result.rejects):
        counts = result.rejects["reason_code"].value_counts()
        log.info("rejects: " + ", ".join(f"{k} {v}" for k, v in counts[counts > 0].items()))
    written = ", ".join(f"{name} ({len(table)} rows)" for name, table in result.tables.items())
    log.info(f"clean: wrote {written} to {config.processed_dir()}")
    for name in result.unread:
        print(
            f"warning: data/raw/{name}/ is not read: no registry row and no {MAPPING_FILE} "
            f"(draft one with `exportrisk map data/raw/{name}/<file>`)",
            file=sys.stderr,
        )
    for row in result.emptied.itertuples():
        print(f"error: {row.source_file}: all {row.raw_rows} rows rejected (see rejects.parquet)", file=sys.stderr)
    return 1 if len(result.emptied) else 0


def cmd_map(args: argparse.Namespace) -> int:
    from exportrisk.ingest import draft
    from exportrisk.ingest.files import atomic_path
    from exportrisk.ingest.mapping import MAPPING_FILE

    path = Path(args.file).resolve()
    found = draft.draft(path, args.sheet, args.licensing_country)
    if args.write:
        target = path.parent / MAPPING_FILE
        if target.exists():
            raise InputError(target, "exists already: review it, or move it away to draft a new one")
        with atomic_path(target) as tmp:
            tmp.write_text(found.text, encoding="utf-8")
        print(f"map: wrote {target}")
    else:
        print(found.text, end="")
    for line in found.review:
        print(f"review: {line}", file=sys.stderr)
    return 0


def cmd_check_source(args: argparse.Namespace) -> int:
    import pandas as pd

    from exportrisk.ingest.clean import check_source, unreconciled

    folder = Path(args.folder).resolve()
    if not folder.is_dir():
        raise InputError(folder, "not a folder (give data/raw/<source>/)")
    recon, rejects, why = check_source(folder, pd.Timestamp.today().normalize())
    for row in recon.itertuples():
        print(f"{row.source_file}: {row.raw_rows} raw rows = {row.clean_rows} kept + {row.rejected_rows} rejected")
    for reason, group in rejects.groupby("reason_code", observed=True, sort=False):
        first = group.iloc[0]
        column = f", column {first['column_name']!r}" if pd.notna(first["column_name"]) else ""
        where = f"{first['source_file']} row {first['source_row']}{column}"
        print(f"  {reason}: {len(group)} row(s), e.g. {where}: {first['message']}")
    if not recon["reconciled"].all():
        raise unreconciled(recon, why, folder.parent)
    emptied = recon[(recon["raw_rows"] > 0) & (recon["clean_rows"] == 0)]
    if len(emptied):
        raise InputError(
            emptied["source_file"].iloc[0], f"all {emptied['raw_rows'].iloc[0]} rows rejected: check the mapping"
        )
    return 1 if args.strict and len(rejects) else 0


def scoring_config(args: argparse.Namespace) -> Path:
    from exportrisk.scoring import score as scoring

    return Path(args.config).resolve() if args.config else scoring.DEFAULT_CONFIG


def cmd_score(args: argparse.Namespace) -> int:
    path = scoring_config(args)
    scores, lines = run_step("score", scoring_config=path)
    counts = scores["band"].value_counts(sort=False)
    log.info("bands: " + ", ".join(f"{band} {n}" for band, n in counts.items() if n))
    log.info(
        f"score: {len(scores)} licences ({len(lines)} lines) scored with {path.name} "
        f"(method {scores['method_version'].iloc[0] if len(scores) else '-'}) into {config.processed_dir()}"
    )
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    options = {"draws": args.draws, "seed": args.seed, "spread": args.spread}
    result = run_step("sensitivity", scoring_config=scoring_config(args), **options)
    figure = result.summary.set_index(["statistic", "scope"])["value"]
    by_band = ", ".join(
        f"{band} {figure['share_band_depends_on_weights', band]:.1%}"
        for band in result.licences["score_band"].cat.categories
        if figure["licences", band]
    )
    log.info(
        f"bands: {figure['share_band_depends_on_weights', 'all']:.1%} of {len(result.licences)} licences change band "
        f"in at least one of {args.draws} draws ({by_band}), "
        f"{figure['share_band_kept_in_under_half', 'all']:.1%} in most of them"
    )
    log.info(
        f"country ranking: Kendall tau median {figure['kendall_tau_median', 'all']:.3f}, 5th percentile "
        f"{figure['kendall_tau_p05', 'all']:.3f} ({figure['countries_ranked', 'all']:.0f} destination countries)"
    )
    log.info(f"sensitivity: wrote sensitivity.parquet and sensitivity_summary.csv to {config.processed_dir()}")
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    import pandas as pd

    found = run_step("checks", scoring_config=scoring_config(args))
    shown = found["value"].map(lambda v: "-" if pd.isna(v) else f"{v:,.0f}" if float(v).is_integer() else f"{v:.3f}")
    for (check, scope), group in found.assign(shown=shown).groupby(["check", "scope"], sort=False):
        log.info(f"{check} {scope}: " + ", ".join(group["statistic"] + " " + group["shown"]))
    log.info(f"checks: wrote checks.csv to {config.processed_dir()}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from exportrisk.reporting import sections as reports

    if args.all == bool(args.country):
        raise InputError("exportrisk report", "give either --country (an ISO3 code or a name) or --all")
    roles = tuple(reports.check_role(r) for r in args.role or reports.ROLES)
    jobs = args.jobs or ((os.cpu_count() or 1) if args.all else 1)
    countries = () if args.all else (args.country,)
    outcomes = run_step("report", roles=roles, period=args.period, countries=countries, jobs=jobs, png=args.png)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        log.warning(f"{o.key}: failed: {o.error}")
    where = config.project_root() / "reports"
    log.info(
        f"report: {len(outcomes) - len(failed)} of {len(outcomes)} written to {where}; index: {where / 'index.html'}"
    )
    return 1 if failed else 0


def cmd_build(args: argparse.Namespace) -> int:
    from exportrisk import build
    from exportrisk.ingest import fetch
    from exportrisk.reporting import sections as reports

    roles = tuple(reports.check_role(r) for r in args.role or reports.ROLES)
    reports.parse_period(args.period)
    jobs = args.jobs or os.cpu_count() or 1
    options = {"roles": roles, "period": args.period, "jobs": jobs, "only_changed": True, "png": args.png}
    project = pipeline.Project.here(mirror=mirror(args), **options)
    summary = runlog.BuildSummary(vars(args))
    with summary.kept(project.data):
        failed = False
        for r in build.build(project, not args.no_fetch, args.analyses, args.force, args.dry_run, summary.found):
            took = f" ({r.seconds:.1f} s)" if r.status in ("done", "incomplete") else ""
            log.info(f"{r.name}: {r.status}: {r.detail}{took}")
            summary.steps.append(r)
            # a source unavailable is reported, not fatal (build on what is there); a failed report is
            failed |= r.status == "incomplete" and r.name != "fetch"
        missing = [] if args.no_fetch or args.dry_run else fetch.missing(project.raw)
        if missing:
            log.warning(f"build: {', '.join(missing)} missing with no earlier copy (see fetch above)")
        summary.exit_code = 1 if failed else EXIT_SOURCE_MISSING if missing else 0
    return summary.exit_code


def cmd_export(args: argparse.Namespace) -> int:
    from exportrisk.publish.export import export

    folder = Path(args.to).resolve() if args.to else config.project_root() / "reports" / "data"
    done = export(config.project_root() / "data", folder)
    log.info("export: " + ", ".join(f"{name} ({n} rows)" for name, n in done.rows.items()))
    log.info(f"export: wrote {done.datapackage} (CSV and Parquet) and {done.database} (Datasette: metadata.json)")
    return 0


def review_exporters() -> None:
    from exportrisk.screening import review, screen

    tables = screen.read_tables(config.processed_dir())
    found, near = review.write_review(tables.licences, tables.entities, config.processed_dir())
    by_type = found.groupby("match_type", observed=True)["n_lines"].sum()
    print(
        f"exporters: {found['name_raw'].nunique()} name(s) matched to the network on {int(by_type.sum())} line(s) ("
        + ", ".join(f"{t} {n}" for t, n in by_type.items())
        + f"); {near['name_raw'].nunique()} near miss(es) not accepted, for review in "
        f"{config.processed_dir() / review.REVIEW_FILE}"
    )


def cmd_screen(args: argparse.Namespace) -> int:
    from exportrisk.scoring import score as scoring
    from exportrisk.screening import applications, runner, screen

    if args.review_exporters:
        review_exporters()
        if not (args.csv or args.exporter):
            return 0
    if bool(args.csv) == bool(args.exporter):
        raise InputError("screen", "give either --csv FILE or one application's flags (--exporter ... --date ...)")
    apps = Path(args.csv).resolve() if args.csv else applications.from_flags(vars(args))
    out = Path(args.out).resolve() if args.out else config.project_root() / "reports" / "screening"
    formats = () if args.no_memos else ("html", "pdf")
    found, screening = runner.run(config.processed_dir(), apps, out, scoring_config(args), formats)
    if len(found) == 1:
        print(screen.summary(screening.memo(0)))
    else:
        for row in found.itertuples():
            print(f"{row.application_id}: {row.reason}")
    print(f"screen: {len(found)} application(s) screened into {out / runner.TABLE}")
    cfg = scoring.load_config(scoring_config(args))
    if args.fail_at and any(screen.reaches(top, args.fail_at, cfg) for _, top in screening.tops.iterrows()):
        print(f"screen: at least one application is {args.fail_at} or above (exit code 3)")
        return 3
    return 0


STEP_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fetch": cmd_fetch,
    "clean": cmd_clean,
    "score": cmd_score,
    "report": cmd_report,
    "sensitivity": cmd_sensitivity,
    "checks": cmd_checks,
}
# Every pipeline step is a command, in the pipeline's order and described as the step is; then the others.
COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    **{step.name: (STEP_COMMANDS[step.name], step.does) for step in pipeline.STEPS},
    "map": (cmd_map, "draft a spreadsheet's exportrisk.yaml: header, columns, dates, separators, names to review"),
    "check-source": (cmd_check_source, "dry-run a source folder's mapping: reconciliation and top reject reasons"),
    "screen": (cmd_screen, "screen export applications before the decision: band, reason, sources, memo (HTML, PDF)"),
    "export": (cmd_export, "publish the processed tables as a data package (CSV, Parquet) and a SQLite database"),
    "build": (
        cmd_build,
        "run the pipeline's steps in order, skipping those whose inputs, code and options are the same",
    ),
}

# Commands that write data/ or reports/: one at a time per project (exportrisk.lock)
WRITERS = ("fetch", "clean", "score", "sensitivity", "checks", "report", "export", "build", "screen")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="exportrisk", description="Screen export licences for human-rights risk.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    p.add_argument(
        "--root",
        metavar="DIR",
        help=f"project folder with data/ and reports/ (default: ${config.ROOT_VARIABLE}, else the current folder)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name in ("fetch", "build"):
            sp.add_argument(
                "--from",
                dest="mirror",
                metavar="DIR",
                help="copy from a local mirror laid out like data/raw/",
            )
        if name == "fetch":
            sp.add_argument("--source", action="append", help="only this source (repeatable)")
        if name == "map":
            sp.add_argument("file", help="the CSV or XLSX file, e.g. data/raw/<source>/<file>.xlsx")
            sp.add_argument("--sheet", help="XLSX: the sheet to read (default: the one with most rows)")
            sp.add_argument("--licensing-country", metavar="ISO3", help="the state that decided the licences")
            sp.add_argument("--write", action="store_true", help="write exportrisk.yaml beside the file")
        if name == "check-source":
            sp.add_argument("folder", help="the source folder, e.g. data/raw/<source>/")
            sp.add_argument("--strict", action="store_true", help="exit 1 when any row is rejected")
        if name in ("score", "sensitivity", "checks", "screen"):
            sp.add_argument(
                "--config",
                metavar="FILE",
                help="scoring configuration (default: exportrisk/metadata/scoring.yaml)",
            )
        if name == "sensitivity":
            sp.add_argument("--draws", type=int, default=200, help="perturbed sets of weights (default: 200)")
            sp.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
            sp.add_argument("--spread", type=float, default=0.5, help="each weight times 1 +/- up to this (0.5)")
        if name in ("report", "build"):
            sp.add_argument("--role", action="append", help="licensing or destination (repeatable; default: both)")
            sp.add_argument("--period", default="", help="decision years: 2014, 2010-2015, 2010- or -2015")
            sp.add_argument("--jobs", type=int, help="reports run in parallel (default: 1 for one country, else CPUs)")
            sp.add_argument(
                "--png", action="store_true", help="also save each chart as PNG (200 dpi), for systems that refuse SVG"
            )
        if name == "report":
            sp.add_argument("--country", help="ISO 3166 alpha-3 code or a country name the mappings know")
            sp.add_argument("--all", action="store_true", help="every country with licence data in each role")
        if name in WRITERS:
            sp.add_argument(
                "--wait",
                type=float,
                default=0,
                metavar="SECONDS",
                help=f"wait this long for another run on the project to end (default: 0, exit {EXIT_LOCKED} at once)",
            )
        if name == "export":
            sp.add_argument("--to", metavar="DIR", help="output folder (default: reports/data/)")
        if name == "build":
            sp.add_argument("--no-fetch", action="store_true", help="skip the fetch step (offline or pinned data)")
            sp.add_argument("--force", action="store_true", help="run every step even if nothing changed")
            sp.add_argument("--analyses", action="store_true", help="also run the weight sensitivity and the checks")
            sp.add_argument("--dry-run", action="store_true", help="say which steps would run and why; run none")
        if name == "screen":
            add_screen_arguments(sp)
    return p


def fail(message: str) -> None:
    """The CLI's one line on stderr, and the same in the log file."""
    print(f"error: {message}", file=sys.stderr)
    log.error(message)


def run(args: argparse.Namespace) -> int:
    """The command, logged, under the project's lock if it writes; every failure one line and an exit code."""
    data = config.project_root() / "data"
    with runlog.logging_to(data / runlog.LOGS):
        try:
            lock = project_lock(data, args.command, args.wait) if args.command in WRITERS else contextlib.nullcontext()
            with lock:
                return COMMANDS[args.command][0](args)
        except Locked as exc:
            fail(str(exc))
            return EXIT_LOCKED
        except InputError as exc:
            fail(str(exc))
            return 2
        except Exception as exc:  # one line, never a traceback, unless asked for
            if args.debug:
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)")
            return 1


def add_screen_arguments(sp: argparse.ArgumentParser) -> None:
    from exportrisk.schema import BANDS

    sp.add_argument("--csv", metavar="FILE", help="applications, one per row (columns as the flags below)")
    sp.add_argument("--exporter", help="exporter's name (matched to the curated network by name and aliases)")
    sp.add_argument("--end-user", dest="end_user", help="end user's name")
    sp.add_argument("--end-user-type", dest="end_user_type", help="e.g. police, intelligence, military, private")
    sp.add_argument("--destination", help="destination: ISO 3166 alpha-3 code or country name")
    sp.add_argument("--goods", help="control codes ('5A001.f; 5D001') or a description of the goods")
    sp.add_argument("--value", help="value of the application")
    sp.add_argument("--currency", help="ISO 4217 currency of the value")
    sp.add_argument("--date", help="date of the decision, YYYY-MM-DD: only what was public before it counts")
    sp.add_argument("--licensing-country", dest="licensing_country", help="licensing state (default: exporter's)")
    sp.add_argument("--id", dest="application_id", help="application id (default: app-1)")
    sp.add_argument("--out", metavar="DIR", help="where memos and screenings.csv go (default: reports/screening/)")
    sp.add_argument("--no-memos", action="store_true", help="only the screenings.csv table, no HTML or PDF memos")
    sp.add_argument(
        "--review-exporters",
        action="store_true",
        help="match the licence tables' exporters to the network; near misses to data/processed/exporter_review.csv",
    )
    sp.add_argument(
        "--fail-at", choices=BANDS, metavar="BAND", help=f"exit code 3 if a band reaches: {', '.join(BANDS)}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    root = os.environ.get(config.ROOT_VARIABLE)
    if args.root:  # through the environment, so that report kernels (other processes) work on the same project
        os.environ[config.ROOT_VARIABLE] = str(Path(args.root).resolve())
    try:
        return run(args)
    finally:  # main() is also called in-process (tests, notebooks): leave the environment as it was
        if args.root:
            if root is None:
                del os.environ[config.ROOT_VARIABLE]
            else:
                os.environ[config.ROOT_VARIABLE] = root


if __name__ == "__main__":
    sys.exit(main())
