"""The case engine: open a case under a procedure, and make every change to it in one
transaction that locks the case and checks the revision the caller saw (a stale one is a
:class:`Conflict` naming what changed since). What the state or the role does not allow is
refused with the reason (:class:`Refused`, :class:`Forbidden`). Transitions are in
``transition``, the other changes (notes, assignment, tasks, facts, timers) in ``actions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, union_all, update

from phiwarden.cases.effects import EFFECTS, Ctx, Refused, enter_state, pending_timers
from phiwarden.cases.procedure import Procedure, ProcedureError, load, register, stored
from phiwarden.store.case_tables import (
    case_events,
    case_files,
    case_links,
    case_numbers,
    case_subjects,
    case_tasks,
    case_timers,
)
from phiwarden.store.repositories import insert_rows
from phiwarden.store.setup import Stores


class CaseNotFound(LookupError):
    """No case with that number."""


class Forbidden(PermissionError):
    """The caller's role may not do this in this procedure."""


class Conflict(RuntimeError):
    """The case changed since the caller read it: what changed, and the revision now."""

    def __init__(self, case_id: str, current: int, changes: list[dict[str, Any]]) -> None:
        super().__init__(
            f"case {case_id} changed since you read it (now revision {current}): "
            "reload it and try again"
        )
        self.current = current
        self.changes = changes


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def load_procedure(stores: Stores, name: str) -> tuple[Procedure, str]:
    """The current definition of a procedure, checked against the built-in effects."""
    procedure, source = load(name, stores.settings.hospital_config)
    named = [e for s in procedure.states for e in s.effects]
    named += [e for t in procedure.transitions for e in t.effects]
    named += [timer.action for s in procedure.states for timer in s.timers]
    unknown = sorted({e for e in named if e not in EFFECTS})
    if unknown:
        known = ", ".join(sorted(EFFECTS))
        raise ProcedureError(f"{source}: unknown effect(s) {', '.join(unknown)}; known: {known}")
    return procedure, source


def _next_id(conn: Connection, prefix: str, now: datetime) -> str:
    """The next case number of ``prefix`` this year, taken in the opener's transaction.

    The counter row stays locked until the opening commits (or rolls back, returning the
    number): concurrent openers queue on it instead of reading the same highest number and
    all but one failing on the key and redoing the whole opening (measured: about one
    failed attempt per case with two openers on PostgreSQL).
    """
    stem = f"{prefix}-{now.year}-"
    bump = (
        update(case_numbers)
        .where(case_numbers.c.stem == stem)
        .values(last=case_numbers.c.last + 1)
        .returning(case_numbers.c.last)
    )
    taken = conn.execute(bump).scalar()
    if taken is None:
        # the first opening of this stem since the counter was kept: count on from the
        # cases on file (as text "IT-2026-99999" sorts after "...-100000": longest first)
        last = conn.execute(
            select(case_files.c.case_id)
            .where(case_files.c.case_id.like(f"{stem}%"))
            .order_by(func.length(case_files.c.case_id).desc(), case_files.c.case_id.desc())
            .limit(1)
        ).scalar()
        start = int(str(last).rsplit("-", 1)[1]) if last else 0
        insert_rows(conn, case_numbers, [{"stem": stem, "last": start}])
        taken = conn.execute(bump).scalar_one()
    return f"{stem}{int(taken):05d}"


def open_case(
    stores: Stores,
    procedure_name: str,
    *,
    actor: str,
    title: str,
    subjects: Iterable[tuple[str, str, str]] = (),
    links: Iterable[tuple[str, str]] = (),
    details: Mapping[str, Any] | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
    on_open: Callable[[Ctx], None] | None = None,
) -> str:
    """Open a case and enter its initial state; its number.

    ``subjects`` are (kind, ref, role) such as ("patient", patient_id, "victim");
    ``links`` are (kind, ref) such as ("encounter", encounter_id); ``on_open`` runs in the
    same transaction (an investigation stores its evidence snapshot so).
    """
    at = _now(now)
    procedure, source = load_procedure(stores, procedure_name)
    subjects, links = list(dict.fromkeys(subjects)), list(dict.fromkeys(links))
    # the case number is taken under its counter's lock: openers queue, none collides
    with stores.engine.begin() as conn:
        procedure_id = register(conn, procedure, source, at)
        case_id = _next_id(conn, procedure.case_prefix, at)
        row = {
            "case_id": case_id,
            "case_type": procedure.name,
            "procedure_id": procedure_id,
            "state": procedure.initial,
            "title": title[:255],
            "assignee": assignee,
            "opened_at": at,
            "opened_by": actor,
            "details": dict(details or {}),
            "revision": 1,
        }
        conn.execute(insert(case_files).values(**row))
        for kind, ref, role in subjects:
            conn.execute(
                insert(case_subjects).values(case_id=case_id, kind=kind, ref=ref, role=role)
            )
        for kind, ref in links:
            conn.execute(insert(case_links).values(case_id=case_id, kind=kind, ref=ref))
        ctx = Ctx(conn, stores, row, procedure, actor, at, 1)
        ctx.event(
            "opened",
            f"Opened under {procedure.title} (version {procedure.version})",
            detail={"procedure": procedure_id, "links": len(links)},
        )
        state = procedure.state(procedure.initial)
        ctx.event("state", f"State: {state.title}", cites=state.cites)
        enter_state(ctx, state)
        if on_open is not None:
            on_open(ctx)
            conn.execute(
                update(case_files)
                .where(case_files.c.case_id == case_id)
                .values(details=ctx.case["details"], assignee=ctx.case["assignee"])
            )
        _refresh_due(conn, case_id)
        return case_id


def _lock(conn: Connection, case_id: str) -> dict[str, Any]:
    """The case row, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite: a
    no-op write takes the database's write lock, and RETURNING reads the row under it)."""
    if conn.dialect.name == "sqlite":
        query: Any = (
            update(case_files)
            .where(case_files.c.case_id == case_id)
            .values(revision=case_files.c.revision)
            .returning(*case_files.c)
        )
    else:
        query = select(case_files).where(case_files.c.case_id == case_id).with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return dict(row)


def changes_since(conn: Connection, case_id: str, revision: int) -> list[dict[str, Any]]:
    """The history events after ``revision``: what a conflicting writer missed."""
    rows = conn.execute(
        select(case_events.c.revision, case_events.c.at, case_events.c.actor, case_events.c.summary)
        .where(case_events.c.case_id == case_id, case_events.c.revision > revision)
        .order_by(case_events.c.event_id)
    ).mappings()
    return [{**r, "at": r["at"].isoformat()} for r in rows]


def change(
    stores: Stores,
    case_id: str,
    revision: int | None,
    actor: str,
    work: Callable[[Ctx], None],
    *,
    now: datetime | None = None,
    inputs: Mapping[str, Any] | None = None,
    reason: str | None = None,
    allow_closed: bool = False,
    conn: Connection | None = None,
) -> dict[str, Any]:
    """Run ``work`` on a locked case in one transaction; the case row after it.

    ``revision`` None means "whatever it is now" (the tick, system steps); a number that is
    not the current revision raises Conflict with the changes since. With ``conn`` the
    change runs in a savepoint of the caller's transaction (the tick batches cases so):
    it still commits or rolls back whole.
    """
    at = _now(now)
    if conn is not None:
        with conn.begin_nested():
            return _change_on(
                conn, stores, case_id, revision, actor, work, at, inputs, reason, allow_closed
            )
    with stores.engine.begin() as own:
        return _change_on(
            own, stores, case_id, revision, actor, work, at, inputs, reason, allow_closed
        )


def _change_on(
    conn: Connection,
    stores: Stores,
    case_id: str,
    revision: int | None,
    actor: str,
    work: Callable[[Ctx], None],
    at: datetime,
    inputs: Mapping[str, Any] | None,
    reason: str | None,
    allow_closed: bool,
) -> dict[str, Any]:
    case = _lock(conn, case_id)
    if revision is not None and revision != case["revision"]:
        raise Conflict(case_id, case["revision"], changes_since(conn, case_id, revision))
    procedure = stored(conn, case["procedure_id"])
    if case["state"] in procedure.final and not allow_closed:
        raise Refused(f"case {case_id} is closed: it is read-only")
    new_revision = case["revision"] + 1
    ctx = Ctx(conn, stores, case, procedure, actor, at, new_revision, dict(inputs or {}), reason)
    work(ctx)
    values = {k: ctx.case[k] for k in ("state", "assignee", "summary", "closed_at", "details")}
    conn.execute(
        update(case_files)
        .where(case_files.c.case_id == case_id)
        .values(**values, revision=new_revision, due_at=_due(case_id))
    )
    return {**ctx.case, "revision": new_revision}


def _due(case_id: str) -> Any:
    """The case's due date as a subquery: the earliest open task or pending timer."""
    tasks = select(case_tasks.c.due_at.label("due")).where(
        case_tasks.c.case_id == case_id, case_tasks.c.status == "open"
    )
    timers = select(case_timers.c.due_at.label("due")).where(*pending_timers(case_id))
    both = union_all(tasks, timers).subquery()
    return select(func.min(both.c.due)).scalar_subquery()


def _refresh_due(conn: Connection, case_id: str) -> None:
    """Set the case's due date from its open tasks and pending timers."""
    conn.execute(
        update(case_files).where(case_files.c.case_id == case_id).values(due_at=_due(case_id))
    )
