"""Cases on the case engine: the queue, one case, and opening one (by hand, from a red
flag, from an intake of a complaint or notice). Changes to a case are in ``case_work``.
Reads of cases are written to the audit trail; the engine's refusals become HTTP answers
that say why (``answering``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    HTTPException,
    Query,
    Request,
)
from pydantic import BaseModel, Field

from phiwarden.cases import casefile, documents, engine, theft
from phiwarden.cases.effects import Refused
from phiwarden.monitor import queue as review_queue
from phiwarden.web.api.deps import MAX_OFFSET, Caller, guard, record, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(tags=["cases"])


def conflict_body(exc: engine.Conflict) -> dict[str, Any]:
    """A 409's detail: what to do, the revision now, and the changes the caller missed."""
    return {"message": str(exc), "revision": exc.current, "changes": exc.changes}


@contextmanager
def answering() -> Iterator[None]:
    """Turn the engine's refusals into HTTP answers that say why."""
    try:
        yield
    except engine.CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except engine.Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except engine.Conflict as exc:
        raise HTTPException(409, conflict_body(exc)) from exc
    except (Refused, documents.BadUpload, ValueError, FileNotFoundError) as exc:
        raise HTTPException(422, str(exc)) from exc


class Allegation(BaseModel):
    """An identity-theft allegation opened by hand."""

    victim_mrn: str = Field(min_length=1, max_length=64)
    encounters: list[str] = Field(default_factory=list, max_length=500)
    accounts: list[str] = Field(default_factory=list, max_length=500)
    occurred: str | None = Field(None, description="date of the occurrence, YYYY-MM-DD")
    offender_name: str | None = Field(None, max_length=128)


class Intake(BaseModel):
    """A complaint or notice that reveals identity theft."""

    kind: Literal[tuple(theft.INTAKE_KINDS)]  # type: ignore[valid-type]
    mrn: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=4000)
    account_id: str | None = Field(None, max_length=64)
    encounters: list[str] = Field(default_factory=list, max_length=500)
    received_at: datetime | None = None


def _case(request: Request, case_id: str, caller: Caller) -> dict[str, Any]:
    with stores_of(request).engine.connect() as conn:
        found = casefile.get_case(conn, case_id, caller.role)
    if found is None:
        raise HTTPException(404, f"no case {case_id}")
    return found


@router.get("/cases")
def list_cases(
    request: Request,
    case_type: str | None = Query(None, alias="type"),
    state: str | None = None,
    assignee: str | None = None,
    due_before: datetime | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    caller: Caller = Depends(guard(Permission.CASES_READ)),
) -> dict[str, Any]:
    """The case queue, soonest due first, filtered by type, state, assignee, due date."""
    with stores_of(request).engine.connect() as conn:
        rows, total = casefile.list_cases(
            conn,
            case_type=case_type,
            state=state,
            assignee=assignee,
            due_before=due_before,
            limit=limit,
            offset=offset,
        )
    return {"total": total, "cases": rows}


@router.get("/cases/{case_id}")
def get_case(
    case_id: str, request: Request, caller: Caller = Depends(guard(Permission.CASES_READ))
) -> dict[str, Any]:
    """One case with its timeline, tasks, documents, timers and allowed actions (audited).
    A monitoring case (a user's alerts) answers with its alerts."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        found = casefile.get_case(conn, case_id, caller.role)
        legacy = None if found is not None else review_queue.get_case(conn, case_id)
    if found is None and legacy is None:
        raise HTTPException(404, f"no case {case_id}")
    record(stores, caller, "read", "case", case_id)
    return found if found is not None else legacy  # type: ignore[return-value]


@router.post("/cases", status_code=201)
def open_by_hand(
    body: Allegation, request: Request, caller: Caller = Depends(guard(Permission.CASES_OPEN))
) -> dict[str, Any]:
    """Open (or join) the victim's identity-theft case by hand."""
    stores = stores_of(request)
    with answering():
        opened = theft.allege(
            stores,
            victim_mrn=body.victim_mrn,
            actor=caller.name,
            encounters=body.encounters,
            accounts=body.accounts,
            occurred=body.occurred,
            offender_name=body.offender_name,
        )
    record(stores, caller, "open", "case", opened.case_id, {"joined": opened.joined})
    return {"case_id": opened.case_id, "joined": opened.joined}


@router.post("/flags/{flag_id}/case", status_code=201)
def open_from_flag(
    flag_id: str, request: Request, caller: Caller = Depends(guard(Permission.CASES_OPEN))
) -> dict[str, Any]:
    """Open (or join) the identity-theft case of the patient a red flag is on."""
    stores = stores_of(request)
    with answering():
        opened = theft.from_flag(stores, flag_id, actor=caller.name)
    record(stores, caller, "open", "case", opened.case_id, {"flag": flag_id})
    return {"case_id": opened.case_id, "joined": opened.joined}


@router.post("/intake", status_code=201)
def intake(
    body: Intake, request: Request, caller: Caller = Depends(guard(Permission.CASES_OPEN))
) -> dict[str, Any]:
    """Record a complaint or notice as a red flag and open or join the patient's case."""
    stores = stores_of(request)
    with answering():
        flag_id, opened = theft.intake(
            stores,
            kind=body.kind,
            mrn=body.mrn,
            actor=caller.name,
            description=body.description,
            account_id=body.account_id,
            encounters=body.encounters,
            received_at=body.received_at,
        )
    record(stores, caller, "intake", "case", opened.case_id, {"flag": flag_id, "kind": body.kind})
    return {"flag_id": flag_id, "case_id": opened.case_id, "joined": opened.joined}
