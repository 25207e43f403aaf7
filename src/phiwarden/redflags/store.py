"""The stored red flags as the API and the pages read and settle them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, case, func, select, update

from phiwarden.store.redflag_tables import red_flags

RESOLUTIONS = ("resolved", "dismissed")
_SEVERITY = case({"high": 3, "medium": 2, "low": 1}, value=red_flags.c.severity, else_=0)


def list_flags(
    engine: Engine,
    *,
    code: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    order: Literal["newest", "severity"] = "newest",
) -> tuple[list[dict[str, Any]], int]:
    """One page of the flag queue and the total matching the filters."""
    stmt = select(red_flags)
    count = select(func.count()).select_from(red_flags)
    for column, value in ((red_flags.c.code, code), (red_flags.c.status, status)):
        if value:
            stmt, count = stmt.where(column == value), count.where(column == value)
    newest = red_flags.c.detected_at.desc()
    keys = (_SEVERITY.desc(), newest) if order == "severity" else (newest,)
    stmt = stmt.order_by(*keys, red_flags.c.flag_id)
    with engine.connect() as conn:
        rows = conn.execute(stmt.limit(limit).offset(offset)).mappings().all()
        total = int(conn.execute(count).scalar_one())
    return [dict(r) for r in rows], total


def get_flag(engine: Engine, flag_id: str) -> dict[str, Any] | None:
    """One stored flag, or None."""
    with engine.connect() as conn:
        row = (
            conn.execute(select(red_flags).where(red_flags.c.flag_id == flag_id)).mappings().first()
        )
    return dict(row) if row else None


def resolve_flag(engine: Engine, flag_id: str, status: str, note: str, by: str) -> None:
    """Settle a flag as resolved or dismissed with who and a note. ValueError for another
    status, LookupError for an unknown flag."""
    if status not in RESOLUTIONS:
        raise ValueError(f"status is {' or '.join(RESOLUTIONS)}, not {status!r}")
    with engine.begin() as conn:
        done = conn.execute(
            update(red_flags)
            .where(red_flags.c.flag_id == flag_id)
            .values(
                status=status,
                resolved_at=datetime.now().replace(microsecond=0),
                resolution=f"{by}: {note}",
            )
        ).rowcount
    if not done:
        raise LookupError(f"no red flag {flag_id}")
