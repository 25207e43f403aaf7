"""Read X12 005010X279A1 271 eligibility responses into ``eligibility_responses``.

A 271 tells what identity the payer holds for a member; the insurance-identity red flag
compares it with the registration. Each transaction set is walked by its HL loops
(20 information source, 21 receiver, 22 subscriber, 23 dependent). One record comes from
each subscriber loop without dependents (loop ``2100C``) and from each dependent loop
(``2100D``, member id from its subscriber): name (NM1), SSN (REF*SY), address (N3/N4),
date of birth and sex (DMG*D8), rejection code (AAA03), "payer changed identifying data"
(INS03/INS04 = 001/25), and the payer (NM1 of the 2100A loop). Identity segments are read
up to the first EB: after it come benefit loops (2110/2120), not the person.

The answer is attached to what it answers: the inquiry's trace echoed back as ``TRN*2``
(phiwarden's 270 sends the registration id; a trace that names no known registration is
quarantined as an unknown reference), and ``REF*EJ`` (patient account number) when it
names a known coverage. ``response_id`` is derived from the interchange (sender, receiver,
date, control numbers), the ST control number and the HL id, so a re-sent file gets the
same ids and loads nothing twice. Unreadable interchanges, groups, transaction sets and
loops go to quarantine with the file, the segment number and the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from phiwarden.domain.canonical import ELIGIBILITY_RESPONSES
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.x12_segments import (
    Problem,
    Segment,
    Transaction,
    decode,
    interchanges,
    render,
)

Progress = Callable[[str, int, int], None]
Row = dict[str, str | None]
#: Records per loader batch (one transaction each).
BATCH_ROWS = 5_000
#: Longest value the operational store keeps in an identifier or name column.
MAX_VALUE = 255
SUFFIXES = (".x12", ".edi", ".271", ".txt", ".dat")
_LEVELS = {"20": None, "21": "20", "22": "21", "23": "22"}
_SNIFF = re.compile(r"^\s*ISA(.)")


@dataclass
class _Loop:
    """One HL loop: its id, parent, level and the segments up to the next HL."""

    hl: Segment
    segments: list[Segment] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.hl.get(1)

    @property
    def parent(self) -> str:
        return self.hl.get(2)

    @property
    def level(self) -> str:
        return self.hl.get(3)

    def identity(self) -> list[Segment]:
        """The person's segments: up to the first EB (benefit loops follow it)."""
        out = []
        for seg in self.segments:
            if seg.tag in ("EB", "LS"):
                break
            out.append(seg)
        return out

    def first(self, tag: str, qualifier: str | None = None) -> Segment | None:
        for seg in self.identity():
            if seg.tag == tag and (qualifier is None or seg.get(1) == qualifier):
                return seg
        return None


def sniff(path: Path) -> bool:
    """True for an X12 file holding a 271 (or a folder with one)."""
    if path.is_dir():
        return any(_sniff_file(p) for p in _files(path)[:5])
    return _sniff_file(path)


def _head(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return decode(fh.read(64 * 1024))
    except OSError:
        return ""


def _sniff_file(path: Path) -> bool:
    head = _head(path)
    match = _SNIFF.match(head)
    return match is not None and f"ST{match.group(1)}271" in head


def _files(root: Path) -> list[Path]:
    """X12 files under a folder: an X12 suffix and content that starts with an ISA."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and _head(p).lstrip().startswith("ISA")
    )


def load(loader: Loader, path: Path, progress: Progress | None = None) -> None:
    """Load one X12 file, or every X12 file (``*.x12``, ``*.edi``...) under a folder."""
    files = _files(path) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"{path}: no X12 files here (expected e.g. 271_20260105.x12)")
    for file in files:
        load_file(loader, file, progress)


def load_file(loader: Loader, path: Path, progress: Progress | None = None) -> None:
    """Read every 271 in one file and hand the responses to the loader in batches."""
    source = str(path)
    data = path.read_bytes()
    text = decode(data)
    digest = hashlib.sha256(data).hexdigest()[:20]
    with loader.engine.connect() as conn:
        registrations = loader.known_keys(conn, "registrations")
        coverages = loader.known_keys(conn, "coverages")
    rows: list[Row] = []
    where: list[str] = []
    number = 0

    def flush() -> None:
        nonlocal number
        if not rows:
            return
        raw = pa.table(
            {
                f.name: pa.array([r.get(f.name) for r in rows], pa.string())
                for f in ELIGIBILITY_RESPONSES.schema
            }
        )
        at = list(where)
        loader.load(
            ELIGIBILITY_RESPONSES,
            raw,
            source=source,
            locate=lambda i: at[i],
            batch_key=f"{digest}-{number:05d}",
        )
        if progress is not None:
            progress(ELIGIBILITY_RESPONSES.name, len(rows), 0)
        number += 1
        rows.clear()
        where.clear()

    for item in interchanges(text):
        found = (
            [item]
            if isinstance(item, Problem)
            else list(_responses(item, registrations, coverages))
        )
        for entry in found:
            if isinstance(entry, Problem):
                _reject(loader, source, entry)
                continue
            row, segment = entry
            rows.append(row)
            where.append(f"segment {segment}")
            if len(rows) >= BATCH_ROWS:
                flush()
    flush()


def _reject(loader: Loader, source: str, problem: Problem) -> None:
    loader.reject_unparseable(
        source=source,
        location=f"segment {problem.segment}",
        record_type=ELIGIBILITY_RESPONSES.name,
        reason=problem.reason[:500],
        raw=problem.raw,
    )


def _loops(tx: Transaction) -> list[_Loop] | Problem:
    """The HL loops of a transaction set, checked for ids, parents and levels."""
    loops: list[_Loop] = []
    by_id: dict[str, _Loop] = {}
    for seg in tx.segments[1:-1]:
        if seg.tag == "HL":
            loop = _Loop(seg)
            if not loop.id or loop.id in by_id:
                return Problem(seg.number, f"HL01 {loop.id!r} is missing or repeated", "")
            if loop.level not in _LEVELS:
                return Problem(seg.number, f"HL03 {loop.level!r} is not a 271 level (20-23)", "")
            parent = by_id.get(loop.parent)
            wanted = _LEVELS[loop.level]
            if (parent.level if parent else None) != wanted:
                return Problem(
                    seg.number,
                    f"HL {loop.id} (level {loop.level}) must have a "
                    f"parent of level {wanted or 'none'}",
                    "",
                )
            by_id[loop.id] = loop
            loops.append(loop)
        elif loops:
            loops[-1].segments.append(seg)
    return loops


def _responses(
    tx: Transaction, registrations: set[str], coverages: set[str]
) -> Iterator[tuple[Row, int] | Problem]:
    """One row (with the segment number of its HL) per subscriber or dependent loop."""
    raw = render(tx.segments, tx.separators)
    if tx.kind != "271":
        yield Problem(
            tx.segments[0].number,
            f"transaction set {tx.kind!r} is not a 271 eligibility response",
            raw,
        )
        return
    loops = _loops(tx)
    if isinstance(loops, Problem):
        yield Problem(loops.segment, f"transaction set {tx.control!r}: {loops.reason}", raw)
        return
    by_id = {loop.id: loop for loop in loops}
    bht = next((s for s in tx.segments if s.tag == "BHT"), None)
    received = _timestamp(bht.get(4), bht.get(5)) if bht else None
    for loop in loops:
        if loop.level != "22":
            continue
        dependents = [d for d in loops if d.level == "23" and d.parent == loop.id]
        payer_loop = by_id[by_id[loop.parent].parent]
        for person in dependents or [loop]:
            row = _row(tx, person, loop, payer_loop, registrations, coverages)
            row["received_at"] = received
            too_long = next(
                (k for k, v in row.items() if v is not None and len(v) > MAX_VALUE), None
            )
            if too_long:
                yield Problem(
                    person.hl.number, f"{too_long} is longer than {MAX_VALUE} characters", raw
                )
            else:
                yield row, person.hl.number


def _row(
    tx: Transaction,
    person: _Loop,
    subscriber: _Loop,
    payer: _Loop,
    registrations: set[str],
    coverages: set[str],
) -> Row:
    dependent = person is not subscriber
    name = person.first("NM1")
    sub_name = subscriber.first("NM1")
    payer_name = payer.first("NM1")
    dmg = person.first("DMG")
    n3, n4 = person.first("N3"), person.first("N4")
    aaa = person.first("AAA") or (subscriber.first("AAA") if dependent else None)
    ins = person.first("INS")
    traces = [s.get(2) for s in person.identity() if s.tag == "TRN" and s.get(1) == "2"]
    if dependent and not traces:
        traces = [s.get(2) for s in subscriber.identity() if s.tag == "TRN" and s.get(1) == "2"]
    registration = next((t for t in traces if t in registrations), traces[0] if traces else None)
    refs = [s.get(2) for s in person.identity() if s.tag == "REF" and s.get(1) == "EJ"]
    ssn = next((s.get(2) for s in person.identity() if s.tag == "REF" and s.get(1) == "SY"), "")
    env = tx.envelope
    key = "|".join(
        (
            env.sender,
            env.receiver,
            env.date,
            env.time,
            env.control,
            env.group_control,
            tx.control,
            person.id,
        )
    )
    return {
        "response_id": "X12-" + hashlib.sha256(key.encode()).hexdigest()[:24],
        "registration_id": registration or None,
        "coverage_id": next((r for r in refs if r in coverages), None),
        "payer": (payer_name.get(3) if payer_name else "") or None,
        "member_id": (sub_name.get(9) if sub_name else "") or None,
        "loop": "2100D" if dependent else "2100C",
        "first_name": (name.get(4) if name else "") or None,
        "last_name": (name.get(3) if name else "") or None,
        "dob": _date(dmg.get(2)) if dmg and dmg.get(1) == "D8" else None,
        "sex": _sex(dmg.get(3)) if dmg else None,
        "ssn": _ssn(ssn),
        "address_line": " ".join(v for v in (n3.get(1), n3.get(2)) if v) or None if n3 else None,
        "city": (n4.get(1) if n4 else "") or None,
        "state": (n4.get(2) if n4 else "") or None,
        "zip": (n4.get(3) if n4 else "") or None,
        "aaa_code": (aaa.get(3) if aaa else "") or None,
        "ins_changed": "true" if ins and ins.get(3) == "001" and ins.get(4) == "25" else "false",
    }


def _date(value: str) -> str | None:
    """CCYYMMDD as YYYY-MM-DD; anything else is passed on for validation to reject."""
    if len(value) == 8 and value.isascii() and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value or None


def _timestamp(day: str, hhmm: str) -> str | None:
    """BHT04 date and BHT05 time (HHMM, HHMMSS, HHMMSSD...) as an ISO timestamp."""
    date = _date(day)
    if date is None:
        return None
    digits = hhmm[:6] if hhmm.isascii() and hhmm.isdigit() else ""
    if len(digits) not in (4, 6):
        return date if not hhmm else f"{date}T{hhmm}"
    return f"{date}T{digits[:2]}:{digits[2:4]}:{digits[4:6] or '00'}"


def _sex(value: str) -> str | None:
    """DMG03 F or M; U (unknown) and anything else are left empty."""
    return value.upper() if value.upper() in ("F", "M") else None


def _ssn(value: str) -> str | None:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 9:
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return value or None
