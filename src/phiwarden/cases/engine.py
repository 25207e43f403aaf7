"""The case engine: open a case under a procedure, move it through its states, and make
every other change to it (notes, assignment, tasks, facts, timers).

Every change is one transaction that locks the case, checks the revision the caller saw
(a stale one is a :class:`Conflict` naming what changed since), refuses what the state or
the role does not allow (:class:`Refused`, :class:`Forbidden`, with the reason), applies
the change with its effects, appends to the history and bumps the revision. The state
machine itself is ``transitions`` built from the procedure's data: it matches the trigger
to the transition leaving the current state, evaluates the guards as conditions, and runs
the transition's and the new state's effects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from transitions import EventData, Machine

from phiwarden.cases import guards
from phiwarden.cases.effects import EFFECTS, Ctx, Refused, cancel_timers, enter_state
from phiwarden.cases.procedure import Procedure, ProcedureError, load, register, stored
from phiwarden.store.case_tables import (
    case_events,
    case_files,
    case_links,
    case_subjects,
    case_tasks,
    case_timers,
)
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
    stem = f"{prefix}-{now.year}-"
    last = conn.execute(
        select(func.max(case_files.c.case_id)).where(case_files.c.case_id.like(f"{stem}%"))
    ).scalar_one()
    n = int(str(last).rsplit("-", 1)[1]) + 1 if last else 1
    return f"{stem}{n:05d}"


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
) -> str:
    """Open a case and enter its initial state; its number.

    ``subjects`` are (kind, ref, role) such as ("patient", patient_id, "victim");
    ``links`` are (kind, ref) such as ("encounter", encounter_id).
    """
    at = _now(now)
    procedure, source = load_procedure(stores, procedure_name)
    subjects, links = list(dict.fromkeys(subjects)), list(dict.fromkeys(links))
    for attempt in range(5):
        try:
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
                _refresh_due(conn, case_id)
                return case_id
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _lock(conn: Connection, case_id: str) -> dict[str, Any]:
    if conn.dialect.name == "sqlite":
        # take SQLite's write lock first, so the revision read below is the latest
        conn.execute(
            update(case_files)
            .where(case_files.c.case_id == case_id)
            .values(revision=case_files.c.revision)
        )
    query = select(case_files).where(case_files.c.case_id == case_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
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
        .values(**values, revision=new_revision)
    )
    _refresh_due(conn, case_id)
    return {**ctx.case, "revision": new_revision}


def _machine(procedure: Procedure) -> Machine:
    def guard(spec: Any) -> Callable[[EventData], bool]:
        def check(event: EventData) -> bool:
            run: _Run = event.model  # type: ignore[assignment]
            missing = guards.unmet(run.ctx, spec)
            run.missing = missing
            return not missing

        return check

    def effects(spec: Any) -> Callable[[EventData], None]:
        def run(event: EventData) -> None:
            model: _Run = event.model  # type: ignore[assignment]
            for name in spec.effects:
                EFFECTS[name](model.ctx)

        return run

    return Machine(
        model=[],
        states=[s.name for s in procedure.states],
        initial=procedure.initial,
        transitions=[
            {
                "trigger": t.trigger,
                "source": list(t.source),
                "dest": t.dest,
                "conditions": [guard(t)],
                "before": [effects(t)],
            }
            for t in procedure.transitions
        ],
        auto_transitions=False,
        send_event=True,
    )


_MACHINES: dict[str, Machine] = {}


class _Run:
    """The model the state machine moves: one case inside one change."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.missing: list[str] = []


def fire(
    stores: Stores,
    case_id: str,
    trigger: str,
    *,
    actor: str,
    role: str,
    revision: int | None,
    reason: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Make a transition of the case's procedure, if its state, guards and role allow."""

    def work(ctx: Ctx) -> None:
        spec = next(
            (t for t in ctx.procedure.transitions_from(ctx.case["state"]) if t.trigger == trigger),
            None,
        )
        if spec is None:
            allowed = [t.trigger for t in ctx.procedure.transitions_from(ctx.case["state"])]
            raise Refused(
                f"a case in state {ctx.case['state']!r} cannot {trigger!r}"
                + (f"; it can: {', '.join(allowed)}" if allowed else "")
            )
        if role not in spec.roles:
            raise Forbidden(f"the role {role} may not {trigger!r}: {', '.join(spec.roles)} may")
        machine = _MACHINES.get(ctx.case["procedure_id"])
        if machine is None:
            machine = _MACHINES.setdefault(ctx.case["procedure_id"], _machine(ctx.procedure))
        run = _Run(ctx)
        machine.add_model(run, initial=ctx.case["state"])
        try:
            moved = run.trigger(trigger)  # type: ignore[attr-defined]
        finally:
            machine.remove_model(run)
        if not moved:
            raise Refused(f"cannot {spec.title.lower()} yet: " + "; ".join(run.missing))
        old = ctx.case["state"]
        ctx.case["state"] = run.state  # type: ignore[attr-defined]
        ctx.event(
            "transition",
            f"{spec.title}: {ctx.procedure.state(old).title} → "
            f"{ctx.procedure.state(ctx.case['state']).title}",
            cites=spec.cites,
            reason=reason,
            detail={"trigger": trigger, "from": old, "to": ctx.case["state"]},
        )
        cancel_timers(ctx, f"left state {old}")
        if spec.completes:
            ctx.conn.execute(
                update(case_tasks)
                .where(
                    case_tasks.c.case_id == ctx.case_id,
                    case_tasks.c.status == "open",
                    case_tasks.c.key.in_(spec.completes),
                )
                .values(status="done", done_at=ctx.now, done_by=ctx.actor, note=spec.title)
            )
        if ctx.inputs.get("summary"):
            ctx.case["summary"] = str(ctx.inputs["summary"])
        dest = ctx.procedure.state(ctx.case["state"])
        if dest.name in ctx.procedure.final:
            ctx.case["closed_at"] = ctx.now
            _cancel_open_tasks(ctx)
        enter_state(ctx, dest)

    return change(stores, case_id, revision, actor, work, now=now, inputs=inputs, reason=reason)


def _cancel_open_tasks(ctx: Ctx) -> None:
    ctx.conn.execute(
        update(case_tasks)
        .where(case_tasks.c.case_id == ctx.case_id, case_tasks.c.status == "open")
        .values(status="cancelled", done_at=ctx.now, note="case closed")
    )


def _refresh_due(conn: Connection, case_id: str) -> None:
    """The case's due date: the earliest open task or pending timer."""
    task = select(func.min(case_tasks.c.due_at)).where(
        case_tasks.c.case_id == case_id, case_tasks.c.status == "open"
    )
    timer = select(func.min(case_timers.c.due_at)).where(
        case_timers.c.case_id == case_id,
        case_timers.c.fired_at.is_(None),
        case_timers.c.cancelled_at.is_(None),
    )
    dates = [d for d in (conn.execute(task).scalar(), conn.execute(timer).scalar()) if d]
    conn.execute(
        update(case_files)
        .where(case_files.c.case_id == case_id)
        .values(due_at=min(dates) if dates else None)
    )


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
        if role != "privacy_officer":
            raise Forbidden(f"the role {role} may not record {fact!r}: privacy_officer may")
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
                select(case_timers).where(
                    case_timers.c.case_id == case_id,
                    case_timers.c.key == key,
                    case_timers.c.fired_at.is_(None),
                    case_timers.c.cancelled_at.is_(None),
                )
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
