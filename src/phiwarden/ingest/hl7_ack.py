"""HL7 v2 acknowledgements: ACK with MSA|AA, or a NAK (MSA|AE / AR) with the reason.

The acknowledgement echoes the message control id (MSH-10) in MSA-2 and goes back to the
sender (MSH-3/4 of the message become MSH-5/6). A NAK carries the reason in MSA-3
(80 characters, as HL7 2.5 allows) and in full in an ERR segment with the HL7 error code
(table 0357) in ERR-3 and severity E. Reasons name fields, never patient data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from phiwarden.formats.hl7_encoding import DEFAULT, Encoding, escape, unescape
from phiwarden.ingest.hl7_er7 import Hl7Error, decode

APPLICATION = "PHIWARDEN"
VERSION = "2.5.1"
_ERROR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "207": "Application internal error",
}
_counter = itertools.count(1)


@dataclass(frozen=True)
class Header:
    """What an acknowledgement needs from the message it answers."""

    control_id: str = ""
    sending_application: str = ""
    sending_facility: str = ""
    trigger: str = ""
    version: str = VERSION


def peek_header(data: bytes) -> Header:
    """Read MSH-3, -4, -9.2, -10 and -12 even from a message too broken to parse."""
    text = decode(data).lstrip("\x0b\r\n \t")
    if not text.startswith("MSH") or len(text) < 8:
        return Header()
    sep = text[3]
    first = text.replace("\n", "\r").split("\r", 1)[0]
    fields = ["MSH", sep, *first.split(sep)[1:]]
    chars = fields[2] if len(fields) > 2 else ""
    enc = DEFAULT
    if len(chars) >= 4 and len(set(chars[:4] + sep)) == 5:
        enc = Encoding(sep, chars[0], chars[1], chars[2], chars[3])

    def value(n: int, comp: int = 1) -> str:
        raw = fields[n] if n < len(fields) else ""
        parts = raw.split(enc.repetition)[0].split(enc.component)
        return unescape(parts[comp - 1], enc).strip() if comp <= len(parts) else ""

    return Header(value(10), value(3), value(4), value(9, 2), value(12) or VERSION)


def acknowledgement(
    header: Header,
    code: str = "AA",
    reason: str = "",
    error_code: str = "",
    *,
    now: datetime | None = None,
) -> bytes:
    """The ACK (code AA) or NAK (AE, AR) for a message, as bytes to frame and send."""
    when = (now or datetime.now()).strftime("%Y%m%d%H%M%S")
    control = f"{when}{next(_counter) % 1_000_000:06d}"
    trigger = escape(header.trigger[:3])
    segments = [
        f"MSH|^~\\&|{APPLICATION}|{APPLICATION}|{escape(header.sending_application)}|"
        f"{escape(header.sending_facility)}|{when}||ACK^{trigger}^ACK|{control}|P|"
        f"{escape(header.version[:8])}",
        f"MSA|{code}|{escape(header.control_id)}" + (f"|{escape(reason[:80])}" if reason else ""),
    ]
    if code != "AA":
        err = error_code or "207"
        segments.append(
            f"ERR|||{err}^{_ERROR_TEXT.get(err, 'Error')}^HL70357|E||||{escape(reason[:250])}"
        )
    return "\r".join(segments).encode("utf-8") + b"\r"


def nak_for(header: Header, error: Hl7Error) -> bytes:
    """The NAK for a message rejected with an Hl7Error."""
    return acknowledgement(header, error.ack_code, error.reason, error.error_code)
