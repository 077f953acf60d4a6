"""Several values in one cell: the Arrow list<string> type of list columns and the few operations on them.

Ids, URLs, criteria and flags that a row holds several of travel as real lists (Parquet list<string>), so no
reader splits text and no value can be cut by a separator it contains. A row with no values is null, never an
empty list. Everything here works on whole Arrow arrays (score_lines has ~145k lines, the benchmark 1M), not
on Python lists per row. Only the published CSV and SQLite cells, and readable text, join them ('; ').
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

LIST_TYPE = pa.list_(pa.string())
LIST_DTYPE = pd.ArrowDtype(LIST_TYPE)
SEPARATOR = "; "  # how a list reads as one cell: published CSV and SQLite, reports, memos


def strings(col: pd.Series) -> pa.Array:
    """A text column as one Arrow string array."""
    values = pa.array(col.astype("string").array, type=pa.string())
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def is_list(col: pd.Series) -> bool:
    return isinstance(col.dtype, pd.ArrowDtype) and pa.types.is_list(col.dtype.pyarrow_dtype)


def arrow(col: pd.Series) -> pa.ListArray:
    """The column's values as one Arrow list array (a list column of one chunk as it is, without a copy)."""
    values = pa.array(col.array) if is_list(col) else pa.array(list(col), type=LIST_TYPE, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    return values.cast(LIST_TYPE)


def from_arrow(values: pa.Array, index: pd.Index | None = None) -> pd.Series:
    """A list column from an Arrow list array, an empty list becoming null.

    Empty lists are nulled through the validity mask over the same offsets and values, and only where there are
    any: Arrow's if_else on a list array copies every list (a second at 1M lines).
    """
    values = values.cast(LIST_TYPE)
    empty = pc.equal(pc.list_value_length(values), 0)  # null where the list is
    if pc.any(empty).as_py():
        offsets = pa.array(values.offsets.to_numpy())  # fresh: Arrow takes no mask with a slice's offsets
        values = pa.ListArray.from_arrays(offsets, values.values, mask=pc.or_kleene(values.is_null(), empty))
    return pd.Series(pd.arrays.ArrowExtensionArray(values), index=index)


def as_lists(col: pd.Series) -> pd.Series:
    """``col`` as a list column: lists, arrays or nulls to Arrow list<string>. Text is refused: a writer that
    holds joined text should split it where it parses it (split), not leave it to a cast."""
    if not is_list(col) and len(given := col.dropna()) and isinstance(given.iloc[0], str):
        raise TypeError(f"{col.name}: a list column takes lists, not text ({given.iloc[0]!r})")
    return from_arrow(arrow(col), col.index)


def split(text: pd.Series, sep: str = ";") -> pd.Series:
    """Text of ``sep``-separated values as a list column: each value trimmed, empty ones dropped."""
    parts = pc.split_pattern(strings(text), sep)
    values = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    return from_arrow(keep_values(parts, pc.not_equal(values, ""), values), text.index)


def keep_values(lists: pa.ListArray, keep: pa.Array, values: pa.Array | None = None) -> pa.ListArray:
    """``lists`` with only the values where ``keep`` (aligned with its flattened values) is true; ``values``
    replaces the flattened values where given (same length)."""
    flat = pc.list_flatten(lists) if values is None else values
    offsets = np.r_[0, np.cumsum(per_row(lists, keep))]
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), flat.filter(keep), mask=lists.is_null())


def per_row(lists: pa.ListArray, keep: pa.Array) -> np.ndarray:
    """How many of each row's values ``keep`` (aligned with the flattened values) marks."""
    parents = _valid_parents(lists)
    return np.bincount(parents[keep.to_numpy(zero_copy_only=False)], minlength=len(lists))


def of_one(text: pd.Series) -> pd.Series:
    """Each text as a list of that one value (null stays null)."""
    values = strings(text)
    offsets = pa.array(np.arange(len(values) + 1), pa.int32())
    return from_arrow(pa.ListArray.from_arrays(offsets, values, mask=values.is_null()), text.index)


def readable(col: pd.Series) -> pd.Series:
    """Any column as text, a list column's values joined: what a text check or a CSV cell reads."""
    return join(col) if is_list(col) else col.astype("string")


def hashable(col: pd.Series) -> pd.Series:
    """The column with each list as one text, its values joined by a control character no value holds, so that
    equal lists are equal keys (factorising, hashing); any other column as it is."""
    return join(col, "\x1f") if is_list(col) else col


def join(col: pd.Series, sep: str = SEPARATOR) -> pd.Series:
    """A list column as readable text, its values joined by ``sep`` (null stays null)."""
    return pd.Series(pd.array(pc.binary_join(arrow(col), sep), dtype="string"), index=col.index)


def per_group(group: np.ndarray, values: pd.Series, size: int) -> pd.Series:
    """The values of each group 0..size-1 in their order as a list column (null for an empty group)."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=size)
    flat = strings(values).take(pa.array(order))
    return from_arrow(pa.ListArray.from_arrays(pa.array(np.r_[0, np.cumsum(counts)], pa.int32()), flat))


def _valid_parents(values: pa.ListArray) -> np.ndarray:
    """The row of each value list_flatten gives: a null list may span values (of_one's nulls do), which
    list_parent_indices counts and list_flatten leaves out."""
    parents = pc.list_parent_indices(values).to_numpy()
    return parents[values.is_valid().to_numpy(zero_copy_only=False)[parents]]


def concat(left: pd.Series, right: pd.Series) -> pd.Series:
    """Row by row, the values of ``left`` then those of ``right`` (null where both are)."""
    a, b = arrow(left), arrow(right)
    parents = np.r_[_valid_parents(a), _valid_parents(b)]
    flat = pa.concat_arrays([pc.list_flatten(a), pc.list_flatten(b)])
    order = np.argsort(parents, kind="stable")
    offsets = np.r_[0, np.cumsum(np.bincount(parents, minlength=len(a)))]
    return from_arrow(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), flat.take(order)), left.index)


def contains(col: pd.Series, values: tuple[str, ...] | str) -> np.ndarray:
    """Whether each row's list holds one of ``values`` (False for null)."""
    lists = arrow(col)
    hit = pc.is_in(pc.list_flatten(lists), pa.array([values] if isinstance(values, str) else list(values)))
    return per_row(lists, hit) > 0


def counts(col: pd.Series) -> np.ndarray:
    """How many values each row's list holds (0 for null)."""
    return pc.fill_null(pc.list_value_length(arrow(col)), 0).to_numpy()
