"""List columns: several values in one cell travel as Arrow list<string>, declared once in the schema, written
to Parquet as a real list, read back typed, and joined by '; ' only where a cell must be text (CSV, SQLite)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exportrisk import listcols
from exportrisk.ingest.files import read_table, write_csv, write_parquet
from exportrisk.publish.datapackage import as_text, field_descriptor
from exportrisk.publish.sqlite import rows
from exportrisk.schema import LICENCES, SCORE_LINES, TABLES, conform, conform_staged


def values(col: pd.Series) -> list:
    return [None if v is None or v is pd.NA else list(v) for v in col]


def test_text_splits_into_trimmed_values_and_an_empty_cell_is_null():
    text = pd.Series(["2; 7", None, "", " 1 ;;3", "x"], dtype="string")
    lists = listcols.split(text)
    assert lists.dtype == listcols.LIST_DTYPE
    assert values(lists) == [["2", "7"], None, None, ["1", "3"], ["x"]]
    assert listcols.join(lists).tolist() == ["2; 7", pd.NA, pd.NA, "1; 3", "x"]


def test_the_operations_work_row_by_row():
    a = listcols.as_lists(pd.Series([["a", "b"], None, ["c"], None]))
    b = listcols.as_lists(pd.Series([["z"], ["y"], None, None]))
    assert values(listcols.concat(a, b)) == [["a", "b", "z"], ["y"], ["c"], None]
    assert listcols.contains(a, "c").tolist() == [False, False, True, False]
    assert listcols.contains(a, ("a", "c")).tolist() == [True, False, True, False]
    assert listcols.counts(a).tolist() == [2, 0, 1, 0]
    grouped = listcols.per_group(np.array([2, 0, 2]), pd.Series(["p", "q", "r"]), 4)
    assert values(grouped) == [["q"], None, ["p", "r"], None]
    assert values(listcols.of_one(pd.Series(["u", None]))) == [["u"], None]
    # a null list spanning values (of_one's null), in a slice of one chunk as a read table holds it
    ones = listcols.of_one(pd.Series(["u", None, None, "v"]))
    assert values(listcols.concat(a, ones)) == [["a", "b", "u"], None, ["c"], ["v"]]
    assert values(listcols.concat(a.iloc[1:], ones.iloc[1:])) == [None, ["c"], ["v"]]
    assert listcols.contains(ones, "v").tolist() == [False, False, False, True]
    assert listcols.counts(ones).tolist() == [1, 0, 0, 1]


def test_an_empty_list_becomes_null_also_in_a_slice_of_an_array():
    lists = pa.array([["a"], [], None, ["b", "c"], [], ["d"]], listcols.LIST_TYPE)
    assert values(listcols.from_arrow(lists)) == [["a"], None, None, ["b", "c"], None, ["d"]]
    assert values(listcols.from_arrow(lists.slice(3))) == [["b", "c"], None, ["d"]]
    assert values(listcols.as_lists(pd.Series([[], ["x"]]))) == [None, ["x"]]


def test_a_list_column_takes_lists_not_text():
    with pytest.raises(TypeError, match="refusal_criteria: a list column takes lists, not text"):
        LICENCES.empty().pipe(lambda e: conform(e.reindex([0]).assign(refusal_criteria="2;7"), LICENCES))
    # rows as a source stages them hold the text as published: conform_staged splits it
    staged = LICENCES.empty().reindex([0]).assign(refusal_criteria="2;7", onward_country_codes=None)
    assert values(conform_staged(staged, LICENCES)["refusal_criteria"]) == [["2", "7"]]


def test_every_list_field_is_declared_with_the_list_type():
    declared = {(t.name, f.name) for t in TABLES.values() for f in t.fields if f.dtype == "list"}
    assert ("licences", "refusal_criteria") in declared and ("score_lines", "evidence_ids") in declared
    assert all(f.pandas_dtype() == listcols.LIST_DTYPE for t in TABLES.values() for f in t.fields if f.dtype == "list")
    # only a value kept exactly as published (*_raw) is still ';'-separated text
    texts = [f.name for t in TABLES.values() for f in t.fields if "';'" in f.description]
    assert texts and all(name.endswith("_raw") for name in texts)


def test_parquet_holds_a_real_list_that_pandas_and_read_table_read_back(tmp_path):
    lines = SCORE_LINES.empty().reindex([0, 1])
    lines = lines.assign(evidence_ids=listcols.as_lists(pd.Series([["curated:a", "curated:b"], None])))
    path = tmp_path / "score_lines.parquet"
    write_parquet(lines, path)
    assert pq.read_schema(path).field("evidence_ids").type == pa.list_(pa.string())
    plain = pd.read_parquet(path)  # any reader: pandas' own list reading, no exportrisk needed
    assert list(plain["evidence_ids"].iloc[0]) == ["curated:a", "curated:b"]
    back = read_table(path, SCORE_LINES)
    assert back["evidence_ids"].dtype == listcols.LIST_DTYPE
    assert values(back["evidence_ids"]) == [["curated:a", "curated:b"], None]
    write_parquet(back, tmp_path / "again.parquet")
    assert (tmp_path / "again.parquet").read_bytes() == path.read_bytes()  # same data, same bytes


def test_published_cells_join_the_values_and_the_descriptor_says_how(tmp_path):
    field = next(f for f in LICENCES.fields if f.name == "refusal_criteria")
    assert field_descriptor(field)["type"] == "list"
    assert (field_descriptor(field)["delimiter"], field_descriptor(field)["itemType"]) == ("; ", "string")
    frame = conform(LICENCES.empty().reindex([0, 1]), LICENCES)
    frame = frame.assign(refusal_criteria=listcols.as_lists(pd.Series([["2", "7"], None])))
    assert as_text(frame, LICENCES)["refusal_criteria"].tolist() == ["2; 7", pd.NA]
    column = LICENCES.columns.index("refusal_criteria")
    assert [r[column] for r in rows(frame, LICENCES)] == ["2; 7", None]
    csv = pd.read_csv(write_csv(frame[["refusal_criteria"]], tmp_path / "t.csv"), dtype=str)
    assert csv["refusal_criteria"].tolist()[0] == "2; 7"
