"""Changes to a case besides transitions: notes, assignment, task sign-off (a committee
approval runs the step it held), facts a guard asks for, and the committee's decisions on
timers. Each is one ``engine.change``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from phiwarden.cases.effects import EFFECTS, Ctx, Refused, pending_timers
from phiwarden.cases.engine import CaseNotFound, Forbidden, change
from phiwarden.cases.procedure import Procedure
from phiwarden.store.case_tables import case_tasks, case_timers
from phiwarden.store.setup import Stores


def add_note(
    stores: Stores,
    case_id: str,
    text: str,
    *,
    actor: str,
    revision: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add a note to the case's history."""
    if not text.strip():
        raise Refused("the note is empty")
    return change(
        stores, case_id, revision, actor, lambda ctx: ctx.event("note", text.strip()), now=now
    )


def assign(
    stores: Stores,
    case_id: str,
    assignee: str,
    *,
    actor: str,
    revision: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Give the case to someone."""

    def work(ctx: Ctx) -> None:
        ctx.case["assignee"] = assignee or None
        ctx.event("assigned", f"Assigned to {assignee}" if assignee else "Unassigned")

    return change(stores, case_id, revision, actor, work, now=now)


def sign_task(
    stores: Stores,
    case_id: str,
    task_id: int,
    *,
    actor: str,
    role: str,
    revision: int | None,
    note: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Sign a task off: the signer attests what the task's sign-off says."""

    def work(ctx: Ctx) -> None:
        task = (
            ctx.conn.execute(
                select(case_tasks).where(
                    case_tasks.c.task_id == task_id, case_tasks.c.case_id == case_id
                )
            )
            .mappings()
            .first()
        )
        if task is None:
            raise CaseNotFound(f"case {case_id} has no task {task_id}")
        if task["status"] != "open":
            raise Refused(f"task {task_id} is already {task['status']}")
        spec = _task_spec(ctx.procedure, task["key"])
        signers = spec.signers if spec else ("privacy_officer",)
        if role not in signers:
            raise Forbidden(
                f"the role {role} may not sign off {task['title']!r}: {', '.join(signers)} may"
            )
        ctx.conn.execute(
            update(case_tasks)
            .where(case_tasks.c.task_id == task_id)
            .values(status="done", done_at=ctx.now, done_by=actor, note=note or None)
        )
        ctx.event(
            "signed",
            f"Signed off: {task['title']}",
            cites=task["cites"],
            reason=note or None,
            detail={"task_id": task_id, "signoff": task["signoff"]},
        )
        if str(task["key"]).startswith("approve_"):
            _run_held(ctx, str(task["key"]).removeprefix("approve_"))

    return change(stores, case_id, revision, actor, work, now=now)


def _run_held(ctx: Ctx, key: str) -> None:
    """The committee approved: run the step its hold stopped."""
    held = ctx.conn.execute(
        select(case_timers.c.action)
        .where(
            case_timers.c.case_id == ctx.case_id,
            case_timers.c.key == key,
            case_timers.c.note.like("held by the committee%"),
        )
        .order_by(case_timers.c.timer_id.desc())
    ).first()
    if held is not None:
        ctx.event("timer", f"Approved by the committee: {key.replace('_', ' ')}", cites="IX.10")
        EFFECTS[str(held.action)](ctx)


def _task_spec(procedure: Procedure, key: str) -> Any:
    return next((t for s in procedure.states for t in s.tasks if t.key == key), None)


def record_fact(
    stores: Stores,
    case_id: str,
    fact: str,
    value: str,
    *,
    actor: str,
    role: str,
    revision: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record a fact a guard can ask for (e.g. counsel consulted, and who)."""

    def work(ctx: Ctx) -> None:
        spec = ctx.procedure.facts.get(fact)
        if spec is None:
            raise Refused(f"unknown fact {fact!r}: use one of {', '.join(ctx.procedure.facts)}")
        if role not in spec.roles:
            raise Forbidden(f"the role {role} may not record {fact!r}: {', '.join(spec.roles)} may")
        if not value.strip():
            raise Refused(f"say who or what for {fact!r}")
        facts = dict(ctx.case["details"].get("facts") or {})
        facts[fact] = {"value": value.strip(), "by": actor, "at": ctx.now.isoformat()}
        ctx.case["details"] = {**ctx.case["details"], "facts": facts}
        ctx.event("fact", f"Recorded: {spec.title}: {value.strip()}", cites=spec.cites)

    return change(stores, case_id, revision, actor, work, now=now)


def extend_timer(
    stores: Stores,
    case_id: str,
    key: str,
    days: int,
    *,
    actor: str,
    reason: str,
    revision: int | None,
    hold: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The committee's decision on a pending timer (IX.10): extend it by ``days``, or
    ``hold`` it so that nothing happens until someone approves, with the reason."""
    if not reason.strip():
        raise Refused("give the reason for the committee's decision")
    if not hold and not 1 <= days <= 365:
        raise Refused("extend by 1 to 365 days")

    def work(ctx: Ctx) -> None:
        pending = (
            ctx.conn.execute(
                select(case_timers).where(*pending_timers(case_id), case_timers.c.key == key)
            )
            .mappings()
            .first()
        )
        if pending is None:
            raise Refused(f"case {case_id} has no pending timer {key!r}")
        if hold:
            ctx.conn.execute(
                update(case_timers)
                .where(case_timers.c.timer_id == pending["timer_id"])
                .values(cancelled_at=ctx.now, note=f"held by the committee: {reason}")
            )
            ctx.conn.execute(
                insert(case_tasks).values(
                    case_id=case_id,
                    key=f"approve_{key}",
                    role="Identity Theft Committee",
                    title=f"Approve before: {key.replace('_', ' ')}",
                    signoff="The committee approves; the held step runs when this is signed off.",
                    cites="IX.10",
                    status="open",
                    created_at=ctx.now,
                    due_at=pending["due_at"],
                )
            )
            ctx.event(
                "timer", f"Timer held for committee approval: {key}", cites="IX.10", reason=reason
            )
            return
        due = pending["due_at"] + timedelta(days=days)
        ctx.conn.execute(
            update(case_timers)
            .where(case_timers.c.timer_id == pending["timer_id"])
            .values(due_at=due)
        )
        ctx.event(
            "timer",
            f"Timer {key} extended by {days} days to {due:%Y-%m-%d}",
            cites="IX.10",
            reason=reason,
        )

    return change(stores, case_id, revision, actor, work, now=now, reason=reason)
