"""The casework pages: the case queue, a case (timeline, tasks, document checklist,
timers, and only the actions the state and the role allow), open tasks, the intake form
for complaints and notices, and the billing worklist. Forms post here; every change
carries the case revision the page showed, so a stale form is a conflict, not a lost
update."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phiwarden.cases import actions, billing, casefile, documents, theft, transition
from phiwarden.cases.effects import Refused
from phiwarden.cases.engine import load_procedure
from phiwarden.monitor import queue as review_queue
from phiwarden.web.api.deps import MAX_ID, Caller, record, stores_of
from phiwarden.web.api.steps import check_assigned
from phiwarden.web.roles import Permission, allowed
from phiwarden.web.views.investigation_pages import case_extras
from phiwarden.web.views.render import check_csrf, page, refused, render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


@router.get("/cases", response_class=HTMLResponse)
def case_queue(
    request: Request,
    case_type: str = Query("", alias="type"),
    state: str = "",
    assignee: str = "",
    due: str = "",
    page_no: int = Query(1, ge=1, le=100_000, alias="page"),
    caller: Caller = page(Permission.CASES_READ),
) -> HTMLResponse:
    """The case queue, soonest due first; filter by type, state, assignee, due date."""
    try:
        due_before = datetime.fromisoformat(due) if due else None
    except ValueError as exc:
        raise HTTPException(422, "the due date is YYYY-MM-DD") from exc
    with stores_of(request).engine.connect() as conn:
        rows, total = casefile.list_cases(
            conn,
            case_type=case_type or None,
            state=state or None,
            assignee=assignee or None,
            due_before=due_before,
            limit=PER_PAGE,
            offset=(page_no - 1) * PER_PAGE,
        )
    return render(
        request,
        "cases.html",
        cases=rows,
        total=total,
        page=page_no,
        per_page=PER_PAGE,
        f={"type": case_type, "state": state, "assignee": assignee, "due": due},
        now=datetime.now(),
        states=_states(stores_of(request)),
    )


#: the case types the queue filters by
CASE_TYPES = ("identity_theft", "breach_incident")


def _states(stores: Any) -> list[Any]:
    """The states of every case type, each once, in procedure order."""
    seen: dict[str, Any] = {}
    for name in CASE_TYPES:
        for state in load_procedure(stores, name)[0].states:
            seen.setdefault(state.name, state)
    return list(seen.values())


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: str, request: Request, error: str = "", caller: Caller = page(Permission.CASES_READ)
) -> HTMLResponse:
    """One case. A monitoring case (a user's alerts) shows its alerts."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        case = casefile.get_case(conn, case_id, caller.role)
        legacy = review_queue.get_case(conn, case_id) if case is None else None
        their = [review_queue.get_alert(conn, a) for a in legacy["alert_ids"]] if legacy else []
    if case is None and legacy is None:
        raise HTTPException(404, f"no case {case_id}")
    record(stores, caller, "read", "case", case_id)
    if case is None:
        return render(request, "case.html", case=legacy, alerts=[a for a in their if a])
    return render(
        request,
        "casefile.html",
        case=case,
        error=error,
        now=datetime.now(),
        can_work=allowed(caller.role, Permission.CASES_WORK),
        can_sign=allowed(caller.role, Permission.TASKS_SIGN),
        can_read_documents=allowed(caller.role, Permission.DOCUMENTS_READ),
        can_refer=allowed(caller.role, Permission.REFERRAL),
        **case_extras(stores, case, caller),
    )


def _act(
    request: Request, caller: Caller, case_id: str, what: str, run: Callable[[], Any]
) -> Response:
    """Run a change from a form; back to the case, with the reason if it was refused (an
    investigator changes only the investigations assigned to them)."""

    def guarded() -> Any:
        check_assigned(request, case_id, caller)
        return run()

    back = refused(f"/cases/{case_id}", guarded)
    if back is not None:
        return back
    record(stores_of(request), caller, what, "case", case_id)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/act")
def case_act(
    case_id: str,
    request: Request,
    action: str = Form(...),
    csrf: str = Form(...),
    revision: int = Form(..., ge=0, le=MAX_ID),
    trigger: str = Form(""),
    reason: str = Form(""),
    text: str = Form(""),
    offender: str = Form(""),
    fact: str = Form(""),
    key: str = Form(""),
    days: int = Form(0, ge=0, le=365),
    hold: bool = Form(False),
    caller: Caller = page(Permission.CASES_WORK),
) -> Response:
    """A change from the case page: a transition, a note, an assignment, a fact, a timer."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    who, role = caller.name, caller.role
    runs: dict[str, Callable[[], Any]] = {
        "transition": lambda: transition.fire(
            stores,
            case_id,
            trigger,
            actor=who,
            role=role,
            revision=revision,
            reason=reason or None,
            inputs={k: v for k, v in (("summary", text), ("offender", offender)) if v},
        ),
        "note": lambda: actions.add_note(stores, case_id, text, actor=who, revision=revision),
        "assign": lambda: actions.assign(stores, case_id, text, actor=who, revision=revision),
        "fact": lambda: actions.record_fact(
            stores, case_id, fact, text, actor=who, role=role, revision=revision
        ),
        "timer": lambda: actions.extend_timer(
            stores, case_id, key, days, actor=who, reason=reason, revision=revision, hold=hold
        ),
    }
    if action not in runs:
        raise HTTPException(422, f"unknown action {action!r}")
    return _act(request, caller, case_id, trigger or action, runs[action])


@router.post("/cases/{case_id}/upload")
async def case_upload(
    case_id: str,
    request: Request,
    csrf: str = Form(...),
    revision: int = Form(..., ge=0, le=MAX_ID),
    kind: str = Form(...),
    file: UploadFile = File(...),
    caller: Caller = page(Permission.CASES_WORK),
) -> Response:
    """Upload a document from the case page's checklist."""
    check_csrf(request, csrf)
    content = await file.read(documents.MAX_BYTES + 1)
    stores = stores_of(request)
    return _act(
        request,
        caller,
        case_id,
        "upload",
        lambda: documents.upload(
            stores,
            case_id,
            kind,
            file.filename or "",
            content,
            actor=caller.name,
            revision=revision,
        ),
    )


@router.post("/cases/{case_id}/tasks/{task_id}/signoff")
def case_signoff(
    case_id: str,
    task_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    csrf: str = Form(...),
    note: str = Form(""),
    back: str = Form("", max_length=32),
    caller: Caller = page(Permission.TASKS_SIGN),
) -> Response:
    """Sign a task off (from the case page, the task list or the sanctions page)."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    back = back or request.headers.get("referer", "")
    response = _act(
        request,
        caller,
        case_id,
        "signoff",
        lambda: actions.sign_task(
            stores, case_id, task_id, actor=caller.name, role=caller.role, revision=None, note=note
        ),
    )
    for page_of_tasks in ("/tasks", "/sanctions"):
        if back.endswith(page_of_tasks) and response.status_code == 303:
            query = response.headers["location"].partition("?")[2]
            return RedirectResponse(page_of_tasks + (f"?{query}" if query else ""), 303)
    return response


@router.get("/cases/{case_id}/documents/{document_id}")
def case_document(
    case_id: str,
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    copy: str = "original",
    caller: Caller = page(Permission.DOCUMENTS_READ),
) -> Response:
    """Download a document (the download is audited)."""
    stores = stores_of(request)
    try:
        meta, content = documents.read_document(stores, case_id, document_id, copy)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    record(stores, caller, "download", "document", f"{case_id}/{document_id}", {"copy": copy})
    name = meta["filename"].replace('"', "")
    return Response(
        content,
        media_type=meta["media_type"],
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get("/tasks", response_class=HTMLResponse)
def task_list(request: Request, caller: Caller = page(Permission.TASKS_SIGN)) -> HTMLResponse:
    """Open tasks across cases for the program's people (no patient data)."""
    with stores_of(request).engine.connect() as conn:
        tasks = casefile.open_tasks(conn)
    return render(request, "tasks.html", tasks=tasks, now=datetime.now())


@router.post("/flags/{flag_id}/case")
def flag_to_case(
    flag_id: str,
    request: Request,
    csrf: str = Form(...),
    caller: Caller = page(Permission.CASES_OPEN),
) -> Response:
    """Open (or join) the identity-theft case of the flag's patient."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    try:
        opened = theft.from_flag(stores, flag_id, actor=caller.name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except Refused as exc:
        raise HTTPException(422, str(exc)) from exc
    record(stores, caller, "open", "case", opened.case_id, {"flag": flag_id})
    target = f"/cases/{opened.case_id}" if allowed(caller.role, Permission.CASES_READ) else "/tasks"
    return RedirectResponse(target, status_code=303)


@router.get("/intake", response_class=HTMLResponse)
def intake_form(request: Request, caller: Caller = page(Permission.CASES_OPEN)) -> HTMLResponse:
    """The form for calls and letters that reveal identity theft."""
    return render(request, "intake.html", kinds=theft.INTAKE_KINDS, error="")


@router.post("/intake")
def intake_post(
    request: Request,
    csrf: str = Form(...),
    kind: str = Form(...),
    mrn: str = Form(...),
    description: str = Form(""),
    account_id: str = Form(""),
    caller: Caller = page(Permission.CASES_OPEN),
) -> Response:
    """Record the complaint or notice and open or join the patient's case."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    try:
        flag_id, opened = theft.intake(
            stores,
            kind=kind,
            mrn=mrn.strip(),
            actor=caller.name,
            description=description,
            account_id=account_id.strip() or None,
        )
    except (LookupError, Refused) as exc:
        return render(request, "intake.html", kinds=theft.INTAKE_KINDS, error=str(exc))
    record(stores, caller, "intake", "case", opened.case_id, {"flag": flag_id, "kind": kind})
    target = f"/cases/{opened.case_id}" if allowed(caller.role, Permission.CASES_READ) else "/tasks"
    return RedirectResponse(target, status_code=303)


@router.get("/billing", response_class=HTMLResponse)
def billing_page(request: Request, caller: Caller = page(Permission.BILLING_READ)) -> HTMLResponse:
    """Holds in force, identity-theft adjustments, and the payer-refund worklist."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        found = {w: billing.rows(conn, w) for w in billing.EXPORTS}
    record(stores, caller, "read", "billing", None)
    return render(
        request, "billing.html", b=found, can_edit=allowed(caller.role, Permission.BILLING_EDIT)
    )


@router.post("/billing/refunds/{refund_id}")
def billing_refunded(
    refund_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    csrf: str = Form(...),
    caller: Caller = page(Permission.BILLING_EDIT),
) -> Response:
    """Mark a payer refund made."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    try:
        billing.mark_refunded(stores.engine, refund_id, caller.name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    record(stores, caller, "refund", "billing", str(refund_id))
    return RedirectResponse("/billing", status_code=303)


@router.get("/screen", response_class=HTMLResponse)
def screen_form(request: Request, caller: Caller = page(Permission.SCREEN)) -> HTMLResponse:
    """The front desk's screening form: who is registering, checked before they are."""
    return render(request, "screen.html", answer=None, given={}, error="")


@router.post("/screen", response_class=HTMLResponse)
def screen_post(
    request: Request,
    csrf: str = Form(...),
    mrn: str = Form(""),
    first_name: str = Form(""),
    last_name: str = Form(""),
    dob: str = Form(""),
    ssn: str = Form(""),
    caller: Caller = page(Permission.SCREEN),
) -> HTMLResponse:
    """Screen the registration: red flags, registration alerts, the prescribed action."""
    from pydantic import ValidationError

    from phiwarden.redflags.screen import Registration, screen

    check_csrf(request, csrf)
    given = {"mrn": mrn, "first_name": first_name, "last_name": last_name, "dob": dob}
    stores = stores_of(request)
    try:
        registration = Registration(
            mrn=mrn.strip() or None,
            first_name=first_name.strip() or None,
            last_name=last_name.strip() or None,
            dob=dob or None,
            ssn=ssn.strip() or None,
        )
        answer = screen(stores, registration)
    except (ValidationError, ValueError) as exc:
        return render(
            request, "screen.html", answer=None, given=given, error=str(exc).split("\n")[0]
        )
    record(
        stores,
        caller,
        "screen",
        "registration",
        mrn or None,
        {"decision": answer["decision"], "alerts": len(answer["alerts"])},
    )
    return render(request, "screen.html", answer=answer, given=given, error="")
