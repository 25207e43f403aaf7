"""Transitions of a case's procedure, with the state machine built from the procedure's
data by ``transitions``: it matches the trigger to the transition leaving the current
state, evaluates the guards as conditions (each unmet guard reported in words), and runs
the transition's effects before the new state's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from transitions import EventData, Machine

from phiwarden.cases import guards
from phiwarden.cases.effects import EFFECTS, Ctx, Refused, cancel_timers, enter_state
from phiwarden.cases.engine import Forbidden, change
from phiwarden.cases.procedure import Procedure
from phiwarden.store.case_tables import case_tasks
from phiwarden.store.setup import Stores


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
