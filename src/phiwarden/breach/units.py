"""A source cut into units of work: one mbox message, one PST message, one file.

A unit is small and picklable (a file's path and byte range, or one PST message's bytes),
so a process pool or Spark executors can read it; reading it (:func:`read_unit`) is a pure
function of its bytes. The unit's ``where`` is its stable name, which a resumed scan uses
to skip what is already done. Planning streams: an mbox is cut at its ``From `` lines
without loading it, and a PST is read message by message.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from phiwarden.breach.extract import (
    Item,
    Limits,
    Text,
    Unscannable,
    extract_bytes,
    extract_message,
)

#: the first bytes of an Outlook PST/OST file
PST_MAGIC = b"!BDN"
#: the first bytes of a message in an mbox
MBOX_FROM = b"From "
#: how much is read at once while an mbox is cut into messages
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Unit:
    """One unit of a scan: where it is, and how to read it."""

    kind: Literal["mbox", "file", "raw", "unscannable"]
    where: str
    path: str = ""
    start: int = 0
    stop: int = 0
    raw: bytes = b""
    when: datetime | None = None
    reason: str = ""

    @property
    def size(self) -> int:
        """Bytes of the source this unit covers."""
        if self.kind == "mbox":
            return self.stop - self.start
        if self.kind == "raw":
            return len(self.raw)
        return self.stop

    @property
    def is_message(self) -> bool:
        """True when the unit is one e-mail."""
        return self.kind in ("mbox", "raw") or self.where.lower().endswith((".eml", ".msg"))


def is_pst(path: Path) -> bool:
    """True for an Outlook PST/OST, by its signature or its name."""
    with path.open("rb") as f:
        head = f.read(4)
    return head == PST_MAGIC or path.suffix.lower() in (".pst", ".ost")


def is_mbox(path: Path) -> bool:
    """True for an mbox, by its first line or its name."""
    with path.open("rb") as f:
        head = f.read(5)
    return head == MBOX_FROM or path.suffix.lower() == ".mbox"


def mbox_ranges(path: Path) -> Iterator[tuple[int, int]]:
    """The (start, stop) byte range of each message of an mbox, read in chunks."""
    start: int | None = None
    offset = 0
    carry = b""
    with path.open("rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk and not carry:
                break
            data = carry + chunk
            lines = data.split(b"\n")
            carry = lines.pop() if chunk else b""
            for line in lines:
                if line.startswith(MBOX_FROM):
                    if start is not None:
                        yield start, offset
                    start = offset
                offset += len(line) + 1
            if not chunk:
                if carry.startswith(MBOX_FROM):
                    if start is not None:
                        yield start, offset
                    start = offset
                offset += len(carry)
                break
    if start is not None and offset > start:
        yield start, offset


def _plan_file(path: Path, where: str) -> Iterator[Unit]:
    try:
        if path.stat().st_size == 0:
            yield Unit("unscannable", where, reason="an empty file")
            return
        if is_pst(path):
            yield from _plan_pst(path, where)
            return
        if is_mbox(path):
            for n, (start, stop) in enumerate(mbox_ranges(path), start=1):
                yield Unit("mbox", f"{where}#{n}", str(path), start, stop)
            return
    except OSError as exc:
        yield Unit("unscannable", where, reason=f"cannot be read ({exc.strerror or exc})")
        return
    when = datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)
    yield Unit("file", where, str(path), 0, path.stat().st_size, when=when)


def _plan_pst(path: Path, where: str) -> Iterator[Unit]:
    from phiwarden.breach.outlook import PstMessage, pst_messages

    for found in pst_messages(path):
        if isinstance(found, PstMessage):
            place = where + found.where[len(path.name) :]
            yield Unit("raw", place, raw=found.raw, when=found.when)
        else:
            yield Unit("unscannable", where + found[0][len(path.name) :], reason=found[1])


def plan(path: Path) -> Iterator[Unit]:
    """The units of a mailbox (mbox, PST), a folder (walked in name order) or a file."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: give a mailbox, a folder or a file")
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            yield from _plan_file(child, child.relative_to(path).as_posix())
        return
    yield from _plan_file(path, path.name)


def _dated(items: Iterator[Item], when: datetime | None) -> Iterator[Item]:
    for item in items:
        if when is not None and isinstance(item, Text) and item.when is None:
            yield Text(item.where, item.text, when)
        else:
            yield item


def read_unit(unit: Unit, limits: Limits | None = None) -> Iterator[Item]:
    """Every text and unscannable part of one unit; a unit that cannot be read at all is
    one unscannable item (the scan goes on)."""
    limits = limits or Limits()
    if unit.kind == "unscannable":
        yield Unscannable(unit.where, unit.reason)
        return
    try:
        if unit.kind == "file":
            data = Path(unit.path).read_bytes()
        elif unit.kind == "mbox":
            with open(unit.path, "rb") as f:
                f.seek(unit.start)
                data = f.read(unit.stop - unit.start)
            data = data.split(b"\n", 1)[1] if data.startswith(MBOX_FROM) else data
        else:
            data = unit.raw
    except OSError as exc:
        yield Unscannable(unit.where, f"cannot be read ({exc.strerror or exc})")
        return
    if unit.kind == "file":
        yield from _dated(extract_bytes(Path(unit.path).name, data, unit.where, limits), unit.when)
        return
    try:
        message = email.message_from_bytes(data)
    except Exception as exc:
        yield Unscannable(unit.where, f"corrupt message ({type(exc).__name__})")
        return
    yield from _dated(extract_message(message, unit.where, limits), unit.when)
