"""Generate the reference pages in docs/ from the declarations they describe (``make docs``, in a checkout)."""

import sys
from pathlib import Path

from exportrisk.config import PACKAGE_DIR
from exportrisk.ingest.files import atomic_path
from exportrisk.reference.controlcodes import taxonomy
from exportrisk.schema import data_dictionary


def taxonomy_page() -> str:
    """docs/taxonomy.md: the control-code taxonomy as a table, most specific rules first."""
    lines = [
        "# Goods taxonomy",
        "",
        "Generated from `exportrisk/metadata/control_code_taxonomy.csv` by `make docs`; do not edit.",
        "",
        "A normalised control code is classified by the most specific rule that matches it: a rule matches",
        "itself and its sub-items ('5A001.f' matches '5A001.f.2'); a rule ending in '*' matches any code",
        "starting with it. Each licence line records the rule in `taxonomy_rule`. A source that states the",
        "category itself (the UK ratings file's military flag) takes precedence for `goods_category`.",
        "",
        "| rule | goods_category | surveillance_type | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r.rule}` | {r.goods_category} | {r.surveillance_type or ''} | {r.label} |" for r in taxonomy()]
    return "\n".join(lines) + "\n"


PAGES = {"data-dictionary.md": data_dictionary, "taxonomy.md": taxonomy_page}


def write_docs(docs_dir: Path) -> None:
    for name, render in PAGES.items():
        with atomic_path(docs_dir / name) as tmp:
            tmp.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    write_docs(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE_DIR.parent / "docs")
