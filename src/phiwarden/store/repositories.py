"""Repository functions: every read and write of the operational store goes through here.

Callers never build ad-hoc SQL; they ask for what they need by name. Inserts are
idempotent (an existing key is skipped and counted), so re-running an ingest adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from phiwarden.store.schema import DOMAIN_TABLES, ingest_runs, quarantine
from phiwarden.store.sensitive import Protector

Row = Mapping[str, Any]


@dataclass(frozen=True)
class InsertResult:
    """How many rows went in and how many were already present."""

    inserted: int
    duplicates: int


@contextmanager
def connected(bind: Engine | Connection) -> Iterator[Connection]:
    """``bind`` itself when it is a connection (a caller making several lookups shares
    one), else a connection of the engine for the block."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


def domain_table(name: str) -> Table:
    """The store table for a canonical record type; KeyError names the known types."""
    try:
        return DOMAIN_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown record type {name!r}; known: {', '.join(DOMAIN_TABLES)}") from None


def _insert_ignoring_duplicates(conn: Connection, table: Table) -> Any:
    key = [c.name for c in table.primary_key.columns]
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
    raise RuntimeError(
        f"the operational store does not support {dialect}: use SQLite or PostgreSQL"
    )


def insert_rows(conn: Connection, table: Table, rows: Sequence[Row]) -> InsertResult:
    """Insert rows, skipping any whose key is already stored; counts both."""
    if not rows:
        return InsertResult(0, 0)
    key = next(iter(table.primary_key.columns))
    stmt = _insert_ignoring_duplicates(conn, table).returning(key)
    inserted = len(conn.execute(stmt, list(rows)).all())
    return InsertResult(inserted, len(rows) - inserted)


def existing_keys(conn: Connection, table: Table, keys: Iterable[str] | None = None) -> set[str]:
    """The keys of ``table`` that are stored (all of them, or those among ``keys``)."""
    key_col = next(iter(table.primary_key.columns))
    if keys is None:
        return {r[0] for r in conn.execute(select(key_col))}
    wanted = list(set(keys))
    found: set[str] = set()
    for i in range(0, len(wanted), 5000):
        chunk = wanted[i : i + 5000]
        found.update(r[0] for r in conn.execute(select(key_col).where(key_col.in_(chunk))))
    return found


def protect_sensitive(row: dict[str, Any], columns: Iterable[str], protector: Protector) -> None:
    """Replace each sensitive column in ``row`` by its encrypted, hashed and masked forms."""
    for col in columns:
        encrypted, digest, last4 = protector.protect(row.pop(col, None))
        row[f"{col}_encrypted"] = encrypted
        row[f"{col}_hash"] = digest
        row[f"{col}_last4"] = last4


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows per domain table."""
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in DOMAIN_TABLES.items()
    }


def get_patient_by_mrn(conn: Connection, mrn: str) -> dict[str, Any] | None:
    """One patient by MRN (sensitive columns stay encrypted)."""
    t = DOMAIN_TABLES["patients"]
    row = conn.execute(select(t).where(t.c.mrn == mrn)).mappings().first()
    return dict(row) if row else None


def patients_with_ssn(conn: Connection, protector: Protector, ssn: str) -> list[dict[str, Any]]:
    """Patients whose SSN matches, found by keyed hash without decrypting anything."""
    t = DOMAIN_TABLES["patients"]
    digest = protector.keyed_hash(ssn)
    return [dict(r) for r in conn.execute(select(t).where(t.c.ssn_hash == digest)).mappings()]


def add_quarantine(
    conn: Connection,
    protector: Protector,
    *,
    source: str,
    location: str,
    record_type: str,
    reason: str,
    raw: str | None,
) -> bool:
    """Keep a rejected record (raw text encrypted) with where it came from and why.

    Returns False when the same rejection was already recorded (a re-run of the ingest).
    """
    stmt = _insert_ignoring_duplicates_quarantine(conn)
    res = conn.execute(
        stmt,
        {
            "source": source,
            "location": location,
            "record_type": record_type,
            "reason": reason,
            "raw_encrypted": protector.encrypt(raw) if raw is not None else None,
            "received_at": datetime.now(),
        },
    )
    return bool(res.rowcount)


def _insert_ignoring_duplicates_quarantine(conn: Connection) -> Any:
    cols = ["source", "location", "reason"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(quarantine).on_conflict_do_nothing(index_elements=cols)
    return sqlite.insert(quarantine).on_conflict_do_nothing(index_elements=cols)


def list_quarantine(conn: Connection, limit: int = 1000) -> list[dict[str, Any]]:
    """Rejected records, newest first, without their raw content."""
    cols = [c for c in quarantine.c if c.name != "raw_encrypted"]
    stmt = select(*cols).order_by(quarantine.c.quarantine_id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def count_quarantine(conn: Connection) -> int:
    """How many records are in quarantine."""
    return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())


def start_ingest_run(conn: Connection, *, source: str, fmt: str) -> int:
    """Record that an ingest of one source started; returns its run id."""
    res = conn.execute(
        ingest_runs.insert().values(
            source=source,
            format=fmt,
            started_at=datetime.now(),
            loaded=0,
            quarantined=0,
            duplicates_skipped=0,
        )
    )
    pk = res.inserted_primary_key
    return int(pk[0]) if pk else 0


def finish_ingest_run(
    conn: Connection, run_id: int, *, loaded: int, quarantined: int, duplicates: int
) -> None:
    """Mark an ingest run complete with its counts."""
    conn.execute(
        ingest_runs.update()
        .where(ingest_runs.c.run_id == run_id)
        .values(
            finished_at=datetime.now(),
            loaded=loaded,
            quarantined=quarantined,
            duplicates_skipped=duplicates,
        )
    )


def ping(engine: Engine) -> None:
    """Open a connection once, so a wrong URL fails early with the driver's message."""
    with engine.connect() as conn:
        conn.execute(select(1))
