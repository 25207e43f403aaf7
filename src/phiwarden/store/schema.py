"""The operational store's tables, derived from the canonical record layout.

Each canonical table becomes a SQL table with the same columns, its key as primary key,
foreign keys to the tables it refers to, and indexes on the columns analyses join on.
Sensitive identifiers (SSNs, ID document numbers) are never stored in clear: the column
``x`` becomes ``x_encrypted`` (Fernet token), ``x_hash`` (keyed HMAC for matching) and
``x_last4`` (for the masked display). Bookkeeping tables for ingest live here too.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from phiwarden.domain.canonical import OPERATIONAL_TABLES, SENSITIVE, CanonicalTable
from phiwarden.store.metadata import metadata as metadata  # with every table (see the end)

#: Indexes on expressions (``score DESC``): Alembic cannot reflect them, so autogenerate
#: skips them (``include_object``) and their migrations are written by hand.
EXPRESSION_INDEXES: frozenset[str] = frozenset(
    {
        "ix_alerts_queue",
        "ix_alerts_recent",
        "ix_alerts_by_user",
        "ix_alerts_status_queue",
        "ix_alerts_status_recent",
        "ix_alerts_status_by_user",
    }
)


def include_object(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic autogenerate filter: leave the hand-written expression indexes alone."""
    return not (kind == "index" and name in EXPRESSION_INDEXES)


#: Column name -> the table whose key it refers to.
REFERENCES: dict[str, str] = {
    "facility_id": "facilities",
    "department_id": "departments",
    "performing_department_id": "departments",
    "patient_id": "patients",
    "surviving_patient_id": "patients",
    "merged_by_user_id": "workforce",
    "user_id": "workforce",
    "attending_user_id": "workforce",
    "ordered_by_user_id": "workforce",
    "prescriber_user_id": "workforce",
    "resulted_by_user_id": "workforce",
    "provider_user_id": "workforce",
    "scheduled_by_user_id": "workforce",
    "registered_by_user_id": "workforce",
    "employee_user_id": "workforce",
    "encounter_id": "encounters",
    "order_id": "orders",
    "account_id": "billing_accounts",
    "registration_id": "registrations",
    "coverage_id": "coverages",
    "guarantor_contact_id": "patient_contacts",
}

#: Columns indexed for lookups besides keys and references.
LOOKUPS: dict[str, tuple[str, ...]] = {
    "patients": ("mrn", "last_name", "dob", "phone", "zip"),
    "workforce": ("login", "last_name"),
    "patient_phones": ("phone",),
    "patient_contacts": ("last_name", "phone"),
    "coverages": ("member_id",),
    "encounters": ("start",),
    "registrations": ("mrn", "registered_at"),
    "eligibility_responses": ("member_id",),
    "fraud_watch": ("value",),
}


#: Free-text columns that can exceed 255 characters.
LONG_TEXT: frozenset[str] = frozenset({"description", "reason", "previous_names", "btg_reason"})


def sql_type(arrow_type: pa.DataType, short: bool = True) -> TypeEngine[Any]:
    """The SQL column type for an Arrow type of the canonical layout.

    Strings are ``VARCHAR(255)`` when ``short`` (identifiers, indexed columns), else TEXT.
    """
    if pa.types.is_timestamp(arrow_type):
        return DateTime()
    if pa.types.is_date(arrow_type):
        return Date()
    if pa.types.is_boolean(arrow_type):
        return Boolean()
    if pa.types.is_integer(arrow_type):
        return Integer()
    if pa.types.is_floating(arrow_type):
        return Float()
    return String(255) if short else Text()


def references_of(table: CanonicalTable) -> dict[str, str]:
    """The foreign-key columns of a canonical table (self-references excluded)."""
    return {
        c: REFERENCES[c]
        for c in table.schema.names
        if c in REFERENCES and REFERENCES[c] != table.name and c != table.key
    }


def _columns(table: CanonicalTable) -> list[Column[object]]:
    refs = references_of(table)
    cols: list[Column[object]] = []
    for field in table.schema:
        name = field.name
        if (table.name, name) in SENSITIVE:
            cols.append(Column(f"{name}_encrypted", LargeBinary(), nullable=True))
            cols.append(Column(f"{name}_hash", String(64), nullable=True, index=True))
            cols.append(Column(f"{name}_last4", String(4), nullable=True))
            continue
        args: list[object] = []
        if name in refs:
            args.append(ForeignKey(f"{refs[name]}.{_key_of(refs[name])}"))
        cols.append(
            Column(
                name,
                sql_type(field.type, short=name not in LONG_TEXT),
                *args,  # type: ignore[arg-type]
                primary_key=name == table.key,
                nullable=name != table.key and name not in table.required,
                index=name in refs or name in LOOKUPS.get(table.name, ()),
            )
        )
    return cols


def _key_of(name: str) -> str:
    return next(t.key for t in OPERATIONAL_TABLES if t.name == name)


DOMAIN_TABLES: dict[str, Table] = {
    t.name: Table(t.name, metadata, *_columns(t), comment=t.description) for t in OPERATIONAL_TABLES
}

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("location", String(64), nullable=False),
    Column("record_type", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw_encrypted", LargeBinary, nullable=True),
    Column("received_at", DateTime, nullable=False),
    Index("ix_quarantine_source_location_reason", "source", "location", "reason", unique=True),
    comment="Records an ingest rejected: where from, where in the file, why. The raw "
    "record is kept encrypted so nothing is lost and nothing leaks.",
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("format", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("loaded", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("duplicates_skipped", Integer, nullable=False, default=0),
    comment="One row per ingest of one source; finished_at empty means it did not complete.",
)

readiness_reports = Table(
    "readiness_reports",
    metadata,
    Column("report_id", Integer, primary_key=True, autoincrement=True),
    Column("computed_at", DateTime, nullable=False),
    Column("report", JSON, nullable=False),
    comment="The readiness report (counts and shares, no PHI) as computed after an ingest "
    "or by 'status': the dashboard shows the newest without rescanning the lake.",
)

patient_history = Table(
    "patient_history",
    metadata,
    Column("history_id", String(64), primary_key=True),
    Column("patient_id", String(64), ForeignKey("patients.patient_id"), nullable=False),
    Column("changed_at", DateTime, nullable=True),
    Column("field", String(32), nullable=False),
    Column("previous_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("previous_hash", String(64), nullable=True),
    Column("source", String(64), nullable=False),
    Column("message_id", String(64), nullable=True),
    Column("changed_by_user_id", String(64), nullable=True),
    Index("ix_patient_history_patient_id", "patient_id"),
    comment="Previous demographics of a patient, one row per changed field, written when an "
    "update (HL7 A08/A31) changes the stored record; an SSN is kept only masked and as its "
    "keyed hash. The identity red flags read it.",
)

patient_links = Table(
    "patient_links",
    metadata,
    Column("link_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False, index=True),
    Column("other_patient_id", String(64), nullable=False, index=True),
    Column("linked_at", DateTime, nullable=True),
    Column("linked_by_user_id", String(64), nullable=True),
    Column("unlinked_at", DateTime, nullable=True),
    Column("unlinked_by_user_id", String(64), nullable=True),
    comment="Two charts linked as the same person without a merge (HL7 A24), and their "
    "unlinking (A37): unlinked_at set means they are separate people again.",
)

# Every area's tables join ``metadata`` when the schema is imported, so Alembic autogenerate
# and ``initialise`` see them all. They import ``metadata`` from ``store.metadata``, not
# from here: the imports run one way.
from phiwarden.store import breach_tables as breach_tables  # noqa: E402
from phiwarden.store import case_tables as case_tables  # noqa: E402
from phiwarden.store import identity_tables as identity_tables  # noqa: E402
from phiwarden.store import monitor_tables as monitor_tables  # noqa: E402
from phiwarden.store import program_tables as program_tables  # noqa: E402
from phiwarden.store import redflag_tables as redflag_tables  # noqa: E402
from phiwarden.store import web_tables as web_tables  # noqa: E402
