"""Build FHIR R4 resources (as JSON dicts) from canonical rows: the patient record here
(Patient, RelatedPerson, Coverage); the directory in ``fhir_directory``, care in
``fhir_care``, the data types in ``fhir_datatypes``.

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

from phiwarden.formats import fhir_codes as fc
from phiwarden.synth.export_io import Row, iso_date
from phiwarden.synth.fhir_datatypes import (
    JSON,
    address,
    coding,
    gender,
    human_name,
    previous_names,
    ref,
)


def contact_relationship(row: Row) -> list[JSON]:
    """Relationship CodeableConcepts for a contact: its kind, then the personal relation."""
    kind = row["kind"]
    codings = [coding(fc.CONTACT_KIND_SYSTEM, kind)]
    if kind in fc.CONTACT_KIND_CODES:
        codings.insert(0, coding(*fc.CONTACT_KIND_CODES[kind]))
    out: list[JSON] = [{"coding": codings}]
    rel = row.get("relationship")
    if rel:
        concept: JSON = {"text": rel}
        code = fc.PERSONAL_RELATIONSHIP.get(rel.strip().lower())
        if code:
            concept["coding"] = [coding(fc.V3_ROLE_CODE, code)]
        out.append(concept)
    return out


def related_person(row: Row, birth_date: str | None = None) -> JSON:
    """A patient contact as a RelatedPerson of the patient."""
    res: JSON = {
        "resourceType": "RelatedPerson",
        "id": row["contact_id"],
        "active": True,
        "patient": ref("Patient", row["patient_id"]),
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
            "type": {"coding": [coding(fc.V2_0203, "MR", "Medical record number")]},
            "system": fc.MRN_SYSTEM,
            "value": row["mrn"],
        }
    ]
    if row.get("ssn"):
        ident.append(
            {
                "type": {"coding": [coding(fc.V2_0203, "SS", "Social Security number")]},
                "system": fc.SSN_SYSTEM,
                "value": row["ssn"],
            }
        )
    res: JSON = {"resourceType": "Patient", "id": row["patient_id"]}
    tags = [
        coding(fc.PATIENT_FLAG_SYSTEM, flag)
        for flag, on in (("vip", row.get("vip")), ("watch-list", row.get("watch_list")))
        if on
    ]
    if tags:
        meta: JSON = {"tag": tags}
        if row.get("vip"):
            meta["security"] = [
                coding(
                    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", "restricted"
                )
            ]
        res["meta"] = meta
    ext: list[JSON] = []
    if row.get("employee_user_id"):
        ext.append(
            {
                "url": fc.EXT_EMPLOYEE,
                "valueReference": ref("Practitioner", row["employee_user_id"]),
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
        "beneficiary": ref("Patient", row["patient_id"]),
    }
    if rel:
        res["relationship"] = {
            "coding": [
                coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", code)
            ],
            "text": row["subscriber_relationship"],
        }
    res["payor"] = [{"display": row["payer"]}]
    return res
