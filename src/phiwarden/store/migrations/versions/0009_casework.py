"""casework: cases under versioned procedures, history, tasks, documents, timers, outbox,
registration alerts, billing holds, adjustments, refunds and the record-separation log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:02:09.319169
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_procedures",
        sa.Column("procedure_id", sa.String(length=96), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("procedure_id", name=op.f("pk_case_procedures")),
        comment="Every procedure definition a case was opened under, kept as it was then.",
    )
    op.create_table(
        "identity_placeholders",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("mrn", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_identity_placeholders")),
        comment="Charts that hold encounters separated from identity-theft victims: never linked to a person, never scanned for clinical inconsistency.",
    )
    op.create_table(
        "case_files",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("procedure_id", sa.String(length=96), nullable=False),
        sa.Column("state", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["case_procedures.procedure_id"],
            name=op.f("fk_case_files_procedure_id_case_procedures"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_files")),
        comment="A case worked under a procedure: type, state, assignee, due date; revision guards against lost updates.",
    )
    with op.batch_alter_table("case_files", schema=None) as batch_op:
        batch_op.create_index("ix_case_files_assignee", ["assignee"], unique=False)
        batch_op.create_index("ix_case_files_queue", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_case_files_type", ["case_type", "state"], unique=False)

    op.create_table(
        "billing_adjustments",
        sa.Column("adjustment_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_files.case_id"],
            name=op.f("fk_billing_adjustments_case_id_case_files"),
        ),
        sa.PrimaryKeyConstraint("adjustment_id", name=op.f("pk_billing_adjustments")),
        comment="Balance adjustments with the identity-theft code, for the billing system.",
    )
    with op.batch_alter_table("billing_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_adjustments_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "billing_holds",
        sa.Column("hold_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_billing_holds_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("hold_id", name=op.f("pk_billing_holds")),
        comment="Billing suspended on an account while an allegation is open; released_at set when billing resumes. Exported for the billing system.",
    )
    with op.batch_alter_table("billing_holds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_holds_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_billing_holds_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_documents",
        sa.Column("document_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("stamped_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("stamped_sha256", sa.String(length=64), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_case_documents_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_case_documents")),
        comment="Uploaded evidence (photo ID, affidavit, police report), encrypted at rest, with the SHA-256 of the original and of the stamped copy.",
    )
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_documents_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cites", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_case_events_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_case_events")),
        comment="A case's history, append-only: who did what, when, why, under which step.",
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_case", ["case_id", "event_id"], unique=False)

    op.create_table(
        "case_links",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_case_links_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("case_id", "kind", "ref", name=op.f("pk_case_links")),
        comment="What a case concerns: red flags, alerts, encounters, accounts, complaints.",
    )
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.create_index("ix_case_links_ref", ["kind", "ref"], unique=False)

    op.create_table(
        "case_outbox",
        sa.Column("message_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("body_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_case_outbox_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_case_outbox")),
        comment="Messages written in the same transaction as the change they report (e-mail notices, HL7 v2 to downstream systems), delivered by the sender with retries.",
    )
    with op.batch_alter_table("case_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_outbox_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_case_outbox_pending", ["sent_at", "next_attempt_at"], unique=False
        )

    op.create_table(
        "case_subjects",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_case_subjects_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("case_id", "kind", "ref", "role", name=op.f("pk_case_subjects")),
        comment="Who a case is about: patients (victim, offender) and workforce users.",
    )
    with op.batch_alter_table("case_subjects", schema=None) as batch_op:
        batch_op.create_index("ix_case_subjects_ref", ["kind", "ref"], unique=False)

    op.create_table(
        "case_tasks",
        sa.Column("task_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=96), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("signoff", sa.Text(), nullable=False),
        sa.Column("cites", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_case_tasks_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_case_tasks")),
        comment="Work a procedure step creates for a role; signed off by a person (status open | done | cancelled).",
    )
    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_case_tasks_case", ["case_id", "status"], unique=False)

    op.create_table(
        "case_timers",
        sa.Column("timer_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("cites", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_case_timers_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("timer_id", name=op.f("pk_case_timers")),
        comment="Due dates a tick acts on; fired_at set once (a second tick finds nothing).",
    )
    with op.batch_alter_table("case_timers", schema=None) as batch_op:
        batch_op.create_index("ix_case_timers_case", ["case_id"], unique=False)
        batch_op.create_index(
            "ix_case_timers_due", ["fired_at", "cancelled_at", "due_at"], unique=False
        )

    op.create_table(
        "patient_alerts",
        sa.Column("alert_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=255), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("removed_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_patient_alerts_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_patient_alerts")),
        comment="Registration alerts on a patient ('Alleged identity theft - positive ID required'), shown at screening and on patient pages until removed.",
    )
    with op.batch_alter_table("patient_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_alerts_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "payer_refunds",
        sa.Column("refund_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("payer", sa.String(length=128), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("encounter_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("listed_at", sa.DateTime(), nullable=False),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.Column("refunded_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_payer_refunds_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("refund_id", name=op.f("pk_payer_refunds")),
        comment="Third-party payments on encounters found to be identity theft: the refund worklist, each marked when refunded.",
    )
    with op.batch_alter_table("payer_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payer_refunds_case_id"), ["case_id"], unique=False)

    op.create_table(
        "record_moves",
        sa.Column("move_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.String(length=255), nullable=True),
        sa.Column("new_value", sa.String(length=255), nullable=True),
        sa.Column("moved_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_record_moves_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("move_id", name=op.f("pk_record_moves")),
        comment="Every value a record separation changed, so the separation can be undone exactly until the case is closed.",
    )
    with op.batch_alter_table("record_moves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_moves_case_id"), ["case_id"], unique=False)

    op.create_table(
        "record_notes",
        sa.Column("note_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_record_notes_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("note_id", name=op.f("pk_record_notes")),
        comment="Notes placed on a visit (encounter) or an account by a case step.",
    )
    with op.batch_alter_table("record_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_notes_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_record_notes_ref"), ["ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("record_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_notes_ref"))
        batch_op.drop_index(batch_op.f("ix_record_notes_case_id"))

    op.drop_table("record_notes")
    with op.batch_alter_table("record_moves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_moves_case_id"))

    op.drop_table("record_moves")
    with op.batch_alter_table("payer_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payer_refunds_case_id"))

    op.drop_table("payer_refunds")
    with op.batch_alter_table("patient_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_alerts_patient_id"))

    op.drop_table("patient_alerts")
    with op.batch_alter_table("case_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_case_timers_due")
        batch_op.drop_index("ix_case_timers_case")

    op.drop_table("case_timers")
    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_case_tasks_case")

    op.drop_table("case_tasks")
    with op.batch_alter_table("case_subjects", schema=None) as batch_op:
        batch_op.drop_index("ix_case_subjects_ref")

    op.drop_table("case_subjects")
    with op.batch_alter_table("case_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_case_outbox_pending")
        batch_op.drop_index(batch_op.f("ix_case_outbox_case_id"))

    op.drop_table("case_outbox")
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.drop_index("ix_case_links_ref")

    op.drop_table("case_links")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_case")

    op.drop_table("case_events")
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_documents_case_id"))

    op.drop_table("case_documents")
    with op.batch_alter_table("billing_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_holds_case_id"))
        batch_op.drop_index(batch_op.f("ix_billing_holds_account_id"))

    op.drop_table("billing_holds")
    with op.batch_alter_table("billing_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_adjustments_case_id"))

    op.drop_table("billing_adjustments")
    with op.batch_alter_table("case_files", schema=None) as batch_op:
        batch_op.drop_index("ix_case_files_type")
        batch_op.drop_index("ix_case_files_queue")
        batch_op.drop_index("ix_case_files_assignee")

    op.drop_table("case_files")
    op.drop_table("identity_placeholders")
    op.drop_table("case_procedures")
