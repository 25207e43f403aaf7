"""The program's dashboard: open cases by age and type, overdue tasks and corrective
actions, the median time to close, and the incidents with their next deadline."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from phiwarden.breach.incident import list_incidents
from phiwarden.breach.obligations import as_json, compute
from phiwarden.program.corrective import list_actions
from phiwarden.store.case_tables import case_files, case_tasks
from phiwarden.store.setup import Stores

#: age buckets of open cases, in days: (label, up to)
AGES: tuple[tuple[str, int], ...] = (
    ("under 7 days", 7),
    ("7-30 days", 30),
    ("30-90 days", 90),
    ("over 90 days", 10**6),
)
#: the HIPAA outer limit for notifying individuals, from discovery (164.404(b))
HIPAA_DAYS = 60


def _age(days: int) -> str:
    return next(label for label, upto in AGES if days < upto)


def open_cases(conn: Connection, now: datetime) -> dict[str, Any]:
    """Open cases counted by type and age bucket."""
    rows = conn.execute(
        select(case_files.c.case_type, case_files.c.opened_at).where(
            case_files.c.closed_at.is_(None)
        )
    ).all()
    grid: dict[str, Counter[str]] = {}
    for kind, opened in rows:
        grid.setdefault(kind, Counter())[_age((now - opened).days)] += 1
    return {
        "ages": [label for label, _ in AGES],
        "types": {k: [grid[k][label] for label, _ in AGES] for k in sorted(grid)},
        "total": len(rows),
    }


def overdue_tasks(conn: Connection, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Open tasks past their due date, the most overdue first."""
    rows = conn.execute(
        select(
            case_tasks.c.case_id,
            case_tasks.c.role,
            case_tasks.c.title,
            case_tasks.c.due_at,
            case_files.c.case_type,
        )
        .join(case_files, case_files.c.case_id == case_tasks.c.case_id)
        .where(case_tasks.c.status == "open", case_tasks.c.due_at < now)
        .order_by(case_tasks.c.due_at)
        .limit(limit)
    ).mappings()
    return [dict(r) | {"days_late": (now - r["due_at"]).days} for r in rows]


def time_to_close(
    conn: Connection, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Median days from opening to closing, per case type and overall (cases closed in
    the period, if given)."""
    stmt = select(case_files.c.case_type, case_files.c.opened_at, case_files.c.closed_at).where(
        case_files.c.closed_at.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(case_files.c.closed_at >= since)
    if until is not None:
        stmt = stmt.where(case_files.c.closed_at < until)
    days: dict[str, list[float]] = {}
    for kind, opened, closed in conn.execute(stmt).all():
        days.setdefault(kind, []).append((closed - opened).total_seconds() / 86400)
    every = [d for ds in days.values() for d in ds]
    return {
        "by_type": {
            k: {"closed": len(v), "median_days": round(statistics.median(v), 1)}
            for k, v in sorted(days.items())
        },
        "closed": len(every),
        "median_days": round(statistics.median(every), 1) if every else None,
    }


def incident_deadlines(stores: Stores, today: date) -> list[dict[str, Any]]:
    """Each open incident with its next deadline: the earliest obligation not done, or,
    before the decision, the HIPAA outer limit from discovery."""
    with stores.engine.connect() as conn:
        out = []
        for incident in list_incidents(conn, limit=100_000):
            if incident["case"]["closed_at"] is not None:
                continue
            incident_id = incident["incident"]
            details = incident["case"]["details"]
            row = {
                "incident": incident_id,
                "title": incident["title"],
                "status": incident["status"],
            }
            if not details.get("decision"):
                due = date.fromisoformat(incident["discovered"]) + timedelta(days=HIPAA_DAYS)
                row |= {"next": "breach decision and notices (HIPAA outer limit)", "due": due}
            else:
                items, _ = compute(
                    conn, incident, config=stores.settings.hospital_config, today=today
                )
                left = [
                    o
                    for o in as_json(items, today, details.get("obligations_done"))
                    if o["status"] != "done"
                ]
                if not left:
                    row |= {"next": "every obligation done", "due": None}
                else:
                    first = min(left, key=lambda o: o["due"])
                    row |= {
                        "next": f"{first['title']} ({first['jurisdiction']})",
                        "due": date.fromisoformat(first["due"]),
                    }
            row["days_left"] = (row["due"] - today).days if row["due"] else None
            out.append(row)
    return sorted(out, key=lambda r: (r["due"] is None, r["due"] or today))


def dashboard(stores: Stores, now: datetime | None = None) -> dict[str, Any]:
    """Everything the program dashboard shows, as of ``now``."""
    at = now or datetime.now()
    with stores.engine.connect() as conn:
        cases = open_cases(conn, at)
        late = overdue_tasks(conn, at)
        closing = time_to_close(conn)
        actions = [
            a | {"overdue": a["status"] == "open" and a["due_on"] < at.date()}
            for a in list_actions(conn, open_only=True)
        ]
    return {
        "open_cases": cases,
        "overdue_tasks": late,
        "time_to_close": closing,
        "incidents": incident_deadlines(stores, at.date()),
        "corrective_actions": actions,
    }
