"""What a procedure step does, by name: the registry of built-in effects and the context
they run in.

A procedure file names effects ("suspend_billing", "separate_records"); each is a function
of a :class:`Ctx` that changes the store inside the case's transaction and writes its own
history events. Tasks, timers and e-mail notices are common to every procedure and live
here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from phiwarden.cases.people import Person, load_people
from phiwarden.cases.procedure import Procedure, StateSpec
from phiwarden.store.case_tables import (
    case_events,
    case_links,
    case_outbox,
    case_subjects,
    case_tasks,
    case_timers,
)
from phiwarden.store.setup import Stores

Effect = Callable[["Ctx"], None]
EFFECTS: dict[str, Effect] = {}


class Refused(ValueError):
    """The state, the guards or the input do not allow what was asked; says why."""


def effect(name: str) -> Callable[[Effect], Effect]:
    """Register a function as the built-in effect ``name``."""

    def add(fn: Effect) -> Effect:
        EFFECTS[name] = fn
        return fn

    return add


@dataclass
class Ctx:
    """One change to one case, inside its transaction."""

    conn: Connection
    stores: Stores
    case: dict[str, Any]
    procedure: Procedure
    actor: str
    now: datetime
    revision: int
    inputs: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    @property
    def case_id(self) -> str:
        """The case's number."""
        return str(self.case["case_id"])

    def event(
        self,
        kind: str,
        summary: str,
        *,
        cites: str | None = None,
        detail: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Append one event to the case's history."""
        self.conn.execute(
            insert(case_events).values(
                case_id=self.case_id,
                revision=self.revision,
                at=self.now,
                actor=self.actor,
                kind=kind,
                summary=summary,
                reason=reason,
                cites=cites,
                detail=detail,
            )
        )

    def links(self, kind: str) -> list[str]:
        """The case's links of one kind (encounter, account, red_flag, ...)."""
        rows = self.conn.execute(
            select(case_links.c.ref)
            .where(case_links.c.case_id == self.case_id, case_links.c.kind == kind)
            .order_by(case_links.c.ref)
        )
        return [str(r) for (r,) in rows]

    def subjects(self, role: str) -> list[str]:
        """The case's subjects in one role (victim, offender, user)."""
        rows = self.conn.execute(
            select(case_subjects.c.ref).where(
                case_subjects.c.case_id == self.case_id, case_subjects.c.role == role
            )
        )
        return [str(r) for (r,) in rows]

    def setting(self, name: str) -> Any:
        """A setting of the procedure the case runs under."""
        return self.procedure.settings[name]

    def people(self) -> dict[str, Person]:
        """Program role -> person, from the hospital's casework settings."""
        return load_people(self.stores.settings.hospital_config)


def enter_state(ctx: Ctx, state: StateSpec) -> None:
    """Run a state's effects, create its tasks and set its timers."""
    for name in state.effects:
        EFFECTS[name](ctx)
    people = ctx.people()
    due_days = int(ctx.procedure.settings.get("task_due_days", 2))
    open_keys = {
        str(k)
        for (k,) in ctx.conn.execute(
            select(case_tasks.c.key).where(
                case_tasks.c.case_id == ctx.case_id, case_tasks.c.status == "open"
            )
        )
    }
    for task in state.tasks:
        if task.key in open_keys:
            continue
        person = people.get(task.role)
        due = ctx.now + timedelta(days=task.due_days or due_days)
        ctx.conn.execute(
            insert(case_tasks).values(
                case_id=ctx.case_id,
                key=task.key,
                role=task.role,
                assignee=person.name if person else None,
                title=task.title,
                signoff=task.signoff,
                cites=task.cites,
                status="open",
                created_at=ctx.now,
                due_at=due,
            )
        )
        ctx.event("task", f"Task for {task.role}: {task.title}", cites=task.cites)
        if person is not None and person.email:
            notify(ctx, person.email, f"Task: {task.title}")
    for timer in state.timers:
        days = ctx.procedure.timer_days(timer)
        ctx.conn.execute(
            insert(case_timers).values(
                case_id=ctx.case_id,
                key=timer.key,
                action=timer.action,
                cites=timer.cites,
                created_at=ctx.now,
                due_at=ctx.now + timedelta(days=days),
            )
        )
        ctx.event("timer", f"Timer set: {timer.title} ({days} days)", cites=timer.cites)


def pending_timers(case_id: str) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a case's pending timers (neither fired nor cancelled).

    Written so that only the case's index can serve them: as two ``IS NULL`` tests,
    PostgreSQL with statistics from an emptier table walked the due-date index over every
    pending timer of every case instead (33 ms an opening at 84,000 cases).
    """
    return (
        case_timers.c.case_id == case_id,
        func.coalesce(case_timers.c.fired_at, case_timers.c.cancelled_at).is_(None),
    )


def cancel_timers(ctx: Ctx, why: str) -> None:
    """Cancel the case's pending timers (a state's timers end when the case leaves it)."""
    pending = pending_timers(ctx.case_id)
    keys = [k for (k,) in ctx.conn.execute(select(case_timers.c.key).where(*pending))]
    if keys:
        ctx.conn.execute(update(case_timers).where(*pending).values(cancelled_at=ctx.now, note=why))
        ctx.event("timer", f"Timer cancelled: {', '.join(keys)} ({why})")


def notify(ctx: Ctx, address: str, what: str) -> None:
    """Queue an e-mail notice in the case's transaction: case number, what, a link.

    The notice never carries patient data: whoever reads it signs in to see the case.
    Without an SMTP server in the settings nothing is queued: the task shows in the pages.
    """
    if ctx.stores.settings.smtp is None:
        return
    link = f"{ctx.stores.settings.base_url}/cases/{ctx.case_id}"
    body = (
        f"Case {ctx.case_id} ({ctx.procedure.title}) needs you.\n\n{what}\n\n"
        f"Open the case: {link}\n"
    )
    ctx.conn.execute(
        insert(case_outbox).values(
            case_id=ctx.case_id,
            channel="email",
            destination=address,
            subject=f"[phiwarden] Case {ctx.case_id}: {what}"[:255],
            body_encrypted=ctx.stores.protector.fernet.encrypt(body.encode()),
            created_at=ctx.now,
            attempts=0,
            next_attempt_at=ctx.now,
        )
    )


def notify_role(ctx: Ctx, role: str, what: str) -> None:
    """Notify the holder of a program role, when an address is set for it."""
    person = ctx.people().get(role)
    if person is not None and person.email:
        notify(ctx, person.email, what)
