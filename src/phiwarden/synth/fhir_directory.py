"""The hospital's directory as FHIR R4 resources: each facility an Organization (type
``prov``) and a Location (``bu``); each department an Organization (``dept``, part of its
facility) and a Location (``wa``), with the same id; each workforce member a Practitioner
and one PractitionerRole (role, department, period, shift hours, manager)."""

from __future__ import annotations

from phiwarden.formats import fhir_codes as fc
from phiwarden.synth.export_io import Row, iso_date
from phiwarden.synth.fhir_datatypes import (
    JSON,
    address,
    coding,
    human_name,
    ref,
)


def organization_facility(row: Row) -> JSON:
    """A facility as a provider Organization."""
    org: JSON = {
        "resourceType": "Organization",
        "id": row["facility_id"],
        "active": True,
        "type": [
            {
                "coding": [
                    coding(
                        "http://terminology.hl7.org/CodeSystem/organization-type",
                        "prov",
                        "Healthcare Provider",
                    )
                ]
            }
        ],
        "name": row["name"],
    }
    addr = address(row)
    if addr:
        org["address"] = [addr]
    return org


def organization_department(row: Row) -> JSON:
    """A department as an Organization of type ``dept`` within its facility."""
    codings = [
        coding(
            "http://terminology.hl7.org/CodeSystem/organization-type", "dept", "Hospital Department"
        )
    ]
    if row.get("kind"):
        codings.append(coding(fc.DEPARTMENT_KIND_SYSTEM, row["kind"]))
    org: JSON = {
        "resourceType": "Organization",
        "id": row["department_id"],
        "active": True,
        "type": [{"coding": codings}],
        "name": row["name"],
    }
    if row.get("facility_id"):
        org["partOf"] = ref("Organization", row["facility_id"])
    return org


def location_facility(row: Row) -> JSON:
    """A facility as a building Location managed by its Organization."""
    loc: JSON = {
        "resourceType": "Location",
        "id": row["facility_id"],
        "status": "active",
        "name": row["name"],
        "mode": "instance",
        "physicalType": {
            "coding": [
                coding(
                    "http://terminology.hl7.org/CodeSystem/location-physical-type", "bu", "Building"
                )
            ]
        },
        "managingOrganization": ref("Organization", row["facility_id"]),
    }
    addr = address(row)
    if addr:
        loc["address"] = addr
    return loc


def location_department(row: Row) -> JSON:
    """A department as a ward Location inside its facility's Location."""
    loc: JSON = {
        "resourceType": "Location",
        "id": row["department_id"],
        "status": "active",
        "name": row["name"],
        "mode": "instance",
        "physicalType": {
            "coding": [
                coding("http://terminology.hl7.org/CodeSystem/location-physical-type", "wa", "Ward")
            ]
        },
        "managingOrganization": ref("Organization", row["department_id"]),
    }
    if row.get("facility_id"):
        loc["partOf"] = ref("Location", row["facility_id"])
    return loc


def practitioner(row: Row) -> JSON:
    """A workforce member as a Practitioner; inactive once a termination date is set."""
    res: JSON = {
        "resourceType": "Practitioner",
        "id": row["user_id"],
        "identifier": [
            {"system": fc.USER_SYSTEM, "value": row["user_id"]},
            {"system": fc.LOGIN_SYSTEM, "value": row["login"]},
        ],
        "active": row.get("termination_date") is None,
        "name": [human_name(row["last_name"], row.get("first_name"), use="official")],
    }
    if row.get("phone"):
        res["telecom"] = [{"system": "phone", "value": row["phone"], "use": "home"}]
    addr = address(row, use="home")
    if addr:
        res["address"] = [addr]
    return res


def practitioner_role(row: Row) -> JSON:
    """The workforce member's job: role code, department, employment period, shift hours."""
    res: JSON = {
        "resourceType": "PractitionerRole",
        "id": row["user_id"],
        "active": row.get("termination_date") is None,
        "practitioner": ref("Practitioner", row["user_id"]),
        "code": [{"coding": [coding(fc.ROLE_SYSTEM, row["role"])], "text": row["role"]}],
    }
    period: JSON = {}
    if row.get("hire_date"):
        period["start"] = iso_date(row["hire_date"])
    if row.get("termination_date"):
        period["end"] = iso_date(row["termination_date"])
    if period:
        res["period"] = period
    if row.get("department_id"):
        res["organization"] = ref("Organization", row["department_id"])
        res["location"] = [ref("Location", row["department_id"])]
    start, end = row.get("shift_start_hour"), row.get("shift_end_hour")
    if start is not None and end is not None:
        res["availableTime"] = [
            {
                "daysOfWeek": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "availableStartTime": f"{int(start) % 24:02d}:00:00",
                "availableEndTime": f"{int(end) % 24:02d}:00:00",
            }
        ]
    if row.get("manager_id"):
        res["extension"] = [
            {"url": fc.EXT_MANAGER, "valueReference": ref("Practitioner", row["manager_id"])}
        ]
    return res
