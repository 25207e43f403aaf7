"""A breach incident: when it was discovered and when it occurred, its type and the location
of the information in the HHS portal's categories, whether a business associate was
involved, a description, the safeguards in place before and the actions taken. It is a
case on the case engine (procedure ``breach_incident``), so it has a state, history, tasks,
documents, an assignee and the audit trail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from phiwarden.breach.categories import LOCATIONS, TYPES, check
from phiwarden.cases.casefile import get_case, list_cases
from phiwarden.cases.engine import open_case
from phiwarden.store.setup import Stores

PROCEDURE = "breach_incident"


@dataclass(frozen=True)
class Incident:
    """What the privacy officer records when an incident is opened."""

    title: str
    discovered: date
    type: str
    location: str
    occurred_from: date | None = None
    occurred_to: date | None = None
    business_associate: bool = False
    description: str = ""
    safeguards: str = ""
    actions: str = ""

    def checked(self, today: date) -> Incident:
        """The incident if it is consistent, else a ValueError saying what to fix."""
        if not self.title.strip():
            raise ValueError("give the incident a title")
        check("type", TYPES, self.type)
        check("location", LOCATIONS, self.location)
        if self.discovered > today:
            raise ValueError(f"the discovery date {self.discovered} is in the future")
        if self.occurred_from and self.occurred_to and self.occurred_from > self.occurred_to:
            raise ValueError("the incident cannot end before it began: check --occurred-from/-to")
        if self.occurred_from and self.occurred_from > self.discovered:
            raise ValueError("the incident cannot begin after it was discovered")
        return self


def open_incident(
    stores: Stores, incident: Incident, *, actor: str, now: datetime | None = None
) -> str:
    """Record a new incident as a case; its number (``BR-2026-00001``)."""
    at = now or datetime.now()
    incident.checked(at.date())
    details = {
        k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(incident).items()
    }
    details["type_label"] = TYPES[incident.type]
    details["location_label"] = LOCATIONS[incident.location]
    return open_case(
        stores, PROCEDURE, actor=actor, title=incident.title.strip(), details=details, now=now
    )


def incident_json(case: dict[str, Any]) -> dict[str, Any]:
    """An incident as the CLI and the API show it."""
    d = case["details"]
    return {
        "incident": case["case_id"],
        "title": case["title"],
        "status": case["state"],
        "discovered": d["discovered"],
        "occurred_from": d.get("occurred_from"),
        "occurred_to": d.get("occurred_to"),
        "type": d["type"],
        "type_label": d["type_label"],
        "location": d["location"],
        "location_label": d["location_label"],
        "business_associate": d.get("business_associate", False),
        "description": d.get("description", ""),
        "safeguards": d.get("safeguards", ""),
        "actions": d.get("actions", ""),
        "assignee": case.get("assignee"),
    }


def get_incident(conn: Connection, incident_id: str) -> dict[str, Any] | None:
    """One incident with its case (history, tasks, documents), or None."""
    case = get_case(conn, incident_id)
    if case is None or case["case_type"] != PROCEDURE:
        return None
    return {**incident_json(case), "case": case}


def list_incidents(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The incidents, soonest due first."""
    rows, _total = list_cases(conn, case_type=PROCEDURE, limit=limit)
    return [get_incident(conn, r["case_id"]) or {} for r in rows]
