"""Closed vocabularies shared by every area (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum


class DepartmentKind(StrEnum):
    """What a department does; drives which access workflows explain its users."""

    CLINICAL = "clinical"
    EMERGENCY = "emergency"
    REGISTRATION = "registration"
    BILLING = "billing"
    CODING = "coding"
    CALL_CENTER = "call_center"
    LAB = "lab"
    RADIOLOGY = "radiology"
    PHARMACY = "pharmacy"
    HIM = "him"
    IT = "it"
    ADMIN = "admin"


class Role(StrEnum):
    """Workforce job roles."""

    PHYSICIAN = "physician"
    NURSE = "nurse"
    REGISTRAR = "registrar"
    BILLER = "biller"
    CODER = "coder"
    CALL_CENTER_AGENT = "call_center_agent"
    LAB_TECH = "lab_tech"
    RADIOLOGY_TECH = "radiology_tech"
    PHARMACIST = "pharmacist"
    HIM_ANALYST = "him_analyst"
    IT_ANALYST = "it_analyst"
    ADMINISTRATOR = "administrator"
    #: no code, keyword or department told the role (counted in the readiness report)
    OTHER = "other"


class ContactKind(StrEnum):
    """The roles a related person can hold for a patient."""

    NEXT_OF_KIN = "next_of_kin"
    EMERGENCY = "emergency"
    GUARANTOR = "guarantor"
    SUBSCRIBER = "subscriber"


class EncounterType(StrEnum):
    """Kinds of encounter."""

    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    EMERGENCY = "emergency"
    TELEHEALTH = "telehealth"


class AccessAction(StrEnum):
    """What a user did with a record (FHIR AuditEvent action codes C/R/U/D/E map here)."""

    VIEW = "view"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    PRINT = "print"
    EXECUTE = "execute"
    SEARCH = "search"


class TransactionKind(StrEnum):
    """Billing transaction kinds."""

    CHARGE = "charge"
    PAYER_PAYMENT = "payer_payment"
    PATIENT_PAYMENT = "patient_payment"
    ADJUSTMENT = "adjustment"


class AccountStatus(StrEnum):
    """Billing account states."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    COLLECTIONS = "collections"


class SnoopingScenario(StrEnum):
    """Injected access-misuse scenarios in the synthetic hospital (ground truth)."""

    FAMILY = "family"
    COWORKER = "coworker"
    NEIGHBOUR = "neighbour"
    VIP = "vip"
    SELF = "self"
    DECEASED = "deceased"
    TERMINATED = "terminated"
    AFTER_HOURS = "after_hours"
    CONTROLLED_SUBSTANCE_PANEL = "controlled_substance_panel"
    BULK_CURIOSITY = "bulk_curiosity"
    LOW_AND_SLOW = "low_and_slow"


class IdentityTheftScenario(StrEnum):
    """Injected identity-theft scenarios in the registrations (ground truth)."""

    SHARED_SSN = "shared_ssn"
    SSN_NEVER_ISSUED = "ssn_never_issued"
    SSN_DOB_MISMATCH = "ssn_dob_mismatch"
    FRAUD_ADDRESS = "fraud_address"
    FRAUD_PHONE = "fraud_phone"
    INSURANCE_MISMATCH = "insurance_mismatch"
    BLOOD_TYPE_CONFLICT = "blood_type_conflict"
    RETURNED_MAIL = "returned_mail"
    COMPLAINT = "complaint"


#: The audit-record action code (FHIR AuditEvent.action, DICOM/ATNA EventActionCode) of each
#: canonical action. Print and search share E (execute) with it: the five codes cannot
#: tell them apart, so writers that must keep them carry the action alongside.
AUDIT_ACTION_CODES: dict[str, str] = {
    "view": "R",
    "create": "C",
    "update": "U",
    "delete": "D",
    "print": "E",
    "execute": "E",
    "search": "E",
}
#: The canonical action an audit-record action code stands for.
ACTIONS_BY_AUDIT_CODE: dict[str, str] = {
    "C": "create",
    "R": "view",
    "U": "update",
    "D": "delete",
    "E": "execute",
}
