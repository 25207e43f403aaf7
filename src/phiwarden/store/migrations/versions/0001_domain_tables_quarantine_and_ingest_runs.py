"""domain tables, quarantine and ingest runs

Revision ID: 0001
Revises:
Create Date: 2026-11-25 01:48:13.916749
"""

from __future__ import annotations

from phiwarden.store.migrations.baseline import (
    billing,
    care,
    ingest_runs,
    organisation,
    patients,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The canonical domain tables, by idea, in the order their foreign keys need."""
    ingest_runs.create()
    organisation.create()
    patients.create()
    care.create()
    billing.create()


def downgrade() -> None:
    """Everything the upgrade made, in reverse."""
    billing.drop()
    care.drop()
    patients.drop()
    organisation.drop()
    ingest_runs.drop()
