"""What a screening memo says about one application, as of its date: pure functions over the processed tables.

Everything is point in time: evidence counts from the day after it was published (as in scoring), relations
as they stood that day (exportrisk.scoring.network). Victim entries of the Pegasus database are counted,
never listed one by one: a memo shows no victim id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import pandas as pd

from exportrisk.knowledge.evidence import evidence_as_of, period_end
from exportrisk.reference import countries
from exportrisk.scoring import network
from exportrisk.scoring.score import ScoringConfig, bands_of

DAY = pd.Timedelta(days=1)
VICTIM_SOURCE = "pegasus-victims"
EVIDENCE_COLUMNS = ["published_date", "kind", "strength", "country_role", "vendor_name", "title", "publisher"]
REFUSED = ("refused", "revoked")


@dataclass
class Tables:
    """The processed tables a screening reads, and what is computed from them once for many applications."""

    licences: pd.DataFrame
    indicators: pd.DataFrame
    evidence: pd.DataFrame
    entities: pd.DataFrame
    relations: pd.DataFrame
    graph: nx.MultiDiGraph = field(init=False)
    links: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.graph = network.build_graph(self.entities, self.relations)
        self.links = network.misuse_links(self.entities, self.relations, self.evidence)

    def as_scoring(self) -> dict[str, pd.DataFrame]:
        """The tables as exportrisk.scoring.score.score_against takes them."""
        return {
            "licences": self.licences,
            "indicators": self.indicators,
            "evidence": self.evidence,
            "entities": self.entities,
            "relations": self.relations,
        }


def public_evidence(evidence: pd.DataFrame, day: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evidence public before ``day``, as (listed lines, victim-database summary): curated and other sourced
    findings one per line, oldest first; victim entries as a count per kind, first and last date, URLs."""
    known = evidence_as_of(evidence, day).sort_values(["published_date", "evidence_id", "line_no"])
    victims = known["source"].eq(VICTIM_SOURCE)
    listed = known.loc[~victims, ["evidence_id", *EVIDENCE_COLUMNS, "confidence", "note", "source_urls"]]
    summary = (
        known[victims]
        .groupby("kind", observed=True)
        .agg(
            entries=("evidence_id", "nunique"),
            first=("published_date", "min"),
            last=("published_date", "max"),
            urls=("source_urls", lambda u: sorted(set(u.explode().dropna()))),
        )
        .reset_index()
    )
    return listed.reset_index(drop=True), summary


def destination_evidence(evidence: pd.DataFrame, country: str, day: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evidence naming the destination state (any role), public before ``day``."""
    return public_evidence(evidence[evidence["country_code"].eq(country)], day)


def _relation_rows(tables: Tables, members: set[str], day: pd.Timestamp) -> pd.DataFrame:
    """The relations in force on ``day`` between members of one network, with dates, sources and when reported."""
    rel = tables.relations
    inside = rel["subject_entity_id"].isin(members) & rel["object_entity_id"].isin(members)
    until = period_end(rel["end_date"], rel["end_date_precision"])
    started = rel["start_date"].isna() | (rel["start_date"] <= day)
    not_ended = until.isna() | (day < until)
    found = rel[inside & started & not_ended].copy()
    reported = period_end(found["published_date"], found["published_date_precision"])
    found["reported_after"] = reported.notna() & (reported >= day)
    names = dict(zip(tables.entities["entity_id"], tables.entities["name"], strict=True))
    found["subject"] = found["subject_entity_id"].map(names)
    found["object"] = found["object_entity_id"].map(names)
    records = found[["relation_kind", "start_date", "start_date_precision", "end_date", "end_date_precision"]]
    records = records.astype(object).where(records.notna(), None).to_dict("records")
    found["label"] = [network.relation_label(r) for r in records]
    columns = ["subject", "label", "object", "published_date", "published_date_precision", "reported_after"]
    return found[[*columns, "confidence", "note", "source_urls"]].reset_index(drop=True)


def exporter_network(tables: Tables, entity_id: str, day: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The exporter's network on ``day``: affiliates with paths, the relations that make it, and the documented
    misuse reached through it (one row per evidence, the shortest path; victim entries counted)."""
    affiliates = network.affiliates_at(tables.graph, entity_id, day)
    names = dict(tables.graph.nodes(data="name"))
    affiliates.insert(1, "name", affiliates["entity_id"].map(names).astype("string"))
    members = {entity_id, *affiliates["entity_id"]}
    links = tables.links[tables.links["entity_id"].eq(entity_id)]
    links = links[(links["link_from"] <= day) & (links["link_until"].isna() | (day < links["link_until"]))]
    victims = links["evidence_id"].str.startswith(VICTIM_SOURCE + ":")
    misuse = links[~victims].sort_values(["published_date", "hops"]).drop_duplicates("evidence_id")
    return {
        "affiliates": affiliates,
        "relations": _relation_rows(tables, members, day),
        "misuse": misuse[["evidence_id", "published_date", "hops", "network_path"]].reset_index(drop=True),
        "victim_entries": pd.DataFrame(
            {"entries": [int(victims.sum())], "via": [", ".join(sorted(set(links.loc[victims, "linked_entity_id"])))]}
        ),
    }


def vendor_groups(tables: Tables, day: pd.Timestamp) -> dict[str, frozenset[str]]:
    """Entity -> the entities connected to it on ``day`` (a vendor and its family count once)."""
    view = network.graph_at(tables.graph, day)
    return {n: frozenset(c) for c in nx.connected_components(view) for n in c}


def similar_exporters(
    tables: Tables, entity_id: str | None, country: str, day: pd.Timestamp, top: int = 5
) -> pd.DataFrame:
    """Vendors like the exporter on ``day``: sharing states (as operators or customers), products or owners.

    Without a curated exporter, the vendors whose tools the destination is documented as using or buying.
    Returns (vendor, shared_states, shared_products, shared_owners, n_shared), most shared first.
    """
    known = evidence_as_of(tables.evidence, day)
    known = known[known["vendor_entity_id"].notna() & known["country_role"].isin(["operator", "customer"])]
    groups = vendor_groups(tables, day)
    group_of = known["vendor_entity_id"].map(lambda v: min(groups.get(v, {v})))
    known = known.assign(group=group_of)
    names = dict(zip(tables.entities["entity_id"], tables.entities["name"], strict=True))
    owners = tables.relations[tables.relations["relation_kind"].isin(["owner_of", "parent_of"])]
    owner_of = owners.groupby("object_entity_id")["subject_entity_id"].agg(set).to_dict()
    if entity_id is not None:
        mine = groups.get(entity_id, frozenset({entity_id}))
        home = min(mine)
        states = set(known.loc[known["group"].eq(home), "country_code"].dropna())
        products = set(known.loc[known["group"].eq(home), "product"].dropna())
        my_owners = set().union(*(owner_of.get(m, set()) for m in mine)) - mine
    else:
        home, states, products, my_owners = None, {country}, set(), set()
    rows = []
    for group, part in known[known["group"].ne(home)].groupby("group"):
        shared_states = sorted(states & set(part["country_code"].dropna()))
        shared_products = sorted(products & set(part["product"].dropna()))
        members = groups.get(group, frozenset({group}))
        shared_owners = sorted(
            names.get(o, o) for o in my_owners & set().union(*(owner_of.get(m, set()) for m in members))
        )
        n = len(shared_states) + len(shared_products) + len(shared_owners)
        if n:
            vendors = sorted({names.get(v, v) for v in part["vendor_entity_id"]})
            rows.append((", ".join(vendors), shared_states, shared_products, shared_owners, n))
    columns = ["vendor", "shared_states", "shared_products", "shared_owners", "n_shared"]
    found = pd.DataFrame(rows, columns=columns)
    return found.sort_values(["n_shared", "vendor"], ascending=[False, True]).head(top).reset_index(drop=True)


def precedent(licences: pd.DataFrame, country: str, codes: list[str], day: pd.Timestamp) -> pd.DataFrame:
    """Refused or revoked licences public before ``day`` to the same destination for the same control entry
    (the code's first five characters, e.g. 5A001), from the licence data the project holds."""
    entries = {c[:5] for c in codes if c}
    done = licences[
        licences["outcome"].isin(REFUSED)
        & licences["destination_country_code"].eq(country)
        & (licences["decision_date"] < day)
        & licences["control_code"].fillna("").str[:5].isin(entries)
    ]
    columns = ["licensing_country_code", "licence_id", "decision_date", "outcome", "control_code", "refusal_criteria"]
    return done.sort_values(["decision_date", "licence_id"])[[*columns, "source_url"]].reset_index(drop=True)


def refusal_publishers(licences: pd.DataFrame) -> list[str]:
    """Licensing states whose published licence data in the project include refusals."""
    return sorted(set(licences.loc[licences["outcome"].isin(REFUSED), "licensing_country_code"].dropna()))


def next_evidence(tables: Tables, country: str, entity_id: str | None, day: pd.Timestamp) -> pd.Series | None:
    """The first evidence published on or after ``day`` about the destination or the exporter's network, if any:
    the day after it is when the screening should be redone."""
    ev = tables.evidence
    about = ev["country_code"].eq(country)
    if entity_id is not None:
        group = vendor_groups(tables, day).get(entity_id, frozenset({entity_id}))
        about |= ev["vendor_entity_id"].isin(group)
    later = ev[about & (ev["published_date"] >= day)].sort_values(["published_date", "evidence_id"])
    return None if later.empty else later.iloc[0]


def band_of(score: float, cfg: ScoringConfig) -> str:
    return str(bands_of(pd.Series([score]).to_numpy(dtype=float), cfg)[0])


def country_label(code: str) -> str:
    return f"{countries.country_name(code)} ({code})"
