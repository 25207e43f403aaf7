"""alert queue index: score high to low, then id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written by hand: autogenerate cannot reflect an index on "score DESC".
    op.create_index("ix_alerts_queue", "alerts", [sa.text("score DESC"), "alert_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_queue", table_name="alerts")
