"""What the billing system takes from casework: the holds (billing suspended), the
identity-theft adjustments, and the payer-refund worklist, as rows and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, update

from phiwarden.store.case_tables import billing_adjustments, billing_holds, payer_refunds

EXPORTS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "holds": (
        billing_holds,
        ("hold_id", "case_id", "account_id", "placed_at", "released_at", "release_reason"),
    ),
    "adjustments": (
        billing_adjustments,
        ("adjustment_id", "case_id", "account_id", "code", "amount", "at"),
    ),
    "refunds": (
        payer_refunds,
        (
            "refund_id",
            "case_id",
            "payer",
            "transaction_id",
            "account_id",
            "encounter_id",
            "amount",
            "listed_at",
            "refunded_at",
            "refunded_by",
        ),
    ),
}


def rows(conn: Connection, what: str, active_only: bool = False) -> list[dict[str, Any]]:
    """The rows of one export (``active_only``: holds not released, refunds not made)."""
    table, columns = EXPORTS[what]
    query = select(*(table.c[c] for c in columns)).order_by(table.c[columns[0]])
    if active_only and what == "holds":
        query = query.where(table.c.released_at.is_(None))
    if active_only and what == "refunds":
        query = query.where(table.c.refunded_at.is_(None))
    return [dict(r) for r in conn.execute(query).mappings()]


def to_csv(found: Sequence[dict[str, Any]], what: str) -> str:
    """The rows as CSV with a header, in the export's column order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORTS[what][1]), lineterminator="\n")
    writer.writeheader()
    for r in found:
        writer.writerow({k: "" if v is None else v for k, v in r.items()})
    return buffer.getvalue()


def mark_refunded(engine: Engine, refund_id: int, by: str, now: datetime | None = None) -> None:
    """Mark a payer refund made (in its own transaction); LookupError when there is no such
    open refund."""
    at = (now or datetime.now()).replace(microsecond=0)
    with engine.begin() as conn:
        _mark(conn, refund_id, by, at)


def _mark(conn: Connection, refund_id: int, by: str, now: datetime) -> None:
    done = conn.execute(
        update(payer_refunds)
        .where(payer_refunds.c.refund_id == refund_id, payer_refunds.c.refunded_at.is_(None))
        .values(refunded_at=now, refunded_by=by)
    ).rowcount
    if not done:
        raise LookupError(f"no open refund {refund_id}")
