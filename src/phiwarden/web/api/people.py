"""A patient's identity view (SSN masked; revealed only with a logged reason) and a
workforce member's access history."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from phiwarden.redflags.screen import registration_alerts
from phiwarden.store.identity_tables import identity_index
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.sensitive import mask_ssn
from phiwarden.web.api.deps import Caller, guard, record, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(tags=["people"])

_SHOWN = (
    "patient_id",
    "mrn",
    "first_name",
    "middle_name",
    "last_name",
    "previous_names",
    "dob",
    "sex",
    "address_line",
    "city",
    "state",
    "zip",
    "phone",
    "deceased_date",
)


class Reveal(BaseModel):
    """Why the full SSN is needed (kept in the audit trail)."""

    reason: str = Field(min_length=10, max_length=500)


def _patient(request: Request, mrn: str) -> dict[str, Any]:
    p = domain_table("patients")
    with stores_of(request).engine.connect() as conn:
        row = conn.execute(select(p).where(p.c.mrn == mrn)).mappings().first()
    if row is None:
        raise HTTPException(404, f"no patient with MRN {mrn}")
    return dict(row)


@router.get("/patients/{mrn}")
def patient_identity(
    mrn: str,
    request: Request,
    caller: Caller = Depends(guard(Permission.PATIENTS_READ)),
) -> dict[str, Any]:
    """Demographics with the SSN masked, linked records (same person) and red flags."""
    stores = stores_of(request)
    row = _patient(request, mrn)
    with stores.engine.connect() as conn:
        cluster = conn.execute(
            select(identity_index.c.cluster_id).where(
                identity_index.c.patient_id == row["patient_id"]
            )
        ).scalar()
        linked = (
            []
            if cluster is None
            else [
                m
                for (m,) in conn.execute(
                    select(identity_index.c.mrn).where(
                        identity_index.c.cluster_id == cluster, identity_index.c.mrn != mrn
                    )
                )
            ]
        )
        flags = (
            conn.execute(
                select(
                    red_flags.c.flag_id,
                    red_flags.c.code,
                    red_flags.c.severity,
                    red_flags.c.status,
                    red_flags.c.evidence,
                ).where(red_flags.c.patient_id == row["patient_id"])
            )
            .mappings()
            .all()
        )
        alerts = registration_alerts(conn, {mrn})
    record(stores, caller, "read", "patient", mrn)
    return {
        **{k: row.get(k) for k in _SHOWN},
        "ssn": mask_ssn(row.get("ssn_last4")),
        "linked_mrns": linked,
        "red_flags": [dict(f) for f in flags],
        "alerts": alerts,
    }


@router.post("/patients/{mrn}/ssn")
def reveal_ssn(
    mrn: str,
    body: Reveal,
    request: Request,
    caller: Caller = Depends(guard(Permission.SSN_REVEAL)),
) -> dict[str, str | None]:
    """The full SSN, for roles allowed to see it, with the reason logged."""
    stores = stores_of(request)
    row = _patient(request, mrn)
    token = row.get("ssn_encrypted")
    record(stores, caller, "reveal_ssn", "patient", mrn, {"reason": body.reason})
    return {"mrn": mrn, "ssn": stores.protector.decrypt(bytes(token)) if token else None}


@router.get("/workforce/{user_id}/accesses")
def workforce_accesses(
    user_id: str,
    request: Request,
    since: date,
    until: date,
    limit: int = Query(1000, ge=1, le=10000),
    caller: Caller = Depends(guard(Permission.WORKFORCE_READ)),
) -> dict[str, Any]:
    """Every patient the workforce member opened in the window (audited)."""
    from phiwarden.monitor.population import population

    stores = stores_of(request)
    if since > until:
        raise HTTPException(422, "since is after until")
    try:
        rows = population(stores, user_id, since, until)
    except (ValueError, LookupError) as exc:
        raise HTTPException(404, str(exc)) from exc
    record(
        stores,
        caller,
        "read",
        "workforce",
        user_id,
        {"since": since.isoformat(), "until": until.isoformat()},
    )
    return {"user_id": user_id, "patients": rows[:limit], "total": len(rows)}
