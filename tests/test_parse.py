"""Cell parsers: dates in known orders and Excel serials, amounts with local separators."""

import pandas as pd

from exportrisk.ingest.parse import parse_amounts, parse_dates


def test_dates_in_each_order():
    s = pd.Series(["05-01-2004", "06/30/2011", "31/02/2010", "x", None])
    assert parse_dates(s, "DMY").tolist()[:1] == [pd.Timestamp("2004-01-05")]
    assert parse_dates(s, "MDY").tolist()[:2] == [pd.Timestamp("2004-05-01"), pd.Timestamp("2011-06-30")]
    assert parse_dates(s, "DMY").isna().tolist() == [False, True, True, True, True]
    assert parse_dates(pd.Series(["2015-03-31", "2015-02-30"]), "ISO").isna().tolist() == [False, True]


def test_excel_serial_dates():
    out = parse_dates(pd.Series(["44531", "44531.0", "-3", "soon"]), "excel_serial")
    assert out.tolist()[:2] == [pd.Timestamp("2021-12-01")] * 2
    assert out.isna().tolist()[2:] == [True, True]


def test_amounts_with_separators():
    out = parse_amounts(pd.Series(["25,740", "30,404,816", "€ 1 200", "x", "", None, "-5"]))
    assert out.tolist()[:3] == [25740.0, 30404816.0, 1200.0]
    assert out.isna().tolist()[3:6] == [True, True, True]
    assert out.iloc[6] == -5.0
    assert parse_amounts(pd.Series(["1.234,56", "12,5"]), decimal=",").tolist() == [1234.56, 12.5]
