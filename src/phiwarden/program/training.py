"""The training roster: who completed which course when (imported from the learning
system's CSV export), and who is overdue, by department.

A member is overdue for a course their role requires when they have never completed it,
or their last completion is older than the course's period, once the new-hire grace has
passed. Terminated members are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from phiwarden.program.csv_rows import parse_date, quarantine, require_columns, rows
from phiwarden.program.settings import ProgramSettings
from phiwarden.store.program_tables import training_records
from phiwarden.store.repositories import domain_table, insert_rows
from phiwarden.store.setup import Stores

ALIASES = {
    "user_id": ("login", "employee_id", "user", "username"),
    "course": ("training", "course_code", "course_id"),
    "completed_on": ("completed", "completion_date", "date_completed", "date"),
}


@dataclass(frozen=True)
class Imported:
    """What one import did."""

    loaded: int
    already: int
    quarantined: int


def import_csv(
    stores: Stores, path: Path, settings: ProgramSettings, now: datetime | None = None
) -> Imported:
    """Load a roster CSV (user_id, course, completed_on). Rows naming an unknown member or
    course, or without a date, go to quarantine with their line; loading the same file
    again adds nothing."""
    require_columns(path, ALIASES, tuple(ALIASES))
    at = (now or datetime.now()).replace(microsecond=0)
    w = domain_table("workforce")
    good: list[dict[str, Any]] = []
    bad = 0
    with stores.engine.begin() as conn:
        members = set(conn.execute(select(w.c.user_id)).scalars())
        logins = dict(conn.execute(select(w.c.login, w.c.user_id)).tuples().all())
        for line, row in rows(path, ALIASES):
            try:
                user = row.get("user_id", "")
                user = user if user in members else logins.get(user, "")
                if not user:
                    raise ValueError(f"no workforce member {row.get('user_id')!r}")
                course = row.get("course", "").strip().lower()
                if course not in settings.courses:
                    known = ", ".join(settings.courses)
                    raise ValueError(f"unknown course {row.get('course')!r}: use {known}")
                done = parse_date(row.get("completed_on", ""), "completed_on")
                if done is None:
                    raise ValueError("no completion date")
                if done > at.date():
                    raise ValueError(f"completed_on {done} is in the future")
            except ValueError as exc:
                bad += quarantine(conn, stores.protector, path, line, "training", str(exc), row)
                continue
            good.append(
                {
                    "user_id": user,
                    "course": course,
                    "completed_on": done,
                    "source": str(path),
                    "imported_at": at,
                }
            )
        before = conn.execute(select(func.count()).select_from(training_records)).scalar_one()
        insert_rows(conn, training_records, good)
        after = conn.execute(select(func.count()).select_from(training_records)).scalar_one()
    loaded = int(after - before)
    return Imported(loaded, len(good) - loaded, bad)


def roster(stores: Stores, settings: ProgramSettings, today: date) -> dict[str, Any]:
    """Per department: members, how many are current on every required course, and each
    overdue (member, course, last completed, due)."""
    w, d = domain_table("workforce"), domain_table("departments")
    with stores.engine.connect() as conn:
        people = (
            conn.execute(
                select(
                    w.c.user_id,
                    w.c.first_name,
                    w.c.last_name,
                    w.c.role,
                    w.c.department_id,
                    w.c.hire_date,
                    w.c.termination_date,
                )
            )
            .mappings()
            .all()
        )
        names = dict(conn.execute(select(d.c.department_id, d.c.name)).tuples().all())
        last = {
            (u, c): day
            for u, c, day in conn.execute(
                select(
                    training_records.c.user_id,
                    training_records.c.course,
                    func.max(training_records.c.completed_on),
                ).group_by(training_records.c.user_id, training_records.c.course)
            ).tuples()
        }
    departments: dict[str, dict[str, Any]] = {}
    overdue: list[dict[str, Any]] = []
    for p in people:
        if p["termination_date"] is not None and p["termination_date"] <= today:
            continue
        dept = names.get(p["department_id"], p["department_id"] or "(none)")
        entry = departments.setdefault(
            dept, {"department": dept, "members": 0, "current": 0, "overdue": 0}
        )
        entry["members"] += 1
        late = False
        for code, course in settings.courses.items():
            if course.roles and p["role"] not in course.roles:
                continue
            done = last.get((p["user_id"], code))
            hired = p["hire_date"] or date.min
            due = (
                done + relativedelta(months=course.every_months)
                if done
                else max(hired + relativedelta(days=settings.new_hire_days), date.min)
            )
            if due < today:
                late = True
                overdue.append(
                    {
                        "user_id": p["user_id"],
                        "name": " ".join(x for x in (p["first_name"], p["last_name"]) if x),
                        "department": dept,
                        "course": code,
                        "course_title": course.title,
                        "last_completed": done,
                        "due": due,
                    }
                )
        entry["overdue" if late else "current"] += 1
    overdue.sort(key=lambda r: (r["department"], r["due"], r["user_id"]))
    return {
        "departments": sorted(departments.values(), key=lambda e: e["department"]),
        "overdue": overdue,
        "members": sum(e["members"] for e in departments.values()),
        "current": sum(e["current"] for e in departments.values()),
    }
