"""The program's administration through the API: caller verification for refills, the
dashboard, the training roster and service providers (read, and CSV uploads), the review
log and approvals, and the board report."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from phiwarden.program import providers, reviews, training
from phiwarden.program.dashboard import dashboard
from phiwarden.program.settings import load_program
from phiwarden.redflags.caller import Caller as CallerDetails
from phiwarden.redflags.caller import Outcome, verify
from phiwarden.store.setup import Stores
from phiwarden.web.api.deps import Caller, guard, record, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(tags=["program"])
#: the largest CSV the uploads accept
MAX_CSV = 20 * 1024 * 1024


class Approval(BaseModel):
    """A program document approved."""

    subject: str = Field(min_length=1, max_length=96)
    approved_by: str = Field(min_length=1, max_length=128)
    approved_on: date
    note: str = Field("", max_length=4000)


def checked_caller(stores: Stores, caller: Caller, details: CallerDetails) -> Outcome:
    """Verify a refill caller and write the attempt to the audit trail (API and page)."""
    outcome = verify(stores, details, agent=caller.name)
    record(
        stores,
        caller,
        "verify_caller",
        "patient",
        outcome.patient_id or f"mrn:{details.mrn}",
        {"verified": outcome.verified, "locked": outcome.locked},
    )
    return outcome


@router.post("/callers/verify")
def verify_caller(
    body: CallerDetails, request: Request, caller: Caller = Depends(guard(Permission.CALLER_VERIFY))
) -> dict[str, Any]:
    """Check a caller asking for a prescription refill against the patient on file. The
    answer never says which identifier failed, or whether the MRN exists."""
    outcome = checked_caller(stores_of(request), caller, body)
    return outcome.as_json()


@router.get("/program/dashboard")
def program_dashboard(
    request: Request, caller: Caller = Depends(guard(Permission.PROGRAM_READ))
) -> dict[str, Any]:
    """Open cases by age and type, overdue tasks, the median time to close, incident
    deadlines and open corrective actions."""
    return dashboard(stores_of(request))


@router.get("/program/training")
def training_roster(
    request: Request, caller: Caller = Depends(guard(Permission.PROGRAM_READ))
) -> dict[str, Any]:
    """Who is current and who is overdue, by department."""
    stores = stores_of(request)
    return training.roster(stores, load_program(stores.settings.hospital_config), date.today())


async def _saved(upload: UploadFile) -> Path:
    content = await upload.read(MAX_CSV + 1)
    if len(content) > MAX_CSV:
        raise HTTPException(413, "the file is larger than 20 MB: split it")
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
        handle.write(content)
    return Path(handle.name)


@router.post("/program/training")
async def training_upload(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV: user_id, course, completed_on")],
    caller: Caller = Depends(guard(Permission.PROGRAM_EDIT)),
) -> dict[str, Any]:
    """Load completions from the learning system's CSV; bad rows go to quarantine."""
    stores = stores_of(request)
    path = await _saved(file)
    try:
        done = training.import_csv(stores, path, load_program(stores.settings.hospital_config))
    except ValueError as exc:
        raise HTTPException(422, str(exc).replace(str(path), file.filename or "the file")) from exc
    finally:
        path.unlink(missing_ok=True)
    record(stores, caller, "import", "training", None, {"loaded": done.loaded})
    return {"loaded": done.loaded, "already": done.already, "quarantined": done.quarantined}


@router.get("/program/providers")
def provider_list(
    request: Request, caller: Caller = Depends(guard(Permission.PROGRAM_READ))
) -> dict[str, Any]:
    """Service providers with their BAA, reviews and what needs attention."""
    return {"providers": providers.list_providers(stores_of(request), date.today())}


@router.post("/program/providers")
async def provider_upload(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV of providers")],
    caller: Caller = Depends(guard(Permission.PROGRAM_EDIT)),
) -> dict[str, Any]:
    """Add or update providers from a CSV; bad rows go to quarantine."""
    stores = stores_of(request)
    path = await _saved(file)
    try:
        done = providers.import_csv(stores, path)
    except ValueError as exc:
        raise HTTPException(422, str(exc).replace(str(path), file.filename or "the file")) from exc
    finally:
        path.unlink(missing_ok=True)
    record(stores, caller, "import", "providers", None, {"saved": done.saved})
    return {"saved": done.saved, "quarantined": done.quarantined}


@router.get("/program/log")
def review_log(
    request: Request, caller: Caller = Depends(guard(Permission.PROGRAM_READ))
) -> dict[str, Any]:
    """Approved versions with their diffs, and what is in force but not approved."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        entries = reviews.log(conn)
    return {"approved": entries, "pending": reviews.pending(stores)}


@router.post("/program/approvals", status_code=201)
def approve(
    body: Approval, request: Request, caller: Caller = Depends(guard(Permission.PROGRAM_EDIT))
) -> dict[str, Any]:
    """Record the version in force of the catalogue, the sanction policy or a procedure as
    approved (404 for an unknown subject, 409 when that version is already approved)."""
    stores = stores_of(request)
    if body.subject not in reviews.subjects(stores.settings.hospital_config):
        raise HTTPException(404, f"no program document {body.subject!r}")
    try:
        done = reviews.approve(
            stores,
            body.subject,
            body.approved_by,
            body.approved_on,
            actor=caller.name,
            note=body.note,
        )
    except reviews.ReviewError as exc:
        raise HTTPException(409 if "already approved" in str(exc) else 422, str(exc)) from exc
    record(stores, caller, "approve", "program", body.subject, {"version": done["version"]})
    return done


@router.get("/program/report", response_model=None)
def board_report(
    request: Request,
    year: int = Query(default_factory=lambda: datetime.now().year, ge=2000, le=2100),
    format: Literal["pdf", "html"] = "pdf",
    caller: Caller = Depends(guard(Permission.PROGRAM_READ)),
) -> Response:
    """The year's board report, generated now from the records."""
    from phiwarden.program import board_pdf
    from phiwarden.program.board import report
    from phiwarden.program.board_output import html

    stores = stores_of(request)
    figures = report(stores, year)
    record(stores, caller, "read", "board_report", str(year), {"format": format})
    if format == "html":
        return HTMLResponse(html(figures))
    return Response(
        board_pdf.render(figures),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="board-report-{year}.pdf"'},
    )
