"""Care as FHIR R4 resources: Encounters (with their care team and location),
MedicationRequests and Observations (lab results)."""

from __future__ import annotations

from phiwarden.formats import fhir_codes as fc
from phiwarden.synth.export_io import Row, iso_instant
from phiwarden.synth.fhir_datatypes import (
    JSON,
    coding,
    ref,
)


def encounter(row: Row, team: list[Row]) -> JSON:
    """A visit with class, period, attending and care-team participants, and location."""
    etype = (row.get("type") or "").lower()
    cls_code, cls_display = fc.ENCOUNTER_CLASS.get(etype, ("AMB", "ambulatory"))
    period: JSON = {"start": iso_instant(row["start"])}
    if row.get("end"):
        period["end"] = iso_instant(row["end"])
    res: JSON = {
        "resourceType": "Encounter",
        "id": row["encounter_id"],
        "status": "finished" if row.get("end") else "in-progress",
        "class": coding(fc.V3_ACT_CODE, cls_code, cls_display),
    }
    if etype:
        res["type"] = [{"coding": [coding(fc.ENCOUNTER_TYPE_SYSTEM, etype)], "text": row["type"]}]
    res["subject"] = ref("Patient", row["patient_id"])
    participants: list[JSON] = []
    if row.get("attending_user_id"):
        participants.append(
            {
                "type": [{"coding": [coding(fc.V3_PARTICIPATION, "ATND", "attender")]}],
                "individual": ref("Practitioner", row["attending_user_id"]),
            }
        )
    for member in team:
        concept: JSON = {"coding": [coding(fc.V3_PARTICIPATION, "PART", "Participation")]}
        if member.get("role"):
            concept["coding"].append(coding(fc.CARE_TEAM_ROLE_SYSTEM, member["role"]))
            concept["text"] = member["role"]
        participants.append(
            {
                "id": member["care_team_id"],
                "type": [concept],
                "individual": ref("Practitioner", member["user_id"]),
            }
        )
    if participants:
        res["participant"] = participants
    res["period"] = period
    if row.get("department_id"):
        res["location"] = [{"location": ref("Location", row["department_id"])}]
    if row.get("facility_id"):
        res["serviceProvider"] = ref("Organization", row["facility_id"])
    return res


def medication_request(row: Row) -> JSON:
    """A prescription; a controlled substance carries its DEA schedule as an extension."""
    res: JSON = {"resourceType": "MedicationRequest", "id": row["prescription_id"]}
    if row.get("dea_schedule"):
        sched = row["dea_schedule"]
        res["extension"] = [
            {
                "url": fc.EXT_DEA_SCHEDULE,
                "valueCoding": coding(fc.DEA_SCHEDULE_SYSTEM, sched, f"DEA Schedule {sched}"),
            }
        ]
    res.update(
        {
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": row["drug"]},
            "subject": ref("Patient", row["patient_id"]),
        }
    )
    if row.get("encounter_id"):
        res["encounter"] = ref("Encounter", row["encounter_id"])
    res["authoredOn"] = iso_instant(row["prescribed_at"])
    if row.get("prescriber_user_id"):
        res["requester"] = ref("Practitioner", row["prescriber_user_id"])
    return res


def observation(row: Row, encounter_id: str | None) -> JSON:
    """A lab result; ``ABO/Rh`` is coded fc.LOINC 882-1 so blood-type checks can find it."""
    test = row["test"]
    code: JSON = {"text": test}
    if test.strip().lower() in ("abo/rh", "abo rh", "blood type"):
        code["coding"] = [coding(fc.LOINC, "882-1", "ABO and Rh group [Type] in Blood")]
    res: JSON = {"resourceType": "Observation", "id": row["result_id"]}
    if row.get("order_id"):
        res["basedOn"] = [ref("ServiceRequest", row["order_id"])]
    res.update(
        {
            "status": "final",
            "category": [
                {
                    "coding": [
                        coding(
                            "http://terminology.hl7.org/CodeSystem/observation-category",
                            "laboratory",
                            "Laboratory",
                        )
                    ]
                }
            ],
            "code": code,
            "subject": ref("Patient", row["patient_id"]),
        }
    )
    if encounter_id:
        res["encounter"] = ref("Encounter", encounter_id)
    res["effectiveDateTime"] = iso_instant(row["resulted_at"])
    if row.get("resulted_by_user_id"):
        res["performer"] = [ref("Practitioner", row["resulted_by_user_id"])]
    if row.get("value") is not None:
        res["valueString"] = row["value"]
    return res
