"""phiwarden's own audit trail: every read of a patient, alert, flag or case and every
decision, by UI or API, appended to a hash-chained log.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
JSON; ``verify`` recomputes the chain and names the first entry that was changed, or the
first gap where one was deleted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text, update

from phiwarden.store.web_tables import audit_log

GENESIS = "0" * 64
_LOCK_KEY = 0x70687761  # PostgreSQL advisory lock serialising appends
_THREADS = threading.Lock()


@contextmanager
def serialised(engine: Engine) -> Iterator[None]:
    """Hold the right to append, across this process's threads and, for a SQLite file,
    across processes (an flock on a file beside the database).

    Without it, concurrent appends to SQLite wait in its busy handler, which backs off in
    sleeps of up to 100 ms while holding a pooled connection. PostgreSQL needs only the
    advisory lock ``append`` takes, which queues waiters in order.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    with _THREADS:
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.audit-lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _canonical(entry: dict[str, Any]) -> str:
    body = {
        k: entry.get(k)
        for k in (
            "seq",
            "at",
            "actor",
            "role",
            "action",
            "object_type",
            "object_id",
            "source",
            "detail",
        )
    }
    if isinstance(body["at"], datetime):
        body["at"] = body["at"].isoformat(sep=" ")
    return json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The hash chaining ``entry`` to the one before it."""
    return hashlib.sha256((prev_hash + _canonical(entry)).encode()).hexdigest()


def head(conn: Connection) -> tuple[int, str] | None:
    """The last entry's sequence number and hash (None for an empty log)."""
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    return (int(last.seq), str(last.hash)) if last else None


def append(
    conn: Connection,
    *,
    actor: str,
    role: str | None,
    action: str,
    object_type: str,
    object_id: str | None,
    source: str | None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry in the caller's transaction; its sequence number."""
    # Whoever appends must hold the write lock before reading the head it extends, or two
    # requests (threads or worker processes) extend the same head.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # A write that matches nothing still takes SQLite's write lock (waiting out the
        # busy timeout), and the read below then sees the latest committed head.
        conn.execute(update(audit_log).where(audit_log.c.seq < 0).values(seq=audit_log.c.seq))
    last = head(conn)
    seq = last[0] + 1 if last else 1
    prev = last[1] if last else GENESIS
    entry = {
        "seq": seq,
        "at": datetime.now().replace(microsecond=0),
        "actor": actor,
        "role": role,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "source": source,
        "detail": detail,
    }
    conn.execute(insert(audit_log).values(**entry, prev_hash=prev, hash=entry_hash(prev, entry)))
    return seq


@dataclass(frozen=True)
class Verdict:
    """The result of checking the chain."""

    entries: int
    broken_at: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        """True when every entry is intact and none is missing."""
        return self.broken_at is None


def verify(engine: Engine) -> Verdict:
    """Recompute the chain from the first entry; the first changed or missing one."""
    prev = GENESIS
    expected = 1
    n = 0
    with engine.connect() as conn:
        for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings():
            n += 1
            entry = dict(row)
            if entry["seq"] != expected:
                return Verdict(n, expected, f"entry {expected} is missing")
            if entry["prev_hash"] != prev:
                return Verdict(
                    n, entry["seq"], f"entry {entry['seq']} does not follow the one before"
                )
            if entry_hash(prev, entry) != entry["hash"]:
                return Verdict(n, entry["seq"], f"entry {entry['seq']} was changed")
            prev = entry["hash"]
            expected += 1
    return Verdict(n, None, None)
