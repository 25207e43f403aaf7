"""Call-centre calls as FHIR R4 Communication resources (one per call).

A call about a patient is a Communication whose ``medium`` is the telephone (v3
ParticipationMode ``PHONE``), ``subject`` the patient, ``recipient`` the agent who took
it, ``sent`` its start, ``received`` its end and ``reasonCode`` its reason: only standard
elements, so any hospital's export of its call log reads the same way.
"""

from __future__ import annotations

from typing import Any

from phiwarden.formats import fhir_codes as fc
from phiwarden.synth.export_io import Row, iso_instant

JSON = dict[str, Any]


def communication(row: Row) -> JSON:
    """One call as a completed telephone Communication."""
    res: JSON = {
        "resourceType": "Communication",
        "id": row["call_id"],
        "status": "completed",
        "medium": [
            {
                "coding": [
                    {"system": fc.V3_PARTICIPATION_MODE, "code": "PHONE", "display": "telephone"}
                ]
            }
        ],
        "recipient": [{"reference": f"Practitioner/{row['user_id']}"}],
        "sent": iso_instant(row["start"]),
    }
    if row.get("patient_id"):
        res["subject"] = {"reference": f"Patient/{row['patient_id']}"}
    if row.get("end"):
        res["received"] = iso_instant(row["end"])
    if row.get("reason"):
        res["reasonCode"] = [{"text": row["reason"]}]
    return res
