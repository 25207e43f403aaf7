"""Reading cases: the queue (filtered by type, state, assignee, due date) and one case
with its subjects, links, timeline, tasks, documents, timers and the actions open to a
role. Pure reads: the surfaces audit them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from phiwarden.cases.procedure import stored
from phiwarden.store.case_tables import (
    billing_adjustments,
    billing_holds,
    case_documents,
    case_events,
    case_files,
    case_links,
    case_subjects,
    case_tasks,
    case_timers,
    payer_refunds,
    record_moves,
)

QUEUE_COLUMNS = ("case_id", "case_type", "state", "title", "assignee", "opened_at", "due_at")


def list_cases(
    conn: Connection,
    *,
    case_type: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    due_before: datetime | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the case queue (soonest due first) and how many match in all."""
    c = case_files.c
    where = []
    if case_type:
        where.append(c.case_type == case_type)
    if state:
        where.append(c.state == state)
    if assignee:
        where.append(c.assignee == assignee)
    if due_before:
        where.append(c.due_at <= due_before)
    if open_only:
        where.append(c.closed_at.is_(None))
    query = (
        select(*(c[k] for k in QUEUE_COLUMNS))
        .where(*where)
        .order_by(c.due_at.is_(None), c.due_at, c.case_id)
        .limit(limit)
        .offset(offset)
    )
    rows = [dict(r) for r in conn.execute(query).mappings()]
    ids = [r["case_id"] for r in rows]
    subjects: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    if ids:
        for s in conn.execute(
            select(case_subjects).where(case_subjects.c.case_id.in_(ids))
        ).mappings():
            subjects[s["case_id"]].append({"kind": s["kind"], "ref": s["ref"], "role": s["role"]})
    for r in rows:
        r["subjects"] = subjects[r["case_id"]]
    total = conn.execute(select(func.count()).select_from(case_files).where(*where)).scalar_one()
    return rows, int(total)


def _all(
    conn: Connection, table: Any, case_id: str, order: Any, skip: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    rows = conn.execute(select(table).where(table.c.case_id == case_id).order_by(order)).mappings()
    return [{k: v for k, v in r.items() if k not in skip and k != "case_id"} for r in rows]


def get_case(conn: Connection, case_id: str, role: str | None = None) -> dict[str, Any] | None:
    """One case with everything on it; ``actions`` are the transitions ``role`` may try."""
    row = conn.execute(select(case_files).where(case_files.c.case_id == case_id)).mappings().first()
    if row is None:
        return None
    case = dict(row)
    procedure = stored(conn, case["procedure_id"])
    case["procedure"] = {
        "name": procedure.name,
        "version": procedure.version,
        "title": procedure.title,
        "id": case["procedure_id"],
    }
    state = procedure.state(case["state"])
    case["state_title"], case["state_cites"] = state.title, state.cites
    case["state_description"] = state.description
    case["subjects"] = _all(conn, case_subjects, case_id, case_subjects.c.role)
    case["links"] = _all(conn, case_links, case_id, case_links.c.kind)
    case["history"] = _all(conn, case_events, case_id, case_events.c.event_id)
    case["tasks"] = _all(conn, case_tasks, case_id, case_tasks.c.task_id)
    case["documents"] = _all(
        conn,
        case_documents,
        case_id,
        case_documents.c.document_id,
        skip=("content_encrypted", "stamped_encrypted"),
    )
    case["timers"] = _all(conn, case_timers, case_id, case_timers.c.timer_id)
    kinds = {d["kind"] for d in case["documents"]}
    facts = case["details"].get("facts") or {}
    case["checklist"] = [
        {"kind": k, "title": e.title, "cites": e.cites, "received": k in kinds}
        for k, e in procedure.documents.items()
    ] + [
        {
            "kind": f"fact:{k}",
            "title": e.title,
            "cites": e.cites,
            "received": k in facts,
            "value": (facts.get(k) or {}).get("value"),
        }
        for k, e in procedure.facts.items()
    ]
    closed = case["state"] in procedure.final
    case["closed"] = closed
    case["actions"] = (
        []
        if closed
        else [
            {"trigger": t.trigger, "title": t.title, "requires": list(t.requires), "cites": t.cites}
            for t in procedure.transitions_from(case["state"])
            if role is None or role in t.roles
        ]
    )
    case["holds"] = _all(conn, billing_holds, case_id, billing_holds.c.hold_id)
    case["adjustments"] = _all(
        conn, billing_adjustments, case_id, billing_adjustments.c.adjustment_id
    )
    case["refunds"] = _all(conn, payer_refunds, case_id, payer_refunds.c.refund_id)
    case["moves"] = int(
        conn.execute(
            select(func.count())
            .select_from(record_moves)
            .where(record_moves.c.case_id == case_id, record_moves.c.undone_at.is_(None))
        ).scalar_one()
    )
    return case


def open_tasks(conn: Connection, role: str | None = None) -> list[dict[str, Any]]:
    """Open tasks across cases, soonest due first: case number, role, title, due date."""
    t = case_tasks.c
    query = (
        select(t.task_id, t.case_id, t.role, t.assignee, t.title, t.signoff, t.cites, t.due_at)
        .where(t.status == "open")
        .order_by(t.due_at, t.task_id)
        .limit(500)
    )
    if role:
        query = query.where(t.role == role)
    return [dict(r) for r in conn.execute(query).mappings()]
