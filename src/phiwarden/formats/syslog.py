"""Syslog wire format (RFC 5424, RFC 6587): the byte-order mark that opens a UTF-8 MSG,
escaping a structured-data value, and octet-counted framing. Shared by the ATNA reader
(``ingest``) and the synthetic ATNA writer (``synth``), owned by neither."""

from __future__ import annotations

#: the UTF-8 byte-order mark RFC 5424 puts before a MSG that is UTF-8
BOM = b"\xef\xbb\xbf"


def sd_escape(value: str) -> str:
    """Escape a structured-data parameter value (``"``, ``\\`` and ``]``)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def octet_frame(message: bytes) -> bytes:
    """Frame one message by octet counting (RFC 6587 3.4.1, the framing of RFC 5425)."""
    return b"%d %s" % (len(message), message)
