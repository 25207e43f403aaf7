"""Run status: what the stores hold and the monitoring runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from phiwarden.monitor.readiness import latest as latest_readiness
from phiwarden.store import repositories as repo
from phiwarden.store.monitor_tables import monitor_runs
from phiwarden.web.api.deps import Caller, guard, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(tags=["status"])


@router.get("/status")
def run_status(
    request: Request,
    caller: Caller = Depends(guard(Permission.STATUS)),
) -> dict[str, Any]:
    """Record counts (no PHI), the last monitoring runs and the newest readiness report."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        counts = repo.table_counts(conn)
        runs = (
            conn.execute(select(monitor_runs).order_by(monitor_runs.c.run_id.desc()).limit(10))
            .mappings()
            .all()
        )
    found = latest_readiness(stores.engine)
    return {
        "records": counts,
        "monitor_runs": [dict(r) for r in runs],
        "readiness": None
        if found is None
        else {"computed_at": found[0].isoformat(), **found[1].as_json()},
    }
