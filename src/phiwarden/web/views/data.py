"""Queries the pages show: queue counts over time, how much was explained, an alert's
access timeline, its patients and the personal relationships found."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import ibis
from sqlalchemy import func, select, text

from phiwarden.lake.engine import open_backend
from phiwarden.lake.reader import access_events
from phiwarden.monitor.catalogue import BY_CODE as DETECTORS
from phiwarden.monitor.readiness import latest as latest_readiness
from phiwarden.store.monitor_tables import alerts, monitor_runs
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

#: The ten commonest alert reasons, counted in the database: the dashboard is the landing
#: page, and reading every alert's reasons into Python took 350 ms at 100k alerts.
_TOP_REASONS = {
    "sqlite": "SELECT coalesce(json_extract(r.value, '$.title'), json_extract(r.value, '$.code')) "
    "AS reason, count(*) AS n FROM alerts, json_each(alerts.reasons) AS r "
    "GROUP BY reason ORDER BY n DESC, reason LIMIT 10",
    "postgresql": "SELECT coalesce(r->>'title', r->>'code') AS reason, count(*) AS n "
    "FROM alerts, json_array_elements(alerts.reasons) AS r "
    "GROUP BY reason ORDER BY n DESC, reason LIMIT 10",
}


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
        counted = conn.execute(text(_TOP_REASONS[conn.dialect.name]))
        top_reasons = [(str(reason), int(n)) for reason, n in counted]
        runs = conn.execute(
            select(monitor_runs.c.window_start, monitor_runs.c.window_end, monitor_runs.c.stats)
            .where(monitor_runs.c.finished_at.is_not(None))
            .order_by(monitor_runs.c.window_end, monitor_runs.c.run_id)
        ).all()
    return {
        "readiness": latest_readiness(stores.engine),
        "explained": _explained(runs),
        "alert_days": [(str(d), n) for d, n in alert_days],
        "flag_days": [(str(d), n) for d, n in flag_days if d is not None],
        "alert_status": alert_status,
        "flag_status": flag_status,
        "flag_codes": [(c, n) for c, n in flag_codes],
        "top_reasons": top_reasons,
    }


def _explained(runs: Sequence[Any]) -> dict[str, Any]:
    """Per finished run with accesses: the window and its explained fraction; and over all
    of them, the share of accesses each explanation template accounts for."""
    windows: list[dict[str, Any]] = []
    by_template: dict[str, int] = {}
    total = explained = 0
    for first, last, stats in runs:
        accesses = int((stats or {}).get("accesses") or 0)
        if not accesses:
            continue
        windows.append(
            {
                "window": f"{first} – {last}",
                "end": str(last),
                "fraction": float(stats["explained_fraction"]),
                "accesses": accesses,
            }
        )
        total += accesses
        explained += int(stats.get("explained", round(accesses * stats["explained_fraction"])))
        for name, n in (stats.get("by_template") or {}).items():
            by_template[name] = by_template.get(name, 0) + int(n)
    return {
        "windows": windows,
        "fraction": explained / total if total else None,
        "accesses": total,
        "by_template": sorted(
            ((k, n / total) for k, n in by_template.items() if n), key=lambda kv: -kv[1]
        )
        if total
        else [],
    }


def alert_people(stores: Stores, alert: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The alert's patients (MRN, name, the reasons that name them) and, from the reasons
    whose detectors find personal ties, each relationship found with its detail."""
    ids = [str(p) for p in alert["patient_ids"]]
    table = domain_table("patients")
    found: dict[str, dict[str, Any]] = {}
    with stores.engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in conn.execute(
                select(
                    table.c.patient_id, table.c.mrn, table.c.first_name, table.c.last_name
                ).where(table.c.patient_id.in_(chunk))
            ).mappings():
                found[str(row["patient_id"])] = dict(row)
    reasons_of: dict[str, list[str]] = {pid: [] for pid in ids}
    relationships: list[dict[str, Any]] = []
    for reason in alert["reasons"]:
        for pid in reason.get("patient_ids", []):
            reasons_of.setdefault(str(pid), []).append(str(reason.get("title")))
        detector = DETECTORS.get(str(reason.get("code")))
        if detector is None or not detector.relationship:
            continue
        for hit in reason.get("evidence", []):
            pid = str(hit.get("patient_id"))
            relationships.append(
                {
                    "patient_id": pid,
                    "mrn": found.get(pid, {}).get("mrn"),
                    "kind": detector.title,
                    "detail": hit.get("detail", ""),
                }
            )
    patients = [
        {
            "patient_id": pid,
            "mrn": found.get(pid, {}).get("mrn"),
            "name": " ".join(
                str(found[pid][k]) for k in ("first_name", "last_name") if found[pid].get(k)
            )
            if pid in found
            else "",
            "reasons": reasons_of.get(pid, []),
        }
        for pid in ids
    ]
    return {"patients": patients, "relationships": relationships}


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
