"""The affected population: every patient one user opened in a window, with what was done.

After a confirmed violation the hospital must notify every patient the user touched,
legitimate accesses included (the seed case notified all 29,000). This lists them with
first and last access, how many accesses and which actions (view, print, export...),
plus the name and mailing address the notice goes to.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from ibis.backends import BaseBackend
from sqlalchemy import select

from phiwarden.lake.engine import open_backend
from phiwarden.lake.reader import access_events
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

COLUMNS = (
    "patient_id",
    "mrn",
    "first_name",
    "last_name",
    "address_line",
    "city",
    "state",
    "zip",
    "deceased_date",
    "first_access",
    "last_access",
    "accesses",
    "actions",
)


def population(
    stores: Stores,
    user_id: str,
    since: date,
    until: date,
    *,
    engine: str | None = None,
    con: BaseBackend | None = None,
) -> list[dict[str, Any]]:
    """Every patient ``user_id`` accessed from ``since`` to ``until`` (inclusive), by MRN."""
    if since > until:
        raise ValueError(f"--since {since} is after --until {until}: swap them")
    with stores.engine.connect() as conn:
        w = domain_table("workforce")
        known = conn.execute(select(w.c.user_id).where(w.c.user_id == user_id)).scalar()
    if known is None:
        raise ValueError(f"no workforce user {user_id!r}: give a user_id from the workforce")
    if con is None:
        with open_backend(stores.settings.with_engine(engine)) as backend:
            return _population(stores, backend, user_id, since, until)
    return _population(stores, con, user_id, since, until)


def _population(
    stores: Stores, con: BaseBackend, user_id: str, since: date, until: date
) -> list[dict[str, Any]]:
    e = access_events(con, stores.settings.lake_dir, since, until)
    e = e.filter(e.user_id == user_id)
    per = (
        e.group_by(["patient_id", "action"])
        .aggregate(n=e.count(), first=e.ts.min(), last=e.ts.max())
        .to_pyarrow()
        .to_pylist()
    )
    seen: dict[str, dict[str, Any]] = {}
    actions: dict[str, dict[str, int]] = defaultdict(dict)
    for row in per:
        pid = row["patient_id"]
        s = seen.setdefault(
            pid, {"first_access": row["first"], "last_access": row["last"], "accesses": 0}
        )
        s["first_access"] = min(s["first_access"], row["first"])
        s["last_access"] = max(s["last_access"], row["last"])
        s["accesses"] += int(row["n"])
        actions[pid][str(row["action"])] = int(row["n"])
    patients = domain_table("patients")
    info: dict[str, dict[str, Any]] = {}
    ids = sorted(seen)
    with stores.engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            for r in conn.execute(
                select(*(patients.c[c] for c in COLUMNS[:9])).where(
                    patients.c.patient_id.in_(chunk)
                )
            ).mappings():
                info[r["patient_id"]] = dict(r)
    out: list[dict[str, Any]] = []
    for pid in ids:
        row = {c: None for c in COLUMNS[:9]} | info.get(pid, {"patient_id": pid}) | seen[pid]
        row["actions"] = "; ".join(f"{a} x{n}" for a, n in sorted(actions[pid].items()))
        out.append(row)
    out.sort(key=lambda r: (str(r.get("mrn") or ""), r["patient_id"]))
    return out


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the population to ``path`` (UTF-8, header row, one patient per line)."""
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        write_rows(rows, fh)


def write_rows(rows: list[dict[str, Any]], fh: TextIO) -> None:
    """The population as CSV on an open text stream (a file, or a download's buffer).

    A text cell that a spreadsheet would read as a formula (``=``, ``+``, ``@``, a tab or
    a carriage return first) is prefixed with ``'`` so the list opens as data.
    """
    writer = csv.DictWriter(fh, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _inert(row.get(c)) for c in COLUMNS})


def _inert(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "@", "\t", "\r"):
        return "'" + value
    return value
