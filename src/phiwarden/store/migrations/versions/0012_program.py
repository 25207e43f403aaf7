"""program investigations and administration

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:07:26.619106
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "caller_attempts",
        sa.Column("attempt_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_caller_attempts")),
        comment="Every check of a caller against a patient (outcome verified | failed | locked): which factors were offered, never their values.",
    )
    with op.batch_alter_table("caller_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_caller_attempts_patient_at", ["patient_id", "at"], unique=False)

    op.create_table(
        "program_changes",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_program_changes")),
        sa.UniqueConstraint("subject", "sha256", name=op.f("uq_program_changes_subject_sha256")),
        comment="The program review log: each approved version of the red-flag catalogue, the sanction policy or a procedure, with who approved it and when.",
    )
    with op.batch_alter_table("program_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_program_changes_subject"), ["subject"], unique=False)

    op.create_table(
        "service_providers",
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("phi_access", sa.Boolean(), nullable=False),
        sa.Column("contract_start", sa.Date(), nullable=True),
        sa.Column("contract_end", sa.Date(), nullable=True),
        sa.Column("baa_signed", sa.Date(), nullable=True),
        sa.Column("last_review", sa.Date(), nullable=True),
        sa.Column("review_every_months", sa.Integer(), nullable=False),
        sa.Column("contact", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_service_providers")),
        comment="Service providers and business associates: contract and BAA dates, the last review of their arrangements (Red Flags program VIII; 45 CFR 164.502(e), 164.504(e)).",
    )
    op.create_table(
        "training_records",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("course", sa.String(length=64), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "course", "completed_on", name=op.f("pk_training_records")
        ),
        comment="Who completed which training when, imported from the learning system's CSV.",
    )
    op.create_table(
        "corrective_actions",
        sa.Column("action_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verification", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_files.case_id"],
            name=op.f("fk_corrective_actions_case_id_case_files"),
        ),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_corrective_actions")),
        comment="A corrective action of a case or incident (status open | done | verified): an owner, a due date, and who verified it worked and how.",
    )
    with op.batch_alter_table("corrective_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_corrective_actions_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "sanctions",
        sa.Column("sanction_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("policy_sha256", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_files.case_id"], name=op.f("fk_sanctions_case_id_case_files")
        ),
        sa.PrimaryKeyConstraint("sanction_id", name=op.f("pk_sanctions")),
        comment="A sanction decided in an investigation, at a level of the sanction policy in force then (its version and digest kept); HR applies it through the case's task.",
    )
    with op.batch_alter_table("sanctions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sanctions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sanctions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.String(length=32), nullable=True))

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_column("case_id")

    with op.batch_alter_table("sanctions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sanctions_user_id"))
        batch_op.drop_index(batch_op.f("ix_sanctions_case_id"))

    op.drop_table("sanctions")
    with op.batch_alter_table("corrective_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_corrective_actions_case_id"))

    op.drop_table("corrective_actions")
    op.drop_table("training_records")
    op.drop_table("service_providers")
    with op.batch_alter_table("program_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_changes_subject"))

    op.drop_table("program_changes")
    with op.batch_alter_table("caller_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_caller_attempts_patient_at")

    op.drop_table("caller_attempts")
    # ### end Alembic commands ###
