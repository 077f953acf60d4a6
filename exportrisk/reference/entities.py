"""Company names to curated entities, through reviewed names and aliases, never by similarity.

Licence data, court filings and registries spell one company many ways: "NSO Group Technologies Ltd",
"N.S.O. Group", "Q Cyber Technologies S.à r.l.". Names are compared after folding case, diacritics,
punctuation and word order, with the legal form read apart: "Q Cyber Technologies Ltd" (Israel) and
"Q Cyber Technologies S.à r.l." (Luxembourg) are different companies that differ only in it. A name
matches an entity whose name or alias agrees on both; failing that, on the name alone when exactly one
entity has it. Near misses ("NSA Group Technologies") match nothing: a wrong link in an ownership network
would tie an exporter to misuse it has nothing to do with.
"""

import re
import unicodedata

import pandas as pd

from exportrisk.ingest.parse import per_unique

# Legal forms, after folding and removing dots: canonical form -> spellings (regex over whole words).
LEGAL_FORMS = {
    "sarl": r"s ?a ?r ?l",
    "ltd": r"ltd|limited",
    "inc": r"inc|incorporated",
    "llc": r"llc",
    "llp": r"llp",
    "lp": r"lp",
    "plc": r"plc",
    "gmbh": r"gmbh",
    "ag": r"ag",
    "sa": r"sa",
    "bv": r"bv",
    "nv": r"nv",
    "corp": r"corp|corporation",
    "ood": r"e?ood",
}
FORM_AT_END = re.compile(
    r"(?:^|\s)(?:" + "|".join(f"(?P<{form}>{spelling})" for form, spelling in LEGAL_FORMS.items()) + r")$"
)


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text: 'Q Cyber S.à r.l.' -> 'q cyber s.a r.l.'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _words(name: str) -> tuple[str, str | None]:
    """Folded words of a name without its legal form, and that form (canonical) or None."""
    text = fold(name).replace("&", " and ")
    text = re.sub(r"[.'\u2019]", "", text)  # dots and apostrophes join letters: N.S.O. -> nso
    text = re.sub(r"[\W_]+", " ", text).strip()
    found = FORM_AT_END.search(text)
    if found is None or found.start() == 0:  # a name that is only a legal form keeps it
        return text, None
    return text[: found.start()].strip(), found.lastgroup


def name_words(name: str) -> str:
    """Folded words of a name in their order, legal form removed: 'N.S.O. Group Ltd' -> 'nso group'."""
    return _words(name)[0]


def normalise_entity_name(name: str) -> str:
    """Comparable form of a company name: folded words, legal form removed, sorted (word order ignored)."""
    return " ".join(sorted(name_words(name).split()))


def legal_form(name: str) -> str | None:
    """Canonical legal form at the end of a name ('S.à r.l.', 'Sarl' -> 'sarl'; 'Limited' -> 'ltd'), if any."""
    return _words(name)[1]


def entity_names(entities: pd.DataFrame) -> pd.DataFrame:
    """Every name and alias (a list column) of each entity as (entity_id, name, key, form), for matching."""
    names = pd.concat(
        [
            entities[["entity_id", "name"]],
            entities[["entity_id", "aliases"]].explode("aliases").rename(columns={"aliases": "name"}),
        ],
        ignore_index=True,
    )
    names["name"] = names["name"].astype("string").str.strip().replace("", pd.NA)
    names = names.dropna(subset=["name"])
    return pd.DataFrame(
        {
            "entity_id": names["entity_id"].astype("string"),
            "name": names["name"],
            "key": per_unique(names["name"], normalise_entity_name),
            "form": per_unique(names["name"], legal_form),
        }
    ).drop_duplicates(ignore_index=True)


def _unique_match(queries: pd.DataFrame, names: pd.DataFrame, on: list[str]) -> pd.Series:
    """Entity per query row where the columns ``on`` single out exactly one entity, else missing."""
    hits = queries.rename_axis("query").reset_index().merge(names, on=on)[["query", "entity_id"]]
    hits = hits.drop_duplicates()
    single = hits[~hits["query"].duplicated(keep=False)].set_index("query")["entity_id"]
    return single.reindex(queries.index)


def match_entities(names: pd.Series, entities: pd.DataFrame) -> pd.Series:
    """The entity_id each name refers to, missing where no entity or more than one could be meant.

    A name agreeing with an entity's name or alias in words and legal form matches it; otherwise the
    words alone must single out one entity (so 'NSO Group Technologies Limited' still finds NSO, while
    'Q Cyber Technologies' without a form, which two entities share, matches none). Work is done once
    per distinct name.
    """
    text = names.astype("string").str.strip().replace("", pd.NA)
    distinct = pd.Series(text.dropna().unique(), dtype="string")
    queries = pd.DataFrame({"key": distinct.map(normalise_entity_name), "form": distinct.map(legal_form)})
    known = entity_names(entities)
    exact = _unique_match(queries.dropna(subset=["form"]), known.dropna(subset=["form"]), ["key", "form"])
    by_words = _unique_match(queries, known[["entity_id", "key"]], ["key"])
    found = exact.reindex(queries.index).fillna(by_words)
    return text.map(dict(zip(distinct, found, strict=True))).astype("string")


def match_entity(name: str, entities: pd.DataFrame) -> str | None:
    """The entity_id ``name`` refers to, or None when no entity, or more than one, could be meant."""
    found = match_entities(pd.Series([name]), entities).iloc[0]
    return None if pd.isna(found) else str(found)
