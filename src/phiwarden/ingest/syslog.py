"""Syslog as IHE ATNA sends it: RFC 5424 messages, framed by RFC 6587 on streams.

A stream (TCP, TLS per RFC 5425, or a captured file) carries frames in one of two ways,
told apart frame by frame by the first byte, as RFC 6587 section 3.4 suggests:

- **octet counting** ``MSG-LEN SP SYSLOG-MSG`` (the first byte is a digit), the framing
  RFC 5425 requires on TLS and the only one that survives newlines inside a message;
- **non-transparent framing**: the message runs to the next LF (the first byte is ``<``).

CR, LF and NUL bytes between frames are skipped, so an octet-counted file with a newline
after each frame reads too. A UDP datagram (RFC 5426) is exactly one message, no framing.

:func:`parse_syslog` reads the RFC 5424 header, structured data and MSG (with its UTF-8
BOM removed); it raises :class:`SyslogError` with a reason fit for the quarantine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from phiwarden.formats.syslog import BOM

#: Largest frame accepted; ATNA messages are a few KiB (a query object can be larger).
MAX_FRAME = 1 << 20
_SKIP = b"\r\n\x00"
_DIGITS = b"0123456789"
_MAX_LEN_DIGITS = 9


class SyslogError(ValueError):
    """A frame or message that does not follow RFC 5424 / RFC 6587."""


class FramingError(SyslogError):
    """A stream whose framing is broken: the position of the next frame is unknown."""


@dataclass(frozen=True)
class SyslogMessage:
    """One RFC 5424 message; NILVALUE fields are None, ``msg`` is bytes without the BOM."""

    facility: int
    severity: int
    version: int
    timestamp: str | None
    hostname: str | None
    app_name: str | None
    procid: str | None
    msgid: str | None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)
    msg: bytes = b""


def _nil(token: bytes) -> str | None:
    return None if token == b"-" else token.decode("ascii", "replace")


def parse_syslog(data: bytes) -> SyslogMessage:
    """Parse one RFC 5424 message (no framing); raises SyslogError saying what is wrong."""
    if not data.startswith(b"<"):
        raise SyslogError("not an RFC 5424 message: it does not start with <PRI>")
    end = data.find(b">", 1, 5)
    if end < 2 or not data[1:end].isdigit():
        raise SyslogError("bad PRI: expected <0> to <191> at the start")
    prival = int(data[1:end])
    if prival > 191:
        raise SyslogError(f"bad PRI <{prival}>: the largest is 191")
    parts = data[end + 1 :].split(b" ", 6)
    if len(parts) < 7:
        raise SyslogError(
            "truncated header: expected VERSION TIMESTAMP HOSTNAME APP-NAME "
            "PROCID MSGID STRUCTURED-DATA"
        )
    version, timestamp, hostname, app_name, procid, msgid, rest = parts
    if not version.isdigit() or version.startswith(b"0") or len(version) > 3:
        raise SyslogError(f"bad VERSION {version[:8]!r}: RFC 5424 messages carry 1")
    structured, msg = _structured_data(rest)
    if msg.startswith(BOM):
        msg = msg[len(BOM) :]
    return SyslogMessage(
        facility=prival >> 3,
        severity=prival & 7,
        version=int(version),
        timestamp=_nil(timestamp),
        hostname=_nil(hostname),
        app_name=_nil(app_name),
        procid=_nil(procid),
        msgid=_nil(msgid),
        structured_data=structured,
        msg=msg,
    )


_NAME = rb"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII except '=', ']', '"' (RFC 5424 SD-NAME)
_PARAM = rb" (" + _NAME + rb')="((?:[^"\\]|\\.)*)"'
_ELEMENT = re.compile(rb"\[(" + _NAME + rb")((?:" + _PARAM + rb")*)\]", re.DOTALL)
_PARAMS = re.compile(_PARAM, re.DOTALL)
_UNESCAPE = re.compile(rb'\\(["\\\]])')


def _structured_data(rest: bytes) -> tuple[dict[str, dict[str, str]], bytes]:
    """Split ``STRUCTURED-DATA [SP MSG]`` into SD elements and the MSG bytes."""
    if rest.startswith(b"-"):
        if len(rest) > 1 and rest[1:2] != b" ":
            raise SyslogError("bad STRUCTURED-DATA: '-' must be followed by a space or the end")
        return {}, rest[2:]
    if not rest.startswith(b"["):
        raise SyslogError("bad STRUCTURED-DATA: expected '-' or '['")
    elements: dict[str, dict[str, str]] = {}
    i, n = 0, len(rest)
    while i < n and rest[i] == 0x5B:  # '['
        match = _ELEMENT.match(rest, i)
        if match is None:
            raise SyslogError("bad STRUCTURED-DATA: an element is malformed or not closed")
        params = elements.setdefault(match.group(1).decode("ascii"), {})
        for name, value in _PARAMS.findall(match.group(2)):
            params[name.decode("ascii")] = _UNESCAPE.sub(rb"\1", value).decode("utf-8", "replace")
        i = match.end()
    if i < n and rest[i] != 0x20:
        raise SyslogError("bad STRUCTURED-DATA: expected a space before MSG")
    return elements, rest[i + 1 :]


class Framer:
    """Cuts a byte stream into frames, octet-counted or LF-terminated, told per frame.

    ``feed`` returns ``(offset, frame)`` pairs, the offset counted from the start of the
    stream. At a frame it cannot delimit it stops and sets :attr:`error`: a stream reader
    then closes the connection, a file reader calls :meth:`resync` to go on after the
    next LF.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.error: FramingError | None = None
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._skip_line = False

    @property
    def position(self) -> int:
        """Stream offset of the first byte not yet returned in a frame."""
        return self._base

    @property
    def buffered(self) -> bytes:
        """Bytes received but not yet returned in a frame (at most the first 4 KiB)."""
        return bytes(self._buf[:4096])

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add bytes; return the complete frames now available, in order."""
        self._buf += data
        if self._skip_line:
            self._drop_line()
        frames: list[tuple[int, bytes]] = []
        pos = 0
        try:
            while self.error is None:
                pos, frame = self._next(pos)
                if frame is None:
                    break
                frames.append(frame)
        finally:
            del self._buf[:pos]
            self._base += pos
        return frames

    def _next(self, pos: int) -> tuple[int, tuple[int, bytes] | None]:
        """The frame starting at or after ``pos`` and the position after it, if complete."""
        buf, n = self._buf, len(self._buf)
        while pos < n and buf[pos] in _SKIP:
            pos += 1
        if pos >= n:
            return pos, None
        if buf[pos] in _DIGITS:
            space = buf.find(b" ", pos, pos + _MAX_LEN_DIGITS + 1)
            if space < 0:
                if n - pos > _MAX_LEN_DIGITS or not buf[pos:n].isdigit():
                    self.error = FramingError("bad octet count: expected MSG-LEN SP")
                return pos, None
            digits = bytes(buf[pos:space])
            if not digits.isdigit() or digits.startswith(b"0"):
                self.error = FramingError(f"bad octet count {digits[:12]!r}")
                return pos, None
            length = int(digits)
            if length > self.max_frame:
                self.error = FramingError(f"frame of {length} bytes exceeds {self.max_frame}")
                return pos, None
            end = space + 1 + length
            if n < end:
                return pos, None
            return end, (self._base + pos, bytes(buf[space + 1 : end]))
        newline = buf.find(b"\n", pos)
        if newline < 0:
            if n - pos > self.max_frame:
                self.error = FramingError(f"line longer than {self.max_frame} bytes")
            return pos, None
        end = newline - 1 if newline > pos and buf[newline - 1] == 0x0D else newline
        return newline + 1, (self._base + pos, bytes(buf[pos:end]))

    def _drop_line(self) -> None:
        newline = self._buf.find(b"\n")
        dropped = len(self._buf) if newline < 0 else newline + 1
        del self._buf[:dropped]
        self._base += dropped
        self._skip_line = newline < 0

    def resync(self) -> None:
        """After an error, skip to the byte after the next LF (read by the next ``feed``)."""
        self.error = None
        self._drop_line()

    def finish(self) -> tuple[int, bytes] | None:
        """At the end of the stream: the last unterminated line as a frame, if any.

        Sets :attr:`error` for an octet-counted frame cut short.
        """
        rest = bytes(self._buf).lstrip(_SKIP)
        start = self._base + len(self._buf) - len(rest)
        self._buf.clear()
        self._base = start
        if not rest or self._skip_line or self.error is not None:
            return None
        if rest[0] in _DIGITS:
            self.error = FramingError("the stream ends inside an octet-counted frame")
            return None
        self._base = start + len(rest)
        return start, rest


def read_frames(
    stream: BinaryIO, *, chunk_size: int = 1 << 20, max_frame: int = MAX_FRAME
) -> Iterator[tuple[int, bytes | FramingError]]:
    """Frames of a captured stream (a file) with their byte offsets.

    A framing error is yielded in place of a frame (then reading resumes after the next
    LF), so one broken frame costs one quarantine entry, not the rest of the file.
    """
    framer = Framer(max_frame)
    while chunk := stream.read(chunk_size):
        data: bytes = chunk
        while True:
            yield from framer.feed(data)
            if framer.error is None:
                break
            yield framer.position, framer.error
            framer.resync()
            data = b""
    last = framer.finish()
    if framer.error is not None:
        yield framer.position, framer.error
    elif last is not None:
        yield last


__all__ = [
    "MAX_FRAME",
    "Framer",
    "FramingError",
    "SyslogError",
    "SyslogMessage",
    "parse_syslog",
    "read_frames",
]
