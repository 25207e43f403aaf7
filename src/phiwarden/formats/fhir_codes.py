"""Code systems, extension URLs and code maps of phiwarden's own FHIR export.

The generator writes them; the reader accepts them but never requires them: every
``urn:phiwarden:*`` coding and phiwarden extension is optional on input, and the standard
terminologies in :mod:`phiwarden.formats.terminology` are read first.
"""

from __future__ import annotations

MRN_SYSTEM = "urn:phiwarden:mrn"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
USER_SYSTEM = "urn:phiwarden:user-id"
LOGIN_SYSTEM = "urn:phiwarden:login"
ORDER_SYSTEM = "urn:phiwarden:order-id"
#: the synthetic hospital's own order codes (CBC, BMP...), as any hospital has its own
ORDER_CODE_SYSTEM = "urn:phiwarden:order-code"
#: AuditEvent subtype carrying the canonical action (print and search share action E)
ACTION_SYSTEM = "urn:phiwarden:access-action"
ROLE_SYSTEM = "urn:phiwarden:role"
DEPARTMENT_KIND_SYSTEM = "urn:phiwarden:department-kind"
CONTACT_KIND_SYSTEM = "urn:phiwarden:contact-kind"
ENCOUNTER_TYPE_SYSTEM = "urn:phiwarden:encounter-type"
CARE_TEAM_ROLE_SYSTEM = "urn:phiwarden:care-team-role"
PATIENT_FLAG_SYSTEM = "urn:phiwarden:patient-flag"
DEA_SCHEDULE_SYSTEM = "urn:phiwarden:dea-schedule"
EXT_BASE = "https://phiwarden.example.org/fhir/StructureDefinition/"
EXT_EMPLOYEE = EXT_BASE + "employee-user"
EXT_BLOOD_TYPE = EXT_BASE + "blood-type"
EXT_MANAGER = EXT_BASE + "manager"
EXT_DEA_SCHEDULE = EXT_BASE + "dea-schedule"

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
V3_PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
V3_ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOINC = "http://loinc.org"

CONTACT_KIND_CODES: dict[str, tuple[str, str, str]] = {
    "next_of_kin": (V2_0131, "N", "Next-of-Kin"),
    "emergency": (V2_0131, "C", "Emergency Contact"),
    "guarantor": (V3_ROLE_CLASS, "GUAR", "guarantor"),
    "subscriber": (V3_ROLE_CLASS, "POLHOLD", "policy holder"),
}
PERSONAL_RELATIONSHIP: dict[str, str] = {
    "spouse": "SPS",
    "husband": "HUSB",
    "wife": "WIFE",
    "partner": "DOMPART",
    "child": "CHILD",
    "son": "SON",
    "daughter": "DAU",
    "parent": "PRN",
    "mother": "MTH",
    "father": "FTH",
    "sibling": "SIB",
    "brother": "BRO",
    "sister": "SIS",
    "friend": "FRND",
    "neighbor": "NBOR",
    "neighbour": "NBOR",
    "roommate": "ROOM",
    "self": "ONESELF",
    "grandparent": "GRPRN",
    "grandchild": "GRNDCHILD",
    "aunt": "AUNT",
    "uncle": "UNCLE",
    "cousin": "COUSN",
}
ENCOUNTER_CLASS: dict[str, tuple[str, str]] = {
    "outpatient": ("AMB", "ambulatory"),
    "inpatient": ("IMP", "inpatient encounter"),
    "emergency": ("EMER", "emergency"),
    "telehealth": ("VR", "virtual"),
}
SUBSCRIBER_RELATIONSHIP = {"self", "spouse", "child", "parent", "common", "other", "injured"}
PHONE_USE = {"home": "home", "mobile": "mobile", "cell": "mobile", "work": "work"}

#: The resource types phiwarden writes and reads, referenced types before the types that
#: refer to them (the FHIR writer's file order and the reader's load order).
RESOURCE_TYPES: tuple[str, ...] = (
    "Organization",
    "Location",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "RelatedPerson",
    "Coverage",
    "Communication",
    "Appointment",
    "Encounter",
    "MedicationRequest",
    "ServiceRequest",
    "Observation",
    "AuditEvent",
)
