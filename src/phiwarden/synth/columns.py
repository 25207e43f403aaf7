"""Fast Arrow column builders: fixed-width identifiers, vocabulary lookups, times, tables.

The generator produces millions of rows; building their strings through Python lists
would dominate the run time, so identifiers are assembled from numpy digit buffers and
other strings through Arrow kernels. Times are int64 microseconds of naive wall clock
(``NULL_TS`` is a null); dates are int64 days since 1970-01-01 (``NULL_DAY`` is a null).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.domain.canonical import CanonicalTable

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NULL_TS = np.iinfo(np.int64).min
NULL_DAY = np.iinfo(np.int64).min

IntArray = npt.NDArray[np.int64]
Column: TypeAlias = pa.Array | pa.ChunkedArray | np.ndarray
Frame: TypeAlias = dict[str, Column]


def day_number(d: date) -> int:
    """Days since 1970-01-01 of a date."""
    return (d - date(1970, 1, 1)).days


def fixed_ids(prefix: str, numbers: npt.ArrayLike, width: int) -> pa.StringArray:
    """``prefix`` + zero-padded ``numbers`` as Arrow strings, built without Python strings."""
    values = np.asarray(numbers, dtype=np.int64).copy()
    n = len(values)
    head = prefix.encode()
    size = len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    if head:
        buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    for k in range(size - 1, len(head) - 1, -1):
        buf[:, k] = 48 + values % 10
        values //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf.ravel()))
    return arr.cast(pa.string())


def take(vocab: Sequence[str] | pa.Array, idx: npt.ArrayLike) -> pa.Array:
    """Strings of ``vocab`` at ``idx``; a negative index gives a null."""
    words = vocab if isinstance(vocab, pa.Array) else pa.array(list(vocab), pa.string())
    index = np.asarray(idx, dtype=np.int64)
    mask = index < 0
    indices = pa.array(np.where(mask, 0, index), pa.int64(), mask=mask if mask.any() else None)
    return pc.take(words, indices)


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation of arrays and constant strings (null if any part is)."""
    return pc.binary_join_element_wise(*parts, "")


def where(
    mask: npt.ArrayLike, when_true: pa.Array | str | None, when_false: pa.Array | str | None
) -> pa.Array:
    """Choose between two string arrays (or constants; None means null) by a numpy mask."""
    cond = pa.array(np.asarray(mask, dtype=bool))
    a = pa.scalar(when_true, pa.string()) if not isinstance(when_true, pa.Array) else when_true
    b = pa.scalar(when_false, pa.string()) if not isinstance(when_false, pa.Array) else when_false
    return pc.if_else(cond, a, b)


def to_objects(arr: pa.Array) -> np.ndarray:
    """An Arrow string array as a numpy object array (None for nulls), for row edits."""
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def ts_array(us: npt.ArrayLike) -> pa.Array:
    """Microsecond timestamps from int64 values; ``NULL_TS`` becomes null."""
    values = np.asarray(us, dtype=np.int64)
    mask = values == NULL_TS
    return pa.array(
        np.where(mask, 0, values), pa.timestamp("us"), mask=mask if mask.any() else None
    )


def date_array(days: npt.ArrayLike) -> pa.Array:
    """Dates from int64 day numbers; ``NULL_DAY`` becomes null."""
    values = np.asarray(days, dtype=np.int64)
    mask = values == NULL_DAY
    clean = np.where(mask, 0, values).astype(np.int32)
    return pa.array(clean, pa.date32(), mask=mask if mask.any() else None)


def _column(value: Column, field: pa.Field) -> pa.Array | pa.ChunkedArray:
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return value.cast(field.type)
    if pa.types.is_timestamp(field.type):
        return ts_array(value)
    if pa.types.is_date32(field.type):
        return date_array(value)
    if value.dtype == object:
        return pa.array(value, field.type, from_pandas=True)
    return pa.array(value, field.type)


def to_table(frame: Mapping[str, Column], table: CanonicalTable, n: int) -> pa.Table:
    """Assemble a canonical table from a frame of columns; missing columns are null."""
    arrays: list[Any] = []
    for field in table.schema:
        value = frame.get(field.name)
        arrays.append(pa.nulls(n, field.type) if value is None else _column(value, field))
    return pa.Table.from_arrays(arrays, schema=table.schema)


def frame_length(frame: Mapping[str, Column]) -> int:
    """Rows of a frame (the length of its first column)."""
    for value in frame.values():
        return len(value)
    return 0


def take_rows(frame: Mapping[str, Column], rows: npt.ArrayLike) -> Frame:
    """The frame's rows at ``rows`` (numpy or Arrow columns alike)."""
    index = np.asarray(rows, dtype=np.int64)
    out: Frame = {}
    for name, value in frame.items():
        out[name] = value.take(pa.array(index)) if isinstance(value, pa.Array) else value[index]
    return out


def append(a: Mapping[str, Column], b: Mapping[str, Column]) -> Frame:
    """Rows of ``a`` followed by rows of ``b`` (same columns; mixed column kinds allowed)."""
    out: Frame = {}
    for name, left in a.items():
        right = b[name]
        if isinstance(left, np.ndarray) and isinstance(right, np.ndarray):
            out[name] = np.concatenate([left, right])
        else:
            la = left if isinstance(left, pa.Array) else _as_string_array(left)
            ra = right if isinstance(right, pa.Array) else _as_string_array(right)
            out[name] = pa.concat_arrays([la.cast(pa.string()), ra.cast(pa.string())])
    return out


def _as_string_array(value: Column) -> pa.Array:
    if isinstance(value, pa.ChunkedArray):
        return value.combine_chunks()
    if isinstance(value, pa.Array):
        return value
    return pa.array(value, pa.string(), from_pandas=True)


def cell(frame: Mapping[str, Column], column: str, row: int) -> Any:
    """One value of a frame as a Python object (None for nulls)."""
    value = frame[column]
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return value[row].as_py()
    item = value[row]
    return item.item() if isinstance(item, np.generic) else item


def blank(values: np.ndarray, keep: npt.NDArray[np.bool_]) -> np.ndarray:
    """An object copy of ``values`` with None where ``keep`` is False."""
    out = np.asarray(values, dtype=object).copy()
    out[~np.asarray(keep, dtype=bool)] = None
    return out


def first_occurrences(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True at the first occurrence of each value (sort-based; fast on large integer arrays)."""
    v = np.asarray(values)
    order = np.argsort(v, kind="stable")
    s = v[order]
    first = np.ones(len(v), dtype=bool)
    first[order[1:]] = s[1:] != s[:-1]
    return first


def unique_ints(values: npt.ArrayLike) -> IntArray:
    """Sorted distinct values of an integer array."""
    s = np.sort(np.asarray(values, dtype=np.int64))
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def contains_sorted(table: IntArray, keys: IntArray) -> npt.NDArray[np.bool_]:
    """True where ``keys`` occur in the sorted array ``table``."""
    if len(table) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(table, keys), len(table) - 1)
    return table[pos] == keys


def weekday(days: npt.ArrayLike) -> IntArray:
    """Day of week (Monday 0) of day numbers."""
    return (np.asarray(days, dtype=np.int64) + 3) % 7


def to_weekday(days: npt.ArrayLike) -> IntArray:
    """Move Saturdays back to Friday and Sundays on to Monday."""
    d = np.asarray(days, dtype=np.int64)
    wd = weekday(d)
    return d + np.where(wd == 5, -1, 0) + np.where(wd == 6, 1, 0)


def next_weekday(days: npt.ArrayLike) -> IntArray:
    """Move Saturdays and Sundays on to Monday: for work that must follow an event
    (billing after a discharge), which :func:`to_weekday` could move back before it."""
    d = np.asarray(days, dtype=np.int64)
    wd = weekday(d)
    return d + np.where(wd == 5, 2, 0) + np.where(wd == 6, 1, 0)
