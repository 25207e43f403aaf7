"""The report to the Secretary of HHS (45 CFR 164.408), field for field as the OCR breach
portal's form asks, built from the incident, its decision, its scope and the hospital's
own details (``notice.toml``, overridden by ``CONFIG/breach.toml``)."""

from __future__ import annotations

import csv
import io
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from phiwarden.breach.obligations import compute, residence_summary

#: the portal's kinds of PHI, and the scan's elements in each
PHI_TYPES: dict[str, tuple[str, ...]] = {
    "Demographic": ("name", "dob", "ssn", "drivers_license", "address", "phone", "email", "mrn"),
    "Financial": ("financial_account",),
    "Clinical": ("clinical",),
    "Other": ("insurance",),
}
#: the portal's own wording for the demographic items
ITEMS = {
    "name": "Name",
    "dob": "Date of Birth",
    "ssn": "SSN",
    "drivers_license": "Driver's License",
    "address": "Address/ZIP",
    "phone": "Other Identifier",
    "email": "Other Identifier",
    "mrn": "Other Identifier",
    "financial_account": "Credit Card/Bank Acct #",
    "clinical": "Diagnosis/Conditions",
    "insurance": "Health plan member or policy number",
}


def hospital(config: Path | None = None) -> dict[str, Any]:
    """The hospital's details for notices: CONFIG/breach.toml over the shipped defaults."""
    data = tomllib.loads(resources.files("phiwarden.breach").joinpath("notice.toml").read_text())
    own = config / "breach.toml" if config else None
    if own is not None and own.exists():
        for section, values in tomllib.loads(own.read_text()).items():
            data.setdefault(section, {}).update(values)
    return data


def report(
    conn: Connection, incident: dict[str, Any], config: Path | None = None
) -> dict[str, Any]:
    """Every field of the HHS breach report for one decided incident."""
    items, people = compute(conn, incident, config=config)
    details = incident["case"]["details"]
    decision = details["decision"]
    entity = hospital(config)
    kinds = {o.kind for o in items}
    counted = Counter(
        e for rows in people.by_state.values() for r in rows for e in r["elements"]
    ) + Counter(e for r in people.unknown for e in r["elements"])
    phi = {
        kind: sorted({ITEMS[e] for e in elements if counted.get(e)})
        for kind, elements in PHI_TYPES.items()
        if any(counted.get(e) for e in elements)
    }
    individuals = next(
        (o for o in items if o.kind == "individuals" and o.jurisdiction == "US"), None
    )
    return {
        "report_type": "Initial Breach Report",
        "covered_entity": {
            "name": entity["covered_entity"]["name"],
            "type": entity["covered_entity"]["type"],
            "street": entity["covered_entity"]["address"],
            "city": entity["covered_entity"]["city"],
            "state": entity["covered_entity"]["state"],
            "zip": entity["covered_entity"]["zip"],
            "contact_name": entity["contact"]["name"],
            "contact_phone": entity["contact"]["phone"],
            "contact_email": entity["contact"]["email"],
        },
        "business_associate_present": bool(incident.get("business_associate")),
        "breach_start_date": incident.get("occurred_from"),
        "breach_end_date": incident.get("occurred_to"),
        "discovery_date": incident["discovered"],
        "individuals_affected": people.total,
        "type_of_breach": incident["type_label"],
        "location_of_breached_information": incident["location_label"],
        "type_of_phi": phi,
        "brief_description": incident.get("description") or incident["title"],
        "safeguards_in_place_prior": incident.get("safeguards", ""),
        "individual_notice_due": individuals.due.isoformat() if individuals else None,
        "substitute_notice_required": "substitute_notice" in kinds,
        "media_notice_required": "media" in kinds,
        "media_states": sorted(o.jurisdiction for o in items if o.kind == "media"),
        "actions_taken": incident.get("actions", ""),
        "decision": {
            "outcome": decision["outcome"],
            "reason": decision["reason"],
            "decided_by": decision["decided_by"],
            "decided_at": decision["decided_at"],
        },
        "filing": "at once (500 or more)" if "hhs" in kinds else "annual log (fewer than 500)",
        "residence": residence_summary(people),
        "cite": "45 CFR 164.408",
    }


def as_csv(fields: dict[str, Any]) -> str:
    """The report as two-column CSV (field, value), nested fields flattened."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["field", "value"])

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list):
            writer.writerow([prefix, "; ".join(str(v) for v in value)])
        else:
            writer.writerow([prefix, "" if value is None else value])

    walk("", fields)
    return out.getvalue()


def annual_log(conn: Connection, year: int, config: Path | None = None) -> list[dict[str, Any]]:
    """The breaches of fewer than 500 people discovered in ``year``: what is reported to
    HHS within 60 days after the year ends (164.408(c)), each with its report's fields."""
    from phiwarden.breach.incident import get_incident, list_incidents

    rows = []
    for listed in list_incidents(conn, limit=100_000):
        incident = get_incident(conn, listed["incident"])
        if incident is None or not str(incident["discovered"]).startswith(f"{year}-"):
            continue
        decision = incident["case"]["details"].get("decision")
        if not decision or decision["outcome"] != "breach":
            continue
        fields = report(conn, incident, config)
        if fields["individuals_affected"] < 500:
            rows.append({"incident": incident["incident"], **fields})
    return rows
