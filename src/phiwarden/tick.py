"""What runs on each tick, above every area: the audit trail's anchor when it is due, the
lake's openings of the last week's whole days, the breach obligations' reminders, the case
timers that have come due and the outbox. ``phiwarden serve`` runs it every minute
(reminders at most hourly); ``phiwarden cases tick`` runs it from cron (everything, every
time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from phiwarden.cli_common import out
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail
from phiwarden.store.setup import Stores


def tick_all(
    stores: Stores, now: datetime | None = None, *, reminders: bool = True
) -> dict[str, Any]:
    """One tick; what it did."""
    from phiwarden.breach.reminders import remind
    from phiwarden.cases.tick import tick
    from phiwarden.web import audit_anchor

    audit_anchor.if_stale(stores.engine, stores.settings)
    rolled = _roll_up_last_week(stores, now)
    queued = remind(stores, now) if reminders else 0
    result = tick(stores, now)
    return {
        "openings_built": rolled,
        "reminders": queued,
        "fired": result.fired,
        "skipped": result.skipped,
        "sent": result.delivery.sent,
        "failed": result.delivery.failed,
        "waiting": result.delivery.waiting,
    }


def _roll_up_last_week(stores: Stores, now: datetime | None) -> int:
    """The lake's openings of the last seven whole days that lack fresh ones: a receiver
    appends every few seconds and leaves them to the tick (see lake.openings)."""
    from phiwarden.lake.openings import refresh_openings

    today = (now or datetime.now()).date()
    days = [today - timedelta(days=k) for k in range(1, 8)]
    return len(refresh_openings(stores.settings.lake_dir, days))


def cases_tick(
    at: Annotated[
        str | None, typer.Option(help="Act as if it were this time (YYYY-MM-DDTHH:MM).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Queue breach obligations' reminders, act on every due timer and deliver the outbox;
    safe to run twice (cron: every minute)."""
    try:
        now = datetime.fromisoformat(at) if at else None
    except ValueError:
        fail("--at is YYYY-MM-DDTHH:MM")
    body = tick_all(_stores(), now)
    if as_json:
        _print_json(body)
        return
    out.print(", ".join(f"{v} {k}" for k, v in body.items()))
