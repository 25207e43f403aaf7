"""Red flags (list, one flag, resolve), registration screening, and the watch list."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from phiwarden.redflags import store as flag_store
from phiwarden.redflags import watch
from phiwarden.redflags.catalogue import BY_CODE
from phiwarden.redflags.screen import Registration, screen
from phiwarden.web.api.deps import MAX_OFFSET, Caller, guard, record, stores_of
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
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    caller: Caller = Depends(guard(Permission.FLAGS_READ)),
) -> dict[str, Any]:
    """The red-flag queue, newest first."""
    rows, total = flag_store.list_flags(
        stores_of(request).engine, code=code, status=status, limit=limit, offset=offset
    )
    shown = ("flag_id", "code", "severity", "mrn", "registration_id", "status", "detected_at")
    return {"total": total, "flags": [{k: r[k] for k in shown} for r in rows]}


@router.get("/flags/{flag_id}")
def get_flag(
    flag_id: str,
    request: Request,
    caller: Caller = Depends(guard(Permission.FLAGS_READ)),
) -> dict[str, Any]:
    """One flag with its evidence and the program's action (audited)."""
    stores = stores_of(request)
    row = flag_store.get_flag(stores.engine, flag_id)
    if row is None:
        raise HTTPException(404, f"no red flag {flag_id}")
    record(stores, caller, "read", "flag", flag_id)
    flag = BY_CODE[row["code"]]
    return {
        **row,
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
    stores = stores_of(request)
    try:
        flag_store.resolve_flag(stores.engine, flag_id, body.status, body.note, caller.name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
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
