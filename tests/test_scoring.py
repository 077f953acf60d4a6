"""Scoring: each component and floor on hand-made frames (expected values worked out by hand), the
no-look-ahead property, and known cases on the real UK, Dutch and curated data."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exportrisk import cli
from exportrisk.errors import InputError
from exportrisk.ingest.files import read_table
from exportrisk.schema import ENTITIES, EVIDENCE, INDICATORS, LICENCES, RELATIONS, SCORE_LINES, SCORES, conform
from exportrisk.scoring import score as scoring
from tests.conftest import cleaned_project, run_cli

SOURCES = ["caat-uk", "nl-licences", "pts", "freedomhouse", "pegasus-victims"]
EX_ANTE = [c for c in SCORE_LINES.columns if c not in ("hindsight_score", "hindsight_band", "reassessment_date")]


def licences(*rows: dict) -> pd.DataFrame:
    """Licence lines with plain defaults: an issued UK export of an interception item to AAA on 2020-06-01."""
    defaults = {
        "licence_id": "t:1",
        "line_no": 1,
        "source": "t",
        "source_file": "t/t.csv",
        "source_row": 2,
        "licensing_country_code": "GBR",
        "licence_kind": "export",
        "decision_date": "2020-06-01",
        "decision_date_format": "ISO",
        "outcome": "issued",
        "destination_raw": "Aland",
        "destination_type": "country",
        "destination_country_code": "AAA",
        "control_code": "5A001.f",
        "goods_category": "dual_use",
        "surveillance_type": "interception",
        "taxonomy_rule": "5A001.f",
        "confidence": "official",
    }
    frame = pd.DataFrame([{**defaults, "source_row": i + 2, **row} for i, row in enumerate(rows)])
    return conform(frame, LICENCES)


def indicator_rows(country: str, year: int, published: str, **values: float) -> list[dict]:
    """One edition of some indicators for a country (codes as keyword arguments, e.g. pts_a=3)."""
    scales = {"pts": (1, 5, True), "fh_total": (0, 100, False), "fh_pr": (1, 7, True), "fh_cl": (1, 7, True)}
    rows = []
    for code, value in values.items():
        low, high, worse = scales["pts" if code.startswith("pts") else code]
        rows.append(
            {
                "country_code": country,
                "indicator_code": code,
                "year": year,
                "edition": str(year + 1),
                "value": value,
                "value_raw": str(value),
                "scale_min": low,
                "scale_max": high,
                "is_higher_worse": worse,
                "published_date": published,
                "published_date_basis": "release_date",
                "source": "t",
            }
        )
    return rows


def indicators(*editions: list[dict]) -> pd.DataFrame:
    return conform(pd.DataFrame([r for rows in editions for r in rows]), INDICATORS)


def evidence(*rows: dict) -> pd.DataFrame:
    """Evidence lines; each row names evidence_id, country_code, country_role, strength, published_date."""
    base = {"line_no": 1, "kind": "published_finding", "published_date_raw": "x", "source_urls": "u"}
    return conform(pd.DataFrame([{**base, **row} for row in rows]), EVIDENCE)


CFG = scoring.load_config()
NO_LINKS = scoring.network_links(licences(), ENTITIES.empty(), RELATIONS.empty(), EVIDENCE.empty())
# AAA as of 2020-06-01: PTS 2018 edition (public 2020-01-01) coded 3, 4 and 2; Freedom House total 30
AAA = indicators(indicator_rows("AAA", 2018, "2020-01-01", pts_a=3, pts_h=4, pts_s=2, fh_total=30))


def plain(values: pd.Series) -> list:
    """Values as a list with None for nulls, to compare with expected lists."""
    return [None if pd.isna(v) else v for v in values]


def score(
    lines: pd.DataFrame,
    ind: pd.DataFrame = AAA,
    ev: pd.DataFrame | None = None,
    links: pd.DataFrame = NO_LINKS,
    cfg: scoring.ScoringConfig = CFG,
) -> pd.DataFrame:
    return scoring.score_lines(lines, ind, EVIDENCE.empty() if ev is None else ev, links, cfg)


# --- D ----------------------------------------------------------------------------------------------------


def test_destination_takes_the_worst_pts_coding_and_freedom_house_total():
    pairs = pd.DataFrame({"country_code": ["AAA"], "date": pd.to_datetime(["2020-06-01"])})
    d = scoring.destination_record(AAA, pairs, CFG).iloc[0]
    # PTS: worst coding 4 -> (4 - 1) / 4 * 100 = 75; FH: 100 - 30 = 70; D = 0.5 * 75 + 0.5 * 70 = 72.5
    assert d["floor_measure"] == 75
    assert d["d_score"] == pytest.approx(72.5)
    assert d["d_best"] == d["d_worst"] == pytest.approx(72.5)
    assert d["d_inputs"] == "fh_total 2018=30; pts_a 2018=3; pts_h 2018=4; pts_s 2018=2"


def test_destination_before_2013_reads_ratings_and_reweights_a_missing_measure():
    old = indicators(indicator_rows("BBB", 2010, "2011-04-01", fh_pr=6, fh_cl=5, fh_total=-1))
    old = old[old["indicator_code"] != "fh_total"]  # before 2013 no total is published
    pairs = pd.DataFrame({"country_code": ["BBB"], "date": pd.to_datetime(["2011-06-01"])})
    d = scoring.destination_record(old, pairs, CFG).iloc[0]
    # FH from ratings: ((6 + 5) / 2 - 1) / 6 * 100 = 75; no PTS: D = 75 over the measure present,
    # best 0.5 * 75 + 0.5 * 0 = 37.5, worst 0.5 * 75 + 0.5 * 100 = 87.5
    assert d["d_score"] == pytest.approx(75)
    assert (d["d_best"], d["d_worst"], d["n_measures"]) == (pytest.approx(37.5), pytest.approx(87.5), 1)
    assert np.isnan(d["floor_measure"])


def test_destination_clips_a_negative_total_and_prefers_the_newest_reading():
    both = indicators(
        indicator_rows("CCC", 2014, "2015-04-01", fh_total=-1, fh_pr=7, fh_cl=6),
        indicator_rows("CCC", 2015, "2016-04-01", fh_pr=1, fh_cl=1),  # ratings newer than any total
    )
    pairs = pd.DataFrame({"country_code": ["CCC", "CCC"], "date": pd.to_datetime(["2016-01-01", "2016-06-01"])})
    d = scoring.destination_record(both, pairs, CFG)
    # 2016-01-01: total 2014 = -1 -> 100 - (-1) = 101, clipped to 100 (the total wins the tie with PR/CL 2014)
    # 2016-06-01: ratings 2015 are newer: ((1 + 1) / 2 - 1) / 6 * 100 = 0
    assert d["d_score"].tolist() == [100, 0]


def test_destination_uses_an_edition_only_after_its_publication_day_and_flags_stale_values():
    ind = indicators(
        indicator_rows("AAA", 2016, "2018-01-01", pts_a=5),
        indicator_rows("DDD", 2018, "2020-01-01", pts_a=1),  # makes 2018 the newest PTS year from 2020
    )
    days = pd.to_datetime(["2018-01-01", "2018-01-02", "2020-01-02"])
    d = scoring.destination_record(ind, pd.DataFrame({"country_code": "AAA", "date": days}), CFG)
    # on its publication day the edition is not yet used; the next day it is (pts 5 -> 100); two years
    # behind the newest it is still used but stale
    assert np.isnan(d["d_score"].iloc[0]) and d["d_score"].iloc[1] == 100 and d["d_score"].iloc[2] == 100
    assert d["is_stale"].tolist() == [False, False, True]
    assert d["d_inputs"].iloc[2] == "pts_a 2016=5*"


# --- E ----------------------------------------------------------------------------------------------------


def test_abuse_weighs_strength_recency_and_role():
    ev = evidence(
        {"evidence_id": "f", "country_code": "AAA", "country_role": "operator", "strength": "forensically_confirmed",
         "published_date": "2016-06-01"},  # exactly 4 years = one half-life before: 1.0 * 0.5
        {"evidence_id": "c", "country_code": "AAA", "country_role": "customer", "strength": "customer_relation_only",
         "published_date": "2016-06-01", "kind": "vendor_customer_report"},  # 0.15 * 0.5 = 0.075
        {"evidence_id": "h", "country_code": "AAA", "country_role": "export_hub", "strength": "official_finding",
         "published_date": "2019-01-01", "kind": "export_hub_finding"},  # a hub says nothing of the buyer
        {"evidence_id": "late", "country_code": "AAA", "country_role": "operator", "strength": "official_finding",
         "published_date": "2020-06-01"},  # published on the day: not before it
        {"evidence_id": "other", "country_code": "BBB", "country_role": "operator", "strength": "official_finding",
         "published_date": "2019-01-01"},
    )  # fmt: skip
    pairs = pd.DataFrame({"country_code": ["AAA"], "date": pd.to_datetime(["2020-06-01"])})
    e = scoring.abuse_record(ev, pairs, CFG).iloc[0]
    # W = 0.5 + 0.075 = 0.575; E = 100 * (1 - exp(-0.575)) = 43.73
    assert e["e_score"] == pytest.approx(43.7295, abs=1e-3)
    # floors: operator lines within 5 years, undecayed strengths: 1.0
    assert e["floor_weight"] == 1.0
    assert e["evidence_ids"] == "c;f"
    later = scoring.abuse_record(ev, pairs, CFG, hindsight=True).iloc[0]
    # hindsight adds 'late' (official 1.0 at age 0) and the hub stays out: W = 1.575
    assert later["e_score"] == pytest.approx(100 * (1 - np.exp(-1.575)))
    assert later["evidence_ids"] == "c;f;late"


# --- U, I, X ----------------------------------------------------------------------------------------------


def test_end_user_types_map_through_aliases_and_unknown_is_a_mid_score_never_zero():
    types = pd.Series([" Intelligence ", "ministry of  interior", "Company", None, "a ministry"], dtype="string")
    u = scoring.end_user_component(types, CFG)
    assert u["u_score"].tolist() == [100, 85, 25, 50, 50]
    assert u["u_known"].tolist() == [True, True, True, False, False]


def test_goods_tiers_follow_code_then_type_then_category_then_keywords():
    rows = licences(
        {"control_code": "ML1.a", "goods_category": "military", "surveillance_type": None, "taxonomy_rule": "ML*"},
        {},  # 5A001.f, interception
        {"control_code": "5A002.a", "surveillance_type": "cryptography", "taxonomy_rule": "5A002"},
        {"control_code": "6A003.b", "surveillance_type": None, "taxonomy_rule": "6*"},
        {"control_code": None, "goods_category": "military", "surveillance_type": None, "taxonomy_rule": None,
         "goods_description": "Kogelgeweren"},
        {"control_code": None, "goods_category": "military", "surveillance_type": None, "taxonomy_rule": None,
         "goods_description": "Delen van F-16"},
        {"control_code": None, "goods_category": "unknown", "surveillance_type": None, "taxonomy_rule": None,
         "goods_description": "surveillance exports (items not stated)"},
        {"control_code": None, "goods_category": "unknown", "surveillance_type": None, "taxonomy_rule": None},
    )  # fmt: skip
    g = scoring.goods_component(rows, CFG)
    assert g["i_score"].tolist() == [85, 90, 30, 20, 85, 50, 70, 50]
    assert g["goods_rule"].tolist() == [
        "code ML1",
        "surveillance_type interception",
        "surveillance_type cryptography",
        "goods_category dual_use",
        "keyword small arms",
        "unclassified military",
        "keyword surveillance equipment",
        "unclassified unknown",
    ]
    # unclassified military spans the military tiers 40..85, unknown goods every tier 20..100
    assert g["i_best"].tolist()[5:] == [40, 70, 20] and g["i_worst"].tolist()[5:] == [85, 70, 100]
    assert g["goods_unclassified"].tolist() == [False] * 5 + [True, False, True]
    assert g["item_type"].tolist()[6] == "telecom_unspecified"


def test_transaction_flags_add_points_up_to_the_cap():
    links = pd.DataFrame(
        {"licence_id": ["t:2"], "line_no": [1], "evidence_ids": ["curated:x"], "path": ["Acme -> NSO Group"]}
    )
    rows = licences(
        {"licence_id": "t:1", "transit_country_code": "BBB", "end_use_description": "Wederuitvoer naar X"},
        {"licence_id": "t:2", "destination_type": "unspecified", "destination_country_code": None,
         "transit_country_code": "BBB", "onward_country_codes": "CCC"},
    )  # fmt: skip
    out = score(rows, links=links)
    # t:1: transit 10 + re-export (stated end use) 10 = 20; t:2: 15 + 10 + 10 + 20 = 55, capped at 30
    assert out["x_score"].tolist() == [20, 30]
    assert out["flags"].iloc[0] == "transit;re_export;end_user_unknown"
    assert out["flags"].iloc[1].startswith("destination_hidden;transit;re_export;exporter_linked")
    assert out["evidence_ids"].tolist()[1] == "curated:x"
    assert plain(out["network_path"]) == [None, "Acme -> NSO Group"]


# --- combining, floors, bands -----------------------------------------------------------------------------


def test_the_formula_and_the_political_terror_floor():
    out = score(licences({}, {"licence_id": "t:2", "control_code": "ML10", "goods_category": "military",
                              "surveillance_type": None, "taxonomy_rule": "ML*"}))  # fmt: skip
    first = out.iloc[0]
    # D 72.5, E 0, U 50 (unknown): context = 0.45 * 72.5 + 0.35 * 0 + 0.2 * 50 = 42.625
    # interception I 90: factor 0.4 + 0.6 * 0.9 = 0.94; 42.625 * 0.94 = 40.07 -> 40.1, Moderate by the formula,
    # but PTS 4 (75) with a surveillance item: at least High (50)
    assert first["context_score"] == pytest.approx(42.625)
    assert first["goods_factor"] == pytest.approx(0.94)
    assert (first["score"], first["band"], first["floors"]) == (50.0, "High", "political_terror")
    # ML10 (aircraft, tier 40) is military: the same floor; factor 0.64 -> 27.3 before it
    assert (out["score"].iloc[1], out["floors"].iloc[1]) == (50.0, "political_terror")
    calm = indicators(indicator_rows("AAA", 2018, "2020-01-01", pts_a=3, pts_h=3, pts_s=2, fh_total=30))
    # PTS 3: D = 0.5 * 50 + 0.5 * 70 = 60; context 0.45 * 60 + 10 = 37; 37 * 0.94 = 34.78 -> 34.8, no floor
    assert plain(score(licences({}), calm)[["score", "band", "floors"]].iloc[0]) == [34.8, "Moderate", None]


def test_prior_use_lifts_surveillance_items_to_very_high_and_security_items_to_high():
    rows = licences(
        {},
        {"licence_id": "t:2", "control_code": "5A002.a", "surveillance_type": "cryptography", "taxonomy_rule": "5A002"},
        {"licence_id": "t:3", "destination_country_code": "BBB"},
    )
    ev = evidence(
        {"evidence_id": "f", "country_code": "AAA", "country_role": "operator",
         "strength": "forensically_confirmed", "published_date": "2020-05-01"},
        {"evidence_id": "g", "country_code": "BBB", "country_role": "operator",
         "strength": "credible_report", "published_date": "2014-05-01"},
    )  # fmt: skip
    ind = indicators(indicator_rows("AAA", 2018, "2020-01-01", pts_a=1, fh_total=90))
    out = score(rows, ind, ev).set_index("licence_id")
    # AAA: a fresh forensic finding (weight 1.0): interception at least Very high, cryptography at least High
    assert out.loc["t:1", ["score", "band", "floors"]].tolist() == [75.0, "Very high", "prior_use;named_operator"]
    assert out.loc["t:2", ["score", "band", "floors"]].tolist() == [50.0, "High", "named_operator"]
    # BBB: one credible report, six years old: outside the floors' window, no floor
    assert pd.isna(out.loc["t:3", "floors"]) and out.loc["t:3", "score"] < 50


def test_bands_have_the_documented_bounds():
    scores = np.array([0, 24.9, 25, 49.9, 50, 74.9, 75, 89.9, 90, 100])
    expected = ["Low", "Low", "Moderate", "Moderate", "High", "High", "Very high", "Very high", "Critical", "Critical"]
    bands = scoring.bands_of(scores, CFG)
    assert list(bands) == expected
    assert (pd.Series(bands) >= "High").tolist() == [False] * 4 + [True] * 6


def test_a_hidden_destination_is_scored_at_best_and_worst_and_is_indeterminate():
    ml1 = {"control_code": "ML1", "goods_category": "military", "surveillance_type": None, "taxonomy_rule": "ML*"}
    out = score(licences({"destination_type": "multiple", "destination_country_code": None, **ml1}))
    line = out.iloc[0]
    # ML1 tier 85: factor 0.91; X = 15 (destination hidden). Central: D and E missing, context = U = 50:
    # 50 * 0.91 + 15 = 60.5. Best: D = E = 0: 10 * 0.91 + 15 = 24.1 (Low). Worst: D = E = 100:
    # 90 * 0.91 + 15 = 96.9 (Critical). Coverage: U, D (2 measures), E missing, I present: 1 / 5
    assert (line["score"], line["score_best"], line["score_worst"]) == (60.5, 24.1, 96.9)
    assert (line["band"], line["score_band"], line["coverage"]) == ("indeterminate (data gap)", "High", 0.2)
    assert pd.isna(line["d_score"]) and pd.isna(line["e_score"])


def test_places_that_are_not_countries_have_no_government_to_score():
    out = score(licences({"destination_type": "non_country", "destination_country_code": None}))
    # D = E = 0: context = 0.2 * 50 = 10, * 0.94 = 9.4; no gap but the end-user's
    assert out[["score", "score_best", "score_worst", "d_score", "e_score"]].iloc[0].tolist() == [9.4] * 3 + [0, 0]
    assert out["flags"].iloc[0] == "destination_not_a_country;end_user_unknown"


def test_a_licence_is_summarised_by_its_highest_line():
    rows = licences({"line_no": 1, "destination_country_code": "BBB"}, {"line_no": 2}, {"line_no": 3})
    lines = score(rows)
    scores = scoring.summarise(lines, rows, CFG)
    # BBB has no indicators, D drops out: context (0.35 * 0 + 0.2 * 50) / 0.55 = 18.18, * 0.94 = 17.1;
    # the AAA lines are lifted to 50 by the political-terror floor (the first of them is the top line)
    assert lines["score"].tolist() == [17.1, 50.0, 50.0]
    row = scores.iloc[0]
    assert (row["licence_id"], row["score"], row["top_line_no"], row["n_lines"]) == ("t:1", 50.0, 2, 3)
    assert row["score_worst"] == lines["score_worst"].max() and row["score_best"] == lines["score_best"].max()
    assert list(scores.columns[:3]) == ["licence_id", "score", "band"]


# --- the views beside the ex-ante score -------------------------------------------------------------------


def test_reassessment_date_is_the_day_after_the_evidence_that_lifts_the_score():
    ev = evidence(
        {"evidence_id": "f", "country_code": "AAA", "country_role": "operator",
         "strength": "forensically_confirmed", "published_date": "2020-09-10"},
    )  # fmt: skip
    calm = indicators(indicator_rows("AAA", 2018, "2020-01-01", pts_a=2, fh_total=60))
    rows = licences(
        {},
        {"licence_id": "t:2", "outcome": "refused"},
        {"licence_id": "t:3", "expiry_date": "2020-09-01"},
        {"licence_id": "t:4", "decision_date": "2017-06-01"},  # out of force (2 years) by 2020-09
        {"licence_id": "t:5", "decision_date": "2020-10-01"},  # decided after the evidence: already Very high
    )
    out = score(rows, calm, ev).set_index("licence_id")
    assert out.loc["t:1", "reassessment_date"] == pd.Timestamp("2020-09-11")
    assert out.loc[["t:2", "t:3", "t:4", "t:5"], "reassessment_date"].isna().all()
    assert out.loc["t:5", "band"] == "Very high"
    # scoring t:1 as of that date and the day before agrees with it
    redated = score(rows.iloc[[0, 0]].assign(decision_date=pd.to_datetime(["2020-09-10", "2020-09-11"])), calm, ev)
    assert redated["score"].tolist()[0] < 50 <= redated["score"].tolist()[1]
    # hindsight counts the later evidence, and says so by its column
    assert out.loc["t:1", "hindsight_band"] == "Very high" and out.loc["t:1", "score"] < 50


@st.composite
def later_inputs(draw: st.DrawFn, decided: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evidence lines and indicator editions all published on or after ``decided``."""
    countries = st.sampled_from(["AAA", "BBB"])
    day = st.integers(0, 3000).map(lambda n: (decided + pd.Timedelta(days=n)).strftime("%Y-%m-%d"))
    ev = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "evidence_id": st.sampled_from(["f", "new1", "new2"]),
                    "country_code": countries,
                    "country_role": st.sampled_from(["operator", "customer"]),
                    "strength": st.sampled_from(EVIDENCE.fields[EVIDENCE.columns.index("strength")].categories),
                    "published_date": day,
                }
            ),
            max_size=4,
        )
    )
    editions = draw(
        st.lists(
            st.tuples(countries, st.integers(2015, 2030), day, st.integers(1, 5), st.integers(-1, 100)), max_size=3
        )
    )
    ind = [indicator_rows(c, y, p, pts_a=pts, fh_total=fh) for c, y, p, pts, fh in editions]
    return ev, ind


BEFORE = evidence(
    {"evidence_id": "f", "country_code": "AAA", "country_role": "operator",
     "strength": "credible_report", "published_date": "2019-01-01"},
)  # fmt: skip
DECIDED = pd.Timestamp("2020-06-01")


CRYPTO = {"control_code": "5A002.a", "surveillance_type": "cryptography", "taxonomy_rule": "5A002"}
DECIDED_ROWS = licences({}, {"licence_id": "t:2", "destination_country_code": "BBB", **CRYPTO})
BASE = score(DECIDED_ROWS, AAA, BEFORE)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=later_inputs(DECIDED))
def test_nothing_published_on_or_after_the_decision_changes_the_ex_ante_score(extra):
    ev, editions = extra
    more_evidence = pd.concat([BEFORE, evidence(*ev)], ignore_index=True) if ev else BEFORE
    more_indicators = pd.concat([AAA, *[indicators(e) for e in editions]], ignore_index=True)
    later = score(DECIDED_ROWS, more_indicators, more_evidence)
    pd.testing.assert_frame_equal(later[EX_ANTE], BASE[EX_ANTE])


# --- configuration ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  destination: 0.45", "  destination: 0.5", "weights: destination + abuse + end_user must sum to 1"),
        ("  abuse: 0.35 ", "  abuse_typo: 0.35 ", "unknown key 'abuse_typo' in weights"),
        ("half_life_years: 4", "half_life_years: four", "abuse.half_life_years must be a number, not 'four'"),
        ("  max_years_behind: 2", "  max_years_behind: 2.5", "destination.max_years_behind must be a whole number"),
        ("    band: Very high", "    band: Severe", "floors.prior_use.band: 'Severe' is not one of"),
        ("      weight: 0.5        # because", "      weight: 0.6        # because",
         "destination.measures weights: pts + fh must sum to 1"),
        ('method_version: "1.0"\n', "", "the file needs 'method_version'"),
        ("[pts_a, pts_h, pts_s]", "[pts_a, pts_hrw, pts_s]", "readings[0].indicators: 'pts_hrw' is not one of"),
    ],
)  # fmt: skip
def test_a_bad_configuration_stops_with_one_line_naming_file_and_key(tmp_path, old, new, message):
    text = scoring.DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mine.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        scoring.load_config(path)
    assert str(path) in str(caught.value) and message in str(caught.value) and "\n" not in str(caught.value)


def test_every_number_is_in_the_configuration_file(tmp_path):
    text = scoring.DEFAULT_CONFIG.read_text(encoding="utf-8").replace("  keep_share: 0.4", "  keep_share: 1.0")
    path = tmp_path / "all_of_the_context.yaml"
    path.write_text(text, encoding="utf-8")
    calm = indicators(indicator_rows("AAA", 2018, "2020-01-01", pts_a=3, pts_h=3, pts_s=2, fh_total=30))
    # keep_share 1: the goods keep all the context risk: 37.0 instead of 34.8
    assert score(licences({}), calm, cfg=scoring.load_config(path))["score"].iloc[0] == 37.0


# --- the real data ----------------------------------------------------------------------------------------


@dataclass
class Scored:
    processed: Path
    first_run: dict[str, bytes]
    output: str

    def table(self, name: str) -> pd.DataFrame:
        tables = {"scores": SCORES, "score_lines": SCORE_LINES, "licences": LICENCES, "evidence": EVIDENCE}
        return read_table(self.processed / f"{name}.parquet", tables.get(name, INDICATORS))


@pytest.fixture(scope="session")
def real(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Scored:
    """The UK, Dutch, indicator and victim sources with the committed curated folder, cleaned and scored."""
    root = cleaned_project(tmp_path_factory.mktemp("scoring"), SOURCES, shared_datasets)
    printed = run_cli(root, "score")
    processed = root / "data" / "processed"
    first = {n: (processed / f"{n}.parquet").read_bytes() for n in ("scores", "score_lines")}
    return Scored(processed, first, printed)


NAMED = {  # first operator evidence naming the state, in the curated findings and the victim database
    "ARE": "2016-08-24",  # Citizen Lab, The Million Dollar Dissident (forensic)
    "SAU": "2018-08-01",  # Amnesty staff member targeted (victim database, credible report)
    "BHR": "2018-09-18",  # Citizen Lab, Hide and Seek (credible report)
}


def surveillance_rows(licences: pd.DataFrame, country: str) -> pd.DataFrame:
    """Real UK and Dutch licence lines of category 5 telecommunications and information security items."""
    rows = licences[
        licences["control_code"].str.match(r"^5[AD]00[12]", na=False)
        & licences["destination_country_code"].isin([country])
        & licences["source"].isin(["caat-uk", "nl-licences"])
    ]
    assert rows["source"].nunique() == 2 or country == "BHR", rows["source"].unique()
    return rows


def below_high_but_for_political_terror(scored: pd.DataFrame) -> bool:
    """Every line is below High unless PTS 4-5 lifted it, at least one is below, and no evidence floor fired."""
    floors = scored["floors"].fillna("")
    below = scored["score"] < 50
    evidence_floor = floors.str.contains("named_operator|prior_use")
    return bool((below | floors.eq("political_terror")).all() and below.any() and not evidence_floor.any())


@pytest.mark.parametrize("country", sorted(NAMED))
def test_real_surveillance_licences_are_high_from_the_naming_and_not_before(real, country):
    lic, ind, ev = real.table("licences"), real.table("indicators"), real.table("evidence")
    rows = surveillance_rows(lic, country)
    named = pd.Timestamp(NAMED[country])
    operator = ev["country_code"].isin([country]) & ev["country_role"].eq("operator")
    assert ev.loc[operator, "published_date"].min() == named
    as_decided = real.table("score_lines").merge(rows[["licence_id", "line_no"]], on=["licence_id", "line_no"])
    assert len(as_decided) == len(rows) >= 8 and (as_decided["as_of_date"] < named).all()
    assert below_high_but_for_political_terror(as_decided)
    assert (as_decided["hindsight_score"] >= 50).all()
    # the same real lines decided on the day the naming was published, and the day after (the first day a
    # decision can have known it: evidence counts from the day after its publication)
    on_the_day = scoring.score_lines(rows.assign(decision_date=named), ind, ev, NO_LINKS, CFG)
    assert below_high_but_for_political_terror(on_the_day)
    after = scoring.score_lines(rows.assign(decision_date=named + pd.Timedelta(days=1)), ind, ev, NO_LINKS, CFG)
    assert (after["score"] >= 50).all() and after["floors"].str.contains("named_operator").all()


def test_uk_surveillance_licences_in_force_at_the_naming_get_it_as_reassessment_date(real):
    lines = real.table("score_lines")
    lic = real.table("licences").set_index(["licence_id", "line_no"])
    uae = lines[lines["destination_country_code"].eq("ARE") & lines["control_code"].str.match(r"^5A001", na=False)]
    decided = lic.loc[list(zip(uae["licence_id"], uae["line_no"], strict=True)), "decision_date"].to_numpy()
    in_force = decided >= np.datetime64("2014-08-25")  # two years before the first day the finding is usable
    assert in_force.any() and (~in_force).any()
    assert (uae.loc[in_force, "reassessment_date"] == pd.Timestamp("2016-08-25")).all()
    assert uae.loc[~in_force, "reassessment_date"].isna().all()


def test_real_reassessment_dates_agree_with_scoring_on_that_day_and_the_day_before(real):
    lines = real.table("score_lines")
    lic = real.table("licences")
    reached = lines[lines["reassessment_date"].notna()]
    assert len(reached) > 1000
    sample = reached.sample(40, random_state=1)
    rows = lic.merge(sample[["licence_id", "line_no", "reassessment_date"]], on=["licence_id", "line_no"])
    ind, ev = real.table("indicators"), real.table("evidence")
    on_day = scoring.score_lines(rows.assign(decision_date=rows["reassessment_date"]), ind, ev, NO_LINKS, CFG)
    day_before = rows["reassessment_date"] - pd.Timedelta(days=1)
    before = scoring.score_lines(rows.assign(decision_date=day_before), ind, ev, NO_LINKS, CFG)
    assert (on_day["score"] >= 50).all() and (before["score"] < 50).all()


def test_the_curated_cyprus_licence_of_december_2021(real):
    line = real.table("score_lines").set_index("licence_id").loc["curated:cy-2021-12-isr"]
    # an IMSI catcher (5A001.f) to Israel, re-exported to a third country: PTS 4 (Human Rights Watch coding)
    # with a surveillance item lifts it to High; Israel is named only as a Circles customer (counts little)
    assert (line["score"], line["band"], line["floors"]) == (50.0, "High", "political_terror")
    assert line["goods_rule"] == "surveillance_type interception" and "re_export" in line["flags"]
    assert line["evidence_ids"] == "curated:citizenlab-2020-running-in-circles" and 0 < line["e_score"] < 15
    assert line["as_of_date"] == pd.Timestamp("2021-12-01") and "pts_h 2019=4" in line["d_inputs"]


def test_the_curated_circles_bulgaria_licence_is_linked_through_nso(real):
    line = real.table("score_lines").set_index("licence_id").loc["curated:bg-circles-2021"]
    # Circles merged with NSO in 2014; NSO's Pegasus findings were public before the licence (2021-07-23)
    assert "exporter_linked" in line["flags"].split(";")
    assert line["network_path"].startswith("Circles Bulgaria -[merged_with 2014]-> NSO Group Technologies")
    assert "curated:citizenlab-2016-million-dollar-dissident" in line["evidence_ids"].split(";")
    assert "curated:us-entity-list-2021" not in line["evidence_ids"].split(";")  # listed 2021-11-03, after the licence


def test_every_licence_has_one_score_the_highest_of_its_lines(real):
    scores, lines = real.table("scores"), real.table("score_lines")
    assert scores["licence_id"].is_unique and set(scores["licence_id"]) == set(lines["licence_id"])
    assert len(lines) == len(real.table("licences"))
    top = lines.groupby("licence_id")["score"].max()
    assert (scores.set_index("licence_id")["score"] == top.reindex(scores["licence_id"]).to_numpy()).all()
    assert set(scores["band"].astype(str)) >= {"Low", "Moderate", "High", "indeterminate (data gap)"}
    assert "score: " in real.output and "licences" in real.output


def test_rerunning_score_writes_byte_identical_files(real, monkeypatch):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(real.processed.parents[1]))
    assert cli.main(["score"]) == 0
    for name, data in real.first_run.items():
        assert (real.processed / f"{name}.parquet").read_bytes() == data, name


def test_score_before_clean_and_with_a_bad_config_are_one_line_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    assert cli.main(["score"]) == 2
    assert "licences.parquet: missing: run `exportrisk clean` first" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("method_version: 1\n", encoding="utf-8")
    assert cli.main(["score", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.yaml" in err
