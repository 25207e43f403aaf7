"""After the scope: the breach decision, the obligations and their proof, the letters
(written in the background into the data folder; each one downloadable, audited), the HHS
report, returned mail, and the call centre's lookup (rate-limited per agent, audited,
and never telling one caller about anyone else)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field

from phiwarden.breach import lookup as call_centre
from phiwarden.breach.decision import Decision, decide
from phiwarden.breach.hhs import as_csv, hospital, report
from phiwarden.breach.incident import get_incident
from phiwarden.breach.obligations import as_json, compute, residence_summary
from phiwarden.breach.proof import mark_done
from phiwarden.web import scan_jobs
from phiwarden.web.api.cases import answering
from phiwarden.web.api.deps import Caller, guard, record, stores_of
from phiwarden.web.roles import Permission
from phiwarden.web.sessions import RateLimiter

router = APIRouter(tags=["breach"])
#: lookups an agent may make a minute: enough for a call, too few to enumerate people
LOOKUPS = RateLimiter(rate=20, window=60.0)


class Done(BaseModel):
    """What proves an obligation was met."""

    note: str = Field(min_length=1, max_length=2000)


class LetterRun(BaseModel):
    """Write the letters of a decided incident."""

    language: Literal["en", "es"] = "en"


class Lookup(BaseModel):
    """The caller's name, date of birth and ZIP, or the reference on their letter."""

    name: str | None = Field(None, max_length=120)
    dob: date | None = None
    zip: str | None = Field(None, max_length=10)
    reference: str | None = Field(None, max_length=16)


class Address(BaseModel):
    """The address the caller gives for a letter to be mailed again."""

    address: str = Field(min_length=8, max_length=300)


def incident_of(request: Request, incident_id: str) -> dict[str, Any]:
    """The incident with its case, or a 404."""
    with stores_of(request).engine.connect() as conn:
        found = get_incident(conn, incident_id)
    if found is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return found


def letters_dir(request: Request, incident_id: str) -> Path:
    """Where an incident's letters are written."""
    return stores_of(request).settings.data_dir / "letters" / incident_id


@router.post("/incidents/{incident_id}/decision")
def record_decision(
    incident_id: str,
    body: Decision,
    request: Request,
    caller: Caller = Depends(guard(Permission.BREACH_DECIDE)),
) -> dict[str, Any]:
    """Record whether it is a reportable breach (45 CFR 164.402), signed by the caller."""
    stores = stores_of(request)
    incident_of(request, incident_id)
    with answering():
        done = decide(stores, incident_id, body, actor=caller.name, role=caller.role)
    record(stores, caller, "decide", "incident", incident_id, {"outcome": body.outcome})
    return done


@router.get("/incidents/{incident_id}/obligations")
def obligations(
    incident_id: str,
    request: Request,
    today: date | None = None,
    caller: Caller = Depends(guard(Permission.BREACH_READ)),
) -> dict[str, Any]:
    """What HIPAA and each state require, by when, with the status of each."""
    stores = stores_of(request)
    incident = incident_of(request, incident_id)
    on = today or date.today()
    with answering(), stores.engine.connect() as conn:
        items, people = compute(conn, incident, config=stores.settings.hospital_config, today=on)
    done = incident["case"]["details"].get("obligations_done")
    return {
        "incident": incident_id,
        "obligations": as_json(
            items, on, done, hospital(stores.settings.hospital_config).get("owners")
        ),
        **residence_summary(people),
    }


@router.post("/incidents/{incident_id}/obligations/{key}/done")
def obligation_done(
    incident_id: str,
    key: str,
    body: Done,
    request: Request,
    caller: Caller = Depends(guard(Permission.BREACH_NOTIFY)),
) -> dict[str, Any]:
    """Record that an obligation was met, with its proof (164.414(b))."""
    stores = stores_of(request)
    incident_of(request, incident_id)
    with answering():
        mark = mark_done(stores, incident_id, key, actor=caller.name, note=body.note)
    record(stores, caller, "obligation_done", "incident", incident_id, {"key": key})
    return {"incident": incident_id, "key": key, **mark}


@router.post("/incidents/{incident_id}/letters", status_code=202)
def write_letters(
    incident_id: str,
    body: LetterRun,
    request: Request,
    caller: Caller = Depends(guard(Permission.BREACH_NOTIFY)),
) -> dict[str, Any]:
    """Write the letters and the mailing list in the background."""
    stores = stores_of(request)
    incident_of(request, incident_id)
    with answering():
        scan_jobs.start_letters(
            stores, incident_id, letters_dir(request, incident_id), body.language, caller.name
        )
    record(stores, caller, "letters", "incident", incident_id, {"language": body.language})
    return {"incident": incident_id, "writing": True}


@router.get("/incidents/{incident_id}/letters/{reference}")
def letter_pdf(
    incident_id: str,
    reference: str,
    request: Request,
    caller: Caller = Depends(guard(Permission.BREACH_READ)),
) -> FileResponse:
    """One letter as mailed (audited)."""
    code = reference.strip().upper()
    if not call_centre.REFERENCE.match(code):
        raise HTTPException(404, f"no letter {reference}")
    path = letters_dir(request, incident_id) / "letters" / f"{code}.pdf"
    if not path.exists():
        raise HTTPException(404, f"no letter {reference} for {incident_id}")
    record(stores_of(request), caller, "read", "letter", f"{incident_id}/{code}")
    return FileResponse(path, media_type="application/pdf", filename=f"{code}.pdf")


@router.get("/incidents/{incident_id}/hhs")
def hhs_report(
    incident_id: str,
    request: Request,
    format: Literal["json", "csv"] = "json",
    caller: Caller = Depends(guard(Permission.BREACH_READ)),
) -> Any:
    """The report to the Secretary of HHS, every field of the OCR portal's form."""
    stores = stores_of(request)
    incident = incident_of(request, incident_id)
    with answering(), stores.engine.connect() as conn:
        fields = report(conn, incident, stores.settings.hospital_config)
    record(stores, caller, "read", "hhs_report", incident_id)
    if format == "csv":
        return PlainTextResponse(as_csv(fields), media_type="text/csv")
    return fields


@router.post("/letters/{reference}/returned")
def letter_returned(
    reference: str, request: Request, caller: Caller = Depends(guard(Permission.BREACH_NOTIFY))
) -> dict[str, str]:
    """A letter came back undelivered: its address no longer counts as usable."""
    with answering():
        call_centre.mark_returned(stores_of(request), reference)
    record(stores_of(request), caller, "returned", "letter", reference)
    return {"reference": reference, "status": "returned"}


@router.post("/letters/{reference}/address")
def letter_address(
    reference: str,
    body: Address,
    request: Request,
    caller: Caller = Depends(guard(Permission.LOOKUP)),
) -> dict[str, str]:
    """The caller's corrected address: the letter is queued to be mailed again."""
    with answering():
        call_centre.correct_address(stores_of(request), reference, body.address)
    record(stores_of(request), caller, "address", "letter", reference)
    return {"reference": reference, "status": "remail"}


@router.post("/lookup")
def lookup(
    body: Lookup, request: Request, caller: Caller = Depends(guard(Permission.LOOKUP))
) -> dict[str, Any]:
    """Is the caller affected? By reference, or by name, date of birth and ZIP."""
    stores = stores_of(request)
    if not LOOKUPS.allow(caller.name):
        raise HTTPException(429, "too many lookups this minute: wait a moment, then try again")
    toll_free = hospital(stores.settings.hospital_config)["contact"]["toll_free"]
    with stores.engine.connect() as conn:
        if body.reference:
            answer = call_centre.by_reference(conn, body.reference, toll_free)
        elif body.name and body.dob and body.zip:
            answer = call_centre.by_person(conn, body.name, body.dob, body.zip, toll_free)
        else:
            raise HTTPException(422, "give the reference code, or the name, date of birth and ZIP")
    record(
        stores,
        caller,
        "lookup",
        "call_centre",
        answer.reference,
        {"by": "reference" if body.reference else "person", "affected": answer.affected},
    )
    return answer.as_json()
