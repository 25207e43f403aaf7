"""Orders as FHIR R4 ServiceRequest resources (lab and imaging).

Each order is a ServiceRequest with the standard category (SNOMED CT 108252007 Laboratory
procedure, 363679005 Imaging), the hospital's order code and description, the patient,
the encounter, the ordering practitioner as ``requester``, the performing department as
``performer`` and ``authoredOn``; a lab result points at its order through ``basedOn``.
"""

from __future__ import annotations

from typing import Any

from phiwarden.formats import fhir_codes as fc
from phiwarden.synth.export_io import Row, iso_instant

JSON = dict[str, Any]
SNOMED = "http://snomed.info/sct"
#: order kind -> its ServiceRequest category (SNOMED CT)
CATEGORIES: dict[str, tuple[str, str]] = {
    "lab": ("108252007", "Laboratory procedure"),
    "radiology": ("363679005", "Imaging"),
}


def service_request(row: Row) -> JSON:
    """One order as a completed ServiceRequest."""
    res: JSON = {
        "resourceType": "ServiceRequest",
        "id": row["order_id"],
        "status": "completed",
        "intent": "order",
    }
    category = CATEGORIES.get(row["kind"])
    if category is not None:
        res["category"] = [
            {"coding": [{"system": SNOMED, "code": category[0], "display": category[1]}]}
        ]
    code: JSON = {}
    if row.get("code"):
        code["coding"] = [{"system": fc.ORDER_CODE_SYSTEM, "code": row["code"]}]
    if row.get("description"):
        code["text"] = row["description"]
    if code:
        res["code"] = code
    res["subject"] = {"reference": f"Patient/{row['patient_id']}"}
    if row.get("encounter_id"):
        res["encounter"] = {"reference": f"Encounter/{row['encounter_id']}"}
    res["authoredOn"] = iso_instant(row["ordered_at"])
    if row.get("ordered_by_user_id"):
        res["requester"] = {"reference": f"Practitioner/{row['ordered_by_user_id']}"}
    if row.get("performing_department_id"):
        res["performer"] = [{"reference": f"Organization/{row['performing_department_id']}"}]
    return res
