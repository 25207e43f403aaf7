"""For the billing role and the billing system: holds, identity-theft adjustments and
the payer-refund worklist (JSON, or CSV with ``format=csv``), and marking refunds made."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response

from phiwarden.cases import billing
from phiwarden.web.api.deps import MAX_ID, Caller, guard, record, stores_of
from phiwarden.web.roles import Permission

router = APIRouter(prefix="/billing", tags=["billing"])


@router.get("/{what}")
def export(
    what: Literal["holds", "adjustments", "refunds"],
    request: Request,
    active: bool = False,
    format: Literal["json", "csv"] = "json",
    caller: Caller = Depends(guard(Permission.BILLING_READ)),
) -> Any:
    """Holds, adjustments or refunds (``active``: only holds in force, refunds not made)."""
    stores = stores_of(request)
    with stores.engine.connect() as conn:
        found = billing.rows(conn, what, active_only=active)
    record(stores, caller, "export", "billing", what, {"rows": len(found), "format": format})
    if format == "csv":
        return Response(
            billing.to_csv(found, what),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{what}.csv"'},
        )
    return {what: found}


@router.post("/refunds/{refund_id}/refunded")
def refunded(
    refund_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    caller: Caller = Depends(guard(Permission.BILLING_EDIT)),
) -> dict[str, Any]:
    """Mark a payer refund made."""
    stores = stores_of(request)
    try:
        billing.mark_refunded(stores.engine, refund_id, caller.name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    record(stores, caller, "refund", "billing", str(refund_id))
    return {"refund_id": refund_id, "refunded": True}
