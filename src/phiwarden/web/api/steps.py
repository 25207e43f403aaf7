"""One change to a case through the API, as every route makes it: an investigator may
change only the investigations assigned to them; the engine's refusals become HTTP answers;
the change is audited; the answer is the case's state and revision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import select

from phiwarden.store.case_tables import case_files
from phiwarden.web.api.cases import answering
from phiwarden.web.api.deps import Caller, record, stores_of

#: the case type whose investigators work only what is assigned to them
INVESTIGATION = "investigation"


def check_assigned(request: Request, case_id: str, caller: Caller) -> None:
    """An investigator may change only the investigations assigned to them."""
    if caller.role != "investigator":
        return
    with stores_of(request).engine.connect() as conn:
        row = conn.execute(
            select(case_files.c.case_type, case_files.c.assignee).where(
                case_files.c.case_id == case_id
            )
        ).first()
    if row is not None and row.case_type == INVESTIGATION and row.assignee != caller.name:
        raise HTTPException(
            403, f"investigation {case_id} is assigned to {row.assignee or 'nobody'}, not you"
        )


def done(
    request: Request, caller: Caller, case_id: str, what: str, run: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Make one change (``run``) and audit it as ``what``; the case's state and revision."""
    stores = stores_of(request)
    check_assigned(request, case_id, caller)
    with answering():
        after = run()
    record(stores, caller, what, "case", case_id, {"state": after["state"]})
    return {"case_id": case_id, "state": after["state"], "revision": after["revision"]}
