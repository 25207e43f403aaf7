"""alert queue sort indexes: each order the queue offers, with and without a status filter

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 08:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: name -> columns; "status" first serves the filtered queue without a sort
INDEXES: dict[str, list[str]] = {
    "ix_alerts_recent": ["window_end DESC", "score DESC", "alert_id"],
    "ix_alerts_by_user": ["user_id", "window_end DESC", "alert_id"],
    "ix_alerts_status_queue": ["status", "score DESC", "alert_id"],
    "ix_alerts_status_recent": ["status", "window_end DESC", "score DESC", "alert_id"],
    "ix_alerts_status_by_user": ["status", "user_id", "window_end DESC", "alert_id"],
}


def _column(spec: str) -> str | sa.TextClause:
    return sa.text(spec) if " " in spec else spec


def upgrade() -> None:
    # Written by hand: autogenerate cannot reflect an index on "window_end DESC".
    for name, columns in INDEXES.items():
        op.create_index(name, "alerts", [_column(c) for c in columns], unique=False)
    # superseded by ix_alerts_status_queue, which also orders ties by id
    op.drop_index("ix_alerts_status_score", table_name="alerts")


def downgrade() -> None:
    op.create_index("ix_alerts_status_score", "alerts", ["status", "score"], unique=False)
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="alerts")
