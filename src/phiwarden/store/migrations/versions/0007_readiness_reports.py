"""readiness reports: the newest readiness report, kept for the dashboard

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "readiness_reports",
        sa.Column("report_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_readiness_reports")),
        comment="The readiness report (counts and shares, no PHI) as computed after an ingest "
        "or by 'status': the dashboard shows the newest without rescanning the lake.",
    )


def downgrade() -> None:
    op.drop_table("readiness_reports")
