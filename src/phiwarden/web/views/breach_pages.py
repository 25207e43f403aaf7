"""The breach pages: the incidents (and the form that records one), an incident with what
was scanned, the scan form (what the evidence folder holds, a user's population, a
business associate's list), the affected people with their elements, the unlinked and the
unscannable; and one person's evidence, where a reviewer confirms or rejects. Every read
of an incident or a person is audited."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phiwarden.breach import scope as scoping
from phiwarden.breach.categories import LOCATIONS, TYPES
from phiwarden.breach.incident import Incident, get_incident, list_incidents, open_incident
from phiwarden.breach.people import ELEMENTS
from phiwarden.web import scan_jobs
from phiwarden.web.api.deps import Caller, record, stores_of
from phiwarden.web.roles import Permission, allowed
from phiwarden.web.views.investigation_pages import case_extras
from phiwarden.web.views.notify_pages import notification
from phiwarden.web.views.render import check_csrf, form_change, page, render

router = APIRouter(include_in_schema=False)
PER_PAGE = 100


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(
    request: Request, error: str = "", caller: Caller = page(Permission.BREACH_READ)
) -> HTMLResponse:
    """The incidents, and the form to record one."""
    with stores_of(request).engine.connect() as conn:
        found = list_incidents(conn)
    return render(
        request,
        "incidents.html",
        incidents=found,
        types=TYPES,
        locations=LOCATIONS,
        error=error,
        today=date.today().isoformat(),
        can_open=allowed(caller.role, Permission.BREACH_OPEN),
    )


@router.post("/incidents")
def incidents_open(
    request: Request,
    csrf: str = Form(...),
    title: str = Form(...),
    discovered: date = Form(...),
    type_: str = Form(..., alias="type"),
    location: str = Form(...),
    occurred_from: str = Form(""),
    occurred_to: str = Form(""),
    business_associate: bool = Form(False),
    description: str = Form(""),
    caller: Caller = page(Permission.BREACH_OPEN),
) -> Response:
    """Record an incident from the form."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    try:
        incident = Incident(
            title=title,
            discovered=discovered,
            type=type_,
            location=location,
            occurred_from=date.fromisoformat(occurred_from) if occurred_from else None,
            occurred_to=date.fromisoformat(occurred_to) if occurred_to else None,
            business_associate=business_associate,
            description=description,
        )
        incident_id = open_incident(stores, incident, actor=caller.name)
    except ValueError as exc:
        return RedirectResponse(f"/incidents?error={quote(str(exc)[:400])}", status_code=303)
    record(stores, caller, "open", "incident", incident_id)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


def _chart(people: list[dict[str, Any]], unlinked: list[dict[str, Any]]) -> str:
    counts = Counter(e for p in [*people, *unlinked] for e in p["elements"])
    shown = [e for e in ELEMENTS if counts.get(e)]
    return json.dumps({"x": shown, "y": [counts[e] for e in shown]})


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    incident_id: str,
    request: Request,
    error: str = "",
    q: str = "",
    element: str = "",
    page_no: int = Query(1, ge=1, le=100_000, alias="page"),
    caller: Caller = page(Permission.BREACH_READ),
) -> HTMLResponse:
    """One incident: what was recorded, the sources, the scan form and the people."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id}")
        sources = scoping.sources(conn, incident_id)
        scoped = scoping.scope(conn, incident_id)
    record(stores, caller, "read", "incident", incident_id)
    people = scoped["people"]
    shown = [
        p
        for p in people
        if (not q or q.lower() in p["name"].lower() or q == str(p["mrn"]))
        and (not element or element in p["elements"])
    ]
    return render(
        request,
        "incident.html",
        incident=found,
        sources=sources,
        scanning=scan_jobs.running(incident_id) or any(s["status"] == "running" for s in sources),
        people=shown[(page_no - 1) * PER_PAGE : page_no * PER_PAGE],
        matching=len(shown),
        total=len(people),
        with_ssn=sum(1 for p in people if "ssn" in p["elements"]),
        unlinked=scoped["unlinked"],
        unscannable=scoped["unscannable"],
        chart=_chart(people, scoped["unlinked"]),
        evidence=scan_jobs.evidence_items(stores),
        evidence_dir=stores.settings.evidence_dir,
        elements=ELEMENTS,
        f={"q": q, "element": element},
        page=page_no,
        per_page=PER_PAGE,
        error=error,
        can_scan=allowed(caller.role, Permission.BREACH_SCAN),
        **notification(stores, found, caller, scoped),
        **case_extras(stores, found["case"], caller),
    )


@router.post("/incidents/{incident_id}/scan")
def incident_scan(
    incident_id: str,
    request: Request,
    csrf: str = Form(...),
    path: list[str] = Form([]),
    population_user: str = Form(""),
    since: str = Form(""),
    until: str = Form(""),
    people_list: str = Form(""),
    caller: Caller = page(Permission.BREACH_SCAN),
) -> Response:
    """Start a scan from the incident page."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    return form_change(
        request,
        caller,
        f"/incidents/{incident_id}",
        lambda: scan_jobs.start_scan(
            stores,
            incident_id,
            scan_jobs.ScanRequest(
                tuple(p for p in path if p),
                population_user or None,
                date.fromisoformat(since) if since else None,
                date.fromisoformat(until) if until else None,
                people_list or None,
            ),
            caller.name,
        ),
        ("scan", "incident", incident_id, {"paths": path}),
    )


@router.get("/incidents/{incident_id}/people/{person}", response_class=HTMLResponse)
def person_page(
    incident_id: str,
    person: str,
    request: Request,
    error: str = "",
    caller: Caller = page(Permission.BREACH_READ),
) -> HTMLResponse:
    """One affected person's evidence, with the reviewer's decisions."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        found = scoping.evidence(conn, incident_id, person)
        everyone = scoping.scope(conn, incident_id, with_rejected=True)
        decided = scoping.decisions(conn, incident_id).get(("person", person))
    if not found:
        raise HTTPException(404, f"no person {person} in incident {incident_id}")
    record(stores, caller, "read", "incident_person", f"{incident_id}/{person}")
    who = next(
        (p for p in everyone["people"] if p["patient_id"] == person),
        next((u for u in everyone["unlinked"] if u["person"] == person), None),
    )
    return render(
        request,
        "incident_person.html",
        incident_id=incident_id,
        person=person,
        who=who,
        findings=found,
        decided=decided,
        error=error,
        can_review=allowed(caller.role, Permission.BREACH_REVIEW),
    )


@router.post("/incidents/{incident_id}/review")
def incident_review(
    incident_id: str,
    request: Request,
    csrf: str = Form(...),
    person: str = Form(...),
    target: str = Form(...),
    ref: str = Form(...),
    decision: str = Form(...),
    reason: str = Form(""),
    caller: Caller = page(Permission.BREACH_REVIEW),
) -> Response:
    """A reviewer's decision from a person's page."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    return form_change(
        request,
        caller,
        f"/incidents/{incident_id}/people/{person}",
        lambda: scoping.review(
            stores,
            incident_id,
            target,  # type: ignore[arg-type]
            ref,
            decision,
            reviewer=caller.name,
            reason=reason,
        ),
        ("review", "incident", incident_id, {"target": target, "ref": ref}),
    )
