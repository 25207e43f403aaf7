"""The program's pages: the dashboard (open cases by age and type, overdue tasks, time to
close, incident deadlines, corrective actions), training by department, service
providers, the review log with diffs, the board report; the sanctions HR works; and the
call centre's caller verification for refills."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from phiwarden.program import providers, reviews, training
from phiwarden.program.dashboard import dashboard
from phiwarden.program.investigation import sanctions_desk
from phiwarden.program.settings import load_program
from phiwarden.redflags.caller import Caller as CallerDetails
from phiwarden.web.api.deps import Caller, record, stores_of
from phiwarden.web.api.program import checked_caller
from phiwarden.web.roles import Permission, allowed
from phiwarden.web.views.render import check_csrf, form_change, page, render

router = APIRouter()


@router.get("/program", response_class=HTMLResponse)
def program_page(
    request: Request, error: str = "", caller: Caller = page(Permission.PROGRAM_READ)
) -> HTMLResponse:
    """The program at a glance."""
    stores = stores_of(request)
    board = dashboard(stores)
    today = date.today()
    roster = training.roster(stores, load_program(stores.settings.hospital_config), today)
    with stores.engine.connect() as conn:
        log = reviews.log(conn)
    ages = board["open_cases"]
    chart = {
        "ages": ages["ages"],
        "series": [{"name": k.replace("_", " "), "y": v} for k, v in ages["types"].items()],
    }
    record(stores, caller, "read", "program", None)
    return render(
        request,
        "program.html",
        board=board,
        chart=json.dumps(chart),
        roster=roster,
        providers=providers.list_providers(stores, today),
        log=log,
        pending=reviews.pending(stores),
        subjects=reviews.subjects(stores.settings.hospital_config),
        year=today.year,
        today=today,
        error=error,
        can_edit=allowed(caller.role, Permission.PROGRAM_EDIT),
        can_correct=allowed(caller.role, Permission.CORRECTIVE_EDIT),
    )


@router.post("/program/approve")
def program_approve(
    request: Request,
    csrf: str = Form(...),
    subject: str = Form(..., max_length=96),
    approved_by: str = Form(..., max_length=128),
    approved_on: date = Form(...),
    note: str = Form("", max_length=4000),
    caller: Caller = page(Permission.PROGRAM_EDIT),
) -> Response:
    """Record the version in force of a program document as approved."""
    check_csrf(request, csrf)
    stores = stores_of(request)

    def run() -> Any:
        return reviews.approve(
            stores, subject, approved_by, approved_on, actor=caller.name, note=note
        )

    return form_change(request, caller, "/program", run, ("approve", "program", subject, None))


@router.get("/sanctions", response_class=HTMLResponse)
def sanctions_page(
    request: Request, error: str = "", caller: Caller = page(Permission.SANCTIONS_READ)
) -> HTMLResponse:
    """Sanctions decided and the tasks given to HR: no patient data."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        desk = sanctions_desk(conn)
    record(stores, caller, "read", "sanctions", None)
    return render(
        request,
        "sanctions.html",
        error=error,
        sanctions=desk["sanctions"],
        tasks=desk["hr_tasks"],
        can_sign=allowed(caller.role, Permission.TASKS_SIGN),
        can_open_cases=allowed(caller.role, Permission.CASES_READ),
        now=datetime.now(),
    )


@router.get("/callers", response_class=HTMLResponse)
def callers_page(request: Request, caller: Caller = page(Permission.CALLER_VERIFY)) -> HTMLResponse:
    """The call centre's check of a caller before a prescription refill."""
    return render(request, "callers.html", outcome=None)


@router.post("/callers", response_class=HTMLResponse)
def callers_check(
    request: Request,
    csrf: str = Form(...),
    mrn: str = Form(..., max_length=64),
    first_name: str = Form("", max_length=128),
    last_name: str = Form("", max_length=128),
    dob: str = Form("", max_length=10),
    ssn4: str = Form("", max_length=4),
    address: str = Form("", max_length=255),
    zip: str = Form("", max_length=10),
    phone: str = Form("", max_length=32),
    caller: Caller = page(Permission.CALLER_VERIFY),
) -> HTMLResponse:
    """Check the caller; the page shows verified or not, never which identifier failed."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    try:
        born = date.fromisoformat(dob) if dob else None
    except ValueError:
        born = None
    details = CallerDetails(
        mrn=mrn,
        first_name=first_name,
        last_name=last_name,
        dob=born,
        ssn4=ssn4,
        address=address,
        zip=zip,
        phone=phone,
    )
    outcome = checked_caller(stores, caller, details)
    return render(request, "callers.html", outcome=outcome)
