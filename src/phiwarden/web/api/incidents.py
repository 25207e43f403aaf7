"""Breach incidents: open and list them, read one with what was scanned, start a scan
(in the background, of what is in the evidence folder), read the affected people and one
person's evidence, and record a reviewer's decision. Reads of an incident, its people and
a person's evidence are written to the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from phiwarden.breach import scope as scoping
from phiwarden.breach.categories import LOCATIONS, TYPES
from phiwarden.breach.incident import Incident, get_incident, list_incidents, open_incident
from phiwarden.web import scan_jobs
from phiwarden.web.api.cases import answering
from phiwarden.web.api.deps import Caller, guard, record, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(tags=["breach"])


class NewIncident(BaseModel):
    """An incident as the privacy officer records it (HHS portal categories)."""

    title: str = Field(min_length=1, max_length=255)
    discovered: date
    type: Literal[tuple(TYPES)]  # type: ignore[valid-type]
    location: Literal[tuple(LOCATIONS)]  # type: ignore[valid-type]
    occurred_from: date | None = None
    occurred_to: date | None = None
    business_associate: bool = False
    description: str = Field("", max_length=4000)
    safeguards: str = Field("", max_length=4000)
    actions: str = Field("", max_length=4000)


class Scan(BaseModel):
    """What to scan: paths under the evidence folder, a user's monitoring population,
    a business associate's list."""

    paths: list[str] = Field(default_factory=list, max_length=100)
    population_user: str | None = Field(None, max_length=64)
    since: date | None = None
    until: date | None = None
    people_list: str | None = Field(None, max_length=1024)


class Review(BaseModel):
    """A reviewer's decision on a person or a finding."""

    target: Literal["person", "finding"]
    ref: str = Field(min_length=1, max_length=80)
    decision: Literal["confirmed", "rejected"]
    reason: str = Field("", max_length=2000)


def _incident(request: Request, incident_id: str) -> dict[str, Any]:
    with stores_of(request).engine.connect() as conn:
        found = get_incident(conn, incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id}")
        found["sources"] = scoping.sources(conn, incident_id)
    found.pop("case")
    found["scanning"] = scan_jobs.running(incident_id)
    return found


@router.get("/incidents")
def incidents(
    request: Request, caller: Caller = Depends(guard(Permission.BREACH_READ))
) -> dict[str, Any]:
    """The incidents."""
    with stores_of(request).engine.connect() as conn:
        found = list_incidents(conn)
    for i in found:
        i.pop("case", None)
    return {"incidents": found}


@router.post("/incidents", status_code=201)
def new_incident(
    body: NewIncident, request: Request, caller: Caller = Depends(guard(Permission.BREACH_OPEN))
) -> dict[str, str]:
    """Record an incident; its number."""
    stores = stores_of(request)
    with answering():
        incident_id = open_incident(stores, Incident(**body.model_dump()), actor=caller.name)
    record(stores, caller, "open", "incident", incident_id)
    return {"incident": incident_id}


@router.get("/incidents/{incident_id}")
def incident(
    incident_id: str, request: Request, caller: Caller = Depends(guard(Permission.BREACH_READ))
) -> dict[str, Any]:
    """One incident with its sources and their progress (audited)."""
    found = _incident(request, incident_id)
    record(stores_of(request), caller, "read", "incident", incident_id)
    return found


@router.post("/incidents/{incident_id}/scans", status_code=202)
def scan(
    incident_id: str,
    body: Scan,
    request: Request,
    caller: Caller = Depends(guard(Permission.BREACH_SCAN)),
) -> dict[str, Any]:
    """Start a scan in the background; follow it on ``GET /api/incidents/{id}``."""
    stores = stores_of(request)
    with answering():
        scan_jobs.start_scan(
            stores,
            incident_id,
            scan_jobs.ScanRequest(
                tuple(body.paths), body.population_user, body.since, body.until, body.people_list
            ),
            caller.name,
        )
    record(stores, caller, "scan", "incident", incident_id, body.model_dump(mode="json"))
    return {"incident": incident_id, "scanning": True}


@router.get("/incidents/{incident_id}/people")
def people(
    incident_id: str,
    request: Request,
    rejected: bool = False,
    caller: Caller = Depends(guard(Permission.BREACH_READ)),
) -> dict[str, Any]:
    """The affected people, the unlinked and the unscannable (audited)."""
    stores = stores_of(request)
    _incident(request, incident_id)
    with stores.engine.connect() as conn:
        found = scoping.scope(conn, incident_id, with_rejected=rejected)
    record(stores, caller, "read", "incident_people", incident_id)
    return found


@router.get("/incidents/{incident_id}/people/{person}")
def person_evidence(
    incident_id: str,
    person: str,
    request: Request,
    caller: Caller = Depends(guard(Permission.BREACH_READ)),
) -> dict[str, Any]:
    """Every finding about one person, with offsets and masked snippets (audited)."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        found = scoping.evidence(conn, incident_id, person)
    if not found:
        raise HTTPException(404, f"no person {person} in incident {incident_id}")
    record(stores, caller, "read", "incident_person", f"{incident_id}/{person}")
    return {"incident": incident_id, "person": person, "findings": found}


@router.post("/incidents/{incident_id}/reviews")
def review(
    incident_id: str,
    body: Review,
    request: Request,
    caller: Caller = Depends(guard(Permission.BREACH_REVIEW)),
) -> dict[str, Any]:
    """Confirm or reject a person or a finding (audited, and in the incident's timeline)."""
    stores = stores_of(request)
    with answering():
        done = scoping.review(
            stores,
            incident_id,
            body.target,
            body.ref,
            body.decision,
            reviewer=caller.name,
            reason=body.reason,
        )
    record(stores, caller, "review", "incident", incident_id, body.model_dump())
    return done
