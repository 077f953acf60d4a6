"""The curated vendor network beyond NSO: every row sourced, dated and rated; customers kept apart from abuse;
no part of a victim's name anywhere in the curated files; the network links successors to their misuse."""

import csv
import re
import shutil
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from exportrisk.config import CURATED_DIR
from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.ingest.sources import curated, pegasus_victims
from exportrisk.schema import CONFIDENCE_TYPES
from exportrisk.scoring import network
from tests.privacy import named

CURATED = CURATED_DIR
DATED = {curated.ENTITIES: "published_date", curated.RELATIONS: "published_date", curated.EVIDENCE: "published_date"}


def rows(name: str) -> list[dict[str, str]]:
    with (CURATED / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory) -> CleanResult:
    root = tmp_path_factory.mktemp("curated")
    shutil.copytree(CURATED, root / "data" / "raw" / curated.NAME)
    return clean(root / "data" / "raw", root / "data" / "processed")


@pytest.mark.parametrize("name", list(DATED))
def test_every_network_row_has_a_url_a_publication_date_and_a_confidence(name):
    for i, row in enumerate(rows(name), start=2):
        assert all(re.fullmatch(r"https?://[^\s;]+", u) for u in row["source_urls"].split("; ")), (name, i)
        assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", row[DATED[name]]), (name, i)
        assert row["confidence"] in CONFIDENCE_TYPES, (name, i)


def test_nothing_curated_names_a_victim(shared_datasets: Path):
    with (shared_datasets / pegasus_victims.NAME / "data-pegasus-victims.csv").open(encoding="utf-8") as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    assert named("https://example.org/a-" + names[0].split()[-1].lower(), names)  # the search does find one
    for path in sorted(CURATED.iterdir()):
        leaks = named(path.read_text(encoding="utf-8"), names)
        assert not leaks, f"{path.name} has part of the name of victim row(s) {[i + 2 for i in leaks]}"


def test_at_least_ten_vendors_besides_nso_each_its_own_network(cleaned):
    """Vendors with evidence, counted once per connected group of the curated relations (a rebrand is one vendor)."""
    graph = nx.Graph(network.build_graph(cleaned.tables["entities"], cleaned.tables["relations"]))
    vendors = set(cleaned.tables["evidence"]["vendor_entity_id"].dropna())
    groups = {frozenset(c) for c in nx.connected_components(graph) if c & vendors}
    others = [g for g in groups if "nso-group" not in g]
    assert len(others) >= 10
    named_groups = {v: g for g in others for v in g}
    for vendor in ("gamma-group", "hacking-team", "intellexa", "candiru", "quadream", "paragon-solutions", "dsirf"):
        assert vendor in named_groups, vendor
    for vendor in ("rcs-lab", "variston", "trovicor", "area-spa", "amesys"):
        assert vendor in named_groups, vendor
    assert {"hacking-team", "memento-labs", "tablem-limited"} <= named_groups["hacking-team"]
    assert {"cytrox-ad", "wispear", "passitora", "nexa-technologies", "amesys"} <= named_groups["intellexa"]


def test_customers_are_kept_apart_from_abuse(cleaned):
    ev = cleaned.tables["evidence"]
    customers = ev[ev["country_role"].eq("customer")]
    assert set(customers["kind"]) == {"vendor_customer_report"}
    assert set(customers["strength"]) == {"customer_relation_only"}
    assert set(ev.loc[ev["kind"].eq("vendor_customer_report"), "country_role"]) == {"customer"}
    only_customers = set(customers["evidence_id"]) - set(ev.loc[~ev["country_role"].eq("customer"), "evidence_id"])
    assert "curated:hacking-team-leak-2015" in only_customers
    links = network.misuse_links(cleaned.tables["entities"], cleaned.tables["relations"], ev)
    assert not set(links["evidence_id"]) & only_customers  # a customer report is no misuse the network passes on


def test_hosting_is_not_operating(cleaned):
    """Server locations are not recorded as states: You Only Click Twice names Ethiopia only, Sweet QuaDreams none."""
    ev = cleaned.tables["evidence"].set_index("evidence_id")
    assert ev.loc[["curated:citizenlab-2013-you-only-click-twice"], "country_code"].tolist() == ["ETH"]
    quadream = ev.loc[["curated:citizenlab-2023-sweet-quadreams"]]
    assert quadream["country_role"].tolist() == ["operator_unknown"] and quadream["country_code"].isna().all()


def test_successors_inherit_misuse_only_from_the_day_the_link_holds(cleaned):
    links = network.misuse_links(cleaned.tables["entities"], cleaned.tables["relations"], cleaned.tables["evidence"])

    def linked(entity: str, day: str) -> set[str]:
        t = pd.Timestamp(day)
        found = links[(links["entity_id"] == entity) & (links["link_from"] <= t)]
        return set(found.loc[found["link_until"].isna() | (t < found["link_until"]), "evidence_id"])

    # Memento Labs is Hacking Team renamed (2019): Hacking Team's findings reach it from 2019 on
    assert "curated:citizenlab-2014-mapping-hacking-team" in linked("memento-labs", "2019-06-01")
    assert not linked("memento-labs", "2018-06-01")
    # Perusa bought Trovicor on 2009-03-31: the 2011 Bahrain finding reaches it, and NSN only while it held Trovicor
    assert "curated:bloomberg-2011-bahrain-monitoring" in linked("perusa-partners-fund", "2012-01-01")
    assert not linked("nokia-siemens-networks", "2008-01-01")
    # WiSpear owned Cytrox from 2018: Citizen Lab's Predator finding of 2021-12-16 reaches it the day after
    assert "curated:citizenlab-2021-pegasus-vs-predator" not in linked("wispear", "2021-12-16")
    assert "curated:citizenlab-2021-pegasus-vs-predator" in linked("wispear", "2021-12-17")
