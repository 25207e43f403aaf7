"""breach letters

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 07:09:14.804085
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breach_letters",
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=80), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("credit_code", sa.String(length=20), nullable=True),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["case_files.case_id"],
            name=op.f("fk_breach_letters_incident_id_case_files"),
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_breach_letters")),
        comment="Every notification letter written: to whom, where, with or without credit monitoring, and whether it was mailed, returned or is to be mailed again.",
    )
    with op.batch_alter_table("breach_letters", schema=None) as batch_op:
        batch_op.create_index("ix_breach_letters_incident", ["incident_id", "status"], unique=False)
        batch_op.create_index("ix_breach_letters_patient", ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("breach_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_letters_patient")
        batch_op.drop_index("ix_breach_letters_incident")

    op.drop_table("breach_letters")
