"""patient history and links: demographics replaced by HL7 A08/A31, charts linked by A24/A37

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_history",
        sa.Column("history_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("previous_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("previous_hash", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("changed_by_user_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_patient_history_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_patient_history")),
        comment="Previous demographics of a patient, one row per changed field, written when an "
        "update (HL7 A08/A31) changes the stored record; an SSN is kept only masked and as its "
        "keyed hash. The identity red flags read it.",
    )
    with op.batch_alter_table("patient_history", schema=None) as batch_op:
        batch_op.create_index("ix_patient_history_patient_id", ["patient_id"], unique=False)
    op.create_table(
        "patient_links",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("other_patient_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.Column("linked_by_user_id", sa.String(length=64), nullable=True),
        sa.Column("unlinked_at", sa.DateTime(), nullable=True),
        sa.Column("unlinked_by_user_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_patient_links")),
        comment="Two charts linked as the same person without a merge (HL7 A24), and their "
        "unlinking (A37): unlinked_at set means they are separate people again.",
    )
    with op.batch_alter_table("patient_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_links_other_patient_id"), ["other_patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_links_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patient_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_links_patient_id"))
        batch_op.drop_index(batch_op.f("ix_patient_links_other_patient_id"))
    op.drop_table("patient_links")
    with op.batch_alter_table("patient_history", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_history_patient_id")
    op.drop_table("patient_history")
