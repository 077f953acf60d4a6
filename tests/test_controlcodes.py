"""Control codes: normalised to dotted form, split when a cell holds several, classified by the taxonomy."""

import pandas as pd
import pytest

from exportrisk.reference.controlcodes import classify, classify_code, normalise, split_codes, taxonomy


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5A001f2", "5A001.f.2"),
        ("ML5b      ", "ML5.b"),
        ("5A001.j", "5A001.j"),
        ("6A002a2a", "6A002.a.2.a"),
        ("1C350-16", "1C350.16"),
        ("4E001c", "4E001.c"),
        ("PL5017", "PL5017"),
        ("End Use", "END-USE"),
        ("ml10", "ML10"),
        ("ML10a-f", "ML10"),
        ("Diverse", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("ML6/10", ["ML6", "ML10"]),
        ("ML10a/b", ["ML10A", "ML10B"]),
        ("ML2.ML6", ["ML2", "ML6"]),
        ("5A001f; 5A001j", ["5A001F", "5A001J"]),
        ("ML4", ["ML4"]),
        ("ML5b,15b", ["ML5B", "ML15B"]),
        ("ML10a,18a,22", ["ML10A", "ML18A", "ML22"]),
    ],
)
def test_split_codes(raw, parts):
    assert split_codes(raw) == parts


@pytest.mark.parametrize(
    ("code", "rule", "surveillance"),
    [
        ("5A001.f.2", "5A001.f", "interception"),
        ("5A001.j", "5A001.j", "ip_network_surveillance"),
        ("5A001", "5A001", "telecom_unspecified"),
        ("5A001.b", "5A001", "telecom_unspecified"),
        ("4A005", "4A005", "intrusion_software"),
        ("4E001.c", "4E001.c", "intrusion_software"),
        ("4E001.a", "4*", None),
        ("5A004.b.1", "5A004.b", "forensics"),
        ("5A002.a.1", "5A002", "cryptography"),
        ("ML10", "ML*", None),
    ],
)
def test_most_specific_rule_wins(code, rule, surveillance):
    matched = classify_code(code)
    assert (matched.rule, matched.surveillance_type) == (rule, surveillance)


def test_taxonomy_rules_are_unique_and_categories_valid():
    rules = [r.rule for r in taxonomy()]
    assert len(rules) == len(set(rules))
    assert {r.goods_category for r in taxonomy()} <= {"military", "dual_use"}


def test_classify_keeps_index_and_marks_unknown_codes():
    codes = pd.Series(["5A001f2", None, "Diverse"], index=[7, 8, 9], dtype="string")
    out = classify(codes)
    assert list(out.index) == [7, 8, 9]
    assert out["goods_category"].tolist() == ["dual_use", "unknown", "unknown"]
    assert out.loc[7, "control_code"] == "5A001.f.2"
