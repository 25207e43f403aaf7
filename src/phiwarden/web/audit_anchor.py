"""Anchors of the audit trail's head, kept outside the database.

The hash chain (``web/audit.py``) shows an entry changed or removed inside the log, but a
log cut short at its end is still a valid chain. So the head (the last entry's number and
hash) is written, as one JSON line, to an append-only target outside the database: a file
(``PHIWARDEN_AUDIT_ANCHOR=/path/anchors.jsonl``; by default ``DATA_DIR/audit-anchors.jsonl``)
or a syslog collector (``PHIWARDEN_AUDIT_ANCHOR=syslog://host:514``, UDP). It is written
every ``PHIWARDEN_AUDIT_ANCHOR_EVERY`` entries (100), by ``serve`` when the head has moved
and ``PHIWARDEN_AUDIT_ANCHOR_MINUTES`` (5) have passed, when ``serve`` stops, and by
``phiwarden audit anchor`` (cron). ``phiwarden audit verify`` checks the log against every
anchor: an anchored entry that is gone is a truncation, one whose hash differs was changed.
For a syslog target, export the collector's lines and pass them with ``--anchors FILE``.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from phiwarden.config import Settings
from phiwarden.store.web_tables import audit_log

#: what the anchor lines carry, so a collector's export can be told apart from other lines
MARK = "phiwarden-audit-anchor"
_LOCK = threading.Lock()
#: per target: (the last anchored entry, when, by the monotonic clock)
_LAST: dict[str, tuple[int, float]] = {}


@dataclass(frozen=True)
class Anchor:
    """The head of the log at one moment."""

    seq: int
    hash: str
    at: str
    reason: str

    def line(self) -> str:
        """The anchor as one JSON line."""
        return json.dumps({"mark": MARK, **asdict(self)}, sort_keys=True)


def target(settings: Settings) -> str:
    """Where anchors go: a file path, or ``syslog://host:port``."""
    return os.environ.get("PHIWARDEN_AUDIT_ANCHOR") or str(
        settings.data_dir / "audit-anchors.jsonl"
    )


def every() -> int:
    """Anchor after this many entries."""
    return max(int(os.environ.get("PHIWARDEN_AUDIT_ANCHOR_EVERY") or 100), 1)


def minutes() -> float:
    """Anchor a moved head after this many minutes (``serve``)."""
    return float(os.environ.get("PHIWARDEN_AUDIT_ANCHOR_MINUTES") or 5)


def head(engine: Engine) -> tuple[int, str] | None:
    """The last entry's number and hash, or None for an empty log."""
    with engine.connect() as conn:
        row = conn.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).first()
    return (int(row.seq), str(row.hash)) if row else None


def _write(where: str, anchor: Anchor) -> None:
    if where.startswith("syslog://"):
        host, _, port = where.removeprefix("syslog://").partition(":")
        handler = logging.handlers.SysLogHandler(address=(host or "localhost", int(port or 514)))
        try:
            record = logging.LogRecord(
                MARK, logging.INFO, __file__, 0, "%s", (anchor.line(),), None
            )
            handler.emit(record)
        finally:
            handler.close()
        return
    path = Path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (anchor.line() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def anchor(engine: Engine, settings: Settings, reason: str) -> Anchor | None:
    """Write the head now (None for an empty log)."""
    found = head(engine)
    if found is None:
        return None
    made = Anchor(found[0], found[1], datetime.now().replace(microsecond=0).isoformat(), reason)
    where = target(settings)
    with _LOCK:
        _write(where, made)
        _LAST[where] = (made.seq, time.monotonic())
    return made


def after_append(engine: Engine, settings: Settings, seq: int) -> None:
    """Anchor every ``every()`` entries (called once the entry is committed)."""
    if seq % every() == 0:
        anchor(engine, settings, f"every {every()} entries")


def if_stale(engine: Engine, settings: Settings) -> Anchor | None:
    """Anchor when the head moved since the last anchor and ``minutes()`` have passed."""
    found = head(engine)
    last = _LAST.get(target(settings))
    if found is None or (last is not None and last[0] == found[0]):
        return None
    if last is not None and time.monotonic() - last[1] < minutes() * 60:
        return None
    return anchor(engine, settings, "periodic")


def read(path: Path) -> list[Anchor]:
    """The anchors in a file (ours, or a syslog collector's export: other lines skipped)."""
    found = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        start = raw.find("{")
        if start < 0 or MARK not in raw:
            continue
        try:
            data: dict[str, Any] = json.loads(raw[start : raw.rfind("}") + 1])
            found.append(
                Anchor(int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["reason"]))
            )
        except (ValueError, KeyError, TypeError):
            continue
    return found


@dataclass(frozen=True)
class Findings:
    """What the anchors say about the log."""

    checked: int
    problem: str | None
    broken_at: int | None


def check(engine: Engine, anchors: list[Anchor]) -> Findings:
    """Each anchored entry must still be in the log with the hash it had."""
    if not anchors:
        return Findings(0, None, None)
    with engine.connect() as conn:
        last = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
        wanted = sorted({a.seq for a in anchors})
        have: dict[int, str] = {}
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            have.update(
                conn.execute(
                    select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(chunk))
                )
                .tuples()
                .all()
            )
    for a in sorted(anchors, key=lambda x: x.seq):
        if a.seq > last:
            return Findings(
                len(anchors),
                f"truncated: the log ends at entry {last}, but an anchor of "
                f"{a.at} recorded entry {a.seq}",
                last + 1,
            )
        if have.get(a.seq) is None:
            return Findings(len(anchors), f"entry {a.seq}, anchored {a.at}, is missing", a.seq)
        if have[a.seq] != a.hash:
            return Findings(len(anchors), f"entry {a.seq} differs from its anchor of {a.at}", a.seq)
    return Findings(len(anchors), None, None)
