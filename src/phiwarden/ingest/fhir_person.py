"""Map people: Patient (with its contacts), RelatedPerson and Coverage.

Inverts the synthetic FHIR writers (``synth.fhir_*``):

- Patient: MRN from the ``urn:phiwarden:mrn`` identifier (else type ``MR``), SSN from
  ``us-ssn`` (else type ``SS``); the official name gives first/middle/last and names of
  use ``old`` the ``previous_names`` ('Last, First;...'); home address and rank-1 phone;
  gender ``male``/``female``/``other`` as M/F/O; ``deceasedDateTime``'s date; VIP from a
  security label R/V (v3 Confidentiality) or a tag whose code or display says VIP,
  restricted or confidential; watch list from tag ``watch-list``; the employee link from an
  identifier of type ``EI`` equal to a Practitioner's (else phiwarden's extension); blood
  type from phiwarden's extension (an Observation LOINC 882-1 carries it otherwise).
  Each ``Patient.contact`` is a contact row.
- RelatedPerson: a contact row, unless the same contact already came in a
  ``Patient.contact`` of this run (the export writes each contact both ways).
- Contact kind through the CodeMap (v2-0131 N/C, v3 RoleClass GUAR/POLHOLD, v3 RoleCode,
  the hospital's mapping, keywords), else next of kin, counted; the personal relationship
  from a v3 RoleCode coding or the text of a concept that is not a kind.
- Coverage: beneficiary, first payor's name, ``subscriberId``; the subscriber's name and
  birth date from the Patient or RelatedPerson the subscriber reference names.

Patient address and phone history (``patient_addresses``, ``patient_phones``) are not
loaded: the export merges them into the Patient without their ids and validity dates.
"""

from __future__ import annotations

from phiwarden.domain.enums import ContactKind
from phiwarden.formats import fhir_codes as fc
from phiwarden.formats.terminology import standard_table
from phiwarden.ingest.fhir_directory import Directory
from phiwarden.ingest.fhir_sink import Sink
from phiwarden.ingest.fhir_values import (
    JSON,
    address_fields,
    all_codes,
    current_address,
    current_name,
    date_part,
    email,
    extension,
    identifier,
    name_parts,
    obj,
    objs,
    phone,
    ref_id,
    text,
)

_RELATION_BY_CODE: dict[str, str] = {}
for _word, _code in fc.PERSONAL_RELATIONSHIP.items():
    _RELATION_BY_CODE.setdefault(_code, _word)
_SEX = {"male": "M", "female": "F", "other": "O"}
#: Code systems whose every code names a contact's kind, not a personal relationship.
_KIND_SYSTEMS = {fc.CONTACT_KIND_SYSTEM, fc.V2_0131, fc.V3_ROLE_CLASS}
#: Words of a tag (code or display) that mark a restricted record.
_VIP_WORDS = {"vip", "restricted", "confidential", "celebrity", "high-profile"}


def _contact_kind(concepts: object, d: Directory) -> str:
    found = d.codes.lookup(
        "contact_kind", concepts, own_system=fc.CONTACT_KIND_SYSTEM, count_miss=False
    )
    if found is not None:
        return found
    if not any(code in _RELATION_BY_CODE for _, code in all_codes(concepts)):
        d.codes.miss("contact_kind", concepts)  # a family relationship alone is next of kin
    return d.codes.fallback("contact_kind", ContactKind.NEXT_OF_KIN.value)


def _is_kind(codes: list[tuple[str | None, str]]) -> bool:
    """True for a concept naming the contact's kind (a RoleCode such as NOK, say)."""
    kinds = standard_table("contact_kind").codes
    return any(s in _KIND_SYSTEMS or c in kinds.get(s or "", {}) for s, c in codes)


def _relationship(concepts: object) -> str | None:
    """The personal relationship: text (or RoleCode) of a concept that is not a kind."""
    for concept in objs(concepts):
        codes = list(all_codes(concept))
        if _is_kind(codes):
            continue
        found = text(concept.get("text"))
        if found:
            return found
        for _, code in codes:
            if code in _RELATION_BY_CODE:
                return _RELATION_BY_CODE[code]
    return None


def contact_row(node: JSON, contact_id: str | None, patient_id: str | None, d: Directory) -> JSON:
    """A ``patient_contacts`` row from a Patient.contact or a RelatedPerson."""
    name = node.get("name")
    first, _, last = name_parts(current_name(name) if isinstance(name, list) else name)
    addresses = node.get("address")
    addr = current_address(addresses) if isinstance(addresses, list) else obj(addresses)
    return {
        "contact_id": contact_id,
        "patient_id": patient_id,
        "kind": _contact_kind(node.get("relationship"), d),
        "first_name": first,
        "last_name": last,
        "relationship": _relationship(node.get("relationship")),
        "phone": phone(node.get("telecom")),
        **address_fields(addr),
    }


def _previous_names(names: object) -> str | None:
    parts = []
    for name in objs(names):
        if name.get("use") in ("old", "maiden"):
            first, _, last = name_parts(name)
            parts.append(f"{last or ''}, {first}" if first else (last or ""))
    return ";".join(p for p in parts if p) or None


def _flags(res: JSON) -> tuple[bool, bool]:
    meta = obj(res.get("meta"))
    tags = objs(meta.get("tag"))
    own = {c for s, c in all_codes(tags) if s == fc.PATIENT_FLAG_SYSTEM}
    security = {c for s, c in all_codes(objs(meta.get("security"))) if s == fc.V3_CONFIDENTIALITY}
    words = {
        w.strip().lower()
        for tag in tags
        if tag.get("system") != fc.PATIENT_FLAG_SYSTEM
        for w in (text(tag.get("code")), text(tag.get("display")))
        if w
    }
    vip = "vip" in own or bool(security & {"R", "V"}) or bool(words & _VIP_WORDS)
    return vip, "watch-list" in own


def _employee(res: JSON, d: Directory) -> str | None:
    """The workforce member a patient is: a shared EI employee number, else the extension."""
    for ident in objs(res.get("identifier")):
        if any(code == "EI" for _, code in all_codes(ident.get("type"))):
            found = d.employee_numbers.get(text(ident.get("value")) or "")
            if found is not None:
                return found
    return ref_id(extension(res, fc.EXT_EMPLOYEE).get("valueReference"), "Practitioner")


def patient(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """A ``patients`` row and a ``patient_contacts`` row per Patient.contact."""
    ident = text(res.get("id"))
    first, middle, last = name_parts(current_name(res.get("name")))
    vip, watch = _flags(res)
    gender = text(res.get("gender"))
    row: JSON = {
        "patient_id": ident,
        "mrn": identifier(res, fc.MRN_SYSTEM, "MR"),
        "first_name": first,
        "middle_name": middle,
        "last_name": last,
        "previous_names": _previous_names(res.get("name")),
        "dob": date_part(res.get("birthDate")),
        "sex": _SEX.get(gender) if gender else None,
        "ssn": identifier(res, fc.SSN_SYSTEM, "SS"),
        **address_fields(current_address(res.get("address"))),
        "phone": phone(res.get("telecom")),
        "email": email(res.get("telecom")),
        "deceased_date": date_part(res.get("deceasedDateTime")),
        "vip": vip,
        "watch_list": watch,
        "employee_user_id": _employee(res, d),
        "blood_type": text(extension(res, fc.EXT_BLOOD_TYPE).get("valueString")),
    }
    sink.add("patients", row, location)
    if ident is not None:
        d.people[f"Patient/{ident}"] = (first, last, row["dob"])
    for i, contact in enumerate(objs(res.get("contact"))):
        contact_id = text(contact.get("id")) or (f"{ident}-contact-{i + 1}" if ident else None)
        if contact_id is not None:
            d.contact_ids.add(contact_id)
        sink.add("patient_contacts", contact_row(contact, contact_id, ident, d), location)
    return None


def related_person(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """A contact row for a RelatedPerson not already read as a Patient.contact."""
    ident = text(res.get("id"))
    row = contact_row(res, ident, ref_id(res.get("patient"), "Patient"), d)
    if ident is not None:
        d.people[f"RelatedPerson/{ident}"] = (
            row["first_name"],
            row["last_name"],
            date_part(res.get("birthDate")),
        )
        if ident in d.contact_ids:
            return None
    sink.add("patient_contacts", row, location)
    return None


def _payer(res: JSON, d: Directory) -> str | None:
    for payor in objs(res.get("payor")):
        org = ref_id(payor, "Organization")
        found = text(payor.get("display")) or (d.orgs[org].name if org in d.orgs else None)
        if found:
            return found
    return None


def coverage(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """A ``coverages`` row with the subscriber's name and birth date resolved."""
    first, last, dob = d.person(res.get("subscriber"))
    relationship = obj(res.get("relationship"))
    members = [text(i.get("value")) for i in objs(res.get("identifier"))]
    row: JSON = {
        "coverage_id": text(res.get("id")),
        "patient_id": ref_id(res.get("beneficiary"), "Patient"),
        "payer": _payer(res, d),
        "member_id": text(res.get("subscriberId")) or next((m for m in members if m), None),
        "subscriber_first_name": first,
        "subscriber_last_name": last,
        "subscriber_dob": dob,
        "subscriber_relationship": text(relationship.get("text"))
        or next((c for _, c in all_codes(relationship)), None),
    }
    sink.add("coverages", row, location)
    return None
