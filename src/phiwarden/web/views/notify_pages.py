"""The notification part of an incident's page (the decision form, the obligations as a
timeline with the overdue ones standing out, the letters) and the call centre's page."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from phiwarden.breach import lookup as call_centre
from phiwarden.breach.decision import EXCLUSIONS, Assessment, Decision, decide
from phiwarden.breach.hhs import hospital
from phiwarden.breach.obligations import as_json, compute
from phiwarden.breach.proof import mark_done
from phiwarden.store.breach_tables import breach_letters
from phiwarden.store.setup import Stores
from phiwarden.web import scan_jobs
from phiwarden.web.api.deps import Caller, record, stores_of
from phiwarden.web.api.notify import LOOKUPS
from phiwarden.web.roles import Permission, allowed
from phiwarden.web.views.render import check_csrf, form_change, page, render

router = APIRouter(include_in_schema=False)


def notification(
    stores: Stores, incident: dict[str, Any], caller: Caller, scoped: dict[str, Any]
) -> dict[str, Any]:
    """What the incident page shows after the scope (already read: ``scoped``): decision,
    obligations, letters."""
    from sqlalchemy import func, select

    details = incident["case"]["details"]
    decision = details.get("decision")
    today = date.today()
    rows: list[dict[str, Any]] = []
    residence: dict[str, Any] = {}
    if decision:
        with stores.engine.connect() as conn:
            items, people = compute(
                conn, incident, config=stores.settings.hospital_config, today=today, scoped=scoped
            )
        owners = hospital(stores.settings.hospital_config).get("owners")
        rows = as_json(items, today, details.get("obligations_done"), owners)
        residence = {"total": people.total, "unknown": len(people.unknown)}
    with stores.engine.connect() as conn:
        letters: dict[str, int] = dict(
            conn.execute(
                select(breach_letters.c.status, func.count())
                .where(breach_letters.c.incident_id == incident["incident"])
                .group_by(breach_letters.c.status)
            ).all()
        )
    timeline = {
        "x": [r["due"] for r in rows],
        "y": [f"{r['kind'].replace('_', ' ')} {r['jurisdiction']}" for r in rows],
        "status": [r["status"] for r in rows],
    }
    return {
        "decision": decision,
        "obligations": rows,
        "residence": residence,
        "timeline": json.dumps(timeline),
        "letters": letters,
        "writing_letters": scan_jobs.letters_running(incident["incident"]),
        "exclusions": EXCLUSIONS,
        "today": today.isoformat(),
        "can_decide": allowed(caller.role, Permission.BREACH_DECIDE),
        "can_notify": allowed(caller.role, Permission.BREACH_NOTIFY),
    }


@router.post("/incidents/{incident_id}/decision")
def decision_form(
    incident_id: str,
    request: Request,
    csrf: str = Form(...),
    outcome: str = Form(...),
    reason: str = Form(...),
    exclusion: str = Form(""),
    nature_extent: str = Form(""),
    recipient: str = Form("unknown"),
    recipient_note: str = Form(""),
    acquired_or_viewed: str = Form("unknown"),
    forensics: str = Form(""),
    mitigation: str = Form("none"),
    mitigation_note: str = Form(""),
    low_probability: bool = Form(False),
    caller: Caller = page(Permission.BREACH_DECIDE),
) -> Response:
    """The decision from the incident page's form."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    back = f"/incidents/{incident_id}"

    def run() -> None:
        assessment = None
        if outcome == "not-breach" or nature_extent.strip():
            assessment = Assessment(
                nature_extent=nature_extent,
                recipient=recipient,
                recipient_note=recipient_note,
                acquired_or_viewed=acquired_or_viewed,
                forensics=forensics,
                mitigation=mitigation,
                mitigation_note=mitigation_note,
                low_probability=low_probability,
            )
        body = Decision(
            outcome=outcome,
            reason=reason,
            exclusion=exclusion or None,
            assessment=assessment,
        )
        decide(stores, incident_id, body, actor=caller.name, role=caller.role)

    return form_change(
        request, caller, back, run, ("decide", "incident", incident_id, {"outcome": outcome})
    )


@router.post("/incidents/{incident_id}/obligations/done")
def obligation_form(
    incident_id: str,
    request: Request,
    csrf: str = Form(...),
    key: str = Form(...),
    note: str = Form(""),
    caller: Caller = page(Permission.BREACH_NOTIFY),
) -> Response:
    """An obligation met, from the timeline."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    return form_change(
        request,
        caller,
        f"/incidents/{incident_id}",
        lambda: mark_done(stores, incident_id, key, actor=caller.name, note=note),
        ("obligation_done", "incident", incident_id, {"key": key}),
    )


@router.post("/incidents/{incident_id}/letters")
def letters_form(
    incident_id: str,
    request: Request,
    csrf: str = Form(...),
    language: str = Form("en"),
    caller: Caller = page(Permission.BREACH_NOTIFY),
) -> Response:
    """Write the letters (in the background) from the incident page."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    out = stores.settings.data_dir / "letters" / incident_id
    return form_change(
        request,
        caller,
        f"/incidents/{incident_id}",
        lambda: scan_jobs.start_letters(stores, incident_id, out, language, caller.name),
        ("letters", "incident", incident_id, {"language": language}),
    )


@router.get("/callcenter", response_class=HTMLResponse)
def callcenter_page(request: Request, caller: Caller = page(Permission.LOOKUP)) -> HTMLResponse:
    """The call centre's lookup form."""
    return render(request, "callcenter.html", answer=None, f={})


@router.post("/callcenter", response_class=HTMLResponse)
def callcenter_lookup(
    request: Request,
    csrf: str = Form(...),
    reference: str = Form(""),
    name: str = Form(""),
    dob: str = Form(""),
    zip_code: str = Form("", alias="zip"),
    caller: Caller = page(Permission.LOOKUP),
) -> HTMLResponse:
    """Look the caller up; the answer says only what their own letter says."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    toll_free = hospital(stores.settings.hospital_config)["contact"]["toll_free"]
    if not LOOKUPS.allow(caller.name):
        answer: dict[str, Any] = {
            "affected": False,
            "script": "Too many lookups this minute: wait a moment.",
        }
    else:
        with stores.engine.connect() as conn:
            if reference.strip():
                found = call_centre.by_reference(conn, reference, toll_free)
            else:
                try:
                    born = date.fromisoformat(dob)
                except ValueError:
                    born = None
                found = (
                    call_centre.by_person(conn, name, born, zip_code, toll_free)
                    if born
                    else call_centre.Answer(False, "Give the date of birth as YYYY-MM-DD.")
                )
        answer = found.as_json()
        record(
            stores, caller, "lookup", "call_centre", found.reference, {"affected": found.affected}
        )
    return render(request, "callcenter.html", answer=answer, f={"reference": reference})
