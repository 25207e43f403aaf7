"""The investigation's part of the case page (evidence, finding, determination, breach
decision, referrals), corrective actions on any case or incident, opening an
investigation from an alert, and the member's history on the alert page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from phiwarden.breach.decision import Assessment, Decision
from phiwarden.cases.sanctions import load_policy
from phiwarden.program import corrective, evidence
from phiwarden.program import investigation as pi
from phiwarden.store.setup import Stores
from phiwarden.web.api.deps import MAX_ID, Caller, stores_of
from phiwarden.web.api.steps import check_assigned
from phiwarden.web.roles import Permission, allowed
from phiwarden.web.views.render import check_csrf, form_change, page, refused

router = APIRouter()


def case_extras(stores: Stores, case: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """What the case page adds for an investigation, and the corrective actions of any."""
    with stores.engine.connect() as conn:
        actions = corrective.list_actions(conn, case["case_id"])
    extras: dict[str, Any] = {
        "corrective": actions,
        "can_correct": allowed(caller.role, Permission.CORRECTIVE_EDIT),
    }
    if case["case_type"] != pi.PROCEDURE:
        return extras
    try:
        verdict: evidence.Verdict | None = evidence.load(stores, case["case_id"])
    except LookupError:
        verdict = None
    summary = None
    if verdict is not None:
        content = verdict.content
        summary = {
            "ok": verdict.ok,
            "sha256": verdict.recorded,
            "accesses": len(content["accesses"]),
            "patients": len(content["patients"]),
            "alerts": len(content["alerts"]),
            "unexplained": sum(1 for o in content["openings"] if o["explained_by"] is None),
            "openings": len(content["openings"]),
            "relationships": content["relationships"][:20],
            "window": content["window"],
        }
    mine = caller.role != "investigator" or case.get("assignee") == caller.name
    return extras | {
        "investigation": {
            "evidence": summary,
            "policy": load_policy(stores.settings.hospital_config),
            "can_work": allowed(caller.role, Permission.INVESTIGATION_WORK) and mine,
            "can_determine": allowed(caller.role, Permission.INVESTIGATION_DETERMINE),
            "mine": mine,
        }
    }


@router.post("/alerts/{alert_id}/investigate")
def investigate_alert(
    alert_id: str,
    request: Request,
    csrf: str = Form(...),
    caller: Caller = page(Permission.INVESTIGATION_OPEN),
) -> Response:
    """Open an investigation of the alert's member (or add it to their open one)."""
    check_csrf(request, csrf)
    stores = stores_of(request)
    opened: list[str] = []

    def run() -> None:
        case_id, _new = pi.open_investigation(
            stores,
            actor=caller.name,
            alert_ids=[alert_id],
            assignee=caller.name if caller.role == "investigator" else None,
        )
        opened.append(case_id)

    back = refused(f"/alerts/{alert_id}", run)
    if back is not None:
        return back
    from phiwarden.web.api.deps import record

    record(stores, caller, "open", "case", opened[0], {"alert": alert_id})
    return RedirectResponse(f"/cases/{opened[0]}", status_code=303)


def _assessment(form: dict[str, str]) -> Assessment | None:
    fields = ("nature_extent", "recipient_note", "forensics", "mitigation_note")
    if not any(form.get(f) for f in fields):
        return None
    return Assessment.model_validate(
        {
            **{f: form.get(f, "") for f in fields},
            "recipient": form.get("recipient") or "unknown",
            "acquired_or_viewed": form.get("acquired_or_viewed") or "unknown",
            "mitigation": form.get("mitigation") or "none",
            "low_probability": form.get("low_probability") == "on",
        }
    )


@router.post("/investigations/{case_id}/act")
async def investigation_act(
    case_id: str, request: Request, caller: Caller = page(Permission.INVESTIGATION_WORK)
) -> Response:
    """A step of the investigation from the case page: finding, determination, breach
    decision, referral (the last three for the Privacy Officer only)."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items()}
    check_csrf(request, form.get("csrf", ""))
    stores = stores_of(request)
    action = form.get("action", "")
    revision = int(form["revision"]) if form.get("revision", "").isdigit() else None
    if revision is not None and revision > MAX_ID:
        raise HTTPException(422, "revision out of range")
    who, role = caller.name, caller.role
    if action in {"determine", "breach", "refer"} and not allowed(
        role, Permission.INVESTIGATION_DETERMINE
    ):
        raise HTTPException(403, f"the role {role} may not {action}: privacy_officer may")

    def finding() -> Any:
        check_assigned(request, case_id, caller)
        return pi.submit(
            stores, case_id, form.get("finding", ""), actor=who, role=role, revision=revision
        )

    def determine() -> Any:
        outcome: Literal["violation", "no_violation"]
        if form.get("outcome") == "violation":
            outcome = "violation"
        elif form.get("outcome") == "no_violation":
            outcome = "no_violation"
        else:
            raise ValueError("choose violation or no violation")
        level = int(form["level"]) if form.get("level", "").isdigit() else None
        return pi.determine(
            stores,
            case_id,
            outcome,
            form.get("reason", ""),
            actor=who,
            role=role,
            revision=revision,
            level=level,
            suppress=form.get("suppress") == "on",
        )

    def breach() -> Any:
        decision = Decision(
            outcome=form.get("outcome", "breach"),
            reason=form.get("reason", "") or "-",
            exclusion=form.get("exclusion") or None,
            assessment=_assessment(form),
        )
        return pi.decide_breach(stores, case_id, decision, actor=who, role=role, revision=revision)

    def refer() -> Any:
        to: Literal["law_enforcement", "ocr"]
        if form.get("to") == "ocr":
            to = "ocr"
        elif form.get("to") == "law_enforcement":
            to = "law_enforcement"
        else:
            raise ValueError("refer to law_enforcement or ocr")
        return pi.refer(
            stores,
            case_id,
            to,
            date.fromisoformat(form.get("on", "")),
            form.get("detail", ""),
            actor=who,
            role=role,
            revision=revision,
        )

    runs: dict[str, Callable[[], Any]] = {
        "finding": finding,
        "determine": determine,
        "breach": breach,
        "refer": refer,
    }
    if action not in runs:
        raise HTTPException(422, f"unknown action {action!r}")
    return form_change(
        request, caller, f"/cases/{case_id}", runs[action], (action, "case", case_id, None)
    )


@router.post("/cases/{case_id}/corrective")
def corrective_add(
    case_id: str,
    request: Request,
    csrf: str = Form(...),
    title: str = Form(..., max_length=2000),
    owner: str = Form(..., max_length=128),
    due_on: date = Form(...),
    caller: Caller = page(Permission.CORRECTIVE_EDIT),
) -> Response:
    """Add a corrective action from the case or incident page."""
    check_csrf(request, csrf)
    back = request.headers.get("referer") or f"/cases/{case_id}"

    def run() -> Any:
        return corrective.add_action(
            stores_of(request), case_id, title, owner, due_on, actor=caller.name
        )

    return form_change(request, caller, back, run, ("corrective_add", "case", case_id, None))


@router.post("/corrective/{action_id}/{step}")
def corrective_step(
    action_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    step: str,
    request: Request,
    csrf: str = Form(...),
    note: str = Form("", max_length=4000),
    caller: Caller = page(Permission.CORRECTIVE_EDIT),
) -> Response:
    """Mark a corrective action done, or verify it."""
    check_csrf(request, csrf)
    if step not in ("done", "verify"):
        raise HTTPException(404, "no such step")
    stores = stores_of(request)
    back = request.headers.get("referer") or "/program"
    act = corrective.mark_done if step == "done" else corrective.verify_action

    def run() -> Any:
        return act(stores, action_id, note, actor=caller.name)

    return form_change(
        request,
        caller,
        back,
        run,
        (f"corrective_{step}", "corrective_action", str(action_id), None),
    )
