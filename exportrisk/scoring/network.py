"""The exporter network: licence parties matched to curated entities, and their links to documented misuse.

Component X of the score asks whether a licence's exporter, or a company tied to it by ownership, a merger,
a sales arm or a rebrand, had been linked to documented surveillance misuse before the licence was decided.
This module answers it in three steps:

- ``match_parties``: licence exporters and end-users to entities, with how sure the match is; names that
  resemble an entity without matching it go to a review list (``near_misses``), never into the network.
- ``build_graph``/``affiliates_at``: the dated relations as a networkx graph, and the affiliates of an
  entity through the relations in force on a day (either direction, any distance, shortest path shown).
- ``misuse_links``/``exporter_links``: every (entity, evidence) link with the period it holds, computed
  once, so that a million licences are scored by an as-of join instead of a million graph walks.

The rules (in force, direction, distance, confidence, path text) are explained in docs/network.md.
"""

import difflib
from itertools import pairwise

import networkx as nx
import numpy as np
import pandas as pd

from exportrisk.ingest.parse import per_unique
from exportrisk.knowledge.evidence import period_end
from exportrisk.reference.entities import (
    entity_names,
    fold,
    legal_form,
    match_entities,
    name_words,
    normalise_entity_name,
)
from exportrisk.schema import RELATION_KINDS

DAY = pd.Timedelta(days=1)
PARTY_COLUMNS = {"exporter": "exporter_name", "end_user": "end_user_name"}
# How sure a match is, from the weakest difference between the name and the entity's name or alias.
MATCH_CONFIDENCE = {
    "exact": 1.0,  # the curated name or alias, ignoring only case, accents and spacing
    "normalised": 0.95,  # same words in the same order once punctuation and legal-form spelling are folded
    "token_set": 0.85,  # same words in another order
    "legal_form_differs": 0.7,  # same words, another legal form: only one entity has them, but check it
}
# Evidence of misuse by a vendor's product; a customer report alone shows no abuse (see EVIDENCE.kind).
MISUSE_KINDS = ("targeting_incident", "published_finding", "legal_complaint", "entity_listing")
PRECISION_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def _spelling(name: str) -> str:
    """A name as written, ignoring case, accents and spacing: what an 'exact' match must agree on."""
    return " ".join(fold(name).split())


def licence_party_names(licences: pd.DataFrame) -> pd.DataFrame:
    """The named parties of licence lines as (licence_id, line_no, party_role, name_raw), unnamed ones left out."""
    parts = []
    for role, column in PARTY_COLUMNS.items():
        names = party_names(licences[column])
        named = names.notna()
        parts.append(
            pd.DataFrame(
                {
                    "licence_id": licences.loc[named, "licence_id"],
                    "line_no": licences.loc[named, "line_no"],
                    "party_role": role,
                    "name_raw": names[named],
                }
            )
        )
    parties = pd.concat(parts, ignore_index=True)
    parties["party_role"] = parties["party_role"].astype(pd.CategoricalDtype(list(PARTY_COLUMNS)))
    return parties


def party_names(column: pd.Series) -> pd.Series:
    """A party column's names as matched: trimmed, an empty one null."""
    return column.astype("string").str.strip().replace("", pd.NA)


def matched_exporters(licences: pd.DataFrame, entities: pd.DataFrame) -> pd.DataFrame:
    """The licence lines whose exporter matches an entity: their rows of ``licences`` with the entity_id, in line
    order. match_parties' exporters with an entity, but only those lines are built (each distinct name classified
    once first): a handful of a million lines, where match_parties builds a row per named party."""
    codes, names = pd.factorize(party_names(licences[PARTY_COLUMNS["exporter"]]))
    names = pd.Series(names, dtype="string")
    entity = classify_names(names, entities).set_index("name_raw")["entity_id"].reindex(names).to_numpy()
    at = np.flatnonzero(codes >= 0)
    at = at[pd.notna(entity[codes[at]])]
    return licences.iloc[at].assign(entity_id=pd.array(entity[codes[at]], dtype="string"))


def classify_names(names: pd.Series, entities: pd.DataFrame) -> pd.DataFrame:
    """Each distinct name once, as (name_raw, entity_id, match_type, confidence); no entity: nulls.

    The entity is the one ``entities.match_entities`` finds (so licences and evidence resolve a name the
    same way); the match type is the closest of that entity's names or aliases with the same words.
    """
    distinct = pd.Series(names.dropna().unique(), dtype="string")
    found = pd.DataFrame({"name_raw": distinct, "entity_id": match_entities(distinct, entities)})
    queries = found.dropna(subset=["entity_id"]).assign(
        spelling=lambda q: per_unique(q["name_raw"], _spelling),
        words=lambda q: per_unique(q["name_raw"], name_words),
        key=lambda q: per_unique(q["name_raw"], normalise_entity_name),
        form=lambda q: per_unique(q["name_raw"], legal_form),
    )
    known = entity_names(entities).assign(
        spelling=lambda k: per_unique(k["name"], _spelling), words=lambda k: per_unique(k["name"], name_words)
    )
    pairs = queries.merge(known, on=["entity_id", "key"], suffixes=("", "_known"))
    form_agrees = pairs["form"].isna() | pairs["form_known"].isna() | pairs["form"].eq(pairs["form_known"])
    in_order = pairs["words"].eq(pairs["words_known"])
    exact = pairs["spelling"].eq(pairs["spelling_known"])
    rank = np.select([exact, form_agrees & in_order, form_agrees], [0, 1, 2], default=3)  # MATCH_CONFIDENCE order
    best = pd.Series(rank, index=pairs.index).groupby(pairs["name_raw"]).min()
    codes = found["name_raw"].map(best).fillna(-1).astype(int)
    found["match_type"] = pd.Categorical.from_codes(codes, categories=list(MATCH_CONFIDENCE))
    found["confidence"] = found["match_type"].map(MATCH_CONFIDENCE).astype("Float64")
    return found


def match_parties(licences: pd.DataFrame, entities: pd.DataFrame) -> pd.DataFrame:
    """Named licence parties with the entity each names, the match type and its confidence.

    One row per named exporter or end-user: (licence_id, line_no, party_role, name_raw, entity_id,
    match_type, confidence), entity_id and match fields null where no entity is matched (see near_misses).
    Names are matched once per distinct name: licence tables repeat few names over many lines.
    """
    parties = licence_party_names(licences)
    return parties.merge(classify_names(parties["name_raw"], entities), on="name_raw", how="left")


def _similar_names(queries: pd.Series, known: pd.DataFrame, min_similarity: float, min_overlap: float) -> pd.DataFrame:
    """Pairs of a query key and a known name with a close key, for the review list.

    Returns (key, entity_id, candidate_name, reason, similarity, token_overlap); a query equal to a known
    key is 'ambiguous' (it would have matched, had one entity alone had that key).
    """
    rows = []
    distinct = [(query, set(query.split())) for query in queries.unique()]
    for entity_id, name, key in known[["entity_id", "name", "key"]].itertuples(index=False):
        matcher = difflib.SequenceMatcher(b=key)  # indexes the known key once for all queries
        key_words = set(key.split())
        for query, words in distinct:
            overlap = len(words & key_words) / max(1, len(words | key_words))
            matcher.set_seq1(query)
            if overlap < min_overlap and (
                matcher.real_quick_ratio() < min_similarity or matcher.quick_ratio() < min_similarity
            ):
                continue  # both bound ratio() from above, cheaply: most pairs stop here
            similarity = matcher.ratio()
            if overlap >= min_overlap or similarity >= min_similarity:
                reason = "ambiguous" if key == query else "similar_name"
                rows.append((query, entity_id, name, reason, round(similarity, 3), round(overlap, 3)))
    columns = ["key", "entity_id", "candidate_name", "reason", "similarity", "token_overlap"]
    return pd.DataFrame(rows, columns=columns).astype({"key": "string", "entity_id": "string"})


def near_misses(
    licences: pd.DataFrame, entities: pd.DataFrame, min_similarity: float = 0.8, min_overlap: float = 0.5
) -> pd.DataFrame:
    """Unmatched party names that resemble an entity, for a person to review (and add as an alias, or not).

    One row per distinct name and candidate entity, by name, most similar first: (name_raw, party_roles, n_lines,
    entity_id, candidate_name, reason, similarity, token_overlap). reason is 'ambiguous' when the words are
    those of several entities (the legal form would decide), 'similar_name' when the normalised names have
    an edit similarity (difflib ratio) of at least ``min_similarity`` or share at least ``min_overlap`` of
    their words (Jaccard). Such names are never matched: a wrong link would tie an exporter to another's misuse.
    """
    parties = match_parties(licences, entities)
    unmatched = parties[parties["entity_id"].isna()]
    names = pd.DataFrame({"name_raw": unmatched["name_raw"].unique()})
    names["key"] = per_unique(names["name_raw"], normalise_entity_name)
    found = names.merge(_similar_names(names["key"], entity_names(entities), min_similarity, min_overlap), on="key")
    flagged = unmatched[unmatched["name_raw"].isin(found["name_raw"])]
    counts = flagged.groupby("name_raw", as_index=False).agg(
        party_roles=("party_role", lambda roles: "; ".join(sorted(set(roles)))), n_lines=("line_no", "size")
    )
    found = found.merge(counts, on="name_raw").sort_values(
        ["name_raw", "similarity", "token_overlap"], ascending=[True, False, False]
    )
    columns = ["name_raw", "party_roles", "n_lines", "entity_id", "candidate_name", "reason"]
    found = found.drop_duplicates(["name_raw", "entity_id"])[[*columns, "similarity", "token_overlap"]]
    return found.reset_index(drop=True)


def _or_none(value: object) -> object:
    """A table cell as a graph attribute: None where missing (NaT and NaN would compare as dates)."""
    return None if pd.isna(value) else value


def build_graph(entities: pd.DataFrame, relations: pd.DataFrame) -> nx.MultiDiGraph:
    """The vendor network: a node per entity, an edge 'subject -> object' per relation, keyed by its kind.

    Edges carry the reported dates and precisions, the source URLs, and the period the relation counts as
    in force, [in_force_from, in_force_until) with None for an open end: the widest period the reports
    allow (a partial start read as its first day, a partial end as its last, an unknown start as always).
    """
    graph = nx.MultiDiGraph()
    for row in entities.itertuples(index=False):
        graph.add_node(
            row.entity_id,
            name=row.name,
            entity_type=row.entity_type,
            country_code=_or_none(row.country_code),
        )
    until = period_end(relations["end_date"], relations["end_date_precision"])
    for row, in_force_until in zip(relations.itertuples(index=False), until, strict=True):
        graph.add_edge(
            row.subject_entity_id,
            row.object_entity_id,
            key=row.relation_kind,
            relation_kind=row.relation_kind,
            start_date=_or_none(row.start_date),
            start_date_precision=_or_none(row.start_date_precision),
            end_date=_or_none(row.end_date),
            end_date_precision=_or_none(row.end_date_precision),
            in_force_from=_or_none(row.start_date),
            in_force_until=_or_none(in_force_until),
            source_urls=row.source_urls,
        )
    return graph


def _in_force(relation: dict[str, object], day: pd.Timestamp) -> bool:
    start, until = relation["in_force_from"], relation["in_force_until"]
    return (start is None or start <= day) and (until is None or day < until)


def graph_at(graph: nx.MultiDiGraph, day: pd.Timestamp) -> nx.Graph:
    """The relations in force on ``day`` as an undirected graph: one edge per pair, its strongest relation.

    Strength follows RELATION_KINDS (parent_of first, affiliate_of last); the edge's ``relation`` keeps
    the subject, so that a path can show which way the relation reads.
    """
    view = nx.Graph()
    view.add_nodes_from(graph.nodes(data=True))
    edges = sorted(graph.edges(data=True), key=lambda e: RELATION_KINDS.index(e[2]["relation_kind"]))
    for subject, obj, relation in edges:
        if _in_force(relation, day) and not view.has_edge(subject, obj):
            view.add_edge(subject, obj, relation={**relation, "subject": subject})
    return view


def _partial_date(date: object, precision: object) -> str | None:
    """A relation's date as precise as reported (its values are untyped: they come from a graph edge)."""
    return None if date is None else pd.Timestamp(date).strftime(PRECISION_FORMATS[str(precision)])


def relation_label(relation: dict[str, object]) -> str:
    """A relation's kind and reported period: 'merged_with 2014', 'owner_of 2014 to 2019-02-14', 'parent_of undated'."""
    start = _partial_date(relation["start_date"], relation["start_date_precision"])
    end = _partial_date(relation["end_date"], relation["end_date_precision"])
    period = f"{start} to {end}" if start and end else start or (f"until {end}" if end else "undated")
    return f"{relation['relation_kind']} {period}"


def _reach(view: nx.Graph, entity_id: str) -> list[dict[str, object]]:
    """Every entity connected to ``entity_id`` in ``view`` (itself included, at 0 hops), by a shortest path."""
    rows = []
    for target, nodes in nx.single_source_shortest_path(view, entity_id).items():
        text, kinds = view.nodes[entity_id]["name"], []
        for a, b in pairwise(nodes):
            relation = view.edges[a, b]["relation"]
            label = relation_label(relation)
            arrow = f" -[{label}]-> " if relation["subject"] == a else f" <-[{label}]- "
            text += arrow + view.nodes[b]["name"]
            kinds.append(relation["relation_kind"])
        rows.append({"entity_id": target, "hops": len(nodes) - 1, "path": text, "relation_kinds": "; ".join(kinds)})
    return rows


def affiliates_at(graph: nx.MultiDiGraph, entity_id: str, t: pd.Timestamp | str) -> pd.DataFrame:
    """Entities linked to ``entity_id`` through relations in force on day ``t``, in either direction, any distance.

    Returns (entity_id, hops, path, relation_kinds), nearest first, the entity itself left out. A parent is
    exposed by its subsidiary as a subsidiary is by its parent: control and shared ownership run both ways.
    """
    rows = [r for r in _reach(graph_at(graph, pd.Timestamp(t).normalize()), entity_id) if r["entity_id"] != entity_id]
    found = pd.DataFrame(rows, columns=["entity_id", "hops", "path", "relation_kinds"])
    return found.astype({"entity_id": "string", "hops": "Int64", "path": "string", "relation_kinds": "string"})


def reach_periods(graph: nx.MultiDiGraph) -> pd.DataFrame:
    """Every (entity_id, linked_entity_id, path) with the period it holds, [reach_from, reach_until), null = open.

    The network only changes on the days a relation starts or ends, so one walk per entity between two such
    days covers all time; consecutive periods with the same shortest path are merged.
    """
    changes = sorted(
        {d for *_, r in graph.edges(data=True) for d in (r["in_force_from"], r["in_force_until"]) if d is not None}
    )
    bounds = [None, *changes, None]  # period i runs from bounds[i] to bounds[i + 1]
    probes = [(changes[0] if changes else pd.Timestamp.max) - DAY, *changes]
    rows = []
    for i, probe in enumerate(probes):
        view = graph_at(graph, probe)
        for entity_id in view.nodes:
            rows += [
                {**r, "linked_entity_id": r["entity_id"], "entity_id": entity_id, "period": i}
                for r in _reach(view, entity_id)
            ]
    columns = ["entity_id", "hops", "path", "relation_kinds", "linked_entity_id", "period"]
    reach = pd.DataFrame(rows, columns=columns).sort_values(
        ["entity_id", "linked_entity_id", "period"], ignore_index=True
    )
    key = reach[["entity_id", "linked_entity_id", "path"]]
    new_run = key.ne(key.shift()).any(axis=1)  # a path holds over one stretch: its relations' periods overlap once
    runs = reach.groupby(new_run.cumsum()).agg(
        entity_id=("entity_id", "first"),
        linked_entity_id=("linked_entity_id", "first"),
        hops=("hops", "first"),
        path=("path", "first"),
        relation_kinds=("relation_kinds", "first"),
        first=("period", "min"),
        last=("period", "max"),
    )
    runs["reach_from"] = pd.to_datetime(runs["first"].map(lambda i: bounds[i])).astype("datetime64[ms]")
    runs["reach_until"] = pd.to_datetime(runs["last"].map(lambda i: bounds[i + 1])).astype("datetime64[ms]")
    return runs.drop(columns=["first", "last"]).reset_index(drop=True)


def misuse_links(
    entities: pd.DataFrame,
    relations: pd.DataFrame,
    evidence: pd.DataFrame,
    kinds: tuple[str, ...] = MISUSE_KINDS,
) -> pd.DataFrame:
    """Every link from an entity, through the network, to evidence of misuse by a vendor, with when it holds.

    One row per (entity_id, linked_entity_id, evidence_id) and period: (entity_id, linked_entity_id,
    evidence_id, published_date, hops, network_path, path, link_from, link_until). A licence decided on day
    t sees the link when link_from <= t < link_until (null: open): link_from is the first day on which the
    whole path is in force and the evidence public (the day after publication, as evidence_as_of), and
    link_until the first day the path no longer holds as shown (a relation on it ended, or a shorter path
    began: the link then continues in the next row). The vendor itself is linked to its evidence at 0 hops.
    """
    vendor = evidence[evidence["kind"].isin(kinds) & evidence["vendor_entity_id"].notna()]
    by_vendor = vendor.groupby(["evidence_id", "vendor_entity_id"], as_index=False)["published_date"].min()
    reach = reach_periods(build_graph(entities, relations)).rename(columns={"path": "network_path"})
    links = reach.merge(by_vendor, left_on="linked_entity_id", right_on="vendor_entity_id")
    public_from = links["published_date"] + DAY  # the first decision day that can know it (evidence_as_of)
    links["link_from"] = pd.concat([links["reach_from"], public_from], axis=1).max(axis=1).astype("datetime64[ms]")
    links["link_until"] = links["reach_until"]
    links = links[links["link_until"].isna() | (links["link_from"] < links["link_until"])]
    published = links["published_date"].dt.strftime("%Y-%m-%d")
    links["path"] = links["network_path"] + " -[vendor of]-> evidence " + links["evidence_id"] + " (" + published + ")"
    columns = ["entity_id", "linked_entity_id", "evidence_id", "published_date", "hops", "network_path", "path"]
    links = links[[*columns, "link_from", "link_until"]].sort_values([*columns[:4], "link_from"])
    return links.astype(
        {c: "string" for c in ("entity_id", "linked_entity_id", "evidence_id", "network_path", "path")}
        | {"hops": "Int64"}
    ).reset_index(drop=True)


def _link_summaries(members: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Per group of (entity_id, as_of) members: the links in force as of then, as evidence_ids, n_links, path.

    Each network path is written once, with its oldest evidence and how many more it leads to, so that the
    text stays readable when a vendor has a hundred incidents (the ids are all in evidence_ids).
    """
    found = members.merge(links, on="entity_id")
    inside = (found["link_from"] <= found["as_of"]) & (
        found["link_until"].isna() | (found["as_of"] < found["link_until"])
    )
    found = found[inside].sort_values(["group", "published_date", "evidence_id"])
    evidence = found.drop_duplicates(["group", "evidence_id"]).groupby("group")["evidence_id"]
    per_path = found.groupby(["group", "network_path"], sort=False).agg(
        first=("evidence_id", "first"),
        first_date=("published_date", "first"),
        n=("evidence_id", "nunique"),
        latest=("published_date", "max"),
    )
    per_path = per_path.reset_index()
    more = " and " + (per_path["n"] - 1).astype("string") + " more to " + per_path["latest"].dt.strftime("%Y-%m-%d")
    text = (
        per_path["network_path"]
        + " -[vendor of]-> evidence "
        + per_path["first"]
        + " ("
        + per_path["first_date"].dt.strftime("%Y-%m-%d")
        + ")"
        + more.where(per_path["n"] > 1, "")
    )
    return pd.DataFrame(
        {
            "evidence_ids": evidence.agg("; ".join),
            "n_links": evidence.size().astype("Int64"),
            "path": text.groupby(per_path["group"], sort=False).agg("; ".join),
        }
    ).astype({"evidence_ids": "category", "path": "category"})


def exporter_links(licence_parties: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Per licence line, the misuse its parties were linked to on its decision date: an as-of join.

    ``licence_parties`` has one row per (licence_id, line_no, entity_id, decision_date); ``links`` comes
    from misuse_links. A link counts when link_from <= decision_date < link_until. Returns (licence_id,
    line_no, evidence_ids, path, n_links) for the lines with at least one link; evidence_ids '; '-separated,
    oldest first, n_links how many. A line with several parties gets the links of all of them.

    Links change only on their own link_from and link_until days, so each (entity, decision day) is read as
    of the last such day before it (merge_asof): the link text is made once per entity and period, and a
    million lines cost a few merges on integer keys, with categorical text columns.
    """
    day, line = ["entity_id", "decision_date"], ["licence_id", "line_no"]
    parties = licence_parties[[*line, *day]].dropna(subset=day)
    parties = parties.astype({"entity_id": "string", "decision_date": "datetime64[ms]"})
    changes = pd.concat(
        [links[["entity_id", c]].set_axis(["entity_id", "as_of"], axis=1) for c in ("link_from", "link_until")]
    )
    changes = changes.dropna().drop_duplicates().astype({"entity_id": "string", "as_of": "datetime64[ms]"})
    changes = changes.sort_values("as_of")
    asked = parties[day].drop_duplicates().sort_values("decision_date")
    asked = pd.merge_asof(asked, changes, left_on="decision_date", right_on="as_of", by="entity_id")
    asked = asked.dropna(subset=["as_of"])  # before an entity's first link_from: no link
    segments = asked[["entity_id", "as_of"]].drop_duplicates(ignore_index=True).rename_axis("group").reset_index()
    lines = parties.merge(asked.merge(segments, on=["entity_id", "as_of"])[[*day, "group"]], on=day)
    several = lines.duplicated(line, keep=False)  # a line with more than one party: its group is their union
    combos = lines[several].groupby(line)["group"].agg(lambda groups: tuple(sorted(set(groups))))
    distinct = pd.Index(combos.unique())
    combo_members = (
        pd.Series(list(distinct), index=len(segments) + pd.RangeIndex(len(distinct)), name="member")
        .explode()
        .rename_axis("group")
        .reset_index()
        .merge(segments.rename(columns={"group": "member"}), on="member")
    )
    members = pd.concat([segments, combo_members.drop(columns="member")], ignore_index=True)
    line_groups = pd.concat(
        [
            lines.loc[~several, [*line, "group"]],
            combos.index.to_frame(index=False).assign(group=len(segments) + distinct.get_indexer(combos)),
        ],
        ignore_index=True,
    )
    out = line_groups.merge(_link_summaries(members, links), left_on="group", right_index=True)
    return out[[*line, "evidence_ids", "path", "n_links"]].sort_values(line, ignore_index=True)
