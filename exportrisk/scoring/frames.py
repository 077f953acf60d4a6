"""Work once per distinct row: factorise the columns a result depends on, compute per distinct row, gather back.

The scorer never loops over lines in Python: what depends on (country, date) is computed once per distinct
pair, what depends on the licence record once per distinct combination of the columns it reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def gather_column(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """``values`` at ``positions`` (-1 gives null), as a fresh column with a RangeIndex."""
    return pd.Series(values.array.take(positions, allow_fill=True))


def join_per_group(group: np.ndarray, text: pd.Series, size: int, sep: str) -> pd.Series:
    """The texts of each group 0..size-1 joined by ``sep`` in their order (null for an empty group), in Arrow."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=size)
    values = pa.array(text.astype("string").take(order).reset_index(drop=True), type=pa.large_string())
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    lists = pa.LargeListArray.from_arrays(pa.array(np.r_[0, np.cumsum(counts)], pa.int64()), values)
    joined = pc.binary_join(lists, pa.scalar(sep, values.type))
    joined = pc.if_else(pa.array(counts == 0), pa.scalar(None, values.type), joined)
    return pd.Series(pd.array(joined, dtype="string"))


def flag_text(flags: dict[str, np.ndarray]) -> pd.Series:
    """';'-joined names of the flags set in each row (null if none), built once per distinct combination."""
    names = list(flags)
    bits = np.zeros(len(next(iter(flags.values()))), dtype=np.int64)
    for i, name in enumerate(names):
        bits |= np.asarray(flags[name], dtype=bool).astype(np.int64) << i
    positions, uniques = pd.factorize(bits)
    texts = [";".join(n for i, n in enumerate(names) if u >> i & 1) or None for u in uniques]
    return pd.Series(pd.array(texts, dtype="string").take(positions))


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position among the distinct rows of ``frame`` (nulls equal), and those rows in first-seen order.

    What depends only on these columns is then computed once per distinct row and gathered back by position.
    """
    key = np.zeros(len(frame), dtype=np.int64)
    for column in frame.columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        key, _ = pd.factorize(key * (len(uniques) + 1) + codes + 1)
    return key, frame.iloc[first_rows(key)].reset_index(drop=True)


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
    return pd.DataFrame({c: gather_column(frame[c], positions) for c in frame.columns})
