"""The operational store's tables for the privacy program: sanctions decided in
investigations, corrective actions, caller verification attempts, the training roster,
service providers and business associates, and the program review log.

An investigation itself is a case (``case_files``, procedure ``investigation``); its
evidence snapshot is one of its documents, stored encrypted with its SHA-256.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from phiwarden.store.metadata import metadata

sanctions = Table(
    "sanctions",
    metadata,
    Column("sanction_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("level", Integer, nullable=False),
    Column("title", String(255), nullable=False),
    Column("actions", JSON, nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("policy_sha256", String(64), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    Column("decided_by", String(64), nullable=False),
    comment="A sanction decided in an investigation, at a level of the sanction policy in "
    "force then (its version and digest kept); HR applies it through the case's task.",
)

corrective_actions = Table(
    "corrective_actions",
    metadata,
    Column("action_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("owner", String(128), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("done_at", DateTime, nullable=True),
    Column("done_by", String(64), nullable=True),
    Column("done_note", Text, nullable=True),
    Column("verified_at", DateTime, nullable=True),
    Column("verified_by", String(64), nullable=True),
    Column("verification", Text, nullable=True),
    comment="A corrective action of a case or incident (status open | done | verified): an "
    "owner, a due date, and who verified it worked and how.",
)

caller_attempts = Table(
    "caller_attempts",
    metadata,
    Column("attempt_id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("agent", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("factors", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),
    Index("ix_caller_attempts_patient_at", "patient_id", "at"),
    comment="Every check of a caller against a patient (outcome verified | failed | "
    "locked): which factors were offered, never their values.",
)

training_records = Table(
    "training_records",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("course", String(64), primary_key=True),
    Column("completed_on", Date, primary_key=True),
    Column("source", Text, nullable=False),
    Column("imported_at", DateTime, nullable=False),
    comment="Who completed which training when, imported from the learning system's CSV.",
)

service_providers = Table(
    "service_providers",
    metadata,
    Column("provider_id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("service", Text, nullable=False),
    Column("phi_access", Boolean, nullable=False),
    Column("contract_start", Date, nullable=True),
    Column("contract_end", Date, nullable=True),
    Column("baa_signed", Date, nullable=True),
    Column("last_review", Date, nullable=True),
    Column("review_every_months", Integer, nullable=False),
    Column("contact", String(255), nullable=True),
    Column("updated_at", DateTime, nullable=False),
    comment="Service providers and business associates: contract and BAA dates, the last "
    "review of their arrangements (Red Flags program VIII; 45 CFR 164.502(e), 164.504(e)).",
)

program_changes = Table(
    "program_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("version", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("approved_by", String(128), nullable=False),
    Column("approved_on", Date, nullable=False),
    Column("note", Text, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    UniqueConstraint("subject", "sha256"),
    comment="The program review log: each approved version of the red-flag catalogue, the "
    "sanction policy or a procedure, with who approved it and when.",
)

__all__ = [
    "caller_attempts",
    "corrective_actions",
    "program_changes",
    "sanctions",
    "service_providers",
    "training_records",
]
