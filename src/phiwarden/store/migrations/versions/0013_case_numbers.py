"""case numbers: a counter per prefix and year, taken under its row lock

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 15:27:20.959592
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_numbers",
        sa.Column("stem", sa.String(length=32), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stem", name=op.f("pk_case_numbers")),
        comment="The last case number taken per prefix and year (IT-2026-): an opener takes the next under this row's lock, so concurrent openers queue instead of colliding.",
    )


def downgrade() -> None:
    op.drop_table("case_numbers")
