"""Victims' names out, stable pseudonyms in: nothing exportrisk writes may carry a victim's name.

Victim databases name people at risk. The analysis needs which state targeted what kind of person and
when, not who they are, so each name becomes ``v-`` and 16 hex digits of HMAC-SHA256(salt, name), the name
folded for case and spacing: the same person keeps the same id across rows, runs and releases, and the
id cannot be turned back into the name without the salt.

The salt comes from the environment variable ``EXPORTRISK_PSEUDONYM_SALT``, else the project's public
default below. With the public default, ids are the same on every machine (re-runs are byte-identical,
collaborators can join on them), but anyone holding the public source list can recompute them. So the ids
stay in the processed tables, the researcher's own view, and never reach a published page: reports
count victim entries instead of listing their ids (exportrisk.reporting.sections), and the publishing guard refuses a
page that holds one. Set a secret salt when processed tables themselves leave the team. There is no
private output with names: whoever needs a name has the source file and the row number (source_row).

Names also hide in other fields: URL slugs ("/first-last-targeted-by-..."), affiliations ("wife of ...").
``name_pattern`` finds any part of a file's names (a word of four letters or more, or a title with the
next word) whatever the case, accents and separators, so that such URLs are dropped and, as a last guard,
output that still names a victim is never written.
"""

import functools
import hashlib
import hmac
import os
import re
from urllib.parse import unquote

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pycountry

from exportrisk import listcols
from exportrisk.errors import InputError
from exportrisk.ingest.parse import per_unique
from exportrisk.reference.countries import normalise
from exportrisk.reference.entities import fold

SALT_ENV = "EXPORTRISK_PSEUDONYM_SALT"
DEFAULT_SALT = "exportrisk-public-pseudonym-salt-v1"
NEVER = re.compile(r"(?!)")
# A victim's pseudonymous id, alone or inside an evidence id: what no published file may show.
VICTIM_ID = re.compile(r"(?<![0-9a-z])v-[0-9a-f]{16}(?![0-9a-f])")
# An evidence id that holds a victim's pseudonymous id ('pegasus-victims:v-0123456789abcdef', '-2' for a repeat).
VICTIM_EVIDENCE_ID = re.compile(r"[\w.-]+:v-[0-9a-f]{16}(?:-\d+)?")


def salt() -> bytes:
    """The configured salt: the environment variable if set and not empty, else the public default."""
    return (os.environ.get(SALT_ENV) or DEFAULT_SALT).encode("utf-8")


def pseudonymise(names: pd.Series, key: bytes) -> pd.Series:
    """Stable pseudonymous id per name ('v-' + 16 hex digits); missing names stay missing."""

    def one(name: str) -> str:
        return "v-" + hmac.new(key, normalise(name).encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    return per_unique(names, one)


# Words of the database's name column that name no person: organisations, kinds of person and connectors
# ("Al Jazeera #12", "Staff of Princess ...", "Saudi activist #1"), reviewed against every entry of the Pegasus
# victim database. Words of country names are never treated as names either (a report on El Salvador must be
# able to say so). Every other word of four letters or more is part of a name.
ORGANISATIONS_AND_KINDS = frozenset(("activist", "amnesty", "bchr", "bint", "binti", "giei", "individual"))
ORGANISATIONS_AND_KINDS |= {"international", "jazeera", "phone", "staff", "wefaq", "wife"}
# Titles name nobody alone, but a title with the word after it does ("Princess H...", "Mr. X").
TITLES = frozenset(("bishop", "dr", "emir", "father", "king", "lady", "lord", "mr", "mrs", "ms", "prince"))
TITLES |= {"princess", "queen", "sheikh", "sheikha", "sir"}
MIN_WORD = 4


@functools.cache
def country_words() -> frozenset[str]:
    """Every word of every country's ISO names, folded."""
    names = [
        n for c in pycountry.countries for n in (c.name, getattr(c, "official_name", ""), getattr(c, "common_name", ""))
    ]
    return frozenset(w for n in names for w in re.findall(r"[^\W\d_]+", fold(n)))


def name_pattern(names: pd.Series) -> re.Pattern[str]:
    """A regex finding any part of ``names`` in folded text: each word of four letters or more, or a title
    with the word after it, however the words are separated.

    For 'Princess Ana Perez' it finds 'perez', 'ana-perez' and 'princess-ana', in text and in URL slugs,
    but not 'perezoso': a surname in a URL or a first name with its title identifies a person too.
    """
    alternatives: set[str] = set()
    not_names = country_words() | ORGANISATIONS_AND_KINDS | TITLES
    for name in names.dropna().unique():
        words = re.findall(r"[^\W\d_]+", fold(name))
        for i, word in enumerate(words):
            if len(word) >= MIN_WORD and word not in not_names:
                alternatives.add(re.escape(word))
            if word in TITLES and i + 1 < len(words):
                alternatives.add(re.escape(word) + r"[\W_]*" + re.escape(words[i + 1]))
    if not alternatives:
        return NEVER
    ordered = sorted(alternatives, key=lambda a: (-len(a), a))
    return re.compile(r"(?<![^\W\d_])(?:" + "|".join(ordered) + r")(?![^\W\d_])")


def contains_name(values: pd.Series, pattern: re.Pattern[str]) -> pd.Series:
    """Whether each value (each list, for a list column) names a victim, read URL-decoded, case- and
    accent-folded (once per distinct value)."""
    text = listcols.readable(values)
    naming = [v for v in text.dropna().unique() if pattern.search(fold(unquote(v)))]
    return pd.Series(text.isin(naming).to_numpy(dtype=bool), index=values.index)


def drop_naming(values: pd.Series, pattern: re.Pattern[str]) -> pd.Series:
    """The list column ``values`` less the items that name a victim, such as URLs whose address does; a list
    left empty becomes missing."""
    found = listcols.arrow(values)
    items = pd.Series(pd.array(pc.list_flatten(found), dtype="string"))
    naming = pa.array(contains_name(items, pattern).to_numpy())
    return listcols.from_arrow(listcols.keep_values(found, pc.invert(naming)), values.index)


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


def public_evidence_ids(ids: pd.Series) -> pd.Series:
    """Evidence id lists as a published page shows them: other ids listed, victim entries only counted.

    A victim's id can be recomputed from the public source list with the public salt, so pages never show
    one: [curated:a, pegasus-victims:v-..., pegasus-victims:v-...] becomes [curated:a, 2 victim entries].
    """
    found = listcols.arrow(ids)
    victim = pc.match_substring_regex(pc.list_flatten(found), f"^(?:{VICTIM_EVIDENCE_ID.pattern})$")
    hidden = pd.Series(listcols.per_row(found, victim), index=ids.index)
    count = per_unique(hidden.where(hidden > 0), lambda n: f"{n:.0f} victim {'entry' if n == 1 else 'entries'}")
    shown = listcols.from_arrow(listcols.keep_values(found, pc.invert(victim)), ids.index)
    return listcols.concat(shown, listcols.of_one(count))
