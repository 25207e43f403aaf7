"""Turn raw string columns into typed canonical records, rejecting bad rows with reasons.

Conversion is vectorised with Arrow; only when a column fails to convert as a whole are
its values parsed one by one to find which rows are bad. A bad row never stops the rows
around it: it is returned with a reason for the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.domain.canonical import CanonicalTable


class MissingColumnsError(ValueError):
    """The input lacks columns that every record of its type needs."""


@dataclass(frozen=True)
class Rejection:
    """One bad row: its index in the batch and why it was rejected."""

    index: int
    reason: str


@dataclass(frozen=True)
class Validated:
    """The good rows as a typed table, with the batch indices they came from."""

    table: pa.Table
    indices: pa.Array
    rejections: list[Rejection]


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def one_array(col: pa.ChunkedArray) -> pa.Array:
    """The column as one array, without copying a column that has a single chunk."""
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _needs_trim(arr: pa.Array) -> bool:
    """False when trimming whitespace and nulling empty strings would change no value.

    Checks only the first and last byte of each value: when all of them are printable
    ASCII other than space (0x21-0x7e) no value starts or ends with whitespace, Unicode
    whitespace included (its bytes are all outside that range), and none is empty. This
    is far cheaper than trimming, which copies every value; when unsure, say True.
    """
    n = len(arr)
    if n == 0 or arr.null_count == n:
        return False
    _, offsets_buf, data_buf = arr.buffers()
    if data_buf is None or offsets_buf is None:
        return True
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets: npt.NDArray[np.int64] = np.frombuffer(offsets_buf, dtype=width)[
        arr.offset : arr.offset + n + 1
    ].astype(np.int64, copy=False)
    starts, ends = offsets[:-1], offsets[1:]
    if arr.null_count:
        valid = np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)
        starts, ends = starts[valid], ends[valid]
    if bool(np.any(ends <= starts)):
        return True
    data = np.frombuffer(data_buf, dtype=np.uint8)
    printable = np.uint8(0x7E - 0x21)
    first_ok = np.all((data[starts] - np.uint8(0x21)) <= printable)
    return not (first_ok and np.all((data[ends - 1] - np.uint8(0x21)) <= printable))


def _convert(col: pa.ChunkedArray | pa.Array, target: pa.DataType) -> pa.Array:
    arr = one_array(col) if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        if _needs_trim(arr):
            arr = pc.utf8_trim_whitespace(arr)
            arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
        if pa.types.is_boolean(target):
            lowered = pc.utf8_lower(arr)
            bad = pc.invert(pc.is_in(lowered, pa.array(sorted(_TRUE | _FALSE))))
            if pc.any(pc.and_kleene(bad, pc.is_valid(lowered))).as_py():
                raise pa.ArrowInvalid("not a boolean")
            truth = pc.is_in(lowered, pa.array(sorted(_TRUE)))
            return pc.if_else(pc.is_valid(lowered), truth, pa.scalar(None, pa.bool_()))
        if pa.types.is_timestamp(target):
            arr = pc.replace_substring(arr, " ", "T")
    return arr if arr.type == target else pc.cast(arr, target)


def _bad_values(col: pa.Array, target: pa.DataType) -> list[int]:
    bad = []
    for i in range(len(col)):
        try:
            _convert(col.slice(i, 1), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
            bad.append(i)
    return bad


def validate(raw: pa.Table, table: CanonicalTable) -> Validated:
    """Type a batch of raw rows by the canonical schema; collect rejected rows with reasons.

    Unknown extra columns are ignored; missing optional columns are null; missing
    required columns raise MissingColumnsError (the whole input is of the wrong shape).
    """
    missing = [c for c in table.required if c not in raw.column_names]
    if missing:
        raise MissingColumnsError(
            f"{table.name}: the input has no column {', '.join(missing)} "
            f"(required: {', '.join(table.required)}); fix the header or the mapping"
        )
    n = raw.num_rows
    reasons: dict[int, str] = {}
    columns: dict[str, pa.Array] = {}
    for field in table.schema:
        if field.name not in raw.column_names:
            columns[field.name] = pa.nulls(n, field.type)
            continue
        col = one_array(raw.column(field.name))
        try:
            columns[field.name] = _convert(col, field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = set(_bad_values(col, field.type))
            for i in sorted(bad):
                reasons.setdefault(i, f"{field.name}: cannot read as {field.type}")
            flags = np.zeros(n, dtype=bool)
            flags[sorted(bad)] = True
            mask = pa.array(flags)
            columns[field.name] = _convert(
                pc.if_else(mask, pa.scalar(None, col.type), col), field.type
            )
    for name in table.required:
        nulls = pc.is_null(columns[name])
        for i in pc.indices_nonzero(nulls).to_pylist():
            reasons.setdefault(i, f"missing required field {name}")
    typed = pa.table(columns, schema=table.schema)
    indices = pa.array(np.arange(n, dtype=np.int64))
    if reasons:
        keep = np.ones(n, dtype=bool)
        keep[list(reasons)] = False
        typed = typed.filter(pa.array(keep))
        indices = indices.filter(pa.array(keep))
    rejections = [Rejection(i, r) for i, r in sorted(reasons.items())]
    return Validated(typed, indices, rejections)
