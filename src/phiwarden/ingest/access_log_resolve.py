"""Vectorised pieces of the access-log reader: lookups, timestamps and content hashes.

Nothing on the common path loops over rows in Python. A :class:`Lookup` maps a column of
source values (logins, MRNs, metric names, workstations) to targets and 64-bit hashes by
finding each value's position among the values seen so far with one Arrow hash pass;
values never seen before are handled in Python, once each. Event ids are a hash of the
mapped fields of a row, so the same access exported twice (overlapping exports) gets the
same id. Only values that fail to parse (rare) are examined one by one.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.ingest.access_log_mapping import ISO8601

U64 = npt.NDArray[np.uint64]
TS = pa.timestamp("us")
_PRIME = np.uint64(0x100000001B3)
_NULL_HASH = 0x6A09E667F3BCC908
_HEX_PAIRS = np.array(  # byte -> its two hex digits, as one little-endian uint16
    [int.from_bytes(f"{b:02x}".encode(), "little") for b in range(256)], dtype=np.uint16
)


def value_hash(value: str) -> int:
    """A stable 64-bit hash of one source value (BLAKE2b, not Python's salted hash)."""
    return int.from_bytes(
        hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
    )


class Lookup:
    """Distinct source values -> target string (or None) and stable hash, learnt lazily.

    A batch column is matched against the values seen so far (one Arrow hash pass,
    ``index_in``); only values never seen before are looked up in Python, once each.
    ``resolve`` gives the target of a value never seen before (None: unresolvable, the
    caller rejects the row). Thread-safe: the loading threads share one lookup.
    """

    def __init__(
        self, resolve: Callable[[str], str | None], known: dict[str, str] | None = None
    ) -> None:
        self._resolve = resolve
        self._lock = threading.Lock()
        known = known or {}
        self._position: dict[str, int] = {value: i for i, value in enumerate(known)}
        self._target_list: list[str | None] = list(known.values())
        self._values = pa.array(list(known), pa.string())  # source value of each position
        self._targets = pa.array(self._target_list, pa.string())
        self._hashes = np.array([value_hash(v) for v in known], dtype=np.uint64)

    def _learn(self, values: list[str]) -> None:
        with self._lock:
            new = [v for v in dict.fromkeys(values) if v not in self._position]
            if not new:
                return
            first = len(self._target_list)
            self._target_list.extend(self._resolve(v) for v in new)
            added = np.array([value_hash(v) for v in new], dtype=np.uint64)
            # publish the arrays before the positions: a reader that finds a position
            # (without the lock) must find its target and hash too
            self._targets = pa.array(self._target_list, pa.string())
            self._hashes = np.concatenate([self._hashes, added])
            self._values = pa.concat_arrays([self._values, pa.array(new, pa.string())])
            self._position.update({v: first + i for i, v in enumerate(new)})

    def index(self, column: pa.Array) -> pa.Array:
        """Position of each value in the lookup (null for null values), learning new ones."""
        idx = pc.index_in(column, value_set=self._values)
        if idx.null_count > column.null_count:
            unseen = column.filter(pc.and_(pc.is_valid(column), pc.is_null(idx)))
            self._learn(pc.unique(unseen).to_pylist())
            idx = pc.index_in(column, value_set=self._values)
        return pc.cast(idx, pa.int64())

    def targets(self, idx: pa.Array) -> pa.Array:
        """The target of each position (null where unresolvable or null)."""
        return self._targets.take(idx)

    def target_table(self) -> pa.Array:
        """The target of every position learnt so far (positions are never reassigned)."""
        return self._targets

    def hashes(self, idx: pa.Array) -> U64:
        """The hash of each position; null positions get a fixed constant."""
        table = self._hashes
        positions = pc.fill_null(idx, 0).to_numpy(zero_copy_only=False)
        out = table[positions] if len(table) else np.zeros(len(idx), dtype=np.uint64)
        if idx.null_count:
            out = np.where(np.asarray(pc.is_valid(idx)), out, np.uint64(_NULL_HASH))
        return out


def combine(parts: Sequence[U64]) -> U64:
    """One 64-bit hash per row from per-column hashes (FNV-style fold, then a finaliser)."""
    h = np.full(len(parts[0]), np.uint64(0xCBF29CE484222325), dtype=np.uint64)
    for part in parts:
        h = (h ^ part) * _PRIME
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def hex_ids(prefix: str, hashes: U64) -> pa.Array:
    """``prefix`` + 16 lowercase hex digits per hash, built as one Arrow buffer."""
    n = len(hashes)
    head = prefix.encode("utf-8")
    digits = _HEX_PAIRS[hashes.astype(">u8").view(np.uint8)].view(np.uint8).reshape(n, 16)
    out = np.empty((n, len(head) + 16), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    out[:, len(head) :] = digits
    offsets = np.arange(0, (n + 1) * out.shape[1], out.shape[1], dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out)])


def number_repeats(ids: pa.Array, hashes: U64) -> pa.Array:
    """Give repeated identical rows ``-2``, ``-3``... so ids stay unique within a batch."""
    ordered = np.sort(hashes)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(repeated):
        return ids
    rows = np.asarray(pc.indices_nonzero(pc.is_in(pa.array(hashes), value_set=pa.array(repeated))))
    seen: dict[int, int] = {}
    values = ids.take(pa.array(rows)).to_pylist()
    for k, row in enumerate(rows):
        count = seen.get(int(hashes[row]), 0) + 1
        seen[int(hashes[row])] = count
        if count > 1:
            values[k] = f"{values[k]}-{count}"
    mask = np.zeros(len(ids), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(ids, pa.array(mask), pa.array(values, pa.string()))


def _cast_strict(values: pa.Array) -> pa.Array:
    """Arrow's strict ISO 8601 cast; bad values become null (bisecting only around them)."""
    try:
        return pc.cast(values, TS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(values) <= 1:
            return pa.nulls(len(values), TS)
        half = len(values) // 2
        return pa.concat_arrays(
            [_cast_strict(values.slice(0, half)), _cast_strict(values.slice(half))]
        )


_FIELD = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{1,2}",
    "d": r"(?P<day>\d{1,2})",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "p": r"[AaPp][Mm]",
    "b": r"[A-Za-z]+",
    "B": r"[A-Za-z]+",
    "%": "%",
}


def _day_pattern(fmt: str) -> str | None:
    """A regex that captures the day of a strptime format (None if it has no plain %d)."""
    out, i = ["^\\s*"], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            piece = _FIELD.get(fmt[i + 1])
            if piece is None:
                return None
            out.append(piece)
            i += 2
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    pattern = "".join(out) + "\\s*$"
    return pattern if "(?P<day>" in pattern else None


def _strptime(values: pa.Array, fmt: str) -> pa.Array:
    """strptime with invalid days (Feb 30) rejected: Arrow's parser rolls them over."""
    parsed = pc.strptime(values, format=fmt, unit="us", error_is_null=True)
    pattern = _day_pattern(fmt)
    if pattern is None:
        return parsed
    suspect = pc.fill_null(pc.less_equal(pc.day(parsed), 3), False)  # where a rollover lands
    if not pc.any(suspect).as_py():
        return parsed
    rows = pc.indices_nonzero(suspect)
    days = pc.struct_field(pc.extract_regex(values.take(rows), pattern), "day")
    wrong = pc.fill_null(pc.not_equal(pc.cast(days, pa.int64()), pc.day(parsed.take(rows))), True)
    bad = np.zeros(len(values), dtype=bool)
    bad[np.asarray(rows)[np.asarray(wrong)]] = True
    return pc.if_else(pa.array(bad), pa.scalar(None, TS), parsed)


#: What Arrow's ISO 8601 cast can accept; anything else goes straight to the next format.
_ISO_SHAPE = r"^\s*\d{4}-\d{2}-\d{2}(?:[T ][0-9:.,+Z-]*)?\s*$"


def _python_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _scatter(n: int, rows: pa.Array, values: pa.Array) -> pa.Array:
    """An array of ``n`` nulls with ``values`` at positions ``rows``."""
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(rows)] = True
    return pc.replace_with_mask(pa.nulls(n, values.type), pa.array(mask), values)


def _try_cast(values: pa.Array) -> pa.Array | None:
    """Arrow's ISO 8601 cast of the whole array, or None if any value fails it."""
    try:
        return pc.cast(values, TS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _iso(values: pa.Array) -> pa.Array:
    fast = _try_cast(values)  # the common case: clean values, one cast
    if fast is not None:
        return fast
    rows = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(values, _ISO_SHAPE), False))
    subset = pc.utf8_trim_whitespace(values.take(rows))
    parsed = _try_cast(subset)
    if parsed is None:
        plausible = pa.array([_python_iso(v) for v in subset.to_pylist()], pa.bool_())
        parsed = _cast_strict(pc.if_else(plausible, subset, pa.scalar(None, pa.string())))
    return _scatter(len(values), rows, parsed)


def parse_timestamps(values: pa.Array, formats: Sequence[str]) -> pa.Array:
    """Parse text to timestamps trying each format on the values still unparsed."""
    result = pa.nulls(len(values), TS)
    todo = pc.is_valid(values)
    for fmt in formats:
        if not pc.any(todo).as_py():
            break
        everything = values.null_count == 0 and result.null_count == len(values)
        rows = None if everything else pc.indices_nonzero(todo)
        subset = values if rows is None else values.take(rows)
        parsed = _iso(subset) if fmt == ISO8601 else _strptime(subset, fmt)
        result = (
            parsed if rows is None else pc.coalesce(result, _scatter(len(values), rows, parsed))
        )
        todo = pc.and_(pc.is_valid(values), pc.is_null(result))
    return result


def ts_hashes(ts: pa.Array) -> U64:
    """Hash component of parsed timestamps (their microseconds)."""
    micros = pc.fill_null(pc.cast(ts, pa.int64()), 0).to_numpy(zero_copy_only=False)
    hashed: U64 = micros.astype(np.int64).view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return hashed
