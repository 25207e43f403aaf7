"""Scheduled visits as FHIR R4 Appointment resources.

An appointment is an Appointment with its status, ``start``, ``created`` (when it was
booked) and participants: the patient, the providing practitioner and the department's
Location. R4 has no element for who booked it, so the booking user is not exported;
``monitor/mined.py`` learns from the log whether a role books at its facility instead.
"""

from __future__ import annotations

from typing import Any

from phiwarden.synth.export_io import Row, iso_instant

JSON = dict[str, Any]
#: canonical status -> Appointment.status
STATUS = {
    "completed": "fulfilled",
    "scheduled": "booked",
    "cancelled": "cancelled",
    "no_show": "noshow",
}


def appointment(row: Row) -> JSON:
    """One scheduled visit."""
    participants: list[JSON] = [
        {"actor": {"reference": f"Patient/{row['patient_id']}"}, "status": "accepted"}
    ]
    if row.get("provider_user_id"):
        participants.append(
            {
                "actor": {"reference": f"Practitioner/{row['provider_user_id']}"},
                "status": "accepted",
            }
        )
    if row.get("department_id"):
        participants.append(
            {"actor": {"reference": f"Location/{row['department_id']}"}, "status": "accepted"}
        )
    res: JSON = {
        "resourceType": "Appointment",
        "id": row["appointment_id"],
        "status": STATUS.get(row.get("status") or "", "booked"),
        "start": iso_instant(row["start"]),
        "participant": participants,
    }
    if row.get("scheduled_at"):
        res["created"] = iso_instant(row["scheduled_at"])
    return res
