"""Victims' names out, stable pseudonyms in: nothing exportrisk writes may carry a victim's name.

Victim databases name people at risk. The analysis needs which state targeted what kind of person and
when, not who they are, so each name becomes ``v-`` and 16 hex digits of HMAC-SHA256(salt, name), the name
folded for case and spacing: the same person keeps the same id across rows, runs and releases, and the
id cannot be turned back into the name without the salt.

The salt comes from the environment variable ``EXPORTRISK_PSEUDONYM_SALT``, else the project's public
default below. That is a trade-off. With the public default, ids are the same on every machine (re-runs
are byte-identical, collaborators and releases can be joined on them), but anyone holding the public
source list can recompute them: they keep names out of our tables and reports, they do not protect
against a determined adversary. Set a secret salt when outputs leave the team or are combined with
unpublished victims: ids then resist a dictionary attack, but differ between installations, and the
link to earlier outputs is lost with the salt. There is no private output with names: whoever needs a
name has the source file and the row number (source_row) every line keeps.

Names also hide in other fields: URL slugs ("/first-last-targeted-by-..."), affiliations ("wife of ...").
``name_pattern`` finds any of a file's names in text whatever the case, accents and separators, so that
such URLs are dropped and, as a last guard, output that still names a victim is never written.
"""

import hashlib
import hmac
import os
import re
from urllib.parse import unquote

import pandas as pd

from exportrisk.countries import normalise
from exportrisk.entities import fold
from exportrisk.errors import InputError
from exportrisk.parse import per_unique

SALT_ENV = "EXPORTRISK_PSEUDONYM_SALT"
DEFAULT_SALT = "exportrisk-public-pseudonym-salt-v1"
NEVER = re.compile(r"(?!)")


def salt() -> bytes:
    """The configured salt: the environment variable if set and not empty, else the public default."""
    return (os.environ.get(SALT_ENV) or DEFAULT_SALT).encode("utf-8")


def pseudonymise(names: pd.Series, key: bytes) -> pd.Series:
    """Stable pseudonymous id per name ('v-' + 16 hex digits); missing names stay missing."""

    def one(name: str) -> str:
        return "v-" + hmac.new(key, normalise(name).encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    return per_unique(names, one)


def name_pattern(names: pd.Series) -> re.Pattern[str]:
    """A regex finding any of ``names`` in folded text, its words separated by anything or nothing.

    'Ana María Pérez' is found in 'ana-maria-perez', 'ana_maria_perez' and 'anamariaperez', but not inside
    a longer word.
    """
    words = {tuple(re.findall(r"[^\W_]+", fold(n))) for n in names.dropna().unique()}
    alternatives = sorted((r"[\W_]*".join(map(re.escape, w)) for w in words if w), key=len, reverse=True)
    if not alternatives:
        return NEVER
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + r")(?![^\W_])")


def contains_name(values: pd.Series, pattern: re.Pattern[str]) -> pd.Series:
    """Whether each value names a victim, read URL-decoded, case- and accent-folded (once per distinct value)."""
    text = values.astype("string")
    naming = [v for v in text.dropna().unique() if pattern.search(fold(unquote(v)))]
    return pd.Series(text.isin(naming).to_numpy(dtype=bool), index=values.index)


def drop_naming(lists: pd.Series, pattern: re.Pattern[str], sep: str = ";") -> pd.Series:
    """Drop the items of ``sep``-separated lists that name a victim, such as URLs whose address does.

    Items come back joined by ``sep`` and a space; a list left empty becomes missing.
    """
    items = lists.astype("string").str.split(sep).explode().str.strip()
    kept = items[items.fillna("").ne("") & ~contains_name(items, pattern)]
    return kept.groupby(level=0).agg(f"{sep} ".join).reindex(lists.index).astype("string")


def check_no_names(frame: pd.DataFrame, pattern: re.Pattern[str], origin: str) -> None:
    """Refuse output that names a victim; the error says where, never the name itself."""
    for column in frame.columns:
        if frame[column].dtype.kind in "biufcmM":
            continue
        hit = contains_name(frame[column], pattern)
        if hit.any():
            raise InputError(
                origin,
                f"output would name a victim in {int(hit.sum())} row(s): a bug, nothing was written",
                column=column,
            )
