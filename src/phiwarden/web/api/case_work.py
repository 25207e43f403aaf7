"""Working a case through the API: transitions, notes, assignment, facts, the
committee's timer decisions, documents (upload, audited download), task sign-off, open
tasks, and the law-enforcement referral.

Every change carries the case ``revision`` the caller read: a stale one is a 409 with the
changes made since. A transition the state or the role does not allow is a 422 or 403
with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from phiwarden.cases import actions, casefile, documents, referral, transition
from phiwarden.web.api.cases import answering
from phiwarden.web.api.deps import MAX_ID, Caller, guard, record, stores_of
from phiwarden.web.api.steps import done
from phiwarden.web.roles import Permission

router = APIRouter(tags=["cases"])


class Change(BaseModel):
    """The revision the caller read, and why."""

    revision: int | None = Field(
        None, ge=0, le=MAX_ID, description="the case revision you read; omit to force"
    )
    reason: str | None = Field(None, max_length=4000)


class Transition(Change):
    """A transition with what it needs."""

    summary: str | None = Field(None, max_length=20000)
    offender: str | None = Field(
        None, description='"unknown", "mrn:MRN" or "new:Last, First" (for separate)'
    )
    sex: Literal["F", "M"] | None = None
    offender_dob: str | None = None


class Note(Change):
    """A note on the case."""

    text: str = Field(min_length=1, max_length=20000)


class Assignee(Change):
    """Who works the case."""

    assignee: str = Field("", max_length=64)


class Fact(Change):
    """A fact a guard needs (e.g. who the counsel consulted was)."""

    value: str = Field(min_length=1, max_length=500)


class TimerDecision(Change):
    """The committee's decision on a pending timer."""

    days: int = Field(0, ge=0, le=365)
    hold: bool = False
    reason: str = Field(min_length=3, max_length=4000)


class Signoff(Change):
    """Signing a task off."""

    note: str = Field("", max_length=4000)


@router.post("/cases/{case_id}/transitions/{trigger}")
def make_transition(
    case_id: str,
    trigger: str,
    body: Transition,
    request: Request,
    caller: Caller = Depends(guard(Permission.CASES_WORK)),
) -> dict[str, Any]:
    """Make a transition of the case's procedure (substantiate, separate, close, ...)."""
    inputs = {
        k: v
        for k, v in body.model_dump().items()
        if k in ("summary", "offender", "sex", "offender_dob") and v
    }
    return done(
        request,
        caller,
        case_id,
        trigger,
        lambda: transition.fire(
            stores_of(request),
            case_id,
            trigger,
            actor=caller.name,
            role=caller.role,
            revision=body.revision,
            reason=body.reason,
            inputs=inputs,
        ),
    )


@router.post("/cases/{case_id}/notes")
def add_note(
    case_id: str,
    body: Note,
    request: Request,
    caller: Caller = Depends(guard(Permission.CASES_WORK)),
) -> dict[str, Any]:
    """Add a note to the case's timeline."""
    return done(
        request,
        caller,
        case_id,
        "note",
        lambda: actions.add_note(
            stores_of(request), case_id, body.text, actor=caller.name, revision=body.revision
        ),
    )


@router.post("/cases/{case_id}/assignee")
def assign(
    case_id: str,
    body: Assignee,
    request: Request,
    caller: Caller = Depends(guard(Permission.CASES_WORK)),
) -> dict[str, Any]:
    """Give the case to someone (empty: unassigned)."""
    return done(
        request,
        caller,
        case_id,
        "assign",
        lambda: actions.assign(
            stores_of(request), case_id, body.assignee, actor=caller.name, revision=body.revision
        ),
    )


@router.post("/cases/{case_id}/facts/{fact}")
def record_fact(
    case_id: str,
    fact: str,
    body: Fact,
    request: Request,
    caller: Caller = Depends(guard(Permission.CASES_WORK)),
) -> dict[str, Any]:
    """Record a fact a guard asks for (counsel_consulted: who was consulted)."""
    return done(
        request,
        caller,
        case_id,
        "fact",
        lambda: actions.record_fact(
            stores_of(request),
            case_id,
            fact,
            body.value,
            actor=caller.name,
            role=caller.role,
            revision=body.revision,
        ),
    )


@router.post("/cases/{case_id}/timers/{key}")
def decide_timer(
    case_id: str,
    key: str,
    body: TimerDecision,
    request: Request,
    caller: Caller = Depends(guard(Permission.CASES_WORK)),
) -> dict[str, Any]:
    """The committee extends a pending timer by some days, or holds it for approval."""
    return done(
        request,
        caller,
        case_id,
        "timer",
        lambda: actions.extend_timer(
            stores_of(request),
            case_id,
            key,
            body.days,
            actor=caller.name,
            reason=body.reason,
            revision=body.revision,
            hold=body.hold,
        ),
    )


@router.post("/cases/{case_id}/documents", status_code=201)
async def upload_document(
    case_id: str,
    request: Request,
    kind: str = Form(...),
    revision: int | None = Form(None, ge=0, le=MAX_ID),
    file: UploadFile = File(...),
    caller: Caller = Depends(guard(Permission.CASES_WORK)),
) -> dict[str, Any]:
    """Upload a PDF, JPEG or PNG (typed from its content, at most 10 MB)."""
    content = await file.read(documents.MAX_BYTES + 1)
    return done(
        request,
        caller,
        case_id,
        "upload",
        lambda: documents.upload(
            stores_of(request),
            case_id,
            kind,
            file.filename or "",
            content,
            actor=caller.name,
            revision=revision,
        ),
    )


@router.get("/cases/{case_id}/documents/{document_id}")
def download_document(
    case_id: str,
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    copy: Literal["original", "stamped"] = "original",
    caller: Caller = Depends(guard(Permission.DOCUMENTS_READ)),
) -> Response:
    """A document's bytes, the original or the stamped copy (the download is audited)."""
    stores = stores_of(request)
    with answering():
        meta, content = documents.read_document(stores, case_id, document_id, copy)
    record(stores, caller, "download", "document", f"{case_id}/{document_id}", {"copy": copy})
    name = meta["filename"].replace('"', "")
    return Response(
        content,
        media_type=meta["media_type"],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/cases/{case_id}/tasks/{task_id}/signoff")
def sign_task(
    case_id: str,
    task_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: Signoff,
    request: Request,
    caller: Caller = Depends(guard(Permission.TASKS_SIGN)),
) -> dict[str, Any]:
    """Sign a task off: you attest what its sign-off says."""
    return done(
        request,
        caller,
        case_id,
        "signoff",
        lambda: actions.sign_task(
            stores_of(request),
            case_id,
            task_id,
            actor=caller.name,
            role=caller.role,
            revision=body.revision,
            note=body.note,
        ),
    )


@router.get("/tasks")
def open_tasks(
    request: Request,
    role: str | None = None,
    caller: Caller = Depends(guard(Permission.TASKS_SIGN)),
) -> dict[str, Any]:
    """Open tasks (case number, program role, title, due date): no patient data."""
    with stores_of(request).engine.connect() as conn:
        return {"tasks": casefile.open_tasks(conn, role)}


@router.get("/cases/{case_id}/referral")
def law_enforcement_referral(
    case_id: str,
    request: Request,
    format: Literal["json", "pdf"] = "json",
    caller: Caller = Depends(guard(Permission.REFERRAL)),
) -> Any:
    """The referral to law enforcement: the victim's name, the alleged thief's name if
    known, and the date of the occurrence, nothing else (IX.3 note)."""
    stores = stores_of(request)
    with answering():
        content = referral.referral(stores, case_id)
    record(stores, caller, "referral", "case", case_id, {"format": format})
    if format == "pdf":
        return Response(
            referral.referral_pdf(content),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="referral-{case_id}.pdf"'},
        )
    return JSONResponse(content)
