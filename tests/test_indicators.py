"""Country indicators on the real PTS and Freedom House files, the no-look-ahead lookup, and a made-up source."""

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from exportrisk.errors import InputError
from exportrisk.ingest.clean import CleanResult, clean
from exportrisk.knowledge import indicators as ind
from tests.conftest import make_project

FIXTURE = Path(__file__).parent / "fixtures" / "indicator_rsf"
PTS = "pts/PTS-2024.csv"
SCORES = "freedomhouse/All_data_FIW_2013-2024.xlsx"
RATINGS = "freedomhouse/Country_and_Territory_Ratings_and_Statuses_FIW_1973-2024.xlsx"
RATING_SHEETS = ("Country Ratings, Statuses ", "Territory Ratings, Statuses")


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> tuple[Path, CleanResult]:
    """PTS and Freedom House fetched from the real files and cleaned once for the session."""
    for name in ("pts", "freedomhouse"):
        assert (shared_datasets / name).is_dir(), f"real dataset {name} missing in {shared_datasets}"
    root = make_project(tmp_path_factory.mktemp("indicators"), ["pts", "freedomhouse"], shared_datasets)
    return root, clean(root / "data" / "raw", root / "data" / "processed")


@pytest.fixture(scope="session")
def table(project: tuple[Path, CleanResult]) -> pd.DataFrame:
    return project[1].tables["indicators"]


@pytest.fixture(scope="session")
def rejects(project: tuple[Path, CleanResult]) -> pd.DataFrame:
    return project[1].rejects.query("table == 'indicators'")


def one(table: pd.DataFrame, **where: object) -> pd.Series:
    rows = table.loc[pd.concat([table[k] == v for k, v in where.items()], axis=1).all(axis=1)]
    assert len(rows) == 1, (where, rows)
    return rows.iloc[0]


def raw_records(datasets: Path) -> set[tuple[str, int, str]]:
    """Every value cell of the raw files, read independently of exportrisk: (file, row, column)."""
    keys = set()
    pts = pd.read_csv(datasets / PTS, encoding="latin-1", dtype=str, keep_default_na=False)
    keys |= {(PTS, row + 2, col) for row in range(len(pts)) for col in ("PTS_A", "PTS_H", "PTS_S")}
    book = openpyxl.load_workbook(datasets / SCORES, read_only=True)
    rows = list(book["FIW13-24"].iter_rows(values_only=True))
    header = list(rows[1])
    cols = ("Total", "PR rating", "CL rating", "Status")
    keys |= {(SCORES, i + 1, c) for i, r in enumerate(rows) if i >= 2 and r[0] for c in cols if c in header}
    book = openpyxl.load_workbook(datasets / RATINGS, read_only=True)
    for sheet in RATING_SHEETS:
        rows = list(book[sheet].iter_rows(values_only=True))
        labelled = [j for j, label in enumerate(rows[2]) if j and str(label).strip() in ("PR", "CL", "Status")]
        assert len(labelled) == 3 * 51  # 51 editions, 1973 to 2024
        named = [i for i, r in enumerate(rows) if i >= 3 and r[0] and str(r[0]).strip()]
        keys |= {(RATINGS, i + 1, f"'{sheet}'!{get_column_letter(j + 1)}") for i in named for j in labelled}
    return keys


def keys_of(frame: pd.DataFrame) -> set[tuple[str, int, str]]:
    return set(zip(frame["source_file"], frame["source_row"].astype(int), frame["source_column"], strict=True))


def test_every_value_cell_is_kept_or_rejected_exactly_once(project, table, rejects, shared_datasets):
    kept, dropped = keys_of(table), keys_of(rejects)
    assert not kept & dropped
    assert kept | dropped == raw_records(shared_datasets)
    assert len(table) + len(rejects) == len(kept | dropped)  # nothing counted twice
    assert project[1].reconciliation.set_index("source_file").loc[[PTS, SCORES, RATINGS], "reconciled"].all()


def test_known_values_come_out_right(table):
    afg = {r.indicator_code: r for r in table.query("country_code == 'AFG' and edition == '2024'").itertuples()}
    assert (afg["fh_total"].value, afg["fh_pr"].value, afg["fh_cl"].value) == (6, 7, 7)
    assert (afg["fh_status"].value, afg["fh_status"].value_raw) == (3, "NF")
    assert one(table, country_code="FIN", indicator_code="fh_total", edition="2024").value == 100
    assert one(table, country_code="HKG", indicator_code="fh_total", edition="2015").value == 65
    syria = one(table, country_code="SYR", indicator_code="fh_total", edition="2015")
    assert (syria.value, syria.year, syria.source_row) == (-1, 2014, 2069)  # below 0 through Add Q: kept
    first = one(table, country_code="AFG", indicator_code="pts_a", year=1976)
    assert (first.value, first.source_file, first.source_row, first.source_column) == (2, PTS, 2, "PTS_A")
    assert one(table, country_code="SAU", indicator_code="pts_a", year=2015).value == 4
    assert one(table, country_code="SAU", indicator_code="pts_h", year=2015).value == 3


def test_latin1_names_map_through_the_mapping(table):
    tur = table.query("country_code == 'TUR'")
    assert set(tur["country_raw"]) == {"Türkiye", "Turkey"}
    assert [one(tur, indicator_code=c, year=2023).value for c in ("pts_a", "pts_h", "pts_s")] == [4, 4, 4]
    assert one(tur, indicator_code="fh_total", edition="2024").value == 33
    assert one(table, country_raw="Congo (Kinshasa)", indicator_code="fh_pr", edition="2024").country_code == "COD"
    assert one(table, country_raw="Iran, Islamic Republic of", indicator_code="pts_s", year=2020).country_code == "IRN"


def test_historical_states_get_historic_codes(table):
    names = {code: set(raw.str.strip()) for code, raw in table.groupby("country_code")["country_raw"]}
    assert names["DDR"] == {"German Democratic Republic", "Germany, E."}
    assert names["SUN"] == {"Soviet Union", "USSR"}
    assert names["CSK"] == {"Czechoslovakia"}
    assert names["YMD"] == {"Yemen People's Republic", "Yemen, S."}
    assert {"German Federal Republic", "Germany, W.", "Germany"} <= names["DEU"]
    west = table.query("country_raw == 'Germany, W. ' and indicator_code == 'fh_pr'")
    assert west["year"].max() == 1989  # then 'Germany' from the 1990-91 edition, no overlap
    assert one(table, country_raw="Serbia and Montenegro", indicator_code="fh_pr", edition="2005").country_code == "SCG"


def test_split_ratings_keep_the_worse_value(table):
    """South Africa 1973 edition: white and black population rated apart, '2(5)', '3(6)', 'F (NF)'."""
    zaf = table.query("country_code == 'ZAF' and edition == 'Jan.-Feb. 1973'").set_index("indicator_code")
    assert zaf.loc[["fh_pr", "fh_cl", "fh_status"], "value_raw"].tolist() == ["2(5)", "3(6)", "F (NF)"]
    assert zaf.loc[["fh_pr", "fh_cl", "fh_status"], "value"].tolist() == [5, 6, 3]
    assert zaf.loc["fh_pr", "source_column"] == "'Country Ratings, Statuses '!B"
    assert (zaf["year"] == 1972).all()


def test_territories_are_rejected_or_kept_by_the_mapping(table, rejects):
    for name in ("Gaza Strip", "Indian Kashmir", "Tibet", "Gaza (Hamas)", "European Union"):
        rows = rejects[rejects["raw_values"].str.contains(f'"{name}"', regex=False)]
        assert len(rows) and set(rows["reason_code"]) == {"not_a_country"}, name
        assert not table["country_raw"].eq(name).any()
    assert set(table.query("country_raw == 'Hong Kong'")["country_code"]) == {"HKG"}


def test_irregular_review_periods_are_kept(table):
    period = one(table, country_code="USA", indicator_code="fh_pr", edition="1984-85")
    assert (period.period_raw, period.year) == ("Nov.1983-Nov.1984", 1984)
    assert pd.isna(one(table, country_code="USA", indicator_code="fh_pr", edition="2003").period_raw)


def test_fh_overlap_keeps_the_scores_workbook_and_supersedes_the_ratings(table, rejects):
    recent = table.query("source == 'freedomhouse' and year >= 2012")
    assert set(recent["source_file"]) == {SCORES}
    superseded = rejects.query("reason_code == 'superseded'")
    assert set(superseded["source_file"]) == {RATINGS}
    assert superseded["message"].str.endswith(", with the same value").all()  # the workbooks agree
    scored = recent.query("indicator_code != 'fh_total'")
    assert len(superseded) == len(scored)  # one superseded ratings cell per kept rating, none lost
    afghanistan_2024_pr = one(rejects, source_column="'Country Ratings, Statuses '!EV", source_row=4)
    assert afghanistan_2024_pr.reason_code == "superseded" and SCORES in afghanistan_2024_pr.message


def test_pts_missing_scores_keep_their_reason(rejects):
    pts = rejects.query("source_file == @PTS")
    assert set(pts["reason_code"]) == {"not_rated", "not_a_country", "ambiguous_country"}
    afghanistan_h = one(pts, source_row=2, source_column="PTS_H")  # 1976: HRW published no report
    assert "status 88" in afghanistan_h.message and "no report" in afghanistan_h.message
    south_sudan = pts[pts["raw_values"].str.contains('"South Sudan"') & pts["raw_values"].str.contains('"2005"')]
    assert south_sudan["message"].str.contains("did not exist").all() and len(south_sudan) == 3


def test_a_published_score_is_kept_whatever_its_status(table):
    assert one(table, country_code="AND", indicator_code="pts_a", year=2021).value == 1  # NA_Status_A 88


def test_two_names_for_one_code_in_a_year_are_both_rejected(table, rejects):
    yug = rejects.query("reason_code == 'ambiguous_country'")
    assert len(yug) == 8  # SFRY and FRY both coded 1991 and 1992, by Amnesty and the State Department
    assert yug["message"].str.contains("Yugoslavia, Socialist Federal Republic of").all()
    assert not table.query("country_code == 'YUG' and year in (1991, 1992) and source == 'pts'").shape[0]
    assert one(table, country_code="YUG", indicator_code="pts_s", year=1995).country_raw.startswith("Yugoslavia, F")


def test_publication_dates_are_recorded_or_a_conservative_lag(table):
    fh24 = one(table, country_code="FRA", indicator_code="fh_total", edition="2024")
    assert (fh24.published_date, fh24.published_date_basis) == (pd.Timestamp("2024-02-29"), "release_date")
    fh19 = one(table, country_code="FRA", indicator_code="fh_total", edition="2019")
    assert (fh19.published_date, fh19.published_date_basis) == (pd.Timestamp("2019-04-01"), "conservative_lag")
    pts = one(table, country_code="FRA", indicator_code="pts_s", year=2020)
    assert (pts.published_date, pts.published_date_basis) == (pd.Timestamp("2022-01-01"), "conservative_lag")
    assert (table["published_date"].dt.year > table["year"]).all()  # nothing is public before its year ends


def test_rerun_writes_byte_identical_indicators(project, tmp_path):
    root, _ = project
    clean(root / "data" / "raw", tmp_path)
    first = (root / "data" / "processed" / "indicators.parquet").read_bytes()
    assert (tmp_path / "indicators.parquet").read_bytes() == first


# --- indicators_as_of ---

TOY = pd.DataFrame(
    {
        "country_code": ["AAA", "AAA", "AAA", "BBB", "BBB"],
        "indicator_code": "x",
        "year": [2010, 2011, 2012, 2010, 2008],
        "edition": ["e"] * 5,
        "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        "scale_min": 0.0,
        "scale_max": 10.0,
        "is_higher_worse": True,
        "published_date": pd.to_datetime(["2011-04-01", "2012-04-01", "2013-04-01", "2011-04-01", "2009-04-01"]),
        "published_date_basis": "conservative_lag",
        "source": "toy",
    }
).astype({"published_date": "datetime64[ms]"})


def test_as_of_uses_only_earlier_editions_and_carries_forward_two_years():
    day_of_release = ind.indicators_as_of(TOY, "2012-04-01").set_index("country_code")
    assert day_of_release.loc["AAA", "year"] == 2010  # the 2011 value is public from that day, not before
    later = ind.indicators_as_of(TOY, "2013-04-02").set_index("country_code")
    assert later.loc["AAA", ["year", "years_behind", "is_stale"]].tolist() == [2012, 0, False]
    assert later.loc["BBB", ["year", "years_behind", "is_stale"]].tolist() == [2010, 2, True]
    assert ind.indicators_as_of(TOY, "2010-01-01")["year"].tolist() == [2008]  # BBB's 2008, fresh then
    assert ind.indicators_as_of(TOY, "2009-04-01").empty


def test_as_of_many_keeps_query_columns_and_order():
    queries = pd.DataFrame(
        {
            "licence_id": [7, 8, 9],
            "country_code": ["BBB", "AAA", "CCC"],
            "date": ["2013-05-01", "2012-05-01", "2013-05-01"],
        }
    )
    found = ind.indicators_as_of_many(TOY, queries)
    assert found[["licence_id", "country_code", "year"]].values.tolist() == [[7, "BBB", 2010], [8, "AAA", 2011]]


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=pd.Timestamp("1972-01-01").date(), max_value=pd.Timestamp("2027-12-31").date()))
def test_as_of_never_looks_ahead_and_matches_a_plain_reading(table, day):
    t = pd.Timestamp(day)
    got = ind.indicators_as_of(table, t)
    assert (got["published_date"] < t).all()
    assert got["years_behind"].between(0, ind.MAX_YEARS_BEHIND).all()
    assert (got["is_stale"] == (got["years_behind"] > 0)).all()
    public = table[table["published_date"] < t].sort_values(["published_date", "year"])
    latest = public.groupby(["country_code", "indicator_code"]).tail(1)
    newest = public.groupby("indicator_code")["year"].max().rename("newest")
    latest = latest.join(newest, on="indicator_code")
    expected = latest[latest["newest"] - latest["year"] <= ind.MAX_YEARS_BEHIND]
    key = ["country_code", "indicator_code", "year", "edition"]
    assert sorted(map(tuple, got[key].values.tolist())) == sorted(map(tuple, expected[key].values.tolist()))


def test_as_of_many_agrees_with_as_of_for_each_date(table):
    dates = pd.to_datetime(["2009-02-01", "2013-03-01", "2020-07-15"])
    queries = pd.DataFrame({"country_code": ["SAU", "CHN", "TUR", "XXX"] * 3, "date": dates.repeat(4)})
    many = ind.indicators_as_of_many(table, queries)
    assert not many["country_code"].eq("XXX").any()
    key = ["country_code", "indicator_code"]
    for t in dates:
        single = ind.indicators_as_of(table, t).query("country_code in ['SAU', 'CHN', 'TUR']")
        at_t = many[many["date"] == t].sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(at_t, single.sort_values(key, ignore_index=True), check_like=True)


# --- a new source takes a mapping and a registry row ---


def test_a_new_indicator_source_needs_only_a_mapping_and_a_registry_row(tmp_path, monkeypatch):
    """The project's own metadata/ folder: a registry row and a spec, nothing in the package."""
    metadata = tmp_path / "metadata"
    (metadata / "indicators").mkdir(parents=True)
    shutil.copy(FIXTURE / "sources.yaml", metadata / "sources.yaml")
    shutil.copy(FIXTURE / "rsf.yaml", metadata / "indicators" / "rsf.yaml")
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    result = clean(FIXTURE / "raw", tmp_path)
    table = result.tables["indicators"]
    assert set(table["source"]) == {"rsf"}
    assert one(table, country_code="TUR", indicator_code="rsf_score").value == 30
    assert one(table, country_code="IRN", indicator_code="rsf_rank").value == 170
    fra = table.query("country_code == 'FRA' and indicator_code == 'rsf_score'")
    assert fra[["year", "edition", "value"]].values.tolist() == [[2021, "2022", 79.0], [2022, "2023", 80.0]]
    assert (fra["published_date"] == pd.to_datetime(["2022-06-01", "2023-06-01"])).all()
    rejected = result.rejects.fillna({"source_column": ""}).set_index(["source_row", "source_column"])
    rejected = rejected["reason_code"].astype(str).to_dict()
    assert rejected == {
        (6, "Score"): "not_rated",  # Kosovo, blank
        (6, "Rank"): "not_rated",
        (7, "Score"): "unknown_country",  # Narnia
        (7, "Rank"): "unknown_country",
        (8, "Score"): "not_rated",  # Eritrea, 'n/a'
        (9, ""): "malformed_row",  # Atlantis, an extra field
        (10, "Score"): "out_of_range",  # Chile, 120.5
        (11, "Rank"): "unparseable_value",  # Peru, '#N/A'
    }
    assert result.reconciliation["reconciled"].all() and len(table) == 13
    assert (tmp_path / "indicators.parquet").is_file()


def test_a_typo_in_a_mapping_stops_with_a_clear_error(tmp_path):
    spec = (FIXTURE / "rsf.yaml").read_text(encoding="utf-8").replace("values:", "valuse:")
    (tmp_path / "rsf.yaml").write_text(spec, encoding="utf-8")
    with pytest.raises(InputError, match="unknown key 'valuse'"):
        ind.load_spec(tmp_path / "rsf.yaml", "rsf")


def test_as_of_with_no_indicators_finds_nothing_instead_of_failing(table: pd.DataFrame) -> None:
    """An offline project has no indicator data: scoring must still run on what there is."""
    queries = pd.DataFrame({"country_code": ["MEX", "ARE"], "date": pd.to_datetime(["2019-01-01", "2020-01-01"])})
    found = ind.indicators_as_of_many(table.iloc[:0], queries)
    assert found.empty
    assert list(found.columns) == list(ind.indicators_as_of_many(table, queries).columns)
