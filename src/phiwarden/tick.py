"""What runs on each tick, above every area: the audit trail's anchor when it is due, the
breach obligations' reminders, the case timers that have come due and the outbox.
``phiwarden serve`` runs it every minute (reminders at most hourly); ``phiwarden cases
tick`` runs it from cron (everything, every time)."""

from __future__ import annotations

from datetime import datetime
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
    queued = remind(stores, now) if reminders else 0
    result = tick(stores, now)
    return {
        "reminders": queued,
        "fired": result.fired,
        "skipped": result.skipped,
        "sent": result.delivery.sent,
        "failed": result.delivery.failed,
        "waiting": result.delivery.waiting,
    }


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
