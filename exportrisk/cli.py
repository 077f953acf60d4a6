"""The ``exportrisk`` command: fetch, clean (and later score, report), one line per problem, no tracebacks."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from exportrisk import config
from exportrisk.errors import InputError


def cmd_fetch(args: argparse.Namespace) -> int:
    from exportrisk.fetch import fetch_all

    mirror = Path(args.mirror).resolve() if args.mirror else None
    if mirror is not None and not mirror.is_dir():
        raise InputError(mirror, "mirror folder does not exist")
    results = fetch_all(config.raw_dir(), mirror, args.source or None)
    for r in results:
        print(f"{r.source}: {r.status}: {r.detail}")
    available = sum(r.status != "unavailable" for r in results)
    print(f"fetch: {available} of {len(results)} source(s) available in {config.raw_dir()}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from exportrisk.clean import clean

    result = clean(config.raw_dir(), config.processed_dir())
    for name in result.skipped:
        print(f"{name}: no raw data (run `exportrisk fetch`), skipped")
    for row in result.reconciliation.itertuples():
        print(f"{row.source_file}: {row.raw_rows} raw rows = {row.clean_rows} clean + {row.rejected_rows} rejected")
    if len(result.rejects):
        counts = result.rejects["reason_code"].value_counts()
        print("rejects: " + ", ".join(f"{k} {v}" for k, v in counts[counts > 0].items()))
    written = ", ".join(f"{name} ({len(table)} rows)" for name, table in result.tables.items())
    print(f"clean: wrote {written} to {config.processed_dir()}")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "fetch": (cmd_fetch, "download the public sources into data/raw/ (or copy them from a mirror)"),
    "clean": (cmd_clean, "turn data/raw/ into validated tables in data/processed/"),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="exportrisk", description="Screen export licences for human-rights risk.")
    p.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == "fetch":
            sp.add_argument(
                "--from",
                dest="mirror",
                metavar="DIR",
                help="copy from a local mirror laid out like data/raw/",
            )
            sp.add_argument("--source", action="append", help="only this source (repeatable)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command][0](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line, never a traceback, unless asked for
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
