"""The review queue as investigators read it: alerts in each order the pages offer,
counts for paging, one alert with its decisions, one case with its alerts.

The writes (saving a run's alerts, decisions, suppressions, cases) are in
:mod:`phiwarden.monitor.store`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, select

from phiwarden.monitor.store import UNDECIDED
from phiwarden.store.monitor_tables import alert_decisions, alerts, cases, suppressions

#: every status an alert can have, undecided first
ALERT_STATUSES: tuple[str, ...] = (UNDECIDED, "needs_investigation", "violation", "appropriate")

#: the queue's orders, by name: what the pages and the API accept as ``sort``
ALERT_ORDERS: dict[str, tuple[Any, ...]] = {
    "score": (alerts.c.score.desc(), alerts.c.alert_id),
    "recent": (alerts.c.window_end.desc(), alerts.c.score.desc(), alerts.c.alert_id),
    "user": (alerts.c.user_id, alerts.c.window_end.desc(), alerts.c.alert_id),
}


def _alert_filter(stmt: Any, status: str | None, user_id: str | None) -> Any:
    if status is not None:
        stmt = stmt.where(alerts.c.status == status)
    if user_id is not None:
        stmt = stmt.where(alerts.c.user_id == user_id)
    return stmt


def list_alerts(
    conn: Connection,
    *,
    status: str | None = None,
    user_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "score",
) -> list[dict[str, Any]]:
    """The alert queue in one of :data:`ALERT_ORDERS` (highest score first by default),
    optionally of one status or user."""
    stmt = alert_page_query(status=status, user_id=user_id, limit=limit, offset=offset, sort=sort)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def alert_page_query(
    *,
    status: str | None = None,
    user_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "score",
) -> Select[Any]:
    """The statement :func:`list_alerts` runs (each order has an index, with or without
    the status filter: see ``store/monitor_tables.py``)."""
    if sort not in ALERT_ORDERS:
        raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(ALERT_ORDERS)}")
    stmt = _alert_filter(select(alerts), status, user_id)
    return stmt.order_by(*ALERT_ORDERS[sort]).limit(limit).offset(offset)


def count_alerts(conn: Connection, status: str | None = None, user_id: str | None = None) -> int:
    """How many alerts there are (of one status and user, if given)."""
    stmt = _alert_filter(select(func.count()).select_from(alerts), status, user_id)
    return int(conn.execute(stmt).scalar_one())


def get_alert(conn: Connection, alert_id: str) -> dict[str, Any] | None:
    """One alert with its decisions (oldest first) under ``decisions``; None if unknown."""
    row = conn.execute(select(alerts).where(alerts.c.alert_id == alert_id)).mappings().first()
    if row is None:
        return None
    decisions = conn.execute(
        select(alert_decisions)
        .where(alert_decisions.c.alert_id == alert_id)
        .order_by(alert_decisions.c.decided_at, alert_decisions.c.decision_id)
    ).mappings()
    return {**row, "decisions": [dict(d) for d in decisions]}


def get_case(conn: Connection, case_id: str) -> dict[str, Any] | None:
    """One case with its alert ids (by window, then id) under ``alert_ids``; None if unknown."""
    row = conn.execute(select(cases).where(cases.c.case_id == case_id)).mappings().first()
    if row is None:
        return None
    alert_ids = conn.execute(
        select(alerts.c.alert_id)
        .where(alerts.c.case_id == case_id)
        .order_by(alerts.c.window_start, alerts.c.alert_id)
    ).scalars()
    return {**row, "alert_ids": list(alert_ids)}


def suppressions_of(conn: Connection, user_id: str, limit: int = 500) -> list[dict[str, Any]]:
    """The member's suppressed (patient, reason code) pairs, newest first, each with what
    justified it: the alert decided appropriate, or the investigation that found no
    violation (``case_id``)."""
    s = suppressions.c
    rows = conn.execute(
        select(suppressions)
        .where(s.user_id == user_id)
        .order_by(s.created_at.desc(), s.suppression_id.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
