"""Access monitoring's reads and writes of the operational store: runs, alerts, casework.

The analysis hands over one alert draft per flagged user and window (its per-user daily
counts go to :mod:`.user_days`); this module keeps them so that re-running a window
updates what is still undecided instead of adding duplicates, gathers a user's alerts in
one open case, and turns analysts' decisions into case closure and suppressions.
Timestamps are naive UTC.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from phiwarden.store.monitor_tables import (
    alert_decisions,
    alerts,
    cases,
    monitor_runs,
    suppressions,
)

#: What an analyst can decide about an alert.
DECISIONS: tuple[str, ...] = ("appropriate", "needs_investigation", "violation")
#: The status of an alert nobody decided yet; only such alerts are updated by a re-run.
UNDECIDED = "new"
#: Alert statuses that keep their case open.
KEEPS_CASE_OPEN: frozenset[str] = frozenset({UNDECIDED, "needs_investigation", "violation"})

_CHUNK = 5000  # rows per executemany / keys per IN list
_CONTENT = ("score", "reasons", "patient_ids", "accesses")  # what a re-run updates


@dataclass(frozen=True)
class AlertDraft:
    """One flagged user in one window, as the analysis found it.

    Each reason is a dict with keys code, title, text, weight, patient_ids, evidence.
    """

    user_id: str
    score: float
    reasons: list[dict[str, Any]]
    patient_ids: list[str]
    accesses: int


def _naive_utc(now: datetime | None) -> datetime:
    """``now`` (or the current time) as a naive UTC datetime, as the store keeps them."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo is not None else now


def _dialect_insert(conn: Connection, table: Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(
        f"the operational store does not support {dialect}: use SQLite or PostgreSQL"
    )


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _rows_where_in(
    conn: Connection, stmt: Select[Any], column: Column[Any], keys: Sequence[Any]
) -> list[Any]:
    """Rows of ``stmt`` whose ``column`` is among ``keys``, in IN lists of bounded size."""
    found: list[Any] = []
    for chunk in _chunks(keys):
        found.extend(conn.execute(stmt.where(column.in_(chunk))).all())
    return found


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    if hasattr(value, "item"):  # numpy and pyarrow scalars
        return value.item()
    return str(value)


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data (dates as ISO text), so any evidence can be stored."""
    return json.loads(json.dumps(value, default=_json_default))


# --- runs -----------------------------------------------------------------------------


def start_run(conn: Connection, window_start: date, window_end: date, engine: str) -> int:
    """Record that a monitoring run over ``window_start..window_end`` started; its run id."""
    res = conn.execute(
        monitor_runs.insert().values(
            window_start=window_start,
            window_end=window_end,
            engine=engine,
            started_at=_naive_utc(None),
        )
    )
    pk = res.inserted_primary_key
    return int(pk[0]) if pk else 0


def finish_run(conn: Connection, run_id: int, stats: dict[str, Any]) -> None:
    """Mark a monitoring run complete with its statistics."""
    conn.execute(
        monitor_runs.update()
        .where(monitor_runs.c.run_id == run_id)
        .values(finished_at=_naive_utc(None), stats=_plain(stats))
    )


# --- alerts and cases -----------------------------------------------------------------


def alert_id_for(user_id: str, window_start: date, window_end: date) -> str:
    """The alert id of a user's alert for a window: the same on every run of that window."""
    key = f"{user_id}|{window_start.isoformat()}|{window_end.isoformat()}"
    return "A" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _new_case_id() -> str:
    return "C" + uuid.uuid4().hex[:10]


def _open_cases(conn: Connection, user_ids: Sequence[str]) -> dict[str, str]:
    """user id -> its open case (the oldest, should there ever be two)."""
    stmt = (
        select(cases.c.user_id, cases.c.case_id)
        .where(cases.c.status == "open")
        .order_by(cases.c.opened_at, cases.c.case_id)
    )
    found: dict[str, str] = {}
    for user_id, case_id in _rows_where_in(conn, stmt, cases.c.user_id, user_ids):
        found.setdefault(user_id, case_id)
    return found


def save_alerts(
    conn: Connection,
    run_id: int,
    window_start: date,
    window_end: date,
    drafts: Sequence[AlertDraft],
    now: datetime | None = None,
) -> list[str]:
    """Store one alert per drafted user for the window; their ids in the drafts' order.

    A window already saved updates its still undecided ("new") alerts in place (score,
    reasons, patients, accesses, run) and leaves decided ones untouched. A new alert joins
    its user's open case, opened now when the user has none. A user drafted twice keeps
    the last draft.
    """
    stamp = _naive_utc(now)
    ids = [alert_id_for(d.user_id, window_start, window_end) for d in drafts]
    latest = dict(zip(ids, drafts, strict=True))
    if not latest:
        return ids
    stored = dict(
        _rows_where_in(
            conn, select(alerts.c.alert_id, alerts.c.status), alerts.c.alert_id, list(latest)
        )
    )

    def content(draft: AlertDraft) -> dict[str, Any]:
        return {
            "score": float(draft.score),
            "reasons": _plain(draft.reasons),
            "patient_ids": [str(p) for p in draft.patient_ids],
            "accesses": int(draft.accesses),
        }

    pending = [
        {"b_alert_id": alert_id, "run_id": run_id, "updated_at": stamp, **content(draft)}
        for alert_id, draft in latest.items()
        if stored.get(alert_id) == UNDECIDED
    ]
    if pending:
        stmt = (
            alerts.update()
            .where(alerts.c.alert_id == bindparam("b_alert_id"), alerts.c.status == UNDECIDED)
            .values(
                {
                    name: bindparam(name, type_=alerts.c[name].type)
                    for name in ("run_id", "updated_at", *_CONTENT)
                }
            )
        )
        for chunk in _chunks(pending):
            conn.execute(stmt, list(chunk))

    fresh = {alert_id: d for alert_id, d in latest.items() if alert_id not in stored}
    if fresh:
        users = sorted({d.user_id for d in fresh.values()})
        case_of = _open_cases(conn, users)
        opened: list[dict[str, Any]] = [
            {
                "case_id": _new_case_id(),
                "user_id": user_id,
                "kind": "access",
                "status": "open",
                "opened_at": stamp,
            }
            for user_id in users
            if user_id not in case_of
        ]
        if opened:
            conn.execute(cases.insert(), opened)
            case_of.update({c["user_id"]: c["case_id"] for c in opened})
        rows = [
            {
                "alert_id": alert_id,
                "run_id": run_id,
                "case_id": case_of[draft.user_id],
                "user_id": draft.user_id,
                "window_start": window_start,
                "window_end": window_end,
                "status": UNDECIDED,
                "created_at": stamp,
                "updated_at": stamp,
                **content(draft),
            }
            for alert_id, draft in fresh.items()
        ]
        for chunk in _chunks(rows):
            conn.execute(alerts.insert(), list(chunk))
    return ids


def decide(
    conn: Connection,
    alert_id: str,
    decision: str,
    *,
    note: str,
    decided_by: str,
    now: datetime | None = None,
) -> None:
    """Record an analyst's decision on an alert and set the alert's status to it.

    "appropriate" suppresses every (user, patient, reason code) the alert's reasons name,
    so monitoring does not raise them again. The case closes once all its alerts are
    decided appropriate; "needs_investigation" or "violation" keeps it open. A decision
    that reverses an earlier "appropriate" withdraws that alert's suppressions and
    reopens its case (unless the user has another open case by then).
    Raises ValueError for an unknown decision and LookupError for an unknown alert.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; allowed: {', '.join(DECISIONS)}")
    alert = conn.execute(
        select(alerts.c.user_id, alerts.c.case_id, alerts.c.reasons).where(
            alerts.c.alert_id == alert_id
        )
    ).first()
    if alert is None:
        raise LookupError(f"no alert {alert_id!r}")
    # Lock the case (PostgreSQL) so concurrent decisions on its alerts settle it in turn.
    conn.execute(select(cases.c.case_id).where(cases.c.case_id == alert.case_id).with_for_update())
    stamp = _naive_utc(now)
    conn.execute(
        alert_decisions.insert().values(
            alert_id=alert_id,
            decision=decision,
            note=note,
            decided_by=decided_by,
            decided_at=stamp,
        )
    )
    conn.execute(
        alerts.update()
        .where(alerts.c.alert_id == alert_id)
        .values(status=decision, updated_at=stamp)
    )
    if decision == "appropriate":
        _suppress(conn, alert.user_id, alert.reasons, alert_id, note, decided_by, stamp)
    else:
        conn.execute(delete(suppressions).where(suppressions.c.alert_id == alert_id))
    _settle_case(conn, alert.case_id, alert.user_id, stamp)


def _suppress(
    conn: Connection,
    user_id: str,
    reasons: list[dict[str, Any]],
    alert_id: str,
    note: str,
    created_by: str,
    stamp: datetime,
) -> None:
    """Add a suppression per (user, patient, code) of the reasons, keeping existing ones."""
    triples = sorted(
        {
            (user_id, str(patient_id), str(reason["code"]))
            for reason in reasons
            for patient_id in reason.get("patient_ids") or ()
        }
    )
    if not triples:
        return
    stmt = _dialect_insert(conn, suppressions).on_conflict_do_nothing(
        index_elements=["user_id", "patient_id", "code"]
    )
    rows = [
        {
            "user_id": user,
            "patient_id": patient,
            "code": code,
            "alert_id": alert_id,
            "note": note,
            "created_by": created_by,
            "created_at": stamp,
        }
        for user, patient, code in triples
    ]
    for chunk in _chunks(rows):
        conn.execute(stmt, list(chunk))


def _settle_case(conn: Connection, case_id: str, user_id: str, stamp: datetime) -> None:
    """Close an open case when none of its alerts is undecided, under investigation or a
    violation (that is, all were found appropriate); reopen a closed one when one is."""
    statuses = set(
        conn.execute(select(alerts.c.status).where(alerts.c.case_id == case_id)).scalars()
    )
    if not statuses:
        return
    if statuses & KEEPS_CASE_OPEN:
        if open_case_of(conn, user_id) is None:
            conn.execute(
                cases.update()
                .where(cases.c.case_id == case_id, cases.c.status == "closed")
                .values(status="open", closed_at=None)
            )
        return
    conn.execute(
        cases.update()
        .where(cases.c.case_id == case_id, cases.c.status == "open")
        .values(status="closed", closed_at=stamp)
    )


def suppressed(
    conn: Connection, user_ids: Iterable[str] | None = None
) -> set[tuple[str, str, str]]:
    """The suppressed (user_id, patient_id, code) triples, of all users or of ``user_ids``."""
    stmt = select(suppressions.c.user_id, suppressions.c.patient_id, suppressions.c.code)
    if user_ids is None:
        rows = conn.execute(stmt).all()
    else:
        rows = _rows_where_in(conn, stmt, suppressions.c.user_id, sorted(set(user_ids)))
    return {(r[0], r[1], r[2]) for r in rows}


def open_case_of(conn: Connection, user_id: str) -> str | None:
    """The user's open case id, or None when the user has none."""
    return _open_cases(conn, [user_id]).get(user_id)
