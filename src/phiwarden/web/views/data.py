"""Queries the pages show: queue counts over time, an alert's access timeline."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
from sqlalchemy import func, select

from phiwarden.lake.engine import open_backend
from phiwarden.lake.reader import access_events
from phiwarden.store.monitor_tables import alerts
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.setup import Stores


def dashboard(stores: Stores) -> dict[str, Any]:
    """Alerts and flags per day, queues by status, top reasons and flag codes."""
    with stores.engine.connect() as conn:
        alert_days = conn.execute(
            select(alerts.c.window_end, func.count())
            .group_by(alerts.c.window_end)
            .order_by(alerts.c.window_end)
        ).all()
        flag_days = conn.execute(
            select(func.date(red_flags.c.occurred_at), func.count())
            .group_by(func.date(red_flags.c.occurred_at))
            .order_by(func.date(red_flags.c.occurred_at))
        ).all()
        alert_status: dict[str, int] = dict(
            conn.execute(select(alerts.c.status, func.count()).group_by(alerts.c.status)).all()
        )
        flag_status: dict[str, int] = dict(
            conn.execute(
                select(red_flags.c.status, func.count()).group_by(red_flags.c.status)
            ).all()
        )
        flag_codes = conn.execute(
            select(red_flags.c.code, func.count())
            .group_by(red_flags.c.code)
            .order_by(func.count().desc())
        ).all()
        reasons: dict[str, int] = {}
        for (rs,) in conn.execute(select(alerts.c.reasons)):
            for r in rs or []:
                title = str(r.get("title") or r.get("code"))
                reasons[title] = reasons.get(title, 0) + 1
    return {
        "alert_days": [(str(d), n) for d, n in alert_days],
        "flag_days": [(str(d), n) for d, n in flag_days if d is not None],
        "alert_status": alert_status,
        "flag_status": flag_status,
        "flag_codes": [(c, n) for c, n in flag_codes],
        "top_reasons": sorted(reasons.items(), key=lambda kv: -kv[1])[:10],
    }


def timeline(stores: Stores, user_id: str, first: date, last: date) -> list[tuple[str, int, int]]:
    """The user's accesses per hour in the window: (hour, accesses, distinct patients)."""
    with open_backend("duckdb") as con:
        events = access_events(con, stores.settings.lake_dir, first, last)
        hourly = (
            events.filter(events.user_id == user_id)
            .mutate(hour=events.ts.truncate("h"))
            .group_by("hour")
            .aggregate(accesses=ibis._.count(), patients=ibis._.patient_id.nunique())
            .order_by("hour")
        )
        rows = hourly.to_pyarrow().to_pylist()
    return [(r["hour"].isoformat(sep=" "), int(r["accesses"]), int(r["patients"])) for r in rows]


def window_days(first: date, last: date) -> list[date]:
    """Every day of a window (for chart axes)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
