"""The tick: act on every timer that has come due, then deliver the outbox.

Timers are due dates in the store. A timer fires in the transaction that marks it fired
(``fired_at`` is set only where it is still empty), so a second tick, or two ticks at
once, find nothing to do twice. ``phiwarden serve`` runs a tick every minute and
``phiwarden cases tick`` runs one from cron; tests pass the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from phiwarden.cases.delivery import Delivered, deliver
from phiwarden.cases.effects import EFFECTS, Ctx, Refused
from phiwarden.cases.engine import change
from phiwarden.store.case_tables import case_timers
from phiwarden.store.setup import Stores

SYSTEM = "phiwarden (timer)"


@dataclass(frozen=True)
class TickResult:
    """What one tick did."""

    fired: int
    skipped: int
    delivery: Delivered


def due_timers(stores: Stores, now: datetime) -> list[tuple[int, str]]:
    """(timer id, case) of every pending timer due by ``now``, earliest first."""
    with stores.engine.connect() as conn:
        rows = conn.execute(
            select(case_timers.c.timer_id, case_timers.c.case_id)
            .where(
                case_timers.c.fired_at.is_(None),
                case_timers.c.cancelled_at.is_(None),
                case_timers.c.due_at <= now,
            )
            .order_by(case_timers.c.due_at, case_timers.c.timer_id)
        ).all()
    return [(int(t), str(c)) for t, c in rows]


#: cases whose due timers one transaction takes (each in its own savepoint)
BATCH = 250


def tick(stores: Stores, now: datetime | None = None, deliver_outbox: bool = True) -> TickResult:
    """Fire what is due by ``now`` (default: the clock), then deliver pending messages.

    Due timers are taken in batches: one transaction per batch, one savepoint per case, so
    a case's change still commits or rolls back whole while the batch shares one commit.
    """
    at = (now or datetime.now()).replace(microsecond=0)
    fired = skipped = 0
    due = due_timers(stores, at)
    for start in range(0, len(due), BATCH):
        with stores.engine.begin() as conn:
            for timer_id, case_id in due[start : start + BATCH]:
                outcome = _fire(stores, conn, timer_id, case_id, at)
                fired += outcome
                skipped += not outcome
    delivery = deliver(stores, at) if deliver_outbox else Delivered(0, 0, 0)
    return TickResult(fired, skipped, delivery)


def _fire(stores: Stores, conn: Connection, timer_id: int, case_id: str, at: datetime) -> bool:
    """Run one due timer's action on its case; False when another tick took it first or
    the case is closed (its timers end with it)."""
    outcome: list[bool] = []

    def work(ctx: Ctx) -> None:
        timer = (
            ctx.conn.execute(
                update(case_timers)
                .where(
                    case_timers.c.timer_id == timer_id,
                    case_timers.c.fired_at.is_(None),
                    case_timers.c.cancelled_at.is_(None),
                )
                .values(fired_at=ctx.now)
                .returning(case_timers.c.key, case_timers.c.action, case_timers.c.cites)
            )
            .mappings()
            .first()
        )
        if timer is None:  # another tick took it first
            return
        ctx.event("timer", f"Timer due: {timer['key'].replace('_', ' ')}", cites=timer["cites"])
        EFFECTS[timer["action"]](ctx)
        outcome.append(True)

    try:
        change(stores, case_id, None, SYSTEM, work, now=at, conn=conn)
    except Refused:
        conn.execute(
            update(case_timers)
            .where(case_timers.c.timer_id == timer_id, case_timers.c.fired_at.is_(None))
            .values(cancelled_at=at, note="case closed")
        )
        return False
    return bool(outcome)
