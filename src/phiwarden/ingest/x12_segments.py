"""A small X12 segment reader: separators from the ISA, envelopes, transaction sets.

The Python X12 libraries either lack the 005010X279A1 map or do not import with pydantic
2, and phiwarden needs only a few segments, so this reads X12 directly. Separators come
from each interchange's own ISA (element separator right after ``ISA``, component
separator in ISA16, segment terminator after it), so files with ``|``, ``^``, ``~``,
newlines or control characters as separators all read. Segments are numbered from 1 across
the file; a problem names the segment where it was found.

Envelope errors are contained: a bad interchange (malformed ISA, missing or mismatched
IEA) is reported whole and the next interchange in the file is still read; a bad
functional group (GE) or transaction set (SE count or control number) is reported alone
and its neighbours come through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ISA_ELEMENTS = 16


@dataclass(frozen=True)
class Separators:
    """The delimiters one interchange declares in its ISA."""

    element: str
    component: str
    segment: str
    repetition: str | None


@dataclass(frozen=True)
class Segment:
    """One segment: its number in the file and its elements (``elements[0]`` is the id)."""

    number: int
    elements: tuple[str, ...]

    @property
    def tag(self) -> str:
        """The segment id (``NM1``, ``HL``...)."""
        return self.elements[0]

    def get(self, position: int) -> str:
        """Element ``position`` as X12 counts them (NM103 is ``get(3)``), trimmed; '' if absent."""
        return self.elements[position].strip() if position < len(self.elements) else ""


@dataclass(frozen=True)
class Envelope:
    """Who sent an interchange, when, and its control numbers (for stable record ids)."""

    sender: str
    receiver: str
    date: str
    time: str
    control: str
    group_control: str = ""


@dataclass(frozen=True)
class Transaction:
    """One ST..SE transaction set with the envelope it came in."""

    envelope: Envelope
    segments: tuple[Segment, ...]
    separators: Separators

    @property
    def kind(self) -> str:
        """The transaction set id (``271``)."""
        return self.segments[0].get(1)

    @property
    def control(self) -> str:
        """ST02, the transaction set control number."""
        return self.segments[0].get(2)


@dataclass(frozen=True)
class Problem:
    """Something that cannot be read: where (segment number), why, and the raw text."""

    segment: int
    reason: str
    raw: str


@dataclass
class _Scanner:
    text: str
    pos: int = 0
    number: int = 0


def decode(data: bytes) -> str:
    """X12 bytes as text: UTF-8 when valid, else Latin-1 (which never fails)."""
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def detect_separators(text: str, start: int) -> Separators | str:
    """Separators of the ISA starting at ``start``, or why they cannot be read."""
    element = text[start + 3] if len(text) > start + 3 else ""
    if not element or element.isalnum() or element == " ":
        return f"ISA has no element separator after 'ISA' (found {element!r})"
    pos = start
    for _ in range(_ISA_ELEMENTS):
        pos = text.find(element, pos + 1)
        if pos < 0:
            return f"ISA has fewer than {_ISA_ELEMENTS} elements"
    if pos + 2 >= len(text):
        return "the ISA header is cut short"
    component, segment = text[pos + 1], text[pos + 2]
    if len({element, component, segment}) < 3 or component.isalnum() or segment.isalnum():
        return "ISA declares unusable separators (ISA16 and the segment terminator)"
    isa11 = text[start:pos].split(element)[11]
    repetition = isa11 if len(isa11) == 1 and not isa11.isalnum() and isa11 != " " else None
    return Separators(element, component, segment, repetition)


def _count(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None


def _segments_of_interchange(scan: _Scanner, seps: Separators) -> list[Segment]:
    """Split segments from the current position through the IEA (or the end of the text)."""
    out: list[Segment] = []
    text = scan.text
    while scan.pos < len(text):
        end = text.find(seps.segment, scan.pos)
        end = len(text) if end < 0 else end
        raw = text[scan.pos : end].strip("\r\n\t ")
        scan.pos = end + 1
        if not raw:
            continue
        scan.number += 1
        elements = tuple(_CONTROL.sub("", e) for e in raw.split(seps.element))
        out.append(Segment(scan.number, elements))
        if elements[0] == "IEA":
            break
    return out


def render(segments: list[Segment] | tuple[Segment, ...], seps: Separators | None) -> str:
    """Segments as X12 text again (for the quarantine's raw record)."""
    element, terminator = (seps.element, seps.segment) if seps else ("*", "~")
    return "\n".join(element.join(s.elements) + terminator for s in segments)


def interchanges(text: str) -> Iterator[Transaction | Problem]:
    """Every transaction set in the text, and a Problem for every part that cannot be read."""
    scan = _Scanner(text)
    while True:
        while scan.pos < len(text) and (text[scan.pos].isspace() or text[scan.pos] == "\x00"):
            scan.pos += 1
        if scan.pos >= len(text):
            return
        if not text.startswith("ISA", scan.pos):
            rest = text[scan.pos : scan.pos + 200]
            yield Problem(scan.number + 1, "expected an ISA interchange header here", rest)
            return
        seps = detect_separators(text, scan.pos)
        if isinstance(seps, str):
            yield Problem(scan.number + 1, seps, text[scan.pos : scan.pos + 200])
            return
        segments = _segments_of_interchange(scan, seps)
        yield from _interchange(segments, seps)


def _interchange(segments: list[Segment], seps: Separators) -> Iterator[Transaction | Problem]:
    isa, last = segments[0], segments[-1]
    raw = render(segments, seps)
    if len(isa.elements) != _ISA_ELEMENTS + 1:
        yield Problem(isa.number, f"ISA has {len(isa.elements) - 1} elements, not 16", raw)
        return
    if last.tag != "IEA":
        yield Problem(isa.number, "interchange has no IEA trailer (is the file cut short?)", raw)
        return
    if last.get(2) != isa.get(13):
        yield Problem(
            last.number, f"IEA02 {last.get(2)!r} does not match ISA13 {isa.get(13)!r}", raw
        )
        return
    envelope = Envelope(isa.get(6), isa.get(8), isa.get(9), isa.get(10), isa.get(13))
    body = segments[1:-1]
    groups = 0
    i = 0
    while i < len(body):
        seg = body[i]
        if seg.tag != "GS":
            yield Problem(
                seg.number,
                f"{seg.tag} segment outside a functional group (GS..GE)",
                render([seg], seps),
            )
            i += 1
            continue
        end = next((j for j in range(i + 1, len(body)) if body[j].tag in ("GE", "GS")), len(body))
        groups += 1
        group_env = replace(envelope, group_control=seg.get(6))
        if end == len(body) or body[end].tag != "GE":
            yield Problem(
                seg.number, "functional group has no GE trailer", render(body[i:end], seps)
            )
            i = end
            continue
        yield from _group(seg, body[i + 1 : end], body[end], group_env, seps)
        i = end + 1
    if _count(last.get(1)) != groups:
        yield Problem(
            last.number,
            f"IEA01 says {last.get(1)} groups, the interchange has {groups}",
            render([last], seps),
        )


def _group(
    gs: Segment, body: list[Segment], ge: Segment, envelope: Envelope, seps: Separators
) -> Iterator[Transaction | Problem]:
    if ge.get(2) != gs.get(6):
        yield Problem(
            ge.number,
            f"GE02 {ge.get(2)!r} does not match GS06 {gs.get(6)!r}",
            render([gs, *body, ge], seps),
        )
        return
    count = 0
    i = 0
    while i < len(body):
        seg = body[i]
        if seg.tag != "ST":
            yield Problem(
                seg.number,
                f"{seg.tag} segment outside a transaction set (ST..SE)",
                render([seg], seps),
            )
            i += 1
            continue
        count += 1
        end = next((j for j in range(i + 1, len(body)) if body[j].tag in ("SE", "ST")), len(body))
        if end == len(body) or body[end].tag != "SE":
            yield Problem(
                seg.number,
                f"transaction set {seg.get(2)!r} has no SE trailer",
                render(body[i:end], seps),
            )
            i = end
            continue
        yield _transaction(tuple(body[i : end + 1]), envelope, seps)
        i = end + 1
    if _count(ge.get(1)) != count:
        yield Problem(
            ge.number,
            f"GE01 says {ge.get(1)} transaction sets, the group has {count}",
            render([ge], seps),
        )


def _transaction(
    segs: tuple[Segment, ...], envelope: Envelope, seps: Separators
) -> Transaction | Problem:
    st, se = segs[0], segs[-1]
    if se.get(2) != st.get(2):
        return Problem(
            se.number, f"SE02 {se.get(2)!r} does not match ST02 {st.get(2)!r}", render(segs, seps)
        )
    if _count(se.get(1)) != len(segs):
        return Problem(
            se.number,
            f"SE01 says {se.get(1)} segments, transaction set {st.get(2)!r} has {len(segs)}",
            render(segs, seps),
        )
    return Transaction(envelope, segs, seps)
