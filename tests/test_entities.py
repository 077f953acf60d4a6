"""The curated NSO network: entities matched by their reported names and aliases (never by similarity), and
dated relations between them, from the real curated files."""

import csv
import shutil

import pandas as pd
import pytest

from exportrisk.config import CURATED_DIR
from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.ingest.sources import curated
from exportrisk.reference.entities import legal_form, match_entities, match_entity, normalise_entity_name

CURATED = CURATED_DIR


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> CleanResult:
    """The curated files alone (no victim database), cleaned once for the session."""
    root = tmp_path_factory.mktemp("network")
    shutil.copytree(CURATED, root / "data" / "raw" / curated.NAME)
    return clean(root / "data" / "raw", root / "data" / "processed")


@pytest.fixture(scope="session")
def entities(network: CleanResult) -> pd.DataFrame:
    return network.tables["entities"]


@pytest.fixture(scope="session")
def relations(network: CleanResult) -> pd.DataFrame:
    return network.tables["relations"].set_index(["subject_entity_id", "relation_kind", "object_entity_id"])


def test_names_fold_legal_form_punctuation_diacritics_case_and_word_order():
    assert normalise_entity_name("NSO Group Technologies Ltd") == "group nso technologies"
    assert normalise_entity_name("N.S.O. Group") == normalise_entity_name("nso  GROUP") == "group nso"
    assert normalise_entity_name("Q Cyber Technologies S.à r.l.") == normalise_entity_name("Technologies, Q-Cyber")
    assert [legal_form(n) for n in ("X S.à r.l.", "X S.a r.l.", "X SARL", "X Limited", "X Inc.", "X GmbH", "X")] == [
        "sarl",
        "sarl",
        "sarl",
        "ltd",
        "inc",
        "gmbh",
        None,
    ]
    assert normalise_entity_name("Ltd") == "ltd"  # a name that is only a legal form keeps it


@pytest.mark.parametrize(
    ("name", "entity_id"),
    [
        ("NSO Group Technologies Ltd", "nso-group"),
        ("N.S.O. Group", "nso-group"),
        ("NSO GROUP TECHNOLOGIES LIMITED", "nso-group"),
        ("Q Cyber Technologies S.à r.l.", "q-cyber-technologies-luxembourg"),
        ("Q Cyber Technologies Ltd", "q-cyber-technologies-israel"),
        ("Novalpina Capital Partners S.à r.l.", "novalpina-capital-partners"),
        ("Novalpina Capital LLP", "novalpina-capital"),
        ("Circles", "circles-bulgaria"),
        ("Danida", "danida"),
        ("Francisco Partners", "francisco-partners"),
    ],
)
def test_reported_spellings_match_their_entity(entities, name, entity_id):
    assert match_entity(name, entities) == entity_id


@pytest.mark.parametrize(
    "name",
    [
        "NSA Group Technologies Ltd",  # one letter off: a near miss is no match
        "NSO Group Holdings",
        "Q Cyber Technologies",  # without its legal form it could be either Q Cyber: not guessed
        "Q Cyber Technologies GmbH",
        "Novalpina",
        "",
    ],
)
def test_near_misses_and_ambiguous_names_match_nothing(entities, name):
    assert match_entity(name, entities) is None


def test_every_name_and_alias_finds_its_own_entity_and_no_other(entities):
    names = entities[["entity_id", "name"]].rename(columns={"name": "text"})
    aliases = entities.assign(text=entities["aliases"]).explode("text").dropna(subset=["text"])
    every = pd.concat([names, aliases[["entity_id", "text"]]], ignore_index=True)
    assert len(every) > len(entities)
    assert (match_entities(every["text"], entities) == every["entity_id"]).all()


def test_matching_many_names_at_once_keeps_order_repeats_and_gaps(entities):
    names = pd.Series(["N.S.O. Group", None, "Danida", "NSA Group", "N.S.O. Group"], index=[10, 11, 12, 13, 14])
    found = match_entities(names, entities)
    assert found.index.tolist() == [10, 11, 12, 13, 14]
    assert found.tolist() == ["nso-group", pd.NA, "danida", pd.NA, "nso-group"]


def test_curated_entities_are_the_network_in_the_fact_sheet(entities):
    by_id = entities.set_index("entity_id")
    assert by_id.loc[["nso-group", "q-cyber-technologies-israel"], "country_code"].tolist() == ["ISR", "ISR"]
    luxembourg = by_id.index[by_id["country_code"] == "LUX"]
    assert len(luxembourg) == 9  # the nine entities Luxembourg's foreign ministry named
    assert by_id.loc["circles-bulgaria", "country_code"] == "BGR"
    assert by_id.loc["westbridge-technologies", "country_code"] == "USA"
    assert set(by_id.loc[["francisco-partners", "novalpina-capital", "berkeley-research-group"], "entity_type"]) == {
        "investor"
    }
    assert (by_id.loc["nso-group", "founded_date"], by_id.loc["nso-group", "founded_date_precision"]) == (
        pd.Timestamp("2010-01-01"),
        "year",
    )


def test_relations_have_kinds_periods_and_both_ends_known(relations, entities):
    ids = set(entities["entity_id"])
    assert {s for s, _, _ in relations.index} | {o for _, _, o in relations.index} <= ids
    assert ("q-cyber-technologies-israel", "parent_of", "nso-group") in relations.index
    assert ("osy-technologies", "parent_of", "q-cyber-technologies-luxembourg") in relations.index
    assert ("westbridge-technologies", "sales_arm_of", "nso-group") in relations.index
    assert ("danida", "renamed_to", "circles-bulgaria") in relations.index
    merged = relations.loc[("circles-bulgaria", "merged_with", "nso-group")]
    assert (merged["start_date"], merged["start_date_precision"]) == (pd.Timestamp("2014-01-01"), "year")
    owners = relations.xs("owner_of", level="relation_kind").xs("nso-group", level="object_entity_id")
    assert owners.index.tolist() == ["francisco-partners", "novalpina-capital", "berkeley-research-group"]
    # control passes from one owner to the next: each ownership ends when the next begins
    assert owners.loc["francisco-partners", "end_date"] == owners.loc["novalpina-capital", "start_date"]
    assert owners.loc["francisco-partners", "end_date"] == pd.Timestamp("2019-02-14")
    assert owners.loc["novalpina-capital", ["end_date", "end_date_precision"]].tolist() == [
        pd.Timestamp("2021-01-01"),
        "year",
    ]
    assert pd.isna(owners.loc["berkeley-research-group", "end_date"])
    to_nso = relations.xs("nso-group", level="object_entity_id")
    assert (to_nso.index.get_level_values("relation_kind") == "affiliate_of").sum() == 9


def test_curated_network_reconciles_and_reports_the_missing_victim_database(network):
    recon = network.reconciliation.set_index("source_file")
    for name in (curated.ENTITIES, curated.RELATIONS, curated.EVIDENCE):
        assert recon.loc[f"{curated.NAME}/{name}", "reconciled"]
        assert recon.loc[f"{curated.NAME}/{name}", "rejected_rows"] == 0
    assert "pegasus-victims" in network.skipped
    assert network.tables["evidence"]["source"].eq("curated").all()


def test_relation_errors_become_rejects_with_reasons(tmp_path):
    folder = tmp_path / "data" / "raw" / curated.NAME
    folder.mkdir(parents=True)
    shutil.copy(CURATED / curated.ENTITIES, folder / curated.ENTITIES)
    with (CURATED / curated.RELATIONS).open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    url = "https://example.org/report"
    rows = [
        ["nso-group", "owner_of", "no-such-entity", "", "", "", url],
        ["nso-group", "acquired", "danida", "", "", "", url],
        ["danida", "renamed_to", "danida", "", "", "", url],
        ["novalpina-capital", "owner_of", "nso-group", "2019-02-14", "2018", "", url],
        ["novalpina-capital", "owner_of", "nso-group", "2019-02-31", "", "", url],
        ["francisco-partners", "owner_of", "nso-group", "2019-03", "2019", "", ""],
        ["francisco-partners", "owner_of", "nso-group", "2019-03", "2019", "", url],
        ["francisco-partners", "owner_of", "nso-group", "2014", "", "", url],
    ]
    columns = ["subject_entity_id", "relation_kind", "object_entity_id", "start_date", "end_date", "note"]
    rows = [
        dict(zip([*columns, "source_urls"], row, strict=True), published_date="2021", confidence="reported")
        for row in rows
    ]
    rows = [[row[c] for c in header] for row in rows]
    with (folder / curated.RELATIONS).open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])
    result = clean(tmp_path / "data" / "raw", tmp_path / "data" / "processed")
    rejects = result.rejects[result.rejects["table"] == "relations"].set_index("source_row")
    assert rejects["reason_code"].to_dict() == {
        2: "unknown_entity",
        3: "unknown_category",
        4: "inconsistent_values",
        5: "inconsistent_values",
        6: "unparseable_date",
        7: "missing_value",
        9: "duplicate_row",
    }
    assert "'no-such-entity'" in rejects.loc[2, "message"]
    kept = result.tables["relations"]
    assert kept["source_row"].tolist() == [8]  # 2019-03 to 2019 is consistent: the year holds the month
    assert result.reconciliation.set_index("source_file").loc["curated/relations.csv", "reconciled"]
