"""The fraud watch list (FTC-12): addresses and phones tied to known fraud.

Entries live in the canonical ``fraud_watch`` table, so a hospital can also load them as
a file with ``phiwarden ingest fraud_watch.csv``. A value must normalise (a phone to
E.164, an address to a line with a ZIP code) or it could never match, so it is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from phiwarden.redflags.checks import watch_key_entry
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

KINDS = ("address", "phone")


def add_entry(stores: Stores, kind: str, value: str, reason: str) -> dict[str, Any]:
    """Add an address ('line, city, ST zip') or phone to the watch list; the new entry."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: use address or phone")
    key = watch_key_entry(kind, value)
    if key is None or (kind == "address" and key.endswith("|")):
        hint = "a phone number" if kind == "phone" else "'line, city, ST zip' with a ZIP code"
        raise ValueError(f"cannot read {value!r} as {hint}")
    fw = domain_table("fraud_watch")
    with stores.engine.begin() as conn:
        for row in conn.execute(select(fw.c.watch_id, fw.c.kind, fw.c.value)).mappings():
            if row["kind"] == kind and watch_key_entry(kind, row["value"]) == key:
                raise ValueError(f"already on the watch list as {row['watch_id']}")
        count = conn.execute(select(func.count()).select_from(fw)).scalar_one()
        taken = {w for (w,) in conn.execute(select(fw.c.watch_id))}
        n = int(count) + 1
        while f"FW{n:04d}" in taken:
            n += 1
        entry = {
            "watch_id": f"FW{n:04d}",
            "kind": kind,
            "value": value.strip(),
            "reason": reason,
            "added_at": datetime.now().replace(microsecond=0),
        }
        conn.execute(insert(fw).values(entry))
    return entry


def list_entries(stores: Stores) -> list[dict[str, Any]]:
    """Every watch-list entry, oldest first."""
    fw = domain_table("fraud_watch")
    with stores.engine.connect() as conn:
        rows = conn.execute(select(fw).order_by(fw.c.added_at, fw.c.watch_id)).mappings()
        return [dict(r) for r in rows]


def remove_entry(stores: Stores, watch_id: str) -> None:
    """Remove one entry by id; a clear error if there is none."""
    fw = domain_table("fraud_watch")
    with stores.engine.begin() as conn:
        gone = conn.execute(delete(fw).where(fw.c.watch_id == watch_id)).rowcount
    if not gone:
        raise ValueError(f"no watch-list entry {watch_id}: see 'phiwarden redflags watch list'")
