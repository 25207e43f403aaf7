"""Access-monitoring alerts: the queue, one alert, and the analyst's decision."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from phiwarden.monitor import queue as review_queue
from phiwarden.monitor import store as monitor_store
from phiwarden.web.api.deps import MAX_OFFSET, Caller, guard, record, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(prefix="/alerts", tags=["alerts"])
Sort = Literal["score", "recent", "user"]


class Decision(BaseModel):
    """An analyst's decision on an alert."""

    decision: Literal["appropriate", "needs_investigation", "violation"]
    note: str = Field("", max_length=4000)


@router.get("")
def list_alerts(
    request: Request,
    status: str | None = None,
    user_id: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    sort: Sort = "score",
    caller: Caller = Depends(guard(Permission.ALERTS_READ)),
) -> dict[str, Any]:
    """The alert queue with the total for paging: highest score first, or the most recent
    window first (``recent``), or by workforce member (``user``)."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        rows = review_queue.list_alerts(
            conn, status=status, user_id=user_id, limit=limit, offset=offset, sort=sort
        )
        total = review_queue.count_alerts(conn, status, user_id)
    items = [
        {
            k: r[k]
            for k in (
                "alert_id",
                "user_id",
                "score",
                "status",
                "window_start",
                "window_end",
                "accesses",
            )
        }
        | {"reasons": [x.get("title") for x in r["reasons"]]}
        for r in rows
    ]
    return {"total": total, "limit": limit, "offset": offset, "sort": sort, "alerts": items}


@router.get("/{alert_id}")
def get_alert(
    alert_id: str,
    request: Request,
    caller: Caller = Depends(guard(Permission.ALERTS_READ)),
) -> dict[str, Any]:
    """One alert with its reasons, evidence, patients and decisions (audited)."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        alert = review_queue.get_alert(conn, alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    record(stores, caller, "read", "alert", alert_id)
    return alert


@router.post("/{alert_id}/decision")
def decide(
    alert_id: str,
    body: Decision,
    request: Request,
    caller: Caller = Depends(guard(Permission.ALERTS_DECIDE)),
) -> dict[str, Any]:
    """Record a decision: appropriate, needs_investigation or violation, with a note."""
    stores = stores_of(request)
    try:
        with stores.engine.begin() as conn:
            monitor_store.decide(
                conn, alert_id, body.decision, note=body.note, decided_by=caller.name
            )
    except LookupError as exc:
        raise HTTPException(404, f"no alert {alert_id}") from exc
    record(stores, caller, "decide", "alert", alert_id, {"decision": body.decision})
    with stores.engine.connect() as conn:
        return review_queue.get_alert(conn, alert_id) or {}
