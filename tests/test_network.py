"""The exporter network on the real curated tables (and the victim database): party matching with its
confidence and review list, point-in-time affiliates, and links to misuse published before a decision."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from exportrisk.config import CURATED_DIR
from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.ingest.sources import curated, pegasus_victims
from exportrisk.knowledge.evidence import evidence_as_of
from exportrisk.scoring.network import (
    MISUSE_KINDS,
    affiliates_at,
    build_graph,
    exporter_links,
    match_parties,
    matched_exporters,
    misuse_links,
    near_misses,
    reach_periods,
)

HIDE_AND_SEEK = "curated:citizenlab-2018-hide-and-seek"
MILLION_DOLLAR = "curated:citizenlab-2016-million-dollar-dissident"
WHATSAPP = "curated:whatsapp-complaint-2019"
CIRCLES_TO_Q_CYBER = (
    "Circles Bulgaria -[merged_with 2014]-> NSO Group Technologies Ltd <-[parent_of undated]- Q Cyber Technologies Ltd"
)


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> CleanResult:
    """The curated files and the Pegasus victim database, cleaned once for the session."""
    raw = tmp_path_factory.mktemp("network") / "data" / "raw"
    shutil.copytree(CURATED_DIR, raw / curated.NAME)
    (raw / pegasus_victims.NAME).symlink_to(shared_datasets / pegasus_victims.NAME)
    return clean(raw, raw.parent / "processed")


@pytest.fixture(scope="session")
def tables(project: CleanResult) -> dict[str, pd.DataFrame]:
    return project.tables


@pytest.fixture(scope="session")
def graph(tables):
    return build_graph(tables["entities"], tables["relations"])


@pytest.fixture(scope="session")
def links(tables) -> pd.DataFrame:
    return misuse_links(tables["entities"], tables["relations"], tables["evidence"])


def licence_rows(tables, rows: list[dict]) -> pd.DataFrame:
    """Made-up licence lines: the real curated Circles Bulgaria licence with the given fields changed."""
    real = tables["licences"].set_index("licence_id").loc[["curated:bg-circles-2021"]].reset_index()
    made = [real.assign(**{k: pd.Timestamp(v) if k == "decision_date" else v for k, v in row.items()}) for row in rows]
    return pd.concat(made, ignore_index=True)


def links_of(tables, links, licences: pd.DataFrame) -> pd.DataFrame:
    """exporter_links for licence lines, through match_parties, indexed by licence_id."""
    parties = match_parties(licences, tables["entities"]).dropna(subset=["entity_id"])
    parties = parties.merge(licences[["licence_id", "line_no", "decision_date"]], on=["licence_id", "line_no"])
    return exporter_links(parties, links).set_index("licence_id")


def evidence_ids(found: pd.DataFrame, licence_id: str) -> list[str]:
    return str(found.loc[licence_id, "evidence_ids"]).split("; ") if licence_id in found.index else []


def test_graph_has_the_entities_and_the_dated_relations(graph, tables):
    assert graph.number_of_nodes() == len(tables["entities"]) and graph.number_of_edges() == len(tables["relations"])
    assert graph.nodes["circles-bulgaria"] == {
        "name": "Circles Bulgaria",
        "entity_type": "company",
        "country_code": "BGR",
    }
    merged = graph.edges["circles-bulgaria", "nso-group", "merged_with"]
    assert (merged["start_date"], merged["start_date_precision"], merged["end_date"]) == (
        pd.Timestamp("2014-01-01"),
        "year",
        None,
    )
    assert any("vice.com" in url for url in merged["source_urls"])
    # a partial end is read as the last day of its period; an end day is the first day without the relation
    assert graph.edges["novalpina-capital", "nso-group", "owner_of"]["in_force_until"] == pd.Timestamp("2021-12-31")
    assert graph.edges["francisco-partners", "nso-group", "owner_of"]["in_force_until"] == pd.Timestamp("2019-02-14")


def test_reported_spellings_match_with_their_confidence_and_near_misses_go_to_review(tables):
    names = {
        "NSO Group Technologies Ltd": ("nso-group", "exact", 1.0),
        "N.S.O. Group": ("nso-group", "normalised", 0.95),
        "Q Cyber Technologies S.à r.l.": ("q-cyber-technologies-luxembourg", "exact", 1.0),
        "Technologies, Q-Cyber SARL": ("q-cyber-technologies-luxembourg", "token_set", 0.85),
        "NSO Group Technologies GmbH": ("nso-group", "legal_form_differs", 0.7),
    }
    misses = ["NSA Group Technologies Ltd", "Q Cyber Technologies", "Acme Widgets"]
    licences = licence_rows(
        tables,
        [{"licence_id": f"made-up:{i}", "exporter_name": n} for i, n in enumerate([*names, *misses])]
        + [{"licence_id": "made-up:end-user", "exporter_name": None, "end_user_name": "  N.S.O. Group "}],
    )
    matched = match_parties(licences, tables["entities"])
    assert len(matched) == len(licences)  # one row per named party
    exporters = matched[matched["party_role"] == "exporter"].set_index("name_raw")
    for name, expected in names.items():
        assert tuple(exporters.loc[name, ["entity_id", "match_type", "confidence"]]) == expected, name
    assert exporters.loc[misses, "entity_id"].isna().all()
    assert exporters.loc[misses, "match_type"].isna().all()
    end_user = matched[matched["party_role"] == "end_user"]
    assert end_user[["licence_id", "name_raw", "entity_id"]].values.tolist() == [
        ["made-up:end-user", "N.S.O. Group", "nso-group"]
    ]
    # scoring's shortcut: the lines whose exporter matches, built alone, are match_parties' matched exporters
    shortcut = matched_exporters(licences, tables["entities"])
    assert shortcut[["licence_id", "line_no", "entity_id"]].values.tolist() == (
        exporters.dropna(subset=["entity_id"])[["licence_id", "line_no", "entity_id"]].values.tolist()
    )

    review = near_misses(licences, tables["entities"])
    assert set(review["name_raw"]) == {"NSA Group Technologies Ltd", "Q Cyber Technologies"}
    nsa = review[review["name_raw"] == "NSA Group Technologies Ltd"].iloc[0]
    assert (nsa["entity_id"], nsa["reason"], nsa["party_roles"], nsa["n_lines"]) == (
        "nso-group",
        "similar_name",
        "exporter",
        1,
    )
    assert nsa["similarity"] > 0.9
    q_cyber = review[review["name_raw"] == "Q Cyber Technologies"]
    assert set(q_cyber["entity_id"]) == {"q-cyber-technologies-israel", "q-cyber-technologies-luxembourg"}
    assert (q_cyber["reason"] == "ambiguous").all()


def test_affiliates_are_those_in_force_on_the_day_in_either_direction(graph):
    before_merger = affiliates_at(graph, "circles-bulgaria", "2013-06-01")
    assert before_merger["entity_id"].tolist() == ["danida"]  # a rename without dates holds always
    assert before_merger["path"].tolist() == ["Circles Bulgaria <-[renamed_to undated]- Danida"]

    in_2018 = affiliates_at(graph, "circles-bulgaria", "2018-10-01").set_index("entity_id")
    assert in_2018.loc["nso-group", "path"] == "Circles Bulgaria -[merged_with 2014]-> NSO Group Technologies Ltd"
    assert in_2018.loc["nso-group", "hops"] == 1
    # the parent of the company Circles merged with, two hops away, through a relation read backwards
    assert in_2018.loc["q-cyber-technologies-israel", "path"] == CIRCLES_TO_Q_CYBER
    assert in_2018.loc["q-cyber-technologies-israel", ["hops", "relation_kinds"]].tolist() == [
        2,
        "merged_with; parent_of",
    ]
    assert "francisco-partners" in in_2018.index and "novalpina-capital" not in in_2018.index

    in_2019 = affiliates_at(graph, "circles-bulgaria", "2019-02-14").set_index("entity_id")
    assert "novalpina-capital" in in_2019.index and "francisco-partners" not in in_2019.index
    assert "circles-bulgaria" not in in_2019.index
    assert affiliates_at(graph, "francisco-partners", "2019-06-01").empty


def test_circles_bulgaria_is_linked_through_nso_to_the_pegasus_findings_public_before_its_licence(tables, links):
    licences = pd.concat(
        [
            tables["licences"],
            licence_rows(
                tables,
                [
                    {"licence_id": "made-up:2016-01-01", "decision_date": "2016-01-01"},
                    {"licence_id": "made-up:2018-09-18", "decision_date": "2018-09-18"},
                    {"licence_id": "made-up:2018-09-19", "decision_date": "2018-09-19"},
                ],
            ),
        ],
        ignore_index=True,
    )
    found = links_of(tables, links, licences)
    real = evidence_ids(found, "curated:bg-circles-2021")  # decided (reported) 2021-07-23
    assert {MILLION_DOLLAR, HIDE_AND_SEEK, WHATSAPP, "curated:pegasus-project-2021"} <= set(real)
    assert "curated:us-entity-list-2021" not in real  # published 2021-11-03, after the decision
    assert "curated:citizenlab-2020-running-in-circles" not in real  # a customer report is not misuse
    assert any(e.startswith("pegasus-victims:") for e in real)
    assert found.loc["curated:bg-circles-2021", "n_links"] == len(real) == len(set(real))
    assert str(found.loc["curated:bg-circles-2021", "path"]).startswith(
        "Circles Bulgaria -[merged_with 2014]-> NSO Group Technologies Ltd -[vendor of]-> evidence "
        f"{MILLION_DOLLAR} (2016-08-24) and "
    )
    assert "made-up:2016-01-01" not in found.index  # before the first finding: no link
    on_the_day = evidence_ids(found, "made-up:2018-09-18")
    assert MILLION_DOLLAR in on_the_day and HIDE_AND_SEEK not in on_the_day
    assert HIDE_AND_SEEK in evidence_ids(found, "made-up:2018-09-19")
    assert WHATSAPP not in evidence_ids(found, "made-up:2018-09-19")

    hide_and_seek = links[(links["entity_id"] == "circles-bulgaria") & (links["evidence_id"] == HIDE_AND_SEEK)]
    assert hide_and_seek["path"].tolist() == [
        "Circles Bulgaria -[merged_with 2014]-> NSO Group Technologies Ltd -[vendor of]-> evidence "
        f"{HIDE_AND_SEEK} (2018-09-18)"
    ]
    assert hide_and_seek["link_from"].tolist() == [pd.Timestamp("2018-09-19")]
    assert hide_and_seek["link_until"].isna().all()


def test_an_ownership_that_ended_links_no_licence_after_its_end(tables, links):
    licences = licence_rows(
        tables,
        [
            {"licence_id": f"made-up:fp-{d}", "exporter_name": "Francisco Partners", "decision_date": d}
            for d in ("2018-10-01", "2019-02-13", "2019-02-14", "2019-06-01")
        ],
    )
    found = links_of(tables, links, licences)
    assert found.index.tolist() == ["made-up:fp-2018-10-01", "made-up:fp-2019-02-13"]
    assert str(found.loc["made-up:fp-2018-10-01", "path"]).startswith(
        "Francisco Partners -[owner_of 2014 to 2019-02-14]-> NSO Group Technologies Ltd -[vendor of]-> "
    )
    owned = links[links["entity_id"] == "francisco-partners"]
    assert (owned["link_until"] == pd.Timestamp("2019-02-14")).all()


def test_a_line_with_several_linked_parties_gets_the_links_of_all(tables, links):
    licences = licence_rows(
        tables,
        [
            {"licence_id": "made-up:both", "decision_date": "2018-10-01", "end_user_name": "Francisco Partners"},
            {"licence_id": "made-up:circles", "decision_date": "2018-10-01"},
        ],
    )
    found = links_of(tables, links, licences)
    assert evidence_ids(found, "made-up:both") == evidence_ids(found, "made-up:circles")  # same vendor, NSO
    assert found.loc["made-up:both", "n_links"] == found.loc["made-up:circles", "n_links"]
    paths = str(found.loc["made-up:both", "path"]).split("; ")
    assert [p.split(" -[")[0] for p in paths] == ["Circles Bulgaria", "Francisco Partners"]


def test_links_agree_with_a_walk_of_the_network_on_each_day(tables, graph, links):
    """The as-of join gives what a per-licence walk would: affiliates in force, evidence public before."""
    evidence = tables["evidence"]
    misuse = evidence[evidence["kind"].isin(MISUSE_KINDS) & evidence["vendor_entity_id"].notna()]
    entities = tables["entities"]["entity_id"].tolist()
    days = pd.date_range("2013-06-01", "2024-01-01", freq="91D").append(
        pd.DatetimeIndex(["2016-08-24", "2016-08-25", "2019-02-14", "2021-12-30", "2021-12-31"])
    )
    parties = pd.DataFrame(
        [(f"{e}@{d.date()}", 1, e, d) for e in entities for d in days],
        columns=["licence_id", "line_no", "entity_id", "decision_date"],
    )
    found = exporter_links(parties, links).set_index("licence_id")
    for entity, day in zip(parties["entity_id"], parties["decision_date"], strict=True):
        linked = {entity, *affiliates_at(graph, entity, day)["entity_id"]}
        public = evidence_as_of(misuse, day)
        expected = set(public.loc[public["vendor_entity_id"].isin(linked), "evidence_id"])
        assert set(evidence_ids(found, f"{entity}@{day.date()}")) == expected, (entity, day)
    assert len(found) > len(parties) / 2  # most of the network is linked to NSO for most of the period


def test_a_shorter_path_takes_over_while_it_holds_and_the_longer_one_returns_after(tables):
    made_up = (
        tables["relations"]
        .iloc[[0]]
        .assign(
            subject_entity_id="circles-bulgaria",
            relation_kind="affiliate_of",
            object_entity_id="q-cyber-technologies-israel",
            start_date=pd.Timestamp("2016-01-01"),
            start_date_precision="year",
            end_date=pd.Timestamp("2017-01-01"),
            end_date_precision="year",
        )
    )
    relations = pd.concat([tables["relations"], made_up], ignore_index=True)
    reach = reach_periods(build_graph(tables["entities"], relations))
    pair = reach[
        (reach["entity_id"] == "circles-bulgaria") & (reach["linked_entity_id"] == "q-cyber-technologies-israel")
    ]
    direct = "Circles Bulgaria -[affiliate_of 2016 to 2017]-> Q Cyber Technologies Ltd"
    assert pair[["path", "hops", "reach_from", "reach_until"]].values.tolist() == [
        [CIRCLES_TO_Q_CYBER, 2, pd.Timestamp("2014-01-01"), pd.Timestamp("2016-01-01")],
        [direct, 1, pd.Timestamp("2016-01-01"), pd.Timestamp("2017-12-31")],
        [CIRCLES_TO_Q_CYBER, 2, pd.Timestamp("2017-12-31"), pd.NaT],
    ]


def test_customer_reports_count_only_when_asked_for(tables, links):
    assert not links["evidence_id"].eq("curated:citizenlab-2020-running-in-circles").any()
    with_customers = misuse_links(
        tables["entities"], tables["relations"], tables["evidence"], kinds=(*MISUSE_KINDS, "vendor_customer_report")
    )
    own = with_customers[with_customers["evidence_id"] == "curated:citizenlab-2020-running-in-circles"]
    circles = own[own["entity_id"] == "circles-bulgaria"]
    assert circles[["linked_entity_id", "hops", "link_from"]].values.tolist() == [
        ["circles-bulgaria", 0, pd.Timestamp("2020-12-02")]
    ]
    assert (links["link_from"] > links["published_date"]).all()  # never public on the day it was published
