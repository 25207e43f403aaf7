"""The canonical record layout: one table per record type, as Arrow schemas.

Every reader in ``ingest/`` produces these records, the synthetic generator writes them
to ``canonical/<table>.csv`` (and ``canonical/access_events/`` as Parquet), and the
operational store and the event lake hold them. Column order here is the CSV column
order. Timestamps are naive wall-clock times of the health system's own time zone (what
an EHR audit export shows and what shift hours mean); dates are ISO ``YYYY-MM-DD``.
Identifiers are strings so that a hospital's own identifiers load unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us")


@dataclass(frozen=True)
class CanonicalTable:
    """One canonical record type: its name, key column, required columns and schema."""

    name: str
    key: str
    required: tuple[str, ...]
    schema: pa.Schema
    description: str


def _t(
    name: str,
    key: str,
    required: tuple[str, ...],
    description: str,
    *fields: tuple[str, pa.DataType],
) -> CanonicalTable:
    return CanonicalTable(name, key, required, pa.schema(list(fields)), description)


S = pa.string()
D = pa.date32()
B = pa.bool_()
I = pa.int64()  # noqa: E741
F = pa.float64()

FACILITIES = _t(
    "facilities",
    "facility_id",
    ("facility_id", "name", "state"),
    "Hospitals and clinics, each in a US state.",
    ("facility_id", S),
    ("name", S),
    ("city", S),
    ("state", S),
)
DEPARTMENTS = _t(
    "departments",
    "department_id",
    ("department_id", "name", "kind"),
    "Departments; kind is one of domain.enums.DepartmentKind.",
    ("department_id", S),
    ("name", S),
    ("kind", S),
    ("facility_id", S),
)
WORKFORCE = _t(
    "workforce",
    "user_id",
    ("user_id", "login", "last_name", "role"),
    "Workforce members who can open records (EHR users). Shift hours are local 0-23.",
    ("user_id", S),
    ("login", S),
    ("first_name", S),
    ("last_name", S),
    ("role", S),
    ("department_id", S),
    ("hire_date", D),
    ("termination_date", D),
    ("address_line", S),
    ("city", S),
    ("state", S),
    ("zip", S),
    ("phone", S),
    ("manager_id", S),
    ("shift_start_hour", I),
    ("shift_end_hour", I),
)
PATIENTS = _t(
    "patients",
    "patient_id",
    ("patient_id", "mrn", "last_name", "dob"),
    "The master patient index. ssn is the plain number in the input only; the store keeps "
    "it encrypted with a keyed hash. previous_names is ';'-separated 'Last, First'.",
    ("patient_id", S),
    ("mrn", S),
    ("first_name", S),
    ("middle_name", S),
    ("last_name", S),
    ("previous_names", S),
    ("dob", D),
    ("sex", S),
    ("ssn", S),
    ("address_line", S),
    ("city", S),
    ("state", S),
    ("zip", S),
    ("phone", S),
    ("email", S),
    ("deceased_date", D),
    ("vip", B),
    ("watch_list", B),
    ("employee_user_id", S),
    ("blood_type", S),
)
PATIENT_MERGES = _t(
    "patient_merges",
    "merge_id",
    ("merge_id", "surviving_patient_id", "merged_mrn"),
    "Duplicate charts merged into a surviving one (HL7 ADT A40); merged_mrn is retired.",
    ("merge_id", S),
    ("surviving_patient_id", S),
    ("merged_patient_id", S),
    ("merged_mrn", S),
    ("merged_at", TS),
    ("merged_by_user_id", S),
)
PATIENT_ADDRESSES = _t(
    "patient_addresses",
    "address_id",
    ("address_id", "patient_id", "address_line"),
    "Address history; valid_to empty means current.",
    ("address_id", S),
    ("patient_id", S),
    ("address_line", S),
    ("city", S),
    ("state", S),
    ("zip", S),
    ("valid_from", D),
    ("valid_to", D),
)
PATIENT_PHONES = _t(
    "patient_phones",
    "phone_id",
    ("phone_id", "patient_id", "phone"),
    "All phone numbers of a patient (home, mobile, work).",
    ("phone_id", S),
    ("patient_id", S),
    ("phone", S),
    ("kind", S),
)
PATIENT_CONTACTS = _t(
    "patient_contacts",
    "contact_id",
    ("contact_id", "patient_id", "kind", "last_name"),
    "Next of kin, emergency contact, guarantor, insurance subscriber (domain.enums.ContactKind).",
    ("contact_id", S),
    ("patient_id", S),
    ("kind", S),
    ("first_name", S),
    ("last_name", S),
    ("relationship", S),
    ("address_line", S),
    ("city", S),
    ("state", S),
    ("zip", S),
    ("phone", S),
)
COVERAGES = _t(
    "coverages",
    "coverage_id",
    ("coverage_id", "patient_id", "payer", "member_id"),
    "Insurance coverages; the subscriber may be another person.",
    ("coverage_id", S),
    ("patient_id", S),
    ("payer", S),
    ("member_id", S),
    ("subscriber_first_name", S),
    ("subscriber_last_name", S),
    ("subscriber_dob", D),
    ("subscriber_relationship", S),
)
ENCOUNTERS = _t(
    "encounters",
    "encounter_id",
    ("encounter_id", "patient_id", "start"),
    "Visits and stays; end empty while open.",
    ("encounter_id", S),
    ("patient_id", S),
    ("type", S),
    ("department_id", S),
    ("facility_id", S),
    ("start", TS),
    ("end", TS),
    ("attending_user_id", S),
)
CARE_TEAM = _t(
    "care_team",
    "care_team_id",
    ("care_team_id", "encounter_id", "user_id"),
    "Members of an encounter's care team.",
    ("care_team_id", S),
    ("encounter_id", S),
    ("user_id", S),
    ("role", S),
)
ORDERS = _t(
    "orders",
    "order_id",
    ("order_id", "patient_id", "kind", "ordered_at"),
    "Lab, radiology and other orders; performing department does the work.",
    ("order_id", S),
    ("encounter_id", S),
    ("patient_id", S),
    ("kind", S),
    ("code", S),
    ("description", S),
    ("ordered_by_user_id", S),
    ("performing_department_id", S),
    ("ordered_at", TS),
)
PRESCRIPTIONS = _t(
    "prescriptions",
    "prescription_id",
    ("prescription_id", "patient_id", "drug", "prescribed_at"),
    "Medication orders; dea_schedule is 'II'..'V' for controlled substances, empty otherwise.",
    ("prescription_id", S),
    ("encounter_id", S),
    ("patient_id", S),
    ("prescriber_user_id", S),
    ("drug", S),
    ("dea_schedule", S),
    ("prescribed_at", TS),
)
LAB_RESULTS = _t(
    "lab_results",
    "result_id",
    ("result_id", "patient_id", "test", "resulted_at"),
    "Lab results; test 'ABO/Rh' carries the blood type.",
    ("result_id", S),
    ("order_id", S),
    ("patient_id", S),
    ("test", S),
    ("value", S),
    ("resulted_by_user_id", S),
    ("resulted_at", TS),
)
APPOINTMENTS = _t(
    "appointments",
    "appointment_id",
    ("appointment_id", "patient_id", "start"),
    "Scheduled visits and who booked them.",
    ("appointment_id", S),
    ("patient_id", S),
    ("department_id", S),
    ("provider_user_id", S),
    ("scheduled_by_user_id", S),
    ("scheduled_at", TS),
    ("start", TS),
    ("status", S),
)
CALLS = _t(
    "calls",
    "call_id",
    ("call_id", "user_id", "start"),
    "Call-center call records; patient_id is who the call was about.",
    ("call_id", S),
    ("patient_id", S),
    ("user_id", S),
    ("start", TS),
    ("end", TS),
    ("reason", S),
    ("caller_phone", S),
)
REGISTRATIONS = _t(
    "registrations",
    "registration_id",
    ("registration_id", "patient_id", "registered_at"),
    "Registrations at check-in with the identifiers the person presented.",
    ("registration_id", S),
    ("patient_id", S),
    ("mrn", S),
    ("registered_by_user_id", S),
    ("registered_at", TS),
    ("facility_id", S),
    ("encounter_id", S),
    ("presented_first_name", S),
    ("presented_last_name", S),
    ("presented_dob", D),
    ("presented_sex", S),
    ("presented_ssn", S),
    ("presented_address_line", S),
    ("presented_city", S),
    ("presented_state", S),
    ("presented_zip", S),
    ("presented_phone", S),
    ("presented_payer", S),
    ("presented_member_id", S),
    ("id_type", S),
    ("id_number", S),
    ("id_checked", B),
    ("photo_on_file", B),
)
BILLING_ACCOUNTS = _t(
    "billing_accounts",
    "account_id",
    ("account_id", "patient_id", "status"),
    "Covered accounts; status active | suspended | closed | collections.",
    ("account_id", S),
    ("patient_id", S),
    ("guarantor_contact_id", S),
    ("opened_at", TS),
    ("balance", F),
    ("status", S),
    ("suspended_until", D),
    ("returned_mail_count", I),
    ("last_returned_mail_at", TS),
    ("last_activity_at", TS),
)
TRANSACTIONS = _t(
    "transactions",
    "transaction_id",
    ("transaction_id", "account_id", "kind", "amount"),
    "Charges, payer and patient payments, adjustments (with a code).",
    ("transaction_id", S),
    ("account_id", S),
    ("encounter_id", S),
    ("posted_at", TS),
    ("kind", S),
    ("amount", F),
    ("adjustment_code", S),
    ("payer", S),
)
COMPLAINTS = _t(
    "complaints",
    "complaint_id",
    ("complaint_id", "patient_id", "kind", "received_at"),
    "Complaints about bills, EOBs, collection notices or credit reports for care not received.",
    ("complaint_id", S),
    ("patient_id", S),
    ("account_id", S),
    ("kind", S),
    ("received_at", TS),
    ("description", S),
)
ELIGIBILITY_RESPONSES = _t(
    "eligibility_responses",
    "response_id",
    ("response_id", "member_id"),
    "X12 271 answers: the identity the payer holds for a member, per registration.",
    ("response_id", S),
    ("registration_id", S),
    ("coverage_id", S),
    ("payer", S),
    ("member_id", S),
    ("loop", S),
    ("first_name", S),
    ("last_name", S),
    ("dob", D),
    ("sex", S),
    ("ssn", S),
    ("address_line", S),
    ("city", S),
    ("state", S),
    ("zip", S),
    ("aaa_code", S),
    ("ins_changed", B),
    ("received_at", TS),
)
FRAUD_WATCH = _t(
    "fraud_watch",
    "watch_id",
    ("watch_id", "kind", "value"),
    "Addresses and phones tied to known fraud (kind address | phone).",
    ("watch_id", S),
    ("kind", S),
    ("value", S),
    ("reason", S),
    ("added_at", TS),
)
ACCESS_EVENTS = _t(
    "access_events",
    "event_id",
    ("event_id", "ts", "user_id", "patient_id", "action"),
    "EHR access events; stored in the event lake as Parquet partitioned by day. outcome is "
    "success or failure (empty: not recorded, read as success).",
    ("event_id", S),
    ("ts", TS),
    ("user_id", S),
    ("patient_id", S),
    ("action", S),
    ("source_system", S),
    ("workstation", S),
    ("department_id", S),
    ("break_the_glass", B),
    ("btg_reason", S),
    ("outcome", S),
)

#: Operational tables in load order (referenced tables first).
OPERATIONAL_TABLES: tuple[CanonicalTable, ...] = (
    FACILITIES,
    DEPARTMENTS,
    WORKFORCE,
    PATIENTS,
    PATIENT_MERGES,
    PATIENT_ADDRESSES,
    PATIENT_PHONES,
    PATIENT_CONTACTS,
    COVERAGES,
    ENCOUNTERS,
    CARE_TEAM,
    ORDERS,
    PRESCRIPTIONS,
    LAB_RESULTS,
    APPOINTMENTS,
    CALLS,
    REGISTRATIONS,
    BILLING_ACCOUNTS,
    TRANSACTIONS,
    COMPLAINTS,
    ELIGIBILITY_RESPONSES,
    FRAUD_WATCH,
)
ALL_TABLES: tuple[CanonicalTable, ...] = (*OPERATIONAL_TABLES, ACCESS_EVENTS)
BY_NAME: dict[str, CanonicalTable] = {t.name: t for t in ALL_TABLES}


#: (table, column) pairs held encrypted with a keyed hash instead of in clear.
SENSITIVE: frozenset[tuple[str, str]] = frozenset(
    {
        ("patients", "ssn"),
        ("registrations", "presented_ssn"),
        ("registrations", "id_number"),
        ("eligibility_responses", "ssn"),
    }
)
