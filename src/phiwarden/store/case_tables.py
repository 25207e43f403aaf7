"""The operational store's tables for casework: cases run by a procedure, their history,
tasks, documents, timers and outbox.

A case records the procedure version it was opened under (``case_procedures`` keeps the
definition), so editing a procedure file never changes a running case. ``revision`` is
bumped by every change: a writer that read an older revision gets a conflict instead of
overwriting someone else's change. History (``case_events``) is append-only.
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
    LargeBinary,
    String,
    Table,
    Text,
)

from phiwarden.store.metadata import metadata

case_procedures = Table(
    "case_procedures",
    metadata,
    Column("procedure_id", String(96), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("version", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
    comment="Every procedure definition a case was opened under, kept as it was then.",
)

case_files = Table(
    "case_files",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("case_type", String(32), nullable=False),
    Column("procedure_id", String(96), ForeignKey("case_procedures.procedure_id"), nullable=False),
    Column("state", String(48), nullable=False),
    Column("title", String(255), nullable=False),
    Column("assignee", String(64), nullable=True),
    Column("opened_at", DateTime, nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("due_at", DateTime, nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("summary", Text, nullable=True),
    Column("details", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_case_files_queue", "state", "due_at"),
    Index("ix_case_files_type", "case_type", "state"),
    Index("ix_case_files_assignee", "assignee"),
    comment="A case worked under a procedure: type, state, assignee, due date; revision "
    "guards against lost updates.",
)

case_numbers = Table(
    "case_numbers",
    metadata,
    Column("stem", String(32), primary_key=True),
    Column("last", Integer, nullable=False),
    comment="The last case number taken per prefix and year (IT-2026-): an opener takes "
    "the next under this row's lock, so concurrent openers queue instead of colliding.",
)

case_subjects = Table(
    "case_subjects",
    metadata,
    Column("case_id", String(32), ForeignKey("case_files.case_id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("ref", String(64), primary_key=True),
    Column("role", String(32), primary_key=True),
    Index("ix_case_subjects_ref", "kind", "ref"),
    comment="Who a case is about: patients (victim, offender) and workforce users.",
)

case_links = Table(
    "case_links",
    metadata,
    Column("case_id", String(32), ForeignKey("case_files.case_id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("ref", String(64), primary_key=True),
    Index("ix_case_links_ref", "kind", "ref"),
    comment="What a case concerns: red flags, alerts, encounters, accounts, complaints.",
)

case_events = Table(
    "case_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("cites", String(64), nullable=True),
    Column("detail", JSON, nullable=True),
    Index("ix_case_events_case", "case_id", "event_id"),
    comment="A case's history, append-only: who did what, when, why, under which step.",
)

case_tasks = Table(
    "case_tasks",
    metadata,
    Column("task_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("role", String(96), nullable=False),
    Column("assignee", String(128), nullable=True),
    Column("title", String(255), nullable=False),
    Column("signoff", Text, nullable=False),
    Column("cites", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("due_at", DateTime, nullable=True),
    Column("done_at", DateTime, nullable=True),
    Column("done_by", String(64), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_case_tasks_case", "case_id", "status"),
    comment="Work a procedure step creates for a role; signed off by a person (status "
    "open | done | cancelled).",
)

case_documents = Table(
    "case_documents",
    metadata,
    Column("document_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_encrypted", LargeBinary, nullable=False),
    Column("stamped_encrypted", LargeBinary, nullable=True),
    Column("stamped_sha256", String(64), nullable=True),
    Column("uploaded_at", DateTime, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    comment="Uploaded evidence (photo ID, affidavit, police report), encrypted at rest, "
    "with the SHA-256 of the original and of the stamped copy.",
)

case_timers = Table(
    "case_timers",
    metadata,
    Column("timer_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("cites", String(64), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("fired_at", DateTime, nullable=True),
    Column("cancelled_at", DateTime, nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_case_timers_due", "fired_at", "cancelled_at", "due_at"),
    Index("ix_case_timers_case", "case_id"),
    comment="Due dates a tick acts on; fired_at set once (a second tick finds nothing).",
)

case_outbox = Table(
    "case_outbox",
    metadata,
    Column("message_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("destination", String(255), nullable=False),
    Column("subject", String(255), nullable=True),
    Column("body_encrypted", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_case_outbox_pending", "sent_at", "next_attempt_at"),
    comment="Messages written in the same transaction as the change they report (e-mail "
    "notices, HL7 v2 to downstream systems), delivered by the sender with retries.",
)

patient_alerts = Table(
    "patient_alerts",
    metadata,
    Column("alert_id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), nullable=False, index=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False),
    Column("text", String(255), nullable=False),
    Column("action", Text, nullable=False),
    Column("placed_at", DateTime, nullable=False),
    Column("removed_at", DateTime, nullable=True),
    Column("removed_reason", Text, nullable=True),
    comment="Registration alerts on a patient ('Alleged identity theft - positive ID "
    "required'), shown at screening and on patient pages until removed.",
)

record_notes = Table(
    "record_notes",
    metadata,
    Column("note_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("level", String(16), nullable=False),
    Column("ref", String(64), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("by", String(64), nullable=False),
    comment="Notes placed on a visit (encounter) or an account by a case step.",
)

billing_holds = Table(
    "billing_holds",
    metadata,
    Column("hold_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("placed_at", DateTime, nullable=False),
    Column("released_at", DateTime, nullable=True),
    Column("release_reason", Text, nullable=True),
    comment="Billing suspended on an account while an allegation is open; released_at "
    "set when billing resumes. Exported for the billing system.",
)

billing_adjustments = Table(
    "billing_adjustments",
    metadata,
    Column("adjustment_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("account_id", String(64), nullable=False),
    Column("code", String(32), nullable=False),
    Column("amount", Float, nullable=False),
    Column("at", DateTime, nullable=False),
    comment="Balance adjustments with the identity-theft code, for the billing system.",
)

payer_refunds = Table(
    "payer_refunds",
    metadata,
    Column("refund_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("transaction_id", String(64), nullable=False),
    Column("payer", String(128), nullable=True),
    Column("account_id", String(64), nullable=True),
    Column("encounter_id", String(64), nullable=True),
    Column("amount", Float, nullable=False),
    Column("listed_at", DateTime, nullable=False),
    Column("refunded_at", DateTime, nullable=True),
    Column("refunded_by", String(64), nullable=True),
    comment="Third-party payments on encounters found to be identity theft: the refund "
    "worklist, each marked when refunded.",
)

record_moves = Table(
    "record_moves",
    metadata,
    Column("move_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("case_files.case_id"), nullable=False, index=True),
    Column("batch", Integer, nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("row_key", String(64), nullable=False),
    Column("column_name", String(64), nullable=False),
    Column("old_value", String(255), nullable=True),
    Column("new_value", String(255), nullable=True),
    Column("moved_at", DateTime, nullable=False),
    Column("undone_at", DateTime, nullable=True),
    comment="Every value a record separation changed, so the separation can be undone "
    "exactly until the case is closed.",
)

identity_placeholders = Table(
    "identity_placeholders",
    metadata,
    Column("patient_id", String(64), primary_key=True),
    Column("mrn", String(64), nullable=False),
    Column("label", String(128), nullable=False),
    comment="Charts that hold encounters separated from identity-theft victims: never "
    "linked to a person, never scanned for clinical inconsistency.",
)
