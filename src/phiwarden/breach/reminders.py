"""Reminders of breach obligations: an e-mail to the obligation's owner 14 days and 3 days
before it is due, and once when it is overdue, through the case engine's outbox (the same
SMTP settings and retry as case notices; no patient data in the message). Each reminder is
sent once: the incident remembers which it has sent. The tick runs this before it delivers
the outbox (``phiwarden cases tick`` and ``serve`` every minute)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from phiwarden.breach.hhs import hospital
from phiwarden.breach.incident import get_incident
from phiwarden.breach.obligations import as_json, compute
from phiwarden.cases.effects import Ctx, notify
from phiwarden.cases.engine import change
from phiwarden.store.case_tables import case_files
from phiwarden.store.setup import Stores

#: days before the due date that a reminder goes out
BEFORE = (14, 3)


def owner(notice: dict[str, Any], kind: str) -> dict[str, str]:
    """Who answers for an obligation of this kind (``[owners]`` in CONFIG/breach.toml)."""
    owners = notice.get("owners") or {}
    found = owners.get(kind) or owners.get("default") or {}
    return {
        "name": str(found.get("name") or notice["contact"]["name"]),
        "email": str(found.get("email") or notice["contact"]["email"]),
    }


def _stage(days_left: int) -> str | None:
    if days_left < 0:
        return "overdue"
    return next((f"{d} days" for d in sorted(BEFORE) if days_left <= d), None)


def remind(stores: Stores, now: datetime | None = None) -> int:
    """Queue the reminders due by ``now``; how many were queued."""
    at = (now or datetime.now()).replace(microsecond=0)
    notice = hospital(stores.settings.hospital_config)
    with stores.engine.connect() as conn:
        open_ids = (
            conn.execute(
                select(case_files.c.case_id).where(
                    case_files.c.case_type == "breach_incident", case_files.c.closed_at.is_(None)
                )
            )
            .scalars()
            .all()
        )
    queued = 0
    for incident_id in open_ids:
        with stores.engine.connect() as conn:
            incident = get_incident(conn, incident_id)
            if incident is None or not incident["case"]["details"].get("decision"):
                continue
            items, _people = compute(
                conn, incident, config=stores.settings.hospital_config, today=at.date()
            )
        details = incident["case"]["details"]
        sent = details.get("reminded") or {}
        due: list[tuple[str, str, dict[str, Any]]] = []
        for row in as_json(items, at.date(), details.get("obligations_done")):
            if row["status"] == "done":
                continue
            key = f"{row['kind']}:{row['jurisdiction']}"
            stage = _stage((datetime.fromisoformat(row["due"]).date() - at.date()).days)
            if stage and stage not in sent.get(key, []):
                due.append((key, stage, row))
        if not due:
            continue

        def work(ctx: Ctx, due: list[tuple[str, str, dict[str, Any]]] = due) -> None:
            marks = {k: list(v) for k, v in (ctx.case["details"].get("reminded") or {}).items()}
            for key, stage, row in due:
                who = owner(notice, row["kind"])
                what = (
                    f"{'OVERDUE' if stage == 'overdue' else 'Due in ' + stage}: "
                    f"{row['kind'].replace('_', ' ')} ({row['jurisdiction']}) by {row['due']}"
                )
                notify(ctx, who["email"], what)
                marks.setdefault(key, []).append(stage)
                ctx.event("reminder", f"Reminder to {who['name']}: {what}")
            ctx.case["details"] = {**ctx.case["details"], "reminded": marks}

        change(stores, incident_id, None, "phiwarden", work, now=at)
        queued += len(due)
    return queued
