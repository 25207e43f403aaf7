"""The operational store's tables for breach scoping: what was scanned for an incident,
the findings that link people to the data exposed about them, what could not be read,
and the reviewers' decisions.

A source (a mailbox, a folder, the monitoring population of a user, a business
associate's list) is cut into units; a unit's findings are written in the same
transaction that marks the unit done, so a scan killed half-way and run again neither
loses nor double-counts anything. Reviews are append-only: the latest decision on a
person or a finding is the one in force.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from phiwarden.store.metadata import metadata

breach_sources = Table(
    "breach_sources",
    metadata,
    Column("source_id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), ForeignKey("case_files.case_id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("label", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("engine", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("units_done", Integer, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("attachments", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("started_by", String(64), nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("incident_id", "fingerprint", name="uq_breach_sources_fingerprint"),
    comment="What was scanned for an incident (mailbox, files, monitoring population, "
    "business associate's list), its progress and totals.",
)

breach_units = Table(
    "breach_units",
    metadata,
    Column("source_id", Integer, ForeignKey("breach_sources.source_id"), primary_key=True),
    Column("unit_key", String(40), primary_key=True),
    Column("place", Text, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("done_at", DateTime, nullable=False),
    comment="Units of a source already scanned (one message, one file): a resumed scan skips them.",
)

breach_findings = Table(
    "breach_findings",
    metadata,
    Column("finding_id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), nullable=False),
    Column("source_id", Integer, ForeignKey("breach_sources.source_id"), nullable=False),
    Column("unit_key", String(40), nullable=False),
    Column("place", Text, nullable=False),
    Column("element", String(24), nullable=False),
    Column("person", String(80), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("label", String(255), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("offsets", JSON, nullable=False),
    Column("snippet", Text, nullable=False),
    Column("seen_at", DateTime, nullable=True),
    Index("ix_breach_findings_person", "incident_id", "person"),
    Index("ix_breach_findings_unit", "source_id", "unit_key"),
    comment="One element about one person in one place, with offsets and a masked snippet.",
)

breach_unscannable = Table(
    "breach_unscannable",
    metadata,
    Column("item_id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), nullable=False),
    Column("source_id", Integer, ForeignKey("breach_sources.source_id"), nullable=False),
    Column("unit_key", String(40), nullable=False),
    Column("place", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_breach_unscannable_incident", "incident_id"),
    comment="Every item a scan could not read, with its place and the reason.",
)

breach_reviews = Table(
    "breach_reviews",
    metadata,
    Column("review_id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), nullable=False),
    Column("target", String(16), nullable=False),
    Column("ref", String(80), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_breach_reviews_incident", "incident_id", "target", "ref"),
    comment="Reviewers' decisions on people and findings (append-only; the latest holds).",
)

breach_letters = Table(
    "breach_letters",
    metadata,
    Column("reference", String(16), primary_key=True),
    Column("incident_id", String(32), ForeignKey("case_files.case_id"), nullable=False),
    Column("person", String(80), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("name", String(255), nullable=False),
    Column("address", Text, nullable=False),
    Column("state", String(2), nullable=True),
    Column("variant", String(16), nullable=False),
    Column("language", String(2), nullable=False),
    Column("credit_code", String(20), nullable=True),
    Column("elements", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("generated_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_breach_letters_incident", "incident_id", "status"),
    Index("ix_breach_letters_patient", "patient_id"),
    comment="Every notification letter written: to whom, where, with or without credit "
    "monitoring, and whether it was mailed, returned or is to be mailed again.",
)
