"""Work once per distinct row: factorise the columns a result depends on, compute per distinct row, gather back.

The scorer never loops over lines in Python: what depends on (country, date) is computed once per distinct
pair, what depends on the licence record once per distinct combination of the columns it reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from exportrisk import listcols


def gather_column(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """``values`` at ``positions`` (-1 gives null), as a fresh column with a RangeIndex."""
    return pd.Series(values.array.take(positions, allow_fill=True))


def flag_lists(flags: dict[str, np.ndarray]) -> pd.Series:
    """The names of the flags set in each row as a list column (null if none), built once per distinct
    combination and gathered in Arrow."""
    names = list(flags)
    bits = np.zeros(len(next(iter(flags.values()))), dtype=np.int64)
    for i, name in enumerate(names):
        bits |= np.asarray(flags[name], dtype=bool).astype(np.int64) << i
    positions, uniques = pd.factorize(bits)
    named = pa.array([[n for i, n in enumerate(names) if u >> i & 1] for u in uniques], listcols.LIST_TYPE)
    return listcols.from_arrow(named.take(pa.array(positions)))


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position among the distinct rows of ``frame`` (nulls equal), and those rows in first-seen order.

    What depends only on these columns is then computed once per distinct row and gathered back by position.
    """
    key, size = np.zeros(len(frame), dtype=np.int64), 1
    for column in frame.columns:
        codes, n = column_codes(frame[column])
        if size * (n + 1) >= 2**62:  # renumber only when the combined number could overflow
            key, seen = pd.factorize(key)
            size = len(seen)
        key, size = key * (n + 1) + codes + 1, size * (n + 1)
    key, _ = pd.factorize(key)  # the distinct keys in first-seen order, however the columns were numbered
    return key, frame.iloc[first_rows(key)].reset_index(drop=True)


def column_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """A number per distinct value (-1 for null) and how many there are: booleans and small integers from -1 up
    (positions such as distinct_rows gives, -1 for none) are their own numbers; anything else is factorised."""
    numeric = isinstance(column.dtype, np.dtype) and column.dtype.kind in "biu" and len(column) > 0  # never null
    if numeric and column.min() >= -1:
        values = column.to_numpy(dtype=np.int64)
        top = int(values.max()) + 1
        if top <= 4 * len(values):  # a dense range: no sparser than the rows
            return values, top
    codes, uniques = pd.factorize(listcols.hashable(column), use_na_sentinel=True)
    return codes, len(uniques)


def first_rows(positions: np.ndarray) -> np.ndarray:
    """Where each distinct row first occurs, given the positions distinct_rows numbered in first-seen order."""
    new = np.ones(len(positions), dtype=bool)
    new[1:] = positions[1:] > np.maximum.accumulate(positions)[:-1]
    return np.flatnonzero(new)


def distinct_pairs(countries: pd.Series, dates: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position in the table of distinct (country_code, date) pairs (-1 without a country), and the table."""
    has = countries.notna().to_numpy()
    positions = np.full(len(countries), -1, dtype=np.int64)
    positions[has], pairs = distinct_rows(pd.DataFrame({"country_code": countries[has], "date": dates[has]}))
    return positions, pairs


def gather_frame(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """Results computed once per distinct row, brought back to the rows (row i takes positions[i]; -1: nulls)."""
    return pd.DataFrame({c: gather_column(frame[c], positions) for c in frame.columns}, copy=False)  # fresh columns


def gather_replacing(values: pd.Series, positions: np.ndarray, rows: np.ndarray, replaced: pd.Series) -> pd.Series:
    """gather_column of ``values`` at ``positions``, except that ``rows`` take the values of ``replaced`` (row for
    row with ``rows``): one gather, where changing a few rows of a gathered column would copy it again."""
    source = pd.concat([values, replaced], ignore_index=True)
    at = positions.copy()
    at[rows] = len(values) + np.arange(len(rows))
    return gather_column(source, at)
