"""Red flags (list, one flag, resolve), registration screening, and the watch list."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update

from phiwarden.redflags import watch
from phiwarden.redflags.catalogue import BY_CODE
from phiwarden.redflags.screen import Registration, screen
from phiwarden.store.redflag_tables import red_flags
from phiwarden.web.api.deps import Caller, guard, record, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(tags=["red flags"])


class Resolution(BaseModel):
    """How a flag was settled."""

    status: Literal["resolved", "dismissed"]
    note: str = Field("", max_length=4000)


class WatchEntry(BaseModel):
    """A new watch-list entry."""

    kind: Literal["address", "phone"]
    value: str = Field(min_length=3, max_length=300)
    reason: str = Field("reported fraud", max_length=300)


@router.get("/flags")
def list_flags(
    request: Request,
    code: str | None = None,
    status: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(guard(Permission.FLAGS_READ)),
) -> dict[str, Any]:
    """The red-flag queue, newest first."""
    stores = stores_of(request)
    stmt = select(
        red_flags.c.flag_id,
        red_flags.c.code,
        red_flags.c.severity,
        red_flags.c.mrn,
        red_flags.c.registration_id,
        red_flags.c.status,
        red_flags.c.detected_at,
    )
    count = select(func.count()).select_from(red_flags)
    if code:
        stmt, count = stmt.where(red_flags.c.code == code), count.where(red_flags.c.code == code)
    if status:
        stmt = stmt.where(red_flags.c.status == status)
        count = count.where(red_flags.c.status == status)
    stmt = stmt.order_by(red_flags.c.detected_at.desc(), red_flags.c.flag_id)
    with stores.engine.connect() as conn:
        rows = conn.execute(stmt.limit(limit).offset(offset)).mappings().all()
        total = int(conn.execute(count).scalar_one())
    return {"total": total, "flags": [dict(r) for r in rows]}


@router.get("/flags/{flag_id}")
def get_flag(
    flag_id: str,
    request: Request,
    caller: Caller = Depends(guard(Permission.FLAGS_READ)),
) -> dict[str, Any]:
    """One flag with its evidence and the program's action (audited)."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        row = (
            conn.execute(select(red_flags).where(red_flags.c.flag_id == flag_id)).mappings().first()
        )
    if row is None:
        raise HTTPException(404, f"no red flag {flag_id}")
    record(stores, caller, "read", "flag", flag_id)
    flag = BY_CODE[row["code"]]
    return {
        **dict(row),
        "title": flag.title,
        "action_text": flag.action_text,
        "resolution_steps": list(flag.resolution),
    }


@router.post("/flags/{flag_id}/resolve")
def resolve_flag(
    flag_id: str,
    body: Resolution,
    request: Request,
    caller: Caller = Depends(guard(Permission.FLAGS_RESOLVE)),
) -> dict[str, Any]:
    """Resolve or dismiss a flag with a note (audited)."""
    from datetime import datetime

    stores = stores_of(request)
    with stores.engine.begin() as conn:
        done = conn.execute(
            update(red_flags)
            .where(red_flags.c.flag_id == flag_id)
            .values(
                status=body.status,
                resolved_at=datetime.now().replace(microsecond=0),
                resolution=f"{caller.name}: {body.note}",
            )
        ).rowcount
    if not done:
        raise HTTPException(404, f"no red flag {flag_id}")
    record(stores, caller, "resolve", "flag", flag_id, {"status": body.status})
    return {"flag_id": flag_id, "status": body.status}


@router.post("/screen")
def screen_registration(
    body: Registration,
    request: Request,
    caller: Caller = Depends(guard(Permission.SCREEN)),
) -> dict[str, Any]:
    """Screen one registration at the front desk: flags, evidence, prescribed action."""
    stores = stores_of(request)
    try:
        answer = screen(stores, body)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    record(
        stores,
        caller,
        "screen",
        "registration",
        body.mrn,
        {"decision": answer["decision"], "flags": [f["code"] for f in answer["flags"]]},
    )
    return answer


@router.get("/watch")
def list_watch(
    request: Request,
    caller: Caller = Depends(guard(Permission.WATCH_READ)),
) -> dict[str, Any]:
    """The fraud watch list."""
    return {"entries": watch.list_entries(stores_of(request))}


@router.post("/watch", status_code=201)
def add_watch(
    body: WatchEntry,
    request: Request,
    caller: Caller = Depends(guard(Permission.WATCH_EDIT)),
) -> dict[str, Any]:
    """Add an address or phone tied to known fraud."""
    stores = stores_of(request)
    try:
        entry = watch.add_entry(stores, body.kind, body.value, body.reason)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    record(stores, caller, "add", "watch", entry["watch_id"])
    return entry


@router.delete("/watch/{watch_id}")
def remove_watch(
    watch_id: str,
    request: Request,
    caller: Caller = Depends(guard(Permission.WATCH_EDIT)),
) -> dict[str, str]:
    """Remove a watch-list entry."""
    stores = stores_of(request)
    try:
        watch.remove_entry(stores, watch_id)
    except ValueError as exc:
        raise HTTPException(404, str(exc)) from exc
    record(stores, caller, "remove", "watch", watch_id)
    return {"removed": watch_id}
