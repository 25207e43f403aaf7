"""Corrective actions of a case or an incident: what will change so it does not happen
again, with an owner, a due date, and a verification that it worked (45 CFR
164.308(a)(6)(ii) and 164.530(f): mitigate, and document; seed 000 lists the call centre's
extra identifier and stronger access monitoring).

An action is open, then done (the owner says so), then verified (someone other than the
one who marked it done checks it worked, and says how). Each step is written on the case's
timeline too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from phiwarden.cases.effects import Ctx, Refused
from phiwarden.cases.engine import CaseNotFound, change
from phiwarden.store.case_tables import case_files
from phiwarden.store.program_tables import corrective_actions
from phiwarden.store.setup import Stores


def add_action(
    stores: Stores,
    case_id: str,
    title: str,
    owner: str,
    due_on: date,
    *,
    actor: str,
    now: datetime | None = None,
) -> int:
    """Add a corrective action to a case or incident; its number."""
    if not title.strip() or not owner.strip():
        raise Refused("give the action and its owner")
    at = (now or datetime.now()).replace(microsecond=0)
    if due_on < at.date():
        raise Refused(f"the due date {due_on} is in the past")
    made: list[int] = []

    def work(ctx: Ctx) -> None:
        result = ctx.conn.execute(
            insert(corrective_actions)
            .values(
                case_id=case_id,
                title=title.strip(),
                owner=owner.strip(),
                due_on=due_on,
                status="open",
                created_at=ctx.now,
                created_by=ctx.actor,
            )
            .returning(corrective_actions.c.action_id)
        )
        made.append(int(result.scalar_one()))
        ctx.event(
            "corrective", f"Corrective action: {title.strip()} ({owner.strip()}, due {due_on})"
        )

    change(stores, case_id, None, actor, work, now=at, allow_closed=True)
    return made[0]


def _action(conn: Connection, action_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(corrective_actions).where(corrective_actions.c.action_id == action_id))
        .mappings()
        .first()
    )
    if row is None:
        raise CaseNotFound(f"no corrective action {action_id}")
    return dict(row)


def mark_done(
    stores: Stores, action_id: int, note: str, *, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """The owner reports the action done."""
    with stores.engine.connect() as conn:
        case_id = _action(conn, action_id)["case_id"]

    def work(ctx: Ctx) -> None:
        row = _action(ctx.conn, action_id)
        if row["status"] != "open":
            raise Refused(f"corrective action {action_id} is already {row['status']}")
        ctx.conn.execute(
            update(corrective_actions)
            .where(corrective_actions.c.action_id == action_id)
            .values(
                status="done", done_at=ctx.now, done_by=ctx.actor, done_note=note.strip() or None
            )
        )
        ctx.event("corrective", f"Corrective action done: {row['title']}", reason=note or None)

    change(stores, case_id, None, actor, work, now=now, allow_closed=True)
    with stores.engine.connect() as conn:
        return _action(conn, action_id)


def verify_action(
    stores: Stores, action_id: int, how: str, *, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """Someone other than who marked it done checks that it worked, and says how."""
    if not how.strip():
        raise Refused("say how the action was verified")
    with stores.engine.connect() as conn:
        case_id = _action(conn, action_id)["case_id"]

    def work(ctx: Ctx) -> None:
        row = _action(ctx.conn, action_id)
        if row["status"] != "done":
            raise Refused(f"corrective action {action_id} is {row['status']}: mark it done first")
        if row["done_by"] == ctx.actor:
            raise Refused("the one who marked it done cannot verify it: ask someone else")
        ctx.conn.execute(
            update(corrective_actions)
            .where(corrective_actions.c.action_id == action_id)
            .values(
                status="verified",
                verified_at=ctx.now,
                verified_by=ctx.actor,
                verification=how.strip(),
            )
        )
        ctx.event("corrective", f"Corrective action verified: {row['title']}", reason=how.strip())

    change(stores, case_id, None, actor, work, now=now, allow_closed=True)
    with stores.engine.connect() as conn:
        return _action(conn, action_id)


def list_actions(
    conn: Connection, case_id: str | None = None, *, open_only: bool = False
) -> list[dict[str, Any]]:
    """Corrective actions (of one case, or all), soonest due first, with the case type."""
    stmt = select(corrective_actions, case_files.c.case_type).join(
        case_files, case_files.c.case_id == corrective_actions.c.case_id
    )
    if case_id is not None:
        stmt = stmt.where(corrective_actions.c.case_id == case_id)
    if open_only:
        stmt = stmt.where(corrective_actions.c.status != "verified")
    rows = conn.execute(stmt.order_by(corrective_actions.c.due_on, corrective_actions.c.action_id))
    return [dict(r) for r in rows.mappings()]
