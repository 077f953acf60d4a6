"""Control-list codes: split cells that hold several, normalise to dotted form, classify by taxonomy.

Codes arrive at different depths and spellings ("5A001", "5A001f2", "5A001.j", "ML5b      ",
"ML6/10"). The dotted form makes depth explicit so that the taxonomy can match the most specific rule
and say which rule matched. The taxonomy lives in ``metadata/control_code_taxonomy.csv``.
"""

import csv
import functools
import re
from dataclasses import dataclass

import pandas as pd

from exportrisk.config import METADATA_DIR

TAXONOMY_FILE = METADATA_DIR / "control_code_taxonomy.csv"
DUAL_USE = re.compile(r"^(\d[A-E]\d{3})[\s.]*((?:-?\d+)?[A-Z0-9.\s]*)$")
MILITARY = re.compile(r"^(ML|PL)\s*(\d{1,4})[\s.]*([A-Z0-9.\s]*)$")
SEPARATORS = re.compile(r"\s*(?:/|,|;|&|\+|\s+EN\s+|\s+AND\s+)\s*|\.(?=ML)")


def _dotted(suffix: str) -> str:
    return "".join("." + t for t in re.findall(r"[A-Z]+|\d+", suffix)).lower()


def normalise(raw: str | None) -> str | None:
    """'5A001f2' -> '5A001.f.2', 'ML5b  ' -> 'ML5.b', '1C350-16' -> '1C350.16'; None if not a code."""
    if raw is None or pd.isna(raw):
        return None
    text = str(raw).strip().upper()
    if re.fullmatch(r"END[\s-]*USE", text):
        return "END-USE"
    if m := DUAL_USE.match(text):
        return m[1] + _dotted(m[2])
    if m := MILITARY.match(text):
        return f"{m[1]}{int(m[2])}" + _dotted(m[3])
    if m := re.match(r"^(ML|PL)\s*(\d{1,4})(?!\d)", text):  # ranges such as 'ML10a-f': keep the entry
        return f"{m[1]}{int(m[2])}"
    return None


def split_codes(raw: str | None) -> list[str]:
    """Split a cell naming several codes; abbreviated parts inherit the previous code's stem.

    'ML6/10' -> ['ML6', 'ML10'], 'ML10a/b' -> ['ML10a', 'ML10b'], 'ML2.ML6' -> ['ML2', 'ML6'],
    'ML10a,18a,22' -> ['ML10A', 'ML18A', 'ML22'].
    """
    if raw is None or pd.isna(raw) or not str(raw).strip():
        return [""]
    parts = [p for p in SEPARATORS.split(str(raw).strip().upper()) if p]
    out: list[str] = []
    for p in parts:
        if out and normalise(p) is None:
            prev = out[-1]
            if p[0].isdigit() and prev.startswith("ML"):  # 'ML5b,15b': the list prefix
                p = "ML" + p
            elif p.isalpha() and (entry := re.match(r"^(ML\d+|PL\d+|\d[A-E]\d{3})", prev)):  # 'ML10a/b'
                p = entry[0] + p
        out.append(p)
    return out or [""]


@dataclass(frozen=True)
class Rule:
    rule: str
    goods_category: str
    surveillance_type: str | None
    label: str

    def matches(self, code: str) -> bool:
        if self.rule.endswith("*"):
            return code.startswith(self.rule[:-1])
        return code == self.rule or code.startswith(self.rule + ".")

    @property
    def specificity(self) -> tuple[int, int]:
        return (len(self.rule.rstrip("*")), 0 if self.rule.endswith("*") else 1)


@functools.cache
def taxonomy() -> tuple[Rule, ...]:
    with TAXONOMY_FILE.open(encoding="utf-8", newline="") as fh:
        rules = [
            Rule(r["rule"], r["goods_category"], r["surveillance_type"] or None, r["label"]) for r in csv.DictReader(fh)
        ]
    return tuple(sorted(rules, key=lambda r: r.specificity, reverse=True))


def classify_code(code: str | None) -> Rule | None:
    """The most specific taxonomy rule for a normalised code."""
    if not isinstance(code, str):
        return None
    return next((r for r in taxonomy() if r.matches(code)), None)


def describe(raw: str | None) -> tuple[str | None, str, str | None, str | None]:
    """control_code, goods_category, surveillance_type and taxonomy_rule of one raw code."""
    code = normalise(raw)
    rule = classify_code(code)
    return (code, rule.goods_category, rule.surveillance_type, rule.rule) if rule else (code, "unknown", None, None)


def classify(codes: pd.Series) -> pd.DataFrame:
    """control_code, goods_category, surveillance_type and taxonomy_rule for raw codes (one per row)."""
    positions, uniques = pd.factorize(codes, use_na_sentinel=True)
    table = pd.DataFrame(
        [describe(u) for u in uniques] + [describe(None)],  # position -1 (missing) takes the last row
        columns=["control_code", "goods_category", "surveillance_type", "taxonomy_rule"],
        dtype="string",  # Arrow-backed text: the take below stays vectorised
    )
    return table.take(positions).set_axis(codes.index)
