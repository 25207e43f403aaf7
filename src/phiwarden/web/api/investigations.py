"""Privacy investigations through the API: open one (from alerts or a complaint), read its
frozen evidence, submit the finding, the Privacy Officer's determination and breach
decision, referrals, a member's history, the sanctions HR applies, and corrective actions.

An investigator works only the investigations assigned to them; the Privacy Officer
determines. Every read of an investigation's evidence is written to the audit trail.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from phiwarden.breach.decision import Decision
from phiwarden.cases.casefile import list_cases
from phiwarden.program import corrective, evidence
from phiwarden.program import investigation as pi
from phiwarden.web.api.cases import answering
from phiwarden.web.api.deps import MAX_ID, Caller, guard, record, stores_of
from phiwarden.web.api.steps import done
from phiwarden.web.roles import Permission

router = APIRouter(tags=["investigations"])


class Opening(BaseModel):
    """Open from alerts, or from a complaint about a member in a window."""

    alert_ids: list[str] = Field(default_factory=list, max_length=500)
    user_id: str | None = Field(None, max_length=64)
    complaint: str | None = Field(None, max_length=4000)
    since: date | None = None
    until: date | None = None
    assignee: str | None = Field(None, max_length=64)


class Revised(BaseModel):
    """The revision the caller read."""

    revision: int | None = Field(None, ge=0, le=MAX_ID)


class Finding(Revised):
    """The investigator's proposed finding."""

    finding: str = Field(min_length=1, max_length=20000)


class Determination(Revised):
    """The Privacy Officer's determination."""

    outcome: Literal["violation", "no_violation"]
    level: int | None = Field(None, ge=1, le=9)
    reason: str = Field(min_length=1, max_length=4000)
    suppress: bool = False


class BreachDecision(Decision):
    """The four-factor breach decision, with the revision read."""

    revision: int | None = Field(None, ge=0, le=MAX_ID)


class Referral(Revised):
    """A referral to law enforcement or the report to OCR."""

    to: Literal["law_enforcement", "ocr"]
    on: date
    detail: str = Field("", max_length=500)


class Action(BaseModel):
    """A corrective action."""

    title: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=128)
    due_on: date


class Note(BaseModel):
    """What was done, or how it was verified."""

    note: str = Field("", max_length=4000)


@router.get("/investigations")
def list_investigations(
    request: Request,
    state: str | None = None,
    caller: Caller = Depends(guard(Permission.CASES_READ)),
) -> dict[str, Any]:
    """The investigations, soonest due first."""
    with stores_of(request).engine.connect() as conn:
        rows, total = list_cases(conn, case_type=pi.PROCEDURE, state=state, limit=500)
    return {"total": total, "investigations": rows}


@router.post("/investigations", status_code=201)
def open_one(
    body: Opening, request: Request, caller: Caller = Depends(guard(Permission.INVESTIGATION_OPEN))
) -> dict[str, Any]:
    """Open an investigation (or add the alerts to the member's open one)."""
    stores = stores_of(request)
    with answering():
        case_id, new = pi.open_investigation(
            stores,
            actor=caller.name,
            alert_ids=body.alert_ids,
            user_id=body.user_id,
            complaint=body.complaint,
            since=body.since,
            until=body.until,
            assignee=body.assignee or (caller.name if caller.role == "investigator" else None),
        )
    record(stores, caller, "open", "case", case_id, {"new": new, "alerts": len(body.alert_ids)})
    return {"case_id": case_id, "new": new}


@router.get("/investigations/{case_id}/evidence")
def read_evidence(
    case_id: str, request: Request, caller: Caller = Depends(guard(Permission.DOCUMENTS_READ))
) -> dict[str, Any]:
    """The frozen evidence, with its hash checked against the one recorded (audited)."""
    stores = stores_of(request)
    with answering():
        verdict = evidence.load(stores, case_id)
    record(stores, caller, "read_evidence", "case", case_id, {"ok": verdict.ok})
    return {
        "ok": verdict.ok,
        "recorded": verdict.recorded,
        "computed": verdict.computed,
        "evidence": verdict.content,
    }


@router.post("/investigations/{case_id}/finding")
def submit_finding(
    case_id: str,
    body: Finding,
    request: Request,
    caller: Caller = Depends(guard(Permission.INVESTIGATION_WORK)),
) -> dict[str, Any]:
    """Submit the proposed finding to the Privacy Officer (the interview must be recorded)."""
    return done(
        request,
        caller,
        case_id,
        "submit",
        lambda: pi.submit(
            stores_of(request),
            case_id,
            body.finding,
            actor=caller.name,
            role=caller.role,
            revision=body.revision,
        ),
    )


@router.post("/investigations/{case_id}/determination")
def determination(
    case_id: str,
    body: Determination,
    request: Request,
    caller: Caller = Depends(guard(Permission.INVESTIGATION_DETERMINE)),
) -> dict[str, Any]:
    """Violation (at a level of the sanction policy) or no violation (optionally suppressed)."""
    return done(
        request,
        caller,
        case_id,
        f"determine_{body.outcome}",
        lambda: pi.determine(
            stores_of(request),
            case_id,
            body.outcome,
            body.reason,
            actor=caller.name,
            role=caller.role,
            revision=body.revision,
            level=body.level,
            suppress=body.suppress,
        ),
    )


@router.post("/investigations/{case_id}/breach-decision")
def breach_decision(
    case_id: str,
    body: BreachDecision,
    request: Request,
    caller: Caller = Depends(guard(Permission.INVESTIGATION_DETERMINE)),
) -> dict[str, Any]:
    """The four-factor breach decision; "breach" opens an incident with the population."""
    decision = Decision.model_validate(body.model_dump(exclude={"revision"}))
    opened: list[str | None] = []

    def run() -> dict[str, Any]:
        after = pi.decide_breach(
            stores_of(request),
            case_id,
            decision,
            actor=caller.name,
            role=caller.role,
            revision=body.revision,
        )
        opened.append(after.get("incident"))
        return after

    return done(request, caller, case_id, "breach_decision", run) | {"incident": opened[0]}


@router.post("/investigations/{case_id}/referrals")
def referral(
    case_id: str,
    body: Referral,
    request: Request,
    caller: Caller = Depends(guard(Permission.INVESTIGATION_DETERMINE)),
) -> dict[str, Any]:
    """Record a referral to law enforcement, or the report to OCR, with its date."""
    return done(
        request,
        caller,
        case_id,
        f"refer_{body.to}",
        lambda: pi.refer(
            stores_of(request),
            case_id,
            body.to,
            body.on,
            body.detail,
            actor=caller.name,
            role=caller.role,
            revision=body.revision,
        ),
    )


@router.get("/workforce/{user_id}/investigations")
def member_history(
    user_id: str, request: Request, caller: Caller = Depends(guard(Permission.ALERTS_READ))
) -> dict[str, Any]:
    """A member's investigations with their determinations and sanctions."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        found = pi.history(conn, user_id)
    record(stores, caller, "read", "workforce_history", user_id)
    return {"user_id": user_id, "investigations": found}


@router.get("/sanctions")
def list_sanctions(
    request: Request, caller: Caller = Depends(guard(Permission.SANCTIONS_READ))
) -> dict[str, Any]:
    """Sanctions decided, with the HR tasks open: no patient data."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        desk = pi.sanctions_desk(conn)
    record(stores, caller, "read", "sanctions", None)
    return desk


@router.post("/cases/{case_id}/corrective-actions", status_code=201)
def add_corrective(
    case_id: str,
    body: Action,
    request: Request,
    caller: Caller = Depends(guard(Permission.CORRECTIVE_EDIT)),
) -> dict[str, Any]:
    """Add a corrective action (owner, due date) to a case or incident."""
    with answering():
        action_id = corrective.add_action(
            stores_of(request), case_id, body.title, body.owner, body.due_on, actor=caller.name
        )
    record(stores_of(request), caller, "corrective_add", "case", case_id, {"action": action_id})
    return {"action_id": action_id}


@router.post("/corrective-actions/{action_id}/done")
def corrective_done(
    action_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    body: Note,
    request: Request,
    caller: Caller = Depends(guard(Permission.CORRECTIVE_EDIT)),
) -> dict[str, Any]:
    """The owner reports the action done."""
    return _corrective_step(request, caller, action_id, body.note, "done")


@router.post("/corrective-actions/{action_id}/verify")
def corrective_verify(
    action_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    body: Note,
    request: Request,
    caller: Caller = Depends(guard(Permission.CORRECTIVE_EDIT)),
) -> dict[str, Any]:
    """Someone other than who marked it done verifies that it worked."""
    return _corrective_step(request, caller, action_id, body.note, "verify")


def _corrective_step(
    request: Request, caller: Caller, action_id: int, note: str, step: Literal["done", "verify"]
) -> dict[str, Any]:
    act = corrective.mark_done if step == "done" else corrective.verify_action
    with answering():
        row = act(stores_of(request), action_id, note, actor=caller.name)
    record(stores_of(request), caller, f"corrective_{step}", "corrective_action", str(action_id))
    return row
