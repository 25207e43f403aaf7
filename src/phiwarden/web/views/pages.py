"""The investigator's pages. Each page declares a permission like the API routes do;
reads of alerts, flags, patients and workforce histories go to the audit trail."""

from __future__ import annotations

import io
import json
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from phiwarden.monitor import queue as review_queue
from phiwarden.monitor import store as monitor_store
from phiwarden.program.investigation import history as investigation_history
from phiwarden.redflags import store as flag_store
from phiwarden.redflags.catalogue import BY_CODE
from phiwarden.web.api.deps import MAX_OFFSET, Caller, record, stores_of
from phiwarden.web.roles import Permission, allowed
from phiwarden.web.sessions import COOKIE, create_session, end_session
from phiwarden.web.users import AuthError, authenticate
from phiwarden.web.views import data
from phiwarden.web.views.render import check_csrf, page, render

PRE_COOKIE = "pw_pre"
#: the last page a queue can show (200 per page stays under MAX_OFFSET)
MAX_PAGE = MAX_OFFSET // 200
router = APIRouter(include_in_schema=False)


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly's JavaScript, served from the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(
        path,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/signin")
def signin_form(request: Request, error: str = "") -> HTMLResponse:
    """The sign-in form, with a one-time token against cross-site form posts."""
    pre = secrets.token_urlsafe(24)
    response = render(request, "signin.html", pre=pre, error=error)
    response.set_cookie(
        PRE_COOKIE, pre, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.post("/signin")
def signin(
    request: Request,
    name: str = Form(...),
    password: str = Form(...),
    pre: str = Form(...),
) -> Response:
    """Check the password (rate limited per address), start a session, go to the dashboard."""
    source = request.client.host if request.client else "unknown"
    cookie = request.cookies.get(PRE_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, pre):
        return RedirectResponse("/signin?error=The+form+expired%3A+try+again", status_code=303)
    if not request.app.state.signin_limiter.allow(source):
        return RedirectResponse("/signin?error=Too+many+attempts%3A+wait+a+minute", status_code=303)
    stores = stores_of(request)
    try:
        user = authenticate(stores.engine, name, password)
    except AuthError as exc:
        return RedirectResponse(f"/signin?error={str(exc).replace(' ', '+')}", status_code=303)
    session_id, _csrf = create_session(stores.engine, user)
    record(stores, Caller(user.name, user.role, source), "signin", "session", None)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=8 * 3600,
    )
    response.delete_cookie(PRE_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request, csrf: str = Form(...)) -> Response:
    """End the session."""
    check_csrf(request, csrf)
    session_id = request.cookies.get(COOKIE)
    if session_id:
        end_session(stores_of(request).engine, session_id)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, caller: Caller = page(Permission.STATUS)) -> HTMLResponse:
    """Alerts and flags over time, the explained fraction, queues by status, top reasons."""
    d = data.dashboard(stores_of(request))
    return render(
        request,
        "dashboard.html",
        d=d,
        charts=json.dumps(_dashboard_charts(d)),
        titles={code: entry.title for code, entry in BY_CODE.items()},
    )


def _dashboard_charts(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "alerts": {"x": [x for x, _ in d["alert_days"]], "y": [y for _, y in d["alert_days"]]},
        "flags": {"x": [x for x, _ in d["flag_days"]], "y": [y for _, y in d["flag_days"]]},
        "explained": {
            "x": [w["end"] for w in d["explained"]["windows"]],
            "y": [w["fraction"] for w in d["explained"]["windows"]],
        },
        "reasons": {
            "y": [x for x, _ in d["top_reasons"]][::-1],
            "x": [y for _, y in d["top_reasons"]][::-1],
        },
        "readiness": _readiness_chart(d["readiness"]),
    }


def _readiness_chart(found: Any) -> dict[str, list[Any]]:
    """The readiness shares as bars (labels read as the report's topics)."""
    if found is None:
        return {"x": [], "y": []}
    shares = [(k.replace("_", " "), v) for k, v in found[1].shares.items() if v is not None]
    return {"y": [k for k, _ in shares][::-1], "x": [v for _, v in shares][::-1]}


@router.get("/alerts", response_class=HTMLResponse)
def alert_queue(
    request: Request,
    status: str = "",
    user_id: str = "",
    sort: str = "score",
    page_no: int = Query(1, ge=1, le=MAX_PAGE, alias="page"),
    per_page: int = Query(50, ge=10, le=200),
    caller: Caller = page(Permission.ALERTS_READ),
) -> HTMLResponse:
    """The alert queue: filter by status or user, sort by score, recency or user, paged."""
    if sort not in review_queue.ALERT_ORDERS:
        orders = ", ".join(review_queue.ALERT_ORDERS)
        raise HTTPException(422, f"unknown sort {sort!r}: use one of {orders}")
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        rows = review_queue.list_alerts(
            conn,
            status=status or None,
            user_id=user_id or None,
            limit=per_page,
            offset=(page_no - 1) * per_page,
            sort=sort,
        )
        total = review_queue.count_alerts(conn, status or None, user_id or None)
    return render(
        request,
        "alerts.html",
        alerts=rows,
        total=total,
        page=page_no,
        per_page=per_page,
        status=status,
        statuses=["", *review_queue.ALERT_STATUSES],
        sorts=list(review_queue.ALERT_ORDERS),
        sort=sort,
        user_id=user_id,
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    alert_id: str, request: Request, caller: Caller = page(Permission.ALERTS_READ)
) -> HTMLResponse:
    """One alert: the user's access timeline, each reason with evidence, the decision form."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        alert = review_queue.get_alert(conn, alert_id)
        history = investigation_history(conn, alert["user_id"]) if alert else []
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    record(stores, caller, "read", "alert", alert_id)
    hours = data.timeline(stores, alert["user_id"], alert["window_start"], alert["window_end"])
    chart = {
        "x": [h for h, _, _ in hours],
        "accesses": [a for _, a, _ in hours],
        "patients": [p for _, _, p in hours],
    }
    people = data.alert_people(stores, alert)
    mrn_of = {p["patient_id"]: p["mrn"] for p in people["patients"]}
    return render(
        request,
        "alert.html",
        alert=alert,
        hours=hours,
        chart=json.dumps(chart),
        patients=people["patients"],
        relationships=people["relationships"],
        mrn_of=mrn_of,
        can_decide=allowed(caller.role, Permission.ALERTS_DECIDE),
        can_read_patients=allowed(caller.role, Permission.PATIENTS_READ),
        can_investigate=allowed(caller.role, Permission.INVESTIGATION_OPEN),
        history=history,
    )


@router.post("/alerts/{alert_id}/decide")
def alert_decide(
    alert_id: str,
    request: Request,
    decision: str = Form(...),
    note: str = Form(""),
    csrf: str = Form(...),
    caller: Caller = page(Permission.ALERTS_DECIDE),
) -> Response:
    """Record the decision from the alert page."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    try:
        with stores.engine.begin() as conn:
            monitor_store.decide(conn, alert_id, decision, note=note, decided_by=caller.name)
    except LookupError as exc:
        raise HTTPException(404, f"no alert {alert_id}") from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    record(stores, caller, "decide", "alert", alert_id, {"decision": decision})
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.get("/flags", response_class=HTMLResponse)
def flag_queue(
    request: Request,
    code: str = "",
    status: str = "open",
    page_no: int = Query(1, ge=1, le=MAX_PAGE, alias="page"),
    caller: Caller = page(Permission.FLAGS_READ),
) -> HTMLResponse:
    """The red-flag queue, most severe first."""
    rows, total = flag_store.list_flags(
        stores_of(request).engine,
        code=code,
        status=status,
        limit=50,
        offset=(page_no - 1) * 50,
        order="severity",
    )
    return render(
        request,
        "flags.html",
        flags=rows,
        total=total,
        page=page_no,
        code=code,
        status=status,
        catalogue=BY_CODE,
    )


@router.get("/flags/{flag_id}", response_class=HTMLResponse)
def flag_page(
    flag_id: str, request: Request, caller: Caller = page(Permission.FLAGS_READ)
) -> HTMLResponse:
    """One red flag with its evidence, the prescribed action and resolution steps."""
    stores = stores_of(request)
    row = flag_store.get_flag(stores.engine, flag_id)
    if row is None:
        raise HTTPException(404, f"no red flag {flag_id}")
    record(stores, caller, "read", "flag", flag_id)
    return render(
        request,
        "flag.html",
        flag=row,
        entry=BY_CODE[row["code"]],
        can_resolve=allowed(caller.role, Permission.FLAGS_RESOLVE),
        can_open_case=allowed(caller.role, Permission.CASES_OPEN),
    )


@router.post("/flags/{flag_id}/resolve")
def flag_resolve(
    flag_id: str,
    request: Request,
    status: str = Form(...),
    note: str = Form(""),
    csrf: str = Form(...),
    caller: Caller = page(Permission.FLAGS_RESOLVE),
) -> Response:
    """Resolve or dismiss a flag from its page."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    try:
        flag_store.resolve_flag(stores.engine, flag_id, status, note, caller.name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    record(stores, caller, "resolve", "flag", flag_id, {"status": status})
    return RedirectResponse(f"/flags/{flag_id}", status_code=303)


@router.get("/patients/{mrn}", response_class=HTMLResponse)
def patient_page(
    mrn: str, request: Request, caller: Caller = page(Permission.PATIENTS_READ)
) -> HTMLResponse:
    """A patient's identity view: demographics (SSN masked), linked records, red flags."""
    from phiwarden.web.api.people import patient_identity

    view = patient_identity(mrn, request, caller)  # audited there
    return render(request, "patient.html", p=view)


#: the most patients the workforce page lists; the CSV download has them all
PAGE_PATIENTS = 500


def _window(
    stores: Any, user_id: str, since: str, until: str
) -> tuple[list[dict[str, Any]], date | None, date | None]:
    """The user's alerts and the window to list: the given days, else the top alert's."""
    with stores.engine.connect() as conn:
        their = review_queue.list_alerts(conn, user_id=user_id, limit=100)
    try:
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise HTTPException(422, "dates are YYYY-MM-DD") from exc
    if their:
        first = first or their[0]["window_start"]
        last = last or their[0]["window_end"]
    if first and last and first > last:
        raise HTTPException(422, "the first day is after the last day")
    return their, first, last


@router.get("/workforce/{user_id}", response_class=HTMLResponse)
def workforce_page(
    user_id: str,
    request: Request,
    since: str = "",
    until: str = "",
    caller: Caller = page(Permission.WORKFORCE_READ),
) -> HTMLResponse:
    """A workforce member's alerts and the patients they opened in a window."""
    from phiwarden.monitor.population import population

    stores = stores_of(request)
    their, first, last = _window(stores, user_id, since, until)
    patients = population(stores, user_id, first, last) if first and last else []
    with stores.engine.connect() as conn:
        suppressed = review_queue.suppressions_of(conn, user_id)
    record(stores, caller, "read", "workforce", user_id)
    return render(
        request,
        "workforce.html",
        user_id=user_id,
        suppressed=suppressed,
        alerts=their,
        patients=patients[:PAGE_PATIENTS],
        total=len(patients),
        since=first,
        until=last,
    )


@router.get("/workforce/{user_id}/patients.csv")
def workforce_csv(
    user_id: str,
    request: Request,
    since: str = "",
    until: str = "",
    caller: Caller = page(Permission.WORKFORCE_READ),
) -> Response:
    """Every patient the user opened in the window, with mailing address: the list a
    notification goes to. The export is written to the audit trail."""
    from phiwarden.monitor.population import population, write_rows

    stores = stores_of(request)
    _their, first, last = _window(stores, user_id, since, until)
    if first is None or last is None:
        raise HTTPException(422, "give the window: since=YYYY-MM-DD&until=YYYY-MM-DD")
    rows = population(stores, user_id, first, last)
    buffer = io.StringIO()
    write_rows(rows, buffer)
    record(
        stores,
        caller,
        "export",
        "workforce",
        user_id,
        {"since": str(first), "until": str(last), "patients": len(rows)},
    )
    name = f"patients-{user_id}-{first}-{last}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
