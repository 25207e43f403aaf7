"""Build FHIR R4 resources (as JSON dicts) from canonical rows.

Resource ids are the canonical ids, so references resolve across the NDJSON files.
Choices a reader of the export needs to know:

- A facility is an Organization (type ``prov``) and a Location (``bu`` building). A
  department is both an Organization (type ``dept``, ``partOf`` its facility; the
  PractitionerRole's organization) and a Location (``wa``, ``partOf`` the facility's
  Location; the Encounter's location), with the same id in each.
- A workforce member is a Practitioner (identifiers user id and login) and one
  PractitionerRole with the same id (role code, department, hire-termination period,
  shift hours as ``availableTime``, manager as an extension).
- Contact kinds are coded as v2-0131 ``N`` next of kin and ``C`` emergency contact, and
  v3-RoleClass ``GUAR`` guarantor and ``POLHOLD`` policy holder for the subscriber, each
  with a ``urn:phiwarden:contact-kind`` coding holding the canonical kind.
- A VIP patient carries security label v3-Confidentiality ``R`` and tag ``vip``; the
  watch list is tag ``watch-list``; the employee link and chart blood type are extensions.
- Times are the canonical wall clock written with ``Z`` (see ``export_io.iso_instant``).
"""

from __future__ import annotations

from typing import Any

from phiwarden.formats import fhir_codes as fc
from phiwarden.synth.export_io import Row, iso_date, iso_instant

JSON = dict[str, Any]


def _ref(kind: str, ident: str) -> JSON:
    return {"reference": f"{kind}/{ident}"}


def _coding(system: str, code: str, display: str | None = None) -> JSON:
    out: JSON = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def gender(sex: str | None) -> str:
    """Map a canonical sex value to FHIR administrative gender."""
    value = (sex or "").strip().lower()
    if value in ("m", "male"):
        return "male"
    if value in ("f", "female"):
        return "female"
    if value in ("o", "other", "x"):
        return "other"
    return "unknown"


def human_name(
    last: str | None, first: str | None, middle: str | None = None, use: str | None = None
) -> JSON:
    """A HumanName with family and given names (empty parts left out)."""
    name: JSON = {}
    if use:
        name["use"] = use
    if last:
        name["family"] = last
    given = [g for g in (first, middle) if g]
    if given:
        name["given"] = given
    return name


def previous_names(value: str | None) -> list[JSON]:
    """Parse ``'Last, First;Last2, First2'`` into HumanNames with use ``old``."""
    names: list[JSON] = []
    for item in (value or "").split(";"):
        item = item.strip()
        if not item:
            continue
        last, _, first = item.partition(",")
        names.append(human_name(last.strip(), first.strip() or None, use="old"))
    return names


def address(row: Row, prefix: str = "", use: str | None = None) -> JSON | None:
    """An Address from ``address_line/city/state/zip`` columns, or None if all empty."""
    line, city = row.get(prefix + "address_line"), row.get(prefix + "city")
    state, zip_ = row.get(prefix + "state"), row.get(prefix + "zip")
    if not any((line, city, state, zip_)):
        return None
    out: JSON = {}
    if use:
        out["use"] = use
    if line:
        out["line"] = [line]
    if city:
        out["city"] = city
    if state:
        out["state"] = state
    if zip_:
        out["postalCode"] = zip_
    out["country"] = "US"
    return out


def organization_facility(row: Row) -> JSON:
    """A facility as a provider Organization."""
    org: JSON = {
        "resourceType": "Organization",
        "id": row["facility_id"],
        "active": True,
        "type": [
            {
                "coding": [
                    _coding(
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
        _coding(
            "http://terminology.hl7.org/CodeSystem/organization-type", "dept", "Hospital Department"
        )
    ]
    if row.get("kind"):
        codings.append(_coding(fc.DEPARTMENT_KIND_SYSTEM, row["kind"]))
    org: JSON = {
        "resourceType": "Organization",
        "id": row["department_id"],
        "active": True,
        "type": [{"coding": codings}],
        "name": row["name"],
    }
    if row.get("facility_id"):
        org["partOf"] = _ref("Organization", row["facility_id"])
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
                _coding(
                    "http://terminology.hl7.org/CodeSystem/location-physical-type", "bu", "Building"
                )
            ]
        },
        "managingOrganization": _ref("Organization", row["facility_id"]),
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
                _coding(
                    "http://terminology.hl7.org/CodeSystem/location-physical-type", "wa", "Ward"
                )
            ]
        },
        "managingOrganization": _ref("Organization", row["department_id"]),
    }
    if row.get("facility_id"):
        loc["partOf"] = _ref("Location", row["facility_id"])
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
        "practitioner": _ref("Practitioner", row["user_id"]),
        "code": [{"coding": [_coding(fc.ROLE_SYSTEM, row["role"])], "text": row["role"]}],
    }
    period: JSON = {}
    if row.get("hire_date"):
        period["start"] = iso_date(row["hire_date"])
    if row.get("termination_date"):
        period["end"] = iso_date(row["termination_date"])
    if period:
        res["period"] = period
    if row.get("department_id"):
        res["organization"] = _ref("Organization", row["department_id"])
        res["location"] = [_ref("Location", row["department_id"])]
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
            {"url": fc.EXT_MANAGER, "valueReference": _ref("Practitioner", row["manager_id"])}
        ]
    return res


def contact_relationship(row: Row) -> list[JSON]:
    """Relationship CodeableConcepts for a contact: its kind, then the personal relation."""
    kind = row["kind"]
    codings = [_coding(fc.CONTACT_KIND_SYSTEM, kind)]
    if kind in fc.CONTACT_KIND_CODES:
        codings.insert(0, _coding(*fc.CONTACT_KIND_CODES[kind]))
    out: list[JSON] = [{"coding": codings}]
    rel = row.get("relationship")
    if rel:
        concept: JSON = {"text": rel}
        code = fc.PERSONAL_RELATIONSHIP.get(rel.strip().lower())
        if code:
            concept["coding"] = [_coding(fc.V3_ROLE_CODE, code)]
        out.append(concept)
    return out


def related_person(row: Row, birth_date: str | None = None) -> JSON:
    """A patient contact as a RelatedPerson of the patient."""
    res: JSON = {
        "resourceType": "RelatedPerson",
        "id": row["contact_id"],
        "active": True,
        "patient": _ref("Patient", row["patient_id"]),
        "relationship": contact_relationship(row),
        "name": [human_name(row["last_name"], row.get("first_name"))],
    }
    if row.get("phone"):
        res["telecom"] = [{"system": "phone", "value": row["phone"]}]
    addr = address(row)
    if addr:
        res["address"] = [addr]
    if birth_date:
        res["birthDate"] = birth_date
    return res


def _telecom(row: Row, phones: list[Row]) -> list[JSON]:
    telecom: list[JSON] = []
    seen: set[str] = set()
    if row.get("phone"):
        telecom.append({"system": "phone", "value": row["phone"], "rank": 1})
        seen.add(row["phone"])
    for ph in phones:
        if ph["phone"] in seen:
            continue
        seen.add(ph["phone"])
        entry: JSON = {"system": "phone", "value": ph["phone"]}
        use = fc.PHONE_USE.get((ph.get("kind") or "").lower())
        if use:
            entry["use"] = use
        telecom.append(entry)
    if row.get("email"):
        telecom.append({"system": "email", "value": row["email"]})
    return telecom


def _patient_addresses(row: Row, history: list[Row]) -> list[JSON]:
    out: list[JSON] = []
    current = address(row, use="home")
    if current:
        out.append(current)
    for past in history:
        if past.get("valid_to") is None:
            continue
        addr = address(past, use="old")
        if addr is None:
            continue
        addr["id"] = past["address_id"]
        period: JSON = {"end": iso_date(past["valid_to"])}
        if past.get("valid_from"):
            period["start"] = iso_date(past["valid_from"])
        addr["period"] = period
        out.append(addr)
    return out


def patient(row: Row, phones: list[Row], history: list[Row], contacts: list[Row]) -> JSON:
    """A patient (MPI entry) with MRN and SSN identifiers, names, contacts and flags."""
    ident: list[JSON] = [
        {
            "use": "usual",
            "type": {"coding": [_coding(fc.V2_0203, "MR", "Medical record number")]},
            "system": fc.MRN_SYSTEM,
            "value": row["mrn"],
        }
    ]
    if row.get("ssn"):
        ident.append(
            {
                "type": {"coding": [_coding(fc.V2_0203, "SS", "Social Security number")]},
                "system": fc.SSN_SYSTEM,
                "value": row["ssn"],
            }
        )
    res: JSON = {"resourceType": "Patient", "id": row["patient_id"]}
    tags = [
        _coding(fc.PATIENT_FLAG_SYSTEM, flag)
        for flag, on in (("vip", row.get("vip")), ("watch-list", row.get("watch_list")))
        if on
    ]
    if tags:
        meta: JSON = {"tag": tags}
        if row.get("vip"):
            meta["security"] = [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", "restricted"
                )
            ]
        res["meta"] = meta
    ext: list[JSON] = []
    if row.get("employee_user_id"):
        ext.append(
            {
                "url": fc.EXT_EMPLOYEE,
                "valueReference": _ref("Practitioner", row["employee_user_id"]),
            }
        )
    if row.get("blood_type"):
        ext.append({"url": fc.EXT_BLOOD_TYPE, "valueString": row["blood_type"]})
    if ext:
        res["extension"] = ext
    res["identifier"] = ident
    res["active"] = True
    res["name"] = [
        human_name(row["last_name"], row.get("first_name"), row.get("middle_name"), use="official"),
        *previous_names(row.get("previous_names")),
    ]
    telecom = _telecom(row, phones)
    if telecom:
        res["telecom"] = telecom
    res["gender"] = gender(row.get("sex"))
    if row.get("dob"):
        res["birthDate"] = iso_date(row["dob"])
    if row.get("deceased_date"):
        res["deceasedDateTime"] = iso_date(row["deceased_date"])
    addrs = _patient_addresses(row, history)
    if addrs:
        res["address"] = addrs
    if contacts:
        res["contact"] = [_patient_contact(c) for c in contacts]
    return res


def _patient_contact(row: Row) -> JSON:
    contact: JSON = {
        "id": row["contact_id"],
        "relationship": contact_relationship(row),
        "name": human_name(row["last_name"], row.get("first_name")),
    }
    if row.get("phone"):
        contact["telecom"] = [{"system": "phone", "value": row["phone"]}]
    addr = address(row)
    if addr:
        contact["address"] = addr
    return contact


def coverage(row: Row, subscriber: JSON) -> JSON:
    """An insurance coverage; ``subscriber`` is a reference to the Patient or RelatedPerson."""
    rel = (row.get("subscriber_relationship") or "").strip().lower()
    code = rel if rel in fc.SUBSCRIBER_RELATIONSHIP else ("common" if rel == "partner" else "other")
    res: JSON = {
        "resourceType": "Coverage",
        "id": row["coverage_id"],
        "status": "active",
        "subscriber": subscriber,
        "subscriberId": row["member_id"],
        "beneficiary": _ref("Patient", row["patient_id"]),
    }
    if rel:
        res["relationship"] = {
            "coding": [
                _coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", code)
            ],
            "text": row["subscriber_relationship"],
        }
    res["payor"] = [{"display": row["payer"]}]
    return res


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
        "class": _coding(fc.V3_ACT_CODE, cls_code, cls_display),
    }
    if etype:
        res["type"] = [{"coding": [_coding(fc.ENCOUNTER_TYPE_SYSTEM, etype)], "text": row["type"]}]
    res["subject"] = _ref("Patient", row["patient_id"])
    participants: list[JSON] = []
    if row.get("attending_user_id"):
        participants.append(
            {
                "type": [{"coding": [_coding(fc.V3_PARTICIPATION, "ATND", "attender")]}],
                "individual": _ref("Practitioner", row["attending_user_id"]),
            }
        )
    for member in team:
        concept: JSON = {"coding": [_coding(fc.V3_PARTICIPATION, "PART", "Participation")]}
        if member.get("role"):
            concept["coding"].append(_coding(fc.CARE_TEAM_ROLE_SYSTEM, member["role"]))
            concept["text"] = member["role"]
        participants.append(
            {
                "id": member["care_team_id"],
                "type": [concept],
                "individual": _ref("Practitioner", member["user_id"]),
            }
        )
    if participants:
        res["participant"] = participants
    res["period"] = period
    if row.get("department_id"):
        res["location"] = [{"location": _ref("Location", row["department_id"])}]
    if row.get("facility_id"):
        res["serviceProvider"] = _ref("Organization", row["facility_id"])
    return res


def medication_request(row: Row) -> JSON:
    """A prescription; a controlled substance carries its DEA schedule as an extension."""
    res: JSON = {"resourceType": "MedicationRequest", "id": row["prescription_id"]}
    if row.get("dea_schedule"):
        sched = row["dea_schedule"]
        res["extension"] = [
            {
                "url": fc.EXT_DEA_SCHEDULE,
                "valueCoding": _coding(fc.DEA_SCHEDULE_SYSTEM, sched, f"DEA Schedule {sched}"),
            }
        ]
    res.update(
        {
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": row["drug"]},
            "subject": _ref("Patient", row["patient_id"]),
        }
    )
    if row.get("encounter_id"):
        res["encounter"] = _ref("Encounter", row["encounter_id"])
    res["authoredOn"] = iso_instant(row["prescribed_at"])
    if row.get("prescriber_user_id"):
        res["requester"] = _ref("Practitioner", row["prescriber_user_id"])
    return res


def observation(row: Row, encounter_id: str | None) -> JSON:
    """A lab result; ``ABO/Rh`` is coded fc.LOINC 882-1 so blood-type checks can find it."""
    test = row["test"]
    code: JSON = {"text": test}
    if test.strip().lower() in ("abo/rh", "abo rh", "blood type"):
        code["coding"] = [_coding(fc.LOINC, "882-1", "ABO and Rh group [Type] in Blood")]
    res: JSON = {"resourceType": "Observation", "id": row["result_id"]}
    if row.get("order_id"):
        res["basedOn"] = [_ref("ServiceRequest", row["order_id"])]
    res.update(
        {
            "status": "final",
            "category": [
                {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/observation-category",
                            "laboratory",
                            "Laboratory",
                        )
                    ]
                }
            ],
            "code": code,
            "subject": _ref("Patient", row["patient_id"]),
        }
    )
    if encounter_id:
        res["encounter"] = _ref("Encounter", encounter_id)
    res["effectiveDateTime"] = iso_instant(row["resulted_at"])
    if row.get("resulted_by_user_id"):
        res["performer"] = [_ref("Practitioner", row["resulted_by_user_id"])]
    if row.get("value") is not None:
        res["valueString"] = row["value"]
    return res
