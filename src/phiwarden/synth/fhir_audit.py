"""Write access events as FHIR R4 AuditEvent NDJSON, vectorised with Arrow.

Access logs reach tens of millions of rows, so no Python object is made per event: each
line is a sequence of pieces (a per-row id, or a pre-rendered JSON fragment chosen by a
low-cardinality key such as action, workstation or department), all pieces of a batch
are gathered with one Arrow ``take``, and the resulting string buffer is written as is
by a writer thread while the next batch is built.

Mapping (REFERENCE.md section 4): type DCM 110110 "Patient Record"; action C/R/U/D/E
from the canonical action, which is kept as a subtype in ``urn:phiwarden:access-action``;
``recorded`` is the canonical wall clock written with ``Z``; outcome ``0`` (``4``
for a failure); agent[0] is
the requestor, ``Practitioner/<user_id>`` with the user id as identifier and the
workstation as network address (type 1, machine name); break-the-glass adds subtype
DCM 110127 "Emergency Override Started" and purposeOfEvent v3-ActReason ETREAT, and
agent.purposeOfUse ETREAT with the reason as its text (a reason without break-the-glass
is purposeOfUse text only); source.observer display is the source system (``unknown``
when empty) and source.site the department id; entity[0] is ``Patient/<patient_id>``,
type 1 (person), role 1 (patient).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.domain.canonical_io import read_parquet
from phiwarden.domain.enums import AUDIT_ACTION_CODES
from phiwarden.formats.fhir_codes import ACTION_SYSTEM, USER_SYSTEM

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACTION_CODES = AUDIT_ACTION_CODES
BATCH_ROWS = 200_000

_ETREAT = f'{{"system":"{ACT_REASON}","code":"ETREAT","display":"Emergency Treatment"}}'
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
_EPOCH = date(1970, 1, 1)

Piece: TypeAlias = str | pa.Array | tuple[pa.Array, np.ndarray]
"""A literal, a per-row string column, or a fragment table with one index per row."""


def _q(value: str) -> str:
    """The inside of a JSON string literal for ``value``."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return json.dumps(value)[1:-1]


def json_escape(col: pa.Array) -> pa.Array:
    """Escape string values for use inside a JSON string literal (nulls stay null).

    Plain values (no quote, backslash or control character) pass through untouched;
    only the few values that need it go through ``json.dumps``.
    """
    needs = pc.fill_null(pc.match_substring_regex(col, _NEEDS_ESCAPE), False)
    if not pc.any(needs).as_py():
        return col
    escaped = [_q(v) if n else v for v, n in zip(col.to_pylist(), needs.to_pylist(), strict=True)]
    return pa.array(escaped, pa.string())


def fragments(
    columns: Sequence[pa.Array], render: Callable[..., str]
) -> tuple[pa.Array, np.ndarray]:
    """Render ``render(*values)`` once per distinct key present; return table and row index."""
    n = len(columns[0])
    codes = np.zeros(n, dtype=np.int64)
    dictionaries: list[list[Any]] = []
    for col in columns:
        encoded = pc.dictionary_encode(col)
        values: list[Any] = [*encoded.dictionary.to_pylist(), None]
        indices = encoded.indices.fill_null(len(values) - 1).to_numpy(zero_copy_only=False)
        codes = codes * len(values) + indices
        dictionaries.append(values)
    present, inverse = _dense(codes)
    rendered: list[str] = []
    for code in present.tolist():
        key: list[Any] = []
        for values in reversed(dictionaries):
            code, digit = divmod(code, len(values))
            key.append(values[digit])
        rendered.append(render(*reversed(key)))
    return pa.array(rendered, pa.string()), inverse.astype(np.int64)


def _dense(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct codes in order and each row's position among them (like np.unique)."""
    top = int(codes.max()) + 1 if len(codes) else 0
    if top > 4 * len(codes) + 1_000_000:
        return np.unique(codes, return_inverse=True)
    seen = np.zeros(top, dtype=bool)
    seen[codes] = True
    position = np.cumsum(seen) - 1
    return np.flatnonzero(seen), position[codes]


def assemble(pieces: Sequence[Piece], n: int) -> pa.Array:
    """Concatenate the pieces row by row with a single gather; returns one string per row."""
    if n == 0:
        return pa.array([], pa.string())
    tables: list[pa.Array] = []
    plan: list[tuple[int, np.ndarray | None]] = []
    literals: list[str] = []
    base = 0

    def add(table: pa.Array, index: np.ndarray | None) -> None:
        nonlocal base
        tables.append(table)
        plan.append((base, index))
        base += len(table)

    def flush() -> None:
        if literals:
            add(pa.array(["".join(literals)], pa.string()), np.zeros(1, dtype=np.int64))
            literals.clear()

    for piece in pieces:
        if isinstance(piece, str):
            literals.append(piece)
            continue
        flush()
        if isinstance(piece, tuple):
            add(piece[0], piece[1])
        else:
            add(pc.fill_null(piece, ""), None)
    flush()
    dtype = np.int32 if base < 2**31 else np.int64
    index = np.empty((n, len(plan)), dtype=dtype)
    rows = np.arange(n, dtype=dtype)
    for j, (start, idx) in enumerate(plan):
        index[:, j] = start + (rows if idx is None else idx)
    flat = pa.concat_arrays([t.cast(pa.string()) for t in tables])
    gathered = pc.take(flat, pa.array(index.ravel()))
    offsets_buf, data_buf = gathered.buffers()[1], gathered.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[gathered.offset :][: n * len(plan) + 1]
    row_offsets = np.ascontiguousarray(offsets[:: len(plan)])
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(row_offsets), data_buf])


@lru_cache(maxsize=1)
def _times_of_day() -> pa.Array:
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])


def _day(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).isoformat() + "T"


def _fraction(micros: int) -> str:
    return f".{micros:06d}" if micros else ""


def _agent_head(user: str) -> str:
    """From the end of ``recorded`` to the agent's identifier value (the user id twice)."""
    return (
        f'Z","agent":[{{"who":{{"reference":"Practitioner/{_q(user)}","identifier":'
        f'{{"system":"{USER_SYSTEM}","value":"{_q(user)}'
    )


def _action_fragment(action: str | None, btg: bool | None, outcome: str | None = None) -> str:
    name = action or ""
    subtypes = f'{{"system":"{ACTION_SYSTEM}","code":"{_q(name)}"}}'
    purpose = ""
    if btg:
        subtypes += f',{{"system":"{DCM}","code":"110127","display":"Emergency Override Started"}}'
        purpose = f',"purposeOfEvent":[{{"coding":[{_ETREAT}]}}]'
    code = ACTION_CODES.get(name.lower(), "E")
    return (
        f'","type":{{"system":"{DCM}","code":"110110","display":"Patient Record"}}'
        f',"subtype":[{subtypes}],"action":"{code}","outcome":"{_outcome(outcome)}"{purpose},'
        '"recorded":"'
    )


def _outcome(outcome: str | None) -> str:
    """FHIR audit-event-outcome code: 0 success, 4 minor failure."""
    return "4" if outcome == "failure" else "0"


def _agent_tail(workstation: str | None, btg: bool | None, reason: str | None) -> str:
    out = '"}},"requestor":true'
    if workstation is not None:
        out += f',"network":{{"address":"{_q(workstation)}","type":"1"}}'
    text = f'"text":"{_q(reason)}"' if reason is not None else ""
    if btg:
        out += f',"purposeOfUse":[{{"coding":[{_ETREAT}]' + (f",{text}" if text else "") + "}]"
    elif text:
        out += f',"purposeOfUse":[{{{text}}}]'
    return out + "}]"


def _source(department: str | None, system: str | None) -> str:
    site = f'"site":"{_q(department)}",' if department is not None else ""
    observer = _q(system if system is not None else "unknown")
    return (
        f',"source":{{{site}"observer":{{"display":"{observer}"}}}}'
        ',"entity":[{"what":{"reference":"Patient/'
    )


_ENTITY_TAIL = (
    '"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1"}'
    ',"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1"}}]}\n'
)


def audit_event_lines(batch: pa.Table) -> pa.Array:
    """One NDJSON line (with its newline) per access event of a canonical batch."""

    def col(name: str) -> pa.Array:
        return batch.column(name).combine_chunks()

    btg = col("break_the_glass")
    micros = col("ts").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    seconds, fraction = np.divmod(micros, 1_000_000)
    days, second_of_day = np.divmod(seconds, 86400)
    time_pieces: list[Piece] = [(_times_of_day(), second_of_day)]
    if fraction.any():
        time_pieces.append(fragments([pa.array(fraction)], _fraction))
    pieces: list[Piece] = [
        '{"resourceType":"AuditEvent","id":"',
        json_escape(col("event_id")),
        fragments(
            [col("action"), btg, pa.array(days), col("outcome")],
            lambda a, b, d, o: _action_fragment(a, b, o) + _day(d),
        ),
        *time_pieces,
        fragments([col("user_id")], _agent_head),
        fragments([col("workstation"), btg, col("btg_reason")], _agent_tail),
        fragments([col("department_id"), col("source_system")], _source),
        json_escape(col("patient_id")),
        _ENTITY_TAIL,
    ]
    return assemble(pieces, len(batch))


def write_string_buffer(lines: pa.Array, out: IO[bytes]) -> None:
    """Write the concatenated values of a null-free string array straight from its buffer."""
    if len(lines) == 0:
        return
    dtype = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offsets_buf, data_buf = lines.buffers()[1], lines.buffers()[2]
    if offsets_buf is None or data_buf is None:
        raise ValueError("expected a string array with offsets and data buffers")
    offsets = np.frombuffer(offsets_buf, dtype=dtype)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    out.write(memoryview(data_buf)[start:end])


def event_files(canonical_dir: Path) -> list[Path]:
    """The access-event Parquet files under ``canonical/access_events``, in day order."""
    root = canonical_dir / "access_events"
    if not root.exists():
        return []
    return sorted(root.rglob("*.parquet"))


def iter_event_batches(canonical_dir: Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """Yield canonical access-event batches, one day file at a time, complete rows only."""
    required = ("event_id", "ts", "user_id", "patient_id")
    for path in event_files(canonical_dir):
        day = read_parquet(path, ACCESS_EVENTS)
        mask = pc.is_valid(day.column(required[0]))
        for name in required[1:]:
            mask = pc.and_(mask, pc.is_valid(day.column(name)))
        day = day.filter(mask)
        for start in range(0, len(day), batch_rows):
            yield day.slice(start, batch_rows)


def _prefetch(batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Read the next batch in a background thread while the current one is processed."""
    with ThreadPoolExecutor(max_workers=1) as reader:
        ahead = reader.submit(next, batches, None)
        while (batch := ahead.result()) is not None:
            ahead = reader.submit(next, batches, None)
            yield batch


def write_audit_events(canonical_dir: Path, path: Path, batch_rows: int = BATCH_ROWS) -> int:
    """Write every access event to ``path`` as AuditEvent NDJSON; return the count.

    Building a batch and writing the previous one overlap (one writer thread), so the
    run is bounded by the slower of the two rather than their sum.
    """
    count = 0
    with path.open("wb") as out, ThreadPoolExecutor(max_workers=1) as writer:
        pending: Future[None] | None = None
        for batch in _prefetch(iter_event_batches(canonical_dir, batch_rows)):
            lines = audit_event_lines(batch)
            if pending is not None:
                pending.result()
            pending = writer.submit(write_string_buffer, lines, out)
            count += len(batch)
        if pending is not None:
            pending.result()
    return count
