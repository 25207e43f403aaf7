"""NDJSON files as fixed batches of lines, and which resource type each line holds.

A file is cut into batches of ``BATCH_LINES`` lines. The cut is fixed, not tunable: the
access events of a batch become one lake file named after the batch's content, so a
re-run must cut the file exactly as the first run did to find its batches already there.
A batch's lines are one Arrow string array over the bytes read (no Python object per
line), so classifying the lines and handing AuditEvents to DuckDB stay vectorised.

Classification reads ``resourceType`` from the start of the line with one regular
expression over the batch; only lines where it is not the first key, blank lines and
broken lines are parsed in Python, one by one.
"""

from __future__ import annotations

import json
import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Lines per batch (fixed: the batch boundaries are part of each lake file's identity).
BATCH_LINES = 100_000
_READ_BYTES = 4 << 20
_BOM = b"\xef\xbb\xbf"
_TYPE = r'^\s*\{\s*"resourceType"\s*:\s*"(?P<t>[A-Za-z]+)"'
_TYPE_NAME = re.compile(r"[A-Za-z]{1,64}")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
#: Line codes that are not a resource type to load.
SKIP = 255
_PYTHON = 254


@dataclass(frozen=True)
class Span:
    """Where a batch sits in its file: number, first line (1-based) and byte range."""

    number: int
    first_line: int
    start: int
    end: int


@dataclass
class Classified:
    """Per line of a batch: a type code (or SKIP), plus what to reject and Bundles found."""

    codes: np.ndarray
    rejected: list[tuple[int, str]] = field(default_factory=list)
    bundles: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _newlines(
    data: bytes | bytearray | memoryview, scratch: np.ndarray | None = None
) -> np.ndarray:
    """Offsets just past each newline of ``data`` (``scratch`` saves an allocation)."""
    raw = np.frombuffer(data, np.uint8)
    mask = np.equal(raw, 10, out=scratch[: len(raw)] if scratch is not None else None)
    return np.flatnonzero(mask) + 1


def _mapped(fh: BinaryIO, start: int, end: int) -> memoryview:
    """Bytes ``start:end`` of a file, memory-mapped (the batch is never copied)."""
    aligned = start - start % mmap.ALLOCATIONGRANULARITY
    mapped = mmap.mmap(fh.fileno(), end - aligned, offset=aligned, access=mmap.ACCESS_READ)
    return memoryview(mapped)[start - aligned :]


def scan(
    path: Path, batch_lines: int = BATCH_LINES
) -> Iterator[tuple[Span, memoryview, np.ndarray]]:
    """Read a file as consecutive batches of ``batch_lines`` lines.

    Yields each batch's span, bytes and line end offsets (so the lines need not be
    searched for again). Newlines are found through one reused read buffer; the batch
    itself is a memory map of the file, so its bytes are never copied (the file must not
    be truncated while it is read).
    """
    buffer = bytearray(_READ_BYTES)
    scratch = np.empty(_READ_BYTES, np.bool_)
    with path.open("rb") as fh:
        start = 3 if fh.read(3) == _BOM else 0
        fh.seek(start)
        found: list[np.ndarray] = []
        pos, count, number, first_line = start, 0, 0, 1
        while True:
            size = fh.readinto(buffer)
            if size:
                found.append(_newlines(memoryview(buffer)[:size], scratch) + pos)
                pos, count = pos + size, count + len(found[-1])
            while count >= batch_lines or (not size and pos > start):
                ends = np.concatenate(found) if len(found) > 1 else found[0]
                if count >= batch_lines:
                    cut = int(ends[batch_lines - 1])
                    batch_ends, rest = ends[:batch_lines], ends[batch_lines:]
                else:  # the end of the file: all that is left (maybe without a newline)
                    cut, rest = pos, ends[:0]
                    full = bool(len(ends)) and int(ends[-1]) == pos
                    batch_ends = ends if full else np.append(ends, pos)
                data = _mapped(fh, start, cut)
                yield Span(number, first_line, start, cut), data, batch_ends - start
                found, count = [rest], len(rest)
                number, first_line, start = number + 1, first_line + batch_lines, cut
            if not size:
                return


def read_span(path: Path, span: Span) -> bytes:
    """The bytes of one batch, read again in a later pass."""
    with path.open("rb") as fh:
        fh.seek(span.start)
        return fh.read(span.end - span.start)


def to_lines(
    data: bytes | memoryview, ends: np.ndarray | None = None
) -> tuple[pa.Array, list[int]]:
    """The lines of a batch as strings (newline kept), and the lines that are not UTF-8.

    ``ends`` are the line end offsets when known. A line that is not UTF-8 text is
    replaced by an empty one and reported by index.
    """
    size = len(data)
    if ends is None:
        ends = _newlines(data)
        if not len(ends) or ends[-1] != size:
            ends = np.append(ends, size)
    offsets = np.concatenate([np.zeros(1, np.int64), ends])
    kind: pa.DataType = pa.string() if size < 2**31 else pa.large_string()
    width = np.int32 if size < 2**31 else np.int64
    lines = pa.Array.from_buffers(
        kind, len(ends), [None, pa.py_buffer(offsets.astype(width)), pa.py_buffer(data)]
    )
    try:
        lines.validate(full=True)
        return lines, []
    except pa.ArrowInvalid:
        texts: list[str] = []
        bad: list[int] = []
        for i in range(len(ends)):
            try:
                texts.append(bytes(data[int(offsets[i]) : int(offsets[i + 1])]).decode("utf-8"))
            except UnicodeDecodeError:
                texts.append("")
                bad.append(i)
        return pa.array(texts, pa.string()), bad


def loads(text: str | bytes) -> Any:
    """Parse JSON like DuckDB does: an escaped lone surrogate (not Unicode) is malformed."""
    value = json.loads(text)
    escapes = _SURROGATE.search(text if isinstance(text, str) else text.decode("utf-8", "replace"))
    if escapes is not None:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("an escaped lone surrogate is not Unicode text") from None
    return value


def _from_python(line: str, codes: dict[str, int], out: Classified, i: int) -> int:
    """Classify one line by parsing it; returns its code (SKIP for anything not loaded)."""
    if not line.strip():
        return SKIP
    try:
        resource = loads(line)
    except (ValueError, RecursionError) as exc:
        detail = f" ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        out.rejected.append((i, f"malformed JSON{detail}"))
        return SKIP
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(kind, str):
        out.rejected.append((i, "not a FHIR resource: expected a JSON object with resourceType"))
        return SKIP
    if kind == "Bundle":
        out.bundles.append((i, resource))
        return SKIP
    return _known(kind, codes, out, i)


def _known(kind: str, codes: dict[str, int], out: Classified, i: int) -> int:
    if kind in codes:
        return codes[kind]
    if kind != "OperationOutcome":  # bulk-data error reports, not records
        out.rejected.append((i, unsupported(kind, codes)))
    return SKIP


def unsupported(kind: str, codes: dict[str, int]) -> str:
    """The quarantine reason for a resource type phiwarden does not read."""
    if not _TYPE_NAME.fullmatch(kind):
        return "not a FHIR resource: resourceType is not a resource type name"
    return f"resourceType {kind} is not read by phiwarden (it reads {', '.join(codes)})"


def classify(lines: pa.Array, codes: dict[str, int], bad_utf8: list[int]) -> Classified:
    """The type code of every line of a batch; ``codes`` maps each loaded type to its code."""
    n = len(lines)
    out = Classified(np.full(n, SKIP, np.uint8))
    if n == 0:
        return out
    audit = codes.get("AuditEvent")
    if audit is not None and pc.all(pc.starts_with(lines, '{"resourceType":"AuditEvent"')).as_py():
        out.codes[:] = audit
    else:
        names = pc.struct_field(pc.extract_regex(lines, _TYPE), [0]).dictionary_encode()
        kinds: list[str] = names.dictionary.to_pylist()
        lookup = np.array([*(codes.get(k, _PYTHON) for k in kinds), _PYTHON], np.uint8)
        index = names.indices.fill_null(len(kinds)).to_numpy(zero_copy_only=False)
        out.codes[:] = lookup[index]
        for i in np.flatnonzero(out.codes == _PYTHON).tolist():
            kind = kinds[index[i]] if index[i] < len(kinds) else None
            if kind is None or kind == "Bundle":  # no type up front, or a Bundle to unpack
                out.codes[i] = _from_python(lines[i].as_py(), codes, out, i)
            else:
                out.codes[i] = _known(kind, codes, out, i)
    for i in bad_utf8:
        out.codes[i] = SKIP
        out.rejected.append((i, "not UTF-8 text"))
    out.rejected.sort()
    return out


def first_resource_type(path: Path) -> str | None:
    """The resourceType of a file's first non-blank line (None if it has none)."""
    with path.open("rb") as fh:
        head = fh.read(3)
        if head != _BOM:
            fh.seek(0)
        for raw in fh:
            if not raw.strip():
                continue
            try:
                resource = json.loads(raw)
            except (ValueError, RecursionError):
                return None
            kind = resource.get("resourceType") if isinstance(resource, dict) else None
            return kind if isinstance(kind, str) else None
    return None
