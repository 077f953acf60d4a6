"""Parsing messy cell values: dates in mixed orders, Excel serials, amounts with local separators.

Every parser is vectorised and returns nulls where a cell cannot be read, so the caller can send those
rows to rejects with the offending value instead of failing the file.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def per_unique(values: pd.Series, func: Callable[[Any], Any] | Mapping[Any, Any]) -> pd.Series:
    """Apply a cell function (or look up a mapping) once per distinct value: fast on repetitive columns.

    Missing cells stay missing. Text results come back as a string column, built by one vectorised take.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = func.get if isinstance(func, Mapping) else func
    mapped = [lookup(u) for u in uniques] + [None]
    if all(m is None or isinstance(m, str) for m in mapped):
        return pd.Series(pd.array(mapped, dtype="string").take(codes), index=values.index)
    return pd.Series(np.array(mapped, dtype=object)[codes], index=values.index)


def lookup(values: pd.Series, table: pd.Series) -> pd.Series:
    """``values.map(table)`` for text, fast when almost every value is distinct but few are in the table."""
    hit = values.isin(table.index)
    found = pd.Series(pd.NA, index=values.index, dtype="string")
    found[hit] = table.reindex(values[hit].to_numpy()).to_numpy(dtype=object)
    return found


def to_number(values: pd.Series, dtype: str = "Float64") -> pd.Series:
    """Plain numbers ('3540', ' 12 ') to a nullable column; unreadable cells become null.

    Arrow's cast reads a clean column in one pass; only a column with bad cells takes the slower path.
    """
    text = values.astype("string").str.strip().replace("", pd.NA)
    try:
        cast = pc.cast(pa.array(text, from_pandas=True), pa.float64() if dtype == "Float64" else pa.int64())
        return pd.Series(cast.to_pandas(types_mapper=pd.ArrowDtype), index=values.index).astype(dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").astype(dtype)


EXCEL_EPOCH = pd.Timestamp("1899-12-30")
ISO_TIME = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}"
DATE_PARTS = re.compile(r"^\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})\s*$")


def date_parts(values: pd.Series) -> pd.DataFrame:
    """Split 'a/b/c' or 'a-b-c' dates into integer columns a, b, c (null where the cell is not such a date)."""
    parts = values.astype("string").str.extract(DATE_PARTS.pattern)
    return parts.apply(pd.to_numeric, errors="coerce").astype("Int64").set_axis(["a", "b", "c"], axis=1)


def from_parts(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """Build dates from integer parts; impossible dates (31 February) become null."""
    frame = pd.DataFrame({"year": year, "month": month, "day": day}).astype("float64")
    return pd.to_datetime(frame, errors="coerce").astype("datetime64[ms]")


def parse_dates(values: pd.Series, order: str) -> pd.Series:
    """Parse with a known order: 'ISO' (Y-M-D), 'DMY', 'MDY' or 'excel_serial'."""
    if order == "excel_serial":
        serial = pd.to_numeric(values, errors="coerce")
        serial = serial.where((serial > 0) & (serial < 2_958_466))
        return (EXCEL_EPOCH + pd.to_timedelta(serial, unit="D")).astype("datetime64[ms]")
    if order == "ISO":  # the fast path for large, clean sources; then dates with a time of day (XLSX date cells)
        dates = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce").astype("datetime64[ms]")
        timed = dates.isna() & values.astype("string").str.match(ISO_TIME).fillna(False).astype(bool)
        if timed.any():
            read = pd.to_datetime(values[timed].str.slice(0, 19), format="%Y-%m-%d %H:%M:%S", errors="coerce")
            dates[timed] = read.astype("datetime64[ms]")
        return dates
    p = date_parts(values)
    if order == "DMY":
        return from_parts(p["c"], p["b"], p["a"])
    if order == "MDY":
        return from_parts(p["c"], p["a"], p["b"])
    raise ValueError(f"unknown date order {order!r}")


def bare_amounts(values: pd.Series) -> pd.Series:
    """Amounts without currency signs and spaces ('€ 1 200' -> '1200')."""
    return values.astype("string").str.strip().str.replace(r"[€$£\s\u00a0]|EUR|GBP|USD", "", regex=True)


def thousands_marks(decimal: str, thousands: str | None) -> list[str]:
    """The declared thousands separator, or whichever of ',' '.' "'" is not the decimal mark."""
    return [thousands] if thousands else [s for s in (",", ".", "'") if s != decimal]


def amount_shape(values: pd.Series, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Whether each amount is written as the marks allow: thousands in groups of three, one decimal mark.

    '1,5' with a decimal point is no number (a decimal comma nobody declared), rather than fifteen.
    """
    seps = "".join(re.escape(s) for s in thousands_marks(decimal, thousands))
    mark = re.escape(decimal)
    shape = rf"[+-]?(?:\d{{1,3}}(?:[{seps}]\d{{3}})+|\d*)(?:{mark}\d+)?(?:[eE][+-]?\d+)?"
    text = bare_amounts(values)
    return text.str.fullmatch(shape).fillna(False).astype(bool) & text.str.contains(r"\d", regex=True).fillna(False)


def parse_amounts(values: pd.Series, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Read amounts such as '25,740', '1.234,56' (decimal=','), '€ 1 200'; null where unreadable.

    Thousands separators default to whichever of ',' '.' ' ' is not the decimal mark.
    """
    text = bare_amounts(values)
    seps = thousands_marks(decimal, thousands)
    for s in seps:
        text = text.str.replace(s, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    text = text.mask(text == "")
    numbers = pd.to_numeric(text, errors="coerce")
    return pd.Series(np.asarray(numbers, dtype="float64"), index=values.index).astype("Float64")
