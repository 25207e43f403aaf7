"""HL7 v2 ER7 encoding: split a message into segments, fields, repetitions and components.

A small, fast tokenizer instead of hl7apy's object tree: ``hl7apy.parser.parse_message``
takes about 22 ms for one ADT message on the reference machine (45 messages/s per core),
far from the 500 messages/s an MLLP feed needs. The tests check this tokenizer field by
field against hl7apy on the synthetic messages (which also pass hl7apy's strict
validation), and its escaping on values hypothesis builds.

The encoding characters come from each message's own MSH-1 and MSH-2. Field numbering
follows the standard: for MSH, MSH-1 is the field separator and MSH-2 the encoding
characters; for every other segment field 1 is the first after the segment name.
Escape sequences (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\``) are decoded when a value is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from phiwarden.formats.hl7_encoding import Encoding, unescape

#: Frame bytes of MLLP (start block, end block) and the segment terminator.
START_BLOCK, END_BLOCK, CR = b"\x0b", b"\x1c", b"\r"
_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENVELOPE = ("FHS", "BHS", "BTS", "FTS")


class Hl7Error(ValueError):
    """A message phiwarden cannot take: ``ack_code`` is AR (malformed) or AE (content).

    ``error_code`` is from HL7 table 0357 (100 segment sequence, 101 required field
    missing, 102 data type error, 200 unsupported message type, 207 internal error).
    The text names fields, never their values, so it is safe in the quarantine and in
    a NAK.
    """

    def __init__(self, reason: str, *, ack_code: str = "AE", error_code: str = "101") -> None:
        super().__init__(reason)
        self.reason = reason
        self.ack_code = ack_code
        self.error_code = error_code


class Segment:
    """One segment: its name and raw field texts, read by position."""

    __slots__ = ("enc", "fields", "name")

    def __init__(self, name: str, fields: list[str], enc: Encoding) -> None:
        self.name = name
        self.fields = fields
        self.enc = enc

    def raw(self, n: int) -> str:
        """Field ``n`` as written (escapes and delimiters untouched); '' when absent."""
        return self.fields[n] if 0 < n < len(self.fields) else ""

    def reps(self, n: int) -> list[str]:
        """The non-empty repetitions of field ``n``, raw."""
        raw = self.raw(n)
        if not raw or (self.name == "MSH" and n <= 2):
            return [raw] if raw else []
        return [r for r in raw.split(self.enc.repetition) if r]

    def comp(self, rep: str, c: int = 1, s: int = 1) -> str:
        """Component ``c`` (subcomponent ``s``) of one repetition, unescaped and trimmed."""
        comps = rep.split(self.enc.component)
        if c > len(comps):
            return ""
        subs = comps[c - 1].split(self.enc.subcomponent)
        value = subs[s - 1] if s <= len(subs) else ""
        return unescape(value, self.enc).strip()

    def get(self, n: int, c: int = 1, s: int = 1) -> str:
        """Component ``c`` of the first repetition of field ``n`` ('' when absent)."""
        reps = self.reps(n)
        return self.comp(reps[0], c, s) if reps else ""


@dataclass(frozen=True)
class Message:
    """A parsed message: its segments in order and the MSH values every reader needs."""

    segments: list[Segment]
    enc: Encoding

    @property
    def msh(self) -> Segment:
        """The header segment."""
        return self.segments[0]

    @property
    def control_id(self) -> str:
        """MSH-10, echoed in the acknowledgement."""
        return self.msh.get(10)

    @property
    def message_type(self) -> tuple[str, str]:
        """MSH-9 message code and trigger event, e.g. ('ADT', 'A04')."""
        return self.msh.get(9, 1).upper(), self.msh.get(9, 2).upper()

    def all(self, name: str) -> list[Segment]:
        """Every segment with this name, in order."""
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        """The first segment with this name, if any."""
        return next((s for s in self.segments if s.name == name), None)


def _encoding(header: str) -> Encoding:
    if len(header) < 8 or not header.startswith("MSH"):
        raise Hl7Error(
            "the message does not start with an MSH segment: every message must begin with one",
            ack_code="AR",
            error_code="100",
        )
    sep = header[3]
    chars = header[4:].split(sep, 1)[0]
    if (
        len(chars) not in (4, 5)
        or len(set(chars + sep)) != len(chars) + 1
        or any(ch.isalnum() or ch.isspace() for ch in chars + sep)
    ):
        raise Hl7Error(
            "MSH-1/MSH-2 do not hold five distinct delimiters (e.g. |^~\\&)",
            ack_code="AR",
            error_code="102",
        )
    return Encoding(sep, chars[0], chars[1], chars[2], chars[3])


def parse_message(text: str) -> Message:
    """Split a message into segments; raises Hl7Error when it is not ER7-encoded HL7 v2."""
    lines = [ln for ln in _LINE_BREAK.split(text.strip("\x0b\x1c\r\n \t\x00")) if ln.strip()]
    if not lines:
        raise Hl7Error("empty message", ack_code="AR", error_code="100")
    enc = _encoding(lines[0])
    segments: list[Segment] = []
    for number, line in enumerate(lines, start=1):
        parts = line.split(enc.field)
        name = parts[0].strip()
        if not _SEGMENT_NAME.fullmatch(name):
            raise Hl7Error(
                f"segment {number} has no valid segment name", ack_code="AR", error_code="100"
            )
        if name == "MSH":
            if number > 1:
                raise Hl7Error(
                    f"segment {number} is a second MSH: one message per frame",
                    ack_code="AR",
                    error_code="100",
                )
            parts = ["MSH", enc.field, *parts[1:]]
        segments.append(Segment(name, parts, enc))
    message = Message(segments, enc)
    if not message.message_type[0]:
        raise Hl7Error(
            "MSH-9 (message type) is empty: send e.g. ADT^A04", ack_code="AR", error_code="101"
        )
    return message


def decode(data: bytes) -> str:
    """Bytes of a message as text: UTF-8 when valid, else Latin-1 (HL7's usual 8-bit set)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True)
class RawMessage:
    """One message cut from a file: its number in the file, byte offset and bytes."""

    number: int
    offset: int
    data: bytes

    @property
    def location(self) -> str:
        """Where it is, for the quarantine."""
        return f"message {self.number} at byte {self.offset}"


_SPLIT = re.compile(rb"\r\n|\r|\n|\x0b|\x1c")


def _lines(stream: BinaryIO, block: int) -> Iterator[tuple[int, bytes, bool]]:
    """(offset, line, ends a frame) for every line of a byte stream."""
    base, carry = 0, b""
    while True:
        chunk = stream.read(block)
        data = carry + chunk
        start = 0
        for m in _SPLIT.finditer(data):
            if m.end() == len(data) and chunk and m.group() == b"\r":
                break  # a CR at the end of a block may be half of a CRLF
            yield base + start, data[start : m.start()], m.group() == END_BLOCK
            start = m.end()
        base, carry = base + start, data[start:]
        if not chunk:
            if carry:
                yield base, carry, False
            return


def split_messages(stream: BinaryIO, block: int = 1 << 20) -> Iterator[RawMessage]:
    """Cut a file into messages: each starts at an MSH line; MLLP frames and batch
    envelopes (FHS/BHS/BTS/FTS) are taken apart. Lines before the first MSH, and a
    second EVN in one message (its MSH line was lost), come out as messages of their own
    so that the reader quarantines them ("missing MSH") instead of merging them."""
    number, offset, current, has_event = 0, 0, list[bytes](), False

    def flush() -> Iterator[RawMessage]:
        nonlocal number, has_event
        if current:
            number += 1
            yield RawMessage(number, offset, b"\r".join(current))
            current.clear()
        has_event = False

    for pos, line, frame_end in _lines(stream, block):
        head = line.lstrip()
        name = head[:3]
        if name == b"MSH" or (name == b"EVN" and has_event):
            yield from flush()
        if name == b"MSH" or (head and name.decode("latin-1") not in _ENVELOPE):
            if not current:
                offset = pos + len(line) - len(head)
            current.append(head)
            has_event = has_event or name == b"EVN"
        if frame_end:
            yield from flush()
    yield from flush()
